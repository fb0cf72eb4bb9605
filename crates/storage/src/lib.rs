//! tandem's shard storage engine.
//!
//! A shard engine in the spirit of InfluxDB's TSM, built for the write
//! cluster: one group-commit WAL per node, an in-memory cache per shard,
//! immutable Apache Parquet files, compaction applying the convergence
//! rule, and export as line protocol.
//!
//! The rest of tandem uses the [`ShardStore`] trait; [`Engine`] implements
//! it. Invariants:
//!
//! - A write is acknowledged only after its WAL record is fsync'd. fsync
//!   runs on one dedicated thread and is shared by every batch appended
//!   before it started (group commit). After an fsync error the WAL is
//!   poisoned and nothing more is acknowledged.
//! - Per cell (series key, timestamp, field key) the value with the largest
//!   write version wins (see `convergence.rs`); every merge — snapshot,
//!   compaction, export, digest — applies the same rule, so the stored state
//!   does not depend on arrival order, duplication or file layout.
//! - Versions are stored per row and never changed; a row never mixes
//!   versions.
//! - Field types are enforced per (shard, measurement, field); a conflicting
//!   point is dropped whole and counted, the rest of the batch is stored.
//! - Deleted shard ids are tombstoned durably and can never come back.
//! - Decoding on-disk bytes never panics; damage is a typed error or, for a
//!   torn WAL tail, truncation.

mod cache;
mod config;
mod convergence;
mod engine;
mod error;
mod fields;
mod fsutil;
mod line_format;
mod manifest;
mod merge;
mod parquet_io;
mod series_key;
mod store;
mod wal;

#[cfg(test)]
mod testkit;

pub use config::StorageConfig;
pub use engine::{Engine, EngineOptions, PendingWrite};
pub use error::{FieldTypeConflict, StorageError};
pub use merge::TimeRange;
pub use store::{
    DigestBucket, ExportStream, RowStream, ShardDigest, ShardInfo, ShardStore, WriteFuture, WriteOutcome,
};
pub use wal::{MAX_BATCH_BYTES, SyncHook};
