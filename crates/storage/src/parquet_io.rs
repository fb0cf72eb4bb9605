//! Immutable shard files: plain Apache Parquet, one measurement per file.
//!
//! Columns (see [`schema`]): `time` (timestamp ns, UTC), one nullable utf8
//! column per tag key (left out of files that compaction merges again,
//! which list their tag keys in the `tandem:tag_keys` metadata instead),
//! one nullable typed column per field, then `_series`
//! (the canonical escaped series key, which readers merge on) and the write
//! version as `_version_hlc` (u64), `_version_node` (u32), `_version_seq`
//! (u32). Rows are sorted by `_series`, then `time`, then version; a row
//! holds the fields whose winning version is the row's version, other
//! fields null. Arrow field metadata (`tandem:role`, `tandem:key`) tells
//! tags from fields even when a name had to be disambiguated.

pub(crate) mod reader;
pub(crate) mod schema;
pub(crate) mod writer;
