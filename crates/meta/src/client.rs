//! [`MetaClient`]: how every other role reads and changes the metadata.
//!
//! The client keeps a local copy of the whole metadata ([`MetaState`], an
//! `Arc` snapshot tagged with its version), follows the meta service's
//! Watch stream to keep it current, and persists it to disk, so reads never
//! leave the process and writes to existing shard groups go on through a
//! meta outage and after a restart.
//!
//! Consistency rules:
//! - **Read-your-writes:** every mutating call returns only after the local
//!   copy has applied the committed change (`version >= committed`).
//! - **Miss → sync → retry once:** a lookup that does not find a database,
//!   policy or user first syncs the copy to the leader's latest committed
//!   version (a linearizable read) and looks again, so a database created
//!   through one node is usable through another at once.
//! - **Shard groups** are created with one idempotent command for all
//!   missing timestamps of a request; the meta service answers existing
//!   groups, so racing front-ends end up with the same group.
//!
//! - **Revocations** (dropped users and tokens, changed passwords, revoked
//!   privileges) take effect on a node when its copy has the change, which
//!   the watch stream delivers normally within milliseconds; `sync()` forces
//!   it.
//!
//! Errors are [`MetaError`]s whose texts match influxd's where it has one;
//! [`MetaError::Unavailable`] means the meta service could not answer in
//! time (the copy may still be used for what it has).

mod auth;
mod cache_file;
mod ddl;
mod follow;
mod transport;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tandem_proto::WIRE_VERSION;
use tandem_proto::auth::ClusterSecret;
use tandem_proto::meta::{ClusterStatusRequest, ProposeRequest, ReadVersionRequest};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::command::{Command, CommandOutput, Proposal};
use crate::config::MetaClientConfig;
use crate::credentials::random_bytes;
use crate::grpc::ApiClient;
use crate::grpc::{from_json, read_error_field, status_error, to_json};
use crate::server::ClusterStatus;
use crate::state::{
    FieldConflict, FieldRegistration, MetaEndpoints, MetaState, RetentionPolicyInfo, ShardGroupInfo,
};
use crate::{MetaError, NodeId};
use transport::Endpoints;

pub use auth::AuthenticatedUser;

/// How long a sync waits for the watch stream before trying another
/// endpoint (the connected one may be a lagging or partitioned follower).
const LAGGING_WATCH: Duration = Duration::from_secs(1);

/// State shared with the background tasks.
struct Shared {
    config: MetaClientConfig,
    endpoints: Arc<Endpoints>,
    state: watch::Sender<Arc<MetaState>>,
    reconnect: Arc<Notify>,
    /// Whether the follow task has a watch stream open.
    watch_connected: Arc<AtomicBool>,
    credentials: std::sync::Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// Stops the background tasks when the last client handle goes away.
struct Lifetime {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Handle to the cluster metadata. Cheap to clone; all clones share one
/// copy and one set of background tasks, stopped when the last is dropped.
#[derive(Clone)]
pub struct MetaClient {
    shared: Arc<Shared>,
    _lifetime: Arc<Lifetime>,
}

impl std::fmt::Debug for MetaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaClient")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl MetaClient {
    /// Loads the persisted copy (if `cache_dir` is set and holds one) and
    /// starts following the meta service. Returns at once, without waiting
    /// for the meta service: call [`MetaClient::sync`] to wait for the
    /// current metadata.
    pub async fn connect(config: MetaClientConfig) -> Result<Self, MetaError> {
        let secret =
            ClusterSecret::new(&config.shared_secret).map_err(|e| MetaError::Config(e.to_string()))?;
        let endpoints = Arc::new(Endpoints::new(
            &config.options.endpoints,
            &secret,
            config.connect_timeout(),
        )?);
        let initial = match &config.cache_dir {
            Some(dir) => cache_file::load(dir)?.unwrap_or_default(),
            None => MetaState::default(),
        };
        let (state, states) = watch::channel(Arc::new(initial));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let reconnect = Arc::new(Notify::new());
        let watch_connected = Arc::new(AtomicBool::new(false));
        let mut tasks = vec![tokio::spawn(follow::follow_loop(
            endpoints.clone(),
            state.clone(),
            reconnect.clone(),
            watch_connected.clone(),
            shutdown_rx.clone(),
        ))];
        if let Some(dir) = &config.cache_dir {
            tasks.push(tokio::spawn(cache_file::persist_loop(
                dir.clone(),
                states,
                shutdown_rx,
            )));
        }
        let shared = Arc::new(Shared {
            config,
            endpoints,
            state,
            reconnect,
            watch_connected,
            credentials: std::sync::Mutex::new(std::collections::HashSet::new()),
        });
        Ok(Self {
            shared,
            _lifetime: Arc::new(Lifetime { shutdown, tasks }),
        })
    }

