//! Conversions between protobuf messages and `tandem-model` types.

use tandem_model::Version;

use crate::common;

impl From<Version> for common::Version {
    fn from(v: Version) -> Self {
        Self {
            hlc_ns: v.hlc_ns,
            node: v.node,
            seq: v.seq,
        }
    }
}

impl From<common::Version> for Version {
    fn from(v: common::Version) -> Self {
        Self {
            hlc_ns: v.hlc_ns,
            node: v.node,
            seq: v.seq,
        }
    }
}
