//! The engine: WAL + per-shard caches + Parquet files, with background
//! flush and compaction threads.

mod background;
mod compact;
mod export;
mod export_rows;
mod flush;
mod node_dir;
mod shard;
mod stall;
mod store_adapter;
mod write;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::SystemTime;

use tandem_model::{PointsBuf, ShardId};

pub use write::PendingWrite;

use self::background::JobQueue;
use self::node_dir::DataDir;
use self::shard::{Shard, lock};
use self::stall::FlushSignal;
use crate::fields::FieldRegistry;
use crate::manifest::{self, Manifest};
use crate::parquet_io::writer::WriteOptions;
use crate::wal::{Lsn, SyncHook, Wal, WalOptions, WriteRecord};
use crate::{ShardInfo, StorageConfig, StorageError};

/// Settings that are not configuration: identity and test hooks.
#[derive(Clone, Default)]
pub struct EngineOptions {
    /// The node uuid this data directory must belong to. A fresh directory
    /// gets it written; one with another uuid is `ForeignDataDir`. `None`
    /// accepts whatever is there (a fresh directory gets a random uuid).
    pub node_uuid: Option<String>,
    /// Fault injection: called before every WAL fsync (see [`SyncHook`]).
    pub wal_sync_hook: Option<SyncHook>,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("node_uuid", &self.node_uuid)
            .field("wal_sync_hook", &self.wal_sync_hook.is_some())
            .finish()
    }
}

