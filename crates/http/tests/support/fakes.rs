//! In-memory stand-ins for every port the HTTP API and its coordinator use.
//! One `FakeCluster` holds databases, policies, users and tokens and serves
//! both the coordinator's `Metadata` and the API's `Admin` and `Auth`, so a
//! `CREATE DATABASE` over `/query` is visible to the next write.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tandem_coordinator::ports::{
    FieldRegistration, MetaError, Metadata, OwnerAck, OwnerError, OwnerTransport, PortFuture,
    RetentionPolicy, Shard, ShardGroup, ShardWrite,
};
use tandem_http::ports::{
    Admin, Auth, AuthError, ExportRequest, ExportStream, Exporter, Health, NewToken, PortError, Principal,
    Privilege, RetentionPolicyInfo, RetentionPolicySpec, RetentionPolicyUpdate, StatValue, Statistic, Status,
    TokenInfo, UserInfo,
};
use tandem_model::{FieldType, FieldValueRef, NodeId, ShardGroupId, ShardId};

pub const HOUR: Duration = Duration::from_secs(3600);
const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct Rp {
    pub duration: Duration,
    pub shard_duration: Duration,
    pub replication: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Db {
    pub default_rp: String,
    pub rps: BTreeMap<String, Rp>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub password: String,
    pub admin: bool,
    pub privileges: BTreeMap<String, Privilege>,
}

#[derive(Debug, Clone)]
pub struct FakeToken {
    /// The whole token string (the fake keeps it in clear).
    pub token: String,
    pub user: String,
    pub description: String,
}

#[derive(Default)]
pub struct State {
    pub dbs: BTreeMap<String, Db>,
    pub users: BTreeMap<String, User>,
    /// By id.
    pub tokens: BTreeMap<String, FakeToken>,
    pub groups: Vec<(String, String, ShardGroup)>,
    pub fields: HashMap<(ShardGroupId, String, String), FieldType>,
    pub deleted: Vec<ShardId>,
}

pub struct FakeCluster {
    pub state: Mutex<State>,
    pub owners: Vec<NodeId>,
    pub next_id: AtomicU64,
    /// Shard ids count on their own, as the meta service's do: the first
    /// group's shard is shard 1.
    pub next_shard: AtomicU64,
    pub version: AtomicU64,
    /// `database_exists` and DDL answer `Unavailable`.
    pub meta_down: AtomicBool,
    /// `authenticate*` answer `Unavailable`.
    pub auth_down: AtomicBool,
    pub authentications: AtomicU64,
}

/// What the meta client answers once no meta node could be reached.
pub const META_UNREACHABLE: &str = "meta service unavailable: no meta node reachable";

fn unavailable() -> PortError {
    PortError::Unavailable(META_UNREACHABLE.into())
}

impl FakeCluster {
    /// One database `db` (policies `autogen`, default, and `week`) owned by
    /// `owners`.
    pub fn new(owners: &[u32]) -> Arc<Self> {
        let rf = owners.len() as u32;
        let mut state = State::default();
        let mut db = Db {
            default_rp: "autogen".into(),
            rps: BTreeMap::new(),
        };
        db.rps.insert(
            "autogen".into(),
            Rp {
                duration: Duration::ZERO,
                shard_duration: WEEK,
                replication: rf,
            },
        );
        db.rps.insert(
            "week".into(),
            Rp {
                duration: WEEK,
                shard_duration: HOUR,
                replication: rf,
            },
        );
        state.dbs.insert("db".into(), db);
        Arc::new(Self {
            state: Mutex::new(state),
            owners: owners.iter().map(|&n| NodeId(n)).collect(),
            next_id: AtomicU64::new(1),
            next_shard: AtomicU64::new(1),
            version: AtomicU64::new(1),
            meta_down: AtomicBool::new(false),
            auth_down: AtomicBool::new(false),
            authentications: AtomicU64::new(0),
        })
    }

    pub fn add_user(&self, name: &str, password: &str, admin: bool, privileges: &[(&str, Privilege)]) {
        self.state.lock().unwrap().users.insert(
            name.into(),
            User {
                password: password.into(),
                admin,
                privileges: privileges.iter().map(|(d, p)| ((*d).to_owned(), *p)).collect(),
            },
        );
    }

    /// A token acting as `user`; its id is the token itself.
    pub fn add_token(&self, token: &str, user: &str) {
        self.state.lock().unwrap().tokens.insert(
            token.into(),
            FakeToken {
                token: token.into(),
                user: user.into(),
                description: String::new(),
            },
        );
    }

    pub fn set_field(
        &self,
        db: &str,
        rp: &str,
        start_ns: i64,
        measurement: &str,
        field: &str,
        ty: FieldType,
    ) {
        let group = self.group_at(db, rp, start_ns);
        self.state
            .lock()
            .unwrap()
            .fields
            .insert((group.id, measurement.into(), field.into()), ty);
    }

    pub fn delete_shard(&self, id: ShardId) {
        self.state.lock().unwrap().deleted.push(id);
    }

    fn group_at(&self, db: &str, rp: &str, start: i64) -> ShardGroup {
        let mut s = self.state.lock().unwrap();
        let width = s
            .dbs
            .get(db)
            .and_then(|d| d.rps.get(rp))
            .map_or(HOUR, |r| r.shard_duration)
            .as_nanos() as i64;
        if let Some((_, _, g)) = s
            .groups
            .iter()
            .find(|(d, r, g)| d == db && r == rp && g.start_ns == start)
        {
            return g.clone();
        }
        let id = ShardGroupId(self.next_id.fetch_add(1, Ordering::SeqCst));
        let shard = Shard {
            id: ShardId(self.next_shard.fetch_add(1, Ordering::SeqCst)),
            owners: self.owners.clone(),
        };
        let g = ShardGroup {
            id,
            start_ns: start,
            end_ns: start.saturating_add(width),
            shards: vec![shard],
        };
        s.groups.push((db.into(), rp.into(), g.clone()));
        g
    }

    fn principal(&self, name: &str) -> Option<Principal> {
        let s = self.state.lock().unwrap();
        s.users.get(name).map(|u| Principal {
            name: name.into(),
            admin: u.admin,
            privileges: u.privileges.clone(),
        })
    }

    fn ddl<T>(&self, f: impl FnOnce(&mut State) -> Result<T, PortError>) -> Result<T, PortError> {
        if self.meta_down.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        let r = f(&mut self.state.lock().unwrap());
        self.version.fetch_add(1, Ordering::SeqCst);
        r
    }
}

fn rejected(msg: &str) -> PortError {
    PortError::Rejected(msg.into())
}

impl Metadata for FakeCluster {
    fn retention_policy<'a>(
        &'a self,
        db: &'a str,
        rp: Option<&'a str>,
    ) -> PortFuture<'a, Result<RetentionPolicy, MetaError>> {
        Box::pin(async move {
            let s = self.state.lock().unwrap();
            let d = s
                .dbs
                .get(db)
                .ok_or_else(|| MetaError::DatabaseNotFound(db.into()))?;
            let name = rp.unwrap_or(&d.default_rp);
            let r = d
                .rps
                .get(name)
                .ok_or_else(|| MetaError::RetentionPolicyNotFound(name.into()))?;
            Ok(RetentionPolicy {
                name: name.into(),
                duration_ns: r.duration.as_nanos() as i64,
                shard_group_duration_ns: r.shard_duration.as_nanos() as i64,
                replication: r.replication,
            })
        })
    }

    fn shard_groups<'a>(
        &'a self,
        db: &'a str,
        rp: &'a str,
        starts: &'a [i64],
    ) -> PortFuture<'a, Result<Vec<ShardGroup>, MetaError>> {
        Box::pin(async move { Ok(starts.iter().map(|&s| self.group_at(db, rp, s)).collect()) })
    }

    fn field_type(&self, group: ShardGroupId, measurement: &str, field: &str) -> Option<FieldType> {
        self.state
            .lock()
            .unwrap()
            .fields
            .get(&(group, measurement.into(), field.into()))
            .copied()
    }

    fn register_fields<'a>(
        &'a self,
        fields: Vec<FieldRegistration>,
    ) -> PortFuture<'a, Result<Vec<FieldType>, MetaError>> {
        Box::pin(async move {
            let mut s = self.state.lock().unwrap();
            Ok(fields
                .into_iter()
                .map(|f| {
                    *s.fields
                        .entry((f.group, f.measurement, f.field))
                        .or_insert(f.field_type)
                })
                .collect())
        })
    }

    fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    fn refresh(&self) -> PortFuture<'_, Result<(), MetaError>> {
        Box::pin(async move { Ok(()) })
    }

    fn shard(&self, id: ShardId) -> Option<Shard> {
        let s = self.state.lock().unwrap();
        if s.deleted.contains(&id) {
            return None;
        }
        s.groups
            .iter()
            .flat_map(|(_, _, g)| g.shards.iter())
            .find(|sh| sh.id == id)
            .cloned()
    }
}

