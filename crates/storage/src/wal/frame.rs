//! WAL record framing.
//!
//! ```text
//! frame    magic u32 = "TWR1" | len u32 | crc32 u32 | payload (len bytes)
//!          crc32 covers the 4 length bytes and the payload, so a torn or
//!          damaged length is caught too. All integers little-endian.
//! payload  kind u8 = 1 (write) | shard u64 | version 16 bytes (big-endian,
//!          `Version::to_bytes`) | PointsBuf bytes (the rest)
//! ```
//!
//! A frame is all-or-nothing: replay accepts it only if the magic, length
//! and checksum agree.

use tandem_model::{ShardId, Version};

pub(crate) const MAGIC: [u8; 4] = *b"TWR1";
pub(crate) const HEADER_LEN: usize = 12;
const KIND_WRITE: u8 = 1;
/// kind + shard + version.
pub(crate) const PAYLOAD_PREFIX_LEN: usize = 1 + 8 + Version::ENCODED_LEN;

/// The largest payload a frame may carry; bigger lengths are treated as
/// damage. A 25 MB HTTP body encodes to well under this.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// Header and payload prefix of a write record; the points bytes follow.
pub(crate) fn encode_write_head(
    shard: ShardId,
    version: Version,
    points: &[u8],
) -> [u8; HEADER_LEN + PAYLOAD_PREFIX_LEN] {
    let mut prefix = [0u8; PAYLOAD_PREFIX_LEN];
    prefix[0] = KIND_WRITE;
    prefix[1..9].copy_from_slice(&shard.0.to_le_bytes());
    prefix[9..].copy_from_slice(&version.to_bytes());
    let len = (PAYLOAD_PREFIX_LEN + points.len()) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(&prefix);
    crc.update(points);
    let mut out = [0u8; HEADER_LEN + PAYLOAD_PREFIX_LEN];
    out[..4].copy_from_slice(&MAGIC);
    out[4..8].copy_from_slice(&len.to_le_bytes());
    out[8..12].copy_from_slice(&crc.finalize().to_le_bytes());
    out[12..].copy_from_slice(&prefix);
    out
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub len: usize,
    pub crc: u32,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    Magic,
    Length(usize),
    Checksum,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Magic => f.write_str("bad record magic"),
            FrameError::Length(n) => write!(f, "implausible record length {n}"),
            FrameError::Checksum => f.write_str("record checksum mismatch"),
        }
    }
}

pub(crate) fn parse_header(h: &[u8; HEADER_LEN]) -> Result<Header, FrameError> {
    if h[..4] != MAGIC {
        return Err(FrameError::Magic);
    }
    let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
    if !(PAYLOAD_PREFIX_LEN..=MAX_PAYLOAD).contains(&len) {
        return Err(FrameError::Length(len));
    }
    Ok(Header {
        len,
        crc: u32::from_le_bytes([h[8], h[9], h[10], h[11]]),
    })
}

pub(crate) fn check_payload(h: Header, payload: &[u8]) -> Result<(), FrameError> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&(h.len as u32).to_le_bytes());
    crc.update(payload);
    if crc.finalize() == h.crc {
        Ok(())
    } else {
        Err(FrameError::Checksum)
    }
}

/// A decoded write record; `points` still has to be validated as a
/// `PointsBuf` by the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WriteRecord<'a> {
    pub shard: ShardId,
    pub version: Version,
    pub points: &'a [u8],
}

/// Decodes a checksum-verified payload. Errors mean an unknown record kind
/// (a newer format) or a bug, never a torn write.
pub(crate) fn decode_payload(p: &[u8]) -> Result<WriteRecord<'_>, String> {
    if p.len() < PAYLOAD_PREFIX_LEN {
        return Err(format!("payload of {} bytes is too short", p.len()));
    }
    if p[0] != KIND_WRITE {
        return Err(format!("unknown record kind {}", p[0]));
    }
    let mut shard = [0u8; 8];
    shard.copy_from_slice(&p[1..9]);
    let mut version = [0u8; Version::ENCODED_LEN];
    version.copy_from_slice(&p[9..PAYLOAD_PREFIX_LEN]);
    Ok(WriteRecord {
        shard: ShardId(u64::from_le_bytes(shard)),
        version: Version::from_bytes(version),
        points: &p[PAYLOAD_PREFIX_LEN..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(shard: u64, points: &[u8]) -> Vec<u8> {
        let v = Version {
            hlc_ns: 7,
            node: 2,
            seq: 3,
        };
        let mut out = encode_write_head(ShardId(shard), v, points).to_vec();
        out.extend_from_slice(points);
        out
    }

    fn read(bytes: &[u8]) -> Result<(ShardId, Vec<u8>), FrameError> {
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&bytes[..HEADER_LEN]);
        let h = parse_header(&h)?;
        let payload = bytes
            .get(HEADER_LEN..HEADER_LEN + h.len)
            .ok_or(FrameError::Length(h.len))?;
        check_payload(h, payload)?;
        let r = decode_payload(payload).map_err(|_| FrameError::Magic)?;
        assert_eq!(
            r.version,
            Version {
                hlc_ns: 7,
                node: 2,
                seq: 3
            }
        );
        Ok((r.shard, r.points.to_vec()))
    }

    #[test]
    fn round_trip_and_damage_table() {
        let good = frame(42, b"points");
        assert_eq!(read(&good), Ok((ShardId(42), b"points".to_vec())));
        // (byte to flip, expected error)
        let table: [(usize, FrameError); 4] = [
            (0, FrameError::Magic),
            (4, FrameError::Checksum), // length 1 byte bigger than written is caught by crc or bounds
            (9, FrameError::Checksum),
            (good.len() - 1, FrameError::Checksum),
        ];
        for (at, want) in table {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let got = read(&bad).unwrap_err();
            if at == 4 {
                assert!(
                    matches!(got, FrameError::Checksum | FrameError::Length(_)),
                    "{at}: {got:?}"
                );
            } else {
                assert_eq!(got, want, "flip at {at}");
            }
        }
        let mut huge = good.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&huge), Err(FrameError::Length(u32::MAX as usize)));
    }

    #[test]
    fn unknown_kind_is_reported() {
        let mut p = vec![9u8; PAYLOAD_PREFIX_LEN];
        p[0] = 9;
        assert!(decode_payload(&p).unwrap_err().contains("unknown record kind 9"));
        assert!(decode_payload(&p[..3]).is_err());
    }
}
