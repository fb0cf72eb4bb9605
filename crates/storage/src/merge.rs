//! Streaming k-way merge of sorted row sources (Parquet files, frozen
//! snapshots) applying the convergence rule per cell.
//!
//! Every source yields rows sorted by (series key, time), rows with the
//! same (series, time) adjacent. The merger gathers all candidates of one
//! (series, time) from every source and keeps, per field, the greatest
//! `(version, value)` — so the output is the same whatever the sources are
//! and however rows are split between them. Memory is one row per source
//! plus one group.

use tandem_model::{FieldValue, Version};

use crate::StorageError;
use crate::convergence::candidate_cmp;
use crate::fields::FieldId;

/// An inclusive range of timestamps (ns since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub start: i64,
    pub end: i64,
}

impl TimeRange {
    /// Every timestamp.
    pub const ALL: TimeRange = TimeRange {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// `start..=end`.
    pub const fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    pub const fn contains(&self, ts: i64) -> bool {
        self.start <= ts && ts <= self.end
    }

    pub const fn overlaps(&self, min: i64, max: i64) -> bool {
        self.start <= max && min <= self.end
    }
}

impl Default for TimeRange {
    fn default() -> Self {
        Self::ALL
    }
}

/// One stored row: the fields of a (series, time) written with one version.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Row {
    pub series: String,
    pub ts: i64,
    pub version: Version,
    pub fields: Vec<(FieldId, FieldValue)>,
}

pub(crate) trait RowSource: Send {
    /// Overwrites `row` with the next row; `false` at the end. Callers pass
    /// the same `row` every time and may take its fields but must leave
    /// `series` alone: sources skip rewriting an unchanged series key.
    fn next_row(&mut self, row: &mut Row) -> Result<bool, StorageError>;
}

/// The winning value of one field of a (series, time).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Winner {
    pub field: FieldId,
    pub version: Version,
    pub value: FieldValue,
}

pub(crate) struct Merger {
    sources: Vec<Box<dyn RowSource>>,
    rows: Vec<Row>,
    /// Live sources ordered by their current row's (series, time). After a
    /// group is taken, only the sources it came from move, usually by one
    /// place or none: about one key comparison per row instead of k.
    order: Vec<usize>,
    live: Vec<bool>,
    /// Field buffer `next_group` lends to `next_group_or_row`.
    spare: Vec<(FieldId, FieldValue)>,
    /// The sources a group came from (kept to reuse its allocation).
    moved: Vec<usize>,
}

fn key_cmp(a: &Row, b: &Row) -> std::cmp::Ordering {
    a.series.as_str().cmp(b.series.as_str()).then(a.ts.cmp(&b.ts))
}

