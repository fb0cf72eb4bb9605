//! Reading a shard file back as sorted rows, one Arrow batch at a time
//! (tag columns are not read: `_series` carries them).
//!
//! Memory per open file is what a merge of k files multiplies by k: one
//! small batch of the projected columns, each column's current page and its
//! decompression context. `_series` is read as a dictionary (the file stores
//! it dictionary-encoded), so a batch holds one 32-bit key per row instead
//! of a copy of the series key per row.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use tandem_model::{FieldValue, Version};

use super::schema::{FileLayout, SERIES};
use crate::StorageError;
use crate::fields::{FieldId, FieldRegistry};
use crate::merge::{Row, RowSource, TimeRange};

/// Rows decoded at once per file. Small, because a merge holds one batch per
/// input; the per-batch overhead is negligible at this size.
const READ_BATCH_ROWS: usize = 1024;

enum FieldArray {
    Float(Float64Array),
    Integer(Int64Array),
    Unsigned(UInt64Array),
    String(StringArray),
    Boolean(BooleanArray),
}

impl FieldArray {
    fn value(&self, i: usize) -> Option<FieldValue> {
        match self {
            FieldArray::Float(a) => a.is_valid(i).then(|| FieldValue::Float(a.value(i))),
            FieldArray::Integer(a) => a.is_valid(i).then(|| FieldValue::Integer(a.value(i))),
            FieldArray::Unsigned(a) => a.is_valid(i).then(|| FieldValue::Unsigned(a.value(i))),
            FieldArray::String(a) => a.is_valid(i).then(|| FieldValue::String(a.value(i).to_owned())),
            FieldArray::Boolean(a) => a.is_valid(i).then(|| FieldValue::Boolean(a.value(i))),
        }
    }
}

struct BatchCols {
    len: usize,
    time: TimestampNanosecondArray,
    series_keys: arrow_array::Int32Array,
    series_values: StringArray,
    hlc: UInt64Array,
    node: UInt32Array,
    seq: UInt32Array,
    fields: Vec<FieldArray>,
}

fn downcast<T: Clone + 'static>(b: &RecordBatch, i: usize) -> Option<T> {
    b.columns().get(i)?.as_any().downcast_ref::<T>().cloned()
}

impl BatchCols {
    fn from_batch(b: &RecordBatch, n_fields: usize) -> Option<Self> {
        let mut fields = Vec::with_capacity(n_fields);
        for i in 1..=n_fields {
            let col = b.columns().get(i)?.as_any();
            fields.push(if let Some(a) = col.downcast_ref::<Float64Array>() {
                FieldArray::Float(a.clone())
            } else if let Some(a) = col.downcast_ref::<Int64Array>() {
                FieldArray::Integer(a.clone())
            } else if let Some(a) = col.downcast_ref::<UInt64Array>() {
                FieldArray::Unsigned(a.clone())
            } else if let Some(a) = col.downcast_ref::<StringArray>() {
                FieldArray::String(a.clone())
            } else {
                FieldArray::Boolean(col.downcast_ref::<BooleanArray>()?.clone())
            });
        }
        let series: DictionaryArray<Int32Type> = downcast(b, n_fields + 1)?;
        let series_values = series.values().as_any().downcast_ref::<StringArray>()?.clone();
        let series_keys = series.keys().clone();
        // Keys are checked by the reader; a null key cannot occur in a
        // non-nullable column, but reject one rather than trust it.
        if series_keys.null_count() > 0 {
            return None;
        }
        Some(Self {
            len: b.num_rows(),
            time: downcast(b, 0)?,
            fields,
            series_keys,
            series_values,
            hlc: downcast(b, n_fields + 2)?,
            node: downcast(b, n_fields + 3)?,
            seq: downcast(b, n_fields + 4)?,
        })
    }
}

