//! Writing snapshots to Parquet files: one file per measurement, then one
//! manifest commit that lists the files and advances `flushed_lsn`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::Inner;
use super::shard::{Shard, lock};
use crate::StorageError;
use crate::cache::frozen::{Frozen, FrozenRows};
use crate::fields::{FieldId, FieldRegistry};
use crate::manifest::FileMeta;
use crate::merge::{Row, RowSource};
use crate::parquet_io::schema::{FieldCol, FileLayout};
use crate::parquet_io::writer::{MeasurementWriter, WriteOptions};
use crate::{fsutil, series_key};

impl Inner {
    /// Writes the shard's oldest snapshot, then queues the shard again if
    /// more are waiting: shards take turns, and a shard written faster than
    /// it flushes cannot hold the flusher (or its compactions) forever.
    pub(super) fn flush_shard(&self, shard: &Arc<Shard>) -> Result<(), StorageError> {
        if self.stopping() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        if flush_snapshots(shard, self.write_opts, 1)? > 0 {
            self.flushed.flushed();
            let st = lock(&shard.state);
            tracing::debug!(
                shard = %shard.id,
                ms = started.elapsed().as_millis() as u64,
                queued = st.snapshots.len(),
                snapshot_bytes = st.snapshot_bytes,
                cache_bytes = st.cache.bytes(),
                "flushed a snapshot"
            );
            drop(st);
            self.compactq.push(shard.id);
            self.cleanup_wal();
        }
        if !lock(&shard.state).snapshots.is_empty() {
            self.flushq.push(shard.id);
        }
        Ok(())
    }
}

/// Writes up to `limit` queued snapshots of `shard`, oldest first. Returns
/// how many were written.
pub(super) fn flush_snapshots(
    shard: &Shard,
    opts: WriteOptions,
    limit: usize,
) -> Result<usize, StorageError> {
    let opts = opts.for_flush();
    let _serial = lock(&shard.flush_lock);
    let mut done = 0;
    loop {
        if done >= limit {
            return Ok(done);
        }
        let (snap, registry) = {
            let st = lock(&shard.state);
            if st.deleted {
                return Ok(done);
            }
            (st.snapshots.front().cloned(), Arc::clone(&st.registry))
        };
        let Some(snap) = snap else { return Ok(done) };
        let frozen = snap.frozen(&registry);
        let names: Vec<(Arc<str>, u64, String)> = {
            let mut m = lock(&shard.manifest);
            frozen
                .measurements
                .keys()
                .map(|meas| {
                    let (id, name) = m.allocate_file(meas);
                    (Arc::clone(meas), id, name)
                })
                .collect()
        };
        let mut written: Vec<FileMeta> = Vec::new();
        let result = names.iter().try_for_each(|(meas, id, name)| {
            let path = shard.dir.join(name);
            let file = write_measurement(&path, &frozen, &registry, meas, opts)?;
            if file.rows == 0 {
                remove_logged(&path);
                return Ok(());
            }
            written.push(FileMeta {
                id: *id,
                name: name.clone(),
                measurement: meas.to_string(),
                level: 0,
                rows: file.rows,
                bytes: file.bytes,
                min_ts: file.min_ts,
                max_ts: file.max_ts,
                tag_columns: file.tag_columns,
            });
            Ok(())
        });
        let result = result.and_then(|()| {
            fsutil::sync_dir(&shard.dir).map_err(|e| StorageError::io(shard.dir.display(), e))
        });
        if let Err(e) = result {
            for (_, _, name) in &names {
                remove_logged(&shard.dir.join(name));
            }
            return Err(e);
        }
        let mut m = lock(&shard.manifest);
        if lock(&shard.state).deleted {
            return Ok(done);
        }
        let mut next = m.clone();
        next.files.extend(written.iter().cloned());
        next.add_fields(frozen.fields.iter().map(|&f| registry.entry(f)));
        if frozen.last_lsn > next.flushed_lsn {
            next.flushed_lsn = frozen.last_lsn;
        }
        if let Err(e) = next.store(&shard.dir) {
            drop(m);
            for f in &written {
                remove_logged(&shard.dir.join(&f.name));
            }
            return Err(e);
        }
        *m = next;
        let mut st = lock(&shard.state);
        if st.snapshots.front().is_some_and(|s| Arc::ptr_eq(s, &snap)) {
            st.snapshots.pop_front();
            st.snapshot_bytes = st.snapshot_bytes.saturating_sub(snap.bytes);
        }
        done += 1;
    }
}

