//! The compact encoding of a batch of points bound for one shard.
//!
//! A coordinator parses line protocol once, then encodes each shard's points
//! into a [`PointsBuf`]. The same bytes travel over gRPC, into the WAL and
//! into hinted-handoff queues; nothing downstream re-parses text.
//!
//! Series keys and field keys are interned per batch (a TSBS batch of 5,000
//! lines has about 1,000 distinct series and 10 field keys), so a point costs
//! its timestamp, its values and a few small indexes.
//!
//! Format version 1, all integers little-endian:
//!
//! ```text
//! magic      b"TP"
//! format     u8 = 1
//! n_series   u32, then n_series × { len: u32, canonical escaped series key }
//! n_keys     u32, then n_keys   × { len: u16, unescaped field key }
//! n_points   u32, then n_points × { series: u32, ts: i64, n: u16, len: u32,
//!                                  n × { key: u32, type: u8, value } }
//!            (`len` is the byte length of the n fields, so points can be
//!            skipped without decoding them)
//! value      float/integer/unsigned: 8 bytes; boolean: 1 byte;
//!            string: len u32 + UTF-8 bytes
//! ```
//!
//! Within one batch a later occurrence of the same (series, time, field)
//! overrides an earlier one, as influxd does for duplicate points in a body.
//!
//! Format version 2 is the same with a 16-byte big-endian [`Version`] after
//! each field's key index: rows read back from storage (export, copy-shard,
//! repair), whose fields may each carry their own version.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::{FieldType, FieldValueRef, Version};

const MAGIC: &[u8; 2] = b"TP";
const FORMAT_V1: u8 = 1;
const FORMAT_V2: u8 = 2;
const NONE: u32 = u32::MAX;

/// Why bytes could not be decoded as a [`PointsBuf`]. Only a peer bug or
/// corruption produces one; the receiving node rejects the whole buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("points buffer: bad magic")]
    BadMagic,
    #[error("points buffer: unsupported format version {0}")]
    UnsupportedFormat(u8),
    #[error("points buffer: truncated at byte {0}")]
    Truncated(usize),
    #[error("points buffer: {0} index out of range at byte {1}")]
    IndexOutOfRange(&'static str, usize),
    #[error("points buffer: unknown field type tag {0} at byte {1}")]
    UnknownFieldType(u8, usize),
    #[error("points buffer: invalid UTF-8 at byte {0}")]
    InvalidUtf8(usize),
    #[error("points buffer: {0} trailing bytes")]
    TrailingBytes(usize),
}

/// An owned, encoded batch of points. Cheap to clone when wrapped in an
/// `Arc`/`Bytes` by the caller; this type just owns the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PointsBuf {
    bytes: Vec<u8>,
    points: u32,
}

impl PointsBuf {
    /// Takes ownership of bytes after validating them.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, DecodeError> {
        let points = PointsView::new(&bytes)?.len() as u32;
        Ok(Self { bytes, points })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.points as usize
    }

    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// A view for iteration. The buffer was validated when it was built, so
    /// this cannot fail.
    pub fn view(&self) -> PointsView<'_> {
        match PointsView::new(&self.bytes) {
            Ok(v) => v,
            // Unreachable: every constructor validates or builds well-formed
            // bytes. An empty view is the harmless answer if it ever happened.
            Err(_) => PointsView::empty(),
        }
    }
}

/// Identity hasher for keys that already are good hashes (fnv64a series
/// hashes computed by the caller for shard routing).
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PrehashedMap = HashMap<u64, u32, BuildHasherDefault<PrehashedKey>>;

/// Builds a [`PointsBuf`], interning series and field keys.
#[derive(Debug, Default)]
pub struct PointsBufBuilder {
    series: Vec<u8>,
    series_count: u32,
    /// Start offset of each series key inside `series` (after its length).
    series_offsets: Vec<(u32, u32)>,
    series_chain: Vec<u32>,
    series_index: PrehashedMap,

    keys: Vec<Vec<u8>>,
    key_index: HashMap<Vec<u8>, u32>,
    /// Field key indexes of the previous point: rows usually repeat the same
    /// keys in the same order, so position `i` is tried first.
    last_keys: Vec<u32>,

    points: Vec<u8>,
    point_count: u32,
    /// Format 2: every field carries its own version.
    versioned: bool,
}

