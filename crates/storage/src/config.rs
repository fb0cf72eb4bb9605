//! Engine configuration: a plain serde struct; every option has a default.

mod duration;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::StorageError;

/// Storage engine settings. Durations are written like influxd's (`"0s"`,
/// `"100ms"`, `"10m"`, `"4h"`); sizes are bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Data directory (node uuid, WAL, shards, tombstones). Default: empty,
    /// which the embedding resolves (tandemd: `<node.data_dir>/data`);
    /// opening an engine with an empty `dir` is a configuration error.
    pub dir: PathBuf,

    /// How long the WAL syncer waits after the first pending write before it
    /// fsyncs, to gather more batches into one fsync. Default: `0s` (sync as
    /// soon as something is pending; batches arriving during an fsync still
    /// share the next one).
    #[serde(with = "duration")]
    pub wal_fsync_delay: Duration,

    /// WAL segment size; the syncer starts a new segment past it, and a
    /// segment is deleted once all its records are in files.
    /// Default: 64 MiB.
    pub wal_segment_size: u64,

    /// When the WAL's segments hold more than this, every shard with
    /// records in the segments beyond it is snapshotted and flushed, however
    /// small or recent its cache, so the WAL can be trimmed. One WAL serves
    /// all shards: without this bound a shard that stops just short of
    /// `cache_snapshot_memory_size` would keep every later segment on disk
    /// until `cache_snapshot_write_cold_duration`, and restart would replay
    /// all of them. Checked every second. At least two segments are always
    /// kept. Default: 256 MiB.
    pub wal_max_size: u64,

    /// A shard's cache is snapshotted and written to Parquet files once it
    /// holds this many bytes. Default: 8 MiB. (influxd's is 25 MiB; a
    /// smaller snapshot is written sooner, and a stalled writer waits for
    /// one snapshot's flush at most. docs/BENCHMARKS.md has the sweep the
    /// defaults come from.)
    pub cache_snapshot_memory_size: u64,

    /// Writes to a shard whose cache plus unwritten snapshots hold this many
    /// bytes fail with the retryable `CacheFull`. Per shard, like influxd.
    /// Default: 1 GiB (influxd's default).
    pub cache_max_memory_size: u64,

    /// Writes to a shard holding this many unflushed bytes (cache plus
    /// snapshots) while one of its snapshots is being flushed wait for that
    /// flush, up to `cache_stall_max_wait`, before being taken. Ingest that
    /// outpaces Parquet encoding then slows to the flush rate instead of
    /// filling memory up to `cache_max_memory_size`. 0 = never wait.
    /// Default: 24 MiB.
    pub cache_stall_memory_size: u64,

    /// The longest a write waits in a stall; after it the write is taken
    /// if the shard is under `cache_max_memory_size` (else `CacheFull`).
    /// Default: `2s`.
    #[serde(with = "duration")]
    pub cache_stall_max_wait: Duration,

    /// A cache with no writes for this long is written to files even if it is
    /// small. Default: `10m` (influxd's `cache-snapshot-write-cold-duration`).
    #[serde(with = "duration")]
    pub cache_snapshot_write_cold_duration: Duration,

    /// A shard with no writes for this long is "cold": `ShardInfo` reports it
    /// so and compaction merges each measurement into one file.
    /// Default: `4h` (influxd's `compact-full-write-cold-duration`).
    #[serde(with = "duration")]
    pub cold_duration: Duration,

    /// Compaction merges the files of one measurement and level once there
    /// are this many of them. Default: 8.
    pub compaction_min_files: usize,

    /// A merge reads at most this many files at once (the oldest first), so
    /// compaction memory stays bounded (about 1.5 MiB per input file) when
    /// flushes outpace compaction and files pile up; the rest wait for the
    /// next merge. Must be >= `compaction_min_files`. Default: 8.
    pub compaction_max_files: usize,

    /// Files at this level are only merged again by the cold full
    /// compaction. Each level rewrites every point once more (write
    /// amplification), so hot shards stop at a low level. Files below it
    /// have no tag columns (`_series` holds the tags). Default: 2.
    pub compaction_max_level: u32,

    /// Rows per Parquet row group (the unit a reader decodes at once, and the
    /// writer buffers). Default: 65536.
    pub parquet_row_group_rows: usize,

    /// Write a column per tag into every shard file. Off by default: files
    /// that compaction merges again (flushes, levels below
    /// `compaction_max_level`) leave the tag columns out, since `_series`
    /// holds the tags and merges read only that; those strings cost a third
    /// of the CPU of flushes and merges. Top-level files, and every file a
    /// cold shard's full compaction writes, have them either way. Turn this
    /// on to read the newest, not yet compacted files with tag columns in
    /// DuckDB, pandas or polars. Default: false.
    pub tag_columns_in_every_file: bool,

    /// zstd level of the pages of compacted files. Flushed files are
    /// written uncompressed: compaction rewrites them soon, and an open
    /// zstd file costs a decompression context per column while it is read.
    /// Default: 1.
    pub parquet_zstd_level: i32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::new(),
            wal_fsync_delay: Duration::ZERO,
            wal_segment_size: 64 << 20,
            wal_max_size: 256 << 20,
            cache_snapshot_memory_size: 8 << 20,
            cache_max_memory_size: 1 << 30,
            cache_stall_memory_size: 24 << 20,
            cache_stall_max_wait: Duration::from_secs(2),
            cache_snapshot_write_cold_duration: Duration::from_secs(600),
            cold_duration: Duration::from_secs(4 * 3600),
            compaction_min_files: 8,
            compaction_max_files: 8,
            compaction_max_level: 2,
            parquet_row_group_rows: 65536,
            parquet_zstd_level: 1,
            tag_columns_in_every_file: false,
        }
    }
}

