//! tandem's cluster metadata: the raft-replicated meta service and the
//! client every other role uses.
//!
//! # What is here
//!
//! - [`MetaState`]: the whole metadata at one version — nodes, databases,
//!   retention policies, shard groups with their owners, the field-type
//!   registry, users and tokens — changed only by [`Command`]s applied
//!   deterministically (owners are computed inside apply).
//! - [`MetaServer`] / [`run_meta_server`]: one meta node (openraft with a
//!   redb store; raft RPCs on 8089, the meta API on 8091).
//! - [`MetaClient`]: a local, persisted, versioned copy of the metadata kept
//!   current by a watch stream, plus every operation other roles need.
//!
//! # Boundaries
//!
//! openraft and protobuf stay inside this crate: other crates use
//! [`MetaClient`], [`MetaState`] and the plain types re-exported here. No
//! other crate may depend on openraft.

mod client;
mod command;
mod config;
mod credentials;
mod durable_file;
mod error;
mod grpc;
mod raft;
mod server;
mod shutdown;
mod state;

pub use client::{AuthenticatedUser, MetaClient};
pub use command::{Command, CommandOutput, CommandReply, Proposal};
pub use config::{MetaClientConfig, MetaClientOptions, MetaMember, MetaOptions, MetaServerConfig};
pub use credentials::{hash_password, load_or_create_node_uuid, token_id, verify_password};
pub use error::MetaError;
pub use server::{ClusterStatus, MetaServer, run_meta_server};
pub use state::*;
pub use tandem_model::{NodeId, ShardGroupId, ShardId};
