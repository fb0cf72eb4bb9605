//! The scanner. It follows influxd 1.x's `models/points.go` rule for rule
//! (which byte ends which section, which error wins), so a body is accepted
//! or rejected line by line exactly as influxd would, except for the
//! deliberate differences listed in the crate docs.

use memchr::{memchr, memchr2};

use crate::ParseOptions;
use crate::batch::{Batch, Buffers, Entry, FieldRec, PointSlot, Span, TagRec, ValueRec};
use crate::error::{ErrorKind, MAX_KEY_LENGTH, MAX_NANO_TIME, MIN_NANO_TIME, ParseError};

/// Bytes that can end a section of the series key.
const COMMA: u8 = 1;
const SPACE: u8 = 2;
const EQUALS: u8 = 4;

static KEY_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b',' as usize] = COMMA;
    t[b' ' as usize] = SPACE;
    t[b'=' as usize] = EQUALS;
    t
};

/// Finds, from `i`, the first byte of class `mask` that is not escaped in
/// influxd's key sense: a byte is escaped when the byte before it is a
/// backslash (whatever escaped that backslash).
#[inline]
fn find_unescaped(line: &[u8], mut i: usize, mask: u8) -> Option<usize> {
    loop {
        let rel = line
            .get(i..)?
            .iter()
            .position(|&b| KEY_CLASS[b as usize] & mask != 0)?;
        let at = i + rel;
        if at > 0 && line[at - 1] == b'\\' {
            i = at + 1;
            continue;
        }
        return Some(at);
    }
}

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0
}

#[inline]
fn skip_blank(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && is_blank(line[i]) {
        i += 1;
    }
    i
}

type LineResult<T> = Result<T, (usize, ErrorKind)>;

/// Per-body parser state.
pub(crate) struct Parser<'a> {
    body: &'a [u8],
    opts: ParseOptions,
    default_time: i64,
    /// First invalid UTF-8 byte at or after the current line, if any.
    next_bad_utf8: usize,
    /// Tag keys (in input order) of the last line whose tags needed sorting,
    /// and the order that sorted them: rows of one writer repeat the same
    /// unsorted tag order, so the sort is usually skipped.
    last_unsorted: Vec<&'a [u8]>,
    last_order: Vec<u32>,
    order: Vec<u32>,
    scratch: Vec<TagRec>,
    bufs: Buffers,
}

/// Equality of short names without a call into `memcmp`.
#[inline]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 24 {
        return a == b;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
fn key_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

