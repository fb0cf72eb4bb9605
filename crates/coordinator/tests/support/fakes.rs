//! In-memory stand-ins for the coordinator's ports.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_coordinator::ports::{
    FieldRegistration, MetaError, Metadata, OwnerAck, OwnerError, OwnerTransport, PortFuture,
    RetentionPolicy, Shard, ShardGroup, ShardWrite,
};
use tandem_model::{FieldType, NodeId, ShardGroupId, ShardId};

pub const HOUR: i64 = 3_600_000_000_000;

/// One database `db` with policies; shard groups are created on demand with
/// `shards_per_group` shards owned by `owners`.
pub struct FakeMeta {
    pub policies: Vec<(String, RetentionPolicy, bool)>,
    pub owners: Vec<NodeId>,
    pub shards_per_group: usize,
    /// When set, shard `i` of a new group is owned by `owner_sets[i % len]`
    /// instead of `owners`.
    pub owner_sets: Mutex<Vec<Vec<NodeId>>>,
    pub groups: Mutex<Vec<ShardGroup>>,
    pub fields: Mutex<HashMap<(ShardGroupId, String, String), FieldType>>,
    pub next_id: AtomicU64,
    pub version: AtomicU64,
    pub refreshes: AtomicU64,
    pub register_calls: AtomicU64,
    pub deleted: Mutex<Vec<ShardId>>,
}

impl FakeMeta {
    pub fn new(owners: &[u32], shards_per_group: usize) -> Arc<Self> {
        let rp = |name: &str, duration_ns| RetentionPolicy {
            name: name.to_owned(),
            duration_ns,
            shard_group_duration_ns: HOUR,
            replication: owners.len() as u32,
        };
        Arc::new(Self {
            policies: vec![
                ("db".into(), rp("autogen", 0), true),
                ("db".into(), rp("week", 7 * 24 * HOUR), false),
            ],
            owners: owners.iter().map(|&n| NodeId(n)).collect(),
            shards_per_group,
            owner_sets: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            fields: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            version: AtomicU64::new(1),
            refreshes: AtomicU64::new(0),
            register_calls: AtomicU64::new(0),
            deleted: Mutex::new(Vec::new()),
        })
    }

    pub fn set_field(&self, start_ns: i64, measurement: &str, field: &str, ty: FieldType) {
        let group = self.group_at(start_ns);
        self.fields
            .lock()
            .unwrap()
            .insert((group.id, measurement.into(), field.into()), ty);
    }

    fn group_at(&self, start: i64) -> ShardGroup {
        let mut groups = self.groups.lock().unwrap();
        if let Some(g) = groups.iter().find(|g| g.start_ns == start) {
            return g.clone();
        }
        let id = ShardGroupId(self.next_id.fetch_add(1, Ordering::SeqCst));
        let sets = self.owner_sets.lock().unwrap().clone();
        let shards = (0..self.shards_per_group)
            .map(|i| Shard {
                id: ShardId(self.next_id.fetch_add(1, Ordering::SeqCst)),
                owners: if sets.is_empty() {
                    self.owners.clone()
                } else {
                    sets[i % sets.len()].clone()
                },
            })
            .collect();
        let g = ShardGroup {
            id,
            start_ns: start,
            end_ns: start + HOUR,
            shards,
        };
        groups.push(g.clone());
        g
    }
}