fn write_measurement(
    path: &Path,
    frozen: &Arc<Frozen>,
    registry: &Arc<FieldRegistry>,
    measurement: &str,
    opts: WriteOptions,
) -> Result<crate::parquet_io::writer::WrittenFile, StorageError> {
    let list = frozen
        .measurements
        .get(measurement)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut tags = BTreeSet::new();
    let mut fids = BTreeSet::new();
    for &s in list {
        let s = &frozen.series[s as usize];
        for (k, _) in series_key::tags(&s.key) {
            if !tags.contains(k) {
                tags.insert(series_key::unescape_tag(k).into_owned());
            }
        }
        fids.extend(s.columns.iter().map(|c| c.field));
    }
    let fields: Vec<FieldCol> = fids
        .iter()
        .map(|&f| {
            let d = registry.get(f);
            FieldCol {
                key: d.key.to_string(),
                ty: d.ty,
            }
        })
        .collect();
    let layout = FileLayout::build(
        measurement,
        tags.into_iter().collect(),
        fields,
        opts.tag_columns(),
    );
    let col_of = field_columns(&layout, registry, measurement);
    let mut w = MeasurementWriter::create(path, measurement, layout, opts)?;
    let mut raw: Vec<(usize, u64)> = Vec::new();
    let mut cols: Vec<Option<usize>> = Vec::new();
    let mut row = Row::default();
    for &si in list {
        let s = &frozen.series[si as usize];
        if let Some(n) = frozen.uniform_rows(s) {
            // Fast path: no row merge, cells go straight to the builders.
            cols.clear();
            cols.extend(s.columns.iter().map(|c| col_of.get(c.field)));
            for i in 0..n {
                raw.clear();
                for (c, col) in s.columns.iter().zip(&cols) {
                    if let Some(col) = col {
                        raw.push((*col, c.cells[i].bits));
                    }
                }
                let head = s.columns[0].cells[i];
                let version = frozen
                    .applies
                    .get(head.apply as usize)
                    .copied()
                    .unwrap_or_default();
                w.push_raw(&s.key, head.ts, version, &raw, &frozen.strings)?;
            }
            continue;
        }
        let mut src = FrozenRows::series(Arc::clone(frozen), Arc::clone(registry), si);
        while src.next_row(&mut row)? {
            let values = row
                .fields
                .drain(..)
                .filter_map(|(f, v)| col_of.get(f).map(|c| (c, v)));
            w.push(&row.series, row.ts, row.version, values)?;
        }
    }
    w.finish()
}

/// Field id → field column index of `layout`. Ids are dense (the shard's
/// registry hands them out from 0), so a vector beats a hash map on the
/// per-cell lookups of flushes and merges.
pub(super) struct FieldColumns(Vec<Option<usize>>);

impl FieldColumns {
    pub(super) fn get(&self, id: FieldId) -> Option<usize> {
        self.0.get(id as usize).copied().flatten()
    }
}

pub(super) fn field_columns(
    layout: &FileLayout,
    registry: &FieldRegistry,
    measurement: &str,
) -> FieldColumns {
    let mut cols = Vec::new();
    for (i, f) in layout.fields.iter().enumerate() {
        if let Some(id) = registry.lookup(measurement, &f.key) {
            let id = id as usize;
            if cols.len() <= id {
                cols.resize(id + 1, None);
            }
            cols[id] = Some(i);
        }
    }
    FieldColumns(cols)
}

pub(super) fn remove_logged(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove file");
    }
}