    // ---- the local copy ----

    /// The current local copy. Never blocks, never does I/O.
    pub fn state(&self) -> Arc<MetaState> {
        self.shared.state.borrow().clone()
    }

    /// Version of the local copy.
    pub fn version(&self) -> u64 {
        self.shared.state.borrow().version()
    }

    /// A receiver that sees every new local copy (data nodes use it to react
    /// to new shards and tombstones).
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetaState>> {
        self.shared.state.subscribe()
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.shared.config.request_timeout()
    }

    /// Waits until the local copy has reached `version` (bounded by the
    /// request timeout) and returns it.
    pub async fn wait_for_version(&self, version: u64) -> Result<Arc<MetaState>, MetaError> {
        self.wait_until(version, self.deadline()).await
    }

    async fn wait_until(&self, version: u64, deadline: Instant) -> Result<Arc<MetaState>, MetaError> {
        let mut rx = self.shared.state.subscribe();
        if rx.borrow().version() < version && !self.shared.watch_connected.load(Ordering::Relaxed) {
            // The follow task is between attempts: wake it now.
            self.shared.reconnect.notify_one();
        }
        loop {
            if let Some(state) = Some(rx.borrow_and_update().clone()).filter(|s| s.version() >= version) {
                return Ok(state);
            }
            let nudge = (Instant::now() + LAGGING_WATCH).min(deadline);
            match tokio::time::timeout_at(nudge, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(MetaError::Unavailable("metadata client stopped".into())),
                Err(_) if Instant::now() >= deadline => {
                    return Err(MetaError::Unavailable(format!(
                        "local metadata copy did not reach version {version} in time (at {})",
                        rx.borrow().version()
                    )));
                }
                Err(_) => self.shared.reconnect.notify_one(),
            }
        }
    }

    /// Brings the local copy up to the leader's latest committed version
    /// (a linearizable read on the leader) and returns it.
    pub async fn sync(&self) -> Result<Arc<MetaState>, MetaError> {
        let deadline = self.deadline();
        let version = self
            .shared
            .endpoints
            .call(deadline, |mut c| async move {
                let reply = c
                    .read_version(ReadVersionRequest {
                        wire_version: WIRE_VERSION,
                        forwarded: false,
                    })
                    .await
                    .map_err(|s| status_error(&s))?
                    .into_inner();
                read_error_field(&reply.error)?;
                Ok(reply.version)
            })
            .await?;
        self.wait_until(version, deadline).await
    }

    /// Runs a lookup on the local copy; on a not-found error syncs once and
    /// runs it again.
    async fn lookup<T>(&self, f: impl Fn(&MetaState) -> Result<T, MetaError>) -> Result<T, MetaError> {
        lookup_then_sync(&self.state(), f, || self.sync()).await
    }

    // ---- committing commands ----