fn first_invalid_utf8(body: &[u8], from: usize) -> usize {
    match std::str::from_utf8(&body[from.min(body.len())..]) {
        Ok(_) => usize::MAX,
        Err(e) => from + e.valid_up_to(),
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(body: &'a [u8], opts: ParseOptions, mut bufs: Buffers) -> Self {
        bufs.clear();
        Self {
            body,
            default_time: opts.precision.truncate(opts.default_time),
            opts,
            next_bad_utf8: first_invalid_utf8(body, 0),
            last_unsorted: Vec::new(),
            last_order: Vec::new(),
            order: Vec::new(),
            scratch: Vec::new(),
            bufs,
        }
    }

    pub(crate) fn run(mut self) -> Batch<'a> {
        let body = self.body;
        if u32::try_from(body.len()).is_err() {
            // Spans are 32-bit; such a body is refused whole.
            self.bufs.entries.push(Entry::Error(0));
            let end = body.len().min(64);
            self.bufs.errors.push(ParseError {
                line_number: 1,
                offset: 0,
                line: 0..end,
                kind: ErrorKind::BodyTooLarge,
            });
            return Batch {
                body,
                bufs: self.bufs,
            };
        }
        let mut pos = 0;
        let mut line_number = 1usize;
        while pos < body.len() {
            let (end, newlines_inside) = self.line_end(pos);
            let line_start_number = line_number;
            line_number += newlines_inside + 1;
            // A line that a quote kept open to the end of the body ends with
            // the body's last newline; influxd drops it before parsing.
            let trimmed_end = if end > pos && body[end - 1] == b'\n' {
                end - 1
            } else {
                end
            };
            let block = &body[pos..trimmed_end];
            let start = skip_blank(block, 0);
            if start < block.len() && block[start] != b'#' {
                self.parse_and_record(pos + start, trimmed_end, line_start_number);
            }
            if self.next_bad_utf8 < end {
                self.next_bad_utf8 = first_invalid_utf8(body, end);
            }
            pos = end + 1;
        }
        Batch {
            body,
            bufs: self.bufs,
        }
    }

    /// End (exclusive, at the `\n` or the body end) of the line starting at
    /// `pos`, and how many newlines it contains (inside quoted strings or
    /// escaped).
    #[inline]
    fn line_end(&self, pos: usize) -> (usize, usize) {
        let body = self.body;
        let nl = memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i);
        if memchr2(b'"', b'\\', &body[pos..nl]).is_none() {
            return (nl, 0);
        }
        self.line_end_slow(pos)
    }

    /// influxd's `scanLine`: a newline inside a quoted field value, or right
    /// after a backslash, does not end the line. The escape test looks two
    /// bytes ahead in the whole body, as influxd's does.
    fn line_end_slow(&self, mut i: usize) -> (usize, usize) {
        let buf = self.body;
        let start = i;
        let (mut quoted, mut fields) = (false, false);
        let (mut equals, mut commas) = (0usize, 0usize);
        while i < buf.len() {
            let b = buf[i];
            if b == b'\\' && i + 2 < buf.len() {
                i += 2;
                continue;
            }
            if b == b' ' {
                fields = true;
            }
            if fields {
                if !quoted && b == b'=' {
                    equals += 1;
                    i += 1;
                    continue;
                } else if !quoted && b == b',' {
                    commas += 1;
                    i += 1;
                    continue;
                } else if b == b'"' && equals > commas {
                    quoted = !quoted;
                    i += 1;
                    continue;
                }
            }
            if b == b'\n' && !quoted {
                break;
            }
            i += 1;
        }
        let inside = memchr::memchr_iter(b'\n', &buf[start..i]).count();
        (i, inside)
    }

    fn parse_and_record(&mut self, start: usize, end: usize, line_number: usize) {
        let line = &self.body[start..end];
        let (t0, f0) = (self.bufs.tags.len(), self.bufs.fields.len());
        let result = self.parse_line(line, start, line_number).and_then(|slot| {
            if self.next_bad_utf8 < end {
                Err((self.next_bad_utf8 - start, ErrorKind::InvalidUtf8))
            } else {
                Ok(slot)
            }
        });
        match result {
            Ok(slot) => {
                self.bufs
                    .entries
                    .push(Entry::Point(self.bufs.points.len() as u32));
                self.bufs.points.push(slot);
            }
            Err((at, kind)) => {
                self.bufs.tags.truncate(t0);
                self.bufs.fields.truncate(f0);
                self.bufs
                    .entries
                    .push(Entry::Error(self.bufs.errors.len() as u32));
                self.bufs.errors.push(ParseError {
                    line_number,
                    offset: start + at,
                    line: start..end,
                    kind,
                });
            }
        }
    }

    /// Parses one line (leading blanks already skipped, no newline) that
    /// starts at `base` in the body.
    fn parse_line(&mut self, line: &'a [u8], base: usize, line_number: usize) -> LineResult<PointSlot> {
        let tags_start = self.bufs.tags.len();
        let (measurement, mut i) = scan_measurement(line)?;
        if i < line.len() && line[i] == b',' {
            i = self.scan_tags(line, base, i + 1, tags_start)?;
        }
        // `i` is at the space that ends the key.
        let key_len = i;
        if key_len > MAX_KEY_LENGTH {
            return Err((i, ErrorKind::MaxKeyLength(key_len)));
        }
        let fields_start = self.bufs.fields.len();
        i = self.scan_fields(line, base, i)?;
        for f in &self.bufs.fields[fields_start..] {
            let size = key_len + 4 + f.key.len as usize;
            if size > MAX_KEY_LENGTH {
                return Err((i, ErrorKind::MaxKeyLength(size)));
            }
        }
        let ts = self.scan_time(line, i)?;
        Ok(PointSlot {
            measurement: Span::new(base, measurement.len()),
            tags: tags_start as u32..self.bufs.tags.len() as u32,
            fields: fields_start as u32..self.bufs.fields.len() as u32,
            ts,
            line_number: line_number as u32,
            key_len: key_len as u32,
        })
    }

    /// Tags from `i` (just after the measurement's comma) to the space that
    /// ends the key; returns that space's position. Leaves the tags sorted
    /// by key in `bufs.tags[tags_start..]`.
    fn scan_tags(
        &mut self,
        line: &'a [u8],
        base: usize,
        mut i: usize,
        tags_start: usize,
    ) -> LineResult<usize> {
        // Whether the keys so far repeat those of the last unsorted line.
        let mut like_last = true;
        let mut n = 0;
        loop {
            // Key: first byte may not be a separator; ends at an unescaped '='.
            if i >= line.len() || KEY_CLASS[line[i] as usize] != 0 {
                return Err((i, ErrorKind::MissingTagKey));
            }
            let key_start = i;
            let eq = match find_unescaped(line, i + 1, COMMA | SPACE | EQUALS) {
                None => return Err((line.len(), ErrorKind::MissingTagValue)),
                Some(at) if line[at] != b'=' => return Err((at, ErrorKind::MissingTagValue)),
                Some(at) => at,
            };
            i = eq + 1;
            // Value: may not start with ',' or ' ' (a leading '=' is
            // accepted, as influxd does); ends at an unescaped ',' or ' '.
            if i >= line.len() || line[i] == b',' || line[i] == b' ' {
                return Err((i, ErrorKind::MissingTagValue));
            }
            let value_start = i;
            let stop = match find_unescaped(line, i + 1, COMMA | SPACE | EQUALS) {
                None => return Err((line.len(), ErrorKind::MissingFields)),
                Some(at) if line[at] == b'=' => return Err((at, ErrorKind::InvalidTagFormat)),
                Some(at) => at,
            };
            like_last = like_last
                && self
                    .last_unsorted
                    .get(n)
                    .is_some_and(|k| short_eq(k, &line[key_start..eq]));
            self.bufs.tags.push(TagRec {
                key: Span::new(base + key_start, eq - key_start),
                value: Span::new(base + value_start, stop - value_start),
            });
            n += 1;
            i = stop;
            if line[stop] == b' ' {
                break;
            }
            i += 1;
        }
        // influxd checks order and duplicates only once every tag scanned.
        if like_last && n == self.last_unsorted.len() {
            self.apply_last_order(tags_start);
        } else {
            self.sort_tags(tags_start).map_err(|kind| (i, kind))?;
        }
        Ok(i)
    }

    /// Checks the tags are sorted with unique keys, sorting them (and
    /// remembering the order) when they are not.
    fn sort_tags(&mut self, tags_start: usize) -> Result<(), ErrorKind> {
        let body = self.body;
        let tags = &self.bufs.tags[tags_start..];
        let mut sorted = true;
        for w in tags.windows(2) {
            match key_cmp(w[0].key.get(body), w[1].key.get(body)) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(ErrorKind::DuplicateTags),
                std::cmp::Ordering::Greater => {
                    sorted = false;
                    break;
                }
            }
        }
        if sorted {
            return Ok(());
        }
        self.order.clear();
        self.order.extend(0..tags.len() as u32);
        self.order.sort_unstable_by(|&a, &b| {
            key_cmp(tags[a as usize].key.get(body), tags[b as usize].key.get(body))
        });
        if self
            .order
            .windows(2)
            .any(|w| tags[w[0] as usize].key.get(body) == tags[w[1] as usize].key.get(body))
        {
            return Err(ErrorKind::DuplicateTags);
        }
        self.last_unsorted.clear();
        self.last_unsorted.extend(tags.iter().map(|t| t.key.get(body)));
        std::mem::swap(&mut self.order, &mut self.last_order);
        self.apply_last_order(tags_start);
        Ok(())
    }

    fn apply_last_order(&mut self, tags_start: usize) {
        let tags = &mut self.bufs.tags[tags_start..];
        self.scratch.clear();
        self.scratch
            .extend(self.last_order.iter().map(|&k| tags[k as usize]));
        tags.copy_from_slice(&self.scratch);
    }

    /// influxd's `scanFields`, recording each field. `i` is at the space
    /// after the key; returns the position after the fields section.
    fn scan_fields(&mut self, line: &'a [u8], base: usize, i: usize) -> LineResult<usize> {
        let start = skip_blank(line, i);
        let mut i = start;
        let (mut equals, mut commas) = (0usize, 0usize);
        let mut key_start = start;
        'section: while i < line.len() {
            // Field key: up to an unescaped '='. A ',' or ' ' first means a
            // key without value; influxd keeps scanning and reports the
            // mismatch of '=' and ',' counts at the end.
            let eq = loop {
                let Some(rel) = line[i..]
                    .iter()
                    .position(|&b| matches!(b, b'=' | b',' | b' ' | b'\\'))
                else {
                    i = line.len();
                    break 'section;
                };
                i += rel;
                match line[i] {
                    b'\\' if i + 1 < line.len() => i += 2,
                    b'\\' => i += 1,
                    b',' => {
                        commas += 1;
                        i += 1;
                        key_start = i;
                    }
                    b' ' => break 'section,
                    _ => break i,
                }
            };
            equals += 1;
            if key_start == eq {
                return Err((eq, ErrorKind::MissingFieldKey));
            }
            let v = eq + 1;
            let Some(&first) = line.get(v) else {
                return Err((eq, ErrorKind::MissingFieldValue));
            };
            let (end, value) = match first {
                b',' | b' ' => return Err((eq, ErrorKind::MissingFieldValue)),
                b'0'..=b'9' | b'.' | b'-' | b'N' | b'n' => scan_number(line, v, self.opts.allow_unsigned)?,
                b'"' => scan_string(line, base, v)?,
                _ => scan_boolean(line, v)?,
            };
            self.bufs.fields.push(FieldRec {
                key: Span::new(base + key_start, eq - key_start),
                value,
            });
            i = end;
            match line.get(i) {
                Some(b',') => {
                    commas += 1;
                    i += 1;
                    key_start = i;
                }
                _ => break,
            }
        }
        if equals == 0 || commas != equals - 1 {
            return Err((i, ErrorKind::InvalidFieldFormat));
        }
        Ok(i)
    }

    /// influxd's `scanTime` plus its conversion and range checks.
    fn scan_time(&self, line: &[u8], i: usize) -> LineResult<i64> {
        let start = skip_blank(line, i);
        let mut i = start;
        while i < line.len() {
            let b = line[i];
            if b == b' ' || b == b'\n' {
                break;
            }
            if !(b.is_ascii_digit() || (i == start && b == b'-')) {
                return Err((i, ErrorKind::BadTimestamp));
            }
            i += 1;
        }
        if i == start {
            return Ok(self.default_time);
        }
        let text = &line[start..i];
        let ts = parse_i64(text).map_err(|syntax| {
            let text = String::from_utf8_lossy(text).into_owned();
            (start, ErrorKind::TimestampUnparsable { text, syntax })
        })?;
        let ns = self
            .opts
            .precision
            .to_nanos(ts)
            .ok_or((start, ErrorKind::TimeOutOfRange))?;
        if !(MIN_NANO_TIME..=MAX_NANO_TIME).contains(&ns) {
            return Err((start, ErrorKind::TimeOutOfRange));
        }
        if let Some(rel) = line[i..].iter().position(|&b| b != b' ') {
            return Err((i + rel, ErrorKind::TrailingGarbage));
        }
        Ok(ns)
    }
}

