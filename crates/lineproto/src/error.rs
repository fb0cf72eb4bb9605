use std::fmt;
use std::ops::Range;

/// Longest key influxd accepts: measurement plus tags, and measurement plus
/// tags plus field key plus a 4-byte separator.
pub const MAX_KEY_LENGTH: usize = 65535;

/// Smallest and largest timestamps influxd accepts (the two extreme int64
/// values are reserved as sentinels).
pub const MIN_NANO_TIME: i64 = i64::MIN + 2;
pub const MAX_NANO_TIME: i64 = i64::MAX - 1;

/// Why a line was rejected. `Display` gives influxd's reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    MissingMeasurement,
    MissingFields,
    MissingTagKey,
    MissingTagValue,
    InvalidTagFormat,
    DuplicateTags,
    MissingFieldKey,
    MissingFieldValue,
    InvalidFieldFormat,
    UnbalancedQuotes,
    InvalidNumber,
    InvalidFloat,
    InvalidBoolean,
    /// An integer field outside int64; carries the digits as written.
    IntegerOutOfRange(String),
    /// An unsigned field outside uint64; carries the digits as written.
    UnsignedOutOfRange(String),
    /// A non-digit in the timestamp.
    BadTimestamp,
    /// A timestamp that is not an int64 (`-` alone, or out of range);
    /// carries the text and whether it was a syntax (not range) problem.
    TimestampUnparsable {
        text: String,
        syntax: bool,
    },
    /// A timestamp outside influxd's range once scaled to ns.
    TimeOutOfRange,
    /// Non-space bytes after the timestamp.
    TrailingGarbage,
    /// The series key (or series key plus a field key) is too long.
    MaxKeyLength(usize),
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The body is larger than 4 GiB (the parser's offsets are 32-bit).
    BodyTooLarge,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::MissingMeasurement => f.write_str("missing measurement"),
            ErrorKind::MissingFields => f.write_str("missing fields"),
            ErrorKind::MissingTagKey => f.write_str("missing tag key"),
            ErrorKind::MissingTagValue => f.write_str("missing tag value"),
            ErrorKind::InvalidTagFormat => f.write_str("invalid tag format"),
            ErrorKind::DuplicateTags => f.write_str("duplicate tags"),
            ErrorKind::MissingFieldKey => f.write_str("missing field key"),
            ErrorKind::MissingFieldValue => f.write_str("missing field value"),
            ErrorKind::InvalidFieldFormat => f.write_str("invalid field format"),
            ErrorKind::UnbalancedQuotes => f.write_str("unbalanced quotes"),
            ErrorKind::InvalidNumber => f.write_str("invalid number"),
            ErrorKind::InvalidFloat => f.write_str("invalid float"),
            ErrorKind::InvalidBoolean => f.write_str("invalid boolean"),
            ErrorKind::IntegerOutOfRange(d) => {
                write!(
                    f,
                    "unable to parse integer {d}: strconv.ParseInt: parsing {d:?}: value out of range"
                )
            }
            ErrorKind::UnsignedOutOfRange(d) => {
                write!(
                    f,
                    "unable to parse unsigned {d}: strconv.ParseUint: parsing {d:?}: value out of range"
                )
            }
            ErrorKind::BadTimestamp => f.write_str("bad timestamp"),
            ErrorKind::TimestampUnparsable { text, syntax } => {
                let why = if *syntax {
                    "invalid syntax"
                } else {
                    "value out of range"
                };
                write!(f, "strconv.ParseInt: parsing {text:?}: {why}")
            }
            ErrorKind::TimeOutOfRange => {
                write!(f, "time outside range {MIN_NANO_TIME} - {MAX_NANO_TIME}")
            }
            ErrorKind::TrailingGarbage => f.write_str("point is invalid"),
            ErrorKind::MaxKeyLength(n) => write!(f, "max key length exceeded: {n} > {MAX_KEY_LENGTH}"),
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ErrorKind::BodyTooLarge => f.write_str("body larger than 4294967295 bytes"),
        }
    }
}

/// A rejected line: where it is, why, and influxd's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number in the body, counting blank and comment lines.
    pub line_number: usize,
    /// Byte offset in the body where the problem was detected.
    pub offset: usize,
    /// Byte range of the line in the body, from its first non-blank byte,
    /// without the newline: the text influxd quotes.
    pub line: Range<usize>,
    pub kind: ErrorKind,
}

impl ParseError {
    /// influxd's message: `unable to parse '<line>': <reason>`. Invalid UTF-8
    /// in the line is replaced by U+FFFD so the message is always text.
    pub fn message(&self, body: &[u8]) -> String {
        let line = body.get(self.line.clone()).unwrap_or_default();
        format!(
            "unable to parse '{}': {}",
            String::from_utf8_lossy(line),
            self.kind
        )
    }
}
