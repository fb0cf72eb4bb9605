//! In-process meta clusters on loopback for integration tests.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_meta::{
    MetaClient, MetaClientConfig, MetaClientOptions, MetaMember, MetaOptions, MetaServer, MetaServerConfig,
    NodeId,
};
use tempfile::TempDir;

pub const SECRET: &str = "test-secret";

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free loopback ports (all held until every one is picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Members with fresh ports.
pub fn members(ids: &[u32]) -> Vec<MetaMember> {
    let ports = free_ports(ids.len() * 2);
    ids.iter()
        .zip(ports.chunks(2))
        .map(|(&id, p)| MetaMember {
            id,
            raft_addr: format!("127.0.0.1:{}", p[0]),
            api_addr: format!("127.0.0.1:{}", p[1]),
        })
        .collect()
}

/// Short raft timeouts so tests run fast.
pub fn fast_options(initial: Vec<MetaMember>, me: &MetaMember) -> MetaOptions {
    MetaOptions {
        raft_bind: me.raft_addr.clone(),
        api_bind: me.api_addr.clone(),
        initial_members: initial,
        heartbeat_interval_ms: 50,
        election_timeout_min_ms: 300,
        election_timeout_max_ms: 600,
        snapshot_after_entries: 50,
        log_entries_kept: 10,
        ..MetaOptions::default()
    }
}

pub fn server_config(dir: &Path, me: &MetaMember, initial: Vec<MetaMember>) -> MetaServerConfig {
    MetaServerConfig {
        node_id: NodeId(me.id),
        dir: dir.join(format!("meta-{}", me.id)),
        node_uuid: format!("uuid-{}", me.id),
        shared_secret: SECRET.into(),
        options: fast_options(initial, me),
    }
}

pub fn client_config(endpoints: Vec<String>, cache_dir: Option<PathBuf>) -> MetaClientConfig {
    MetaClientConfig {
        cache_dir,
        shared_secret: SECRET.into(),
        options: MetaClientOptions {
            endpoints,
            request_timeout_ms: 15_000,
            ..MetaClientOptions::default()
        },
    }
}

/// A running in-process cluster.
pub struct Cluster {
    pub dir: TempDir,
    pub members: Vec<MetaMember>,
    pub servers: Vec<Option<MetaServer>>,
}

impl Cluster {
    pub async fn start(ids: &[u32]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let members = members(ids);
        let mut servers = Vec::new();
        for m in &members {
            servers.push(Some(
                MetaServer::start(server_config(dir.path(), m, members.clone()))
                    .await
                    .unwrap(),
            ));
        }
        let cluster = Cluster {
            dir,
            members,
            servers,
        };
        cluster.wait_for_leader().await;
        cluster
    }

    pub async fn wait_for_leader(&self) -> NodeId {
        for _ in 0..200 {
            let leaders: Vec<_> = self
                .servers
                .iter()
                .flatten()
                .filter_map(|s| s.status().leader)
                .collect();
            if let Some(l) = leaders.first()
                && leaders.iter().all(|x| x == l)
                && self.servers.iter().flatten().count() == leaders.len()
            {
                return *l;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no leader elected");
    }

    pub fn api(&self, i: usize) -> String {
        self.members[i].api_addr.clone()
    }

    pub async fn client(&self, endpoint_indexes: &[usize]) -> MetaClient {
        let endpoints = endpoint_indexes.iter().map(|&i| self.api(i)).collect();
        MetaClient::connect(client_config(endpoints, None)).await.unwrap()
    }

    pub async fn stop(&mut self, i: usize) {
        if let Some(s) = self.servers[i].take() {
            s.shutdown().await.unwrap();
        }
    }

    pub async fn restart(&mut self, i: usize) {
        let m = self.members[i].clone();
        let config = server_config(self.dir.path(), &m, self.members.clone());
        self.servers[i] = Some(MetaServer::start(config).await.unwrap());
    }

    pub async fn shutdown(mut self) {
        for i in 0..self.servers.len() {
            self.stop(i).await;
        }
    }
}

/// Registers `n` active data nodes (ids allocated by the meta service).
pub async fn add_data_nodes(client: &MetaClient, n: usize) -> Vec<NodeId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let reg = tandem_meta::NodeRegistration {
            uuid: format!("data-{i}"),
            data: Some(tandem_meta::DataEndpoints {
                rpc_addr: format!("data-{i}.invalid:8088"),
                http_addr: format!("data-{i}.invalid:8086"),
            }),
            ..Default::default()
        };
        ids.push(client.register_node(reg).await.unwrap());
    }
    ids
}
