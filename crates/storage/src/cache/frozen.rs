//! A cache snapshot made immutable: series sorted by key, each column sorted
//! by time and reduced to one winning cell per timestamp by the convergence
//! rule. Flushes write it to Parquet; exports read it as a row source.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tandem_model::{FieldType, FieldValue, Version};

use super::{Cache, Cell, SeriesCells, arena_str};
use crate::fields::{FieldId, FieldRegistry};
use crate::merge::{Row, RowSource, TimeRange};
use crate::wal::Lsn;
use crate::{StorageError, series_key};

#[derive(Debug, Default)]
pub(crate) struct Frozen {
    /// Sorted by series key; every column resolved.
    pub series: Vec<SeriesCells>,
    /// Measurement (escaped) → indexes into `series`, in key order.
    pub measurements: BTreeMap<Arc<str>, Vec<u32>>,
    pub applies: Vec<Version>,
    pub strings: Vec<u8>,
    /// Last WAL record in the snapshot.
    pub last_lsn: Option<Lsn>,
    /// Fields that have cells.
    pub fields: BTreeSet<FieldId>,
}

impl Cache {
    /// Sorts and resolves the cache. `registry` must contain every field the
    /// cache references (it only grows).
    pub(crate) fn freeze(self, registry: &FieldRegistry) -> Frozen {
        let Cache {
            mut series,
            applies,
            strings,
            last_lsn,
            ..
        } = self;
        series.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let mut measurements: BTreeMap<Arc<str>, Vec<u32>> = BTreeMap::new();
        let mut fields = BTreeSet::new();
        for (i, s) in series.iter_mut().enumerate() {
            for c in &mut s.columns {
                resolve_column(&mut c.cells, registry.get(c.field).ty, &applies, &strings);
                fields.insert(c.field);
            }
            let m = series_key::measurement(&s.key);
            match measurements.get_mut(m) {
                Some(list) => list.push(i as u32),
                None => {
                    measurements.insert(m.into(), vec![i as u32]);
                }
            }
        }
        Frozen {
            series,
            measurements,
            applies,
            strings,
            last_lsn,
            fields,
        }
    }
}

/// Sorts cells by time and keeps one winner per timestamp: the last cell of
/// each batch application, then the largest (version, value) among those.
fn resolve_column(cells: &mut Vec<Cell>, ty: FieldType, applies: &[Version], strings: &[u8]) {
    // Stable: cells of one application keep their order within the batch.
    // Data mostly arrives in time order, so check before sorting.
    if !cells.is_sorted_by_key(|c| (c.ts, c.apply)) {
        cells.sort_by_key(|c| (c.ts, c.apply));
    }
    let n = cells.len();
    let mut w = 0;
    let mut i = 0;
    while i < n {
        let ts = cells[i].ts;
        let mut best: Option<Cell> = None;
        while i < n && cells[i].ts == ts {
            let apply = cells[i].apply;
            while i + 1 < n && cells[i + 1].ts == ts && cells[i + 1].apply == apply {
                i += 1;
            }
            let cand = cells[i];
            best = Some(match best {
                Some(b) if raw_cmp(&b, &cand, ty, applies, strings) != Ordering::Less => b,
                _ => cand,
            });
            i += 1;
        }
        if let Some(b) = best {
            cells[w] = b;
            w += 1;
        }
    }
    cells.truncate(w);
}

/// `convergence::candidate_cmp` on raw cells, without decoding strings.
fn raw_cmp(a: &Cell, b: &Cell, ty: FieldType, applies: &[Version], strings: &[u8]) -> Ordering {
    let va = applies.get(a.apply as usize).copied().unwrap_or_default();
    let vb = applies.get(b.apply as usize).copied().unwrap_or_default();
    va.cmp(&vb).then_with(|| match ty {
        FieldType::Float => f64::from_bits(a.bits).total_cmp(&f64::from_bits(b.bits)),
        FieldType::Integer => (a.bits as i64).cmp(&(b.bits as i64)),
        FieldType::Unsigned | FieldType::Boolean => a.bits.cmp(&b.bits),
        FieldType::String => arena_str(strings, a.bits)
            .as_bytes()
            .cmp(arena_str(strings, b.bits).as_bytes()),
    })
}

impl Frozen {
    /// If every column of series `s` has cells at the same timestamps with
    /// the same version at each, the number of rows (one per timestamp).
    /// Such a series can be written column by column without the row merge.
    pub(crate) fn uniform_rows(&self, s: &SeriesCells) -> Option<usize> {
        let (first, rest) = s.columns.split_first()?;
        let n = first.cells.len();
        let version = |c: &Cell| self.applies.get(c.apply as usize);
        for c in rest {
            if c.cells.len() != n {
                return None;
            }
            let same = first
                .cells
                .iter()
                .zip(&c.cells)
                .all(|(a, b)| a.ts == b.ts && (a.apply == b.apply || version(a) == version(b)));
            if !same {
                return None;
            }
        }
        Some(n)
    }

