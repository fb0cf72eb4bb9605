//! The node's write-ahead log: one sequence of segment files shared by all
//! shards, with group commit.
//!
//! Writers append a CRC-framed record under a mutex (a `write` into the page
//! cache, no fsync) and get a [`Ticket`]. One dedicated std thread, the
//! syncer, fsyncs the current segment whenever tickets are pending and then
//! publishes the highest durable ticket; every batch appended before that
//! fsync started shares it. A write is acknowledged only when its ticket is
//! durable.
//!
//! Segment roll is done by the syncer, never by writers: it swaps in a
//! pre-created (and directory-fsync'd) next segment at the start of a sync
//! cycle, and that cycle's fsync is the old segment's last. Hence a record in
//! segment N+1 is only acknowledged after segment N is complete on disk, and
//! only the last two segments can legitimately end in a torn record.
//!
//! After an fsync error the WAL is poisoned: tickets not yet durable fail,
//! and every later append fails with `WalPoisoned`; nothing is retried.

mod frame;
mod replay;
mod syncer;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_model::{ShardId, Version};

pub(crate) use frame::WriteRecord;

use crate::StorageError;

/// Called before every WAL fsync with the file about to be synced; an `Err`
/// is treated exactly like a failed fsync. For fault-injection tests.
pub type SyncHook = Arc<dyn Fn(&Path) -> io::Result<()> + Send + Sync>;

/// Position of a record: segment id and byte offset of its frame. Ordered
/// like the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lsn {
    pub segment: u64,
    pub offset: u64,
}

/// Identifies an appended record until it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket(u64);

/// The biggest PointsBuf one write may carry (one WAL record).
pub const MAX_BATCH_BYTES: usize = frame::MAX_PAYLOAD - frame::PAYLOAD_PREFIX_LEN;

pub(crate) struct WalOptions {
    pub dir: PathBuf,
    pub segment_size: u64,
    pub fsync_delay: Duration,
    pub hook: Option<SyncHook>,
    /// No segment id at or below this may be created (manifests may
    /// reference it).
    pub min_segment: u64,
}

pub(crate) struct Wal {
    shared: Arc<Shared>,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    dir: PathBuf,
    segment_size: u64,
    fsync_delay: Duration,
    hook: Option<SyncHook>,
    state: Mutex<State>,
    /// Wakes the syncer.
    work: Condvar,
    /// Wakes blocking waiters.
    synced_cv: Condvar,
    /// Wakes async waiters.
    watch: tokio::sync::watch::Sender<SyncStatus>,
}

struct Segment {
    id: u64,
    file: Arc<File>,
    len: u64,
}

struct State {
    current: Segment,
    /// Pre-created next segment, already durable in the directory.
    next: Option<Segment>,
    /// Complete segments on disk, candidates for deletion.
    sealed: BTreeSet<u64>,
    appended: u64,
    synced: u64,
    poisoned: Option<String>,
    closed: bool,
}

