//! From a parsed batch to per-shard encoded points: influxd's drop rules,
//! retention, shard-group and shard mapping, and the cluster-wide
//! field-type check. Pure logic over the [`Metadata`] port; no I/O of its
//! own.

use std::borrow::Cow;
use std::collections::HashMap;

use tandem_lineproto::escape::{unescape_field_key, unescape_measurement, unescape_string};
use tandem_lineproto::{Batch, FieldValue, Point, fnv64a, semantics};
use tandem_model::{FieldType, FieldValueRef, PointsBuf, PointsBufBuilder, ShardGroupId};

use crate::ports::{FieldRegistration, MetaError, Metadata, RetentionPolicy, Shard, ShardGroup};

/// Points dropped before replication, with influxd's reasons.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drops {
    /// Shard-level rejections (`time` keys, field type conflicts): the first
    /// reason and how many points.
    pub rejected: Option<String>,
    pub rejected_count: usize,
    /// Points older than the retention policy keeps.
    pub beyond_retention: usize,
}

impl Drops {
    fn reject(&mut self, reason: impl FnOnce() -> String) {
        if self.rejected.is_none() {
            self.rejected = Some(reason());
        }
        self.rejected_count += 1;
    }

    pub fn total(&self) -> usize {
        self.rejected_count + self.beyond_retention
    }

    /// The reason influxd would report: a shard-level rejection wins over
    /// the retention drop (its shard write fails first).
    pub fn reason(&self) -> Option<String> {
        match (&self.rejected, self.beyond_retention) {
            (Some(r), _) => Some(r.clone()),
            (None, n) if n > 0 => Some("points beyond retention policy".to_owned()),
            _ => None,
        }
    }
}

/// One shard's share of the batch.
#[derive(Debug)]
pub struct ShardPoints {
    pub shard: Shard,
    pub group: ShardGroupId,
    pub points: PointsBuf,
}

/// The result of planning a batch.
#[derive(Debug)]
pub struct Plan {
    pub shards: Vec<ShardPoints>,
    pub drops: Drops,
}

/// Go's zero time (0001-01-01T00:00:00Z) in ns since the Unix epoch. influxd
/// aligns shard groups to multiples of their width since then, so 7-day
/// groups start on Mondays.
const GO_ZERO_TIME_NS: i128 = -62_135_596_800 * 1_000_000_000;

/// Aligns `ts` down to the start of its shard group, as influxd does. The
/// first group's aligned start lies before the smallest valid timestamp;
/// it is clamped to that timestamp (the meta service refuses anything
/// smaller), which still falls in the group the meta service creates.
pub fn group_start(ts: i64, group_duration_ns: i64) -> i64 {
    let w = i128::from(group_duration_ns.max(1));
    let t = i128::from(ts);
    let start = t - (t - GO_ZERO_TIME_NS).rem_euclid(w);
    i64::try_from(start)
        .unwrap_or(i64::MIN)
        .max(tandem_lineproto::MIN_NANO_TIME)
}

struct Routed {
    point: usize,
    group: usize,
    shard: usize,
    hash: u64,
    key: std::ops::Range<usize>,
    /// Same group, measurement, field keys and types as the point routed
    /// before it: the type check of pass 2 gives the same answer.
    same_shape: bool,
}

fn text(bytes: Cow<'_, [u8]>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Field types looked up for this batch, keyed by (group index, raw
/// measurement, raw field key), plus the field signature of the last point
/// that passed: rows of one writer repeat measurement and fields, so most
/// points are checked by comparing a few slices.
#[derive(Default)]
struct TypeMemo<'b> {
    memo: HashMap<FieldSlot<'b>, Option<FieldType>>,
    last: Option<Signature<'b>>,
}

/// (group index, raw measurement, raw field key).
type FieldSlot<'b> = (usize, &'b [u8], &'b [u8]);

/// A point's group, raw measurement and (raw field key, type) list.
type Signature<'b> = (usize, &'b [u8], Vec<(&'b [u8], FieldType)>);

/// A field ready to encode: unescaped key, unescaped string content (for
/// string values) and the parsed value.
type EncodedField<'b> = (Cow<'b, [u8]>, Option<Cow<'b, [u8]>>, FieldValue<'b>);

impl<'b> TypeMemo<'b> {
    fn same_as_last(&self, group: usize, p: &Point<'_, 'b>) -> bool {
        let Some((g, m, fields)) = &self.last else {
            return false;
        };
        *g == group
            && *m == p.measurement()
            && fields.len() == p.fields().len()
            && fields
                .iter()
                .zip(p.fields())
                .all(|((k, t), f)| *k == f.key && *t == f.value.field_type())
    }