/// The storage engine of one node. Cheap to share behind an `Arc`; dropping
/// it stops the background threads without flushing (like a crash, except
/// that WAL records already written are still fsync'd); [`Engine::close`]
/// shuts down gracefully.
pub struct Engine {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) struct Inner {
    config: StorageConfig,
    dir: DataDir,
    node_uuid: String,
    wal: Wal,
    shards: RwLock<HashMap<ShardId, Arc<Shard>>>,
    tombstones: RwLock<HashSet<ShardId>>,
    /// Serializes shard creation and deletion.
    admin: Mutex<()>,
    flushq: JobQueue,
    compactq: JobQueue,
    /// Wakes writers stalled on a shard's unflushed bytes.
    flushed: FlushSignal,
    closed: AtomicBool,
    /// Background threads are being stopped: finish the current step only.
    stopping: AtomicBool,
    write_opts: WriteOptions,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Opens (or initialises) the data directory: checks the node uuid,
    /// loads shard manifests, removes leftovers of interrupted flushes,
    /// compactions and deletions, replays the WAL, and starts the WAL syncer,
    /// flusher and compactor threads.
    pub fn open(config: StorageConfig, options: EngineOptions) -> Result<Engine, StorageError> {
        config.validate()?;
        let dir = DataDir::new(&config.dir);
        let node_uuid = dir.claim(options.node_uuid.as_deref())?;
        let tombstones = dir.load_tombstones()?;
        let write_opts = WriteOptions {
            row_group_rows: config.parquet_row_group_rows,
            zstd_level: Some(config.parquet_zstd_level),
            level: 0,
            max_level: config.compaction_max_level,
            tag_columns_everywhere: config.tag_columns_in_every_file,
        };
        let mut shards = HashMap::new();
        let mut min_segment = 0;
        for id in dir.list_shards()? {
            let sdir = dir.shard(id);
            if tombstones.contains(&id) {
                remove_dir_logged(&sdir);
                continue;
            }
            let Some(m) = Manifest::load(&sdir)? else {
                // Created but never acknowledged: the manifest is written last.
                remove_dir_logged(&sdir);
                continue;
            };
            if m.shard != id.0 {
                return Err(StorageError::corrupt(
                    sdir.join(manifest::FILE_NAME),
                    "manifest of another shard",
                ));
            }
            let mut registry = FieldRegistry::default();
            for e in &m.fields {
                if registry.merge_entry(e).1 {
                    return Err(StorageError::corrupt(
                        sdir.join(manifest::FILE_NAME),
                        "field listed twice",
                    ));
                }
            }
            remove_orphans(&sdir, &m)?;
            if let Some(l) = m.flushed_lsn {
                min_segment = min_segment.max(l.segment);
            }
            shards.insert(id, Arc::new(Shard::new(id, sdir, m, registry)));
        }
        let wal_opts = WalOptions {
            dir: dir.wal.clone(),
            segment_size: config.wal_segment_size,
            fsync_delay: config.wal_fsync_delay,
            hook: options.wal_sync_hook,
            min_segment,
        };
        let mut unknown = HashSet::new();
        let snapshot_size = config.cache_snapshot_memory_size as usize;
        let wal = Wal::open(wal_opts, |lsn, rec| {
            replay_record(
                &shards,
                &tombstones,
                &mut unknown,
                snapshot_size,
                write_opts,
                &dir.wal,
                lsn,
                rec,
            )
        })?;
        let inner = Arc::new(Inner {
            config,
            dir,
            node_uuid,
            wal,
            shards: RwLock::new(shards),
            tombstones: RwLock::new(tombstones),
            admin: Mutex::new(()),
            flushq: JobQueue::default(),
            compactq: JobQueue::default(),
            flushed: FlushSignal::default(),
            closed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            write_opts,
        });
        let threads = background::start(&inner)?;
        Ok(Engine {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// The node uuid recorded in the data directory.
    pub fn node_uuid(&self) -> &str {
        &self.inner.node_uuid
    }

    /// See [`crate::ShardStore::create_shard`].
    pub fn create_shard(&self, id: ShardId) -> Result<(), StorageError> {
        self.inner.check_open()?;
        let _admin = lock(&self.inner.admin);
        if read(&self.inner.tombstones).contains(&id) {
            return Err(StorageError::ShardDeleted(id));
        }
        if read(&self.inner.shards).contains_key(&id) {
            return Ok(());
        }
        let sdir = self.inner.dir.shard(id);
        let ctx = |e| StorageError::io(format!("creating shard directory {}", sdir.display()), e);
        if sdir.exists() {
            std::fs::remove_dir_all(&sdir).map_err(ctx)?;
        }
        std::fs::create_dir_all(&sdir).map_err(ctx)?;
        let m = Manifest::new(id.0);
        m.store(&sdir)?;
        crate::fsutil::sync_dir(&self.inner.dir.shards).map_err(ctx)?;
        let shard = Arc::new(Shard::new(id, sdir, m, FieldRegistry::default()));
        lock(&shard.state).last_write = SystemTime::now();
        write_lock(&self.inner.shards).insert(id, shard);
        Ok(())
    }

    /// See [`crate::ShardStore::delete_shard`].
    pub fn delete_shard(&self, id: ShardId) -> Result<(), StorageError> {
        self.inner.check_open()?;
        let _admin = lock(&self.inner.admin);
        self.inner.dir.write_tombstone(id)?;
        write_lock(&self.inner.tombstones).insert(id);
        let shard = write_lock(&self.inner.shards).remove(&id);
        if let Some(shard) = shard {
            // Wait for a running flush or compaction, then make sure none can
            // start or commit any more.
            let _f = lock(&shard.flush_lock);
            let _c = lock(&shard.compact_lock);
            let _m = lock(&shard.manifest);
            let mut st = lock(&shard.state);
            st.deleted = true;
            st.cache = Default::default();
            st.snapshots.clear();
            st.snapshot_bytes = 0;
            drop(st);
            std::fs::remove_dir_all(&shard.dir)
                .map_err(|e| StorageError::io(format!("removing {}", shard.dir.display()), e))?;
        }
        Ok(())
    }

    /// See [`crate::ShardStore::shards`].
    pub fn shards(&self) -> Vec<ShardId> {
        let mut ids: Vec<ShardId> = read(&self.inner.shards).keys().copied().collect();
        ids.sort();
        ids
    }

    /// See [`crate::ShardStore::missing_shards`].
    pub fn missing_shards(&self, expected: &[ShardId]) -> Vec<ShardId> {
        let shards = read(&self.inner.shards);
        expected
            .iter()
            .copied()
            .filter(|id| !shards.contains_key(id))
            .collect()
    }

    /// See [`crate::ShardStore::shard_info`].
    pub fn shard_info(&self, id: ShardId) -> Result<ShardInfo, StorageError> {
        let shard = self.inner.shard(id)?;
        let m = lock(&shard.manifest);
        let st = lock(&shard.state);
        let cold = SystemTime::now()
            .duration_since(st.last_write)
            .is_ok_and(|idle| idle >= self.inner.config.cold_duration);
        Ok(ShardInfo {
            shard: id,
            size_on_disk: m.files.iter().map(|f| f.bytes).sum(),
            cache_bytes: st.held_bytes() as u64,
            point_count: m.files.iter().map(|f| f.rows).sum::<u64>()
                + st.cache.lines()
                + st.snapshots.iter().map(|s| s.lines).sum::<u64>(),
            file_count: m.files.len(),
            last_modified: st.last_write,
            cold,
        })
    }

    /// Writes every shard's cache to files now (blocking), then drops WAL
    /// segments that are no longer needed.
    pub fn flush(&self) -> Result<(), StorageError> {
        let shards: Vec<Arc<Shard>> = read(&self.inner.shards).values().cloned().collect();
        for shard in shards {
            lock(&shard.state).rotate();
            flush::flush_snapshots(&shard, self.inner.write_opts, usize::MAX)?;
            self.inner.flushed.flushed();
            self.inner.compactq.push(shard.id);
        }
        self.inner.cleanup_wal();
        Ok(())
    }

    /// Merges each measurement of the shard into one file now (blocking).
    pub fn compact(&self, id: ShardId) -> Result<(), StorageError> {
        let shard = self.inner.shard(id)?;
        self.inner.compact_shard(&shard, true, false)
    }

    /// Graceful shutdown: refuses new writes and admin calls, flushes every
    /// cache, stops the background threads and the WAL.
    pub fn close(&self) -> Result<(), StorageError> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Err(StorageError::Closed);
        }
        let flushed = self.flush();
        self.stop_threads();
        self.inner.wal.close();
        flushed
    }

    /// Number of WAL segment files on disk (for tests and metrics).
    pub fn wal_segment_count(&self) -> usize {
        self.inner.wal.segment_count()
    }

    /// Stops the flusher and compactor, so tests control when data moves.
    #[cfg(test)]
    pub(crate) fn pause_background(&self) {
        self.stop_threads();
    }

    fn stop_threads(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.flushq.stop();
        self.inner.compactq.stop();
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.stop_threads();
        self.inner.wal.close();
    }
}

impl Inner {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn check_open(&self) -> Result<(), StorageError> {
        if self.closed.load(Ordering::SeqCst) {
            Err(StorageError::Closed)
        } else {
            Ok(())
        }
    }

