use tandem_model::ShardId;
use tandem_storage::StorageError;

/// Why the data service refused a request. Each variant maps to one wire
/// error code; `Display` is the message sent with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Points dropped for their field type (never retried).
    #[error("partial write: {reason} dropped={dropped}")]
    PartialWrite { reason: String, dropped: usize },
    /// This node's metadata says it does not own the shard.
    #[error("node does not own shard {0}")]
    StaleRouting(ShardId),
    #[error("shard {0} is pending deletion")]
    ShardDeleted(ShardId),
    /// Retryable.
    #[error("{0}")]
    CacheFull(String),
    /// Retryable: WAL poisoned, closing, I/O error, metadata not caught up.
    #[error("{0}")]
    Unavailable(String),
    /// Not retryable: a bad request.
    #[error("{0}")]
    Rejected(String),
    #[error("shard {0} not found")]
    ShardNotFound(ShardId),
}

impl From<StorageError> for DataError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::PartialWrite { reason, dropped } => DataError::PartialWrite { reason, dropped },
            StorageError::ShardDeleted(id) => DataError::ShardDeleted(id),
            StorageError::ShardNotFound(id) => DataError::ShardNotFound(id),
            e @ StorageError::CacheFull { .. } => DataError::CacheFull(e.to_string()),
            e @ StorageError::BatchTooLarge { .. } => DataError::Rejected(e.to_string()),
            e => DataError::Unavailable(e.to_string()),
        }
    }
}
