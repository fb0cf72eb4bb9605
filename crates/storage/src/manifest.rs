//! The per-shard manifest: which Parquet files make up the shard, the field
//! types on record, and how far the WAL has been flushed into files.
//!
//! Stored as `MANIFEST.json` and replaced atomically (write temp, fsync,
//! rename, fsync dir). Files are written and fsync'd before the manifest
//! that lists them, so a crash mid-flush or mid-compaction leaves either the
//! old set or the new one; files not listed are leftovers and are deleted
//! when the shard is opened.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::StorageError;
use crate::fields::FieldEntry;
use crate::fsutil;
use crate::wal::Lsn;

pub(crate) const FILE_NAME: &str = "MANIFEST.json";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileMeta {
    pub id: u64,
    pub name: String,
    /// Escaped measurement, as at the start of series keys.
    pub measurement: String,
    /// 0 for flushes; compaction outputs are one level above their inputs.
    pub level: u32,
    pub rows: u64,
    pub bytes: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    /// Whether the file is known to have a column per tag. Manifests
    /// written before this was recorded read as false, so a cold shard's
    /// lone file among them is rewritten once, which is harmless.
    #[serde(default)]
    pub tag_columns: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub shard: u64,
    pub next_file: u64,
    /// Every WAL record of this shard at or before this position is in
    /// `files`; replay skips them.
    pub flushed_lsn: Option<Lsn>,
    pub files: Vec<FileMeta>,
    pub fields: Vec<FieldEntry>,
}

impl Manifest {
    pub(crate) fn new(shard: u64) -> Self {
        Self {
            format: FORMAT,
            shard,
            next_file: 1,
            flushed_lsn: None,
            files: Vec::new(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn load(dir: &Path) -> Result<Option<Self>, StorageError> {
        let path = dir.join(FILE_NAME);
        let Some(bytes) = fsutil::read_optional(&path).map_err(|e| StorageError::io(path.display(), e))?
        else {
            return Ok(None);
        };
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| StorageError::corrupt(&path, e))?;
        if m.format != FORMAT {
            return Err(StorageError::corrupt(
                &path,
                format!("unsupported manifest format {}", m.format),
            ));
        }
        Ok(Some(m))
    }

    pub(crate) fn store(&self, dir: &Path) -> Result<(), StorageError> {
        let path = dir.join(FILE_NAME);
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| StorageError::io(path.display(), e.into()))?;
        fsutil::write_atomic(&path, &bytes)
            .map_err(|e| StorageError::io(format!("writing {}", path.display()), e))
    }

    /// Reserves a file id and returns the file name for `measurement`: the
    /// id first, then the measurement reduced to safe characters, so an
    /// operator can tell files apart.
    pub(crate) fn allocate_file(&mut self, measurement: &str) -> (u64, String) {
        let id = self.next_file;
        self.next_file += 1;
        let safe: String = measurement
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(48)
            .collect();
        (id, format!("{id:08}-{safe}.parquet"))
    }

    pub(crate) fn add_fields(&mut self, new: impl IntoIterator<Item = FieldEntry>) {
        self.fields.extend(new);
        self.fields.sort();
        self.fields
            .dedup_by(|a, b| a.measurement == b.measurement && a.key == b.key);
    }
}

#[cfg(test)]
mod tests {
    use tandem_model::FieldType;

    use super::*;

    #[test]
    fn file_entries_without_the_tag_column_flag_read_as_unknown() {
        let json = r#"{"id":1,"name":"a.parquet","measurement":"cpu","level":0,"rows":1,"bytes":1,"min_ts":0,"max_ts":0}"#;
        let f: FileMeta = serde_json::from_str(json).unwrap();
        assert!(!f.tag_columns);
    }

    #[test]
    fn store_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let mut m = Manifest::new(7);
        let (id, name) = m.allocate_file("c p,u/..");
        assert_eq!((id, name.as_str()), (1, "00000001-c_p_u___.parquet"));
        m.add_fields([
            FieldEntry {
                measurement: "cpu".into(),
                key: "a".into(),
                ty: FieldType::Float,
            },
            FieldEntry {
                measurement: "cpu".into(),
                key: "a".into(),
                ty: FieldType::Float,
            },
        ]);
        m.flushed_lsn = Some(Lsn {
            segment: 3,
            offset: 99,
        });
        m.store(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(m.clone()));
        assert_eq!(m.fields.len(), 1);
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(StorageError::Corrupt { .. })
        ));
    }
}
