use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a field, named as influxd names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Float,
    Integer,
    Unsigned,
    String,
    Boolean,
}

impl FieldType {
    /// Stable one-byte tag used by the point encoding and on disk. Never reuse
    /// a value.
    pub const fn tag(self) -> u8 {
        match self {
            FieldType::Float => 1,
            FieldType::Integer => 2,
            FieldType::Unsigned => 3,
            FieldType::String => 4,
            FieldType::Boolean => 5,
        }
    }

    pub const fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => FieldType::Float,
            2 => FieldType::Integer,
            3 => FieldType::Unsigned,
            4 => FieldType::String,
            5 => FieldType::Boolean,
            _ => return None,
        })
    }

    /// The name influxd prints (`is type integer, already exists as type float`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An owned field value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldValue {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    String(String),
    Boolean(bool),
}

/// A borrowed field value; strings borrow from the buffer they were decoded
/// from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValueRef<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    String(&'a str),
    Boolean(bool),
}

impl FieldValue {
    pub fn field_type(&self) -> FieldType {
        self.as_ref().field_type()
    }

    pub fn as_ref(&self) -> FieldValueRef<'_> {
        match self {
            FieldValue::Float(v) => FieldValueRef::Float(*v),
            FieldValue::Integer(v) => FieldValueRef::Integer(*v),
            FieldValue::Unsigned(v) => FieldValueRef::Unsigned(*v),
            FieldValue::String(v) => FieldValueRef::String(v),
            FieldValue::Boolean(v) => FieldValueRef::Boolean(*v),
        }
    }
}

impl FieldValueRef<'_> {
    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValueRef::Float(_) => FieldType::Float,
            FieldValueRef::Integer(_) => FieldType::Integer,
            FieldValueRef::Unsigned(_) => FieldType::Unsigned,
            FieldValueRef::String(_) => FieldType::String,
            FieldValueRef::Boolean(_) => FieldType::Boolean,
        }
    }

    pub fn to_owned_value(&self) -> FieldValue {
        match *self {
            FieldValueRef::Float(v) => FieldValue::Float(v),
            FieldValueRef::Integer(v) => FieldValue::Integer(v),
            FieldValueRef::Unsigned(v) => FieldValue::Unsigned(v),
            FieldValueRef::String(v) => FieldValue::String(v.to_owned()),
            FieldValueRef::Boolean(v) => FieldValue::Boolean(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_are_distinct() {
        let all = [
            FieldType::Float,
            FieldType::Integer,
            FieldType::Unsigned,
            FieldType::String,
            FieldType::Boolean,
        ];
        for t in all {
            assert_eq!(FieldType::from_tag(t.tag()), Some(t));
        }
        assert_eq!(FieldType::from_tag(0), None);
        assert_eq!(FieldType::from_tag(6), None);
    }
}