    pub(crate) fn value(&self, ty: FieldType, bits: u64) -> FieldValue {
        match ty {
            FieldType::Float => FieldValue::Float(f64::from_bits(bits)),
            FieldType::Integer => FieldValue::Integer(bits as i64),
            FieldType::Unsigned => FieldValue::Unsigned(bits),
            FieldType::Boolean => FieldValue::Boolean(bits != 0),
            FieldType::String => FieldValue::String(arena_str(&self.strings, bits).to_owned()),
        }
    }
}

/// Rows of a frozen snapshot: all series in key order, or one measurement's.
pub(crate) struct FrozenRows {
    frozen: Arc<Frozen>,
    registry: Arc<FieldRegistry>,
    /// Series indexes to visit, in key order.
    list: Vec<u32>,
    range: TimeRange,
    pos: usize,
    cursors: Vec<usize>,
    /// Cells of the current timestamp, sorted by (version, field); emitted
    /// one row per version.
    pending: Vec<(Version, FieldId, FieldValue)>,
    pending_ts: i64,
    /// Position (in `list`) of the series whose key the caller's row holds.
    row_series: Option<usize>,
}

impl FrozenRows {
    pub(crate) fn all(frozen: Arc<Frozen>, registry: Arc<FieldRegistry>, range: TimeRange) -> Self {
        let list = (0..frozen.series.len() as u32).collect();
        Self::new(frozen, registry, list, range)
    }

    /// Rows of the series at `index` of `frozen.series`.
    pub(crate) fn series(frozen: Arc<Frozen>, registry: Arc<FieldRegistry>, index: u32) -> Self {
        Self::new(frozen, registry, vec![index], TimeRange::ALL)
    }

    fn new(frozen: Arc<Frozen>, registry: Arc<FieldRegistry>, list: Vec<u32>, range: TimeRange) -> Self {
        let cursors = match list.first() {
            Some(&s) => vec![0; frozen.series[s as usize].columns.len()],
            None => Vec::new(),
        };
        Self {
            frozen,
            registry,
            list,
            range,
            pos: 0,
            cursors,
            pending: Vec::new(),
            pending_ts: 0,
            row_series: None,
        }
    }

    /// Gathers the next timestamp's cells of the current series; false when
    /// the series is exhausted.
    fn fill_pending(&mut self) -> bool {
        let s = &self.frozen.series[self.list[self.pos] as usize];
        loop {
            let mut min: Option<i64> = None;
            for (c, &cur) in s.columns.iter().zip(&self.cursors) {
                if let Some(cell) = c.cells.get(cur) {
                    min = Some(min.map_or(cell.ts, |m: i64| m.min(cell.ts)));
                }
            }
            let Some(ts) = min else { return false };
            let keep = self.range.contains(ts);
            for (c, cur) in s.columns.iter().zip(self.cursors.iter_mut()) {
                if let Some(cell) = c.cells.get(*cur)
                    && cell.ts == ts
                {
                    *cur += 1;
                    if keep {
                        let version = self
                            .frozen
                            .applies
                            .get(cell.apply as usize)
                            .copied()
                            .unwrap_or_default();
                        let value = self.frozen.value(self.registry.get(c.field).ty, cell.bits);
                        self.pending.push((version, c.field, value));
                    }
                }
            }
            if keep {
                self.pending_ts = ts;
                // Descending, so rows can be popped from the end in ascending
                // version order. Usually every cell has the same version.
                let first = self.pending[0].0;
                if self.pending.iter().any(|p| p.0 != first) {
                    self.pending.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
                }
                return true;
            }
        }
    }
}

impl RowSource for FrozenRows {
    fn next_row(&mut self, row: &mut Row) -> Result<bool, StorageError> {
        loop {
            if let Some(&(version, _, _)) = self.pending.last() {
                let s = &self.frozen.series[self.list[self.pos] as usize];
                // Rows of one series are consecutive: copy the key once.
                if self.row_series != Some(self.pos) || row.series.len() != s.key.len() {
                    row.series.clear();
                    row.series.push_str(&s.key);
                    self.row_series = Some(self.pos);
                }
                row.ts = self.pending_ts;
                row.version = version;
                row.fields.clear();
                while let Some((v, _, _)) = self.pending.last() {
                    if *v != version {
                        break;
                    }
                    if let Some((_, f, value)) = self.pending.pop() {
                        row.fields.push((f, value));
                    }
                }
                return Ok(true);
            }
            if self.pos >= self.list.len() {
                return Ok(false);
            }
            if !self.fill_pending() {
                self.pos += 1;
                if let Some(&s) = self.list.get(self.pos) {
                    self.cursors.clear();
                    self.cursors
                        .resize(self.frozen.series[s as usize].columns.len(), 0);
                }
            }
        }
    }
}
