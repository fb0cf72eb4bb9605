use std::fmt;

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// The version of a write batch: stamped once by the coordinator that accepted
/// it and never re-stamped afterwards (gRPC, WAL, files, export, hinted handoff
/// and repair all carry it unchanged).
///
/// Ordering is lexicographic over `(hlc_ns, node, seq)`, which the field order
/// and the derived `Ord` give. Storage keeps, per cell (series key, timestamp,
/// field key), the value with the largest version; that merge is commutative,
/// associative and idempotent, which is what makes replicas converge whatever
/// order writes arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Version {
    /// Hybrid logical clock reading of the accepting coordinator, in ns.
    pub hlc_ns: u64,
    /// Node id of the accepting coordinator; breaks ties between coordinators.
    pub node: u32,
    /// Per-coordinator sequence; breaks ties within one coordinator.
    pub seq: u32,
}

impl Version {
    /// Size of [`Version::to_bytes`].
    pub const ENCODED_LEN: usize = 16;

    pub const fn new(hlc_ns: u64, node: NodeId, seq: u32) -> Self {
        Self {
            hlc_ns,
            node: node.0,
            seq,
        }
    }

    /// Big-endian encoding: byte order equals version order, so encoded
    /// versions can be compared or used as sorted keys directly.
    pub fn to_bytes(self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..8].copy_from_slice(&self.hlc_ns.to_be_bytes());
        out[8..12].copy_from_slice(&self.node.to_be_bytes());
        out[12..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_bytes(b: [u8; Self::ENCODED_LEN]) -> Self {
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, c0, c1, c2, c3] = b;
        Self {
            hlc_ns: u64::from_be_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            node: u32::from_be_bytes([b0, b1, b2, b3]),
            seq: u32::from_be_bytes([c0, c1, c2, c3]),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.hlc_ns, self.node, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn byte_order_is_version_order(a: (u64, u32, u32), b: (u64, u32, u32)) {
            let va = Version { hlc_ns: a.0, node: a.1, seq: a.2 };
            let vb = Version { hlc_ns: b.0, node: b.1, seq: b.2 };
            prop_assert_eq!(va.cmp(&vb), va.to_bytes().cmp(&vb.to_bytes()));
            prop_assert_eq!(Version::from_bytes(va.to_bytes()), va);
        }
    }
}
