//! The meta service: one raft node with its raft RPC service (8089) and the
//! meta API (8091), the bootstrap of a new cluster, and the leader's
//! periodic duties (shard pre-creation, retention enforcement).
//!
//! Start it with [`MetaServer::start`] (returns once the ports listen) or
//! [`run_meta_server`] (runs until a shutdown signal); tandemd's `meta` role
//! and its all-in-one mode use these.

mod api;
mod duties;
mod watch_stream;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, InitializeError, RaftError};
use openraft::{ChangeMembers, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use tandem_model::NodeId;
use tandem_proto::WIRE_VERSION;
use tandem_proto::auth::ClusterSecret;
use tandem_proto::meta::meta_api_server::MetaApiServer;
use tandem_proto::meta::{
    AddMetaNodeRequest, ClusterStatusRequest, ProposeRequest, ReadVersionRequest, RemoveMetaNodeRequest,
};
use tandem_proto::raft::raft_server::RaftServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;

use crate::MetaError;
use crate::command::{CommandReply, Proposal};
use crate::config::MetaServerConfig;
use crate::grpc::{ApiClient, api_client, from_json, read_error_field, status_error, to_json};
use crate::raft::log_store::LogStore;
use crate::raft::network::NetworkFactory;
use crate::raft::service::RaftService;
use crate::raft::state_machine::{StateFeed, StateMachine};
use crate::raft::{Raft, node_id, raft_error, raft_id, store};
use crate::state::{MetaEndpoints, MetaState};

/// Largest gRPC message the meta services accept.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// Raft view of one meta node (what `tandem-ctl show` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    /// `Leader`, `Follower`, `Candidate`, `Learner` or `Shutdown`.
    pub server_state: String,
    pub voters: BTreeSet<NodeId>,
    pub learners: BTreeSet<NodeId>,
    pub endpoints: BTreeMap<NodeId, MetaEndpoints>,
    pub last_log_index: u64,
    pub last_applied_index: u64,
    /// Metadata version of the answering node's applied state.
    pub state_version: u64,
    /// The answering node's wall clock (ns since the Unix epoch) when it
    /// answered.
    pub clock_ns: i64,
}

fn wall_clock_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Shared core of a running meta node.
pub(crate) struct MetaNode {
    pub(crate) id: NodeId,
    pub(crate) raft: Raft,
    pub(crate) feed: Arc<StateFeed>,
    pub(crate) config: MetaServerConfig,
    secret: ClusterSecret,
    peers: Mutex<HashMap<String, ApiClient>>,
    /// One membership change at a time (concurrent ones can leave a joint
    /// configuration nobody asked for).
    membership_lock: tokio::sync::Mutex<()>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl MetaNode {
    fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(raft_id(self.id))
    }

    pub(crate) fn state(&self) -> Arc<MetaState> {
        self.feed.current()
    }

    fn peer(&self, addr: &str) -> Result<ApiClient, MetaError> {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = peers.get(addr) {
            return Ok(c.clone());
        }
        let client = api_client(addr, &self.secret, self.config.connect_timeout())?;
        peers.insert(addr.to_owned(), client.clone());
        Ok(client)
    }

    /// The leader's API client, from a ForwardToLeader hint.
    fn leader_client(&self, leader: Option<&MetaEndpoints>) -> Result<ApiClient, MetaError> {
        match leader {
            Some(node) => self.peer(&node.api_addr),
            None => Err(MetaError::Unavailable("no meta leader elected".into())),
        }
    }

    /// Commits a proposal, forwarding it to the leader when this node is
    /// not the leader (at most one hop).
    pub(crate) async fn propose(
        &self,
        mut proposal: Proposal,
        forwarded: bool,
    ) -> Result<CommandReply, MetaError> {
        if proposal.command.is_internal() {
            return Err(MetaError::InternalCommand(proposal.command.name().to_owned()));
        }
        proposal
            .command
            .fill_defaults(self.config.options.default_replication_factor);
        match self.raft.client_write(proposal.clone()).await {
            Ok(resp) => Ok(resp.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) if !forwarded => {
                let mut leader = self.leader_client(f.leader_node.as_ref())?;
                let request = ProposeRequest {
                    wire_version: WIRE_VERSION,
                    proposal: to_json(&proposal),
                    forwarded: true,
                };
                let reply = leader
                    .propose(request)
                    .await
                    .map_err(|s| status_error(&s))?
                    .into_inner();
                Ok(CommandReply {
                    version: reply.version,
                    result: from_json(&reply.result)?,
                })
            }
            Err(e) => Err(raft_error(e)),
        }
    }

