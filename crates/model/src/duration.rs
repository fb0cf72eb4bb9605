//! Durations in config files, written the way influxd writes them
//! (`"10s"`, `"500ms"`, `"168h0m0s"`, `"1.5h"`): Go's `time.ParseDuration`
//! grammar. Use with `#[serde(with = "tandem_model::duration")]`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// A duration string that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?} (use e.g. \"10s\", \"500ms\", \"1h30m\")")]
pub struct InvalidDuration(pub String);

/// Parses `[0-9.]+(ns|us|µs|ms|s|m|h)` repeated, or a bare `0`.
pub fn parse(text: &str) -> Result<Duration, InvalidDuration> {
    let err = || InvalidDuration(text.to_owned());
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut rest = s;
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        total_ns += value * scale;
        rest = &rest[unit_len..];
    }
    if !total_ns.is_finite() || total_ns > u64::MAX as f64 {
        return Err(err());
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

/// Formats like Go's `Duration.String()`: `"0s"`, `"500ms"`, `"10s"`,
/// `"1m30s"`, `"168h0m0s"`.
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_owned();
    }
    if ns < 1_000_000_000 {
        return if ns.is_multiple_of(1_000_000) {
            format!("{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1_000) {
            format!("{}us", ns / 1_000)
        } else {
            format!("{ns}ns")
        };
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let s_text = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{:09}", frac);
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => s_text,
        (0, m) => format!("{m}m{s_text}"),
        (h, m) => format!("{h}h{m}m{s_text}"),
    }
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_grammar() {
        let ok = [
            ("0", 0),
            ("0s", 0),
            ("10s", 10_000_000_000),
            ("500ms", 500_000_000),
            ("1.5h", 5_400_000_000_000),
            ("168h0m0s", 604_800_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("250us", 250_000),
            ("250µs", 250_000),
            ("7ns", 7),
        ];
        for (text, ns) in ok {
            assert_eq!(parse(text), Ok(Duration::from_nanos(ns)), "{text}");
        }
        for bad in ["", "10", "s", "10x", "-1s", "1..5s", "h1"] {
            assert!(parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["0s", "500ms", "10s", "1m30s", "168h0m0s", "1.5s", "250us", "7ns"] {
            let d = parse(text).unwrap();
            assert_eq!(format(d), text);
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }
}