impl PointsBufBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for rows whose fields carry their own versions (format 2);
    /// use [`PointsBufBuilder::push_versioned`].
    pub fn versioned() -> Self {
        Self {
            versioned: true,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.point_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.point_count == 0
    }

    /// Approximate encoded size so far, for chunking and byte budgets.
    pub fn encoded_len(&self) -> usize {
        16 + self.series.len() + self.keys.iter().map(|k| k.len() + 2).sum::<usize>() + self.points.len()
    }

    /// Appends one point. `series_hash` must be a hash of `series_key` (the
    /// fnv64a the coordinator routes by); it is only used for interning.
    ///
    /// Field keys longer than `u16::MAX` bytes are impossible after line
    /// protocol validation (the key length limit is 65535), so they are
    /// truncated rather than panicking.
    pub fn push<'a>(
        &mut self,
        series_key: &[u8],
        series_hash: u64,
        ts: i64,
        fields: impl IntoIterator<Item = (&'a [u8], FieldValueRef<'a>)>,
    ) {
        self.push_fields(
            series_key,
            series_hash,
            ts,
            fields.into_iter().map(|(k, v)| (k, v, None)),
        );
    }

    /// Appends one row whose fields carry their own versions. Only for a
    /// builder made with [`PointsBufBuilder::versioned`]; on a plain builder
    /// the versions are left out.
    pub fn push_versioned<'a>(
        &mut self,
        series_key: &[u8],
        series_hash: u64,
        ts: i64,
        fields: impl IntoIterator<Item = (&'a [u8], FieldValueRef<'a>, Version)>,
    ) {
        self.push_fields(
            series_key,
            series_hash,
            ts,
            fields.into_iter().map(|(k, v, ver)| (k, v, Some(ver))),
        );
    }

    fn push_fields<'a>(
        &mut self,
        series_key: &[u8],
        series_hash: u64,
        ts: i64,
        fields: impl Iterator<Item = (&'a [u8], FieldValueRef<'a>, Option<Version>)>,
    ) {
        let series = self.intern_series(series_key, series_hash);
        self.points.extend_from_slice(&series.to_le_bytes());
        self.points.extend_from_slice(&ts.to_le_bytes());
        let count_at = self.points.len();
        self.points.extend_from_slice(&[0u8; 6]);
        let mut n: u16 = 0;
        for (i, (key, value, version)) in fields.enumerate() {
            if n == u16::MAX {
                break;
            }
            let key_idx = self.intern_key(i, key);
            self.points.extend_from_slice(&key_idx.to_le_bytes());
            if self.versioned {
                self.points
                    .extend_from_slice(&version.unwrap_or_default().to_bytes());
            }
            self.points.push(value.field_type().tag());
            match value {
                FieldValueRef::Float(v) => self.points.extend_from_slice(&v.to_bits().to_le_bytes()),
                FieldValueRef::Integer(v) => self.points.extend_from_slice(&v.to_le_bytes()),
                FieldValueRef::Unsigned(v) => self.points.extend_from_slice(&v.to_le_bytes()),
                FieldValueRef::Boolean(v) => self.points.push(u8::from(v)),
                FieldValueRef::String(s) => {
                    self.points.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    self.points.extend_from_slice(s.as_bytes());
                }
            }
            n += 1;
        }
        let fields_len = (self.points.len() - count_at - 6) as u32;
        self.points[count_at..count_at + 2].copy_from_slice(&n.to_le_bytes());
        self.points[count_at + 2..count_at + 6].copy_from_slice(&fields_len.to_le_bytes());
        self.point_count += 1;
    }

    fn intern_series(&mut self, key: &[u8], hash: u64) -> u32 {
        let mut idx = self.series_index.get(&hash).copied().unwrap_or(NONE);
        while idx != NONE {
            let (start, len) = self.series_offsets[idx as usize];
            if &self.series[start as usize..(start + len) as usize] == key {
                return idx;
            }
            idx = self.series_chain[idx as usize];
        }
        let new = self.series_count;
        let head = self.series_index.insert(hash, new).unwrap_or(NONE);
        self.series_chain.push(head);
        self.series.extend_from_slice(&(key.len() as u32).to_le_bytes());
        let start = self.series.len() as u32;
        self.series.extend_from_slice(key);
        self.series_offsets.push((start, key.len() as u32));
        self.series_count += 1;
        new
    }

    fn intern_key(&mut self, position: usize, key: &[u8]) -> u32 {
        let key = &key[..key.len().min(u16::MAX as usize)];
        if let Some(&idx) = self.last_keys.get(position)
            && self.keys[idx as usize] == key
        {
            return idx;
        }
        let idx = match self.key_index.get(key) {
            Some(&idx) => idx,
            None => {
                let idx = self.keys.len() as u32;
                self.keys.push(key.to_vec());
                self.key_index.insert(key.to_vec(), idx);
                idx
            }
        };
        if position < self.last_keys.len() {
            self.last_keys[position] = idx;
        } else {
            self.last_keys.push(idx);
        }
        idx
    }

    pub fn finish(self) -> PointsBuf {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.push(if self.versioned { FORMAT_V2 } else { FORMAT_V1 });
        out.extend_from_slice(&self.series_count.to_le_bytes());
        out.extend_from_slice(&self.series);
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for k in &self.keys {
            out.extend_from_slice(&(k.len() as u16).to_le_bytes());
            out.extend_from_slice(k);
        }
        out.extend_from_slice(&self.point_count.to_le_bytes());
        out.extend_from_slice(&self.points);
        PointsBuf {
            bytes: out,
            points: self.point_count,
        }
    }
}

