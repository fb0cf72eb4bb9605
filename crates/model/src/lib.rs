//! The vocabulary every tandem crate speaks.
//!
//! This crate has no I/O and knows nothing of HTTP, protobuf, raft or disks. It
//! defines the plain values that cross crate boundaries:
//!
//! - [`NodeId`], [`ShardId`], [`ShardGroupId`]: identities, never reused.
//! - [`Version`]: the write version stamped once per batch by the accepting
//!   coordinator; storage keeps, per cell, the value with the largest version.
//! - [`FieldType`], [`FieldValue`]: line-protocol field values.
//! - [`ConsistencyLevel`]: `any | one | quorum | all` with Enterprise semantics.
//! - [`PointsBuf`] / [`PointsView`]: the compact, pre-parsed encoding of a batch
//!   of points for one shard, carried unchanged through gRPC, WAL and hinted
//!   handoff.

mod consistency;
pub mod convergence;
pub mod duration;
mod field;
mod ids;
mod points;
mod version;

pub use consistency::{ConsistencyLevel, InvalidConsistencyLevel};
pub use field::{FieldType, FieldValue, FieldValueRef};
pub use ids::{NodeId, ShardGroupId, ShardId};
pub use points::{DecodeError, FieldRef, PointRef, PointsBuf, PointsBufBuilder, PointsView};
pub use version::Version;