impl Metadata for FakeMeta {
    fn retention_policy<'a>(
        &'a self,
        db: &'a str,
        rp: Option<&'a str>,
    ) -> PortFuture<'a, Result<RetentionPolicy, MetaError>> {
        Box::pin(async move {
            if !self.policies.iter().any(|(d, _, _)| d == db) {
                return Err(MetaError::DatabaseNotFound(db.to_owned()));
            }
            self.policies
                .iter()
                .find(|(d, p, default)| d == db && rp.map_or(*default, |rp| p.name == rp))
                .map(|(_, p, _)| p.clone())
                .ok_or_else(|| MetaError::RetentionPolicyNotFound(rp.unwrap_or_default().to_owned()))
        })
    }

    fn shard_groups<'a>(
        &'a self,
        _db: &'a str,
        _rp: &'a str,
        starts: &'a [i64],
    ) -> PortFuture<'a, Result<Vec<ShardGroup>, MetaError>> {
        Box::pin(async move { Ok(starts.iter().map(|&s| self.group_at(s)).collect()) })
    }

    fn field_type(&self, group: ShardGroupId, measurement: &str, field: &str) -> Option<FieldType> {
        self.fields
            .lock()
            .unwrap()
            .get(&(group, measurement.to_owned(), field.to_owned()))
            .copied()
    }

    fn register_fields<'a>(
        &'a self,
        fields: Vec<FieldRegistration>,
    ) -> PortFuture<'a, Result<Vec<FieldType>, MetaError>> {
        Box::pin(async move {
            self.register_calls.fetch_add(1, Ordering::SeqCst);
            let mut map = self.fields.lock().unwrap();
            Ok(fields
                .into_iter()
                .map(|f| {
                    *map.entry((f.group, f.measurement, f.field))
                        .or_insert(f.field_type)
                })
                .collect())
        })
    }

    fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    fn refresh(&self) -> PortFuture<'_, Result<(), MetaError>> {
        Box::pin(async move {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.version.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }

    fn shard(&self, id: ShardId) -> Option<Shard> {
        if self.deleted.lock().unwrap().contains(&id) {
            return None;
        }
        self.groups
            .lock()
            .unwrap()
            .iter()
            .flat_map(|g| g.shards.iter())
            .find(|s| s.id == id)
            .cloned()
    }
}

/// How a fake node answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Ack,
    AckAfter(Duration),
    Fail(OwnerError),
    /// Fails the first `n` writes with this error, then acks.
    FailFirst(u32, OwnerError),
    Hang,
}

/// Records every write each node received (and acked).
#[derive(Default)]
pub struct FakeTransport {
    pub behaviour: Mutex<HashMap<NodeId, Behaviour>>,
    pub stored: Mutex<HashMap<NodeId, Vec<ShardWrite>>>,
    pub attempts: Mutex<HashMap<NodeId, u32>>,
}

impl FakeTransport {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn set(&self, node: u32, b: Behaviour) {
        self.behaviour.lock().unwrap().insert(NodeId(node), b);
    }

    pub fn stored_points(&self, node: u32) -> usize {
        self.stored
            .lock()
            .unwrap()
            .get(&NodeId(node))
            .map_or(0, |w| w.iter().map(|w| w.points.len()).sum())
    }

    pub fn attempts(&self, node: u32) -> u32 {
        self.attempts
            .lock()
            .unwrap()
            .get(&NodeId(node))
            .copied()
            .unwrap_or(0)
    }
}

pub struct Shared(pub Arc<FakeTransport>);

impl OwnerTransport for Shared {
    fn write_shard(
        &self,
        node: NodeId,
        write: ShardWrite,
    ) -> PortFuture<'static, Result<OwnerAck, OwnerError>> {
        let t = Arc::clone(&self.0);
        Box::pin(async move {
            let attempt = {
                let mut a = t.attempts.lock().unwrap();
                let n = a.entry(node).or_insert(0);
                *n += 1;
                *n
            };
            let b = t
                .behaviour
                .lock()
                .unwrap()
                .get(&node)
                .cloned()
                .unwrap_or(Behaviour::Ack);
            match b {
                Behaviour::Ack => {}
                Behaviour::AckAfter(d) => tokio::time::sleep(d).await,
                Behaviour::Fail(e) => return Err(e),
                Behaviour::FailFirst(n, e) if attempt <= n => return Err(e),
                Behaviour::FailFirst(..) => {}
                Behaviour::Hang => std::future::pending::<()>().await,
            }
            t.stored.lock().unwrap().entry(node).or_default().push(write);
            Ok(OwnerAck::default())
        })
    }
}