    /// The leader's committed metadata version, confirmed with a quorum
    /// (read index), forwarded to the leader when needed.
    pub(crate) async fn read_version(&self, forwarded: bool) -> Result<u64, MetaError> {
        match self.raft.ensure_linearizable().await {
            Ok(_) => Ok(self.state().version()),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) if !forwarded => {
                let mut leader = self.leader_client(f.leader_node.as_ref())?;
                let request = ReadVersionRequest {
                    wire_version: WIRE_VERSION,
                    forwarded: true,
                };
                let reply = leader
                    .read_version(request)
                    .await
                    .map_err(|s| status_error(&s))?
                    .into_inner();
                read_error_field(&reply.error)?;
                Ok(reply.version)
            }
            Err(e) => Err(raft_error(e)),
        }
    }

    pub(crate) fn cluster_status(&self) -> ClusterStatus {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        ClusterStatus {
            node_id: self.id,
            leader: m.current_leader.map(node_id),
            term: m.current_term,
            server_state: format!("{:?}", m.state),
            voters: membership.voter_ids().map(node_id).collect(),
            learners: membership.learner_ids().map(node_id).collect(),
            endpoints: membership
                .nodes()
                .map(|(id, n)| (node_id(*id), n.clone()))
                .collect(),
            last_log_index: m.last_log_index.unwrap_or(0),
            last_applied_index: m.last_applied.map(|l| l.index).unwrap_or(0),
            state_version: self.state().version(),
            clock_ns: wall_clock_ns(),
        }
    }

    /// Adds a meta node: learner first (caught up), then voter.
    pub(crate) async fn add_meta_node(
        &self,
        id: NodeId,
        endpoints: MetaEndpoints,
        forwarded: bool,
    ) -> Result<(), MetaError> {
        if !self.is_leader() {
            if forwarded {
                return Err(MetaError::Unavailable("not the meta leader".into()));
            }
            let mut leader = self.current_leader_client()?;
            let request = AddMetaNodeRequest {
                wire_version: WIRE_VERSION,
                id: id.0,
                raft_addr: endpoints.raft_addr,
                api_addr: endpoints.api_addr,
                forwarded: true,
            };
            let reply = leader
                .add_meta_node(request)
                .await
                .map_err(|s| status_error(&s))?
                .into_inner();
            return read_error_field(&reply.error);
        }
        let _guard = self.membership_lock.lock().await;
        self.read_version(true).await?;
        let status = self.cluster_status();
        // A retried request finds its own earlier progress: same id, same
        // addresses. Anything else under that id is a conflict.
        match status.endpoints.get(&id) {
            Some(e) if *e == endpoints && status.voters.contains(&id) => return Ok(()),
            Some(e) if *e == endpoints => {}
            Some(_) => return Err(MetaError::AlreadyMetaNode(id)),
            None => {
                self.state().check_new_meta_id(id)?;
                if status
                    .endpoints
                    .values()
                    .any(|e| e.raft_addr == endpoints.raft_addr || e.api_addr == endpoints.api_addr)
                {
                    return Err(MetaError::Config(format!(
                        "address of node {id} is already used by another meta node"
                    )));
                }
                self.check_joining_node_is_fresh(id, &endpoints).await?;
                self.raft
                    .add_learner(raft_id(id), endpoints, true)
                    .await
                    .map_err(raft_error)?;
            }
        }
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([raft_id(id)])), false)
            .await
            .map_err(raft_error)?;
        Ok(())
    }

    /// A node that already initialized a cluster of its own (started with
    /// an empty `initial_members`, or as a member of another cluster) has a
    /// log that conflicts with ours from its first entry: raft would count it
    /// as a voter while its core fails on the first append. Refuse it.
    async fn check_joining_node_is_fresh(
        &self,
        id: NodeId,
        endpoints: &MetaEndpoints,
    ) -> Result<(), MetaError> {
        let mut peer = self.peer(&endpoints.api_addr)?;
        let reply = tokio::time::timeout(
            self.config.connect_timeout() * 3,
            peer.cluster_status(ClusterStatusRequest {
                wire_version: WIRE_VERSION,
            }),
        )
        .await
        .map_err(|_| MetaError::Unavailable(format!("node {id} at {} did not answer", endpoints.api_addr)))?
        .map_err(|s| status_error(&s))?
        .into_inner();
        if reply.node_id != id.0 {
            return Err(MetaError::Config(format!(
                "{} answers as node {}, not node {id}",
                endpoints.api_addr, reply.node_id
            )));
        }
        if !reply.members.is_empty() || reply.last_log_index > 0 {
            return Err(MetaError::Config(format!(
                "node {id} already belongs to a meta cluster (it has {} members and {} log entries); \
                 a joining node must start with an empty data directory and `initial_members` \
                 listing the nodes of the cluster it joins, itself excluded",
                reply.members.len(),
                reply.last_log_index
            )));
        }
        Ok(())
    }

    /// Removes a meta node from the membership; its id is retired.
    pub(crate) async fn remove_meta_node(&self, id: NodeId, forwarded: bool) -> Result<(), MetaError> {
        if !self.is_leader() {
            if forwarded {
                return Err(MetaError::Unavailable("not the meta leader".into()));
            }
            let mut leader = self.current_leader_client()?;
            let request = RemoveMetaNodeRequest {
                wire_version: WIRE_VERSION,
                id: id.0,
                forwarded: true,
            };
            let reply = leader
                .remove_meta_node(request)
                .await
                .map_err(|s| status_error(&s))?
                .into_inner();
            return read_error_field(&reply.error);
        }
        let _guard = self.membership_lock.lock().await;
        let status = self.cluster_status();
        let change = if status.voters.contains(&id) {
            if status.voters.len() == 1 {
                return Err(MetaError::LastMetaNode);
            }
            ChangeMembers::RemoveVoters(BTreeSet::from([raft_id(id)]))
        } else if status.learners.contains(&id) {
            ChangeMembers::RemoveNodes(BTreeSet::from([raft_id(id)]))
        } else if self.state().retired_node_ids().contains(&id) {
            // Removed already (a retried request).
            return Ok(());
        } else {
            return Err(MetaError::NotMetaNode(id));
        };
        self.raft
            .change_membership(change, false)
            .await
            .map_err(raft_error)?;
        Ok(())
    }

    fn current_leader_client(&self) -> Result<ApiClient, MetaError> {
        let status = self.cluster_status();
        let leader = status.leader.and_then(|l| status.endpoints.get(&l));
        self.leader_client(leader)
    }
}

