//! A tandem cluster of separate processes on loopback, for write-path
//! integration tests: three `tandemd meta` voters, `tandemd data` nodes and
//! `tandemd write` front-ends, each with its own config file, data dir and
//! log, on ports picked by binding port 0. Meta voters are separate
//! processes so that stopping data nodes never touches the meta quorum.
//!
//! Processes are SIGKILLed when dropped (no orphans); when a test panics,
//! the tail of every log is printed. Also blocking HTTP helpers (over the
//! shared test client, one request per connection) and bounded polling.

#![allow(dead_code, clippy::print_stderr)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use super::client::Resp;
use super::client::{Req, send_blocking, url_encode};

pub const SECRET: &str = "write-process-test-secret";

/// How long a cluster may take to come up (debug binaries, 2 cores, other
/// tests running at the same time).
const STARTUP_LIMIT: Duration = Duration::from_secs(90);
/// Longest wait for one HTTP answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `n` distinct free loopback ports (all held until every one is picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// The subcommand a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tandemd meta`: a raft voter of the meta service.
    Meta,
    /// `tandemd data`: stores shards, and serves HTTP (data + write roles).
    Data,
    /// `tandemd write`: a passive front-end that owns no shards.
    Write,
}

impl Kind {
    fn subcommand(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Data => "data",
            Kind::Write => "write",
        }
    }
}

/// One tandemd process (running, paused or stopped).
pub struct Proc {
    pub kind: Kind,
    /// The node id in its config (meta 1..=3, data and write nodes after).
    pub id: u32,
    pub dir: PathBuf,
    config: PathBuf,
    /// The HTTP API (data and write nodes).
    pub http: Option<SocketAddr>,
    /// The data service (gRPC; data nodes).
    pub data: Option<SocketAddr>,
    child: Option<Child>,
    paused: bool,
}

impl Proc {
    fn start(&mut self) {
        assert!(self.child.is_none(), "node {} already running", self.id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tandemd.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandemd"));
        // Only the config file counts, whatever the caller's environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TANDEM_") {
                cmd.env_remove(name);
            }
        }
        let child = cmd
            .arg(self.kind.subcommand())
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

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The HTTP address; panics for a meta node.
    pub fn http(&self) -> SocketAddr {
        self.http.expect("a node with an HTTP API")
    }

