//! The meta client as the coordinator's [`Metadata`] and the data node's
//! [`OwnershipView`].

use std::time::Duration;

use tandem_coordinator::ports::{
    self, FieldRegistration, Metadata, PortFuture, RetentionPolicy, Shard, ShardGroup,
};
use tandem_datanode::ownership::{self, Ownership, OwnershipView};
use tandem_meta::{MetaClient, MetaError, ShardGroupInfo};
use tandem_model::{FieldType, NodeId, ShardGroupId, ShardId};

/// Adapter over a [`MetaClient`].
#[derive(Clone, Debug)]
pub struct MetaPorts {
    client: MetaClient,
}

impl MetaPorts {
    pub fn new(client: MetaClient) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &MetaClient {
        &self.client
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Meta errors as the write path reports them.
pub fn write_path_error(e: MetaError) -> ports::MetaError {
    match e {
        MetaError::DatabaseNotFound(db) => ports::MetaError::DatabaseNotFound(db),
        MetaError::RetentionPolicyNotFound(rp) => ports::MetaError::RetentionPolicyNotFound(rp),
        other => ports::MetaError::Unavailable(other.to_string()),
    }
}

fn group(g: &ShardGroupInfo) -> ShardGroup {
    ShardGroup {
        id: g.id,
        start_ns: g.start,
        end_ns: g.end,
        shards: g
            .shards
            .iter()
            .map(|s| Shard {
                id: s.id,
                owners: s.owners.clone(),
            })
            .collect(),
    }
}

impl Metadata for MetaPorts {
    fn retention_policy<'a>(
        &'a self,
        db: &'a str,
        rp: Option<&'a str>,
    ) -> PortFuture<'a, Result<RetentionPolicy, ports::MetaError>> {
        Box::pin(async move {
            let p = self
                .client
                .retention_policy(db, rp)
                .await
                .map_err(write_path_error)?;
            Ok(RetentionPolicy {
                name: p.name.clone(),
                duration_ns: nanos(p.duration),
                shard_group_duration_ns: nanos(p.shard_group_duration),
                replication: p.replication_factor,
            })
        })
    }

    fn shard_groups<'a>(
        &'a self,
        db: &'a str,
        rp: &'a str,
        starts: &'a [i64],
    ) -> PortFuture<'a, Result<Vec<ShardGroup>, ports::MetaError>> {
        Box::pin(async move {
            let groups = self
                .client
                .shard_groups_for(db, rp, starts)
                .await
                .map_err(write_path_error)?;
            Ok(groups.iter().map(|g| group(g)).collect())
        })
    }

    fn field_type(&self, group: ShardGroupId, measurement: &str, field: &str) -> Option<FieldType> {
        self.client.state().field_type(group, measurement, field)
    }

    fn register_fields<'a>(
        &'a self,
        fields: Vec<FieldRegistration>,
    ) -> PortFuture<'a, Result<Vec<FieldType>, ports::MetaError>> {
        Box::pin(async move {
            let regs: Vec<tandem_meta::FieldRegistration> = fields
                .iter()
                .map(|f| tandem_meta::FieldRegistration {
                    shard_group: f.group,
                    measurement: f.measurement.clone(),
                    field: f.field.clone(),
                    field_type: f.field_type,
                })
                .collect();
            let conflicts = self
                .client
                .register_fields(&regs)
                .await
                .map_err(write_path_error)?;
            // Registered as asked, unless the registry already had another
            // type for the field.
            Ok(fields
                .iter()
                .map(|f| {
                    conflicts
                        .iter()
                        .find(|c| {
                            c.shard_group == f.group && c.measurement == f.measurement && c.field == f.field
                        })
                        .map_or(f.field_type, |c| c.existing)
                })
                .collect())
        })
    }

    fn version(&self) -> u64 {
        self.client.version()
    }

    fn refresh(&self) -> PortFuture<'_, Result<(), ports::MetaError>> {
        Box::pin(async move { self.client.sync().await.map(|_| ()).map_err(write_path_error) })
    }

    fn shard(&self, id: ShardId) -> Option<Shard> {
        let state = self.client.state();
        state.shard(id).map(|(_, s)| Shard {
            id: s.id,
            owners: s.owners.clone(),
        })
    }
}

impl OwnershipView for MetaPorts {
    fn version(&self) -> u64 {
        self.client.version()
    }

    fn wait_for_version(&self, version: u64, limit: Duration) -> ownership::PortFuture<'_, bool> {
        Box::pin(async move {
            matches!(
                tokio::time::timeout(limit, self.client.wait_for_version(version)).await,
                Ok(Ok(_))
            )
        })
    }

    fn ownership(&self, shard: ShardId, node: NodeId) -> Ownership {
        let state = self.client.state();
        if state.is_shard_tombstoned(shard) {
            return Ownership::Deleted;
        }
        match state.shard(shard) {
            Some((_, s)) if s.owners.contains(&node) => Ownership::Owner,
            Some(_) => Ownership::NotOwner,
            None => Ownership::Unknown,
        }
    }

    fn data_address(&self, node: NodeId) -> Option<String> {
        let state = self.client.state();
        let info = state.node(node)?;
        info.data
            .as_ref()
            .map(|d| d.rpc_addr.clone())
            .filter(|a| !a.is_empty())
    }
}