impl Admin for FakeCluster {
    fn database_exists<'a>(&'a self, db: &'a str) -> PortFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            if self.meta_down.load(Ordering::SeqCst) {
                return Err(unavailable());
            }
            Ok(self.state.lock().unwrap().dbs.contains_key(db))
        })
    }

    fn create_database<'a>(
        &'a self,
        name: &'a str,
        policy: Option<RetentionPolicySpec>,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let spec = policy.unwrap_or_default();
                let rp_name = spec.name.clone().unwrap_or_else(|| "autogen".into());
                let rp = Rp {
                    duration: spec.duration.unwrap_or_default(),
                    shard_duration: spec.shard_duration.unwrap_or(WEEK),
                    replication: spec.replication.unwrap_or(self.owners.len() as u32),
                };
                let db = s.dbs.entry(name.into()).or_default();
                if db.rps.is_empty() {
                    db.default_rp = rp_name.clone();
                    db.rps.insert(rp_name, rp);
                }
                Ok(())
            })
        })
    }

    fn drop_database<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                s.dbs.remove(name);
                Ok(())
            })
        })
    }

    fn databases(&self) -> PortFuture<'_, Result<Vec<String>, PortError>> {
        Box::pin(async move { self.ddl(|s| Ok(s.dbs.keys().cloned().collect())) })
    }

    fn create_retention_policy<'a>(
        &'a self,
        db: &'a str,
        spec: RetentionPolicySpec,
        make_default: bool,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let d = s
                    .dbs
                    .get_mut(db)
                    .ok_or_else(|| PortError::DatabaseNotFound(db.into()))?;
                let duration = spec.duration.unwrap_or_default();
                if !duration.is_zero() && duration < HOUR {
                    return Err(rejected("retention policy duration must be at least 1h0m0s"));
                }
                let name = spec.name.clone().unwrap_or_default();
                d.rps.insert(
                    name.clone(),
                    Rp {
                        duration,
                        shard_duration: spec.shard_duration.unwrap_or(HOUR),
                        replication: spec.replication.unwrap_or(self.owners.len() as u32),
                    },
                );
                if make_default {
                    d.default_rp = name;
                }
                Ok(())
            })
        })
    }

    fn alter_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        update: RetentionPolicyUpdate,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let d = s
                    .dbs
                    .get_mut(db)
                    .ok_or_else(|| PortError::DatabaseNotFound(db.into()))?;
                let r = d
                    .rps
                    .get_mut(name)
                    .ok_or_else(|| PortError::RetentionPolicyNotFound(name.into()))?;
                if let Some(v) = update.duration {
                    r.duration = v;
                }
                if let Some(v) = update.replication {
                    r.replication = v;
                }
                if let Some(v) = update.shard_duration {
                    r.shard_duration = v;
                }
                if update.make_default {
                    d.default_rp = name.into();
                }
                Ok(())
            })
        })
    }

    fn drop_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                if let Some(d) = s.dbs.get_mut(db) {
                    d.rps.remove(name);
                }
                Ok(())
            })
        })
    }

    fn retention_policies<'a>(
        &'a self,
        db: &'a str,
    ) -> PortFuture<'a, Result<Vec<RetentionPolicyInfo>, PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let d = s
                    .dbs
                    .get(db)
                    .ok_or_else(|| PortError::DatabaseNotFound(db.into()))?;
                Ok(d.rps
                    .iter()
                    .map(|(n, r)| RetentionPolicyInfo {
                        name: n.clone(),
                        duration: r.duration,
                        shard_group_duration: r.shard_duration,
                        replication: r.replication,
                        default: *n == d.default_rp,
                    })
                    .collect())
            })
        })
    }

    fn create_user<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        admin: bool,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                if s.users.contains_key(name) {
                    return Err(rejected("user already exists"));
                }
                s.users.insert(
                    name.into(),
                    User {
                        password: password.into(),
                        admin,
                        privileges: BTreeMap::new(),
                    },
                );
                Ok(())
            })
        })
    }

    fn drop_user<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                s.users.remove(name).ok_or_else(|| rejected("user not found"))?;
                s.tokens.retain(|_, t| t.user != name);
                Ok(())
            })
        })
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let u = s.users.get_mut(name).ok_or_else(|| rejected("user not found"))?;
                u.password = password.into();
                Ok(())
            })
        })
    }

    fn users(&self) -> PortFuture<'_, Result<Vec<UserInfo>, PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                Ok(s.users
                    .iter()
                    .map(|(n, u)| UserInfo {
                        name: n.clone(),
                        admin: u.admin,
                    })
                    .collect())
            })
        })
    }

    fn set_admin<'a>(&'a self, name: &'a str, admin: bool) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let u = s.users.get_mut(name).ok_or_else(|| rejected("user not found"))?;
                u.admin = admin;
                Ok(())
            })
        })
    }

    fn set_privilege<'a>(
        &'a self,
        name: &'a str,
        db: &'a str,
        privilege: Privilege,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                let u = s.users.get_mut(name).ok_or_else(|| rejected("user not found"))?;
                if privilege == Privilege::None {
                    u.privileges.remove(db);
                } else {
                    u.privileges.insert(db.into(), privilege);
                }
                Ok(())
            })
        })
    }

    fn privileges<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Result<BTreeMap<String, Privilege>, PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                s.users
                    .get(name)
                    .map(|u| u.privileges.clone())
                    .ok_or_else(|| rejected("user not found"))
            })
        })
    }

    fn create_token<'a>(
        &'a self,
        user: &'a str,
        description: &'a str,
    ) -> PortFuture<'a, Result<NewToken, PortError>> {
        Box::pin(async move {
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            self.ddl(|s| {
                if !s.users.contains_key(user) {
                    return Err(rejected("user not found"));
                }
                let id = format!("{n:016x}");
                let token = format!("tdm_{id}_secret{n}");
                s.tokens.insert(
                    id.clone(),
                    FakeToken {
                        token: token.clone(),
                        user: user.into(),
                        description: description.into(),
                    },
                );
                Ok(NewToken { id, token })
            })
        })
    }

    fn tokens(&self) -> PortFuture<'_, Result<Vec<TokenInfo>, PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                Ok(s.tokens
                    .iter()
                    .map(|(id, t)| TokenInfo {
                        id: id.clone(),
                        user: t.user.clone(),
                        description: t.description.clone(),
                    })
                    .collect())
            })
        })
    }

    fn drop_token<'a>(&'a self, id: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.ddl(|s| {
                s.tokens
                    .remove(id)
                    .map(drop)
                    .ok_or_else(|| rejected("token not found"))
            })
        })
    }
}

