//! The data directory layout, the node-uuid file and shard tombstones.
//!
//! ```text
//! <dir>/node-uuid            which node this directory belongs to
//! <dir>/wal/*.wal            WAL segments
//! <dir>/shards/<id>/         MANIFEST.json + Parquet files of one shard
//! <dir>/tombstones/<id>      one empty file per deleted shard id
//! ```

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use tandem_model::ShardId;

use crate::{StorageError, fsutil};

const UUID_FILE: &str = "node-uuid";

#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    pub root: PathBuf,
    pub wal: PathBuf,
    pub shards: PathBuf,
    pub tombstones: PathBuf,
}

impl DataDir {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            wal: root.join("wal"),
            shards: root.join("shards"),
            tombstones: root.join("tombstones"),
        }
    }

    pub(crate) fn shard(&self, id: ShardId) -> PathBuf {
        self.shards.join(id.0.to_string())
    }

    fn io(&self, e: io::Error) -> StorageError {
        StorageError::io(self.root.display(), e)
    }

    /// Checks (or, for a fresh directory, writes) the node uuid and returns
    /// it. A directory holding data but no uuid file is foreign too: the
    /// uuid is always written before anything else.
    pub(crate) fn claim(&self, expected: Option<&str>) -> Result<String, StorageError> {
        if let Some(e) = expected {
            validate_uuid(e)?;
        }
        fs::create_dir_all(&self.root).map_err(|e| self.io(e))?;
        let path = self.root.join(UUID_FILE);
        let found = fsutil::read_optional(&path).map_err(|e| self.io(e))?;
        if let Some(found) = found {
            let found = String::from_utf8_lossy(&found).trim().to_owned();
            return match expected {
                Some(e) if e != found => Err(StorageError::ForeignDataDir {
                    dir: self.root.clone(),
                    expected: e.to_owned(),
                    found,
                }),
                _ => {
                    validate_uuid(&found)?;
                    Ok(found)
                }
            };
        }
        let has_data = [&self.wal, &self.shards, &self.tombstones]
            .iter()
            .any(|d| fs::read_dir(d).is_ok_and(|mut it| it.next().is_some()));
        if has_data {
            return Err(StorageError::ForeignDataDir {
                dir: self.root.clone(),
                expected: expected.unwrap_or("(any)").to_owned(),
                found: "(no node-uuid file)".to_owned(),
            });
        }
        let uuid = match expected {
            Some(e) => e.to_owned(),
            None => random_uuid().map_err(|e| self.io(e))?,
        };
        fsutil::write_atomic(&path, format!("{uuid}\n").as_bytes()).map_err(|e| self.io(e))?;
        Ok(uuid)
    }

    pub(crate) fn load_tombstones(&self) -> Result<HashSet<ShardId>, StorageError> {
        fs::create_dir_all(&self.tombstones).map_err(|e| self.io(e))?;
        let mut out = HashSet::new();
        for entry in fs::read_dir(&self.tombstones).map_err(|e| self.io(e))? {
            let entry = entry.map_err(|e| self.io(e))?;
            if let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) {
                out.insert(ShardId(id));
            }
        }
        Ok(out)
    }

    /// Makes the tombstone of `id` durable.
    pub(crate) fn write_tombstone(&self, id: ShardId) -> Result<(), StorageError> {
        let path = self.tombstones.join(id.0.to_string());
        let f = fs::File::create(&path).map_err(|e| StorageError::io(path.display(), e))?;
        f.sync_all().map_err(|e| StorageError::io(path.display(), e))?;
        fsutil::sync_dir(&self.tombstones).map_err(|e| self.io(e))
    }

    /// Shard ids with a directory under `shards/`.
    pub(crate) fn list_shards(&self) -> Result<Vec<ShardId>, StorageError> {
        fs::create_dir_all(&self.shards).map_err(|e| self.io(e))?;
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.shards).map_err(|e| self.io(e))? {
            let entry = entry.map_err(|e| self.io(e))?;
            if let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) {
                out.push(ShardId(id));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn validate_uuid(u: &str) -> Result<(), StorageError> {
    if u.is_empty() || u.len() > 128 || !u.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StorageError::InvalidNodeUuid(u.to_owned()));
    }
    Ok(())
}

/// A random (version 4) UUID from the OS generator.
fn random_uuid() -> io::Result<String> {
    let mut b = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_table() {
        // (uuid file content, other data present, expected uuid, outcome: Ok(uuid) / Err(()))
        type Case<'a> = (
            Option<&'a str>,
            bool,
            Option<&'a str>,
            Result<Option<&'a str>, ()>,
        );
        let table: [Case<'_>; 7] = [
            (None, false, Some("node-a"), Ok(Some("node-a"))),
            (None, false, None, Ok(None)),
            (Some("node-a\n"), false, Some("node-a"), Ok(Some("node-a"))),
            (Some("node-a"), false, None, Ok(Some("node-a"))),
            (Some("node-b"), false, Some("node-a"), Err(())),
            (None, true, Some("node-a"), Err(())),
            (None, false, Some("has space"), Err(())),
        ];
        for (i, (file, data, expected, want)) in table.into_iter().enumerate() {
            let tmp = tempfile::tempdir().unwrap();
            let d = DataDir::new(tmp.path());
            if let Some(f) = file {
                fs::write(tmp.path().join(UUID_FILE), f).unwrap();
            }
            if data {
                fs::create_dir_all(d.shards.join("5")).unwrap();
            }
            match (d.claim(expected), want) {
                (Ok(got), Ok(Some(w))) => assert_eq!(got, w, "case {i}"),
                (Ok(got), Ok(None)) => {
                    assert_eq!(got.len(), 36, "case {i}: {got}");
                    assert_eq!(d.claim(Some(&got)).unwrap(), got, "case {i}: claim is stable");
                }
                (Err(_), Err(())) => {}
                (got, want) => panic!("case {i}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn tombstones_are_durable_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = DataDir::new(tmp.path());
        assert!(d.load_tombstones().unwrap().is_empty());
        d.write_tombstone(ShardId(9)).unwrap();
        d.write_tombstone(ShardId(9)).unwrap();
        assert_eq!(d.load_tombstones().unwrap(), HashSet::from([ShardId(9)]));
    }
}