    fn remember(&mut self, group: usize, p: &Point<'_, 'b>) {
        let fields = p.fields().map(|f| (f.key, f.value.field_type())).collect();
        self.last = Some((group, p.measurement(), fields));
    }

    /// influxd's conflict message for the first field whose type differs
    /// from the one on record.
    fn conflict(&self, group: usize, p: &Point<'_, 'b>) -> Option<String> {
        p.fields().filter(|f| !semantics::is_time_key(f.key)).find_map(|f| {
            let on_record = self.memo.get(&(group, p.measurement(), f.key)).copied().flatten()?;
            let ty = f.value.field_type();
            (on_record != ty).then(|| {
                format!(
                    "field type conflict: input field \"{}\" on measurement \"{}\" is type {}, already exists as type {}",
                    text(unescape_field_key(f.key)),
                    text(unescape_measurement(p.measurement())),
                    ty,
                    on_record
                )
            })
        })
    }
}

/// Maps and encodes every point of `batch`. A shard's points are cut into
/// chunks of about `max_chunk_bytes` encoded bytes, each its own entry of
/// [`Plan::shards`]: encoded points can be several times the size of the
/// line protocol they came from, and one message per shard would outgrow
/// the data service's message limit on large bodies of short lines.
pub async fn plan(
    meta: &dyn Metadata,
    db: &str,
    rp: &RetentionPolicy,
    batch: &Batch<'_>,
    now_ns: i64,
    max_chunk_bytes: usize,
) -> Result<Plan, MetaError> {
    let mut drops = Drops::default();
    let points: Vec<Point<'_, '_>> = batch.points().collect();
    let oldest = if rp.duration_ns > 0 {
        now_ns.saturating_sub(rp.duration_ns)
    } else {
        i64::MIN
    };

    // Pass 1: influxd's drop rules and retention, then shard groups.
    let mut kept = Vec::with_capacity(points.len());
    let mut starts = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if let Err(why) = semantics::check(p) {
            drops.reject(|| why.to_string());
            continue;
        }
        if p.timestamp() < oldest {
            drops.beyond_retention += 1;
            continue;
        }
        kept.push(i);
        let start = group_start(p.timestamp(), rp.shard_group_duration_ns);
        if starts.last() != Some(&start) {
            starts.push(start);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let groups: Vec<ShardGroup> = if starts.is_empty() {
        Vec::new()
    } else {
        meta.shard_groups(db, &rp.name, &starts).await?
    };
    let group_of = |ts: i64| {
        let start = group_start(ts, rp.shard_group_duration_ns);
        groups
            .iter()
            .position(|g| g.start_ns <= start && start < g.end_ns.max(g.start_ns + 1))
    };

    // Route each point; look each (group, measurement, field) up once and
    // collect the fields the registry has not seen.
    let mut keys = Vec::with_capacity(kept.len() * 128);
    let mut routed = Vec::with_capacity(kept.len());
    let mut types = TypeMemo::default();
    let mut unknown: Vec<(usize, &[u8], &[u8], FieldType)> = Vec::new();
    for &i in &kept {
        let p = &points[i];
        let Some(g) = group_of(p.timestamp()) else {
            return Err(MetaError::Unavailable(format!(
                "no shard group covers time {} in {db}.{}",
                p.timestamp(),
                rp.name
            )));
        };
        let group = &groups[g];
        if group.shards.is_empty() {
            return Err(MetaError::Unavailable(format!(
                "shard group {} has no shards",
                group.id
            )));
        }
        let start = keys.len();
        p.write_series_key(&mut keys);
        let hash = fnv64a(&keys[start..]);
        let shard = (hash % group.shards.len() as u64) as usize;
        let same_shape = types.same_as_last(g, p);
        routed.push(Routed {
            point: i,
            group: g,
            shard,
            hash,
            key: start..keys.len(),
            same_shape,
        });
        if same_shape {
            continue;
        }
        for f in p.fields() {
            if semantics::is_time_key(f.key) {
                continue;
            }
            let memo_key = (g, p.measurement(), f.key);
            if types.memo.contains_key(&memo_key) {
                continue;
            }
            let known = meta.field_type(
                group.id,
                &String::from_utf8_lossy(&unescape_measurement(p.measurement())),
                &String::from_utf8_lossy(&unescape_field_key(f.key)),
            );
            types.memo.insert(memo_key, known);
            if known.is_none() {
                unknown.push((g, p.measurement(), f.key, f.value.field_type()));
            }
        }
        // Every field of this point is in the memo now: the next points of
        // the same shape skip the lookups.
        types.remember(g, p);
    }
    // One registration command for every new field of the batch; the first
    // type seen in the batch is the one proposed.
    if !unknown.is_empty() {
        let regs: Vec<FieldRegistration> = unknown
            .iter()
            .map(|&(g, m, f, ty)| FieldRegistration {
                group: groups[g].id,
                measurement: text(unescape_measurement(m)),
                field: text(unescape_field_key(f)),
                field_type: ty,
            })
            .collect();
        let on_record = meta.register_fields(regs).await?;
        for (&(g, m, f, _), ty) in unknown.iter().zip(on_record) {
            types.memo.insert((g, m, f), Some(ty));
        }
    }

    // Pass 2: type check and encode per shard. A point shaped like the one
    // before it passes when that one passed.
    let mut prev_passed = false;
    let mut builders: HashMap<(usize, usize), PointsBufBuilder> = HashMap::new();
    let mut full: Vec<ShardPoints> = Vec::new();
    let mut fields: Vec<EncodedField<'_>> = Vec::new();
    for r in &routed {
        let p = &points[r.point];
        if !(r.same_shape && prev_passed)
            && let Some(reason) = types.conflict(r.group, p)
        {
            prev_passed = false;
            drops.reject(|| reason);
            continue;
        }
        prev_passed = true;
        fields.clear();
        for f in p.fields() {
            if semantics::is_time_key(f.key) {
                continue;
            }
            let unescaped = match f.value {
                FieldValue::String(raw) => Some(unescape_string(raw)),
                _ => None,
            };
            fields.push((unescape_field_key(f.key), unescaped, f.value));
        }
        if fields.is_empty() {
            continue;
        }
        let builder = builders.entry((r.group, r.shard)).or_default();
        let values = fields.iter().map(|(k, s, v)| {
            let value = match (v, s) {
                (FieldValue::Float(x), _) => FieldValueRef::Float(*x),
                (FieldValue::Integer(x), _) => FieldValueRef::Integer(*x),
                (FieldValue::Unsigned(x), _) => FieldValueRef::Unsigned(*x),
                (FieldValue::Boolean(x), _) => FieldValueRef::Boolean(*x),
                // Lines were validated as UTF-8 by the parser.
                (FieldValue::String(_), Some(s)) => {
                    FieldValueRef::String(std::str::from_utf8(s).unwrap_or(""))
                }
                (FieldValue::String(_), None) => FieldValueRef::String(""),
            };
            (k.as_ref(), value)
        });
        builder.push(&keys[r.key.clone()], r.hash, p.timestamp(), values);
        if builder.encoded_len() >= max_chunk_bytes {
            let chunk = std::mem::take(builder);
            full.push(ShardPoints {
                shard: groups[r.group].shards[r.shard].clone(),
                group: groups[r.group].id,
                points: chunk.finish(),
            });
        }
    }
    let mut shards = full;
    shards.extend(
        builders
            .into_iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|((g, s), b)| ShardPoints {
                shard: groups[g].shards[s].clone(),
                group: groups[g].id,
                points: b.finish(),
            }),
    );
    // Stable: a shard's chunks stay in batch order.
    shards.sort_by_key(|s| s.shard.id);
    Ok(Plan { shards, drops })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn groups_align_like_influxd() {
        // 2024-01-03T10:00:00Z is a Wednesday.
        let wed = 1_704_276_000_000_000_000;
        let table = [
            (wed, HOUR, wed),
            (wed + 1, HOUR, wed),
            (wed, DAY, wed - 10 * HOUR),
            // Weekly groups start on Monday 2024-01-01T00:00:00Z.
            (wed, 7 * DAY, 1_704_067_200_000_000_000),
            (-1, HOUR, -HOUR),
            (0, 7 * DAY, -3 * DAY),
            // The first group starts before the smallest valid time.
            (
                tandem_lineproto::MIN_NANO_TIME,
                7 * DAY,
                tandem_lineproto::MIN_NANO_TIME,
            ),
            (
                tandem_lineproto::MIN_NANO_TIME + 1,
                HOUR,
                tandem_lineproto::MIN_NANO_TIME,
            ),
            (
                tandem_lineproto::MIN_NANO_TIME + HOUR,
                HOUR,
                -9_223_369_200_000_000_000,
            ),
        ];
        for (ts, width, start) in table {
            assert_eq!(group_start(ts, width), start, "{ts} in groups of {width}");
        }
    }
}
