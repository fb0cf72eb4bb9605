//! The per-shard field type registry: which type each (measurement, field)
//! has. A field keeps the type of its first accepted write for the life of
//! the shard; writes of another type are rejected point by point.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_model::FieldType;

/// Dense id of a field within one shard's registry (valid for one process
/// lifetime; files and manifests name fields by measurement and key).
pub(crate) type FieldId = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldDef {
    /// Measurement as it appears (escaped) at the start of series keys.
    pub measurement: Arc<str>,
    /// Unescaped field key.
    pub key: Arc<str>,
    pub ty: FieldType,
}

/// How a field is recorded in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct FieldEntry {
    pub measurement: String,
    pub key: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct FieldRegistry {
    defs: Vec<FieldDef>,
    by_name: HashMap<Arc<str>, HashMap<Arc<str>, FieldId>>,
}

impl FieldRegistry {
    pub(crate) fn lookup(&self, measurement: &str, key: &str) -> Option<FieldId> {
        self.by_name.get(measurement)?.get(key).copied()
    }

    pub(crate) fn get(&self, id: FieldId) -> &FieldDef {
        &self.defs[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.defs.len()
    }

    /// Registers a new field; the caller checked it is absent.
    pub(crate) fn register(&mut self, measurement: &str, key: &str, ty: FieldType) -> FieldId {
        let id = self.defs.len() as FieldId;
        let (m, k): (Arc<str>, Arc<str>) = (measurement.into(), key.into());
        self.defs.push(FieldDef {
            measurement: Arc::clone(&m),
            key: Arc::clone(&k),
            ty,
        });
        self.by_name.entry(m).or_default().insert(k, id);
        id
    }

    /// Registers `e` unless the field is already known; returns the id and
    /// whether the known type differs (a damaged or foreign manifest).
    pub(crate) fn merge_entry(&mut self, e: &FieldEntry) -> (FieldId, bool) {
        match self.lookup(&e.measurement, &e.key) {
            Some(id) => (id, self.get(id).ty != e.ty),
            None => (self.register(&e.measurement, &e.key, e.ty), false),
        }
    }

    /// Forgets fields registered after the registry had `len` entries.
    pub(crate) fn truncate(&mut self, len: usize) {
        for def in self.defs.drain(len..) {
            if let Some(keys) = self.by_name.get_mut(&def.measurement) {
                keys.remove(&def.key);
                if keys.is_empty() {
                    self.by_name.remove(&def.measurement);
                }
            }
        }
    }

    pub(crate) fn entry(&self, id: FieldId) -> FieldEntry {
        let d = self.get(id);
        FieldEntry {
            measurement: d.measurement.to_string(),
            key: d.key.to_string(),
            ty: d.ty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_lookup_truncate() {
        let mut r = FieldRegistry::default();
        let a = r.register("cpu", "usage", FieldType::Float);
        let b = r.register("mem", "usage", FieldType::Integer);
        assert_ne!(a, b);
        assert_eq!(r.lookup("cpu", "usage"), Some(a));
        assert_eq!(r.get(b).ty, FieldType::Integer);
        r.truncate(1);
        assert_eq!(r.lookup("mem", "usage"), None);
        assert_eq!(r.len(), 1);
        let (id, differs) = r.merge_entry(&FieldEntry {
            measurement: "cpu".into(),
            key: "usage".into(),
            ty: FieldType::String,
        });
        assert_eq!((id, differs), (a, true));
    }
}
