//! What the data service needs to know about shard ownership, as a port the
//! meta client implements.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tandem_model::{NodeId, ShardId};

/// A boxed, sendable future.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whether a node owns a shard, according to the local metadata copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// The shard exists and lists the node among its owners.
    Owner,
    /// The shard exists and the node is not an owner.
    NotOwner,
    /// The shard was deleted (retention, `DROP`); its id is tombstoned.
    Deleted,
    /// The local copy does not know the shard.
    Unknown,
}

/// The node's view of cluster metadata.
pub trait OwnershipView: Send + Sync + 'static {
    /// Version of the local metadata copy.
    fn version(&self) -> u64;

    /// Waits until the local copy reaches `version` (or `limit` passes);
    /// returns whether it did.
    fn wait_for_version(&self, version: u64, limit: Duration) -> PortFuture<'_, bool>;

    fn ownership(&self, shard: ShardId, node: NodeId) -> Ownership;

    /// The data-service address (`host:port`) of `node`, if known.
    fn data_address(&self, node: NodeId) -> Option<String>;
}
