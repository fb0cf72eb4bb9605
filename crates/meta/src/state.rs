//! The replicated metadata: one value, changed only by [`Command`]s.
//!
//! Invariants:
//! - `apply` is deterministic: it reads only the state and the command.
//! - `apply` is atomic: a failing command changes nothing.
//! - `version` grows by exactly one per command that changed something, so
//!   a copy at version `v` plus the change to `v + 1` is the state at `v + 1`.
//! - ids (nodes, shard groups, shards) only grow and are never reused;
//!   deleted shard ids are tombstoned.
//!
//! Big maps hold `Arc`s so that publishing a snapshot after every batch and
//! copying the state for an atomic apply stay cheap.

mod databases;
mod fields;
mod nodes;
mod placement;
mod shard_groups;
mod users;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_model::{NodeId, ShardGroupId, ShardId};

pub use databases::{
    AUTOGEN, DatabaseInfo, MIN_RETENTION_DURATION, RetentionPolicyInfo, RetentionPolicySpec,
    RetentionPolicyUpdate, default_shard_group_duration, normalized_shard_group_duration, valid_name,
};
pub use fields::{FieldConflict, FieldRegistration, GroupFieldTypes};
pub use nodes::{DataEndpoints, MetaEndpoints, NodeInfo, NodeRegistration, ZONE_LABEL};
pub use shard_groups::{MAX_TIME_NS, MIN_TIME_NS, ShardGroupInfo, ShardInfo, align_to_group};
pub use users::{Privilege, TokenInfo, UserInfo};

use crate::MetaError;
use crate::command::{Command, CommandOutput};
use shard_groups::GroupLocation;

/// The whole cluster metadata at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaState {
    version: u64,
    cluster_id: String,
    nodes: BTreeMap<NodeId, Arc<NodeInfo>>,
    next_node_id: u32,
    retired_node_ids: BTreeSet<NodeId>,
    databases: BTreeMap<String, Arc<DatabaseInfo>>,
    next_shard_group_id: u64,
    next_shard_id: u64,
    /// Groups ever created; rotates the starting node of placement.
    groups_created: u64,
    shard_groups: BTreeMap<ShardGroupId, GroupLocation>,
    shards: BTreeMap<ShardId, ShardGroupId>,
    tombstoned_shards: BTreeSet<ShardId>,
    fields: BTreeMap<ShardGroupId, Arc<GroupFieldTypes>>,
    users: BTreeMap<String, Arc<UserInfo>>,
    tokens: BTreeMap<String, Arc<TokenInfo>>,
}

impl MetaState {
    /// The metadata version: the number of committed changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The cluster's random id (empty until the first leader set it).
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Applies one command. On success with a change, the version grows by
    /// one; on error nothing changes.
    pub(crate) fn apply(&mut self, command: &Command) -> Result<CommandOutput, MetaError> {
        let mut next = self.clone();
        let (output, changed) = next.apply_inner(command)?;
        if changed {
            next.version = self.version + 1;
            *self = next;
        }
        Ok(output)
    }

    fn apply_inner(&mut self, command: &Command) -> Result<(CommandOutput, bool), MetaError> {
        use CommandOutput::Done;
        Ok(match command {
            Command::SetClusterId { cluster_id } => {
                let changed = self.cluster_id.is_empty() && !cluster_id.is_empty();
                if changed {
                    self.cluster_id.clone_from(cluster_id);
                }
                (Done, changed)
            }
            Command::SyncMetaMembers { members } => (Done, self.sync_meta_members(members)),
            Command::RegisterNode(reg) => {
                let (id, changed) = self.register_node(reg)?;
                (CommandOutput::NodeId(id), changed)
            }
            Command::SetNodeLabels { node, set, remove } => (Done, self.set_node_labels(*node, set, remove)?),
            Command::RemoveNode { node } => (Done, self.remove_node(*node)?),
            Command::CreateDatabase {
                name,
                retention_policy,
                default_replication_factor,
            } => (
                Done,
                self.create_database(name, retention_policy.as_ref(), *default_replication_factor)?,
            ),
            Command::DropDatabase { name } => (Done, self.drop_database(name)),
            Command::CreateRetentionPolicy {
                database,
                spec,
                make_default,
                default_replication_factor,
            } => (
                Done,
                self.create_retention_policy(database, spec, *make_default, *default_replication_factor)?,
            ),
            Command::AlterRetentionPolicy {
                database,
                name,
                update,
            } => (Done, self.alter_retention_policy(database, name, update)?),
            Command::DropRetentionPolicy { database, name } => {
                (Done, self.drop_retention_policy(database, name)?)
            }
            Command::CreateShardGroupIfAbsent {
                database,
                retention_policy,
                timestamps,
            } => {
                let (groups, changed) = self.create_shard_groups(database, retention_policy, timestamps)?;
                (CommandOutput::ShardGroups(groups), changed)
            }
            Command::PrecreateShardGroups { from, to } => {
                let (groups, changed) = self.precreate_shard_groups(*from, *to);
                (CommandOutput::ShardGroups(groups), changed)
            }
            Command::DeleteExpiredShardGroups { now } => {
                let (deleted, changed) = self.delete_expired_shard_groups(*now);
                (CommandOutput::DeletedShardGroups(deleted), changed)
            }
            Command::RegisterFields { fields } => {
                let (conflicts, changed) = self.register_fields(fields)?;
                (CommandOutput::FieldConflicts(conflicts), changed)
            }
            Command::CreateUser {
                name,
                password_hash,
                admin,
            } => (Done, self.create_user(name, password_hash, *admin)?),
            Command::DropUser { name } => (Done, self.drop_user(name)?),
            Command::SetPassword { name, password_hash } => (Done, self.set_password(name, password_hash)?),
            Command::SetAdmin { name, admin } => (Done, self.set_admin(name, *admin)?),
            Command::SetPrivilege {
                name,
                database,
                privilege,
            } => (Done, self.set_privilege(name, database, *privilege)?),
            Command::CreateToken(token) => (Done, self.create_token(token)?),
            Command::DeleteToken { id } => (Done, self.delete_token(id)?),
        })
    }
}

#[cfg(test)]
mod tests;
