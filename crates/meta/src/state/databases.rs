//! Databases and retention policies, with InfluxDB 1.x rules for names,
//! durations and defaults.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::MetaState;
use super::shard_groups::ShardGroupInfo;
use crate::MetaError;

/// Name of the policy `CREATE DATABASE` makes when none is given.
pub const AUTOGEN: &str = "autogen";

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The shortest finite retention duration (influxd's `MinRetentionPolicyDuration`).
pub const MIN_RETENTION_DURATION: Duration = HOUR;

/// A database and its retention policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub name: String,
    /// Used when a write names no policy; empty after the default was dropped.
    pub default_retention_policy: String,
    pub retention_policies: BTreeMap<String, Arc<RetentionPolicyInfo>>,
}

impl DatabaseInfo {
    /// The named policy, or the default one for `None`.
    pub fn retention_policy(&self, name: Option<&str>) -> Result<&Arc<RetentionPolicyInfo>, MetaError> {
        let name = name.unwrap_or(&self.default_retention_policy);
        self.retention_policies
            .get(name)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(name.to_owned()))
    }
}

/// A retention policy and its shard groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicyInfo {
    pub name: String,
    /// How long data is kept; zero means forever.
    pub duration: Duration,
    /// Width of one shard group (normalised, never zero).
    pub shard_group_duration: Duration,
    /// Owners per shard wanted; the actual count is capped by the number of
    /// non-passive data nodes when a group is created.
    pub replication_factor: u32,
    /// Shard groups by start time (ns); they never overlap.
    pub shard_groups: BTreeMap<i64, Arc<ShardGroupInfo>>,
}

impl RetentionPolicyInfo {
    /// The group whose `[start, end)` contains `t` (ns).
    pub fn shard_group_for(&self, t: i64) -> Option<&Arc<ShardGroupInfo>> {
        self.shard_groups
            .range(..=t)
            .next_back()
            .map(|(_, g)| g)
            .filter(|g| g.contains(t))
    }

    /// Oldest time (ns) still inside the policy at `now_ns`, or `None` for an
    /// infinite policy. Points before it are "beyond retention policy".
    pub fn retention_cutoff(&self, now_ns: i64) -> Option<i64> {
        if self.duration.is_zero() {
            return None;
        }
        let d = i64::try_from(self.duration.as_nanos()).unwrap_or(i64::MAX);
        Some(now_ns.saturating_sub(d))
    }
}

/// What `CREATE RETENTION POLICY` (or `CREATE DATABASE ... WITH`) asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicySpec {
    pub name: String,
    /// Zero means infinite.
    pub duration: Duration,
    /// Zero means "derive from the duration" (influxd's defaults).
    pub shard_group_duration: Duration,
    /// `None` takes the cluster's configured default.
    pub replication_factor: Option<u32>,
}

impl RetentionPolicySpec {
    /// The `autogen` policy: infinite, default shard-group width.
    pub fn autogen() -> Self {
        Self {
            name: AUTOGEN.to_owned(),
            ..Self::default()
        }
    }
}

/// What `ALTER RETENTION POLICY` changes; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicyUpdate {
    pub duration: Option<Duration>,
    pub shard_group_duration: Option<Duration>,
    pub replication_factor: Option<u32>,
    pub make_default: bool,
}

/// influxd's default shard-group width for a retention duration:
/// under 2 days → 1 hour; under 180 days → 1 day; 180 days or more, or
/// infinite → 7 days.
pub fn default_shard_group_duration(duration: Duration) -> Duration {
    if duration.is_zero() || duration >= 180 * DAY {
        7 * DAY
    } else if duration >= 2 * DAY {
        DAY
    } else {
        HOUR
    }
}

/// influxd's normalisation: zero takes the default for the duration, and
/// anything below one hour becomes one hour.
pub fn normalized_shard_group_duration(shard_group_duration: Duration, duration: Duration) -> Duration {
    if shard_group_duration.is_zero() {
        default_shard_group_duration(duration)
    } else if shard_group_duration < MIN_RETENTION_DURATION {
        MIN_RETENTION_DURATION
    } else {
        shard_group_duration
    }
}

/// influxd's `ValidName`: not empty, not `.` or `..`, no `/` or `\`, and only
/// printable characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && name.chars().all(|c| !c.is_control())
}

