//! InfluxDB line protocol, parsed the way influxd 1.x parses it.
//!
//! ```
//! use tandem_lineproto::{parse, FieldValue, ParseOptions, Precision};
//!
//! let body = b"cpu,host=a,region=eu usage=0.5,count=3i 1700000000\n# comment\ncpu usage=\n";
//! let opts = ParseOptions { precision: Precision::Second, default_time: 0, allow_unsigned: false };
//! let batch = parse(body, opts);
//! let point = batch.points().next().unwrap();
//! assert_eq!(point.series_key(), b"cpu,host=a,region=eu");
//! assert_eq!(point.fields().nth(1).unwrap().value, FieldValue::Integer(3));
//! assert_eq!(point.timestamp(), 1_700_000_000_000_000_000);
//! let err = &batch.errors()[0];
//! assert_eq!(err.line_number, 3);
//! assert_eq!(err.message(body), "unable to parse 'cpu usage=': missing field value");
//! ```
//!
//! # What it does
//!
//! - Works on bytes, zero-copy: names and strings borrow from the body and
//!   stay escaped as written until a caller unescapes them ([`escape`]).
//! - Every non-blank, non-comment line gets an outcome ([`Batch::lines`]):
//!   a [`Point`], or a [`ParseError`] with the 1-based line number (blank and
//!   comment lines count), the byte offset, a typed [`ErrorKind`] and
//!   influxd's message `unable to parse '<line>': <reason>`.
//! - Lines without a timestamp get [`ParseOptions::default_time`] truncated
//!   to the precision: one receive time per batch, as influxd does.
//! - Tags come out sorted by key, so [`Point::write_series_key`] gives the
//!   canonical series key influxd keys series by, and [`fnv64a`] its hash.
//! - [`serialize`] writes points back; parse → serialize → parse is the
//!   identity.
//! - It never panics, whatever the input (fuzzed; see `fuzz/`).
//!
//! # Where it follows influxd to the letter
//!
//! Line splitting (a newline inside a quoted string value, or after a
//! backslash, does not end a line), which byte ends each section, influxd's
//! escape rule for keys (a byte is escaped when the byte before it is a
//! backslash), CRLF (the `\r` is part of the line, so `cpu v=1\r` is
//! `invalid number` and `cpu v=1 10\r` is `bad timestamp`), number grammar
//! and range checks, boolean spellings, timestamp range
//! (`-9223372036854775806..=9223372036854775806` ns), key length limits, and
//! which error wins when a line has several.
//!
//! # Deliberate differences from influxd 1.x
//!
//! 1. Invalid UTF-8 anywhere in a line rejects the line (`invalid UTF-8`);
//!    influxd accepts it in field values and, depending on version and
//!    `validate-keys`, in names. tandem's storage and JSON need text.
//! 2. A field key that is empty because it follows a tab or NUL
//!    (`cpu \t=1`) is `missing field key`; influxd stores a nameless field.
//! 3. A field key's end is found with proper escapes (`\\` then `=` ends the
//!    key) both when checking and when reading the key; influxd's reader uses
//!    the key rule above and can disagree with its own checker.
//!
//! String values follow influxd even where its rule is odd: bytes after the
//! closing quote up to the next `,`/space belong to the value, and the value
//! is everything between its first and last byte, so `s="a"b` stores `a"`
//! and a CRLF line ending in a string field, `s="a"\r`, stores `a"`.
//!
//! Unsigned integers (`1u`) are accepted only with
//! [`ParseOptions::allow_unsigned`]: influxd 1.x rejects them by default,
//! the v2 API accepts them.

mod batch;
mod error;
pub mod escape;
mod parser;
mod precision;
pub mod semantics;
pub mod serialize;
mod series_key;

pub use batch::{Batch, Buffers, LineOutcome, Point};
pub use error::{ErrorKind, MAX_KEY_LENGTH, MAX_NANO_TIME, MIN_NANO_TIME, ParseError};
pub use precision::{InvalidPrecision, Precision};
pub use serialize::LineWriter;
pub use series_key::fnv64a;

/// How to parse a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Unit of the timestamps in the body.
    pub precision: Precision,
    /// Receive time in ns for lines without a timestamp; truncated to
    /// `precision` as influxd does.
    pub default_time: i64,
    /// Accept `1u` unsigned integers (v2 API) or reject them as
    /// `invalid number` (influxd 1.x default).
    pub allow_unsigned: bool,
}

/// A tag as written (escaped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// A field as written: the key escaped, numbers and booleans decoded, string
/// content escaped (see [`escape::unescape_string`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field<'a> {
    pub key: &'a [u8],
    pub value: FieldValue<'a>,
}

/// A decoded field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    /// The content between the quotes, still escaped.
    String(&'a [u8]),
}

impl FieldValue<'_> {
    pub fn field_type(&self) -> tandem_model::FieldType {
        use tandem_model::FieldType;
        match self {
            FieldValue::Float(_) => FieldType::Float,
            FieldValue::Integer(_) => FieldType::Integer,
            FieldValue::Unsigned(_) => FieldType::Unsigned,
            FieldValue::Boolean(_) => FieldType::Boolean,
            FieldValue::String(_) => FieldType::String,
        }
    }
}

/// Parses a whole body. Never fails as a whole: each line's outcome is in
/// the returned [`Batch`].
pub fn parse(body: &[u8], opts: ParseOptions) -> Batch<'_> {
    parse_into(body, opts, Buffers::default())
}

/// [`parse`] reusing the vectors of an earlier batch
/// ([`Batch::into_buffers`]).
pub fn parse_into(body: &[u8], opts: ParseOptions, buffers: Buffers) -> Batch<'_> {
    parser::Parser::new(body, opts, buffers).run()
}