#[derive(Debug, Clone, Default)]
struct SyncStatus {
    synced: u64,
    poisoned: Option<Arc<str>>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.wal"))
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave State half-updated in a way
    // that matters more than losing the process; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates an empty segment file and makes its directory entry durable.
fn create_segment(dir: &Path, id: u64, hook: Option<&SyncHook>) -> io::Result<Segment> {
    let path = segment_path(dir, id);
    // Ids are never reused, so a file with this name can only be left over
    // from an earlier attempt that failed before it was used.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
    if let Some(h) = hook {
        h(dir)?;
    }
    crate::fsutil::sync_dir(dir)?;
    Ok(Segment {
        id,
        file: Arc::new(file),
        len: 0,
    })
}

impl Wal {
    /// Opens the WAL in `opts.dir`, calling `on_record` for every intact
    /// record in log order, truncating a torn tail, and starts the syncer.
    pub(crate) fn open(
        opts: WalOptions,
        on_record: impl FnMut(Lsn, WriteRecord<'_>) -> Result<(), StorageError>,
    ) -> Result<Wal, StorageError> {
        std::fs::create_dir_all(&opts.dir).map_err(|e| StorageError::io(opts.dir.display(), e))?;
        let replayed = replay::replay(&opts.dir, on_record)?;
        // Never reuse an id: not of a discarded segment, nor one a manifest's
        // flushed position names, or new records could compare as flushed.
        let first = replayed.max_seen.max(opts.min_segment) + 1;
        let kept = replayed.kept;
        let ctx = |e| StorageError::io(format!("creating WAL segment in {}", opts.dir.display()), e);
        let current = create_segment(&opts.dir, first, opts.hook.as_ref()).map_err(ctx)?;
        let next = create_segment(&opts.dir, first + 1, opts.hook.as_ref()).map_err(ctx)?;
        let (watch, _) = tokio::sync::watch::channel(SyncStatus::default());
        let shared = Arc::new(Shared {
            dir: opts.dir,
            segment_size: opts.segment_size,
            fsync_delay: opts.fsync_delay,
            hook: opts.hook,
            state: Mutex::new(State {
                current,
                next: Some(next),
                sealed: kept,
                appended: 0,
                synced: 0,
                poisoned: None,
                closed: false,
            }),
            work: Condvar::new(),
            synced_cv: Condvar::new(),
            watch,
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("tandem-wal-sync".into())
            .spawn(move || syncer::run(&thread_shared))
            .map_err(|e| StorageError::io("spawning the WAL syncer", e))?;
        Ok(Wal {
            shared,
            syncer: Mutex::new(Some(handle)),
        })
    }

    /// Appends one write record. Returns once the record is in the page
    /// cache; [`Wal::wait`] / [`Wal::wait_async`] tell when it is durable.
    pub(crate) fn append(
        &self,
        shard: ShardId,
        version: Version,
        points: &[u8],
    ) -> Result<(Ticket, Lsn), StorageError> {
        if points.len() > MAX_BATCH_BYTES {
            return Err(StorageError::BatchTooLarge {
                bytes: points.len(),
                limit: MAX_BATCH_BYTES,
            });
        }
        let head = frame::encode_write_head(shard, version, points);
        let total = (head.len() + points.len()) as u64;
        let mut st = lock(&self.shared.state);
        if let Some(p) = &st.poisoned {
            return Err(StorageError::WalPoisoned(p.clone()));
        }
        if st.closed {
            return Err(StorageError::Closed);
        }
        let lsn = Lsn {
            segment: st.current.id,
            offset: st.current.len,
        };
        if let Err(e) = write_all(&st.current.file, &head, points) {
            // Cut the partial frame off so later records stay readable; if
            // even that fails the file state is unknown: poison.
            if st.current.file.set_len(lsn.offset).is_err() {
                let reason = format!(
                    "write to WAL segment {} failed and could not be undone: {e}",
                    lsn.segment
                );
                self.shared.poison(&mut st, reason.clone());
                return Err(StorageError::WalPoisoned(reason));
            }
            return Err(StorageError::io(
                format!("appending to WAL segment {}", lsn.segment),
                e,
            ));
        }
        st.current.len += total;
        st.appended += 1;
        let ticket = Ticket(st.appended);
        drop(st);
        self.shared.work.notify_one();
        Ok((ticket, lsn))
    }

    /// Blocks until `t` is durable (or the WAL is poisoned before it is).
    pub(crate) fn wait(&self, t: Ticket) -> Result<(), StorageError> {
        let mut st = lock(&self.shared.state);
        loop {
            if st.synced >= t.0 {
                return Ok(());
            }
            if let Some(p) = &st.poisoned {
                return Err(StorageError::WalPoisoned(p.clone()));
            }
            st = self.shared.synced_cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits without blocking the thread until `t` is durable.
    pub(crate) async fn wait_async(&self, t: Ticket) -> Result<(), StorageError> {
        let mut rx = self.shared.watch.subscribe();
        let status = rx
            .wait_for(|s| s.synced >= t.0 || s.poisoned.is_some())
            .await
            .map(|s| s.clone())
            // The sender lives as long as `self`; a closed channel cannot
            // happen while we borrow it.
            .map_err(|_| StorageError::Closed)?;
        if status.synced >= t.0 {
            Ok(())
        } else {
            Err(StorageError::WalPoisoned(
                status.poisoned.as_deref().unwrap_or("").to_owned(),
            ))
        }
    }

    /// The segment new records go to now. Records appended after this call
    /// land in this segment or a later one.
    pub(crate) fn current_segment(&self) -> u64 {
        lock(&self.shared.state).current.id
    }

    /// Deletes complete segments with ids below `keep_from` (every record in
    /// them is in files).
    pub(crate) fn remove_segments_before(&self, keep_from: u64) {
        let doomed: Vec<u64> = {
            let mut st = lock(&self.shared.state);
            let doomed: Vec<u64> = st.sealed.range(..keep_from).copied().collect();
            for id in &doomed {
                st.sealed.remove(id);
            }
            doomed
        };
        for id in doomed {
            let path = segment_path(&self.shared.dir, id);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "could not delete flushed WAL segment");
            }
        }
    }

    /// Number of segment files on disk (current, next and sealed).
    pub(crate) fn segment_count(&self) -> usize {
        let st = lock(&self.shared.state);
        st.sealed.len() + 1 + usize::from(st.next.is_some())
    }

    pub(crate) fn poisoned(&self) -> Option<String> {
        lock(&self.shared.state).poisoned.clone()
    }

    /// Stops accepting appends, makes everything appended durable, and stops
    /// the syncer.
    pub(crate) fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.work.notify_all();
        let handle = self.syncer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn poison(&self, st: &mut State, reason: String) {
        tracing::error!(%reason, "WAL poisoned; this node acknowledges no more writes");
        st.poisoned = Some(reason.clone());
        let reason: Arc<str> = reason.into();
        self.watch.send_modify(|s| s.poisoned = Some(reason));
        self.synced_cv.notify_all();
        self.work.notify_all();
    }

    fn publish_synced(&self, synced: u64) {
        self.watch.send_modify(|s| s.synced = synced);
        self.synced_cv.notify_all();
    }
}

fn write_all(file: &File, head: &[u8], points: &[u8]) -> io::Result<()> {
    let mut bufs = [IoSlice::new(head), IoSlice::new(points)];
    let mut bufs = &mut bufs[..];
    let mut w = file;
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short WAL write")),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
