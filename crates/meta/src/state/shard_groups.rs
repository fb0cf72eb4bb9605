//! Shard groups: one per time bucket of a retention policy, each with
//! `max(1, data nodes / RF)` shards whose owners are fixed at creation.
//! Creation, pre-creation and expiry all happen inside `apply`, so every
//! replica computes the same groups and owners.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_model::{NodeId, ShardGroupId, ShardId};

use super::MetaState;
use super::databases::RetentionPolicyInfo;
use super::placement::place_owners;
use crate::MetaError;

/// Smallest timestamp influxd accepts (ns).
pub const MIN_TIME_NS: i64 = i64::MIN + 2;
/// Largest timestamp influxd accepts (ns).
pub const MAX_TIME_NS: i64 = i64::MAX - 1;

/// Go's zero time, 0001-01-01T00:00:00Z (a Monday), in ns since the Unix
/// epoch. influxd truncates timestamps to the group width relative to it, so
/// 7-day groups start on Mondays; we align the same way.
const GO_ZERO_TIME_NS: i128 = -62_135_596_800 * 1_000_000_000;

/// A time bucket `[start, end)` of a retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardGroupInfo {
    pub id: ShardGroupId,
    pub database: String,
    pub retention_policy: String,
    /// Inclusive start (ns since the Unix epoch).
    pub start: i64,
    /// Exclusive end (ns).
    pub end: i64,
    /// At least one shard; a point goes to `shards[hash % shards.len()]`.
    pub shards: Vec<ShardInfo>,
}

impl ShardGroupInfo {
    /// Whether `t` (ns) falls in `[start, end)`.
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// The shard a series with this hash (fnv64a of the series key) maps to.
    pub fn shard_for_hash(&self, hash: u64) -> &ShardInfo {
        // `shards` is never empty: creation always makes at least one.
        let n = self.shards.len().max(1) as u64;
        &self.shards[usize::try_from(hash % n).unwrap_or(0).min(self.shards.len() - 1)]
    }
}

/// One shard and the nodes that own a replica of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub id: ShardId,
    pub owners: Vec<NodeId>,
}

/// Where a shard group lives (index from id to policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupLocation {
    pub(crate) database: String,
    pub(crate) retention_policy: String,
    pub(crate) start: i64,
}

/// Start of the group of width `width` containing `t`, aligned as influxd
/// aligns (multiples of the width since Go's zero time).
pub fn align_to_group(t: i64, width: Duration) -> i64 {
    let w = i128::try_from(width.as_nanos()).unwrap_or(i128::MAX).max(1);
    let t = i128::from(t);
    let start = t - (t - GO_ZERO_TIME_NS).rem_euclid(w);
    i64::try_from(start).unwrap_or(i64::MIN)
}

fn check_time(t: i64) -> Result<(), MetaError> {
    if (MIN_TIME_NS..=MAX_TIME_NS).contains(&t) {
        Ok(())
    } else {
        Err(MetaError::TimeOutOfRange)
    }
}

fn width_ns(width: Duration) -> i64 {
    i64::try_from(width.as_nanos()).unwrap_or(i64::MAX).max(1)
}

impl MetaState {
    /// `CreateShardGroupIfAbsent`: for every timestamp, the group containing
    /// it, created (with owners placed now) when missing. Returns the
    /// distinct groups in start order and whether anything was created.
    pub(super) fn create_shard_groups(
        &mut self,
        database: &str,
        policy: &str,
        timestamps: &[i64],
    ) -> Result<(Vec<Arc<ShardGroupInfo>>, bool), MetaError> {
        for &t in timestamps {
            check_time(t)?;
        }
        let mut rp = (**self.retention_policy(database, Some(policy))?).clone();
        let mut times = timestamps.to_vec();
        times.sort_unstable();
        times.dedup();
        let mut created = false;
        let mut result: Vec<Arc<ShardGroupInfo>> = Vec::new();
        for t in times {
            let group = match rp.shard_group_for(t) {
                Some(g) => g.clone(),
                None => {
                    let g = Arc::new(self.new_group(database, &rp, t)?);
                    rp.shard_groups.insert(g.start, g.clone());
                    created = true;
                    g
                }
            };
            if result.last().is_none_or(|last| last.id != group.id) {
                result.push(group);
            }
        }
        if created {
            self.store_policy(database, rp);
        }
        result.sort_by_key(|g| g.start);
        result.dedup_by_key(|g| g.id);
        Ok((result, created))
    }