    /// SIGKILL: no shutdown path runs (a paused process dies too).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused = false;
    }

    /// Starts the process again on the same config, ports and data dir,
    /// and waits until it answers HTTP (when it has an HTTP API).
    pub fn restart(&mut self) {
        self.kill();
        self.start();
        let start = Instant::now();
        while !self.serving().unwrap_or_else(|e| panic!("{e}")) {
            assert!(
                start.elapsed() < STARTUP_LIMIT,
                "{} did not answer /ping within {STARTUP_LIMIT:?}\n{}",
                self.name(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process serves: its HTTP API answers `/ping` (a meta
    /// node: it runs). `Err` with its log when it has exited.
    fn serving(&mut self) -> Result<bool, String> {
        let child = self.child.as_mut().expect("started");
        if let Some(status) = child.try_wait().unwrap() {
            self.child = None;
            return Err(format!(
                "{} exited ({status}) while starting:\n{}",
                self.name(),
                self.log()
            ));
        }
        Ok(match self.http {
            Some(addr) => request(addr, "GET", "/ping", b"").is_ok_and(|r| r.status == 204),
            None => true,
        })
    }

    fn signal(&self, sig: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success(), "kill {sig} {pid}");
    }

    /// SIGTERM: the process starts its orderly shutdown.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Starts the process again (after [`Proc::kill`]) for a start that is
    /// expected to fail; its exit status, or `None` while still running
    /// after `limit`.
    pub fn start_expecting_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.start();
        self.wait_exit(limit)
    }

    /// Waits up to `limit` for the process to exit; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let child = self.child.as_mut()?;
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGSTOP: the process holds its sockets but answers nothing (a slow
    /// or hung node).
    pub fn pause(&mut self) {
        self.signal("-STOP");
        self.paused = true;
    }

    /// SIGCONT.
    pub fn resume(&mut self) {
        self.signal("-CONT");
        self.paused = false;
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tandemd.log")).unwrap_or_default()
    }

    fn name(&self) -> String {
        format!("{} node {}", self.kind.subcommand(), self.id)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub data_nodes: usize,
    pub writers: usize,
    /// Extra TOML appended to every data and write node's config (e.g. a
    /// `[coordinator]` section). It follows the `[http]` section, so keys
    /// before its first header are HTTP settings.
    pub extra_config: String,
}

/// Three meta voters, `data_nodes` data nodes and `writers` write-only
/// front-ends.
pub struct Cluster {
    pub metas: Vec<Proc>,
    pub data: Vec<Proc>,
    pub writers: Vec<Proc>,
    // Dropped after the processes (fields drop in declaration order).
    root: TempDir,
}

const META_VOTERS: u32 = 3;

impl Cluster {
    /// Writes every config, starts every process and waits until every
    /// HTTP API answers `/ping` (an HTTP API is served only after its node
    /// registered with the meta service).
    ///
    /// Ports are picked by binding port 0 and released before the processes
    /// bind them, so another process (any outgoing connection takes its
    /// source port from the same range) can take one in between; a cluster
    /// whose process then fails with `Address already in use` is started
    /// again on fresh ports.
    pub fn start(spec: &ClusterSpec) -> Cluster {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let mut cluster = Cluster::launch(spec);
            match cluster.wait_until_serving() {
                Ok(()) => return cluster,
                Err(e) if attempt < ATTEMPTS && e.contains("Address already in use") => {
                    eprintln!("a port was taken before tandemd bound it; new ports: {e}");
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Waits until every process serves; checks all of them each round, so
    /// a meta node that exits after its siblings came up is still noticed.
    fn wait_until_serving(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let mut waiting = Vec::new();
            for p in self
                .metas
                .iter_mut()
                .chain(self.data.iter_mut())
                .chain(self.writers.iter_mut())
            {
                if !p.serving()? {
                    waiting.push(format!("{}\n{}", p.name(), p.log()));
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if start.elapsed() > STARTUP_LIMIT {
                return Err(format!(
                    "not serving within {STARTUP_LIMIT:?}: {}",
                    waiting.join("\n")
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn launch(spec: &ClusterSpec) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let metas_n = META_VOTERS as usize;
        let ports = free_ports(2 * metas_n + 2 * spec.data_nodes + spec.writers);
        let (meta_ports, rest) = ports.split_at(2 * metas_n);
        let (data_ports, write_ports) = rest.split_at(2 * spec.data_nodes);
        let api_addrs: Vec<String> = meta_ports
            .chunks(2)
            .map(|p| format!("127.0.0.1:{}", p[1]))
            .collect();
        let members: Vec<String> = meta_ports
            .chunks(2)
            .zip(1..)
            .map(|(p, id)| {
                format!(
                    r#"{{ id = {id}, raft_addr = "127.0.0.1:{}", api_addr = "127.0.0.1:{}" }}"#,
                    p[0], p[1]
                )
            })
            .collect();
        let endpoints = api_addrs
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");

        let make = |kind: Kind, id: u32, sections: String| -> Proc {
            let dir = root.path().join(format!("{}{id}", kind.subcommand()));
            std::fs::create_dir_all(&dir).unwrap();
            let config = dir.join("tandemd.toml");
            let text = format!(
                "[node]\nid = {id}\ndata_dir = \"{}\"\n\n[cluster]\nshared_secret = \"{SECRET}\"\n\n{sections}",
                dir.display()
            );
            std::fs::write(&config, text).unwrap();
            Proc {
                kind,
                id,
                dir,
                config,
                http: None,
                data: None,
                child: None,
                paused: false,
            }
        };

        let metas: Vec<Proc> = meta_ports
            .chunks(2)
            .zip(1..)
            .map(|(p, id)| {
                make(
                    Kind::Meta,
                    id,
                    format!(
                        "[meta]\nraft_bind = \"127.0.0.1:{}\"\napi_bind = \"127.0.0.1:{}\"\n\
                         heartbeat_interval_ms = 50\nelection_timeout_min_ms = 250\n\
                         election_timeout_max_ms = 500\ninitial_members = [{}]\n",
                        p[0],
                        p[1],
                        members.join(", ")
                    ),
                )
            })
            .collect();
        let client_section = format!("[meta_client]\nendpoints = [{endpoints}]\n\n");
        let mut next_id = META_VOTERS + 1;
        let mut data = Vec::new();
        for p in data_ports.chunks(2) {
            let mut node = make(
                Kind::Data,
                next_id,
                format!(
                    "{client_section}[data]\nbind = \"127.0.0.1:{}\"\n\n[http]\nbind_address = \"127.0.0.1:{}\"\n\n{}\n",
                    p[0], p[1], spec.extra_config
                ),
            );
            node.http = Some(SocketAddr::from(([127, 0, 0, 1], p[1])));
            node.data = Some(SocketAddr::from(([127, 0, 0, 1], p[0])));
            data.push(node);
            next_id += 1;
        }
        let mut writers = Vec::new();
        for &p in write_ports {
            let mut node = make(
                Kind::Write,
                next_id,
                format!(
                    "{client_section}[http]\nbind_address = \"127.0.0.1:{p}\"\n\n{}\n",
                    spec.extra_config
                ),
            );
            node.http = Some(SocketAddr::from(([127, 0, 0, 1], p)));
            writers.push(node);
            next_id += 1;
        }

        let mut cluster = Cluster {
            metas,
            data,
            writers,
            root,
        };
        for p in cluster
            .metas
            .iter_mut()
            .chain(cluster.data.iter_mut())
            .chain(cluster.writers.iter_mut())
        {
            p.start();
        }
        cluster
    }

    /// Every process, for log dumps.
    fn all(&self) -> impl Iterator<Item = &Proc> {
        self.metas
            .iter()
            .chain(self.data.iter())
            .chain(self.writers.iter())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for p in self.all() {
                let log = p.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- {} (last {} lines) ---", p.name(), tail.len());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
pub fn request(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> std::io::Result<Resp> {
    let req = Req {
        body: body.to_vec(),
        ..Req::new(method, target)
    };
    send_blocking(addr, &req, HTTP_TIMEOUT).map_err(std::io::Error::other)
}

/// `POST /query?q=...`; panics unless the answer is 200 without an error.
pub fn query_ok(addr: SocketAddr, q: &str) {
    let r = request(addr, "POST", &format!("/query?q={}", url_encode(q)), b"").unwrap();
    assert!(
        r.status == 200 && !r.text().contains("\"error\""),
        "{q}: {} {}",
        r.status,
        r.text()
    );
}

/// `POST /write?db=&consistency=`.
pub fn write(addr: SocketAddr, db: &str, consistency: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        &format!("/write?db={db}&consistency={consistency}"),
        body.as_bytes(),
    )
    .unwrap()
}

/// `GET /export?db=&scope=` as text; `None` when the node cannot answer
/// completely (not a 200, or the stream was cut).
pub fn export(addr: SocketAddr, db: &str, scope: &str) -> Option<String> {
    let r = request(addr, "GET", &format!("/export?db={db}&scope={scope}"), b"").ok()?;
    (r.status == 200 && r.chunked_complete != Some(false)).then(|| r.text())
}

/// Polls `probe` until it returns `Some`, at most `limit`; panics with
/// `what` and the last observation otherwise.
pub fn wait_for<T, O: std::fmt::Debug>(
    limit: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, O>,
) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if start.elapsed() > limit => {
                panic!("{what}: not reached within {limit:?}; last observation: {last:?}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The `X-Tandem-Consistency` header as (level, acked, required, owners).
pub fn acks(r: &Resp) -> Option<(String, usize, usize, usize)> {
    let h = r.header("X-Tandem-Consistency")?;
    let mut level = None;
    let mut nums = [None; 3];
    for part in h.split_whitespace() {
        let (k, v) = part.split_once('=')?;
        match k {
            "level" => level = Some(v.to_owned()),
            "acked" => nums[0] = v.parse().ok(),
            "required" => nums[1] = v.parse().ok(),
            "owners" => nums[2] = v.parse().ok(),
            _ => {}
        }
    }
    Some((level?, nums[0]?, nums[1]?, nums[2]?))
}

/// The root of the cluster's files.
pub fn root(c: &Cluster) -> &Path {
    c.root.path()
}
