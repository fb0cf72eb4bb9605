//! Streaming writer of one measurement's rows into a Parquet file. Rows are
//! buffered in Arrow builders for a few thousand rows, handed to the
//! `ArrowWriter`, which closes a row group every `row_group_rows` rows:
//! memory stays bounded however big the file gets.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tandem_model::{FieldType, FieldValue, Version};

use super::schema::{self, FileLayout};
use crate::StorageError;
use crate::series_key;

/// Rows per Arrow batch handed to the Parquet writer.
const BATCH_ROWS: usize = 8192;

enum FieldBuilder {
    Float(Float64Builder),
    Integer(Int64Builder),
    Unsigned(UInt64Builder),
    String(StringBuilder),
    Boolean(BooleanBuilder),
}

impl FieldBuilder {
    /// A builder with room for a full batch.
    fn new(ty: FieldType) -> Self {
        match ty {
            FieldType::Float => FieldBuilder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            FieldType::Integer => FieldBuilder::Integer(Int64Builder::with_capacity(BATCH_ROWS)),
            FieldType::Unsigned => FieldBuilder::Unsigned(UInt64Builder::with_capacity(BATCH_ROWS)),
            FieldType::String => FieldBuilder::String(StringBuilder::with_capacity(BATCH_ROWS, 0)),
            FieldType::Boolean => FieldBuilder::Boolean(BooleanBuilder::with_capacity(BATCH_ROWS)),
        }
    }

    /// Appends `v`, or null if absent or of another type (the registry
    /// makes the latter impossible).
    fn append(&mut self, v: Option<&FieldValue>) {
        match (self, v) {
            (FieldBuilder::Float(b), Some(FieldValue::Float(x))) => b.append_value(*x),
            (FieldBuilder::Integer(b), Some(FieldValue::Integer(x))) => b.append_value(*x),
            (FieldBuilder::Unsigned(b), Some(FieldValue::Unsigned(x))) => b.append_value(*x),
            (FieldBuilder::String(b), Some(FieldValue::String(x))) => b.append_value(x),
            (FieldBuilder::Boolean(b), Some(FieldValue::Boolean(x))) => b.append_value(*x),
            (FieldBuilder::Float(b), _) => b.append_null(),
            (FieldBuilder::Integer(b), _) => b.append_null(),
            (FieldBuilder::Unsigned(b), _) => b.append_null(),
            (FieldBuilder::String(b), _) => b.append_null(),
            (FieldBuilder::Boolean(b), _) => b.append_null(),
        }
    }

    fn append_raw(&mut self, bits: u64, strings: &[u8]) {
        match self {
            FieldBuilder::Float(b) => b.append_value(f64::from_bits(bits)),
            FieldBuilder::Integer(b) => b.append_value(bits as i64),
            FieldBuilder::Unsigned(b) => b.append_value(bits),
            FieldBuilder::String(b) => b.append_value(crate::cache::arena_str(strings, bits)),
            FieldBuilder::Boolean(b) => b.append_value(bits != 0),
        }
    }

    /// The buffered column; the builder starts over with room for a full
    /// batch (Arrow's `finish` leaves it with none, and regrowing every
    /// column from zero each batch cost flushes and merges a tenth of their
    /// time in reallocations).
    fn finish(&mut self) -> ArrayRef {
        match self {
            FieldBuilder::Float(b) => finish_fixed(b),
            FieldBuilder::Integer(b) => finish_fixed(b),
            FieldBuilder::Unsigned(b) => finish_fixed(b),
            FieldBuilder::String(b) => finish_text(b),
            FieldBuilder::Boolean(b) => {
                Arc::new(std::mem::replace(b, BooleanBuilder::with_capacity(BATCH_ROWS)).finish())
            }
        }
    }
}

/// Finishes a text column and leaves room for a batch like the last one.
fn finish_text(b: &mut StringBuilder) -> ArrayRef {
    let next = StringBuilder::with_capacity(BATCH_ROWS, b.values_slice().len());
    Arc::new(std::mem::replace(b, next).finish())
}

/// Finishes a fixed-width column and leaves room for a full batch.
fn finish_fixed<T: arrow_array::types::ArrowPrimitiveType>(
    b: &mut arrow_array::builder::PrimitiveBuilder<T>,
) -> ArrayRef {
    let next = arrow_array::builder::PrimitiveBuilder::<T>::with_capacity(BATCH_ROWS);
    Arc::new(std::mem::replace(b, next).finish())
}

/// Settings for written files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions {
    pub row_group_rows: usize,
    /// zstd level of the pages; `None` writes them uncompressed.
    pub zstd_level: Option<i32>,
    /// Compaction level of the file (0 for flushes), set by `for_level`.
    pub level: u32,
    /// `compaction_max_level`: files at this level or above are top level.
    pub max_level: u32,
    /// `tag_columns_in_every_file`.
    pub tag_columns_everywhere: bool,
}

