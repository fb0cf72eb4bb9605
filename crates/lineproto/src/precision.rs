use std::fmt;

/// Timestamp precision of a write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    #[default]
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
}

/// An unknown `precision` query parameter. The texts are influxd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPrecision {
    /// `/write` (v1) accepts `n`, `ns`, `u`, `ms`, `s`, `m`, `h`.
    #[error("invalid precision {0:?} (use n, u, ms, s, m or h)")]
    V1(String),
    /// `/api/v2/write` accepts `ns`, `us`, `ms`, `s`.
    #[error("invalid precision {0:?} (use ns, us, ms or s)")]
    V2(String),
}

impl Precision {
    /// Parses the v1 `/write` parameter; empty means nanoseconds.
    pub fn parse_v1(s: &str) -> Result<Self, InvalidPrecision> {
        Ok(match s {
            "" | "n" | "ns" => Precision::Nanosecond,
            "u" => Precision::Microsecond,
            "ms" => Precision::Millisecond,
            "s" => Precision::Second,
            "m" => Precision::Minute,
            "h" => Precision::Hour,
            _ => return Err(InvalidPrecision::V1(s.to_owned())),
        })
    }

    /// Parses the v2 `/api/v2/write` parameter; empty means nanoseconds.
    pub fn parse_v2(s: &str) -> Result<Self, InvalidPrecision> {
        Ok(match s {
            "" | "ns" => Precision::Nanosecond,
            "us" => Precision::Microsecond,
            "ms" => Precision::Millisecond,
            "s" => Precision::Second,
            _ => return Err(InvalidPrecision::V2(s.to_owned())),
        })
    }

    /// Nanoseconds per unit.
    pub const fn multiplier(self) -> i64 {
        match self {
            Precision::Nanosecond => 1,
            Precision::Microsecond => 1_000,
            Precision::Millisecond => 1_000_000,
            Precision::Second => 1_000_000_000,
            Precision::Minute => 60_000_000_000,
            Precision::Hour => 3_600_000_000_000,
        }
    }

    /// Converts a timestamp in this precision to ns, `None` on overflow.
    pub fn to_nanos(self, ts: i64) -> Option<i64> {
        ts.checked_mul(self.multiplier())
    }

    /// Truncates a ns time down to this precision, as influxd does with the
    /// receive time given to lines without a timestamp.
    pub fn truncate(self, ns: i64) -> i64 {
        let m = self.multiplier();
        ns - ns.rem_euclid(m)
    }

    /// The v1 spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Precision::Nanosecond => "n",
            Precision::Microsecond => "u",
            Precision::Millisecond => "ms",
            Precision::Second => "s",
            Precision::Minute => "m",
            Precision::Hour => "h",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_spellings() {
        use Precision::*;
        let v1 = [
            ("", Nanosecond),
            ("n", Nanosecond),
            ("ns", Nanosecond),
            ("u", Microsecond),
            ("ms", Millisecond),
            ("s", Second),
            ("m", Minute),
            ("h", Hour),
        ];
        for (s, p) in v1 {
            assert_eq!(Precision::parse_v1(s), Ok(p), "{s}");
        }
        let v2 = [
            ("", Nanosecond),
            ("ns", Nanosecond),
            ("us", Microsecond),
            ("ms", Millisecond),
            ("s", Second),
        ];
        for (s, p) in v2 {
            assert_eq!(Precision::parse_v2(s), Ok(p), "{s}");
        }
        assert_eq!(
            Precision::parse_v1("us").unwrap_err().to_string(),
            r#"invalid precision "us" (use n, u, ms, s, m or h)"#
        );
        assert_eq!(
            Precision::parse_v2("h").unwrap_err().to_string(),
            r#"invalid precision "h" (use ns, us, ms or s)"#
        );
    }

    #[test]
    fn truncate_floors() {
        assert_eq!(Precision::Second.truncate(1_999_999_999), 1_000_000_000);
        assert_eq!(Precision::Second.truncate(-1), -1_000_000_000);
        assert_eq!(Precision::Nanosecond.truncate(17), 17);
        assert_eq!(Precision::Hour.to_nanos(i64::MAX / 2), None);
    }
}
