//! Reading the WAL back at startup.
//!
//! Records are delivered in log order. The first damaged frame ends the log:
//! if it lies in one of the last two segments it is a torn tail (see the
//! module docs of `wal`) and is truncated, and any later segment is removed
//! (nothing in it can have been acknowledged); anywhere else it is damage to
//! acknowledged data and opening fails with `WalCorrupt`.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::frame::{self, HEADER_LEN};
use super::{Lsn, WriteRecord, segment_path};
use crate::StorageError;

pub(super) struct Replayed {
    /// Segments still on disk after replay.
    pub kept: BTreeSet<u64>,
    /// Highest segment id found, including removed ones.
    pub max_seen: u64,
}

fn list_segments(dir: &Path) -> Result<Vec<u64>, StorageError> {
    let mut ids = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir.display(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(dir.display(), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name.strip_suffix(".wal").and_then(|n| n.parse::<u64>().ok()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Where reading a segment stopped.
enum End {
    Clean,
    Damaged { offset: u64, reason: String },
}

pub(super) fn replay(
    dir: &Path,
    mut on_record: impl FnMut(Lsn, WriteRecord<'_>) -> Result<(), StorageError>,
) -> Result<Replayed, StorageError> {
    let ids = list_segments(dir)?;
    let max_seen = ids.last().copied().unwrap_or(0);
    let mut kept = BTreeSet::new();
    for (i, &id) in ids.iter().enumerate() {
        let path = segment_path(dir, id);
        kept.insert(id);
        match read_segment(&path, id, &mut on_record)? {
            End::Clean => {}
            End::Damaged { offset, reason } => {
                let may_be_torn = i + 2 >= ids.len();
                if !may_be_torn {
                    return Err(StorageError::WalCorrupt { path, offset, reason });
                }
                tracing::warn!(path = %path.display(), offset, %reason, "truncating torn WAL tail");
                truncate(&path, offset)?;
                for &later in &ids[i + 1..] {
                    let p = segment_path(dir, later);
                    tracing::warn!(path = %p.display(), "removing WAL segment written after a torn tail");
                    std::fs::remove_file(&p).map_err(|e| StorageError::io(p.display(), e))?;
                }
                if i + 1 < ids.len() {
                    crate::fsutil::sync_dir(dir).map_err(|e| StorageError::io(dir.display(), e))?;
                }
                break;
            }
        }
    }
    Ok(Replayed { kept, max_seen })
}

fn truncate(path: &PathBuf, offset: u64) -> Result<(), StorageError> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StorageError::io(path.display(), e))?;
    f.set_len(offset)
        .and_then(|()| f.sync_all())
        .map_err(|e| StorageError::io(path.display(), e))
}

fn read_segment(
    path: &Path,
    id: u64,
    on_record: &mut impl FnMut(Lsn, WriteRecord<'_>) -> Result<(), StorageError>,
) -> Result<End, StorageError> {
    let ctx = |e| StorageError::io(path.display(), e);
    let file = File::open(path).map_err(ctx)?;
    let file_len = file.metadata().map_err(ctx)?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let left = file_len - offset;
        if left == 0 {
            return Ok(End::Clean);
        }
        if left < HEADER_LEN as u64 {
            return Ok(End::Damaged {
                offset,
                reason: format!("{left} stray bytes at the end"),
            });
        }
        let mut head = [0u8; HEADER_LEN];
        r.read_exact(&mut head).map_err(ctx)?;
        let h = match frame::parse_header(&head) {
            Ok(h) => h,
            Err(e) => {
                return Ok(End::Damaged {
                    offset,
                    reason: e.to_string(),
                });
            }
        };
        if (h.len as u64) > left - HEADER_LEN as u64 {
            return Ok(End::Damaged {
                offset,
                reason: format!("record of {} bytes runs past the end", h.len),
            });
        }
        payload.resize(h.len, 0);
        r.read_exact(&mut payload).map_err(ctx)?;
        if let Err(e) = frame::check_payload(h, &payload) {
            return Ok(End::Damaged {
                offset,
                reason: e.to_string(),
            });
        }
        let record = frame::decode_payload(&payload).map_err(|reason| StorageError::WalCorrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        })?;
        on_record(Lsn { segment: id, offset }, record)?;
        offset += (HEADER_LEN + h.len) as u64;
    }
}
