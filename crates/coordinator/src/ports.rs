//! What the coordinator needs from the rest of the cluster, as traits it
//! owns. The meta client and the data-node client implement them in the
//! binary's wiring; tests implement them with in-memory fakes. Nothing here
//! knows protobuf, raft or HTTP.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tandem_model::{FieldType, NodeId, PointsBuf, ShardGroupId, ShardId, Version};

/// A boxed, sendable future: what the port traits return so they stay
/// object-safe.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A retention policy as the write path sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub name: String,
    /// How long data is kept, in ns; 0 keeps it forever.
    pub duration_ns: i64,
    /// Width of one shard group, in ns.
    pub shard_group_duration_ns: i64,
    pub replication: u32,
}

/// One shard of a shard group with its owners, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: ShardId,
    pub owners: Vec<NodeId>,
}

/// A shard group: a time bucket `[start, end)` of one retention policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardGroup {
    pub id: ShardGroupId,
    pub start_ns: i64,
    pub end_ns: i64,
    pub shards: Vec<Shard>,
}

/// One field to register in the cluster-wide type registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRegistration {
    pub group: ShardGroupId,
    pub measurement: String,
    pub field: String,
    pub field_type: FieldType,
}

/// Why metadata could not be had. The texts are influxd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("database not found: {0:?}")]
    DatabaseNotFound(String),
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    /// The meta service could not answer (no leader, unreachable, ...).
    #[error("{0}")]
    Unavailable(String),
}

/// The metadata the write path reads and the few changes it makes.
pub trait Metadata: Send + Sync + 'static {
    /// The policy `rp` of `db`, or its default policy when `rp` is `None`.
    /// A miss is retried once after syncing with the meta leader.
    fn retention_policy<'a>(
        &'a self,
        db: &'a str,
        rp: Option<&'a str>,
    ) -> PortFuture<'a, Result<RetentionPolicy, MetaError>>;

    /// The shard groups starting at each of `starts` (aligned to the policy's
    /// shard-group duration), created in one command where missing.
    fn shard_groups<'a>(
        &'a self,
        db: &'a str,
        rp: &'a str,
        starts: &'a [i64],
    ) -> PortFuture<'a, Result<Vec<ShardGroup>, MetaError>>;

    /// The registered type of `field` on `measurement` in `group`, from the
    /// local copy (no round trip).
    fn field_type(&self, group: ShardGroupId, measurement: &str, field: &str) -> Option<FieldType>;

    /// Registers fields in one command; returns the type on record for each
    /// (the first registration wins, so it may differ from the one asked).
    fn register_fields<'a>(
        &'a self,
        fields: Vec<FieldRegistration>,
    ) -> PortFuture<'a, Result<Vec<FieldType>, MetaError>>;

    /// Metadata version of the local copy; sent with every shard write so an
    /// owner can catch up before judging ownership.
    fn version(&self) -> u64;

    /// Syncs the local copy with the meta leader (after an owner reported
    /// stale routing).
    fn refresh(&self) -> PortFuture<'_, Result<(), MetaError>>;

    /// The shard `id` as the local copy knows it now (owners may have
    /// changed), or `None` when it no longer exists.
    fn shard(&self, id: ShardId) -> Option<Shard>;
}

/// One shard write sent to one owner.
#[derive(Debug, Clone)]
pub struct ShardWrite {
    pub shard: ShardId,
    pub meta_version: u64,
    pub version: Version,
    pub points: Arc<PointsBuf>,
}

/// An owner's acknowledgement: the batch is on its disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerAck {
    /// The owner's hybrid clock reading, merged into ours.
    pub hlc_ns: u64,
}

/// Why one owner did not acknowledge a shard write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    /// The owner dropped some or all of the points (field type conflicts
    /// with what the shard holds); never retried or hinted.
    #[error("partial write: {reason} dropped={dropped}")]
    PartialWrite { reason: String, dropped: usize },
    /// The owner's metadata says it does not own the shard (yet): refresh
    /// and retry once.
    #[error("stale routing for shard {0}")]
    StaleRouting(ShardId),
    /// The shard was deleted (retention): refresh and retry once.
    #[error("shard {0} is pending deletion")]
    ShardDeleted(ShardId),
    /// The owner's cache is full; retryable.
    #[error("cache-max-memory-size exceeded")]
    CacheFull,
    /// The owner could not be reached or failed transiently; retryable.
    #[error("{0}")]
    Unavailable(String),
    /// The circuit breaker holds the node down; retryable, nothing was sent.
    #[error("node {0} is down")]
    NodeDown(NodeId),
    /// The byte budget towards the node is spent; retryable, nothing was
    /// sent.
    #[error("node {0} is overloaded")]
    Overloaded(NodeId),
    /// The owner answered with an error that retrying cannot fix (bad
    /// request, oversize message, ...).
    #[error("{0}")]
    Rejected(String),
}

impl OwnerError {
    /// Data-level errors: the points themselves are at fault, so they are
    /// reported to the client (400) and never retried or hinted.
    pub fn is_data_error(&self) -> bool {
        matches!(self, OwnerError::PartialWrite { .. })
    }

    /// Errors a later retry (hinted handoff) can fix.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            OwnerError::CacheFull
                | OwnerError::Unavailable(_)
                | OwnerError::NodeDown(_)
                | OwnerError::Overloaded(_)
        )
    }

    /// Errors that mean our routing is out of date.
    pub fn needs_refresh(&self) -> bool {
        matches!(self, OwnerError::StaleRouting(_) | OwnerError::ShardDeleted(_))
    }
}

/// Sends shard writes to owners. The implementation writes to the local
/// storage when `node` is this node (through the same checks as the gRPC
/// service) and over gRPC otherwise.
pub trait OwnerTransport: Send + Sync + 'static {
    fn write_shard(
        &self,
        node: NodeId,
        write: ShardWrite,
    ) -> PortFuture<'static, Result<OwnerAck, OwnerError>>;
}
