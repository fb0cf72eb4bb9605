//! One tandemd node: the roles of the configuration started in order,
//! wired through `tandem-cluster`'s adapters, and stopped in reverse.
//!
//! Start order: meta server (if `meta`) → meta client → storage (if
//! `data`) → listeners → registration with the meta service → data
//! service → coordinator and HTTP API (if `write`). Stop order: HTTP (open
//! requests finish) → owner writes in flight → data service → storage
//! (flushed) → meta server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tandem_cluster::admin::MetaAdmin;
use tandem_cluster::exporter::NodeExporter;
use tandem_cluster::metadata::MetaPorts;
use tandem_cluster::status::NodeStatus;
use tandem_coordinator::Coordinator;
use tandem_coordinator::hlc::Hlc;
use tandem_datanode::client::DataClient;
use tandem_datanode::service::{data_server, serve};
use tandem_datanode::{Clock, DataNode};
use tandem_http::{HttpState, Ports};
use tandem_meta::{DataEndpoints, MetaClient, MetaServer, NodeRegistration};
use tandem_model::NodeId;
use tandem_proto::auth::ClusterSecret;
use tandem_storage::{Engine, EngineOptions, ShardStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, Role};

/// How long a starting node keeps trying to register with the meta service
/// (a fresh cluster needs a leader first).
const REGISTER_PATIENCE: Duration = Duration::from_secs(60);

/// A running node.
pub struct RunningNode {
    pub id: NodeId,
    /// Where the HTTP API listens (write role).
    pub http_addr: Option<SocketAddr>,
    /// Where the data service listens (data role).
    pub data_addr: Option<SocketAddr>,
    /// Meta server addresses (raft, API) (meta role).
    pub meta_addrs: Option<(SocketAddr, SocketAddr)>,
    meta_server: Option<MetaServer>,
    client: Option<MetaClient>,
    coordinator: Option<Coordinator>,
    store: Option<Arc<Engine>>,
    stop: watch::Sender<bool>,
    http_task: Option<JoinHandle<std::io::Result<()>>>,
    data_task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    janitor: Option<JoinHandle<()>>,
    owner_timeout: Duration,
}

/// Replaces an unspecified host (`0.0.0.0`, `[::]`) with loopback, so an
/// advertised address is dialable on a single machine.
fn dialable(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn stopped(rx: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl RunningNode {
    /// The node's meta client (data and write roles).
    pub fn meta_client(&self) -> Option<&MetaClient> {
        self.client.as_ref()
    }

    /// Stops every role, in reverse start order.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        if let Some(t) = self.http_task.take() {
            t.await.context("http task")?.context("http server")?;
        }
        if let Some(c) = &self.coordinator
            && !c.shutdown(self.owner_timeout).await
        {
            tracing::warn!("owner writes still running at shutdown");
        }
        if let Some(t) = self.data_task.take() {
            t.await.context("data task")?.context("data service")?;
        }
        if let Some(t) = self.janitor.take() {
            t.abort();
        }
        if let Some(store) = self.store.take() {
            tokio::task::spawn_blocking(move || store.close())
                .await?
                .context("closing storage")?;
        }
        drop(self.client.take());
        if let Some(m) = self.meta_server.take() {
            m.shutdown().await?;
        }
        Ok(())
    }
}

