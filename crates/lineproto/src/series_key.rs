//! The canonical series key and the hash shards are chosen by.

use crate::Tag;

/// Appends `measurement,k1=v1,...` to `out`. `tags` must be sorted by key
/// (the parser guarantees it); names stay escaped as written, which is the
/// form influxd keys series by.
pub fn write<'a>(measurement: &[u8], tags: impl IntoIterator<Item = Tag<'a>>, out: &mut Vec<u8>) {
    out.extend_from_slice(measurement);
    for t in tags {
        out.push(b',');
        out.extend_from_slice(t.key);
        out.push(b'=');
        out.extend_from_slice(t.value);
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a, the hash InfluxDB Enterprise routes a series key to a shard
/// with (`hash % shards`).
pub fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv64a_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        let table: [(&[u8], u64); 3] = [
            (b"", 0xcbf29ce484222325),
            (b"a", 0xaf63dc4c8601ec8c),
            (b"foobar", 0x85944171f73967e8),
        ];
        for (input, want) in table {
            assert_eq!(fnv64a(input), want, "{}", String::from_utf8_lossy(input));
        }
    }
}
