use std::ops::Range;

use crate::{Field, FieldValue, ParseError, Tag, series_key};

/// A byte range of the body. 32-bit, so a body is at most 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    #[inline]
    pub(crate) fn new(start: usize, len: usize) -> Self {
        Self {
            start: start as u32,
            len: len as u32,
        }
    }

    #[inline]
    pub(crate) fn get(self, body: &[u8]) -> &[u8] {
        let start = self.start as usize;
        body.get(start..start + self.len as usize).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TagRec {
    pub(crate) key: Span,
    pub(crate) value: Span,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueRec {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(Span),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldRec {
    pub(crate) key: Span,
    pub(crate) value: ValueRec,
}

/// One non-blank, non-comment line: its point or its error.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    Point(u32),
    Error(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct PointSlot {
    pub(crate) measurement: Span,
    pub(crate) tags: Range<u32>,
    pub(crate) fields: Range<u32>,
    pub(crate) ts: i64,
    pub(crate) line_number: u32,
    pub(crate) key_len: u32,
}

/// The vectors a [`Batch`] lives in. They hold no borrow of the body, so a
/// server keeps one per worker and parses every request into it
/// ([`crate::parse_into`]), allocating nothing once warm.
#[derive(Debug, Default)]
pub struct Buffers {
    pub(crate) entries: Vec<Entry>,
    pub(crate) points: Vec<PointSlot>,
    pub(crate) tags: Vec<TagRec>,
    pub(crate) fields: Vec<FieldRec>,
    pub(crate) errors: Vec<ParseError>,
}

impl Buffers {
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.points.clear();
        self.tags.clear();
        self.fields.clear();
        self.errors.clear();
    }
}

/// The result of parsing one body: every line's point or error, in order.
///
/// Storage is columnar (all tags of the body in one vector, all fields in
/// another, as offsets into the body), so parsing a 5,000-line body fills a
/// handful of vectors rather than allocating per line; every name and
/// string borrows from the body.
#[derive(Debug)]
pub struct Batch<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) bufs: Buffers,
}

/// A parsed line.
#[derive(Debug, Clone, Copy)]
pub struct Point<'b, 'a> {
    slot: &'b PointSlot,
    batch: &'b Batch<'a>,
}

/// A line's outcome, in body order.
#[derive(Debug, Clone, Copy)]
pub enum LineOutcome<'b, 'a> {
    Point(Point<'b, 'a>),
    Error(&'b ParseError),
}

impl<'a> Batch<'a> {
    /// The body this batch borrows from.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Gives the vectors back for the next body.
    pub fn into_buffers(self) -> Buffers {
        self.bufs
    }

    /// Parsed points, in body order.
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point<'_, 'a>> + '_ {
        self.bufs
            .points
            .iter()
            .map(move |slot| Point { slot, batch: self })
    }

    /// Rejected lines, in body order.
    pub fn errors(&self) -> &[ParseError] {
        &self.bufs.errors
    }

    /// Every non-blank, non-comment line's outcome, in body order.
    pub fn lines(&self) -> impl Iterator<Item = LineOutcome<'_, 'a>> + '_ {
        self.bufs.entries.iter().map(move |e| match *e {
            Entry::Point(i) => LineOutcome::Point(Point {
                slot: &self.bufs.points[i as usize],
                batch: self,
            }),
            Entry::Error(i) => LineOutcome::Error(&self.bufs.errors[i as usize]),
        })
    }

    pub fn point_count(&self) -> usize {
        self.bufs.points.len()
    }

    /// influxd's error text for the whole body: every rejected line's
    /// message joined by newlines, or `None` when every line parsed.
    pub fn error_message(&self) -> Option<String> {
        if self.bufs.errors.is_empty() {
            return None;
        }
        let msgs: Vec<String> = self.bufs.errors.iter().map(|e| e.message(self.body)).collect();
        Some(msgs.join("\n"))
    }
}

impl<'b, 'a> Point<'b, 'a> {
    /// The measurement as written (escaped).
    pub fn measurement(&self) -> &'a [u8] {
        self.slot.measurement.get(self.batch.body)
    }

    /// Tags as written (escaped), sorted by key; keys are unique.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = Tag<'a>> + Clone + 'b {
        let body = self.batch.body;
        let range = self.slot.tags.start as usize..self.slot.tags.end as usize;
        self.batch.bufs.tags[range].iter().map(move |t| Tag {
            key: t.key.get(body),
            value: t.value.get(body),
        })
    }

    /// Fields as written (escaped keys), in line order. A key may repeat;
    /// the later value wins, as in influxd.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field<'a>> + Clone + 'b {
        let body = self.batch.body;
        let range = self.slot.fields.start as usize..self.slot.fields.end as usize;
        self.batch.bufs.fields[range].iter().map(move |f| Field {
            key: f.key.get(body),
            value: match f.value {
                ValueRec::Float(v) => FieldValue::Float(v),
                ValueRec::Integer(v) => FieldValue::Integer(v),
                ValueRec::Unsigned(v) => FieldValue::Unsigned(v),
                ValueRec::Boolean(v) => FieldValue::Boolean(v),
                ValueRec::String(s) => FieldValue::String(s.get(body)),
            },
        })
    }

    /// Timestamp in ns (the batch's receive time when the line had none).
    pub fn timestamp(&self) -> i64 {
        self.slot.ts
    }

    /// 1-based line number in the body.
    pub fn line_number(&self) -> usize {
        self.slot.line_number as usize
    }

    /// Length of the canonical series key in bytes.
    pub fn series_key_len(&self) -> usize {
        self.slot.key_len as usize
    }

    /// Appends the canonical series key (`measurement,k1=v1,k2=v2` with tags
    /// sorted by key, escaped as written) to `out`.
    pub fn write_series_key(&self, out: &mut Vec<u8>) {
        series_key::write(self.measurement(), self.tags(), out);
    }

    /// The canonical series key as a new vector.
    pub fn series_key(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.series_key_len());
        self.write_series_key(&mut out);
        out
    }
}