/// A running meta node.
pub struct MetaServer {
    node: Arc<MetaNode>,
    /// To know when every user of the store (raft core, replication and
    /// snapshot tasks) has let go of it.
    store: std::sync::Weak<redb::Database>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    raft_addr: SocketAddr,
    api_addr: SocketAddr,
}

impl MetaServer {
    /// Opens the raft store, starts the raft node and both gRPC services,
    /// and initializes a new cluster when this node is an initial member.
    /// Returns once both ports listen; the cluster may still be electing.
    pub async fn start(config: MetaServerConfig) -> Result<Self, MetaError> {
        config.validate()?;
        let secret =
            ClusterSecret::new(&config.shared_secret).map_err(|e| MetaError::Config(e.to_string()))?;
        if secret.is_disabled() {
            tracing::warn!("cluster shared secret is empty: internal gRPC is not authenticated");
        }
        let o = &config.options;
        let raft_config = openraft::Config {
            cluster_name: "tandem-meta".into(),
            heartbeat_interval: o.heartbeat_interval_ms,
            election_timeout_min: o.election_timeout_min_ms,
            election_timeout_max: o.election_timeout_max_ms,
            install_snapshot_timeout: 10_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(o.snapshot_after_entries.max(1)),
            max_in_snapshot_log_to_keep: o.log_entries_kept,
            ..Default::default()
        }
        .validate()
        .map_err(|e| MetaError::Config(e.to_string()))?;

        let dir = config.dir.clone();
        let db = tokio::task::spawn_blocking(move || store::open(&dir))
            .await
            .map_err(|e| MetaError::Storage(e.to_string()))??;
        let store = Arc::downgrade(&db);
        let state_machine = StateMachine::open(db.clone())?;
        let feed = state_machine.feed();
        let network = NetworkFactory::new(raft_id(config.node_id), secret.clone(), config.connect_timeout());
        let raft = Raft::new(
            raft_id(config.node_id),
            Arc::new(raft_config),
            network,
            LogStore::new(db),
            state_machine,
        )
        .await
        .map_err(|e| MetaError::Stopped(e.to_string()))?;

        let raft_listener = TcpListener::bind(&o.raft_bind)
            .await
            .map_err(|e| MetaError::Config(format!("cannot listen on {}: {e}", o.raft_bind)))?;
        let api_listener = TcpListener::bind(&o.api_bind)
            .await
            .map_err(|e| MetaError::Config(format!("cannot listen on {}: {e}", o.api_bind)))?;
        let raft_addr = raft_listener.local_addr().map_err(MetaError::storage)?;
        let api_addr = api_listener.local_addr().map_err(MetaError::storage)?;

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let node = Arc::new(MetaNode {
            id: config.node_id,
            raft: raft.clone(),
            feed,
            config: config.clone(),
            secret: secret.clone(),
            peers: Mutex::new(HashMap::new()),
            membership_lock: tokio::sync::Mutex::new(()),
            shutdown: shutdown_rx.clone(),
        });

        let mut tasks = Vec::new();
        let raft_service = RaftServer::new(RaftService::new(raft.clone(), config.node_id.0))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        tasks.push(serve(
            "raft",
            Routes::new(InterceptedService::new(raft_service, secret.require())),
            raft_listener,
            shutdown_rx.clone(),
        ));
        let api_service = MetaApiServer::new(api::ApiService::new(node.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let api_routes = Routes::new(InterceptedService::new(api_service, secret.require()));
        tasks.push(serve("meta api", api_routes, api_listener, shutdown_rx));

        bootstrap(&raft, &config).await?;
        tasks.push(tokio::spawn(duties::run(node.clone())));
        tracing::info!(node = %config.node_id, %raft_addr, %api_addr, "meta node started");
        Ok(Self {
            node,
            store,
            shutdown: shutdown_tx,
            tasks,
            raft_addr,
            api_addr,
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node.id
    }

    /// The bound raft address (useful with port 0).
    pub fn raft_addr(&self) -> SocketAddr {
        self.raft_addr
    }

    /// The bound meta API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The raft view of this node.
    pub fn status(&self) -> ClusterStatus {
        self.node.cluster_status()
    }

    /// This node's applied metadata.
    pub fn state(&self) -> Arc<MetaState> {
        self.node.state()
    }

    /// Stops the services and the raft node and waits for them, including
    /// the release of the raft store (so it can be opened again at once).
    pub async fn shutdown(self) -> Result<(), MetaError> {
        let _ = self.shutdown.send(true);
        let result = self
            .node
            .raft
            .shutdown()
            .await
            .map_err(|e| MetaError::Stopped(e.to_string()));
        for task in self.tasks {
            let _ = task.await;
        }
        let id = self.node.id;
        drop(self.node);
        // openraft's replication and snapshot tasks end shortly after the
        // core; wait for them to drop their store handles.
        let deadline = tokio::time::Instant::now() + STORE_RELEASE_TIMEOUT;
        while self.store.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.store.strong_count() > 0 {
            tracing::warn!(node = %id, "raft store still in use {STORE_RELEASE_TIMEOUT:?} after shutdown");
        }
        tracing::info!(node = %id, "meta node stopped");
        result
    }
}

/// Runs a meta node until `shutdown` completes, then stops it cleanly.
/// This is what tandemd's `meta` role (and the all-in-one mode) calls.
pub async fn run_meta_server(
    config: MetaServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MetaError> {
    let server = MetaServer::start(config).await?;
    shutdown.await;
    server.shutdown().await
}

fn serve(
    name: &'static str,
    routes: Routes,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let incoming = TcpListenerStream::new(listener);
        let result = tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                crate::shutdown::stopped(&mut shutdown).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!("{name} server failed: {e}");
        }
    })
}

/// Initializes a new cluster with the static member list. Safe to repeat
/// and to run on every initial member at once: all use the identical
/// membership, and a node that already has state answers `NotAllowed`.
async fn bootstrap(raft: &Raft, config: &MetaServerConfig) -> Result<(), MetaError> {
    if raft
        .is_initialized()
        .await
        .map_err(|e| MetaError::Stopped(e.to_string()))?
    {
        return Ok(());
    }
    let Some(members) = config.bootstrap_members() else {
        tracing::info!("not an initial member: waiting to be added to the meta cluster");
        return Ok(());
    };
    let members: BTreeMap<u64, MetaEndpoints> = members.into_iter().map(|(id, e)| (raft_id(id), e)).collect();
    match raft.initialize(members).await {
        Ok(()) => tracing::info!("initialized a new meta cluster"),
        Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
            tracing::info!("meta cluster already initialized");
        }
        Err(e) => {
            return Err(MetaError::Config(format!(
                "cannot initialize the meta cluster: {e}"
            )));
        }
    }
    Ok(())
}

/// Current time in ns since the Unix epoch.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long `shutdown` waits for the raft store to be released.
const STORE_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the duties loop sleeps between checks.
pub(crate) const DUTY_TICK: Duration = Duration::from_millis(500);