impl WriteOptions {
    /// For flushes: pages uncompressed. A flushed file is short-lived
    /// (compaction rewrites it with zstd), but it is read while a backlog of
    /// them builds up, and every column of an open zstd file holds a zstd
    /// decompression context (about 100 KiB each, 1.5 MiB per file here):
    /// an export or merge over a hundred flushed files held 150 MiB of
    /// them. Uncompressed pages need no context and cost no encoding CPU on
    /// the flush path.
    pub(crate) fn for_flush(self) -> Self {
        Self {
            zstd_level: None,
            ..self.for_level(0)
        }
    }

    /// The file will not be merged again (top compaction level, or a cold
    /// shard's full compaction): its layout has a column per tag, and its
    /// text columns get min/max statistics, for readers of plain Parquet.
    /// Files that compaction merges again get neither: copying, hashing and
    /// comparing those strings for every row was a third of the CPU of
    /// flushes and merges, and merges read neither.
    pub(crate) fn top_level(&self) -> bool {
        self.level >= self.max_level
    }

    /// Whether the file gets a column per tag.
    pub(crate) fn tag_columns(&self) -> bool {
        self.top_level() || self.tag_columns_everywhere
    }

    /// For a file at `level`.
    pub(crate) fn for_level(self, level: u32) -> Self {
        Self { level, ..self }
    }
}

/// Facts about a finished file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrittenFile {
    pub rows: u64,
    pub bytes: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    /// Whether the file has a column per tag.
    pub tag_columns: bool,
}

pub(crate) struct MeasurementWriter {
    path: PathBuf,
    writer: ArrowWriter<File>,
    layout: FileLayout,
    time: TimestampNanosecondBuilder,
    tags: Vec<StringBuilder>,
    fields: Vec<FieldBuilder>,
    series: StringBuilder,
    hlc: UInt64Builder,
    node: UInt32Builder,
    seq: UInt32Builder,
    buffered: usize,
    cur_series: String,
    cur_tags: Vec<Option<String>>,
    /// Row number each field column last received a value for.
    filled: Vec<u64>,
    rows: u64,
    min_ts: i64,
    max_ts: i64,
}

fn props(
    layout: &FileLayout,
    measurement: &str,
    opts: WriteOptions,
) -> Result<WriterProperties, StorageError> {
    let compression = match opts.zstd_level {
        Some(level) => {
            Compression::ZSTD(ZstdLevel::try_new(level).map_err(|e| StorageError::Config(e.to_string()))?)
        }
        None => Compression::UNCOMPRESSED,
    };
    let series_col = layout.series_col() as i32;
    let mut b = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(opts.row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_sorting_columns(Some(vec![
            SortingColumn {
                column_idx: series_col,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            },
        ]))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(schema::META_FORMAT.to_owned(), schema::FORMAT.to_owned()),
            KeyValue::new(schema::META_MEASUREMENT.to_owned(), measurement.to_owned()),
        ]))
        .set_column_encoding(ColumnPath::from(schema::TIME), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(
            ColumnPath::from(schema::VERSION_HLC),
            Encoding::DELTA_BINARY_PACKED,
        )
        .set_column_encoding(
            ColumnPath::from(schema::VERSION_NODE),
            Encoding::DELTA_BINARY_PACKED,
        )
        .set_column_encoding(
            ColumnPath::from(schema::VERSION_SEQ),
            Encoding::DELTA_BINARY_PACKED,
        );
    // Repetitive text compresses best as a dictionary.
    let text_stats = match opts.top_level() {
        true => EnabledStatistics::Chunk,
        false => EnabledStatistics::None,
    };
    let text_cols = std::iter::once(schema::SERIES).chain(
        layout
            .arrow
            .fields()
            .iter()
            .skip(1)
            .take(layout.tag_cols())
            .map(|f| f.name().as_str()),
    );
    for name in text_cols {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(name), true)
            .set_column_statistics_enabled(ColumnPath::from(name), text_stats);
    }
    for (f, col) in layout
        .arrow
        .fields()
        .iter()
        .skip(layout.first_field_col())
        .zip(&layout.fields)
    {
        let path = ColumnPath::from(f.name().as_str());
        b = match col.ty {
            FieldType::String | FieldType::Boolean => b.set_column_dictionary_enabled(path, true),
            // Rows are sorted by series then time, so neighbouring values of
            // a metric are close: deltas pack into a few bits.
            FieldType::Integer | FieldType::Unsigned => {
                b.set_column_encoding(path, Encoding::DELTA_BINARY_PACKED)
            }
            FieldType::Float => b,
        };
    }
    Ok(b.build())
}

