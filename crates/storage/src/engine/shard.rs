//! One shard's in-memory state.
//!
//! Lock order: `flush_lock`/`compact_lock` → `manifest` → `state`. Writers
//! take only `state` (briefly, plus the WAL mutex inside it), so flushes,
//! compactions and exports never make a writer wait for disk.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use tandem_model::ShardId;

use crate::cache::Cache;
use crate::cache::frozen::Frozen;
use crate::fields::FieldRegistry;
use crate::manifest::Manifest;
use crate::wal::Lsn;

pub(crate) struct Shard {
    pub id: ShardId,
    pub dir: PathBuf,
    pub state: Mutex<ShardState>,
    pub manifest: Mutex<Manifest>,
    /// Snapshots are written one at a time, oldest first, so that a
    /// manifest's `flushed_lsn` covers everything before it.
    pub flush_lock: Mutex<()>,
    pub compact_lock: Mutex<()>,
}

pub(crate) struct ShardState {
    pub cache: Cache,
    /// Caches waiting to be written to files, oldest first.
    pub snapshots: VecDeque<Arc<Snapshot>>,
    pub snapshot_bytes: usize,
    pub registry: Arc<FieldRegistry>,
    pub deleted: bool,
    pub last_write: SystemTime,
}

/// A cache taken out of service, frozen on first use.
pub(crate) struct Snapshot {
    raw: Mutex<Option<Cache>>,
    frozen: OnceLock<Arc<Frozen>>,
    pub bytes: usize,
    pub lines: u64,
    pub first_lsn: Option<Lsn>,
}

impl Snapshot {
    fn new(cache: Cache) -> Self {
        Self {
            bytes: cache.bytes(),
            lines: cache.lines(),
            first_lsn: cache.first_lsn,
            raw: Mutex::new(Some(cache)),
            frozen: OnceLock::new(),
        }
    }

    /// The sorted, resolved snapshot (computed once, by whoever asks first).
    /// `registry` must be at least as new as the one the cache was written
    /// with.
    pub(crate) fn frozen(&self, registry: &FieldRegistry) -> Arc<Frozen> {
        Arc::clone(self.frozen.get_or_init(|| {
            let raw = lock(&self.raw).take();
            Arc::new(raw.map(|c| c.freeze(registry)).unwrap_or_default())
        }))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shard {
    pub(crate) fn new(id: ShardId, dir: PathBuf, manifest: Manifest, registry: FieldRegistry) -> Self {
        let last_write = std::fs::metadata(dir.join(crate::manifest::FILE_NAME))
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        Self {
            id,
            dir,
            state: Mutex::new(ShardState {
                cache: Cache::default(),
                snapshots: VecDeque::new(),
                snapshot_bytes: 0,
                registry: Arc::new(registry),
                deleted: false,
                last_write,
            }),
            manifest: Mutex::new(manifest),
            flush_lock: Mutex::new(()),
            compact_lock: Mutex::new(()),
        }
    }
}

impl ShardState {
    /// Moves a non-empty cache to the snapshot queue; true if it did.
    pub(crate) fn rotate(&mut self) -> bool {
        if self.cache.is_empty() {
            return false;
        }
        let next = Cache::successor(&self.cache);
        let snap = Snapshot::new(std::mem::replace(&mut self.cache, next));
        self.snapshot_bytes += snap.bytes;
        self.snapshots.push_back(Arc::new(snap));
        true
    }

    /// Bytes counted against `cache_max_memory_size`.
    pub(crate) fn held_bytes(&self) -> usize {
        self.cache.bytes() + self.snapshot_bytes
    }

    /// The oldest WAL position whose data is only in memory.
    pub(crate) fn oldest_unflushed(&self) -> Option<Lsn> {
        self.snapshots
            .iter()
            .filter_map(|s| s.first_lsn)
            .chain(self.cache.first_lsn)
            .min()
    }
}
