//! Real `tandemd meta` processes on loopback, for integration tests.

#![allow(dead_code, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem_meta::{ClusterStatus, MetaClient, MetaClientConfig, MetaClientOptions, NodeId};
use tempfile::TempDir;

pub const SECRET: &str = "process-test-secret";

/// Raft timings written to every node's config.
#[derive(Clone, Copy)]
pub struct Timings {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
}

/// tandemd's defaults.
pub const DEFAULT_TIMINGS: Timings = Timings {
    heartbeat_ms: 100,
    election_min_ms: 500,
    election_max_ms: 1000,
};
/// Short timeouts for tests that only need a cluster to form.
pub const FAST_TIMINGS: Timings = Timings {
    heartbeat_ms: 50,
    election_min_ms: 250,
    election_max_ms: 500,
};

/// `n` distinct free loopback ports (all held until every one is picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

pub struct Member {
    pub id: u32,
    pub raft_addr: String,
    pub api_addr: String,
}

/// One meta process (maybe stopped).
pub struct Node {
    pub member: Member,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub child: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        assert!(self.child.is_none(), "node {} already running", self.member.id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tandemd.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tandemd"))
            .arg("meta")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tandemd");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let c = self.child.take().expect("running");
        let pid = c.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        wait_with_timeout(c, Duration::from_secs(20))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tandemd.log")).unwrap_or_default()
    }
}

fn wait_with_timeout(mut c: Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            c.kill().unwrap();
            panic!("tandemd did not exit within {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A set of meta processes sharing one initial member list.
pub struct MetaCluster {
    pub root: TempDir,
    pub nodes: Vec<Node>,
}

impl MetaCluster {
    /// Writes configs for `n` nodes (ids 1..=n) on fresh loopback ports.
    pub fn new(n: u32, timings: Timings) -> MetaCluster {
        let root = tempfile::tempdir().unwrap();
        let ports = free_ports(2 * n as usize);
        let members: Vec<Member> = (1..=n)
            .zip(ports.chunks(2))
            .map(|(id, p)| Member {
                id,
                raft_addr: format!("127.0.0.1:{}", p[0]),
                api_addr: format!("127.0.0.1:{}", p[1]),
            })
            .collect();
        let list: Vec<String> = members
            .iter()
            .map(|m| {
                format!(
                    r#"{{ id = {}, raft_addr = "{}", api_addr = "{}" }}"#,
                    m.id, m.raft_addr, m.api_addr
                )
            })
            .collect();
        let nodes = members
            .into_iter()
            .map(|m| {
                let dir = root.path().join(format!("node{}", m.id));
                std::fs::create_dir_all(&dir).unwrap();
                let config = dir.join("tandemd.toml");
                std::fs::write(&config, config_text(&m, &dir, &list, timings)).unwrap();
                Node {
                    member: m,
                    dir,
                    config,
                    child: None,
                }
            })
            .collect();
        MetaCluster { root, nodes }
    }

    /// Starts every node as close to the same moment as possible.
    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    pub fn start(&mut self, i: usize) {
        self.nodes[i].start();
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.member.api_addr.clone()).collect()
    }

    /// A client for all nodes.
    pub async fn client(&self) -> MetaClient {
        client(self.endpoints()).await
    }

    /// A client that talks to node `i` only.
    pub async fn client_of(&self, i: usize) -> MetaClient {
        client(vec![self.nodes[i].member.api_addr.clone()]).await
    }

    /// Waits until every running node reports the same leader and the full
    /// voter set; returns the leader's index.
    pub async fn wait_for_leader(&self, limit: Duration) -> usize {
        let start = std::time::Instant::now();
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].child.is_some())
            .collect();
        let mut clients = Vec::new();
        for &i in &running {
            clients.push(quick_client(vec![self.nodes[i].member.api_addr.clone()]).await);
        }
        loop {
            let mut statuses: Vec<ClusterStatus> = Vec::new();
            for c in &clients {
                if let Ok(s) = c.cluster_status().await {
                    statuses.push(s);
                }
            }
            if statuses.len() == running.len()
                && let Some(leader) = statuses[0].leader
                && statuses
                    .iter()
                    .all(|s| s.leader == Some(leader) && s.voters.len() == self.nodes.len())
            {
                return self
                    .nodes
                    .iter()
                    .position(|n| n.member.id == leader.0)
                    .expect("leader is a member");
            }
            if start.elapsed() > limit {
                for n in &self.nodes {
                    eprintln!("--- node {} log ---\n{}", n.member.id, n.log());
                }
                panic!("no common leader within {limit:?}: {statuses:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl MetaCluster {
    /// Waits until every running node has the same last log index and has
    /// applied it.
    pub async fn wait_until_caught_up(&self, limit: Duration) {
        let start = std::time::Instant::now();
        let mut clients = Vec::new();
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            clients.push(quick_client(vec![n.member.api_addr.clone()]).await);
        }
        loop {
            let mut indexes = Vec::new();
            for c in &clients {
                if let Ok(s) = c.cluster_status().await {
                    indexes.push((s.last_log_index, s.last_applied_index));
                }
            }
            if indexes.len() == clients.len()
                && indexes
                    .iter()
                    .all(|&(log, applied)| log == indexes[0].0 && applied == log)
            {
                return;
            }
            assert!(start.elapsed() < limit, "nodes did not catch up: {indexes:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn config_text(m: &Member, dir: &Path, list: &[String], t: Timings) -> String {
    format!(
        r#"
[node]
id = {id}
data_dir = "{dir}"

[cluster]
shared_secret = "{SECRET}"

[meta]
raft_bind = "{raft}"
api_bind = "{api}"
heartbeat_interval_ms = {hb}
election_timeout_min_ms = {emin}
election_timeout_max_ms = {emax}
initial_members = [{members}]
"#,
        id = m.id,
        dir = dir.display(),
        raft = m.raft_addr,
        api = m.api_addr,
        hb = t.heartbeat_ms,
        emin = t.election_min_ms,
        emax = t.election_max_ms,
        members = list.join(", "),
    )
}

fn client_config(endpoints: Vec<String>, timeout_ms: u64) -> MetaClientConfig {
    MetaClientConfig {
        cache_dir: None,
        shared_secret: SECRET.into(),
        options: MetaClientOptions {
            endpoints,
            request_timeout_ms: timeout_ms,
            ..MetaClientOptions::default()
        },
    }
}

pub async fn client(endpoints: Vec<String>) -> MetaClient {
    MetaClient::connect(client_config(endpoints, 20_000))
        .await
        .unwrap()
}

async fn quick_client(endpoints: Vec<String>) -> MetaClient {
    MetaClient::connect(client_config(endpoints, 500)).await.unwrap()
}

pub fn node_id(i: usize) -> NodeId {
    NodeId(u32::try_from(i).unwrap() + 1)
}
