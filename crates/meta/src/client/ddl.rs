//! Database, retention-policy, node and meta-membership operations of
//! [`MetaClient`]. Each returns after the local copy has the change.

use std::collections::BTreeMap;
use std::sync::Arc;

use tandem_model::ShardGroupId;
use tandem_proto::WIRE_VERSION;
use tandem_proto::meta::{AddMetaNodeRequest, RemoveMetaNodeRequest};

use super::MetaClient;
use crate::command::{Command, CommandOutput};
use crate::grpc::{read_error_field, status_error};
use crate::state::{
    DatabaseInfo, MetaEndpoints, NodeInfo, NodeRegistration, RetentionPolicyInfo, RetentionPolicySpec,
    RetentionPolicyUpdate, ShardGroupInfo,
};
use crate::{MetaError, NodeId};

impl MetaClient {
    /// `CREATE DATABASE name [WITH ...]`. Without a policy the database gets
    /// `autogen` (infinite, default replication factor). Creating an
    /// existing database is a no-op unless the policy conflicts.
    pub async fn create_database(
        &self,
        name: &str,
        policy: Option<RetentionPolicySpec>,
    ) -> Result<Arc<DatabaseInfo>, MetaError> {
        self.propose(Command::CreateDatabase {
            name: name.to_owned(),
            retention_policy: policy,
            default_replication_factor: 0,
        })
        .await?;
        self.state().database(name).cloned()
    }

    /// `DROP DATABASE name` (no error when it does not exist).
    pub async fn drop_database(&self, name: &str) -> Result<(), MetaError> {
        self.propose(Command::DropDatabase {
            name: name.to_owned(),
        })
        .await
        .map(drop)
    }

    /// `CREATE RETENTION POLICY` (a replication factor of `None` takes the
    /// cluster default).
    pub async fn create_retention_policy(
        &self,
        database: &str,
        spec: RetentionPolicySpec,
        make_default: bool,
    ) -> Result<Arc<RetentionPolicyInfo>, MetaError> {
        let name = spec.name.clone();
        self.propose(Command::CreateRetentionPolicy {
            database: database.to_owned(),
            spec,
            make_default,
            default_replication_factor: 0,
        })
        .await?;
        self.state().retention_policy(database, Some(&name)).cloned()
    }

    /// `ALTER RETENTION POLICY`.
    pub async fn alter_retention_policy(
        &self,
        database: &str,
        name: &str,
        update: RetentionPolicyUpdate,
    ) -> Result<Arc<RetentionPolicyInfo>, MetaError> {
        self.propose(Command::AlterRetentionPolicy {
            database: database.to_owned(),
            name: name.to_owned(),
            update,
        })
        .await?;
        self.state().retention_policy(database, Some(name)).cloned()
    }

    /// `DROP RETENTION POLICY` (no error when it does not exist).
    pub async fn drop_retention_policy(&self, database: &str, name: &str) -> Result<(), MetaError> {
        self.propose(Command::DropRetentionPolicy {
            database: database.to_owned(),
            name: name.to_owned(),
        })
        .await
        .map(drop)
    }

    /// Runs shard pre-creation for the window `(from, to)` now instead of
    /// waiting for the leader's timer; returns the groups created.
    pub async fn precreate_shard_groups(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<Arc<ShardGroupInfo>>, MetaError> {
        match self.propose(Command::PrecreateShardGroups { from, to }).await? {
            CommandOutput::ShardGroups(g) => Ok(g),
            other => Err(MetaError::Wire(format!("unexpected reply {other:?}"))),
        }
    }

    /// Runs retention enforcement at `now` (ns) instead of waiting for the
    /// leader's timer; returns the deleted groups.
    pub async fn delete_expired_shard_groups(&self, now: i64) -> Result<Vec<ShardGroupId>, MetaError> {
        match self.propose(Command::DeleteExpiredShardGroups { now }).await? {
            CommandOutput::DeletedShardGroups(g) => Ok(g),
            other => Err(MetaError::Wire(format!("unexpected reply {other:?}"))),
        }
    }

    // ---- nodes ----

    /// Every node in the local copy, in id order.
    pub fn nodes(&self) -> Vec<Arc<NodeInfo>> {
        self.state().nodes().cloned().collect()
    }

    /// Registers (or updates) this process as a data or write node and
    /// returns its id. Idempotent per uuid.
    pub async fn register_node(&self, registration: NodeRegistration) -> Result<NodeId, MetaError> {
        match self.propose(Command::RegisterNode(registration)).await? {
            CommandOutput::NodeId(id) => Ok(id),
            other => Err(MetaError::Wire(format!("unexpected reply {other:?}"))),
        }
    }

    /// Sets and removes node labels (such as `zone`).
    pub async fn set_node_labels(
        &self,
        node: NodeId,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> Result<(), MetaError> {
        self.propose(Command::SetNodeLabels { node, set, remove })
            .await
            .map(drop)
    }

    /// Removes a data or write node: it leaves every owner list and its id
    /// is never used again.
    pub async fn remove_node(&self, node: NodeId) -> Result<(), MetaError> {
        self.propose(Command::RemoveNode { node }).await.map(drop)
    }

    /// Adds a meta node (it must be running with this id and not be an
    /// initial member): first as a learner that catches up, then as a voter.
    pub async fn add_meta_node(&self, id: NodeId, endpoints: MetaEndpoints) -> Result<(), MetaError> {
        let deadline = self.deadline();
        self.shared
            .endpoints
            .call_with(deadline, self.shared.config.request_timeout(), |mut c| {
                let request = AddMetaNodeRequest {
                    wire_version: WIRE_VERSION,
                    id: id.0,
                    raft_addr: endpoints.raft_addr.clone(),
                    api_addr: endpoints.api_addr.clone(),
                    forwarded: false,
                };
                async move {
                    let reply = c
                        .add_meta_node(request)
                        .await
                        .map_err(|s| status_error(&s))?
                        .into_inner();
                    read_error_field(&reply.error)
                }
            })
            .await?;
        self.sync().await.map(drop)
    }

    /// Removes a meta node from the voters; its id is retired.
    pub async fn remove_meta_node(&self, id: NodeId) -> Result<(), MetaError> {
        let deadline = self.deadline();
        self.shared
            .endpoints
            .call_with(deadline, self.shared.config.request_timeout(), |mut c| {
                let request = RemoveMetaNodeRequest {
                    wire_version: WIRE_VERSION,
                    id: id.0,
                    forwarded: false,
                };
                async move {
                    let reply = c
                        .remove_meta_node(request)
                        .await
                        .map_err(|s| status_error(&s))?
                        .into_inner();
                    read_error_field(&reply.error)
                }
            })
            .await?;
        self.sync().await.map(drop)
    }
}