impl Auth for FakeCluster {
    fn admin_user_exists(&self) -> bool {
        self.state.lock().unwrap().users.values().any(|u| u.admin)
    }

    fn authenticate<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> PortFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            self.authentications.fetch_add(1, Ordering::SeqCst);
            if self.auth_down.load(Ordering::SeqCst) {
                return Err(AuthError::Unavailable(META_UNREACHABLE.into()));
            }
            let ok = self
                .state
                .lock()
                .unwrap()
                .users
                .get(user)
                .is_some_and(|u| u.password == password);
            if !ok {
                return Err(AuthError::Failed);
            }
            self.principal(user).ok_or(AuthError::Failed)
        })
    }

    fn authenticate_token<'a>(&'a self, token: &'a str) -> PortFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            self.authentications.fetch_add(1, Ordering::SeqCst);
            if self.auth_down.load(Ordering::SeqCst) {
                return Err(AuthError::Unavailable(META_UNREACHABLE.into()));
            }
            let user = self
                .state
                .lock()
                .unwrap()
                .tokens
                .values()
                .find(|t| t.token == token)
                .map(|t| t.user.clone());
            user.and_then(|u| self.principal(&u)).ok_or(AuthError::Failed)
        })
    }
}

/// How a fake owner answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Ack,
    AckAfter(Duration),
    Fail(OwnerError),
    Hang,
    /// The owner task dies without answering (unwinds without running the
    /// panic hook, so nothing is printed).
    Die,
}

