//! Real `tandemd` processes for the HTTP API tests: a one-node cluster
//! (`tandemd run`, auth on or off, restartable on its data dir) and a
//! three-node `tandemd dev` cluster, on free loopback ports, with data and
//! logs in a temp dir. Processes are SIGKILLed when dropped; when a test
//! panics the tail of the log is printed. Requests go through the HTTP
//! crate's raw client (`client.rs`, included by each test next to this file).

#![allow(dead_code, clippy::print_stderr)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use super::client::url_encode;
use super::client::{Req, send, try_send};

/// How long a process may take to answer (debug binary, 2 cores, other
/// tests running at the same time).
pub const STARTUP_LIMIT: Duration = Duration::from_secs(90);

const SECRET: &str = "http-process-test-secret";

/// `n` distinct free loopback ports (all held until every one is picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The last `n` lines of a log file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `tandemd` with no `TANDEM_*` variable of the test's environment (a
/// developer's settings must not change what the tests start).
fn tandemd_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandemd"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TANDEM_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Polls `GET /ping` until 204; panics (with the log) when `child` exits
/// or `limit` passes.
async fn wait_for_ping(addr: SocketAddr, child: &mut Child, log: &Path) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if let Ok(r) = try_send(addr, &Req::get("/ping"), Duration::from_secs(5)).await
            && r.status == 204
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("tandemd exited ({status}):\n{}", tail(log, 40)));
        }
        if start.elapsed() > STARTUP_LIMIT {
            return Err(format!(
                "tandemd at {addr} did not answer /ping within {STARTUP_LIMIT:?}:\n{}",
                tail(log, 40)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `q` to `/query` (POST) and panics unless every statement succeeded.
pub async fn query_ok(addr: SocketAddr, q: &str, auth: &str) -> serde_json::Value {
    let r = send(addr, &Req::post(&format!("/query?q={}{auth}", url_encode(q)), "")).await;
    let v = r.json();
    let failed = v["results"]
        .as_array()
        .is_none_or(|rs| rs.iter().any(|s| s.get("error").is_some()));
    assert!(r.status == 200 && !failed, "{q}: {} {}", r.status, r.text());
    v
}

/// `GET /export?db=&scope=` (200 and a complete body), as text.
pub async fn export(addr: SocketAddr, db: &str, scope: &str) -> Result<String, String> {
    let r = try_send(
        addr,
        &Req::get(&format!("/export?db={}&scope={scope}", url_encode(db))),
        Duration::from_secs(30),
    )
    .await?;
    if r.status != 200 || r.chunked_complete == Some(false) {
        return Err(format!("export {db} from {addr}: {} {}", r.status, r.text()));
    }
    Ok(r.text())
}

/// A one-node cluster: `tandemd run` with the meta, data and write roles.
pub struct Tandemd {
    pub http: SocketAddr,
    config: PathBuf,
    log: PathBuf,
    auth: bool,
    child: Option<Child>,
    // Dropped last (fields drop in declaration order).
    dir: TempDir,
}

impl Tandemd {
    /// Starts a fresh node; `auth` sets `[http] auth_enabled`.
    pub async fn start(auth: bool) -> Tandemd {
        let dir = tempfile::tempdir().unwrap();
        let p = free_ports(4);
        let config = dir.path().join("tandemd.toml");
        let text = format!(
            "[node]\ndata_dir = \"{data}\"\n\n[cluster]\nshared_secret = \"{SECRET}\"\n\n\
             [meta]\nraft_bind = \"127.0.0.1:{raft}\"\napi_bind = \"127.0.0.1:{api}\"\n\n\
             [meta_client]\nendpoints = [\"127.0.0.1:{api}\"]\n\n\
             [data]\nbind = \"127.0.0.1:{data_port}\"\n\n[http]\nbind_address = \"127.0.0.1:{http}\"\n",
            data = dir.path().join("data").display(),
            http = p[0],
            data_port = p[1],
            raft = p[2],
            api = p[3],
        );
        std::fs::write(&config, text).unwrap();
        let mut node = Tandemd {
            http: loopback(p[0]),
            log: dir.path().join("tandemd.log"),
            config,
            auth,
            child: None,
            dir,
        };
        node.spawn().await;
        node
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = tandemd_command()
            .arg("--config")
            .arg(&self.config)
            // The environment override beats the file: one config, both modes.
            .env("TANDEM_HTTP_AUTH_ENABLED", self.auth.to_string())
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tandemd");
        let ready = wait_for_ping(self.http, &mut child, &self.log).await;
        self.child = Some(child);
        ready.unwrap();
    }

    /// Stops the process (SIGTERM, clean shutdown) and starts it again on
    /// the same data dir and ports with auth set to `auth`.
    pub async fn restart(&mut self, auth: bool) {
        if let Some(c) = self.child.take() {
            terminate(c);
        }
        self.auth = auth;
        self.spawn().await;
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// SIGTERM, then wait (SIGKILL after 20 s).
fn terminate(mut c: Child) {
    let pid = c.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let start = Instant::now();
    while c.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = c.kill();
            let _ = c.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Tandemd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- tandemd log (tail) ---\n{}", tail(&self.log, 40));
        }
    }
}

/// `tandemd dev --nodes N`: N nodes in one process, database `dev` with
/// replication factor N.
pub struct DevCluster {
    /// HTTP address of node i (0-based).
    pub http: Vec<SocketAddr>,
    log: PathBuf,
    child: Option<Child>,
    dir: TempDir,
}

/// Port offsets `tandemd dev` uses from a node's base port (HTTP, data,
/// raft, meta API); node i's base is `base + 100·i`.
const DEV_OFFSETS: [u16; 4] = [0, 2, 3, 5];

/// A base port whose dev ports are all free right now.
fn dev_base_port(nodes: u16) -> Option<u16> {
    for _ in 0..50 {
        let base = free_ports(1)[0];
        if u32::from(base) + 100 * u32::from(nodes) + 10 > 65_535 {
            continue;
        }
        let ports: Vec<u16> = (0..nodes)
            .flat_map(|i| DEV_OFFSETS.iter().map(move |o| base + 100 * i + o))
            .collect();
        let held: Vec<_> = ports
            .iter()
            .map_while(|&p| TcpListener::bind(loopback(p)).ok())
            .collect();
        if held.len() == ports.len() {
            return Some(base);
        }
    }
    None
}

impl DevCluster {
    /// Starts `tandemd dev --nodes n` (extra TOML for every node in
    /// `config`, e.g. `[http]` settings) and waits until every node answers
    /// and knows database `dev`. Retries on fresh ports when the process
    /// dies at startup (a port taken between picking and binding).
    pub async fn start(n: u16, config: &str) -> DevCluster {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("base.toml");
        std::fs::write(
            &config_path,
            format!("[cluster]\nshared_secret = \"{SECRET}\"\n\n{config}"),
        )
        .unwrap();
        let log = dir.path().join("tandemd.log");
        let mut last_error = String::new();
        for attempt in 0..3 {
            let base = dev_base_port(n).expect("free ports for a dev cluster");
            let data = dir.path().join(format!("dev{attempt}"));
            let logf = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .unwrap();
            let mut child = tandemd_command()
                .arg("--config")
                .arg(&config_path)
                .args(["dev", "--nodes", &n.to_string(), "--base-port", &base.to_string()])
                .arg("--data-dir")
                .arg(&data)
                .env("RUST_LOG", "info,openraft=warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(logf)
                .spawn()
                .expect("spawn tandemd dev");
            let http: Vec<SocketAddr> = (0..n).map(|i| loopback(base + 100 * i)).collect();
            let mut ready = Ok(());
            for &addr in &http {
                ready = wait_for_ping(addr, &mut child, &log).await;
                if ready.is_err() {
                    break;
                }
            }
            match ready {
                Ok(()) => {
                    let cluster = DevCluster {
                        http,
                        log,
                        child: Some(child),
                        dir,
                    };
                    cluster.wait_for_database("dev").await;
                    return cluster;
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = e;
                }
            }
        }
        panic!("tandemd dev did not start: {last_error}");
    }

    /// Waits until every node's `SHOW DATABASES` lists `db`.
    pub async fn wait_for_database(&self, db: &str) {
        let start = Instant::now();
        for &addr in &self.http {
            loop {
                let r = try_send(addr, &Req::get("/query?q=SHOW+DATABASES"), Duration::from_secs(5)).await;
                if let Ok(r) = r
                    && r.status == 200
                    && r.text().contains(&format!("[\"{db}\"]"))
                {
                    break;
                }
                assert!(
                    start.elapsed() < STARTUP_LIMIT,
                    "database {db} not visible on {addr}:\n{}",
                    tail(&self.log, 40)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- tandemd dev log (tail) ---\n{}", tail(&self.log, 60));
        }
    }
}
