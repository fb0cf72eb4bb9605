//! The narrow interface the rest of tandem uses to store shards, so the
//! engine behind it can be swapped. [`crate::Engine`] implements it (in
//! `engine/store_adapter.rs`).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use tandem_model::{PointsBuf, ShardId, Version};

use crate::{FieldTypeConflict, StorageError, TimeRange};

/// The result of an acknowledged write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    /// Points stored (and durable).
    pub written: usize,
    /// Points dropped because a field had the wrong type. Nothing was
    /// retried; the caller reports `partial write: <reason> dropped=N`.
    pub dropped: usize,
    /// The first type conflict, for the error message.
    pub first_conflict: Option<FieldTypeConflict>,
}

impl WriteOutcome {
    /// `Ok(written)` if nothing was dropped, else the non-retryable
    /// [`StorageError::PartialWrite`] with influxd's reason text.
    pub fn into_result(self) -> Result<usize, StorageError> {
        match self.first_conflict {
            Some(c) if self.dropped > 0 => Err(StorageError::PartialWrite {
                reason: c.to_string(),
                dropped: self.dropped,
            }),
            _ => Ok(self.written),
        }
    }
}

/// What a node knows about one of its shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub shard: ShardId,
    /// Bytes of the shard's Parquet files.
    pub size_on_disk: u64,
    /// Bytes held in memory (cache and snapshots not yet in files); the data
    /// is also in the WAL.
    pub cache_bytes: u64,
    /// Approximate point count: rows in files plus points in the cache.
    /// Rows a later compaction merges (rewrites of the same point, replays)
    /// are counted once per copy until then.
    pub point_count: u64,
    pub file_count: usize,
    /// Time of the last accepted write; after a restart, of the last flush
    /// (the manifest's modification time) until the next write.
    pub last_modified: SystemTime,
    /// No write for `cold_duration`.
    pub cold: bool,
}

/// Hash of one time bucket of a shard's converged cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestBucket {
    /// First timestamp of the bucket (a multiple of the bucket width).
    pub start: i64,
    /// Number of cells (series, time, field) in the bucket.
    pub cells: u64,
    /// SHA-256 over the bucket's cells in export order (series, time, field
    /// key), each with its value, type and version.
    pub hash: [u8; 32],
}

/// Anti-entropy summary of a shard: equal on two replicas exactly when they
/// hold the same converged cells (with the same versions), however their
/// files are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardDigest {
    pub shard: ShardId,
    pub bucket: Duration,
    /// Non-empty buckets, in time order.
    pub buckets: Vec<DigestBucket>,
}

/// Chunks of line protocol (whole lines, ns timestamps, sorted by series key
/// then time, one line per (series, time) with every winning field). Pulling
/// the iterator reads files: drive it from a blocking thread.
pub type ExportStream = Box<dyn Iterator<Item = Result<Vec<u8>, StorageError>> + Send>;

/// Chunks of converged rows in `PointsBuf` format 2 (each field with its
/// winning version), sorted by series key then time. Pulling the iterator
/// reads files: drive it from a blocking thread.
pub type RowStream = Box<dyn Iterator<Item = Result<PointsBuf, StorageError>> + Send>;

/// The future returned by [`ShardStore::write`].
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<WriteOutcome, StorageError>> + Send + 'a>>;

/// Shard storage as the data service sees it.
///
/// Every method except `write` does blocking file I/O (and fsyncs): call
/// them from `tokio::task::spawn_blocking` or a plain thread. `write` does
/// its CPU work (decoding the batch, updating the cache, one `write(2)` into
/// the WAL) when first polled and then waits for the WAL syncer thread
/// without blocking.
pub trait ShardStore: Send + Sync {
    /// The node uuid recorded in the data directory.
    fn node_uuid(&self) -> &str;

    /// Creates an empty shard; a no-op if it exists. `ShardDeleted` if the
    /// id is tombstoned.
    fn create_shard(&self, shard: ShardId) -> Result<(), StorageError>;

    /// Tombstones the id durably, then removes the shard's data. Idempotent;
    /// also tombstones ids that never existed here.
    fn delete_shard(&self, shard: ShardId) -> Result<(), StorageError>;

    /// Stores a batch stamped with `version`; resolves once its WAL record
    /// is fsync'd. (To keep big batches' CPU work off async workers, call
    /// `Engine::append` in `spawn_blocking` and await
    /// `PendingWrite::durable` instead.) Points with a field-type conflict are dropped and
    /// counted (the others are stored). Errors: `ShardNotFound`,
    /// `ShardDeleted`, `CacheFull` (retryable), `WalPoisoned`, `Closed`,
    /// `BatchTooLarge`, `Io`. After an `Io`/`WalPoisoned` error the batch
    /// may or may not be stored; replaying it is harmless.
    fn write<'a>(&'a self, shard: ShardId, version: Version, points: &'a PointsBuf) -> WriteFuture<'a>;

    /// The shards stored here, sorted.
    fn shards(&self) -> Vec<ShardId>;

    /// Those of `expected` that are not stored here (never created, lost
    /// with a wiped disk, or deleted).
    fn missing_shards(&self, expected: &[ShardId]) -> Vec<ShardId>;

    fn shard_info(&self, shard: ShardId) -> Result<ShardInfo, StorageError>;

    /// Streams the shard's points within `range` as line protocol in
    /// constant memory. Snapshots the shard's cache first (so it is a
    /// consistent view of everything acknowledged before the call).
    fn export(&self, shard: ShardId, range: TimeRange) -> Result<ExportStream, StorageError>;

    /// Like [`ShardStore::export`], as rows that keep every field's winning
    /// version, so copies from several replicas can be merged by the
    /// convergence rule.
    fn export_rows(&self, shard: ShardId, range: TimeRange) -> Result<RowStream, StorageError>;

    /// Digest over the converged cells, bucketed by time.
    fn digest(&self, shard: ShardId, bucket: Duration) -> Result<ShardDigest, StorageError>;

    /// Writes every cache to files (and drops WAL segments no longer needed).
    fn flush(&self) -> Result<(), StorageError>;

    /// Graceful shutdown: refuses new writes, flushes, stops background
    /// threads. Later calls fail with `Closed`.
    fn close(&self) -> Result<(), StorageError>;
}
