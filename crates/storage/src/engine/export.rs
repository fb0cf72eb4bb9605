//! Export (line protocol) and digests: both read a consistent view of a
//! shard — its files plus its snapshots, with the live cache snapshotted
//! first — through the convergence merge.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tandem_model::{FieldValue, ShardId};

use super::shard::lock;
use super::{Engine, Inner};
use crate::cache::frozen::FrozenRows;
use crate::fields::FieldRegistry;
use crate::line_format::write_line;
use crate::merge::{Merger, RowSource, TimeRange, Winner};
use crate::parquet_io::reader::FileRows;
use crate::{DigestBucket, ExportStream, ShardDigest, StorageError};

/// Export chunks are cut at the first line boundary past this size.
const CHUNK_BYTES: usize = 64 * 1024;

/// A merge over everything a shard holds, plus the field order lines use.
pub(super) struct View {
    pub(super) merger: Merger,
    pub(super) registry: Arc<FieldRegistry>,
    /// Field id → rank of its key in byte order (fields of one line are
    /// written, and hashed, in key order: ids differ between replicas).
    pub(super) rank: Vec<u32>,
}

impl Inner {
    pub(super) fn view(&self, id: ShardId, range: TimeRange) -> Result<View, StorageError> {
        let shard = self.shard(id)?;
        let (files, snapshots, registry) = {
            let m = lock(&shard.manifest);
            let mut st = lock(&shard.state);
            if st.deleted {
                return Err(StorageError::ShardDeleted(id));
            }
            if st.rotate() {
                self.flushq.push(id);
            }
            // Open under the lock: a compaction may unlink these files next,
            // and an open handle keeps their data readable.
            let mut files = Vec::new();
            for f in m.files.iter().filter(|f| range.overlaps(f.min_ts, f.max_ts)) {
                let path = shard.dir.join(&f.name);
                let file = File::open(&path).map_err(|e| StorageError::io(path.display(), e))?;
                files.push((path, file));
            }
            (files, st.snapshots.clone(), Arc::clone(&st.registry))
        };
        let mut sources: Vec<Box<dyn RowSource>> = Vec::with_capacity(files.len() + snapshots.len());
        for (path, file) in files {
            sources.push(Box::new(FileRows::from_file(&path, file, &registry, range)?));
        }
        for s in snapshots {
            sources.push(Box::new(FrozenRows::all(
                s.frozen(&registry),
                Arc::clone(&registry),
                range,
            )));
        }
        let mut ids: Vec<u32> = (0..registry.len() as u32).collect();
        ids.sort_by(|&a, &b| registry.get(a).key.cmp(&registry.get(b).key));
        let mut rank = vec![0; ids.len()];
        for (r, id) in ids.into_iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        Ok(View {
            merger: Merger::new(sources)?,
            registry,
            rank,
        })
    }
}

struct ExportIter {
    view: View,
    series: String,
    winners: Vec<Winner>,
    done: bool,
}

impl Iterator for ExportIter {
    type Item = Result<Vec<u8>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK_BYTES + 1024);
        while out.len() < CHUNK_BYTES {
            match self.view.merger.next_group(&mut self.series, &mut self.winners) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Ok(Some(ts)) => {
                    let rank = &self.view.rank;
                    self.winners
                        .sort_by_key(|w| rank.get(w.field as usize).copied().unwrap_or(u32::MAX));
                    let reg = &self.view.registry;
                    write_line(
                        &mut out,
                        &self.series,
                        ts,
                        self.winners.iter().map(|w| (&*reg.get(w.field).key, &w.value)),
                    );
                }
            }
        }
        (!out.is_empty()).then_some(Ok(out))
    }
}

impl Engine {
    /// See [`crate::ShardStore::export`].
    pub fn export(&self, id: ShardId, range: TimeRange) -> Result<ExportStream, StorageError> {
        let view = self.inner.view(id, range)?;
        Ok(Box::new(ExportIter {
            view,
            series: String::new(),
            winners: Vec::new(),
            done: false,
        }))
    }

    /// See [`crate::ShardStore::digest`]. `bucket` must be at least 1 ns.
    pub fn digest(&self, id: ShardId, bucket: Duration) -> Result<ShardDigest, StorageError> {
        let width = i64::try_from(bucket.as_nanos()).unwrap_or(i64::MAX);
        if width <= 0 {
            return Err(StorageError::Config("digest bucket must be at least 1ns".into()));
        }
        let mut view = self.inner.view(id, TimeRange::ALL)?;
        let mut buckets: BTreeMap<i64, (Sha256, u64)> = BTreeMap::new();
        let (mut series, mut winners) = (String::new(), Vec::new());
        while let Some(ts) = view.merger.next_group(&mut series, &mut winners)? {
            let rank = &view.rank;
            winners.sort_by_key(|w: &Winner| rank.get(w.field as usize).copied().unwrap_or(u32::MAX));
            let start = ts.div_euclid(width) * width;
            let (h, cells) = buckets.entry(start).or_insert_with(|| (Sha256::new(), 0));
            for w in &winners {
                hash_cell(h, &series, ts, &view.registry.get(w.field).key, w);
                *cells += 1;
            }
        }
        let buckets = buckets
            .into_iter()
            .map(|(start, (h, cells))| DigestBucket {
                start,
                cells,
                hash: h.finalize().into(),
            })
            .collect();
        Ok(ShardDigest {
            shard: id,
            bucket,
            buckets,
        })
    }
}

/// Length-prefixed canonical encoding of one cell, so distinct cells can
/// never produce the same byte stream.
fn hash_cell(h: &mut Sha256, series: &str, ts: i64, key: &str, w: &Winner) {
    h.update((series.len() as u64).to_be_bytes());
    h.update(series.as_bytes());
    h.update(ts.to_be_bytes());
    h.update((key.len() as u64).to_be_bytes());
    h.update(key.as_bytes());
    h.update([w.value.field_type().tag()]);
    match &w.value {
        FieldValue::Float(f) => h.update(f.to_bits().to_be_bytes()),
        FieldValue::Integer(i) => h.update(i.to_be_bytes()),
        FieldValue::Unsigned(u) => h.update(u.to_be_bytes()),
        FieldValue::Boolean(b) => h.update([u8::from(*b)]),
        FieldValue::String(s) => {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
    h.update(w.version.to_bytes());
}
