//! Connects tandem's crates into a running node.
//!
//! Each library crate defines the ports it needs (the coordinator its
//! `Metadata` and `OwnerTransport`, the data node its `OwnershipView`, the
//! HTTP API its `Admin`, `Auth`, `Exporter` and `Status`); this crate
//! implements them over the meta client, the data node and the data
//! client. It holds no logic of its own beyond translation.

pub mod admin;
pub mod exporter;
pub mod janitor;
pub mod metadata;
pub mod row_merge;
pub mod status;