fn check_durations(duration: Duration, shard_group_duration: Duration) -> Result<(), MetaError> {
    if !duration.is_zero() && duration < MIN_RETENTION_DURATION {
        return Err(MetaError::RetentionPolicyDurationTooLow);
    }
    if !duration.is_zero() && duration < shard_group_duration {
        return Err(MetaError::IncompatibleDurations);
    }
    Ok(())
}

/// Builds a policy from a spec, applying influxd's validation and defaults.
fn build_policy(spec: &RetentionPolicySpec, default_rf: u32) -> Result<RetentionPolicyInfo, MetaError> {
    if spec.name.is_empty() {
        return Err(MetaError::RetentionPolicyNameRequired);
    }
    if !valid_name(&spec.name) {
        return Err(MetaError::InvalidName);
    }
    let replication_factor = match spec.replication_factor {
        Some(0) => return Err(MetaError::ReplicationFactorTooLow),
        Some(n) => n,
        None => default_rf.max(1),
    };
    let shard_group_duration = normalized_shard_group_duration(spec.shard_group_duration, spec.duration);
    check_durations(spec.duration, shard_group_duration)?;
    Ok(RetentionPolicyInfo {
        name: spec.name.clone(),
        duration: spec.duration,
        shard_group_duration,
        replication_factor,
        shard_groups: BTreeMap::new(),
    })
}

fn same_parameters(a: &RetentionPolicyInfo, b: &RetentionPolicyInfo) -> bool {
    a.duration == b.duration
        && a.shard_group_duration == b.shard_group_duration
        && a.replication_factor == b.replication_factor
}

impl MetaState {
    /// The database, or influxd's "database not found".
    pub fn database(&self, name: &str) -> Result<&Arc<DatabaseInfo>, MetaError> {
        self.databases
            .get(name)
            .ok_or_else(|| MetaError::DatabaseNotFound(name.to_owned()))
    }

    /// All databases by name.
    pub fn databases(&self) -> impl Iterator<Item = &Arc<DatabaseInfo>> {
        self.databases.values()
    }

    /// Resolves `(database, policy)`; `None` picks the database's default.
    pub fn retention_policy(
        &self,
        database: &str,
        policy: Option<&str>,
    ) -> Result<&Arc<RetentionPolicyInfo>, MetaError> {
        self.database(database)?.retention_policy(policy)
    }

    /// `CREATE DATABASE`: a no-op for an existing database unless the given
    /// policy conflicts with what exists.
    pub(super) fn create_database(
        &mut self,
        name: &str,
        policy: Option<&RetentionPolicySpec>,
        default_rf: u32,
    ) -> Result<bool, MetaError> {
        if name.is_empty() {
            return Err(MetaError::DatabaseNameRequired);
        }
        if !valid_name(name) {
            return Err(MetaError::InvalidName);
        }
        let wanted = build_policy(policy.unwrap_or(&RetentionPolicySpec::autogen()), default_rf)?;
        if let Some(db) = self.databases.get(name) {
            if policy.is_none() {
                return Ok(false);
            }
            return match db.retention_policies.get(&wanted.name) {
                Some(rp) if same_parameters(rp, &wanted) && db.default_retention_policy == wanted.name => {
                    Ok(false)
                }
                _ => Err(MetaError::RetentionPolicyConflict),
            };
        }
        let db = DatabaseInfo {
            name: name.to_owned(),
            default_retention_policy: wanted.name.clone(),
            retention_policies: BTreeMap::from([(wanted.name.clone(), Arc::new(wanted))]),
        };
        self.databases.insert(name.to_owned(), Arc::new(db));
        Ok(true)
    }

    /// `DROP DATABASE`: idempotent. Shards are tombstoned, field types and
    /// privileges on the database are dropped.
    pub(super) fn drop_database(&mut self, name: &str) -> bool {
        let Some(db) = self.databases.remove(name) else {
            return false;
        };
        for rp in db.retention_policies.values() {
            for group in rp.shard_groups.values() {
                self.forget_group(group);
            }
        }
        for user in self.users.values_mut() {
            if user.privileges.contains_key(name) {
                Arc::make_mut(user).privileges.remove(name);
            }
        }
        true
    }