    /// Commits `command` and waits until the local copy includes it.
    pub(crate) async fn propose(&self, command: Command) -> Result<CommandOutput, MetaError> {
        let deadline = self.deadline();
        let request_id = u64::from_le_bytes(random_bytes::<8>()?).max(1);
        let body = to_json(&Proposal { request_id, command });
        let (version, result) = self
            .shared
            .endpoints
            .call(deadline, |mut c| {
                let body = body.clone();
                async move {
                    let reply = c
                        .propose(ProposeRequest {
                            wire_version: WIRE_VERSION,
                            proposal: body,
                            forwarded: false,
                        })
                        .await
                        .map_err(|s| status_error(&s))?
                        .into_inner();
                    let result: Result<CommandOutput, MetaError> = from_json(&reply.result)?;
                    match result {
                        // No leader, leader unreachable: retry (the request id
                        // makes a retry of an applied proposal harmless).
                        Err(e) if e.is_retriable() => Err(e),
                        other => Ok((reply.version, other)),
                    }
                }
            })
            .await?;
        let output = result?;
        self.wait_until(version, deadline).await?;
        Ok(output)
    }

    // ---- what the write path needs ----

    /// The retention policy `(database, policy)`; `None` resolves to the
    /// database's default. A miss syncs once and retries.
    pub async fn retention_policy(
        &self,
        database: &str,
        policy: Option<&str>,
    ) -> Result<Arc<RetentionPolicyInfo>, MetaError> {
        self.lookup(|s| s.retention_policy(database, policy).cloned())
            .await
    }

    /// The shard groups of `(database, policy)` containing `timestamps`
    /// (ns), distinct and in start order. Groups missing locally are created
    /// (or fetched, when another node made them) with one command for all of
    /// them; the owners are decided by the meta service.
    pub async fn shard_groups_for(
        &self,
        database: &str,
        policy: &str,
        timestamps: &[i64],
    ) -> Result<Vec<Arc<ShardGroupInfo>>, MetaError> {
        let state = self.state();
        let mut found: Vec<Arc<ShardGroupInfo>> = Vec::new();
        let mut missing: Vec<i64> = Vec::new();
        match state.retention_policy(database, Some(policy)) {
            Ok(rp) => {
                for &t in timestamps {
                    match rp.shard_group_for(t) {
                        Some(g) => found.push(g.clone()),
                        None => missing.push(t),
                    }
                }
            }
            // Unknown here: let the meta service decide (it knows or fails).
            Err(_) => missing.extend_from_slice(timestamps),
        }
        if !missing.is_empty() {
            let command = Command::CreateShardGroupIfAbsent {
                database: database.to_owned(),
                retention_policy: policy.to_owned(),
                timestamps: missing,
            };
            match self.propose(command).await? {
                CommandOutput::ShardGroups(groups) => found.extend(groups),
                other => return Err(MetaError::Wire(format!("unexpected reply {other:?}"))),
            }
        }
        found.sort_by_key(|g| g.start);
        found.dedup_by_key(|g| g.id);
        Ok(found)
    }

    /// Registers field types before they are written and returns every
    /// conflict (first registration wins). Fields already known locally
    /// cost nothing; unknown ones go to the meta service in one command.
    pub async fn register_fields(
        &self,
        fields: &[FieldRegistration],
    ) -> Result<Vec<FieldConflict>, MetaError> {
        let state = self.state();
        let (mut conflicts, unknown) = state.classify_fields(fields);
        if unknown.is_empty() {
            return Ok(conflicts);
        }
        let command = Command::RegisterFields {
            fields: unknown.into_iter().cloned().collect(),
        };
        match self.propose(command).await? {
            CommandOutput::FieldConflicts(more) => conflicts.extend(more),
            other => return Err(MetaError::Wire(format!("unexpected reply {other:?}"))),
        }
        Ok(conflicts)
    }

    // ---- cluster ----

    /// The raft view of whichever meta node answers first.
    pub async fn cluster_status(&self) -> Result<ClusterStatus, MetaError> {
        self.shared
            .endpoints
            .call(self.deadline(), cluster_status_from)
            .await
    }

