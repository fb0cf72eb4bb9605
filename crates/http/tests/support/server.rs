//! The HTTP API served on 127.0.0.1 (port 0) over a real `Coordinator`
//! whose ports are the in-memory fakes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use tandem_coordinator::hlc::Hlc;
use tandem_coordinator::{Coordinator, CoordinatorConfig};
use tandem_http::ports::Health;
use tandem_http::{HttpConfig, HttpState, Ports, Server};
use tandem_model::NodeId;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::client::{Req, Resp, send};
use super::fakes::{FakeCluster, FakeExporter, FakeStatus, FakeTransport, SharedTransport};

pub struct Options {
    pub http: HttpConfig,
    pub coordinator: CoordinatorConfig,
    pub owners: Vec<u32>,
    pub hlc: Option<Hlc>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            http: HttpConfig {
                bind_address: "127.0.0.1:0".into(),
                ..HttpConfig::default()
            },
            coordinator: CoordinatorConfig::default(),
            owners: vec![1, 2, 3],
            hlc: None,
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub cluster: Arc<FakeCluster>,
    pub transport: Arc<FakeTransport>,
    pub exporter: Arc<FakeExporter>,
    pub status: Arc<FakeStatus>,
    pub coordinator: Coordinator,
    pub state: HttpState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(opts: Options) -> Self {
        let cluster = FakeCluster::new(&opts.owners);
        let transport = FakeTransport::new();
        let hlc = opts.hlc.unwrap_or_else(|| Hlc::volatile(NodeId(1)));
        let coordinator = Coordinator::new(
            NodeId(1),
            opts.coordinator,
            cluster.clone(),
            Arc::new(SharedTransport(transport.clone())),
            hlc,
        );
        let exporter = Arc::new(FakeExporter {
            transport: transport.clone(),
            unavailable: AtomicBool::new(false),
            fail_after_first_chunk: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
        });
        let status = Arc::new(FakeStatus {
            health: Mutex::new(Health::Pass),
        });
        let ports = Ports {
            admin: cluster.clone(),
            auth: cluster.clone(),
            exporter: exporter.clone(),
            status: status.clone(),
        };
        let state = HttpState::new(opts.http.clone(), coordinator.clone(), ports);
        let server = Server::bind(&opts.http).await.expect("bind");
        let addr = server.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let router = tandem_http::router(state.clone());
        let task = tokio::spawn(server.run(router, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            cluster,
            transport,
            exporter,
            status,
            coordinator,
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub async fn default() -> Self {
        Self::start(Options::default()).await
    }

    /// Auth on, with an admin `admin`/`admin`.
    pub async fn with_auth() -> Self {
        let mut opts = Options::default();
        opts.http.auth_enabled = true;
        let s = Self::start(opts).await;
        s.cluster.add_user("admin", "admin", true, &[]);
        s
    }

    pub async fn send(&self, req: &Req) -> Resp {
        send(self.addr, req).await
    }

    /// Waits (up to 5 s) until no owner write is in flight, so every owner
    /// has stored what the responses acknowledged.
    pub async fn settle(&self) {
        for _ in 0..500 {
            if self.coordinator.writes_in_flight() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("owner writes still in flight after 5 s");
    }

    /// Stops accepting and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server run");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