/// Reads the measurement and layout of a shard file.
pub(crate) fn read_layout(path: &Path) -> Result<(String, FileLayout), StorageError> {
    let file = File::open(path).map_err(|e| StorageError::io(path.display(), e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| StorageError::corrupt(path, e))?;
    FileLayout::recover(builder.schema()).map_err(|e| StorageError::corrupt(path, e))
}

/// The rows of one file, as a merge source.
pub(crate) struct FileRows {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    field_ids: Vec<FieldId>,
    /// Field column indexes in field-id order: rows come out with their
    /// fields sorted by id, which spares every merge a sort per row.
    by_id: Vec<usize>,
    cols: Option<BatchCols>,
    idx: usize,
    range: TimeRange,
}

impl FileRows {
    /// Opens `path`; every field of the file must be in `registry` with the
    /// file's type.
    pub(crate) fn open(
        path: &Path,
        registry: &FieldRegistry,
        range: TimeRange,
    ) -> Result<Self, StorageError> {
        let file = File::open(path).map_err(|e| StorageError::io(path.display(), e))?;
        Self::from_file(path, file, registry, range)
    }

    /// Like [`FileRows::open`] with an already open file (which may since
    /// have been unlinked by a compaction).
    pub(crate) fn from_file(
        path: &Path,
        file: File,
        registry: &FieldRegistry,
        range: TimeRange,
    ) -> Result<Self, StorageError> {
        let corrupt = |e: String| StorageError::corrupt(path, e);
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
            .map_err(|e| corrupt(e.to_string()))?;
        let (measurement, layout) = FileLayout::recover(meta.schema()).map_err(corrupt)?;
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let fields: Vec<Field> = meta
            .schema()
            .fields()
            .iter()
            .map(|f| match f.name() == SERIES {
                true => f.as_ref().clone().with_data_type(dict.clone()),
                false => f.as_ref().clone(),
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            meta.schema().metadata().clone(),
        ));
        let meta = ArrowReaderMetadata::try_new(
            Arc::clone(meta.metadata()),
            ArrowReaderOptions::new().with_schema(schema),
        )
        .map_err(|e| corrupt(e.to_string()))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta);
        let mut field_ids = Vec::with_capacity(layout.fields.len());
        for f in &layout.fields {
            let id = registry
                .lookup(&measurement, &f.key)
                .filter(|&id| registry.get(id).ty == f.ty)
                .ok_or_else(|| {
                    corrupt(format!(
                        "field {:?} ({}) is not in the shard's field registry",
                        f.key, f.ty
                    ))
                })?;
            field_ids.push(id);
        }
        let mut roots = vec![0];
        roots.extend(layout.first_field_col()..layout.series_col() + 4);
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(e.to_string()))?;
        let mut by_id: Vec<usize> = (0..field_ids.len()).collect();
        by_id.sort_by_key(|&k| field_ids[k]);
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            field_ids,
            by_id,
            cols: None,
            idx: 0,
            range,
        })
    }
}

impl RowSource for FileRows {
    fn next_row(&mut self, row: &mut Row) -> Result<bool, StorageError> {
        loop {
            let cols = match &self.cols {
                Some(c) if self.idx < c.len => c,
                _ => match self.reader.next() {
                    None => return Ok(false),
                    Some(Err(e)) => return Err(StorageError::corrupt(&self.path, e)),
                    Some(Ok(b)) => {
                        let cols = BatchCols::from_batch(&b, self.field_ids.len())
                            .ok_or_else(|| StorageError::corrupt(&self.path, "unexpected column types"))?;
                        self.idx = 0;
                        self.cols = Some(cols);
                        continue;
                    }
                },
            };
            let i = self.idx;
            self.idx += 1;
            let ts = cols.time.value(i);
            if !self.range.contains(ts) {
                continue;
            }
            let key = cols.series_keys.value(i);
            let series = usize::try_from(key)
                .ok()
                .filter(|&k| k < cols.series_values.len())
                .map(|k| cols.series_values.value(k))
                .ok_or_else(|| StorageError::corrupt(&self.path, "series key out of range"))?;
            if row.series != series {
                row.series.clear();
                row.series.push_str(series);
            }
            row.ts = ts;
            row.version = Version {
                hlc_ns: cols.hlc.value(i),
                node: cols.node.value(i),
                seq: cols.seq.value(i),
            };
            row.fields.clear();
            for &k in &self.by_id {
                if let Some(v) = cols.fields[k].value(i) {
                    row.fields.push((self.field_ids[k], v));
                }
            }
            return Ok(true);
        }
    }
}
