//! tandemd as a library: configuration, node assembly and the in-process
//! development cluster, so tests can start nodes without the binary.

pub mod config;
pub mod dev;
pub mod node;
pub mod roles;
pub mod shutdown;