/// A validated, borrowed view of an encoded batch.
#[derive(Debug, Clone)]
pub struct PointsView<'a> {
    series: Vec<&'a str>,
    keys: Vec<&'a str>,
    points: &'a [u8],
    count: u32,
    versioned: bool,
}

/// One decoded point.
#[derive(Debug, Clone)]
pub struct PointRef<'v> {
    /// Canonical escaped series key (`measurement,tag=value,...`).
    pub series_key: &'v str,
    /// Index of the series key within the batch: equal indexes mean equal
    /// series keys.
    pub series_index: u32,
    /// Timestamp in ns since the epoch.
    pub ts: i64,
    fields: FieldIter<'v>,
}

/// One decoded field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldRef<'a> {
    /// Unescaped field key.
    pub key: &'a str,
    pub value: FieldValueRef<'a>,
    /// The field's own version (format 2 only).
    pub version: Option<Version>,
}

#[derive(Clone)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DecodeError::Truncated(self.pos)),
        }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn str(&mut self, len: usize) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        std::str::from_utf8(self.take(len)?).map_err(|_| DecodeError::InvalidUtf8(at))
    }
}

impl<'a> PointsView<'a> {
    fn empty() -> Self {
        Self {
            series: Vec::new(),
            keys: Vec::new(),
            points: &[],
            count: 0,
            versioned: false,
        }
    }

    /// Validates the whole buffer once; iteration afterwards cannot fail.
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor { buf, pos: 0 };
        if c.take(2).map_err(|_| DecodeError::BadMagic)? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let format = c.u8()?;
        if format != FORMAT_V1 && format != FORMAT_V2 {
            return Err(DecodeError::UnsupportedFormat(format));
        }
        let versioned = format == FORMAT_V2;
        let n_series = c.u32()? as usize;
        // Each entry needs at least 4 bytes, which bounds the allocation by
        // the input size whatever the count claims.
        let mut series = Vec::with_capacity(n_series.min(buf.len() / 4));
        for _ in 0..n_series {
            let len = c.u32()? as usize;
            series.push(c.str(len)?);
        }
        let n_keys = c.u32()? as usize;
        let mut keys = Vec::with_capacity(n_keys.min(buf.len() / 2));
        for _ in 0..n_keys {
            let len = c.u16()? as usize;
            keys.push(c.str(len)?);
        }
        let count = c.u32()?;
        let start = c.pos;
        for _ in 0..count {
            let at = c.pos;
            if c.u32()? as usize >= series.len() {
                return Err(DecodeError::IndexOutOfRange("series", at));
            }
            c.u64()?;
            let n = c.u16()?;
            let len = c.u32()? as usize;
            let fields_start = c.pos;
            for _ in 0..n {
                let at = c.pos;
                if c.u32()? as usize >= keys.len() {
                    return Err(DecodeError::IndexOutOfRange("field key", at));
                }
                if versioned {
                    c.take(Version::ENCODED_LEN)?;
                }
                let at = c.pos;
                let tag = c.u8()?;
                match FieldType::from_tag(tag) {
                    Some(FieldType::Float | FieldType::Integer | FieldType::Unsigned) => {
                        c.take(8)?;
                    }
                    Some(FieldType::Boolean) => {
                        if c.u8()? > 1 {
                            return Err(DecodeError::UnknownFieldType(tag, at));
                        }
                    }
                    Some(FieldType::String) => {
                        let len = c.u32()? as usize;
                        c.str(len)?;
                    }
                    None => return Err(DecodeError::UnknownFieldType(tag, at)),
                }
            }
            if c.pos - fields_start != len {
                return Err(DecodeError::IndexOutOfRange("fields length", fields_start));
            }
        }
        if c.pos != buf.len() {
            return Err(DecodeError::TrailingBytes(buf.len() - c.pos));
        }
        Ok(Self {
            series,
            keys,
            points: &buf[start..],
            count,
            versioned,
        })
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The distinct series keys of the batch, indexed by
    /// [`PointRef::series_index`].
    pub fn series_keys(&self) -> &[&'a str] {
        &self.series
    }

