//! influxd 1.x escaping rules. Names are kept escaped as written (that is
//! the series-key form); these turn them into what they mean and back.
//!
//! | element      | escaped on write      | unescaped on read           |
//! |--------------|-----------------------|-----------------------------|
//! | measurement  | `,` and space         | `\,` `\=` `\ ` `\"`         |
//! | tag key/value| `,` `=` and space     | `\,` `\=` `\ `              |
//! | field key    | `,` `=` and space     | `\,` `\=` `\ ` `\"`         |
//! | string value | `"` and `\`           | `\"` `\\`                   |
//!
//! A backslash before any other byte is a literal backslash; in names, `\\`
//! stays two backslashes (influxd 1.x does not unescape it).

use std::borrow::Cow;

fn unescape_with<'a>(raw: &'a [u8], specials: &[u8]) -> Cow<'a, [u8]> {
    if memchr::memchr(b'\\', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() && specials.contains(&raw[i + 1]) {
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn escape_with(name: &[u8], specials: &[u8], out: &mut Vec<u8>) {
    for &b in name {
        if specials.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Unescapes a measurement name (influxd's `Name()`: the same four escapes
/// as a field key).
pub fn unescape_measurement(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, b",= \"")
}

/// Unescapes a tag key or tag value.
pub fn unescape_tag(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, b",= ")
}

/// Unescapes a field key.
pub fn unescape_field_key(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, b",= \"")
}

/// Unescapes the content of a quoted string field value.
pub fn unescape_string(raw: &[u8]) -> Cow<'_, [u8]> {
    unescape_with(raw, b"\"\\")
}

/// Appends an escaped measurement name.
pub fn escape_measurement(name: &[u8], out: &mut Vec<u8>) {
    escape_with(name, b", ", out);
}

/// Appends an escaped tag key or tag value.
pub fn escape_tag(name: &[u8], out: &mut Vec<u8>) {
    escape_with(name, b",= ", out);
}

/// Appends an escaped field key.
pub fn escape_field_key(name: &[u8], out: &mut Vec<u8>) {
    escape_with(name, b",= ", out);
}

/// Appends the escaped content of a string value (without the quotes).
pub fn escape_string(value: &[u8], out: &mut Vec<u8>) {
    escape_with(value, b"\"\\", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_table() {
        type Unescape = fn(&[u8]) -> Cow<'_, [u8]>;
        let table: [(Unescape, &str, &str); 13] = [
            (unescape_measurement, r"cpu", "cpu"),
            (unescape_measurement, r"c\,p\ u", "c,p u"),
            (unescape_measurement, r"c\=pu", "c=pu"),
            (unescape_measurement, r#"c\"pu"#, r#"c"pu"#),
            (unescape_measurement, r"c\\pu", r"c\\pu"),
            (unescape_tag, r"a\,b\=c\ d", "a,b=c d"),
            (unescape_tag, r"a\\,b", r"a\,b"),
            (unescape_tag, r"a\", r"a\"),
            (unescape_field_key, r#"f\"x\=y"#, r#"f"x=y"#),
            (unescape_string, r#"say \"hi\""#, r#"say "hi""#),
            (unescape_string, r"a\\b", r"a\b"),
            (unescape_string, r"a\\\\b", r"a\\b"),
            (unescape_string, r"a\nb", r"a\nb"),
        ];
        for (f, raw, want) in table {
            assert_eq!(f(raw.as_bytes()).as_ref(), want.as_bytes(), "{raw}");
        }
    }

    #[test]
    fn escape_then_unescape_is_identity() {
        let names = ["plain", "with space", "a,b", "k=v", r#"q"uote"#, r"back\slash"];
        for n in names {
            let mut out = Vec::new();
            escape_tag(n.as_bytes(), &mut out);
            assert_eq!(unescape_tag(&out).as_ref(), n.as_bytes(), "{n}");
            out.clear();
            escape_string(n.as_bytes(), &mut out);
            assert_eq!(unescape_string(&out).as_ref(), n.as_bytes(), "{n}");
        }
    }
}
