//! The data node's service and the client coordinators use to reach it.
//!
//! - [`DataNode`]: request handling over a [`tandem_storage::ShardStore`]:
//!   ownership checks against the local metadata view (a shard is created
//!   on write only if this node owns it once caught up to the coordinator's
//!   metadata version; tombstoned ids are never recreated), and the
//!   durable write.
//! - [`service`]: the gRPC data service (port 8088) over a `DataNode`,
//!   behind the cluster-secret check.
//! - [`client::DataClient`]: the coordinator's
//!   [`tandem_coordinator::ports::OwnerTransport`]: its own node through the
//!   same `DataNode` code path, other nodes over pooled gRPC channels.
//!
//! Architecture invariant: this crate and `tandem-proto` are the only ones
//! that see the data service's protobuf messages; the coordinator sees
//! `OwnerError`s, the storage engine sees `PointsBuf`s.

pub mod client;
mod error;
mod node;
pub mod ownership;
pub mod service;
pub mod tls;

pub use error::DataError;
pub use node::{Clock, DataNode, Stored, wall_clock};
