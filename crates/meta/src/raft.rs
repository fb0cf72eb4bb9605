//! openraft glue: the type config, the redb store (log, vote, committed,
//! snapshot), the state machine, and the tonic transport. Nothing outside
//! this crate sees these types.

// openraft's trait signatures fix the error types (StorageError, RPCError),
// which are large by design; helpers returning them follow suit.
#![allow(clippy::result_large_err)]

pub(crate) mod log_store;
pub(crate) mod network;
pub(crate) mod service;
pub(crate) mod state_machine;
pub(crate) mod store;

use std::io::Cursor;

use openraft::{AnyError, StorageError, StorageIOError};
use tandem_model::NodeId;

use crate::MetaError;
use crate::command::{CommandReply, Proposal};
use crate::state::MetaEndpoints;

openraft::declare_raft_types!(
    /// openraft types of the meta service: proposals in, replies out, meta
    /// endpoints as node data, u64 node ids (tandem's u32 `NodeId` widened).
    pub(crate) TypeConfig:
        D = Proposal,
        R = CommandReply,
        NodeId = u64,
        Node = MetaEndpoints,
);

pub(crate) type Raft = openraft::Raft<TypeConfig>;
pub(crate) type Entry = openraft::Entry<TypeConfig>;
pub(crate) type LogId = openraft::LogId<u64>;
pub(crate) type Vote = openraft::Vote<u64>;
pub(crate) type StoredMembership = openraft::StoredMembership<u64, MetaEndpoints>;
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<u64, MetaEndpoints>;
pub(crate) type Snapshot = openraft::Snapshot<TypeConfig>;
pub(crate) type StorageResult<T> = Result<T, StorageError<u64>>;

/// tandem node id → raft node id.
pub(crate) fn raft_id(id: NodeId) -> u64 {
    u64::from(id.0)
}

/// raft node id → tandem node id. Raft ids always come from tandem ids, so
/// they fit; a foreign id maps to `u32::MAX`, which is never allocated.
pub(crate) fn node_id(id: u64) -> NodeId {
    NodeId(u32::try_from(id).unwrap_or(u32::MAX))
}

/// Maps any storage failure to openraft's error (which makes the raft core
/// stop: a meta node with a broken disk must leave service).
pub(crate) fn io_error(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageIOError::write(AnyError::new(&e)).into()
}

/// Maps a raft API error to ours.
pub(crate) fn raft_error<E: std::fmt::Display>(e: E) -> MetaError {
    MetaError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests;
