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

/// Common messages shared by the services.
pub mod common {
    #![allow(clippy::all, unused_qualifications, rust_2018_idioms)]
    tonic::include_proto!("tandem.common.v1");
}

mod convert;