/// The measurement, and the position of the unescaped ',' or ' ' ending it.
#[inline]
fn scan_measurement(line: &[u8]) -> LineResult<(&[u8], usize)> {
    if line.is_empty() || line[0] == b',' {
        return Err((0, ErrorKind::MissingMeasurement));
    }
    match find_unescaped(line, 1, COMMA | SPACE) {
        Some(at) => Ok((&line[..at], at)),
        None => Err((line.len(), ErrorKind::MissingFields)),
    }
}

/// Parses an optionally negative decimal int64. `Err(true)` is a syntax
/// error, `Err(false)` a range error (strconv's two failure kinds).
fn parse_i64(text: &[u8]) -> Result<i64, bool> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(true);
    }
    let mut acc: u64 = 0;
    for &d in digits {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(d - b'0')))
            .ok_or(false)?;
    }
    if neg {
        if acc > i64::MAX as u64 + 1 {
            return Err(false);
        }
        Ok((acc as i64).wrapping_neg())
    } else {
        i64::try_from(acc).map_err(|_| false)
    }
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    let mut acc: u64 = 0;
    for &d in digits {
        acc = acc
            .checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))?;
    }
    Some(acc)
}

/// influxd's `scanNumber`, also producing the value. `start` is the first
/// byte of the value.
fn scan_number(line: &[u8], start: usize, allow_unsigned: bool) -> LineResult<(usize, ValueRec)> {
    let mut i = start;
    let negative = line[i] == b'-';
    if negative {
        i += 1;
        if i == line.len() {
            return Err((i, ErrorKind::InvalidNumber));
        }
    }
    // Fast path: plain digits ending in 'i' (the common integer field).
    let digits_start = i;
    while i < line.len() && line[i].is_ascii_digit() {
        i += 1;
    }
    if i > digits_start
        && i - digits_start < 19
        && line.get(i) == Some(&b'i')
        && matches!(line.get(i + 1), None | Some(b',' | b' '))
    {
        let magnitude = parse_u64(&line[digits_start..i]).unwrap_or(0) as i64;
        let v = if negative { -magnitude } else { magnitude };
        return Ok((i + 1, ValueRec::Integer(v)));
    }
    i = if negative { start + 1 } else { start };
    let (mut decimal, mut scientific, mut is_int, mut is_unsigned) = (false, false, false, false);
    while i < line.len() {
        let b = line[i];
        if b == b',' || b == b' ' {
            break;
        }
        if b == b'i' && i > start && !(is_int || is_unsigned) {
            is_int = true;
            i += 1;
            continue;
        }
        if b == b'u' && i > start && !(is_int || is_unsigned) {
            is_unsigned = true;
            i += 1;
            continue;
        }
        if b == b'.' {
            if decimal {
                return Err((i, ErrorKind::InvalidNumber));
            }
            decimal = true;
        }
        if i > start && (b == b'e' || b == b'E') {
            scientific = true;
            i += 1;
            continue;
        }
        if (b == b'+' || b == b'-') && matches!(line[i - 1], b'e' | b'E') {
            i += 1;
            continue;
        }
        if !(b.is_ascii_digit() || b == b'.') {
            return Err((i, ErrorKind::InvalidNumber));
        }
        i += 1;
    }
    if (is_int || is_unsigned) && (decimal || scientific) {
        return Err((i, ErrorKind::InvalidNumber));
    }
    let digits = i - start - usize::from(is_int) - usize::from(decimal) - usize::from(negative);
    if digits == 0 {
        return Err((i, ErrorKind::InvalidNumber));
    }
    let text = &line[start..i];
    if is_int {
        if line[i - 1] != b'i' {
            return Err((i, ErrorKind::InvalidNumber));
        }
        let digits = &text[..text.len() - 1];
        return match parse_i64(digits) {
            Ok(v) => Ok((i, ValueRec::Integer(v))),
            Err(_) => Err((
                start,
                ErrorKind::IntegerOutOfRange(String::from_utf8_lossy(digits).into_owned()),
            )),
        };
    }
    if is_unsigned {
        if !allow_unsigned || line[i - 1] != b'u' || negative {
            return Err((i, ErrorKind::InvalidNumber));
        }
        let digits = &text[..text.len() - 1];
        return match parse_u64(digits) {
            Some(v) if digits.iter().all(u8::is_ascii_digit) => Ok((i, ValueRec::Unsigned(v))),
            Some(_) => Err((i, ErrorKind::InvalidNumber)),
            None => Err((
                start,
                ErrorKind::UnsignedOutOfRange(String::from_utf8_lossy(digits).into_owned()),
            )),
        };
    }
    // The grammar above admits only ASCII digits, '.', 'e', 'E', '+', '-'.
    let parsed = std::str::from_utf8(text).ok().and_then(|s| s.parse::<f64>().ok());
    match parsed {
        Some(v) if v.is_finite() => Ok((i, ValueRec::Float(v))),
        _ => Err((start, ErrorKind::InvalidFloat)),
    }
}

