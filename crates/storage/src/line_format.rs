//! A small line-protocol formatter for export (series keys are already
//! canonical escaped text and are emitted as they are).

use std::io::Write;

use tandem_model::FieldValue;

/// Appends `series field=value,... ts\n`. Fields are written in the order
/// given. Non-finite floats have no line-protocol form and are left out; a
/// line with no field left is not written. Returns whether a line was
/// written.
pub(crate) fn write_line<'a>(
    out: &mut Vec<u8>,
    series: &str,
    ts: i64,
    fields: impl IntoIterator<Item = (&'a str, &'a FieldValue)>,
) -> bool {
    let start = out.len();
    out.extend_from_slice(series.as_bytes());
    let mut sep = b' ';
    for (key, value) in fields {
        if let FieldValue::Float(f) = value
            && !f.is_finite()
        {
            continue;
        }
        out.push(sep);
        sep = b',';
        escape_field_key(out, key);
        out.push(b'=');
        write_value(out, value);
    }
    if sep == b' ' {
        out.truncate(start);
        return false;
    }
    let _ = writeln!(out, " {ts}");
    true
}

fn escape_field_key(out: &mut Vec<u8>, key: &str) {
    for &b in key.as_bytes() {
        if matches!(b, b',' | b'=' | b' ') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

fn write_value(out: &mut Vec<u8>, v: &FieldValue) {
    // Writing into a Vec cannot fail.
    let _ = match v {
        FieldValue::Float(f) => {
            let a = f.abs();
            if a == 0.0 || (1e-5..1e16).contains(&a) {
                write!(out, "{f}")
            } else {
                write!(out, "{f:e}")
            }
        }
        FieldValue::Integer(i) => write!(out, "{i}i"),
        FieldValue::Unsigned(u) => write!(out, "{u}u"),
        FieldValue::Boolean(b) => write!(out, "{b}"),
        FieldValue::String(s) => {
            out.push(b'"');
            for &b in s.as_bytes() {
                if matches!(b, b'"' | b'\\') {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_table() {
        let table: [(&str, FieldValue, &str); 10] = [
            ("f", FieldValue::Float(1.5), "m f=1.5 7\n"),
            ("f", FieldValue::Float(3.0), "m f=3 7\n"),
            ("f", FieldValue::Float(-0.0), "m f=-0 7\n"),
            ("f", FieldValue::Float(1e300), "m f=1e300 7\n"),
            ("f", FieldValue::Float(2.5e-7), "m f=2.5e-7 7\n"),
            ("i", FieldValue::Integer(-42), "m i=-42i 7\n"),
            ("u", FieldValue::Unsigned(42), "m u=42u 7\n"),
            ("b", FieldValue::Boolean(true), "m b=true 7\n"),
            (
                "s",
                FieldValue::String(r#"a"b\c"#.into()),
                "m s=\"a\\\"b\\\\c\" 7\n",
            ),
            ("k ,=", FieldValue::Integer(1), "m k\\ \\,\\==1i 7\n"),
        ];
        for (key, value, want) in table {
            let mut out = Vec::new();
            assert!(write_line(&mut out, "m", 7, [(key, &value)]));
            assert_eq!(String::from_utf8(out).unwrap(), want, "{value:?}");
        }
    }

    #[test]
    fn floats_round_trip_and_non_finite_are_skipped() {
        for f in [
            0.1,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            123456789.125,
            -9.99e-9,
        ] {
            let mut out = Vec::new();
            write_line(&mut out, "m", 0, [("f", &FieldValue::Float(f))]);
            let text = String::from_utf8(out).unwrap();
            let v: f64 = text["m f=".len()..text.len() - 3].parse().unwrap();
            assert_eq!(v, f, "{text}");
        }
        let mut out = Vec::new();
        let nan = FieldValue::Float(f64::NAN);
        let one = FieldValue::Integer(1);
        assert!(write_line(&mut out, "m", 1, [("a", &nan), ("b", &one)]));
        assert_eq!(out, b"m b=1i 1\n");
        out.clear();
        assert!(!write_line(&mut out, "m", 1, [("a", &nan)]));
        assert!(out.is_empty());
    }
}
