use std::fmt;

use tandem_model::{ConsistencyLevel, NodeId, ShardId};

use crate::ports::{MetaError, OwnerError};

/// What happened to one owner of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerOutcome {
    Acked,
    Failed(OwnerError),
    /// No answer before the request's deadline (the write continues in the
    /// background).
    Pending,
}

/// Why a shard did not reach its consistency level. `Display` gives the
/// Enterprise text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShortfallKind {
    /// Some owners acked, fewer than required: `partial write`.
    Partial,
    /// No owner acked: `write failed: <first error>`.
    Failed,
    /// `write-timeout` passed first: `timeout`.
    Timeout,
    /// Owners were skipped because the byte budget towards them was spent
    /// or their breaker was open, and that alone kept the level from being
    /// met: the client should retry later (HTTP 503 + Retry-After).
    Overloaded,
}

/// A shard that did not reach its consistency level: the level, the counts
/// and each owner's outcome, so callers can report exactly what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyFailure {
    pub kind: ShortfallKind,
    pub level: ConsistencyLevel,
    pub shard: ShardId,
    pub required: usize,
    pub acked: usize,
    pub owners: Vec<(NodeId, OwnerOutcome)>,
}

impl ConsistencyFailure {
    fn first_error(&self) -> Option<&OwnerError> {
        self.owners.iter().find_map(|(_, o)| match o {
            OwnerOutcome::Failed(e) => Some(e),
            _ => None,
        })
    }
}

impl fmt::Display for ConsistencyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ShortfallKind::Partial => f.write_str("partial write"),
            ShortfallKind::Timeout => f.write_str("timeout"),
            ShortfallKind::Failed => match self.first_error() {
                Some(e) => write!(f, "write failed: {e}"),
                None => f.write_str("write failed"),
            },
            ShortfallKind::Overloaded => write!(
                f,
                "write failed: cannot meet consistency {} (acked {} of {} required): owners overloaded",
                self.level, self.acked, self.required
            ),
        }
    }
}

/// Why a write request failed as a whole. `Display` gives the text the
/// HTTP layer puts in the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Every line failed to parse: influxd's messages joined by newlines.
    #[error("{message}")]
    Parse {
        message: String,
        /// 1-based number of the first bad line.
        first_line: usize,
    },
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// A shard did not reach its consistency level.
    #[error("{0}")]
    Consistency(ConsistencyFailure),
    /// An owner rejected the points themselves (field type conflict,
    /// partial write): a client error, nothing retried.
    #[error("{0}")]
    Rejected(OwnerError),
    /// This node is coordinating as many bytes as it may; the client should
    /// retry later (HTTP 503 + Retry-After).
    #[error("write failed: {0}")]
    Overloaded(String),
    /// A local fault (the clock cannot persist its mark, ...).
    #[error("write failed: {0}")]
    Internal(String),
    /// The node is shutting down.
    #[error("write failed")]
    ShuttingDown,
}

/// Points that were not stored although the request was otherwise served:
/// the client gets influxd's `partial write: <reason> dropped=N` (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialWrite {
    pub reason: String,
    pub dropped: usize,
    /// 1-based number of the first line that failed to parse, when the
    /// reason is a parse error.
    pub first_bad_line: Option<usize>,
}

impl fmt::Display for PartialWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "partial write: {} dropped={}", self.reason, self.dropped)
    }
}