/// One point an owner stored: (series key, ts, fields as `k=v` text).
pub type StoredPoint = (String, i64, Vec<String>);

#[derive(Default)]
pub struct FakeTransport {
    pub behaviour: Mutex<HashMap<NodeId, Behaviour>>,
    pub stored: Mutex<HashMap<NodeId, Vec<StoredPoint>>>,
}

impl FakeTransport {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn set(&self, node: u32, b: Behaviour) {
        self.behaviour.lock().unwrap().insert(NodeId(node), b);
    }

    pub fn set_all(&self, nodes: &[u32], b: Behaviour) {
        for &n in nodes {
            self.set(n, b.clone());
        }
    }

    pub fn stored(&self, node: u32) -> Vec<StoredPoint> {
        self.stored
            .lock()
            .unwrap()
            .get(&NodeId(node))
            .cloned()
            .unwrap_or_default()
    }
}

pub fn field_text(key: &str, v: FieldValueRef<'_>) -> String {
    match v {
        FieldValueRef::Float(f) => format!("{key}={f}"),
        FieldValueRef::Integer(i) => format!("{key}={i}i"),
        FieldValueRef::Unsigned(u) => format!("{key}={u}u"),
        FieldValueRef::String(s) => format!("{key}={s:?}"),
        FieldValueRef::Boolean(b) => format!("{key}={b}"),
    }
}