    /// The distinct field keys of the batch.
    pub fn field_keys(&self) -> &[&'a str] {
        &self.keys
    }

    /// Whether fields carry their own versions (format 2).
    pub fn is_versioned(&self) -> bool {
        self.versioned
    }

    pub fn iter(&self) -> PointIter<'_> {
        PointIter {
            series: &self.series,
            keys: &self.keys,
            versioned: self.versioned,
            cursor: Cursor {
                buf: self.points,
                pos: 0,
            },
            left: self.count,
        }
    }
}

/// Iterator over the points of a [`PointsView`].
pub struct PointIter<'v> {
    series: &'v [&'v str],
    keys: &'v [&'v str],
    versioned: bool,
    cursor: Cursor<'v>,
    left: u32,
}

impl<'v> Iterator for PointIter<'v> {
    type Item = PointRef<'v>;

    fn next(&mut self) -> Option<PointRef<'v>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The view validated every byte; a failure here would mean a bug, and
        // ending the iteration is the non-panicking answer.
        let c = &mut self.cursor;
        let series_index = c.u32().ok()?;
        let ts = c.u64().ok()? as i64;
        let n = c.u16().ok()?;
        let len = c.u32().ok()? as usize;
        let fields = c.take(len).ok()?;
        Some(PointRef {
            series_key: self.series.get(series_index as usize)?,
            series_index,
            ts,
            fields: FieldIter {
                keys: self.keys,
                versioned: self.versioned,
                cursor: Cursor { buf: fields, pos: 0 },
                left: n,
            },
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl<'v> PointRef<'v> {
    pub fn fields(&self) -> FieldIter<'v> {
        self.fields.clone()
    }
}

/// Iterator over the fields of one point.
#[derive(Clone)]
pub struct FieldIter<'v> {
    keys: &'v [&'v str],
    versioned: bool,
    cursor: Cursor<'v>,
    left: u16,
}

impl std::fmt::Debug for FieldIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl<'v> Iterator for FieldIter<'v> {
    type Item = FieldRef<'v>;

    fn next(&mut self) -> Option<FieldRef<'v>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let c = &mut self.cursor;
        let key = *self.keys.get(c.u32().ok()? as usize)?;
        let version = if self.versioned {
            Some(Version::from_bytes(c.array().ok()?))
        } else {
            None
        };
        let value = match FieldType::from_tag(c.u8().ok()?)? {
            FieldType::Float => FieldValueRef::Float(f64::from_bits(c.u64().ok()?)),
            FieldType::Integer => FieldValueRef::Integer(c.u64().ok()? as i64),
            FieldType::Unsigned => FieldValueRef::Unsigned(c.u64().ok()?),
            FieldType::Boolean => FieldValueRef::Boolean(c.u8().ok()? == 1),
            FieldType::String => {
                let len = c.u32().ok()? as usize;
                FieldValueRef::String(c.str(len).ok()?)
            }
        };
        Some(FieldRef { key, value, version })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::FieldValue;

    type Row = (String, i64, Vec<(String, FieldValue)>);

    fn encode(rows: &[Row]) -> PointsBuf {
        let mut b = PointsBufBuilder::new();
        for (series, ts, fields) in rows {
            // A deliberately weak hash exercises the collision chains.
            let hash = series.len() as u64 % 3;
            b.push(
                series.as_bytes(),
                hash,
                *ts,
                fields.iter().map(|(k, v)| (k.as_bytes(), v.as_ref())),
            );
        }
        b.finish()
    }

    fn decode(buf: &PointsBuf) -> Vec<Row> {
        buf.view()
            .iter()
            .map(|p| {
                let fields = p
                    .fields()
                    .map(|f| (f.key.to_owned(), f.value.to_owned_value()))
                    .collect();
                (p.series_key.to_owned(), p.ts, fields)
            })
            .collect()
    }

