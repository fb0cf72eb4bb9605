//! The one error type of this crate.
//!
//! Texts follow InfluxDB 1.x where influxd has one, so the HTTP layer can put
//! them in `{"error": ...}` bodies unchanged. The type is serde so the meta
//! service can return it to clients exactly as the state machine produced it.

use serde::{Deserialize, Serialize};
use tandem_model::{FieldType, NodeId, ShardGroupId};

/// Everything that can go wrong in the meta service or its client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MetaError {
    // ---- databases and retention policies (influxd's texts) ----
    /// `CREATE DATABASE ""`.
    #[error("database name required")]
    DatabaseNameRequired,
    /// Unknown database (HTTP 404 on `/write`).
    #[error("database not found: {0:?}")]
    DatabaseNotFound(String),
    /// Unknown retention policy.
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    #[error("retention policy name required")]
    RetentionPolicyNameRequired,
    /// A policy of that name exists with different parameters.
    #[error("retention policy already exists")]
    RetentionPolicyExists,
    /// `CREATE DATABASE ... WITH ...` on an existing database whose policy differs.
    #[error("retention policy conflicts with an existing policy")]
    RetentionPolicyConflict,
    #[error("retention policy duration must be at least 1h0m0s")]
    RetentionPolicyDurationTooLow,
    #[error("retention policy duration must be greater than the shard duration")]
    IncompatibleDurations,
    #[error("replication factor must be greater than 0")]
    ReplicationFactorTooLow,
    /// Database or policy names: not empty, not `.`/`..`, no `/` or `\`,
    /// printable characters only.
    #[error("invalid name")]
    InvalidName,

    // ---- shard groups and fields ----
    /// A shard group needs at least one non-passive data node to own it.
    #[error("no data nodes available to own shards")]
    NoDataNodes,
    #[error("shard group not found: {0}")]
    ShardGroupNotFound(ShardGroupId),
    /// A timestamp outside the range influxd accepts.
    #[error("time outside range -9223372036854775806 - 9223372036854775806")]
    TimeOutOfRange,
    /// One field registration names a type that conflicts with the registry.
    /// Returned by callers that want a single error; the registry itself
    /// reports conflicts as data ([`crate::FieldConflict`]).
    #[error(
        "field type conflict: input field \"{field}\" on measurement \"{measurement}\" is type {requested}, already exists as type {existing}"
    )]
    FieldTypeConflict {
        measurement: String,
        field: String,
        requested: FieldType,
        existing: FieldType,
    },

    // ---- users, privileges, tokens ----
    #[error("username required")]
    UsernameRequired,
    #[error("user already exists")]
    UserExists,
    #[error("user not found")]
    UserNotFound,
    /// Bad user name, password or token (the text does not tell which).
    #[error("authorization failed")]
    AuthenticationFailed,
    /// The user lacks the privilege for the database.
    #[error("{user:?} user is not authorized to {action} database {database:?}")]
    NotAuthorized {
        user: String,
        action: String,
        database: String,
    },
    #[error("token not found")]
    TokenNotFound,
    #[error("token already exists")]
    TokenExists,
    #[error("password hashing failed: {0}")]
    PasswordHash(String),

    // ---- nodes and membership ----
    #[error("node not found: {0}")]
    NodeNotFound(NodeId),
    /// Node ids are never reused: a removed id cannot come back.
    #[error("node id {0} was used by a removed node and cannot be reused")]
    NodeIdRetired(NodeId),
    /// The id belongs to a different node (another uuid).
    #[error("node id {0} is already taken by another node")]
    NodeIdTaken(NodeId),
    #[error("node uuid required")]
    NodeUuidRequired,
    /// Meta members leave through `remove_meta_node`, not `remove_node`.
    #[error("node {0} is a meta node; remove it from the meta cluster first")]
    IsMetaMember(NodeId),
    #[error("node {0} is already a meta node")]
    AlreadyMetaNode(NodeId),
    #[error("node {0} is not a meta node")]
    NotMetaNode(NodeId),
    /// Removing the node would leave no voter.
    #[error("cannot remove the last meta node")]
    LastMetaNode,
    /// A command only the state machine may produce was proposed by a client.
    #[error("command {0} is internal and cannot be proposed")]
    InternalCommand(String),

    // ---- availability, transport, storage, config ----
    /// The meta service could not be reached, has no leader, or did not
    /// answer in time. Retrying later may succeed.
    #[error("meta service unavailable: {0}")]
    Unavailable(String),
    /// A meta node could not be reached at all (a transport failure, not
    /// an answer). Retriable. The client reports it as [`Unavailable`]
    /// once every endpoint has been tried, naming no address, so the text
    /// a client sees does not depend on which node was tried last.
    ///
    /// [`Unavailable`]: MetaError::Unavailable
    #[error("meta service unavailable: {0}")]
    Unreachable(String),
    /// A shared-secret mismatch between this node and the meta service.
    #[error("meta service rejected the cluster secret")]
    Unauthenticated,
    /// The peer speaks a wire format this build cannot read.
    #[error("incompatible meta wire format: {0}")]
    Wire(String),
    /// Local disk or raft storage failed.
    #[error("meta storage error: {0}")]
    Storage(String),
    /// Invalid configuration.
    #[error("invalid meta configuration: {0}")]
    Config(String),
    /// The raft core stopped (fatal error or shutdown).
    #[error("meta raft stopped: {0}")]
    Stopped(String),
}

impl MetaError {
    /// Whether retrying the same request later may succeed (leader change,
    /// unreachable meta node, timeout).
    pub fn is_retriable(&self) -> bool {
        matches!(self, MetaError::Unavailable(_) | MetaError::Unreachable(_))
    }

    /// Whether the error says a named database, retention policy or shard
    /// group does not exist (what a lookup miss retries after a sync).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            MetaError::DatabaseNotFound(_)
                | MetaError::RetentionPolicyNotFound(_)
                | MetaError::ShardGroupNotFound(_)
                | MetaError::UserNotFound
        )
    }

    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        MetaError::Storage(e.to_string())
    }

    pub(crate) fn wire(e: impl std::fmt::Display) -> Self {
        MetaError::Wire(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn influx_texts() {
        let cases: &[(MetaError, &str)] = &[
            (
                MetaError::DatabaseNotFound("db".into()),
                r#"database not found: "db""#,
            ),
            (
                MetaError::RetentionPolicyNotFound("rp".into()),
                "retention policy not found: rp",
            ),
            (
                MetaError::RetentionPolicyExists,
                "retention policy already exists",
            ),
            (MetaError::UserNotFound, "user not found"),
            (MetaError::UserExists, "user already exists"),
            (MetaError::AuthenticationFailed, "authorization failed"),
            (
                MetaError::NotAuthorized {
                    user: "bob".into(),
                    action: "write to".into(),
                    database: "db".into(),
                },
                r#""bob" user is not authorized to write to database "db""#,
            ),
            (
                MetaError::FieldTypeConflict {
                    measurement: "cpu".into(),
                    field: "value".into(),
                    requested: FieldType::Integer,
                    existing: FieldType::Float,
                },
                r#"field type conflict: input field "value" on measurement "cpu" is type integer, already exists as type float"#,
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), *text);
        }
    }

    #[test]
    fn serde_round_trip() {
        let e = MetaError::NodeIdRetired(NodeId(7));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<MetaError>(&json).unwrap(), e);
    }
}