impl MeasurementWriter {
    pub(crate) fn create(
        path: &Path,
        measurement: &str,
        layout: FileLayout,
        opts: WriteOptions,
    ) -> Result<Self, StorageError> {
        let file = File::create(path).map_err(|e| StorageError::io(path.display(), e))?;
        let props = props(&layout, measurement, opts)?;
        let writer = ArrowWriter::try_new(file, Arc::clone(&layout.arrow), Some(props))
            .map_err(|e| write_err(path, e))?;
        let n_tags = layout.tag_cols();
        let fields = layout.fields.iter().map(|f| FieldBuilder::new(f.ty)).collect();
        let n_fields = layout.fields.len();
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            time: TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            tags: (0..n_tags).map(|_| StringBuilder::new()).collect(),
            fields,
            series: StringBuilder::new(),
            hlc: UInt64Builder::with_capacity(BATCH_ROWS),
            node: UInt32Builder::with_capacity(BATCH_ROWS),
            seq: UInt32Builder::with_capacity(BATCH_ROWS),
            buffered: 0,
            cur_series: String::new(),
            cur_tags: vec![None; n_tags],
            filled: vec![0; n_fields],
            rows: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            layout,
        })
    }

    /// Appends a row; `values[i]` belongs to field column `i` of the layout.
    /// Rows must come sorted by (series, time, version).
    /// Appends a row; `values` are (field column index, value). Rows must
    /// come sorted by (series, time, version).
    pub(crate) fn push(
        &mut self,
        series: &str,
        ts: i64,
        version: Version,
        values: impl IntoIterator<Item = (usize, FieldValue)>,
    ) -> Result<(), StorageError> {
        self.start_row(series, ts, version);
        for (col, v) in values {
            if let Some(b) = self.fields.get_mut(col) {
                b.append(Some(&v));
                self.filled[col] = self.rows;
            }
        }
        self.end_row()
    }

    /// Appends a row from raw cache cells: (field column, value bits); the
    /// column's type says how to read the bits (strings live in `strings`).
    pub(crate) fn push_raw(
        &mut self,
        series: &str,
        ts: i64,
        version: Version,
        values: &[(usize, u64)],
        strings: &[u8],
    ) -> Result<(), StorageError> {
        self.start_row(series, ts, version);
        for &(col, bits) in values {
            if let Some(b) = self.fields.get_mut(col) {
                b.append_raw(bits, strings);
                self.filled[col] = self.rows;
            }
        }
        self.end_row()
    }

    fn start_row(&mut self, series: &str, ts: i64, version: Version) {
        if series != self.cur_series {
            self.cur_series.clear();
            self.cur_series.push_str(series);
            self.cur_tags.iter_mut().for_each(|t| *t = None);
            if self.layout.tag_columns {
                for (k, v) in series_key::tags(series) {
                    let k = series_key::unescape_tag(k);
                    if let Ok(i) = self.layout.tags.binary_search_by(|t| t.as_str().cmp(&k)) {
                        self.cur_tags[i] = Some(series_key::unescape_tag(v).into_owned());
                    }
                }
            }
        }
        self.rows += 1;
        self.time.append_value(ts);
        for (b, t) in self.tags.iter_mut().zip(&self.cur_tags) {
            b.append_option(t.as_deref());
        }
        self.series.append_value(series);
        self.hlc.append_value(version.hlc_ns);
        self.node.append_value(version.node);
        self.seq.append_value(version.seq);
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
    }

    fn end_row(&mut self) -> Result<(), StorageError> {
        for (b, filled) in self.fields.iter_mut().zip(&mut self.filled) {
            if *filled != self.rows {
                b.append(None);
                *filled = self.rows;
            }
        }
        self.buffered += 1;
        if self.buffered >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), StorageError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.layout.arrow.fields().len());
        let time = TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC");
        cols.push(Arc::new(std::mem::replace(&mut self.time, time).finish()));
        cols.extend(self.tags.iter_mut().map(finish_text));
        cols.extend(self.fields.iter_mut().map(FieldBuilder::finish));
        cols.push(finish_text(&mut self.series));
        cols.push(finish_fixed(&mut self.hlc));
        cols.push(finish_fixed(&mut self.node));
        cols.push(finish_fixed(&mut self.seq));
        let batch = RecordBatch::try_new(Arc::clone(&self.layout.arrow), cols)
            .map_err(|e| StorageError::io(self.path.display(), std::io::Error::other(e)))?;
        self.writer.write(&batch).map_err(|e| write_err(&self.path, e))?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes the footer and fsyncs the file (not its directory).
    pub(crate) fn finish(mut self) -> Result<WrittenFile, StorageError> {
        self.write_batch()?;
        let file = self.writer.into_inner().map_err(|e| write_err(&self.path, e))?;
        file.sync_all()
            .map_err(|e| StorageError::io(self.path.display(), e))?;
        let bytes = file
            .metadata()
            .map_err(|e| StorageError::io(self.path.display(), e))?
            .len();
        Ok(WrittenFile {
            rows: self.rows,
            bytes,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            tag_columns: self.layout.tag_columns,
        })
    }
}

fn write_err(path: &Path, e: parquet::errors::ParquetError) -> StorageError {
    let io = match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => *io,
            Err(other) => std::io::Error::other(other),
        },
        other => std::io::Error::other(other),
    };
    StorageError::io(format!("writing {}", path.display()), io)
}
