//! Stored points in one canonical form, so what two servers stored can be
//! compared: a sorted list of cells (measurement, tags, field, typed value,
//! time in ns), names and values unescaped.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;

use tandem_lineproto::{FieldValue, ParseOptions, Precision, escape, parse};

/// A typed field value. Floats compare by their bits (what was stored, not
/// what prints alike).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Float(u64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(String),
}

impl Value {
    pub fn float(v: f64) -> Value {
        Value::Float(v.to_bits())
    }

    /// influxd's name of the type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Float(_) => "float",
            Value::Integer(_) => "integer",
            Value::Unsigned(_) => "unsigned",
            Value::Boolean(_) => "boolean",
            Value::String(_) => "string",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Float(bits) => write!(f, "{:?} (float)", f64::from_bits(*bits)),
            Value::Integer(v) => write!(f, "{v} (integer)"),
            Value::Unsigned(v) => write!(f, "{v} (unsigned)"),
            Value::Boolean(v) => write!(f, "{v} (boolean)"),
            Value::String(v) => write!(f, "{v:?} (string)"),
        }
    }
}

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub measurement: String,
    /// Sorted by key.
    pub tags: BTreeMap<String, String>,
    pub field: String,
    pub time: i64,
    pub value: Value,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.measurement)?;
        for (k, v) in &self.tags {
            write!(f, ",{k:?}={v:?}")?;
        }
        write!(f, " {:?}={} @{}", self.field, self.value, self.time)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The cells of a line-protocol body (e.g. an `/export`) parsed at
/// `precision`. Panics on a line that does not parse: an export must be
/// valid line protocol.
pub fn from_line_protocol(body: &[u8], precision: Precision) -> Vec<Cell> {
    from_line_protocol_stamped(body, precision, 0)
}

/// [`from_line_protocol`], giving lines without a timestamp the time
/// `stamped`.
pub fn from_line_protocol_stamped(body: &[u8], precision: Precision, stamped: i64) -> Vec<Cell> {
    let batch = parse(
        body,
        ParseOptions {
            precision,
            default_time: stamped,
            allow_unsigned: true,
        },
    );
    if let Some(e) = batch.error_message() {
        panic!("not valid line protocol: {e}");
    }
    let mut cells = Vec::new();
    for p in batch.points() {
        let measurement = text(&escape::unescape_measurement(p.measurement()));
        let tags: BTreeMap<String, String> = p
            .tags()
            .map(|t| {
                (
                    text(&escape::unescape_tag(t.key)),
                    text(&escape::unescape_tag(t.value)),
                )
            })
            .collect();
        for f in p.fields() {
            let value = match f.value {
                FieldValue::Float(v) => Value::float(v),
                FieldValue::Integer(v) => Value::Integer(v),
                FieldValue::Unsigned(v) => Value::Unsigned(v),
                FieldValue::Boolean(v) => Value::Boolean(v),
                FieldValue::String(s) => Value::String(text(&escape::unescape_string(s))),
            };
            cells.push(Cell {
                measurement: measurement.clone(),
                tags: tags.clone(),
                field: text(&escape::unescape_field_key(f.key)),
                time: p.timestamp(),
                value,
            });
        }
    }
    cells.sort();
    cells
}

/// What differs between two sorted cell lists (at most `limit` lines).
pub fn diff(left_name: &str, left: &[Cell], right_name: &str, right: &[Cell], limit: usize) -> String {
    let l: std::collections::BTreeSet<&Cell> = left.iter().collect();
    let r: std::collections::BTreeSet<&Cell> = right.iter().collect();
    let mut out = Vec::new();
    for c in l.difference(&r).take(limit) {
        out.push(format!("only {left_name}: {c}"));
    }
    for c in r.difference(&l).take(limit) {
        out.push(format!("only {right_name}: {c}"));
    }
    if out.is_empty() && left.len() != right.len() {
        out.push(format!(
            "{left_name} has {} cells, {right_name} {} (duplicates)",
            left.len(),
            right.len()
        ));
    }
    out.join("\n")
}
