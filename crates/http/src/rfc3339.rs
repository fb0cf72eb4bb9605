//! RFC 3339 timestamps (`2024-01-03T10:00:00Z`, `...T10:00:00.5+02:00`) as
//! nanoseconds since the epoch, for the `start`/`end` bounds of `/export`.

/// Parses an RFC 3339 date-time. `None` for anything else, including dates
/// that do not exist and instants outside the i64 nanosecond range.
pub fn parse_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // A leap second (60) is accepted as the last second of its minute.
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let second = second.min(59);

    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&tail[..n])? * 10i64.pow(9 - n as u32);
        rest = &tail[n..];
    }
    let offset_s = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let v = h * 3600 + m * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let secs =
        i128::from(days) * 86_400 + i128::from(hour * 3600 + minute * 60 + second) - i128::from(offset_s);
    i64::try_from(secs * 1_000_000_000 + i128::from(nanos)).ok()
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date: whole 400-year eras
/// (146097 days each) counted from a March-based year, so the leap day is
/// the last day of its year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let march_month = (month + 9) % 12;
    let day_of_year = (153 * march_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<i64>) {
        assert_eq!(parse_ns(input), expected, "{input:?}");
    }

    #[test]
    fn table() {
        let table: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01T00:00:01Z", Some(1_000_000_000)),
            ("1969-12-31T23:59:59Z", Some(-1_000_000_000)),
            ("2024-01-03T10:00:00Z", Some(1_704_276_000_000_000_000)),
            ("2024-01-03t10:00:00z", Some(1_704_276_000_000_000_000)),
            ("2024-01-03 10:00:00Z", Some(1_704_276_000_000_000_000)),
            ("2024-01-03T12:00:00+02:00", Some(1_704_276_000_000_000_000)),
            ("2024-01-03T09:30:00-00:30", Some(1_704_276_000_000_000_000)),
            ("2024-01-03T10:00:00.5Z", Some(1_704_276_000_500_000_000)),
            ("2024-01-03T10:00:00.000000001Z", Some(1_704_276_000_000_000_001)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000_000_000)),
            ("2000-02-29T00:00:00Z", Some(951_782_400_000_000_000)),
            ("2262-04-11T23:47:16.854775807Z", Some(i64::MAX)),
            ("1677-09-21T00:12:43.145224192Z", Some(i64::MIN)),
            ("2262-04-11T23:47:16.854775808Z", None),
            ("2023-02-29T00:00:00Z", None),
            ("1900-02-29T00:00:00Z", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-04-31T00:00:00Z", None),
            ("2024-01-03T24:00:00Z", None),
            ("2024-01-03T10:60:00Z", None),
            ("2024-01-03T10:00:61Z", None),
            ("2024-01-03T10:00:99Z", None),
            ("2016-12-31T23:59:60Z", Some(1_483_228_799_000_000_000)),
            ("2024-01-03T10:00:00", None),
            ("2024-01-03T10:00:00.Z", None),
            ("2024-01-03T10:00:00.1234567890Z", None),
            ("2024-01-03T10:00:00+0200", None),
            ("2024-01-03T10:00:00+24:00", None),
            ("2024-01-03", None),
            ("yesterday", None),
            ("", None),
            ("2024-01-03T10:00:00Zjunk", None),
            ("+024-01-03T10:00:00Z", None),
        ];
        for &(input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn never_panics_on_truncations() {
        let s = "2024-01-03T10:00:00.123456789+02:00";
        for end in 0..=s.len() {
            let _ = parse_ns(&s[..end]);
        }
    }
}