    fn shard(&self, id: ShardId) -> Result<Arc<Shard>, StorageError> {
        if let Some(s) = read(&self.shards).get(&id) {
            return Ok(Arc::clone(s));
        }
        if read(&self.tombstones).contains(&id) {
            return Err(StorageError::ShardDeleted(id));
        }
        Err(StorageError::ShardNotFound(id))
    }

    /// When the WAL is over `wal_max_size`: the oldest segment it may keep
    /// (caches with records below it should be flushed).
    fn wal_trim_target(&self) -> Option<u64> {
        let size = self.config.wal_segment_size.max(1);
        let count = self.wal.segment_count() as u64;
        if count.saturating_mul(size) <= self.config.wal_max_size {
            return None;
        }
        let keep = (self.config.wal_max_size / size).max(2);
        Some(self.wal.current_segment().saturating_sub(keep - 1))
    }

    /// Deletes WAL segments whose records are all in files.
    fn cleanup_wal(&self) {
        // Read before looking at the shards: anything appended later lands
        // in this segment or a newer one.
        let mut keep = self.wal.current_segment();
        let shards: Vec<Arc<Shard>> = read(&self.shards).values().cloned().collect();
        for shard in shards {
            let st = lock(&shard.state);
            if !st.deleted
                && let Some(l) = st.oldest_unflushed()
            {
                keep = keep.min(l.segment);
            }
        }
        self.wal.remove_segments_before(keep);
    }
}

#[allow(clippy::too_many_arguments)]
fn replay_record(
    shards: &HashMap<ShardId, Arc<Shard>>,
    tombstones: &HashSet<ShardId>,
    unknown: &mut HashSet<ShardId>,
    snapshot_size: usize,
    write_opts: WriteOptions,
    wal_dir: &Path,
    lsn: Lsn,
    rec: WriteRecord<'_>,
) -> Result<(), StorageError> {
    if tombstones.contains(&rec.shard) {
        return Ok(());
    }
    let Some(shard) = shards.get(&rec.shard) else {
        if unknown.insert(rec.shard) {
            tracing::warn!(shard = %rec.shard, "WAL holds writes for a shard that does not exist here; skipping them");
        }
        return Ok(());
    };
    if lock(&shard.manifest).flushed_lsn.is_some_and(|f| lsn <= f) {
        return Ok(());
    }
    let points = PointsBuf::from_bytes(rec.points.to_vec()).map_err(|e| StorageError::WalCorrupt {
        path: wal_dir.to_path_buf(),
        offset: lsn.offset,
        reason: format!("segment {}: {e}", lsn.segment),
    })?;
    let mut guard = lock(&shard.state);
    let st = &mut *guard;
    st.cache.apply(&mut st.registry, &points.view(), rec.version);
    st.cache.note_lsn(lsn);
    if st.cache.bytes() >= snapshot_size {
        st.rotate();
        drop(guard);
        // Keep replay memory bounded like normal operation.
        flush::flush_snapshots(shard, write_opts, usize::MAX)?;
    }
    Ok(())
}

fn remove_dir_logged(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not remove leftover shard directory");
    }
}

/// Deletes files of the shard directory the manifest does not list
/// (outputs of interrupted flushes/compactions, inputs of finished ones).
fn remove_orphans(dir: &Path, m: &Manifest) -> Result<(), StorageError> {
    let listed: HashSet<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(dir.display(), e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == manifest::FILE_NAME || listed.contains(name.as_ref()) {
            continue;
        }
        tracing::info!(file = %entry.path().display(), "removing unlisted shard file");
        std::fs::remove_file(entry.path()).map_err(|e| StorageError::io(entry.path().display(), e))?;
    }
    for f in &m.files {
        if !dir.join(&f.name).exists() {
            return Err(StorageError::corrupt(
                dir.join(&f.name),
                "listed in the manifest but missing",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
