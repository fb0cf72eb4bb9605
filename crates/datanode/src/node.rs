//! The data node's request handling, shared by the gRPC service and by a
//! coordinator writing to its own node: one code path, the same checks, the
//! same fsync before the ack.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_model::{NodeId, PointsBuf, ShardId, Version};
use tandem_storage::{ShardDigest, ShardInfo, ShardStore, StorageError, TimeRange};

use crate::error::DataError;
use crate::ownership::{Ownership, OwnershipView};

/// How long a write waits for the local metadata to reach the version the
/// coordinator routed with before answering `Unavailable`.
const META_CATCH_UP: Duration = Duration::from_secs(2);

/// A successful shard write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub written: usize,
    /// This node's clock when the write was durable.
    pub hlc_ns: u64,
}

/// A clock reading source (the node's hybrid clock when it also
/// coordinates, the wall clock otherwise).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// One data node: its store, its identity and its view of ownership.
#[derive(Clone)]
pub struct DataNode {
    node: NodeId,
    store: Arc<dyn ShardStore>,
    ownership: Arc<dyn OwnershipView>,
    clock: Clock,
}

impl std::fmt::Debug for DataNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataNode")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// The wall clock in ns.
pub fn wall_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, DataError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(DataError::from),
        Err(e) => Err(DataError::Unavailable(format!("storage task failed: {e}"))),
    }
}

impl DataNode {
    pub fn new(
        node: NodeId,
        store: Arc<dyn ShardStore>,
        ownership: Arc<dyn OwnershipView>,
        clock: Clock,
    ) -> Self {
        Self {
            node,
            store,
            ownership,
            clock,
        }
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    pub fn store(&self) -> &Arc<dyn ShardStore> {
        &self.store
    }

    pub fn ownership(&self) -> &Arc<dyn OwnershipView> {
        &self.ownership
    }

    /// Stores a batch. A shard not yet on this node is created only if the
    /// local metadata, caught up to `meta_version`, lists this node as an
    /// owner; a tombstoned shard is never recreated.
    pub async fn write_shard(
        &self,
        shard: ShardId,
        meta_version: u64,
        version: Version,
        points: &PointsBuf,
    ) -> Result<Stored, DataError> {
        let first = self.store.write(shard, version, points).await;
        let outcome = match first {
            Err(StorageError::ShardNotFound(_)) => {
                self.create_if_owner(shard, meta_version).await?;
                self.store.write(shard, version, points).await
            }
            other => other,
        };
        let written = outcome
            .map_err(DataError::from)?
            .into_result()
            .map_err(DataError::from)?;
        Ok(Stored {
            written,
            hlc_ns: (self.clock)(),
        })
    }

    async fn create_if_owner(&self, shard: ShardId, meta_version: u64) -> Result<(), DataError> {
        if self.ownership.version() < meta_version
            && !self.ownership.wait_for_version(meta_version, META_CATCH_UP).await
        {
            return Err(DataError::Unavailable(format!(
                "metadata at version {} has not caught up with {meta_version}",
                self.ownership.version()
            )));
        }
        match self.ownership.ownership(shard, self.node) {
            Ownership::Owner => {
                let store = Arc::clone(&self.store);
                blocking(move || store.create_shard(shard)).await
            }
            Ownership::Deleted => Err(DataError::ShardDeleted(shard)),
            Ownership::NotOwner | Ownership::Unknown => Err(DataError::StaleRouting(shard)),
        }
    }

    /// Creates a shard unconditionally (operator or copy-shard request).
    pub async fn create_shard(&self, shard: ShardId) -> Result<(), DataError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.create_shard(shard)).await
    }

    /// Tombstones and removes a shard.
    pub async fn delete_shard(&self, shard: ShardId) -> Result<(), DataError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.delete_shard(shard)).await
    }

    /// Status of the given shards (all local shards when empty), plus the
    /// requested ones this node does not hold.
    pub async fn shard_info(
        &self,
        shards: Vec<ShardId>,
    ) -> Result<(Vec<ShardInfo>, Vec<ShardId>), DataError> {
        let store = Arc::clone(&self.store);
        blocking(move || {
            let wanted = if shards.is_empty() { store.shards() } else { shards };
            let missing = store.missing_shards(&wanted);
            let mut infos = Vec::with_capacity(wanted.len());
            for s in wanted.iter().filter(|s| !missing.contains(s)) {
                match store.shard_info(*s) {
                    Ok(i) => infos.push(i),
                    // Deleted between the listing and now.
                    Err(StorageError::ShardNotFound(_) | StorageError::ShardDeleted(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok((infos, missing))
        })
        .await
    }

    pub async fn digest(&self, shard: ShardId, bucket: Duration) -> Result<ShardDigest, DataError> {
        let store = Arc::clone(&self.store);
        blocking(move || store.digest(shard, bucket)).await
    }

    /// Streams this node's copy of a shard as versioned rows (`PointsBuf`
    /// format 2), for merging with other owners' copies.
    pub fn export_rows(
        &self,
        shard: ShardId,
        range: TimeRange,
    ) -> tokio::sync::mpsc::Receiver<Result<PointsBuf, DataError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || match store.export_rows(shard, range) {
            Err(e) => {
                let _ = tx.blocking_send(Err(e.into()));
            }
            Ok(rows) => {
                for chunk in rows {
                    if tx.blocking_send(chunk.map_err(DataError::from)).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// Streams a shard's points as line protocol (this node's copy only).
    pub fn export_lines(
        &self,
        shard: ShardId,
        range: TimeRange,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<u8>, DataError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let stream = match store.export(shard, range) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.into()));
                    return;
                }
            };
            for chunk in stream {
                if tx.blocking_send(chunk.map_err(DataError::from)).is_err() {
                    return;
                }
            }
        });
        rx
    }
}
