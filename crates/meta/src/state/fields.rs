//! The field-type registry: (shard group, measurement, field) → type.
//!
//! A front-end registers the fields it has not seen with one batched
//! command before writing them; the first registration of a field wins and
//! every later one with another type is reported as a conflict, which the
//! front-end rejects itself. Replicas therefore never disagree about a type.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_model::{FieldType, ShardGroupId};

use super::MetaState;
use crate::MetaError;

/// Field types of one shard group: measurement → field → type.
pub type GroupFieldTypes = BTreeMap<String, BTreeMap<String, FieldType>>;

/// One field a writer wants to use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldRegistration {
    pub shard_group: ShardGroupId,
    pub measurement: String,
    pub field: String,
    pub field_type: FieldType,
}

/// A registration refused because the field already has another type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub shard_group: ShardGroupId,
    pub measurement: String,
    pub field: String,
    pub requested: FieldType,
    pub existing: FieldType,
}

impl FieldConflict {
    /// influxd's "field type conflict" error for this conflict.
    pub fn to_error(&self) -> MetaError {
        MetaError::FieldTypeConflict {
            measurement: self.measurement.clone(),
            field: self.field.clone(),
            requested: self.requested,
            existing: self.existing,
        }
    }
}

impl MetaState {
    /// The registered type of a field, if any.
    pub fn field_type(&self, group: ShardGroupId, measurement: &str, field: &str) -> Option<FieldType> {
        self.fields.get(&group)?.get(measurement)?.get(field).copied()
    }

    /// All registered field types of a group.
    pub fn group_field_types(&self, group: ShardGroupId) -> Option<&Arc<GroupFieldTypes>> {
        self.fields.get(&group)
    }

    /// Splits registrations into conflicts and those not registered yet,
    /// without changing anything (what a client checks before proposing).
    pub fn classify_fields<'a>(
        &self,
        fields: &'a [FieldRegistration],
    ) -> (Vec<FieldConflict>, Vec<&'a FieldRegistration>) {
        let mut conflicts = Vec::new();
        let mut unknown = Vec::new();
        for f in fields {
            match self.field_type(f.shard_group, &f.measurement, &f.field) {
                Some(t) if t == f.field_type => {}
                Some(existing) => conflicts.push(FieldConflict {
                    shard_group: f.shard_group,
                    measurement: f.measurement.clone(),
                    field: f.field.clone(),
                    requested: f.field_type,
                    existing,
                }),
                None => unknown.push(f),
            }
        }
        (conflicts, unknown)
    }

    /// `RegisterFields`: registers every unseen field (the first of a batch
    /// wins within the batch too) and returns the conflicts. Fails as a
    /// whole, registering nothing, when a group does not exist.
    pub(super) fn register_fields(
        &mut self,
        fields: &[FieldRegistration],
    ) -> Result<(Vec<FieldConflict>, bool), MetaError> {
        if let Some(f) = fields
            .iter()
            .find(|f| !self.shard_groups.contains_key(&f.shard_group))
        {
            return Err(MetaError::ShardGroupNotFound(f.shard_group));
        }
        let mut conflicts = Vec::new();
        let mut changed = false;
        for f in fields {
            match self.field_type(f.shard_group, &f.measurement, &f.field) {
                Some(t) if t == f.field_type => {}
                Some(existing) => conflicts.push(FieldConflict {
                    shard_group: f.shard_group,
                    measurement: f.measurement.clone(),
                    field: f.field.clone(),
                    requested: f.field_type,
                    existing,
                }),
                None => {
                    let group = Arc::make_mut(self.fields.entry(f.shard_group).or_default());
                    group
                        .entry(f.measurement.clone())
                        .or_default()
                        .insert(f.field.clone(), f.field_type);
                    changed = true;
                }
            }
        }
        Ok((conflicts, changed))
    }
}