impl Merger {
    pub(crate) fn new(mut sources: Vec<Box<dyn RowSource>>) -> Result<Self, StorageError> {
        let mut rows = Vec::with_capacity(sources.len());
        let mut order = Vec::with_capacity(sources.len());
        let mut live = Vec::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            let mut row = Row::default();
            let more = s.next_row(&mut row)?;
            if more {
                order.push(i);
            }
            live.push(more);
            rows.push(row);
        }
        order.sort_by(|&a, &b| key_cmp(&rows[a], &rows[b]));
        Ok(Self {
            sources,
            rows,
            order,
            live,
            spare: Vec::new(),
            moved: Vec::new(),
        })
    }

    /// Loads the next (series, time) into `series` and its winners (sorted by
    /// field id) into `winners`; returns its time, or `None` at the end.
    pub(crate) fn next_group(
        &mut self,
        series: &mut String,
        winners: &mut Vec<Winner>,
    ) -> Result<Option<i64>, StorageError> {
        let mut fields = std::mem::take(&mut self.spare);
        let next = self.next_group_or_row(series, winners, &mut fields);
        if let Ok(Some((_, Some(version)))) = next {
            winners.extend(fields.drain(..).map(|(field, value)| Winner {
                field,
                version,
                value,
            }));
            if !winners.is_sorted_by_key(|w| w.field) {
                winners.sort_by_key(|w| w.field);
            }
        }
        self.spare = fields;
        Ok(next?.map(|(ts, _)| ts))
    }

    /// Like [`Merger::next_group`], but a (series, time) held by one row
    /// only (the common case: nothing to resolve) comes back as that row's
    /// version, with its fields (in no particular order) in `fields` and
    /// `winners` left empty; the caller writes them as they are. Otherwise
    /// the version is `None` and `winners` holds the resolved group.
    pub(crate) fn next_group_or_row(
        &mut self,
        series: &mut String,
        winners: &mut Vec<Winner>,
        fields: &mut Vec<(FieldId, FieldValue)>,
    ) -> Result<Option<(i64, Option<Version>)>, StorageError> {
        let Some(&head) = self.order.first() else {
            return Ok(None);
        };
        if *series != self.rows[head].series {
            series.clear();
            series.push_str(&self.rows[head].series);
        }
        let ts = self.rows[head].ts;
        winners.clear();
        fields.clear();
        // Sources holding this key form a prefix of `order`.
        let mut taken = 0;
        let mut first: Option<Version> = None;
        let mut rows_in_group = 0;
        while let Some(&i) = self.order.get(taken) {
            if self.rows[i].ts != ts || self.rows[i].series != *series {
                break;
            }
            taken += 1;
            loop {
                let version = self.rows[i].version;
                if rows_in_group == 0 {
                    // Keep the first row whole until a second one shows up.
                    std::mem::swap(fields, &mut self.rows[i].fields);
                    first = Some(version);
                } else {
                    if let Some(v) = first.take() {
                        winners.extend(fields.drain(..).map(|(field, value)| Winner {
                            field,
                            version: v,
                            value,
                        }));
                    }
                    winners.extend(self.rows[i].fields.drain(..).map(|(field, value)| Winner {
                        field,
                        version,
                        value,
                    }));
                }
                rows_in_group += 1;
                if !self.sources[i].next_row(&mut self.rows[i])? {
                    self.live[i] = false;
                    break;
                }
                if self.rows[i].ts != ts || self.rows[i].series != *series {
                    break;
                }
            }
        }
        // Re-insert the sources that moved (exhausted ones drop out).
        let mut moved = std::mem::take(&mut self.moved);
        moved.clear();
        moved.extend(self.order.drain(..taken));
        for &i in &moved {
            if !self.live[i] {
                continue;
            }
            let rows = &self.rows;
            let pos = self
                .order
                .partition_point(|&j| key_cmp(&rows[j], &rows[i]).is_lt());
            self.order.insert(pos, i);
        }
        self.moved = moved;
        if rows_in_group == 1 {
            return Ok(Some((ts, first)));
        }
        winners.sort_by(|a, b| {
            a.field
                .cmp(&b.field)
                .then_with(|| candidate_cmp((a.version, &a.value), (b.version, &b.value)))
        });
        let n = winners.len();
        let mut w = 0;
        for i in 0..n {
            if i + 1 < n && winners[i + 1].field == winners[i].field {
                continue;
            }
            winners.swap(w, i);
            w += 1;
        }
        winners.truncate(w);
        Ok(Some((ts, None)))
    }
}

/// A source over rows held in memory (tests and small merges).
#[cfg(test)]
pub(crate) struct VecSource(pub std::collections::VecDeque<Row>);

