//! A shard's in-memory cache: every cell written since the last snapshot,
//! unsorted and unresolved, in compact columns.
//!
//! Series keys are interned once per cache (one hash per distinct series per
//! batch, not per point); each series holds one column per field; a cell is
//! 24 bytes (timestamp, index of the batch that wrote it, value bits).
//! Sorting and the convergence rule are applied when the cache is frozen
//! into a snapshot ([`frozen`]), off the write path.

pub(crate) mod frozen;

use std::collections::HashMap;
use std::sync::Arc;

use tandem_model::{FieldType, FieldValueRef, PointsView, Version};

use crate::FieldTypeConflict;
use crate::fields::{FieldId, FieldRegistry};
use crate::series_key;
use crate::wal::Lsn;

const NONE: u32 = u32::MAX;
/// Rough heap cost of a series entry and of a column beyond their cells.
const SERIES_OVERHEAD: usize = 96;
const COLUMN_OVERHEAD: usize = 32;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    pub ts: i64,
    /// Index into `applies`: which batch application wrote the cell.
    pub apply: u32,
    /// f64 bits, i64/u64 bits, 0/1, or an offset into the string arena.
    pub bits: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Column {
    pub field: FieldId,
    pub cells: Vec<Cell>,
}

#[derive(Debug)]
pub(crate) struct SeriesCells {
    pub key: Arc<str>,
    pub columns: Vec<Column>,
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    index: HashMap<Arc<str>, u32>,
    series: Vec<SeriesCells>,
    applies: Vec<Version>,
    strings: Vec<u8>,
    bytes: usize,
    lines: u64,
    cells: usize,
    columns: usize,
    /// Initial capacity of new columns: the previous cache's average column
    /// length, so steady workloads do not regrow every column from zero.
    column_hint: usize,
    pub first_lsn: Option<Lsn>,
    pub last_lsn: Option<Lsn>,
}

/// What one batch did to the cache.
#[derive(Debug, Default)]
pub(crate) struct ApplyOutcome {
    pub written: usize,
    pub dropped: usize,
    pub first_conflict: Option<FieldTypeConflict>,
    /// Indexes (in batch order) of the dropped points.
    pub dropped_points: Vec<u32>,
}

/// Where field keys at each position of a point resolved last time.
type Hints<'v> = Vec<Option<(&'v str, FieldId, FieldType)>>;

/// Per-batch lookup tables: batch series index → cache series, measurement,
/// and per measurement a field resolution hint by position in the point.
struct BatchMaps<'v> {
    series_cache: Vec<u32>,
    series_meas: Vec<u32>,
    meas_names: Vec<&'v str>,
    meas_index: HashMap<&'v str, u32>,
    hints: Vec<Hints<'v>>,
}

impl<'v> BatchMaps<'v> {
    fn measurement_of(&mut self, si: usize, key: &'v str) -> u32 {
        let m = self.series_meas[si];
        if m != NONE {
            return m;
        }
        let name = series_key::measurement(key);
        let next = self.meas_names.len() as u32;
        let m = *self.meas_index.entry(name).or_insert(next);
        if m == next {
            self.meas_names.push(name);
            self.hints.push(Vec::new());
        }
        self.series_meas[si] = m;
        m
    }

    fn resolve(
        &mut self,
        reg: &FieldRegistry,
        m: u32,
        pos: usize,
        key: &'v str,
    ) -> Option<(FieldId, FieldType)> {
        let hints = &mut self.hints[m as usize];
        // Keys of one batch are interned, so the pointer usually matches.
        if let Some(Some((k, id, ty))) = hints.get(pos)
            && (std::ptr::eq(k.as_ptr(), key.as_ptr()) && k.len() == key.len() || *k == key)
        {
            return Some((*id, *ty));
        }
        let id = reg.lookup(self.meas_names[m as usize], key)?;
        let ty = reg.get(id).ty;
        if hints.len() <= pos {
            hints.resize(pos + 1, None);
        }
        hints[pos] = Some((key, id, ty));
        Some((id, ty))
    }

    fn clear_hints(&mut self) {
        for h in &mut self.hints {
            h.clear();
        }
    }
}

