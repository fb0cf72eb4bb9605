use std::fmt;
use std::io;
use std::path::PathBuf;

use tandem_model::{FieldType, ShardId};

/// Everything the storage engine can refuse or fail with.
///
/// Which errors a caller may retry (see [`StorageError::is_retryable`]):
///
/// | variant | retry? | what the coordinator does |
/// |---|---|---|
/// | `CacheFull`, `Closed` | yes, later or elsewhere | 503 + Retry-After / hinted handoff |
/// | `ShardNotFound`, `ShardDeleted` | no | refresh metadata, retry once (stale routing) |
/// | `PartialWrite` | never | 400 `partial write: ... dropped=N` |
/// | `WalPoisoned`, `Io`, `WalCorrupt`, `Corrupt` | no | the node is unhealthy; an operator must look |
/// | `ForeignDataDir`, `InvalidNodeUuid`, `BatchTooLarge`, `Config` | no | configuration or caller bug |
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The shard was never created on this node (or its directory vanished).
    #[error("shard {0} not found")]
    ShardNotFound(ShardId),

    /// The shard was deleted; its id is tombstoned and can never be written
    /// or created again on this node.
    #[error("shard {0} is deleted")]
    ShardDeleted(ShardId),

    /// The shard's cache (plus snapshots still being written to files) is at
    /// `cache_max_memory_size`. Retryable: flushes free memory in the
    /// background.
    #[error("cache-max-memory-size exceeded: shard {shard} holds {bytes} bytes, limit {limit}")]
    CacheFull { shard: ShardId, bytes: u64, limit: u64 },

    /// Produced by [`crate::WriteOutcome::into_result`] when points were dropped
    /// (field type conflicts). Never retried: the same batch fails the same way.
    #[error("partial write: {reason} dropped={dropped}")]
    PartialWrite { reason: String, dropped: usize },

    /// An fsync of the WAL failed earlier; the page cache can no longer be
    /// trusted, so this node acknowledges no more writes until it restarts.
    #[error("write-ahead log is poisoned after an fsync failure: {0}")]
    WalPoisoned(String),

    /// The WAL holds a damaged record that cannot be a torn tail (it is in
    /// a segment that was completely fsync'd). Refusing to start is safer
    /// than silently dropping acknowledged writes; an operator must move the
    /// segment away.
    #[error("write-ahead log segment {path} is corrupt at byte {offset}: {reason}")]
    WalCorrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    /// A manifest, parquet file or other on-disk structure is unreadable.
    #[error("corrupt storage file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },

    /// The data directory belongs to another node.
    #[error("foreign data dir {dir}: it belongs to node {found}, expected {expected}")]
    ForeignDataDir {
        dir: PathBuf,
        expected: String,
        found: String,
    },

    /// A node uuid must be 1..=128 printable ASCII characters.
    #[error("invalid node uuid {0:?}")]
    InvalidNodeUuid(String),

    /// One WAL record cannot exceed [`crate::MAX_BATCH_BYTES`].
    #[error("batch of {bytes} bytes exceeds the {limit}-byte limit of one WAL record")]
    BatchTooLarge { bytes: usize, limit: usize },

    /// The engine is shutting down.
    #[error("storage engine is closed")]
    Closed,

    /// The configuration is unusable.
    #[error("invalid storage config: {0}")]
    Config(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl StorageError {
    /// True when the same request may succeed later without any change:
    /// `CacheFull` (flushes free memory) and `Closed` (another node, or this
    /// one after its restart, can take it). Everything else is either a
    /// routing problem, a permanent rejection or a node fault.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::CacheFull { .. } | StorageError::Closed)
    }

    /// True for `ShardNotFound`/`ShardDeleted`: the caller's metadata is
    /// probably stale; refresh it and retry once.
    pub fn is_stale_routing(&self) -> bool {
        matches!(
            self,
            StorageError::ShardNotFound(_) | StorageError::ShardDeleted(_)
        )
    }

    pub(crate) fn io(context: impl fmt::Display, source: io::Error) -> Self {
        StorageError::Io {
            context: context.to_string(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl fmt::Display) -> Self {
        StorageError::Corrupt {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// A point rejected because one of its fields has a different type than the
/// one on record for (shard, measurement, field). Displays as influxd does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTypeConflict {
    /// Measurement name, unescaped.
    pub measurement: String,
    /// Field key, unescaped.
    pub field: String,
    /// Type of the value in the rejected point.
    pub input: FieldType,
    /// Type on record.
    pub existing: FieldType,
}

impl fmt::Display for FieldTypeConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field type conflict: input field \"{}\" on measurement \"{}\" is type {}, already exists as type {}",
            self.field, self.measurement, self.input, self.existing
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_text_matches_influxd() {
        let c = FieldTypeConflict {
            measurement: "m".into(),
            field: "f".into(),
            input: FieldType::Integer,
            existing: FieldType::Float,
        };
        assert_eq!(
            c.to_string(),
            "field type conflict: input field \"f\" on measurement \"m\" is type integer, already exists as type float"
        );
        let e = StorageError::PartialWrite {
            reason: c.to_string(),
            dropped: 3,
        };
        assert_eq!(
            e.to_string(),
            "partial write: field type conflict: input field \"f\" on measurement \"m\" is type integer, \
             already exists as type float dropped=3"
        );
    }

    #[test]
    fn retry_classes() {
        let table: [(StorageError, bool, bool); 5] = [
            (
                StorageError::CacheFull {
                    shard: ShardId(1),
                    bytes: 2,
                    limit: 1,
                },
                true,
                false,
            ),
            (StorageError::Closed, true, false),
            (StorageError::ShardDeleted(ShardId(1)), false, true),
            (StorageError::ShardNotFound(ShardId(1)), false, true),
            (StorageError::WalPoisoned("x".into()), false, false),
        ];
        for (e, retry, stale) in table {
            assert_eq!(e.is_retryable(), retry, "{e}");
            assert_eq!(e.is_stale_routing(), stale, "{e}");
        }
    }
}
