//! Test helpers: building batches and a reference model of the convergence
//! rule to compare the engine against.

use std::collections::BTreeMap;

use tandem_model::{FieldValue, PointsBuf, PointsBufBuilder, ShardId, Version};

use crate::convergence::candidate_cmp;
use crate::line_format::write_line;
use crate::{Engine, StorageConfig, TimeRange};

/// One point: series key, timestamp, fields.
pub(crate) type Point = (String, i64, Vec<(String, FieldValue)>);

pub(crate) fn batch(points: &[Point]) -> PointsBuf {
    let mut b = PointsBufBuilder::new();
    for (series, ts, fields) in points {
        let hash = series.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
            (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
        });
        b.push(
            series.as_bytes(),
            hash,
            *ts,
            fields.iter().map(|(k, v)| (k.as_bytes(), v.as_ref())),
        );
    }
    b.finish()
}

pub(crate) fn p(series: &str, ts: i64, fields: &[(&str, FieldValue)]) -> Point {
    (
        series.to_owned(),
        ts,
        fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
    )
}

pub(crate) fn v(hlc: u64) -> Version {
    Version {
        hlc_ns: hlc,
        node: 1,
        seq: 0,
    }
}

pub(crate) fn export_all(e: &Engine, shard: ShardId) -> String {
    export_range(e, shard, TimeRange::ALL)
}

pub(crate) fn export_range(e: &Engine, shard: ShardId, range: TimeRange) -> String {
    let mut out = Vec::new();
    for chunk in e.export(shard, range).unwrap() {
        out.extend(chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

/// Small caches and eager compaction, so tests exercise flushes.
pub(crate) fn small_config(dir: &std::path::Path) -> StorageConfig {
    StorageConfig {
        cache_snapshot_memory_size: 16 << 10,
        cache_max_memory_size: 64 << 20,
        compaction_min_files: 2,
        compaction_max_level: 2,
        parquet_row_group_rows: 1024,
        wal_segment_size: 64 << 10,
        ..StorageConfig::with_dir(dir)
    }
}

/// The convergence rule, written as plainly as possible.
#[derive(Debug, Default, Clone)]
pub(crate) struct Model {
    cells: BTreeMap<(String, i64, String), (Version, FieldValue)>,
}

impl Model {
    pub(crate) fn apply(&mut self, version: Version, points: &[Point]) {
        // Within a batch the last occurrence of a cell wins.
        let mut batch: BTreeMap<(String, i64, String), FieldValue> = BTreeMap::new();
        for (series, ts, fields) in points {
            for (k, val) in fields {
                batch.insert((series.clone(), *ts, k.clone()), val.clone());
            }
        }
        for (cell, val) in batch {
            match self.cells.get(&cell) {
                Some((ov, oval)) if candidate_cmp((*ov, oval), (version, &val)).is_ge() => {}
                _ => {
                    self.cells.insert(cell, (version, val));
                }
            }
        }
    }

    /// Distinct (series, time, version) among the winning cells.
    pub(crate) fn winning_rows(&self) -> usize {
        let rows: std::collections::BTreeSet<(&str, i64, Version)> = self
            .cells
            .iter()
            .map(|((s, t, _), (ver, _))| (s.as_str(), *t, *ver))
            .collect();
        rows.len()
    }

    pub(crate) fn export(&self) -> String {
        self.export_range(TimeRange::ALL)
    }

    pub(crate) fn export_range(&self, range: TimeRange) -> String {
        let mut lines: BTreeMap<(String, i64), Vec<(&str, &FieldValue)>> = BTreeMap::new();
        for ((series, ts, key), (_, val)) in &self.cells {
            if range.contains(*ts) {
                lines.entry((series.clone(), *ts)).or_default().push((key, val));
            }
        }
        let mut out = Vec::new();
        for ((series, ts), fields) in lines {
            write_line(&mut out, &series, ts, fields);
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
