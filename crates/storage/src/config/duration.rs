//! influxd-style durations (`"0s"`, `"250ms"`, `"10m"`, `"4h"`, `"1h30m"`)
//! for serde.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).ok_or_else(|| serde::de::Error::custom(format!("invalid duration {text:?}")))
}

/// Parses a sequence of `<integer><unit>` terms; units ns, us, µs, ms, s, m, h, d.
pub(crate) fn parse(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => Duration::from_nanos(n),
            "us" | "µs" => Duration::from_micros(n),
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86400)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// The shortest exact rendering in the largest unit that divides it.
pub(crate) fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    let units: [(u128, &str); 5] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
    ];
    if ns == 0 {
        return "0s".to_owned();
    }
    for (size, name) in units {
        if ns.is_multiple_of(size) {
            return format!("{}{name}", ns / size);
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let table: [(&str, Option<Duration>); 10] = [
            ("0s", Some(Duration::ZERO)),
            ("0", Some(Duration::ZERO)),
            ("250ms", Some(Duration::from_millis(250))),
            ("10m", Some(Duration::from_secs(600))),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("7µs", Some(Duration::from_micros(7))),
            ("", None),
            ("5", None),
            ("ms", None),
            ("3x", None),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), want, "{text}");
            if let Some(d) = want {
                assert_eq!(parse(&format(d)), Some(d), "{text}");
            }
        }
    }
}