#[cfg(test)]
impl RowSource for VecSource {
    fn next_row(&mut self, row: &mut Row) -> Result<bool, StorageError> {
        match self.0.pop_front() {
            Some(r) => {
                *row = r;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(h: u64) -> Version {
        Version {
            hlc_ns: h,
            node: 1,
            seq: 0,
        }
    }

    fn row(series: &str, ts: i64, ver: u64, fields: &[(FieldId, i64)]) -> Row {
        Row {
            series: series.into(),
            ts,
            version: v(ver),
            fields: fields.iter().map(|&(f, x)| (f, FieldValue::Integer(x))).collect(),
        }
    }

    type Groups = Vec<(String, i64, Vec<(FieldId, u64, i64)>)>;

    fn run(sources: Vec<Vec<Row>>) -> Groups {
        let boxed: Vec<Box<dyn RowSource>> = sources
            .into_iter()
            .map(|s| Box::new(VecSource(s.into())) as Box<dyn RowSource>)
            .collect();
        let mut m = Merger::new(boxed).unwrap();
        let mut out = Vec::new();
        let (mut series, mut winners) = (String::new(), Vec::new());
        while let Some(ts) = m.next_group(&mut series, &mut winners).unwrap() {
            let cells = winners
                .iter()
                .map(|w| match w.value {
                    FieldValue::Integer(x) => (w.field, w.version.hlc_ns, x),
                    _ => unreachable!(),
                })
                .collect();
            out.push((series.clone(), ts, cells));
        }
        out
    }

    #[test]
    fn per_field_newest_version_wins_across_sources() {
        let a = vec![
            row("cpu,h=a", 1, 5, &[(0, 10), (1, 11)]),
            row("cpu,h=b", 1, 1, &[(0, 1)]),
        ];
        let b = vec![
            row("cpu,h=a", 1, 3, &[(0, 99), (2, 12)]),
            row("cpu,h=a", 1, 7, &[(1, 77)]),
        ];
        let got = run(vec![a, b]);
        assert_eq!(
            got,
            vec![
                ("cpu,h=a".into(), 1, vec![(0, 5, 10), (1, 7, 77), (2, 3, 12)]),
                ("cpu,h=b".into(), 1, vec![(0, 1, 1)]),
            ]
        );
    }

    #[test]
    fn equal_versions_tie_break_on_value_and_duplicates_are_idempotent() {
        let a = vec![row("m", 1, 5, &[(0, 3)])];
        let b = vec![row("m", 1, 5, &[(0, 8)])];
        let c = vec![row("m", 1, 5, &[(0, 8)])];
        let want = vec![("m".to_owned(), 1, vec![(0, 5, 8)])];
        assert_eq!(run(vec![a.clone(), b.clone(), c.clone()]), want);
        assert_eq!(run(vec![c, b, a]), want);
    }

    #[test]
    fn a_lone_row_comes_back_whole_and_shared_keys_resolved() {
        let a = vec![row("m", 1, 5, &[(1, 10), (0, 11)]), row("m", 2, 5, &[(0, 1)])];
        let b = vec![row("m", 2, 7, &[(0, 2), (1, 3)])];
        let boxed: Vec<Box<dyn RowSource>> =
            vec![Box::new(VecSource(a.into())), Box::new(VecSource(b.into()))];
        let mut m = Merger::new(boxed).unwrap();
        let (mut series, mut winners, mut fields) = (String::new(), Vec::new(), Vec::new());
        let got = m
            .next_group_or_row(&mut series, &mut winners, &mut fields)
            .unwrap();
        assert_eq!(got, Some((1, Some(v(5)))));
        assert!(winners.is_empty());
        // As the source held them: the caller does not need them sorted.
        assert_eq!(
            fields,
            [(1, FieldValue::Integer(10)), (0, FieldValue::Integer(11))]
        );
        let got = m
            .next_group_or_row(&mut series, &mut winners, &mut fields)
            .unwrap();
        assert_eq!(got, Some((2, None)));
        let cells: Vec<(FieldId, u64)> = winners.iter().map(|w| (w.field, w.version.hlc_ns)).collect();
        assert_eq!(cells, [(0, 7), (1, 7)]);
        assert_eq!(
            m.next_group_or_row(&mut series, &mut winners, &mut fields)
                .unwrap(),
            None
        );
    }

    #[test]
    fn time_range_is_inclusive() {
        let r = TimeRange::new(5, 10);
        let table = [(4, false), (5, true), (10, true), (11, false)];
        for (ts, want) in table {
            assert_eq!(r.contains(ts), want, "{ts}");
        }
        assert!(TimeRange::ALL.contains(i64::MIN) && TimeRange::ALL.contains(i64::MAX));
    }
}
