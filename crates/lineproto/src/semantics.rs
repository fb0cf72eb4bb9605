//! influxd's per-point rules that apply after parsing: a syntactically
//! valid point can still be dropped (reported as `partial write: <reason>
//! dropped=N`). influxd applies these in the storage engine; tandem applies
//! them once, on the write node, before the batch is replicated.

use std::fmt;

use crate::{Point, escape};

/// Why a parsed point is dropped. `Display` gives influxd's reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A tag named `time`.
    TimeTag { measurement: String },
    /// Every field is named `time` (a `time` field next to others is
    /// skipped silently, the point is kept).
    OnlyTimeFields { measurement: String },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::TimeTag { measurement } => {
                write!(
                    f,
                    "invalid tag key: input tag \"time\" on measurement \"{measurement}\" is invalid"
                )
            }
            Rejection::OnlyTimeFields { measurement } => {
                write!(
                    f,
                    "invalid field name: input field \"time\" on measurement \"{measurement}\" is invalid"
                )
            }
        }
    }
}

/// True for a field key influxd never stores (`time`).
pub fn is_time_key(raw_key: &[u8]) -> bool {
    raw_key == b"time"
}

/// Applies influxd's drop rules to one point.
pub fn check(point: &Point<'_, '_>) -> Result<(), Rejection> {
    let measurement =
        || String::from_utf8_lossy(&escape::unescape_measurement(point.measurement())).into_owned();
    if point.tags().any(|t| is_time_key(t.key)) {
        return Err(Rejection::TimeTag {
            measurement: measurement(),
        });
    }
    if point.fields().all(|f| is_time_key(f.key)) {
        return Err(Rejection::OnlyTimeFields {
            measurement: measurement(),
        });
    }
    Ok(())
}
