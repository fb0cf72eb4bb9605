//! Reading canonical series keys (`measurement,tag=value,...`, escaped as in
//! line protocol) to fill Parquet tag columns and to name measurements.
//!
//! A backslash escapes the byte after it when looking for separators, as the
//! line-protocol scanner does; unescaping turns only `\,` `\ ` (and `\=` in
//! tags) into the plain character and leaves other backslashes alone.

use std::borrow::Cow;

/// Byte offset of the first `sep` not escaped by a backslash.
fn find_unescaped(s: &str, sep: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == sep => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The escaped measurement prefix of a series key.
pub(crate) fn measurement(key: &str) -> &str {
    match find_unescaped(key, b',') {
        Some(i) => &key[..i],
        None => key,
    }
}

/// The (escaped key, escaped value) tag pairs of a series key. A malformed
/// pair without `=` yields an empty value rather than failing: the key came
/// from a validated batch, and the column is only informational.
pub(crate) fn tags(key: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = match find_unescaped(key, b',') {
        Some(i) => &key[i + 1..],
        None => "",
    };
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let pair = match find_unescaped(rest, b',') {
            Some(i) => {
                let p = &rest[..i];
                rest = &rest[i + 1..];
                p
            }
            None => std::mem::take(&mut rest),
        };
        Some(match find_unescaped(pair, b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, ""),
        })
    })
}

/// Unescapes a measurement (`\,` and `\ `).
pub(crate) fn unescape_measurement(s: &str) -> Cow<'_, str> {
    unescape(s, b", ")
}

/// Unescapes a tag key or value (`\,`, `\ ` and `\=`).
pub(crate) fn unescape_tag(s: &str) -> Cow<'_, str> {
    unescape(s, b", =")
}

fn unescape<'a>(s: &'a str, escapable: &[u8]) -> Cow<'a, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && n.is_ascii()
            && escapable.contains(&(n as u8))
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    #[test]
    fn split_and_unescape_table() {
        let table: [(&str, Want<'_>); 6] = [
            ("cpu", ("cpu", "cpu", &[])),
            (
                "cpu,host=a,region=x",
                ("cpu", "cpu", &[("host", "a"), ("region", "x")]),
            ),
            (
                r"my\ cpu\,x,h\=k=v\,1\ 2",
                (r"my\ cpu\,x", "my cpu,x", &[("h=k", "v,1 2")]),
            ),
            (r"m,k=a\\b", ("m", "m", &[("k", r"a\\b")])),
            (r"m,k=a\=b", ("m", "m", &[("k", "a=b")])),
            ("m,bad", ("m", "m", &[("bad", "")])),
        ];
        for (key, (meas, meas_plain, want_tags)) in table {
            assert_eq!(measurement(key), meas, "{key}");
            assert_eq!(unescape_measurement(measurement(key)), meas_plain, "{key}");
            let got: Vec<(String, String)> = tags(key)
                .map(|(k, v)| (unescape_tag(k).into_owned(), unescape_tag(v).into_owned()))
                .collect();
            let want: Vec<(String, String)> = want_tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(got, want, "{key}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for key in ["\\", "a\\", ",", ",,", "=", "a,=", "a,b=\\", "é\\é,ü=\\ü"] {
            let _ = measurement(key);
            let _: Vec<_> = tags(key)
                .map(|(k, v)| (unescape_tag(k), unescape_tag(v)))
                .collect();
        }
    }
}
