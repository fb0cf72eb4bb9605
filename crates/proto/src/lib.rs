//! Generated gRPC code for tandem's internal services.
//!
//! Architecture invariant: only this crate and the thin rpc adapters (data
//! service, meta service) know protobuf. Everything else works on
//! `tandem-model` types; conversions live next to the generated modules.
//!
//! Wire-compatibility rules: field numbers are never reused (retired numbers
//! are `reserved`), and every request carries `wire_version` so nodes of
//! different releases can refuse or adapt during a rolling upgrade.

/// The wire version this build speaks.
pub const WIRE_VERSION: u32 = 1;

/// Generated code, nested the way the `.proto` packages are so that
/// cross-package references (`super::super::common::v1`) resolve. Use the
/// short aliases below.
#[allow(clippy::all, unused_qualifications, rust_2018_idioms, missing_docs)]
pub mod tandem {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("tandem.common.v1");
        }
    }
    pub mod data {
        pub mod v1 {
            tonic::include_proto!("tandem.data.v1");
        }
    }
    pub mod meta {
        pub mod v1 {
            tonic::include_proto!("tandem.meta.v1");
        }
    }
    pub mod raft {
        pub mod v1 {
            tonic::include_proto!("tandem.raft.v1");
        }
    }
}

/// Common messages shared by the services.
pub use tandem::common::v1 as common;
/// The data service (port 8088): shard writes, lifecycle, export, digest.
pub use tandem::data::v1 as data;
/// The meta API (port 8091): commands, linearizable version reads, the
/// metadata watch stream and meta membership changes.
pub use tandem::meta::v1 as meta;
/// Raft RPCs between meta nodes (port 8089).
pub use tandem::raft::v1 as raft;

pub mod auth;
mod convert;