    /// The raft view of the meta node serving `api_addr`, asked once,
    /// when `api_addr` is one of the configured endpoints (`None`
    /// otherwise). The clock probe asks the leader this way.
    pub async fn cluster_status_at(&self, api_addr: &str) -> Option<Result<ClusterStatus, MetaError>> {
        let client = self.shared.endpoints.by_addr(api_addr)?;
        let deadline = self.deadline();
        Some(
            tokio::time::timeout_at(deadline, cluster_status_from(client))
                .await
                .unwrap_or_else(|_| {
                    Err(MetaError::Unreachable(format!(
                        "{api_addr} did not answer in time"
                    )))
                }),
        )
    }
}

async fn cluster_status_from(mut c: ApiClient) -> Result<ClusterStatus, MetaError> {
    let r = c
        .cluster_status(ClusterStatusRequest {
            wire_version: WIRE_VERSION,
        })
        .await
        .map_err(|s| status_error(&s))?
        .into_inner();
    let voters = r
        .members
        .iter()
        .filter(|m| m.voter)
        .map(|m| NodeId(m.id))
        .collect();
    let learners = r
        .members
        .iter()
        .filter(|m| !m.voter)
        .map(|m| NodeId(m.id))
        .collect();
    let endpoints = r
        .members
        .iter()
        .map(|m| {
            (
                NodeId(m.id),
                MetaEndpoints {
                    raft_addr: m.raft_addr.clone(),
                    api_addr: m.api_addr.clone(),
                },
            )
        })
        .collect();
    Ok(ClusterStatus {
        node_id: NodeId(r.node_id),
        leader: (r.leader_id != 0).then_some(NodeId(r.leader_id)),
        term: r.term,
        server_state: r.server_state,
        voters,
        learners,
        endpoints,
        last_log_index: r.last_log_index,
        last_applied_index: r.last_applied_index,
        state_version: r.state_version,
        clock_ns: r.clock_ns,
    })
}

/// `f` on `copy`; when it reports something missing, `f` once more on the
/// state `sync` returns (the leader's latest version), so a name created
/// through another node a moment ago resolves instead of a 404.
async fn lookup_then_sync<T, Fut>(
    copy: &MetaState,
    f: impl Fn(&MetaState) -> Result<T, MetaError>,
    sync: impl FnOnce() -> Fut,
) -> Result<T, MetaError>
where
    Fut: Future<Output = Result<Arc<MetaState>, MetaError>>,
{
    match f(copy) {
        Err(e) if e.is_not_found() => f(&*sync().await?),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn with_db(name: &str) -> MetaState {
        let mut s = MetaState::default();
        s.apply(&Command::CreateDatabase {
            name: name.into(),
            retention_policy: None,
            default_replication_factor: 1,
        })
        .unwrap();
        s
    }

    /// Database in the local copy, database after the sync, sync fails,
    /// expected result, syncs made.
    type Row = (bool, bool, bool, Result<&'static str, MetaError>, usize);

    #[tokio::test]
    async fn a_miss_syncs_once_then_answers() {
        let unavailable = MetaError::Unavailable("no leader".into());
        let table: [Row; 5] = [
            (true, true, false, Ok("autogen"), 0),
            (false, true, false, Ok("autogen"), 1),
            (
                false,
                false,
                false,
                Err(MetaError::DatabaseNotFound("db".into())),
                1,
            ),
            (false, true, true, Err(unavailable.clone()), 1),
            // A hit never pays for a sync, even when one would fail.
            (true, false, true, Ok("autogen"), 0),
        ];
        for (i, (local, synced, sync_fails, want, want_syncs)) in table.into_iter().enumerate() {
            let copy = if local {
                with_db("db")
            } else {
                MetaState::default()
            };
            let latest = Arc::new(if synced {
                with_db("db")
            } else {
                MetaState::default()
            });
            let syncs = Cell::new(0);
            let got = lookup_then_sync(
                &copy,
                |s| s.retention_policy("db", None).map(|rp| rp.name.clone()),
                || {
                    syncs.set(syncs.get() + 1);
                    let result = if sync_fails {
                        Err(unavailable.clone())
                    } else {
                        Ok(Arc::clone(&latest))
                    };
                    async move { result }
                },
            )
            .await;
            assert_eq!(got, want.map(str::to_owned), "row {i}");
            assert_eq!(syncs.get(), want_syncs, "row {i}: syncs");
        }
    }
}