pub struct SharedTransport(pub Arc<FakeTransport>);

impl OwnerTransport for SharedTransport {
    fn write_shard(
        &self,
        node: NodeId,
        write: ShardWrite,
    ) -> PortFuture<'static, Result<OwnerAck, OwnerError>> {
        let t = Arc::clone(&self.0);
        Box::pin(async move {
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
                Behaviour::Hang => std::future::pending::<()>().await,
                Behaviour::Die => std::panic::resume_unwind(Box::new("owner task died")),
            }
            let view = write.points.view();
            let points: Vec<StoredPoint> = view
                .iter()
                .map(|p| {
                    let fields = p.fields().map(|f| field_text(f.key, f.value)).collect();
                    (p.series_key.to_owned(), p.ts, fields)
                })
                .collect();
            t.stored.lock().unwrap().entry(node).or_default().extend(points);
            Ok(OwnerAck::default())
        })
    }
}

/// Exports what node 1 stored, one line per point; `rp=nope` is an
/// unknown policy, `unavailable` makes every export fail, `fail_after`
/// ends the stream with an error after the first chunk.
pub struct FakeExporter {
    pub transport: Arc<FakeTransport>,
    pub unavailable: AtomicBool,
    pub fail_after_first_chunk: AtomicBool,
    pub requests: Mutex<Vec<ExportRequest>>,
}

impl Exporter for FakeExporter {
    fn export(&self, req: ExportRequest) -> PortFuture<'static, Result<ExportStream, PortError>> {
        self.requests.lock().unwrap().push(req.clone());
        let unavailable = self.unavailable.load(Ordering::SeqCst);
        let fail = self.fail_after_first_chunk.load(Ordering::SeqCst);
        let stored = self.transport.stored(1);
        Box::pin(async move {
            if unavailable {
                return Err(PortError::Unavailable(
                    "no owner of shard 1 could be read: node 4: connection refused; node 5: connection refused; node 6: connection refused".into(),
                ));
            }
            if req.rp.as_deref() == Some("nope") {
                return Err(PortError::RetentionPolicyNotFound("nope".into()));
            }
            let mut chunks: Vec<Result<Bytes, PortError>> = stored
                .into_iter()
                .filter(|(_, ts, _)| *ts >= req.start_ns && *ts < req.end_ns)
                .map(|(key, ts, fields)| Ok(Bytes::from(format!("{key} {} {ts}\n", fields.join(",")))))
                .collect();
            if fail {
                // The first chunk goes out, then the export fails a little
                // later, as a read error on a real node would.
                chunks.truncate(1);
                let failure = futures::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(PortError::Internal("disk read failed".into()))
                });
                return Ok(Box::pin(futures::stream::iter(chunks).chain(failure)) as ExportStream);
            }
            Ok(Box::pin(futures::stream::iter(chunks)) as ExportStream)
        })
    }
}

/// Health and extra statistics as a test sets them.
pub struct FakeStatus {
    pub health: Mutex<Health>,
}

impl Status for FakeStatus {
    fn health(&self) -> PortFuture<'_, Health> {
        Box::pin(async move { self.health.lock().unwrap().clone() })
    }

    fn render_metrics(&self, out: &mut String) {
        out.push_str("# HELP tandem_hh_bytes Bytes queued in hinted handoff.\n# TYPE tandem_hh_bytes gauge\ntandem_hh_bytes 0\n");
    }

    fn statistics(&self) -> Vec<Statistic> {
        vec![Statistic {
            name: "hh".into(),
            tags: BTreeMap::new(),
            values: BTreeMap::from([("queueBytes".to_owned(), StatValue::Int(0))]),
        }]
    }
}