    fn value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(FieldValue::Float),
            any::<i64>().prop_map(FieldValue::Integer),
            any::<u64>().prop_map(FieldValue::Unsigned),
            ".{0,8}".prop_map(FieldValue::String),
            any::<bool>().prop_map(FieldValue::Boolean),
        ]
    }

    fn rows() -> impl Strategy<Value = Vec<Row>> {
        let series = prop::sample::select(vec!["cpu", "cpu,host=a", "mem,host=b,region=x", "disk"]);
        let field = ("[a-c]{1,2}", value()).prop_map(|(k, v)| (k, v));
        prop::collection::vec(
            (series, any::<i64>(), prop::collection::vec(field, 0..4))
                .prop_map(|(s, t, f)| (s.to_owned(), t, f)),
            0..20,
        )
    }

    proptest! {
        #[test]
        fn round_trip(rows in rows()) {
            let buf = encode(&rows);
            prop_assert_eq!(buf.len(), rows.len());
            prop_assert_eq!(decode(&buf), rows.clone());
            let again = PointsBuf::from_bytes(buf.as_bytes().to_vec()).unwrap();
            prop_assert_eq!(decode(&again), rows);
        }

        #[test]
        fn corrupt_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = PointsView::new(&bytes).map(|v| v.iter().map(|p| p.fields().count()).sum::<usize>());
        }

        #[test]
        fn truncation_is_detected(rows in rows(), cut in any::<prop::sample::Index>()) {
            let buf = encode(&rows);
            let bytes = buf.as_bytes();
            let cut = cut.index(bytes.len());
            prop_assert!(PointsView::new(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn versioned_rows_round_trip() {
        let v = |n| Version {
            hlc_ns: n,
            node: 2,
            seq: 3,
        };
        let mut b = PointsBufBuilder::versioned();
        b.push_versioned(
            b"cpu,host=a",
            1,
            10,
            [
                (&b"usage"[..], FieldValueRef::Integer(5), v(7)),
                (&b"idle"[..], FieldValueRef::Float(0.5), v(9)),
            ],
        );
        b.push_versioned(
            b"cpu,host=b",
            2,
            11,
            [(&b"note"[..], FieldValueRef::String("x"), v(1))],
        );
        let buf = PointsBuf::from_bytes(b.finish().into_bytes()).unwrap();
        let view = buf.view();
        assert!(view.is_versioned());
        let got: Vec<(String, i64, String, Option<Version>)> = view
            .iter()
            .flat_map(|p| {
                let (s, ts) = (p.series_key.to_owned(), p.ts);
                p.fields()
                    .map(move |f| (s.clone(), ts, f.key.to_owned(), f.version))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("cpu,host=a".into(), 10, "usage".into(), Some(v(7))),
                ("cpu,host=a".into(), 10, "idle".into(), Some(v(9))),
                ("cpu,host=b".into(), 11, "note".into(), Some(v(1))),
            ]
        );
        let plain = encode(&[("m".into(), 1, vec![("f".into(), FieldValue::Boolean(true))])]);
        assert!(!plain.view().is_versioned());
        assert_eq!(
            plain
                .view()
                .iter()
                .next()
                .unwrap()
                .fields()
                .next()
                .unwrap()
                .version,
            None
        );
    }

    #[test]
    fn interning_dedupes_series_and_keys() {
        let rows: Vec<Row> = (0..10)
            .map(|i| {
                (
                    "cpu,host=a".to_owned(),
                    i,
                    vec![("usage".to_owned(), FieldValue::Integer(i))],
                )
            })
            .collect();
        let buf = encode(&rows);
        let view = buf.view();
        assert_eq!(view.series_keys(), ["cpu,host=a"]);
        assert_eq!(view.field_keys(), ["usage"]);
    }

    #[test]
    fn rejects_foreign_bytes() {
        let table: [(&[u8], DecodeError); 4] = [
            (b"", DecodeError::BadMagic),
            (b"XX\x01", DecodeError::BadMagic),
            (b"TP\x03", DecodeError::UnsupportedFormat(3)),
            (b"TP\x01\x00", DecodeError::Truncated(3)),
        ];
        for (bytes, want) in table {
            assert_eq!(PointsView::new(bytes).unwrap_err(), want, "{bytes:?}");
        }
    }
}
