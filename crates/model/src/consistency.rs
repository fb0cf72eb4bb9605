use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Write consistency, with InfluxDB Enterprise semantics.
///
/// | level    | a shard write succeeds when …                                  |
/// |----------|----------------------------------------------------------------|
/// | `any`    | one owner acked, or the write was stored in hinted handoff     |
/// | `one`    | one owner acked (a hint alone does not count)                  |
/// | `quorum` | `owners / 2 + 1` owners acked (same as `all` when owners ≤ 2)  |
/// | `all`    | every owner acked                                              |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsistencyLevel {
    Any,
    #[default]
    One,
    Quorum,
    All,
}

/// The text influxd answers (HTTP 400) for an unknown `consistency` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid consistency level")]
pub struct InvalidConsistencyLevel;

impl ConsistencyLevel {
    /// Acks required from a shard with `owners` owners. Never more than
    /// `owners`, never less than 1 (a shard always has at least one owner).
    pub fn required(self, owners: usize) -> usize {
        let owners = owners.max(1);
        match self {
            ConsistencyLevel::Any | ConsistencyLevel::One => 1,
            ConsistencyLevel::Quorum => owners / 2 + 1,
            ConsistencyLevel::All => owners,
        }
    }

    /// Whether a write stored in hinted handoff counts as an ack.
    pub fn hint_counts_as_ack(self) -> bool {
        matches!(self, ConsistencyLevel::Any)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ConsistencyLevel::Any => "any",
            ConsistencyLevel::One => "one",
            ConsistencyLevel::Quorum => "quorum",
            ConsistencyLevel::All => "all",
        }
    }
}

impl FromStr for ConsistencyLevel {
    type Err = InvalidConsistencyLevel;

    /// Case-insensitive, as influxd parses it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const LEVELS: [ConsistencyLevel; 4] = [
            ConsistencyLevel::Any,
            ConsistencyLevel::One,
            ConsistencyLevel::Quorum,
            ConsistencyLevel::All,
        ];
        LEVELS
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or(InvalidConsistencyLevel)
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_strict() {
        let cases = [
            ("any", Ok(ConsistencyLevel::Any)),
            ("ONE", Ok(ConsistencyLevel::One)),
            ("Quorum", Ok(ConsistencyLevel::Quorum)),
            ("aLL", Ok(ConsistencyLevel::All)),
            ("", Err(InvalidConsistencyLevel)),
            ("two", Err(InvalidConsistencyLevel)),
            ("all ", Err(InvalidConsistencyLevel)),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<ConsistencyLevel>(), want, "input {input:?}");
        }
    }

    #[test]
    fn required_acks_match_enterprise() {
        use ConsistencyLevel::*;
        // (level, owners, required)
        let table = [
            (Any, 1, 1),
            (Any, 3, 1),
            (One, 3, 1),
            (Quorum, 1, 1),
            (Quorum, 2, 2),
            (Quorum, 3, 2),
            (Quorum, 4, 3),
            (Quorum, 5, 3),
            (All, 1, 1),
            (All, 3, 3),
        ];
        for (level, owners, required) in table {
            assert_eq!(level.required(owners), required, "{level} with {owners} owners");
        }
    }
}