/// influxd's `scanBoolean`: `t T true True TRUE f F false False FALSE`.
fn scan_boolean(line: &[u8], start: usize) -> LineResult<(usize, ValueRec)> {
    let end = line[start..]
        .iter()
        .position(|&b| b == b',' || b == b' ')
        .map_or(line.len(), |p| start + p);
    let value = match &line[start..end] {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => true,
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => false,
        _ => return Err((start, ErrorKind::InvalidBoolean)),
    };
    Ok((end, ValueRec::Boolean(value)))
}

/// A quoted string value; `start` is at the opening quote. As in influxd,
/// the value runs to the next `,` or space outside quotes (a backslash
/// escapes whatever follows it, every `"` toggles quoting), and its content
/// is everything between its first and last byte: `s="a"` gives `a`, and
/// the CRLF line `s="a"\r` gives `a"`, exactly what influxd stores.
fn scan_string(line: &[u8], base: usize, start: usize) -> LineResult<(usize, ValueRec)> {
    let mut i = start + 1;
    let mut quoted = true;
    while i < line.len() {
        if quoted {
            // Inside quotes only a quote or a backslash matters.
            let Some(rel) = memchr2(b'"', b'\\', &line[i..]) else {
                i = line.len();
                break;
            };
            i += rel;
        }
        match line[i] {
            b'\\' if i + 1 < line.len() => i += 2,
            b'"' => {
                quoted = !quoted;
                i += 1;
            }
            b',' | b' ' if !quoted => break,
            _ => i += 1,
        }
    }
    if quoted {
        return Err((line.len(), ErrorKind::UnbalancedQuotes));
    }
    // Dropping a last byte that is not the closing quote can cut a
    // character in two; influxd would store the broken bytes, tandem
    // stores text (deliberate difference 1).
    if line[i - 1] != b'"' && std::str::from_utf8(&line[start + 1..i - 1]).is_err() {
        return Err((i - 1, ErrorKind::InvalidUtf8));
    }
    Ok((i, ValueRec::String(Span::new(base + start + 1, i - start - 2))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_limits() {
        let table: [(&[u8], Result<i64, bool>); 8] = [
            (b"0", Ok(0)),
            (b"-0", Ok(0)),
            (b"9223372036854775807", Ok(i64::MAX)),
            (b"-9223372036854775808", Ok(i64::MIN)),
            (b"9223372036854775808", Err(false)),
            (b"-9223372036854775809", Err(false)),
            (b"-", Err(true)),
            (b"", Err(true)),
        ];
        for (text, want) in table {
            assert_eq!(parse_i64(text), want, "{}", String::from_utf8_lossy(text));
        }
    }
}
