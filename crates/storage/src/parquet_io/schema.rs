//! Column layout of a shard file, built for writing and recovered for
//! reading.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use tandem_model::FieldType;

pub(crate) const TIME: &str = "time";
pub(crate) const SERIES: &str = "_series";
pub(crate) const VERSION_HLC: &str = "_version_hlc";
pub(crate) const VERSION_NODE: &str = "_version_node";
pub(crate) const VERSION_SEQ: &str = "_version_seq";
const RESERVED: [&str; 5] = [TIME, SERIES, VERSION_HLC, VERSION_NODE, VERSION_SEQ];

pub(crate) const META_ROLE: &str = "tandem:role";
pub(crate) const META_KEY: &str = "tandem:key";
pub(crate) const META_MEASUREMENT: &str = "tandem:measurement";
pub(crate) const META_FORMAT: &str = "tandem:format";
pub(crate) const FORMAT: &str = "1";
/// Set on files written without tag columns: their tag keys, as a JSON list.
pub(crate) const META_TAG_KEYS: &str = "tandem:tag_keys";

pub(crate) fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

pub(crate) fn arrow_type(ty: FieldType) -> DataType {
    match ty {
        FieldType::Float => DataType::Float64,
        FieldType::Integer => DataType::Int64,
        FieldType::Unsigned => DataType::UInt64,
        FieldType::String => DataType::Utf8,
        FieldType::Boolean => DataType::Boolean,
    }
}

pub(crate) fn field_type(dt: &DataType) -> Option<FieldType> {
    Some(match dt {
        DataType::Float64 => FieldType::Float,
        DataType::Int64 => FieldType::Integer,
        DataType::UInt64 => FieldType::Unsigned,
        DataType::Utf8 => FieldType::String,
        DataType::Boolean => FieldType::Boolean,
        _ => return None,
    })
}

/// A data field of a file: its key and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FieldCol {
    pub key: String,
    pub ty: FieldType,
}

/// The layout of one file.
#[derive(Debug, Clone)]
pub(crate) struct FileLayout {
    pub arrow: SchemaRef,
    /// Unescaped tag keys, sorted; with `tag_columns`, in column order
    /// (columns 1..=tags.len()).
    pub tags: Vec<String>,
    /// Whether the file has a column per tag. Files that compaction will
    /// merge again leave them out (`_series` holds the tags, and merges
    /// never read tag columns): text columns were a third of the CPU of
    /// flushes and merges. Files at the top level have them, for readers
    /// of plain Parquet.
    pub tag_columns: bool,
    /// Field columns, in column order after the tags.
    pub fields: Vec<FieldCol>,
}

impl FileLayout {
    /// Number of tag columns (0 when the file leaves them out).
    pub(crate) fn tag_cols(&self) -> usize {
        if self.tag_columns { self.tags.len() } else { 0 }
    }
    pub(crate) fn first_field_col(&self) -> usize {
        1 + self.tag_cols()
    }
    pub(crate) fn series_col(&self) -> usize {
        1 + self.tag_cols() + self.fields.len()
    }

    /// Layout for the given measurement, tag keys and fields (each sorted and
    /// deduplicated here), with or without a column per tag.
    pub(crate) fn build(
        measurement: &str,
        mut tags: Vec<String>,
        mut fields: Vec<FieldCol>,
        tag_columns: bool,
    ) -> Self {
        tags.sort();
        tags.dedup();
        fields.sort();
        fields.dedup_by(|a, b| a.key == b.key);
        let mut taken: HashSet<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
        let mut unique = |key: &str, suffix: &str| {
            let mut name = key.to_owned();
            while taken.contains(&name) {
                name.push_str(suffix);
            }
            taken.insert(name.clone());
            name
        };
        // Fields claim their plain names first: they are what users query.
        let field_names: Vec<String> = fields.iter().map(|f| unique(&f.key, "::field")).collect();
        let tag_names: Vec<String> = match tag_columns {
            true => tags.iter().map(|t| unique(t, "::tag")).collect(),
            false => Vec::new(),
        };
        let meta = |role: &str, key: &str| {
            HashMap::from([
                (META_ROLE.to_owned(), role.to_owned()),
                (META_KEY.to_owned(), key.to_owned()),
            ])
        };
        let mut cols = Vec::with_capacity(5 + tags.len() + fields.len());
        cols.push(Field::new(TIME, time_type(), false).with_metadata(meta("time", TIME)));
        for (t, name) in tags.iter().zip(tag_names) {
            cols.push(Field::new(name, DataType::Utf8, true).with_metadata(meta("tag", t)));
        }
        for (f, name) in fields.iter().zip(field_names) {
            cols.push(Field::new(name, arrow_type(f.ty), true).with_metadata(meta("field", &f.key)));
        }
        cols.push(Field::new(SERIES, DataType::Utf8, false).with_metadata(meta("series", SERIES)));
        cols.push(
            Field::new(VERSION_HLC, DataType::UInt64, false).with_metadata(meta("version", VERSION_HLC)),
        );
        cols.push(
            Field::new(VERSION_NODE, DataType::UInt32, false).with_metadata(meta("version", VERSION_NODE)),
        );
        cols.push(
            Field::new(VERSION_SEQ, DataType::UInt32, false).with_metadata(meta("version", VERSION_SEQ)),
        );
        let mut schema_meta = HashMap::from([
            (META_FORMAT.to_owned(), FORMAT.to_owned()),
            (META_MEASUREMENT.to_owned(), measurement.to_owned()),
        ]);
        if !tag_columns {
            let keys = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".to_owned());
            schema_meta.insert(META_TAG_KEYS.to_owned(), keys);
        }
        FileLayout {
            arrow: Arc::new(Schema::new_with_metadata(cols, schema_meta)),
            tags,
            tag_columns,
            fields,
        }
    }

