//! The write path: type check + cache update + WAL append under the shard
//! lock, then waiting for the group-commit fsync outside it.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tandem_model::{PointsBuf, PointsBufBuilder, PointsView, ShardId, Version};

use super::shard::lock;
use super::{Engine, Inner};
use crate::wal::{MAX_BATCH_BYTES, Ticket};
use crate::{StorageError, WriteOutcome};

/// A write that is in the cache and the WAL's page cache, not yet durable.
/// Acknowledge it only after [`PendingWrite::wait`] or
/// [`PendingWrite::durable`] returns `Ok`. Owns a handle on the engine, so
/// it can be created on a blocking thread and awaited on an async one.
#[must_use = "a write is durable only once waited for"]
pub struct PendingWrite {
    inner: Arc<Inner>,
    ticket: Option<Ticket>,
    outcome: WriteOutcome,
}

impl PendingWrite {
    /// Blocks the thread until the WAL record is fsync'd. Not for async
    /// contexts.
    pub fn wait(self) -> Result<WriteOutcome, StorageError> {
        if let Some(t) = self.ticket {
            self.inner.wal.wait(t)?;
        }
        Ok(self.outcome)
    }

    /// Waits, without blocking the thread, until the WAL record is fsync'd.
    pub async fn durable(self) -> Result<WriteOutcome, StorageError> {
        if let Some(t) = self.ticket {
            self.inner.wal.wait_async(t).await?;
        }
        Ok(self.outcome)
    }
}

impl Engine {
    /// Applies a batch to the shard's cache and appends it to the WAL; the
    /// returned [`PendingWrite`] tells when it is durable. Costs CPU (about
    /// the size of the batch), never an fsync.
    pub fn append(
        &self,
        shard: ShardId,
        version: Version,
        points: &PointsBuf,
    ) -> Result<PendingWrite, StorageError> {
        Inner::append(&self.inner, shard, version, points)
    }

    /// [`Engine::append`] then [`PendingWrite::wait`].
    pub fn write_blocking(
        &self,
        shard: ShardId,
        version: Version,
        points: &PointsBuf,
    ) -> Result<WriteOutcome, StorageError> {
        self.append(shard, version, points)?.wait()
    }

    /// [`Engine::wait_for_room`], [`Engine::append`], then
    /// [`PendingWrite::durable`].
    pub async fn write(
        &self,
        shard: ShardId,
        version: Version,
        points: &PointsBuf,
    ) -> Result<WriteOutcome, StorageError> {
        let _waited = self.wait_for_room(shard).await;
        self.append(shard, version, points)?.durable().await
    }

    /// Waits, without blocking the thread, while the shard is stalled:
    /// it holds `cache_stall_memory_size` unflushed bytes (or
    /// `cache_max_memory_size`, if lower) and a snapshot of it is being
    /// flushed. At most `cache_stall_max_wait`. Returns whether it had to
    /// wait.
    pub async fn wait_for_room(&self, shard: ShardId) -> bool {
        let Some(deadline) = self.stall_deadline(shard) else {
            return false;
        };
        self.inner
            .flushed
            .wait_async(deadline, || self.inner.stalled(shard))
            .await;
        true
    }

    /// As [`Engine::wait_for_room`], blocking the thread.
    pub fn wait_for_room_blocking(&self, shard: ShardId) -> bool {
        let Some(deadline) = self.stall_deadline(shard) else {
            return false;
        };
        self.inner
            .flushed
            .wait_blocking(deadline, || self.inner.stalled(shard));
        true
    }

    /// When the shard is stalled, until when a writer may wait for room.
    fn stall_deadline(&self, shard: ShardId) -> Option<Instant> {
        self.inner
            .stalled(shard)
            .then(|| Instant::now() + self.inner.config.cache_stall_max_wait)
    }
}

impl Inner {
    fn stalled(&self, id: ShardId) -> bool {
        let limit = match self.config.cache_stall_memory_size {
            0 => return false,
            n => n.min(self.config.cache_max_memory_size),
        };
        let Ok(shard) = self.shard(id) else {
            return false;
        };
        let st = lock(&shard.state);
        // Without a snapshot in flight no flush is coming to free room.
        st.snapshot_bytes > 0 && st.held_bytes() as u64 >= limit
    }

    fn append(
        self: &Arc<Self>,
        id: ShardId,
        version: Version,
        points: &PointsBuf,
    ) -> Result<PendingWrite, StorageError> {
        self.check_open()?;
        if let Some(p) = self.wal.poisoned() {
            return Err(StorageError::WalPoisoned(p));
        }
        let shard = self.shard(id)?;
        if points.as_bytes().len() > MAX_BATCH_BYTES {
            return Err(StorageError::BatchTooLarge {
                bytes: points.as_bytes().len(),
                limit: MAX_BATCH_BYTES,
            });
        }
        let mut guard = lock(&shard.state);
        let st = &mut *guard;
        if st.deleted {
            return Err(StorageError::ShardDeleted(id));
        }
        let held = st.held_bytes() as u64;
        if held >= self.config.cache_max_memory_size {
            return Err(StorageError::CacheFull {
                shard: id,
                bytes: held,
                limit: self.config.cache_max_memory_size,
            });
        }
        // Decoded only once the write is going to be taken.
        let view = points.view();
        let applied = st.cache.apply(&mut st.registry, &view, version);
        let mut ticket = None;
        if applied.written > 0 {
            // The WAL holds exactly what was accepted, so replay never has to
            // decide about types again.
            let record: Cow<'_, [u8]> = if applied.dropped == 0 {
                Cow::Borrowed(points.as_bytes())
            } else {
                Cow::Owned(without_points(&view, &applied.dropped_points).into_bytes())
            };
            let (t, lsn) = self.wal.append(id, version, &record)?;
            st.cache.note_lsn(lsn);
            ticket = Some(t);
            st.last_write = SystemTime::now();
        }
        if st.cache.bytes() as u64 >= self.config.cache_snapshot_memory_size && st.rotate() {
            self.flushq.push(id);
        }
        drop(guard);
        Ok(PendingWrite {
            inner: Arc::clone(self),
            ticket,
            outcome: WriteOutcome {
                written: applied.written,
                dropped: applied.dropped,
                first_conflict: applied.first_conflict,
            },
        })
    }
}

/// Re-encodes a batch without the points at `dropped` (sorted indexes).
fn without_points(view: &PointsView<'_>, dropped: &[u32]) -> PointsBuf {
    let mut b = PointsBufBuilder::new();
    let mut skip = dropped.iter().peekable();
    for (i, p) in view.iter().enumerate() {
        if skip.peek().is_some_and(|&&d| d as usize == i) {
            skip.next();
            continue;
        }
        // The batch's series index is a perfect hash of the key within it.
        b.push(
            p.series_key.as_bytes(),
            u64::from(p.series_index),
            p.ts,
            p.fields().map(|f| (f.key.as_bytes(), f.value)),
        );
    }
    b.finish()
}