    /// `CREATE RETENTION POLICY`: a no-op when an identical policy exists.
    pub(super) fn create_retention_policy(
        &mut self,
        database: &str,
        spec: &RetentionPolicySpec,
        make_default: bool,
        default_rf: u32,
    ) -> Result<bool, MetaError> {
        let wanted = build_policy(spec, default_rf)?;
        let db = self
            .databases
            .get_mut(database)
            .ok_or_else(|| MetaError::DatabaseNotFound(database.to_owned()))?;
        if let Some(rp) = db.retention_policies.get(&wanted.name) {
            if !same_parameters(rp, &wanted) {
                return Err(MetaError::RetentionPolicyExists);
            }
            if make_default && db.default_retention_policy != wanted.name {
                Arc::make_mut(db).default_retention_policy = wanted.name;
                return Ok(true);
            }
            return Ok(false);
        }
        let db = Arc::make_mut(db);
        if make_default {
            db.default_retention_policy.clone_from(&wanted.name);
        }
        db.retention_policies
            .insert(wanted.name.clone(), Arc::new(wanted));
        Ok(true)
    }

    /// `ALTER RETENTION POLICY`. A new replication factor or shard-group
    /// width applies to groups created afterwards.
    pub(super) fn alter_retention_policy(
        &mut self,
        database: &str,
        name: &str,
        update: &RetentionPolicyUpdate,
    ) -> Result<bool, MetaError> {
        let db = self
            .databases
            .get_mut(database)
            .ok_or_else(|| MetaError::DatabaseNotFound(database.to_owned()))?;
        let rp = db
            .retention_policies
            .get(name)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(name.to_owned()))?;
        let duration = update.duration.unwrap_or(rp.duration);
        let shard_group_duration = match update.shard_group_duration {
            Some(sgd) => normalized_shard_group_duration(sgd, duration),
            None => rp.shard_group_duration,
        };
        if update.replication_factor == Some(0) {
            return Err(MetaError::ReplicationFactorTooLow);
        }
        check_durations(duration, shard_group_duration)?;
        let replication_factor = update.replication_factor.unwrap_or(rp.replication_factor);
        let make_default = update.make_default && db.default_retention_policy != name;
        let params_changed = duration != rp.duration
            || shard_group_duration != rp.shard_group_duration
            || replication_factor != rp.replication_factor;
        if !params_changed && !make_default {
            return Ok(false);
        }
        let db = Arc::make_mut(db);
        if make_default {
            db.default_retention_policy = name.to_owned();
        }
        if params_changed {
            let rp = Arc::make_mut(db.retention_policies.get_mut(name).expect("checked above"));
            rp.duration = duration;
            rp.shard_group_duration = shard_group_duration;
            rp.replication_factor = replication_factor;
        }
        Ok(true)
    }

    /// `DROP RETENTION POLICY`: idempotent; its shards are tombstoned.
    pub(super) fn drop_retention_policy(&mut self, database: &str, name: &str) -> Result<bool, MetaError> {
        let db = self
            .databases
            .get_mut(database)
            .ok_or_else(|| MetaError::DatabaseNotFound(database.to_owned()))?;
        if !db.retention_policies.contains_key(name) {
            return Ok(false);
        }
        let db = Arc::make_mut(db);
        let rp = db.retention_policies.remove(name).expect("checked above");
        if db.default_retention_policy == name {
            db.default_retention_policy.clear();
        }
        for group in rp.shard_groups.values() {
            self.forget_group(group);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_group_duration_defaults() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        let d = |n: u64| Duration::from_secs(n * 86400);
        // (retention duration, expected default width)
        let table = [
            (Duration::ZERO, d(7)),
            (h(1), h(1)),
            (h(47), h(1)),
            (d(2), d(1)),
            (d(30), d(1)),
            (d(179), d(1)),
            (d(180), d(7)),
            (d(365), d(7)),
        ];
        for (duration, expected) in table {
            assert_eq!(
                default_shard_group_duration(duration),
                expected,
                "duration {duration:?}"
            );
        }
        // (given width, retention duration, normalised width)
        let normalized = [
            (Duration::ZERO, d(3), d(1)),
            (Duration::from_secs(60), d(3), h(1)),
            (h(2), d(3), h(2)),
        ];
        for (sgd, duration, expected) in normalized {
            assert_eq!(normalized_shard_group_duration(sgd, duration), expected);
        }
    }

    #[test]
    fn names() {
        for (name, ok) in [
            ("db", true),
            ("my db", true),
            ("ünïcode", true),
            ("", false),
            (".", false),
            ("..", false),
            ("a/b", false),
            ("a\\b", false),
            ("a\nb", false),
        ] {
            assert_eq!(valid_name(name), ok, "{name:?}");
        }
    }
}