    /// Recovers the layout of a file written by [`FileLayout::build`].
    pub(crate) fn recover(schema: &SchemaRef) -> Result<(String, Self), String> {
        let md = schema.metadata();
        if md.get(META_FORMAT).map(String::as_str) != Some(FORMAT) {
            return Err(format!("not a tandem shard file of format {FORMAT}"));
        }
        let measurement = md
            .get(META_MEASUREMENT)
            .cloned()
            .ok_or("no measurement in file metadata")?;
        let mut tags = Vec::new();
        let mut fields = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let role = f.metadata().get(META_ROLE).map(String::as_str).unwrap_or("");
            let key = f
                .metadata()
                .get(META_KEY)
                .cloned()
                .unwrap_or_else(|| f.name().clone());
            match role {
                "tag" if i == 1 + tags.len() && f.data_type() == &DataType::Utf8 => tags.push(key),
                "field" if i == 1 + tags.len() + fields.len() => {
                    let ty = field_type(f.data_type())
                        .ok_or_else(|| format!("field column {} has type {}", f.name(), f.data_type()))?;
                    fields.push(FieldCol { key, ty });
                }
                "time" | "series" | "version" => {}
                _ => return Err(format!("unexpected column {} ({role}) at {i}", f.name())),
            }
        }
        let tag_columns = match md.get(META_TAG_KEYS) {
            None => true,
            Some(keys) if tags.is_empty() => {
                tags = serde_json::from_str(keys).map_err(|e| format!("bad {META_TAG_KEYS}: {e}"))?;
                false
            }
            Some(_) => return Err(format!("{META_TAG_KEYS} on a file with tag columns")),
        };
        let want = FileLayout::build(&measurement, tags.clone(), fields.clone(), tag_columns);
        if want.tags != tags || want.fields != fields || want.arrow.fields() != schema.fields() {
            return Err("columns are not in the layout tandem writes".into());
        }
        Ok((measurement, want))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_disambiguated_and_layout_recovers() {
        let l = FileLayout::build(
            "cpu",
            vec!["host".into(), "usage".into(), "time".into()],
            vec![FieldCol {
                key: "usage".into(),
                ty: FieldType::Float,
            }],
            true,
        );
        let names: Vec<&str> = l.arrow.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "time",
                "host",
                "time::tag",
                "usage::tag",
                "usage",
                "_series",
                "_version_hlc",
                "_version_node",
                "_version_seq"
            ]
        );
        let (m, back) = FileLayout::recover(&l.arrow).unwrap();
        assert_eq!(m, "cpu");
        assert_eq!(back.tags, l.tags);
        assert!(back.tag_columns);
        assert_eq!(back.fields, l.fields);
        assert_eq!(back.series_col(), 5);
    }

    #[test]
    fn a_layout_without_tag_columns_keeps_its_tag_keys() {
        let tags = vec!["host".to_owned(), "a \"quoted\" key".to_owned()];
        let fields = vec![FieldCol {
            key: "host".into(),
            ty: FieldType::Integer,
        }];
        let l = FileLayout::build("cpu", tags, fields, false);
        let names: Vec<&str> = l.arrow.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "time",
                "host",
                "_series",
                "_version_hlc",
                "_version_node",
                "_version_seq"
            ]
        );
        assert_eq!((l.first_field_col(), l.series_col()), (1, 2));
        let (_, back) = FileLayout::recover(&l.arrow).unwrap();
        assert_eq!(back.tags, ["a \"quoted\" key", "host"]);
        assert!(!back.tag_columns);
        assert_eq!(back.series_col(), 2);
        // Tag keys beside tag columns are a damaged file, not a layout.
        let with_cols = FileLayout::build("cpu", back.tags.clone(), back.fields.clone(), true);
        let mut md = with_cols.arrow.metadata().clone();
        md.insert(META_TAG_KEYS.to_owned(), "[]".to_owned());
        let forged = Arc::new(Schema::new_with_metadata(with_cols.arrow.fields().clone(), md));
        assert!(FileLayout::recover(&forged).is_err());
    }

    #[test]
    fn damaged_tag_keys_are_refused() {
        let l = FileLayout::build("cpu", vec!["a".into(), "b".into()], Vec::new(), false);
        let with = |keys: &str| {
            let mut md = l.arrow.metadata().clone();
            md.insert(META_TAG_KEYS.to_owned(), keys.to_owned());
            FileLayout::recover(&Arc::new(Schema::new_with_metadata(l.arrow.fields().clone(), md)))
        };
        assert_eq!(with(r#"["a","b"]"#).unwrap().1.tags, ["a", "b"]);
        // Not JSON, not a list of strings, unsorted, duplicated.
        for bad in ["", "a,b", r#"{"a":1}"#, "[1]", r#"["b","a"]"#, r#"["a","a","b"]"#] {
            assert!(with(bad).is_err(), "{bad:?}");
        }
    }
}