/// Starts `roles` of `config`.
pub async fn start(config: &Config, roles: &[Role]) -> anyhow::Result<RunningNode> {
    let has = |r| roles.contains(&r);
    if roles.is_empty() {
        bail!("no role to run");
    }
    config.check_internal_exposure(roles)?;
    std::fs::create_dir_all(&config.node.data_dir)
        .with_context(|| format!("creating {}", config.node.data_dir.display()))?;
    let uuid = config.node_uuid()?;
    let id = NodeId(config.node.id);
    let secret = ClusterSecret::new(&config.cluster.shared_secret).context("cluster.shared_secret")?;
    let tls = if config.cluster.tls_enabled {
        let c = &config.cluster;
        Some(
            tandem_datanode::tls::InternalTls::from_pem_files(
                &c.tls_certificate,
                &c.tls_private_key,
                &c.tls_ca_certificate,
                &c.tls_server_name,
            )
            .context("cluster TLS")?,
        )
    } else {
        None
    };
    let (stop, stop_rx) = watch::channel(false);

    let meta_server = if has(Role::Meta) {
        Some(crate::roles::meta::start(config).await?)
    } else {
        None
    };
    let meta_addrs = meta_server.as_ref().map(|m| (m.raft_addr(), m.api_addr()));
    let mut node = RunningNode {
        id,
        http_addr: None,
        data_addr: None,
        meta_addrs,
        meta_server,
        client: None,
        coordinator: None,
        store: None,
        stop,
        http_task: None,
        data_task: None,
        janitor: None,
        owner_timeout: config.coordinator.owner_timeout(),
    };
    if !has(Role::Data) && !has(Role::Write) {
        return Ok(node);
    }

    let client = MetaClient::connect(config.meta_client())
        .await
        .context("connecting to the meta service")?;
    node.client = Some(client.clone());
    let ports = Arc::new(MetaPorts::new(client.clone()));

    let store = if has(Role::Data) {
        let storage = config.storage();
        let options = EngineOptions {
            node_uuid: Some(uuid.clone()),
            ..EngineOptions::default()
        };
        let engine = tokio::task::spawn_blocking(move || Engine::open(storage, options))
            .await?
            .context("opening storage")?;
        let engine = Arc::new(engine);
        node.store = Some(Arc::clone(&engine));
        Some(engine)
    } else {
        None
    };
    let data_listener = if has(Role::Data) {
        let l = tokio::net::TcpListener::bind(&config.data.bind)
            .await
            .with_context(|| format!("data service cannot listen on {}", config.data.bind))?;
        node.data_addr = Some(l.local_addr()?);
        Some(l)
    } else {
        None
    };
    let http_server = if has(Role::Write) {
        let s = tandem_http::Server::bind(&config.http)
            .await
            .context("binding the HTTP API")?;
        node.http_addr = Some(s.local_addr()?);
        Some(s)
    } else {
        None
    };

    let registration = NodeRegistration {
        uuid: uuid.clone(),
        requested_id: Some(id),
        data: Some(DataEndpoints {
            rpc_addr: match (&node.data_addr, config.data.advertise.as_str()) {
                (None, _) => String::new(),
                (Some(a), "") => dialable(*a),
                (Some(_), advertised) => advertised.to_owned(),
            },
            http_addr: node.http_addr.map(dialable).unwrap_or_default(),
        }),
        passive: !has(Role::Data),
        labels: config.node.labels.clone(),
    };
    register(&client, registration).await.map_err(|e| {
        if matches!(
            e.downcast_ref::<tandem_meta::MetaError>(),
            Some(tandem_meta::MetaError::NodeIdTaken(_))
        ) {
            // A wiped or swapped data directory under a known id: its
            // shards are missing here, and the node must not claim them.
            e.context(format!(
                "node id {id} belongs to another data directory (node uuid {uuid} of {} is not the one \
                 the cluster knows for node {id}): this directory does not hold node {id}'s shards. \
                 Start with node {id}'s own data directory, or give this node a new [node] id",
                config.node.data_dir.display()
            ))
        } else {
            e
        }
    })?;

    let hlc = if has(Role::Write) {
        Some(
            Hlc::open(
                id,
                &config.node.data_dir.join("hlc"),
                config.coordinator.clock_persist_window,
            )
            .await?,
        )
    } else {
        None
    };
    let clock: Clock = match &hlc {
        Some(h) => {
            let h = h.clone();
            let wall = tandem_datanode::wall_clock();
            Arc::new(move || h.last().max(wall()))
        }
        None => tandem_datanode::wall_clock(),
    };

    let data_node = store
        .as_ref()
        .map(|s| DataNode::new(id, Arc::clone(s) as Arc<dyn ShardStore>, ports.clone(), clock));
    if let (Some(dn), Some(listener)) = (&data_node, data_listener) {
        let server = data_server(dn.clone(), &secret, config.data.max_message_bytes);
        let server_tls = tls.as_ref().map(|t| t.server.clone());
        node.data_task = Some(tokio::spawn(serve(
            listener,
            server,
            server_tls,
            stopped(&stop_rx),
        )));
        let store = Arc::clone(dn.store());
        node.janitor = Some(tokio::spawn(tandem_cluster::janitor::drop_deleted_shards(
            client.clone(),
            store,
            stopped(&stop_rx),
        )));
    }

    if let (Some(server), Some(hlc)) = (http_server, hlc) {
        let mut data_client = DataClient::new(
            data_node.clone(),
            ports.clone(),
            secret.clone(),
            config.data_client.clone(),
        );
        if let Some(t) = &tls {
            data_client = data_client.with_tls(t.client.clone());
        }
        let transport = Arc::new(data_client);
        let coordinator = Coordinator::new(
            id,
            config.coordinator.clone(),
            ports.clone(),
            transport.clone(),
            hlc,
        );
        node.coordinator = Some(coordinator.clone());
        let admin = Arc::new(MetaAdmin::new(client.clone()));
        let http_ports = Ports {
            admin: admin.clone(),
            auth: admin,
            exporter: Arc::new(NodeExporter::new(
                client.clone(),
                transport,
                data_node.as_ref().map(DataNode::node),
            )),
            status: Arc::new(NodeStatus::new(client.clone(), coordinator.clone())),
        };
        let state = HttpState::new(config.http.clone(), coordinator, http_ports);
        let router = tandem_http::router(state);
        node.http_task = Some(tokio::spawn(server.run(router, stopped(&stop_rx))));
    }
    Ok(node)
}

/// Registers the node, retrying while the meta service elects a leader.
async fn register(client: &MetaClient, registration: NodeRegistration) -> anyhow::Result<NodeId> {
    let deadline = tokio::time::Instant::now() + REGISTER_PATIENCE;
    let mut wait = Duration::from_millis(50);
    loop {
        match client.register_node(registration.clone()).await {
            Ok(id) => return Ok(id),
            Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                tracing::info!("waiting for the meta service to register this node: {e}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e).context("registering with the meta service"),
        }
    }
}
