//! Crash recovery of a real data node: writers stream batches into a
//! `tandemd data` process (its meta service is a separate `tandemd meta`),
//! the data process is SIGKILLed in the middle, restarted on the same data
//! directory, and the stored points are read back. Every batch that
//! was acknowledged must be there in full, and every batch (one WAL record
//! each) must be there completely or not at all. And a SIGTERM must
//! flush everything into shard files: a restart without the WAL still
//! holds every point.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{Req, send, try_send};

const LINES_PER_BATCH: usize = 200;
/// 2023-11-14T22:00:00Z: all batches fall in one shard group, so each batch
/// is one shard write and one WAL record.
const T0: i64 = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % 3_600_000_000_000;

struct Node {
    child: Child,
    http: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Spawns `tandemd <role>` with `env`, logging to `<dir>/<role>.log`.
fn spawn(dir: &Path, role: &str, env: &[(&str, String)]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{role}.log")))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_tandemd"))
        .arg(role)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "info,openraft=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn tandemd")
}

/// The meta service the data node uses: `tandemd meta` (node 1) with raft
/// on `ports[2]` and its API on `ports[3]`. It is never killed.
fn start_meta(dir: &Path, ports: &[u16]) -> Node {
    let child = spawn(
        dir,
        "meta",
        &[
            ("TANDEM_NODE_ID", "1".into()),
            ("TANDEM_NODE_DATA_DIR", dir.join("meta").display().to_string()),
            ("TANDEM_META_RAFT_BIND", format!("127.0.0.1:{}", ports[2])),
            ("TANDEM_META_API_BIND", format!("127.0.0.1:{}", ports[3])),
        ],
    );
    Node {
        child,
        http: SocketAddr::from(([127, 0, 0, 1], ports[3])),
    }
}

/// Starts `tandemd data` (node 2: data service on `ports[1]`, HTTP on
/// `ports[0]`) with its data in `<dir>/data`, and waits until it is healthy.
async fn start(dir: &Path, ports: &[u16]) -> Node {
    let child = spawn(
        dir,
        "data",
        &[
            ("TANDEM_NODE_ID", "2".into()),
            ("TANDEM_NODE_DATA_DIR", dir.join("data").display().to_string()),
            ("TANDEM_HTTP_BIND_ADDRESS", format!("127.0.0.1:{}", ports[0])),
            ("TANDEM_DATA_BIND", format!("127.0.0.1:{}", ports[1])),
            (
                "TANDEM_META_CLIENT_ENDPOINTS",
                format!("[\"127.0.0.1:{}\"]", ports[3]),
            ),
        ],
    );
    let node = Node {
        child,
        http: SocketAddr::from(([127, 0, 0, 1], ports[0])),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = try_send(node.http, &Req::get("/health"), Duration::from_secs(2)).await;
        if matches!(ready, Ok(r) if r.status == 200) {
            return node;
        }
        assert!(
            Instant::now() < deadline,
            "tandemd data did not become healthy; see {}",
            dir.join("data.log").display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn batch(id: usize) -> Vec<u8> {
    let mut body = String::new();
    for k in 0..LINES_PER_BATCH {
        body.push_str(&format!(
            "crash,b={id} v={k}i {}\n",
            T0 + (id * LINES_PER_BATCH + k) as i64
        ));
    }
    body.into_bytes()
}

/// Lines per batch id in the node's own copy.
async fn stored(node: &Node) -> BTreeMap<usize, usize> {
    let r = send(node.http, &Req::get("/export?db=crash&scope=local")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut counts = BTreeMap::new();
    for line in r.text().lines() {
        let id = line
            .split(' ')
            .next()
            .and_then(|k| k.strip_prefix("crash,b="))
            .expect("a crash line");
        *counts.entry(id.parse::<usize>().unwrap()).or_insert(0) += 1;
    }
    counts
}

/// `tandemd meta` plus a healthy `tandemd data` with database `crash`.
async fn cluster_with_database(dir: &Path, ports: &[u16]) -> (Node, Node) {
    let meta = start_meta(dir, ports);
    let node = start(dir, ports).await;
    let r = send(
        node.http,
        &Req::post("/query", "q=CREATE DATABASE crash")
            .header("Content-Type", "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    (meta, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(4);
    let (_meta, mut node) = cluster_with_database(dir.path(), &ports).await;

    let acked: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let mut next_id = 0;
    for round in 0..2 {
        // Four writers, each sending batches back to back until the node dies.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let acked = Arc::clone(&acked);
                let http = node.http;
                let first = next_id + w * 100_000;
                tokio::spawn(async move {
                    for id in first.. {
                        let req = Req::post("/write?db=crash", batch(id));
                        match try_send(http, &req, Duration::from_secs(5)).await {
                            Ok(r) if r.status == 204 => {
                                acked.lock().unwrap().insert(id);
                            }
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        next_id += 1_000_000;
        // Let a good number of batches through, then kill mid-stream.
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() < 40 * (round + 1) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node.child.kill().unwrap();
        node.child.wait().unwrap();
        for w in writers {
            let _ = w.await;
        }
        drop(node);
        node = start(dir.path(), &ports).await;
        let counts = stored(&node).await;
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() >= 40 * (round + 1),
            "round {round}: only {} batches acknowledged",
            acked.len()
        );
        for id in &acked {
            assert_eq!(
                counts.get(id),
                Some(&LINES_PER_BATCH),
                "round {round}: acknowledged batch {id} incomplete"
            );
        }
        for (id, n) in &counts {
            assert_eq!(
                *n, LINES_PER_BATCH,
                "round {round}: batch {id} stored partially ({n} lines)"
            );
        }
        eprintln!(
            "round {round}: {} batches acknowledged, {} stored ({} in flight at the kill made it)",
            acked.len(),
            counts.len(),
            counts.len() - acked.len()
        );
    }
}

/// A graceful shutdown (SIGTERM) flushes the cache into shard files before
/// exiting: with the WAL removed afterwards, a restart still holds every
/// point. (A fresh node, so nothing was flushed before: the batches are only
/// in the cache and the WAL when the signal comes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_flushes_everything_to_shard_files() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(4);
    let (_meta, mut node) = cluster_with_database(dir.path(), &ports).await;
    for id in 0..10 {
        let r = send(node.http, &Req::post("/write?db=crash", batch(id))).await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let before = stored(&node).await;
    assert_eq!(before.len(), 10);

    let status = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = node.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "tandemd data did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    drop(node);
    let wal = dir.path().join("data/data/wal");
    assert!(wal.is_dir(), "no WAL at {}", wal.display());
    std::fs::remove_dir_all(&wal).unwrap();
    let node = start(dir.path(), &ports).await;
    assert_eq!(
        stored(&node).await,
        before,
        "points lost with the WAL after a clean shutdown"
    );
}