    /// Makes the group containing `t` (which no group of `rp` contains):
    /// aligned to the policy's width and trimmed so it never overlaps a
    /// neighbour created under an older width. Allocates ids and places owners.
    fn new_group(
        &mut self,
        database: &str,
        rp: &RetentionPolicyInfo,
        t: i64,
    ) -> Result<ShardGroupInfo, MetaError> {
        let nodes = self.active_data_nodes();
        if nodes.is_empty() {
            return Err(MetaError::NoDataNodes);
        }
        let owners = place_owners(&nodes, rp.replication_factor, self.groups_created);
        let mut start = align_to_group(t, rp.shard_group_duration);
        let mut end = start.saturating_add(width_ns(rp.shard_group_duration));
        if let Some((_, prev)) = rp.shard_groups.range(..=t).next_back() {
            start = start.max(prev.end);
        }
        if let Some((_, next)) = rp.shard_groups.range(t.saturating_add(1)..).next() {
            end = end.min(next.start);
        }
        self.next_shard_group_id = self.next_shard_group_id.max(1);
        let id = ShardGroupId(self.next_shard_group_id);
        self.next_shard_group_id += 1;
        self.groups_created += 1;
        let shards = owners
            .into_iter()
            .map(|owners| {
                self.next_shard_id = self.next_shard_id.max(1);
                let shard = ShardInfo {
                    id: ShardId(self.next_shard_id),
                    owners,
                };
                self.next_shard_id += 1;
                self.shards.insert(shard.id, id);
                shard
            })
            .collect();
        self.shard_groups.insert(
            id,
            GroupLocation {
                database: database.to_owned(),
                retention_policy: rp.name.clone(),
                start,
            },
        );
        Ok(ShardGroupInfo {
            id,
            database: database.to_owned(),
            retention_policy: rp.name.clone(),
            start,
            end,
            shards,
        })
    }

    /// Writes a modified policy back into its database.
    fn store_policy(&mut self, database: &str, rp: RetentionPolicyInfo) {
        if let Some(db) = self.databases.get_mut(database) {
            Arc::make_mut(db)
                .retention_policies
                .insert(rp.name.clone(), Arc::new(rp));
        }
    }

    /// influxd's shard pre-creation: for every policy whose latest group
    /// ends inside `(from, to)`, create the group that follows it. Policies
    /// without groups, or whose latest group is already past `to` or wholly
    /// in the past, are left alone.
    pub(super) fn precreate_shard_groups(&mut self, from: i64, to: i64) -> (Vec<Arc<ShardGroupInfo>>, bool) {
        let mut wanted: Vec<(String, String, i64)> = Vec::new();
        for db in self.databases.values() {
            for rp in db.retention_policies.values() {
                let Some((_, last)) = rp.shard_groups.iter().next_back() else {
                    continue;
                };
                if last.end > from && last.end < to && last.end <= MAX_TIME_NS {
                    wanted.push((db.name.clone(), rp.name.clone(), last.end));
                }
            }
        }
        let mut created = Vec::new();
        for (db, rp, t) in wanted {
            // A policy we cannot place (no data nodes) is skipped, not fatal.
            if let Ok((groups, true)) = self.create_shard_groups(&db, &rp, &[t]) {
                created.extend(groups);
            }
        }
        let changed = !created.is_empty();
        (created, changed)
    }

    /// Retention enforcement: deletes every group whose end is before
    /// `now - duration` of its (finite) policy, tombstoning its shards.
    pub(super) fn delete_expired_shard_groups(&mut self, now: i64) -> (Vec<ShardGroupId>, bool) {
        let mut deleted = Vec::new();
        let names: Vec<String> = self.databases.keys().cloned().collect();
        for name in names {
            let Some(db) = self.databases.get(&name) else {
                continue;
            };
            let expired: Vec<(String, Vec<Arc<ShardGroupInfo>>)> = db
                .retention_policies
                .values()
                .filter_map(|rp| {
                    let cutoff = rp.retention_cutoff(now)?;
                    let groups: Vec<_> = rp
                        .shard_groups
                        .values()
                        .filter(|g| g.end < cutoff)
                        .cloned()
                        .collect();
                    (!groups.is_empty()).then(|| (rp.name.clone(), groups))
                })
                .collect();
            if expired.is_empty() {
                continue;
            }
            let db = Arc::make_mut(self.databases.get_mut(&name).expect("present"));
            for (rp_name, groups) in &expired {
                let rp = Arc::make_mut(db.retention_policies.get_mut(rp_name).expect("present"));
                for g in groups {
                    rp.shard_groups.remove(&g.start);
                }
            }
            for (_, groups) in expired {
                for g in groups {
                    deleted.push(g.id);
                    self.forget_group(&g);
                }
            }
        }
        let changed = !deleted.is_empty();
        (deleted, changed)
    }

