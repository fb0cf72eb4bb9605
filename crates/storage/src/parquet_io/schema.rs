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
    /// Unescaped tag keys, in column order (columns 1..=tags.len()).
    pub tags: Vec<String>,
    /// Field columns, in column order after the tags.
    pub fields: Vec<FieldCol>,
}

impl FileLayout {
    pub(crate) fn first_field_col(&self) -> usize {
        1 + self.tags.len()
    }
    pub(crate) fn series_col(&self) -> usize {
        1 + self.tags.len() + self.fields.len()
    }

    /// Layout for the given measurement, tag keys and fields (each sorted and
    /// deduplicated here).
    pub(crate) fn build(measurement: &str, mut tags: Vec<String>, mut fields: Vec<FieldCol>) -> Self {
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
        let tag_names: Vec<String> = tags.iter().map(|t| unique(t, "::tag")).collect();
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
        let schema_meta = HashMap::from([
            (META_FORMAT.to_owned(), FORMAT.to_owned()),
            (META_MEASUREMENT.to_owned(), measurement.to_owned()),
        ]);
        FileLayout {
            arrow: Arc::new(Schema::new_with_metadata(cols, schema_meta)),
            tags,
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
        let want = FileLayout::build(&measurement, tags.clone(), fields.clone());
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
        assert_eq!(back.fields, l.fields);
        assert_eq!(back.series_col(), 5);
    }
}
