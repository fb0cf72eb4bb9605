//! Point → line protocol. Parsing what this writes gives back the same
//! point (the round-trip proptests hold it to that).

use std::io::Write as _;

use tandem_model::FieldValueRef;

use crate::{FieldValue, Point, escape};

/// Appends a parsed point as one line (with `\n`), names as written,
/// timestamp in ns.
pub fn write_point(point: &Point<'_, '_>, out: &mut Vec<u8>) {
    point.write_series_key(out);
    out.push(b' ');
    for (i, f) in point.fields().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f.key);
        out.push(b'=');
        write_raw_value(&f.value, out);
    }
    out.push(b' ');
    write_i64(point.timestamp(), out);
    out.push(b'\n');
}

fn write_raw_value(v: &FieldValue<'_>, out: &mut Vec<u8>) {
    match *v {
        FieldValue::Float(f) => write_float(f, out),
        FieldValue::Integer(i) => {
            write_i64(i, out);
            out.push(b'i');
        }
        FieldValue::Unsigned(u) => {
            let _ = write!(out, "{u}u");
        }
        FieldValue::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        // Re-escaped from the value: influxd's rule can leave an unescaped
        // quote in a value (`s="a"b` is `a"`), which must not be copied.
        FieldValue::String(raw) => {
            out.push(b'"');
            escape::escape_string(&escape::unescape_string(raw), out);
            out.push(b'"');
        }
    }
}

fn write_i64(v: i64, out: &mut Vec<u8>) {
    let _ = write!(out, "{v}");
}

/// Shortest text that parses back to exactly `f` (Rust's `Display` for
/// `f64` guarantees the round trip and never uses an exponent).
fn write_float(f: f64, out: &mut Vec<u8>) {
    let _ = write!(out, "{f}");
}

/// Appends an unescaped field value, escaping strings. NaN and infinities
/// have no line-protocol form; callers never hold them (the parser rejects
/// them), and they are written as `0` rather than producing an
/// unparsable line.
pub fn write_value(v: FieldValueRef<'_>, out: &mut Vec<u8>) {
    match v {
        FieldValueRef::Float(f) if f.is_finite() => write_float(f, out),
        FieldValueRef::Float(_) => out.push(b'0'),
        FieldValueRef::Integer(i) => {
            write_i64(i, out);
            out.push(b'i');
        }
        FieldValueRef::Unsigned(u) => {
            let _ = write!(out, "{u}u");
        }
        FieldValueRef::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        FieldValueRef::String(s) => {
            out.push(b'"');
            escape::escape_string(s.as_bytes(), out);
            out.push(b'"');
        }
    }
}

/// Builds lines from unescaped names and values.
///
/// Line protocol has no way to write some names, and this writer does not
/// invent one: a name that is empty, ends with a backslash, starts with `#`
/// (a comment), starts with a tab, or holds a newline comes back different
/// or not at all. Values (strings included) are always representable.
///
/// ```
/// use tandem_lineproto::LineWriter;
/// use tandem_model::FieldValueRef;
///
/// let mut w = LineWriter::new();
/// w.measurement("cpu load")
///     .tag("host", "a,b")
///     .field("value", FieldValueRef::Float(0.5))
///     .field("note", FieldValueRef::String("say \"hi\""))
///     .timestamp(10);
/// assert_eq!(w.as_bytes(), b"cpu\\ load,host=a\\,b value=0.5,note=\"say \\\"hi\\\"\" 10\n");
/// ```
#[derive(Debug, Default)]
pub struct LineWriter {
    buf: Vec<u8>,
    state: State,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    LineStart,
    Key,
    Fields,
}

impl LineWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a line. Tags must then be given in key order for the line's
    /// key to be canonical (the parser sorts them anyway).
    pub fn measurement(&mut self, name: &str) -> &mut Self {
        escape::escape_measurement(name.as_bytes(), &mut self.buf);
        self.state = State::Key;
        self
    }

    pub fn tag(&mut self, key: &str, value: &str) -> &mut Self {
        self.buf.push(b',');
        escape::escape_tag(key.as_bytes(), &mut self.buf);
        self.buf.push(b'=');
        escape::escape_tag(value.as_bytes(), &mut self.buf);
        self
    }

    pub fn field(&mut self, key: &str, value: FieldValueRef<'_>) -> &mut Self {
        self.buf
            .push(if self.state == State::Fields { b',' } else { b' ' });
        self.state = State::Fields;
        escape::escape_field_key(key.as_bytes(), &mut self.buf);
        self.buf.push(b'=');
        write_value(value, &mut self.buf);
        self
    }

    /// Ends the line with a ns timestamp.
    pub fn timestamp(&mut self, ns: i64) -> &mut Self {
        self.buf.push(b' ');
        write_i64(ns, &mut self.buf);
        self.end_line()
    }

    /// Ends the line without a timestamp.
    pub fn end_line(&mut self) -> &mut Self {
        self.buf.push(b'\n');
        self.state = State::LineStart;
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.state = State::LineStart;
    }
}
