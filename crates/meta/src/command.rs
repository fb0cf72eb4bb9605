//! The raft command set: every change to the metadata is one [`Command`],
//! applied deterministically by [`MetaState::apply`](crate::MetaState).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_model::{NodeId, ShardGroupId};

use crate::MetaError;
use crate::state::{
    FieldConflict, FieldRegistration, MetaEndpoints, NodeRegistration, Privilege, RetentionPolicySpec,
    RetentionPolicyUpdate, ShardGroupInfo, TokenInfo,
};

/// One change to the metadata. Commands carry everything `apply` needs
/// (hashes, clock readings, defaults), so applying one never looks at the
/// local clock, config or randomness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Sets the cluster's random id once; later proposals are no-ops.
    SetClusterId {
        cluster_id: String,
    },
    /// Internal: produced by the state machine from a raft membership entry.
    /// Clients cannot propose it.
    SyncMetaMembers {
        members: BTreeMap<NodeId, MetaEndpoints>,
    },
    /// A data or write node announces itself; the output is its id.
    RegisterNode(NodeRegistration),
    SetNodeLabels {
        node: NodeId,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    /// Removes a data/write node (not a meta member) and retires its id.
    RemoveNode {
        node: NodeId,
    },
    /// `CREATE DATABASE [WITH ...]`. `default_replication_factor` is filled
    /// in by the meta service from its config when the client sends 0.
    CreateDatabase {
        name: String,
        retention_policy: Option<RetentionPolicySpec>,
        default_replication_factor: u32,
    },
    DropDatabase {
        name: String,
    },
    CreateRetentionPolicy {
        database: String,
        spec: RetentionPolicySpec,
        make_default: bool,
        default_replication_factor: u32,
    },
    AlterRetentionPolicy {
        database: String,
        name: String,
        update: RetentionPolicyUpdate,
    },
    DropRetentionPolicy {
        database: String,
        name: String,
    },
    /// The groups containing these timestamps, created when missing (owners
    /// computed inside apply). Output: the distinct groups.
    CreateShardGroupIfAbsent {
        database: String,
        retention_policy: String,
        timestamps: Vec<i64>,
    },
    /// influxd's shard pre-creation for the window `(from, to)` (ns).
    PrecreateShardGroups {
        from: i64,
        to: i64,
    },
    /// Retention enforcement at `now` (ns).
    DeleteExpiredShardGroups {
        now: i64,
    },
    /// Batched field-type registration; output: the conflicts.
    RegisterFields {
        fields: Vec<FieldRegistration>,
    },
    CreateUser {
        name: String,
        password_hash: String,
        admin: bool,
    },
    DropUser {
        name: String,
    },
    SetPassword {
        name: String,
        password_hash: String,
    },
    SetAdmin {
        name: String,
        admin: bool,
    },
    SetPrivilege {
        name: String,
        database: String,
        privilege: Privilege,
    },
    CreateToken(TokenInfo),
    DeleteToken {
        id: String,
    },
}

impl Command {
    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetClusterId { .. } => "set_cluster_id",
            Command::SyncMetaMembers { .. } => "sync_meta_members",
            Command::RegisterNode(_) => "register_node",
            Command::SetNodeLabels { .. } => "set_node_labels",
            Command::RemoveNode { .. } => "remove_node",
            Command::CreateDatabase { .. } => "create_database",
            Command::DropDatabase { .. } => "drop_database",
            Command::CreateRetentionPolicy { .. } => "create_retention_policy",
            Command::AlterRetentionPolicy { .. } => "alter_retention_policy",
            Command::DropRetentionPolicy { .. } => "drop_retention_policy",
            Command::CreateShardGroupIfAbsent { .. } => "create_shard_group_if_absent",
            Command::PrecreateShardGroups { .. } => "precreate_shard_groups",
            Command::DeleteExpiredShardGroups { .. } => "delete_expired_shard_groups",
            Command::RegisterFields { .. } => "register_fields",
            Command::CreateUser { .. } => "create_user",
            Command::DropUser { .. } => "drop_user",
            Command::SetPassword { .. } => "set_password",
            Command::SetAdmin { .. } => "set_admin",
            Command::SetPrivilege { .. } => "set_privilege",
            Command::CreateToken(_) => "create_token",
            Command::DeleteToken { .. } => "delete_token",
        }
    }

    /// Whether only the state machine may produce this command.
    pub fn is_internal(&self) -> bool {
        matches!(self, Command::SyncMetaMembers { .. })
    }

    /// Fills the defaults a client leaves to the meta service's config.
    pub(crate) fn fill_defaults(&mut self, default_replication_factor: u32) {
        match self {
            Command::CreateDatabase {
                default_replication_factor: rf,
                ..
            }
            | Command::CreateRetentionPolicy {
                default_replication_factor: rf,
                ..
            } if *rf == 0 => {
                *rf = default_replication_factor.max(1);
            }
            _ => {}
        }
    }
}

/// What a successful command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandOutput {
    Done,
    NodeId(NodeId),
    ShardGroups(Vec<Arc<ShardGroupInfo>>),
    FieldConflicts(Vec<FieldConflict>),
    DeletedShardGroups(Vec<ShardGroupId>),
}

/// A command as it travels through raft, with the id the state machine uses
/// to answer a retried proposal with the first answer instead of applying it
/// twice (0 disables that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub request_id: u64,
    pub command: Command,
}

/// The state machine's answer to one log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReply {
    /// The metadata version after the entry was applied.
    pub version: u64,
    pub result: Result<CommandOutput, MetaError>,
}