impl StorageConfig {
    /// Defaults with the given data directory.
    pub fn with_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StorageError> {
        let bad = |m: &str| Err(StorageError::Config(m.to_owned()));
        if self.dir.as_os_str().is_empty() {
            return bad("storage dir is not set");
        }
        if self.wal_segment_size < 4096 || self.wal_segment_size > 1 << 40 {
            return bad("wal_segment_size must be between 4 KiB and 1 TiB");
        }
        if self.cache_snapshot_memory_size == 0 {
            return bad("cache_snapshot_memory_size must be > 0");
        }
        if self.cache_max_memory_size < self.cache_snapshot_memory_size {
            return bad("cache_max_memory_size must be >= cache_snapshot_memory_size");
        }
        if self.compaction_min_files < 2 {
            return bad("compaction_min_files must be >= 2");
        }
        if self.compaction_max_files < self.compaction_min_files {
            return bad("compaction_max_files must be >= compaction_min_files");
        }
        if self.parquet_row_group_rows < 1024 {
            return bad("parquet_row_group_rows must be >= 1024");
        }
        if !(1..=22).contains(&self.parquet_zstd_level) {
            return bad("parquet_zstd_level must be 1..=22");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_like_json_round_trip_and_defaults() {
        let c: StorageConfig = serde_json::from_str(r#"{"dir":"/x","wal_fsync_delay":"5ms"}"#).unwrap();
        assert_eq!(c.dir, PathBuf::from("/x"));
        assert_eq!(c.wal_fsync_delay, Duration::from_millis(5));
        assert_eq!(c.cache_max_memory_size, 1 << 30);
        let back: StorageConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(StorageConfig::with_dir("/x").validate().is_ok());
        assert!(
            StorageConfig::default().validate().is_err(),
            "an empty dir must be set by the embedding"
        );
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(serde_json::from_str::<StorageConfig>(r#"{"nope":1}"#).is_err());
        let c = StorageConfig {
            cache_max_memory_size: 1,
            ..StorageConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
