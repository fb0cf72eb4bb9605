//! The write coordinator: turns one write request into replicated,
//! acknowledged shard writes.
//!
//! A request is parsed once (`tandem-lineproto`), stripped of the points
//! influxd would drop (`time` keys, points beyond retention, field-type
//! conflicts against the cluster-wide registry), mapped to shard groups by
//! time and to shards by `fnv64a(series key) % shards`, encoded once per
//! shard, stamped with one [`tandem_model::Version`] from the node's hybrid
//! clock ([`hlc::Hlc`]), and sent to every owner of every shard in parallel.
//! Each shard succeeds when its owners' acks reach the consistency level;
//! the first shard that cannot fails the request with a
//! [`error::ConsistencyFailure`] carrying the level, the counts and each
//! owner's outcome.
//!
//! Owner writes run as tasks of a [`tracker::WriteTracker`], not of the
//! request: when the request answers early (level met, timeout, client
//! gone) the remaining owners still get the data.
//!
//! The crate talks to the cluster only through its ports
//! ([`ports::Metadata`], [`ports::OwnerTransport`]); it knows neither HTTP
//! nor protobuf.

pub mod breaker;
pub mod budget;
pub mod config;
mod coordinator;
pub mod error;
pub mod hlc;
pub mod plan;
pub mod ports;
pub mod stats;
pub mod tracker;

pub use config::CoordinatorConfig;
pub use coordinator::{AckSummary, Coordinator, WriteReport, WriteRequest};
pub use error::{ConsistencyFailure, OwnerOutcome, PartialWrite, ShortfallKind, WriteError};
