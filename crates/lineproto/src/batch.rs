use std::ops::Range;

use crate::{Field, series_key};
use crate::{ParseError, Tag};

/// One non-blank, non-comment line: its point or its error.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    Point(u32),
    Error(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct PointSlot<'a> {
    pub(crate) measurement: &'a [u8],
    pub(crate) tags: Range<u32>,
    pub(crate) fields: Range<u32>,
    pub(crate) ts: i64,
    pub(crate) line_number: u32,
    pub(crate) key_len: u32,
}

/// The result of parsing one body: every line's point or error, in order.
///
/// Storage is columnar (all tags of the batch in one vector, all fields in
/// another), so parsing a 5,000-line body allocates a handful of vectors,
/// not one per line; every name and string borrows from the body.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) entries: Vec<Entry>,
    pub(crate) points: Vec<PointSlot<'a>>,
    pub(crate) tags: Vec<Tag<'a>>,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) errors: Vec<ParseError>,
}

/// A parsed line.
#[derive(Debug, Clone, Copy)]
pub struct Point<'b, 'a> {
    slot: &'b PointSlot<'a>,
    batch: &'b Batch<'a>,
}

/// A line's outcome, in body order.
#[derive(Debug, Clone, Copy)]
pub enum LineOutcome<'b, 'a> {
    Point(Point<'b, 'a>),
    Error(&'b ParseError),
}

impl<'a> Batch<'a> {
    pub(crate) fn with_capacity(body: &'a [u8], lines: usize) -> Self {
        Self {
            body,
            entries: Vec::with_capacity(lines),
            points: Vec::with_capacity(lines),
            tags: Vec::with_capacity(lines * 4),
            fields: Vec::with_capacity(lines * 4),
            errors: Vec::new(),
        }
    }

    /// The body this batch borrows from.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Parsed points, in body order.
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point<'_, 'a>> + '_ {
        self.points.iter().map(move |slot| Point { slot, batch: self })
    }

    /// Rejected lines, in body order.
    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }

    /// Every non-blank, non-comment line's outcome, in body order.
    pub fn lines(&self) -> impl Iterator<Item = LineOutcome<'_, 'a>> + '_ {
        self.entries.iter().map(move |e| match *e {
            Entry::Point(i) => LineOutcome::Point(Point {
                slot: &self.points[i as usize],
                batch: self,
            }),
            Entry::Error(i) => LineOutcome::Error(&self.errors[i as usize]),
        })
    }

    pub fn point_count(&self) -> usize {
        self.points.len()
    }

    /// influxd's error text for the whole body: every rejected line's
    /// message joined by newlines, or `None` when every line parsed.
    pub fn error_message(&self) -> Option<String> {
        if self.errors.is_empty() {
            return None;
        }
        let msgs: Vec<String> = self.errors.iter().map(|e| e.message(self.body)).collect();
        Some(msgs.join("\n"))
    }
}

impl<'b, 'a> Point<'b, 'a> {
    /// The measurement as written (escaped).
    pub fn measurement(&self) -> &'a [u8] {
        self.slot.measurement
    }

    /// Tags as written (escaped), sorted by key; keys are unique.
    pub fn tags(&self) -> &'b [Tag<'a>] {
        &self.batch.tags[self.slot.tags.start as usize..self.slot.tags.end as usize]
    }

    /// Fields as written (escaped keys), in line order. A key may repeat;
    /// the later value wins, as in influxd.
    pub fn fields(&self) -> &'b [Field<'a>] {
        &self.batch.fields[self.slot.fields.start as usize..self.slot.fields.end as usize]
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