impl Cache {
    /// An empty cache sized after `prev`.
    pub(crate) fn successor(prev: &Cache) -> Cache {
        let hint = prev.cells.checked_div(prev.columns).unwrap_or(0).min(1024);
        Cache {
            column_hint: hint,
            ..Cache::default()
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Points applied (dropped points not counted; duplicates counted).
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub(crate) fn note_lsn(&mut self, lsn: Lsn) {
        self.first_lsn.get_or_insert(lsn);
        self.last_lsn = Some(lsn);
    }

    /// Applies one batch: type-checks every point against (and extends)
    /// `registry`, drops whole points with a conflicting field, stores the
    /// rest.
    pub(crate) fn apply(
        &mut self,
        registry: &mut Arc<FieldRegistry>,
        view: &PointsView<'_>,
        version: Version,
    ) -> ApplyOutcome {
        let n_series = view.series_keys().len();
        let mut maps = BatchMaps {
            series_cache: vec![NONE; n_series],
            series_meas: vec![NONE; n_series],
            meas_names: Vec::new(),
            meas_index: HashMap::new(),
            hints: Vec::new(),
        };
        let apply = self.applies.len() as u32;
        self.applies.push(version);
        let mut out = ApplyOutcome::default();
        let mut buf: Vec<(FieldId, FieldValueRef<'_>)> = Vec::new();
        for (i, p) in view.iter().enumerate() {
            let si = p.series_index as usize;
            let m = maps.measurement_of(si, p.series_key);
            buf.clear();
            let reg_len = registry.len();
            let mut conflict = None;
            for (pos, f) in p.fields().enumerate() {
                let input = f.value.field_type();
                match maps.resolve(registry, m, pos, f.key) {
                    Some((_, existing)) if existing != input => {
                        conflict = Some((f.key, input, existing));
                        break;
                    }
                    Some((id, _)) => buf.push((id, f.value)),
                    None => {
                        let name = maps.meas_names[m as usize];
                        let id = Arc::make_mut(registry).register(name, f.key, input);
                        buf.push((id, f.value));
                    }
                }
            }
            if let Some((field, input, existing)) = conflict {
                if registry.len() > reg_len {
                    // The point's new fields must not outlive the point.
                    Arc::make_mut(registry).truncate(reg_len);
                    maps.clear_hints();
                }
                out.dropped += 1;
                out.dropped_points.push(i as u32);
                if out.first_conflict.is_none() {
                    let measurement = maps.meas_names[m as usize];
                    out.first_conflict = Some(FieldTypeConflict {
                        measurement: series_key::unescape_measurement(measurement).into_owned(),
                        field: field.to_owned(),
                        input,
                        existing,
                    });
                }
                continue;
            }
            let s = match maps.series_cache[si] {
                NONE => {
                    let s = self.intern(p.series_key);
                    maps.series_cache[si] = s;
                    s
                }
                s => s,
            };
            for (pos, &(id, v)) in buf.iter().enumerate() {
                self.push_cell(s, pos, id, p.ts, apply, v);
            }
            out.written += 1;
        }
        self.lines += out.written as u64;
        out
    }

    fn intern(&mut self, key: &str) -> u32 {
        if let Some(&s) = self.index.get(key) {
            return s;
        }
        let s = self.series.len() as u32;
        let key: Arc<str> = key.into();
        self.bytes += SERIES_OVERHEAD + 2 * key.len();
        self.index.insert(Arc::clone(&key), s);
        self.series.push(SeriesCells {
            key,
            columns: Vec::new(),
        });
        s
    }

    fn push_cell(&mut self, s: u32, pos: usize, field: FieldId, ts: i64, apply: u32, v: FieldValueRef<'_>) {
        let bits = match v {
            FieldValueRef::Float(f) => f.to_bits(),
            FieldValueRef::Integer(i) => i as u64,
            FieldValueRef::Unsigned(u) => u,
            FieldValueRef::Boolean(b) => u64::from(b),
            FieldValueRef::String(text) => {
                let cap = self.strings.capacity();
                let at = self.strings.len() as u64;
                self.strings.extend_from_slice(&(text.len() as u32).to_le_bytes());
                self.strings.extend_from_slice(text.as_bytes());
                self.bytes += self.strings.capacity() - cap;
                at
            }
        };
        let series = &mut self.series[s as usize];
        let ci = match series.columns.get(pos) {
            Some(c) if c.field == field => pos,
            _ => match series.columns.iter().position(|c| c.field == field) {
                Some(ci) => ci,
                None => {
                    let cells = Vec::with_capacity(self.column_hint);
                    self.bytes += COLUMN_OVERHEAD + cells.capacity() * size_of::<Cell>();
                    self.columns += 1;
                    series.columns.push(Column { field, cells });
                    series.columns.len() - 1
                }
            },
        };
        let cells = &mut series.columns[ci].cells;
        let cap = cells.capacity();
        cells.push(Cell { ts, apply, bits });
        if cells.capacity() != cap {
            self.bytes += (cells.capacity() - cap) * size_of::<Cell>();
        }
        self.cells += 1;
    }
}

/// Reads a string value stored by `push_cell`. The arena is only written by
/// this module, so offsets are valid; a damaged one yields "".
pub(crate) fn arena_str(strings: &[u8], at: u64) -> &str {
    let at = at as usize;
    let Some(len) = strings.get(at..at + 4) else {
        return "";
    };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    strings
        .get(at + 4..at + 4 + len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

#[cfg(test)]
mod tests;