    /// Drops the indexes and field types of a deleted group and tombstones
    /// its shard ids, so a late write or replay can never resurrect them.
    pub(super) fn forget_group(&mut self, group: &ShardGroupInfo) {
        self.shard_groups.remove(&group.id);
        self.fields.remove(&group.id);
        for shard in &group.shards {
            self.shards.remove(&shard.id);
            self.tombstoned_shards.insert(shard.id);
        }
    }

    /// Takes a removed node out of every owner list.
    pub(super) fn remove_owner_everywhere(&mut self, node: NodeId) {
        let owns = |g: &ShardGroupInfo| g.shards.iter().any(|s| s.owners.contains(&node));
        for db in self.databases.values_mut() {
            if !db
                .retention_policies
                .values()
                .any(|rp| rp.shard_groups.values().any(|g| owns(g)))
            {
                continue;
            }
            for rp in Arc::make_mut(db).retention_policies.values_mut() {
                if !rp.shard_groups.values().any(|g| owns(g)) {
                    continue;
                }
                for g in Arc::make_mut(rp).shard_groups.values_mut() {
                    if owns(g) {
                        for s in &mut Arc::make_mut(g).shards {
                            s.owners.retain(|&o| o != node);
                        }
                    }
                }
            }
        }
    }

    /// A live shard group by id.
    pub fn shard_group(&self, id: ShardGroupId) -> Option<&Arc<ShardGroupInfo>> {
        let loc = self.shard_groups.get(&id)?;
        let rp = self
            .databases
            .get(&loc.database)?
            .retention_policies
            .get(&loc.retention_policy)?;
        rp.shard_groups.get(&loc.start)
    }

    /// A live shard and its group.
    pub fn shard(&self, id: ShardId) -> Option<(&Arc<ShardGroupInfo>, &ShardInfo)> {
        let group = self.shard_group(*self.shards.get(&id)?)?;
        let shard = group.shards.iter().find(|s| s.id == id)?;
        Some((group, shard))
    }

    /// Whether the shard was deleted (its id is never used again, and data
    /// for it must be refused).
    pub fn is_shard_tombstoned(&self, id: ShardId) -> bool {
        self.tombstoned_shards.contains(&id)
    }

    /// Every live shard `node` owns, with its group.
    pub fn shards_owned_by(&self, node: NodeId) -> Vec<(&Arc<ShardGroupInfo>, &ShardInfo)> {
        self.databases
            .values()
            .flat_map(|db| db.retention_policies.values())
            .flat_map(|rp| rp.shard_groups.values())
            .flat_map(|g| g.shards.iter().map(move |s| (g, s)))
            .filter(|(_, s)| s.owners.contains(&node))
            .collect()
    }

    /// All live shard groups of one policy in start order.
    pub fn shard_groups_of(
        &self,
        database: &str,
        policy: &str,
    ) -> Result<Vec<Arc<ShardGroupInfo>>, MetaError> {
        Ok(self
            .retention_policy(database, Some(policy))?
            .shard_groups
            .values()
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;
    const D: i64 = 24 * H;

    #[test]
    fn alignment_matches_influxd() {
        // 2024-01-03T10:00:00Z is a Wednesday; its 7-day group starts on
        // Monday 2024-01-01T00:00:00Z (influxd aligns weeks to Go's zero time).
        let wed_10h = 1_704_276_000 * 1_000_000_000;
        let mon = 1_704_067_200 * 1_000_000_000;
        let table: &[(i64, Duration, i64)] = &[
            (wed_10h, Duration::from_secs(7 * 86400), mon),
            (wed_10h, Duration::from_secs(86400), mon + 2 * D),
            (wed_10h, Duration::from_secs(3600), wed_10h),
            (wed_10h + 1, Duration::from_secs(3600), wed_10h),
            (0, Duration::from_secs(3600), 0),
            (-1, Duration::from_secs(3600), -H),
            // 1970-01-01 is a Thursday; its week started on Monday 1969-12-29.
            (0, Duration::from_secs(7 * 86400), -3 * D),
        ];
        for &(t, width, start) in table {
            assert_eq!(align_to_group(t, width), start, "t={t} width={width:?}");
        }
    }
}
