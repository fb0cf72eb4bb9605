//! Three `tandemd meta` processes on loopback: leader failover after
//! `kill -9`, no committed change lost, restart of all three from disk, and
//! racing bootstrap of fresh clusters.

// Test diagnostics (the failover figure, logs of a failing cluster) go to stderr.
#![allow(clippy::print_stderr)]

#[path = "support/meta_processes.rs"]
mod meta_processes;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use meta_processes::{DEFAULT_TIMINGS, FAST_TIMINGS, MetaCluster};
use tandem_meta::{DataEndpoints, MetaState, NodeRegistration};
use tandem_model::NodeId;

const WEEK: i64 = 7 * 86_400 * 1_000_000_000;
/// Monday 2024-01-01T00:00:00Z in ns.
const MONDAY: i64 = 1_704_067_200 * 1_000_000_000;

/// What must survive: databases with their policies and groups, users, nodes.
fn durable_view(s: &MetaState) -> Vec<String> {
    let dbs: BTreeMap<_, _> = s.databases().map(|d| (d.name.clone(), d.clone())).collect();
    let mut lines: Vec<String> = dbs.values().map(|d| format!("{d:?}")).collect();
    lines.extend(s.users().map(|u| format!("user {} {}", u.name, u.password_hash)));
    lines.extend(s.nodes().map(|n| format!("{n:?}")));
    lines
}

/// The lines only one of two views has, for a readable failure.
fn view_diff(left: &[String], right: &[String]) -> String {
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|l| !b.contains(l)).cloned().collect()
    };
    format!(
        "only before:\n{}\nonly after:\n{}",
        only(left, right).join("\n"),
        only(right, left).join("\n")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill_failover_and_full_restart() {
    let mut cluster = MetaCluster::new(3, DEFAULT_TIMINGS);
    cluster.start_all();
    cluster.wait_for_leader(Duration::from_secs(20)).await;
    let client = cluster.client().await;
    for i in 0..2 {
        let reg = NodeRegistration {
            uuid: format!("data-{i}"),
            data: Some(DataEndpoints {
                rpc_addr: format!("data-{i}.invalid:8088"),
                http_addr: String::new(),
            }),
            ..Default::default()
        };
        client.register_node(reg).await.unwrap();
    }
    client.create_user("admin", "pw", true).await.unwrap();
    let mut committed = Vec::new();
    for i in 0..10 {
        let db = format!("before_{i}");
        client.create_database(&db, None).await.unwrap();
        client
            .shard_groups_for(&db, "autogen", &[MONDAY + i * WEEK])
            .await
            .unwrap();
        committed.push(db);
    }

    let mut figures = Vec::new();
    for round in 0..3 {
        let leader = cluster.wait_for_leader(Duration::from_secs(20)).await;
        // A healthy cluster: the node restarted in the previous round has
        // caught up (a follower with a stale log cannot win the election).
        cluster.wait_until_caught_up(Duration::from_secs(20)).await;
        let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
        let mut watchers = Vec::new();
        for &i in &survivors {
            watchers.push(cluster.client_of(i).await);
        }
        cluster.nodes[leader].kill();
        let t0 = Instant::now();
        // Meanwhile, note when a survivor first reports a new leader.
        let elected = tokio::spawn(async move {
            loop {
                for w in &watchers {
                    if let Ok(s) = w.cluster_status().await
                        && s.leader.is_some_and(|l| l.0 as usize != leader + 1)
                    {
                        return t0.elapsed();
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        // A client that knows every node: the first write after the kill
        // succeeds once a new leader has committed it and the client's copy
        // has applied it.
        let db = format!("after_kill_{round}");
        client.create_database(&db, None).await.unwrap();
        let elapsed = t0.elapsed();
        let elected = elected.await.unwrap();
        figures.push(elapsed);
        committed.push(db);
        eprintln!(
            "failover round {round}: killed node {} (leader); new leader seen after {elected:?}, \
             write served after {elapsed:?}",
            leader + 1
        );
        cluster.start(leader);
    }
    eprintln!("failover figures (kill -9 of leader -> first committed write): {figures:?}");

    // Every meta node registered its uuid, elections meanwhile or not (a
    // registration that met a deposed leader used to be abandoned).
    let registered = |s: &MetaState| (1..=3).all(|id| s.node(NodeId(id)).is_some_and(|n| !n.uuid.is_empty()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !registered(&client.sync().await.unwrap()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Nothing committed was lost.
    let state = client.sync().await.unwrap();
    assert!(
        registered(&state),
        "meta node uuids: {:?}",
        state.nodes().collect::<Vec<_>>()
    );
    for db in &committed {
        assert!(state.database(db).is_ok(), "lost {db}");
    }
    assert!(state.user("admin").is_some());
    let before = durable_view(&state);
    let version = state.version();
    drop(client);

    // Kill all three at once and restart them from their disks.
    cluster.wait_for_leader(Duration::from_secs(20)).await;
    for n in &mut cluster.nodes {
        n.kill();
    }
    cluster.start_all();
    cluster.wait_for_leader(Duration::from_secs(20)).await;
    let client = cluster.client().await;
    let state = client.sync().await.unwrap();
    assert!(state.version() >= version);
    let after = durable_view(&state);
    assert!(
        after == before,
        "state after restarting all three from disk (version {} before, {} after)\n{}",
        version,
        state.version(),
        view_diff(&before, &after)
    );
    assert!(client.authenticate("admin", "pw").await.is_ok());
    // And the cluster still takes writes.
    client.create_database("after_restart", None).await.unwrap();

    // A clean SIGTERM shutdown exits with success.
    for n in &mut cluster.nodes {
        assert!(n.terminate().success(), "node {} log:\n{}", n.member.id, n.log());
    }
}

/// Twenty fresh three-node clusters, each started with all members at once:
/// every time exactly one cluster forms (one leader that all agree on, one
/// cluster id, the full voter set, writes visible on every node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_bootstrap_forms_one_cluster_20_times() {
    for round in 0..20 {
        let mut cluster = MetaCluster::new(3, FAST_TIMINGS);
        cluster.start_all();
        cluster.wait_for_leader(Duration::from_secs(20)).await;
        let db = format!("round_{round}");
        cluster
            .client_of(2)
            .await
            .create_database(&db, None)
            .await
            .unwrap();
        let mut cluster_ids = Vec::new();
        for i in 0..3 {
            let c = cluster.client_of(i).await;
            let s = c.sync().await.unwrap();
            assert!(
                s.database(&db).is_ok(),
                "round {round}: node {} misses {db}",
                i + 1
            );
            let status = c.cluster_status().await.unwrap();
            assert_eq!(status.voters.len(), 3, "round {round}");
            // Wait for the leader's duties to have set the cluster id.
            let mut id = s.cluster_id().to_owned();
            for _ in 0..100 {
                if !id.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                id = c.sync().await.unwrap().cluster_id().to_owned();
            }
            assert!(!id.is_empty(), "round {round}: no cluster id");
            cluster_ids.push(id);
        }
        assert!(
            cluster_ids.iter().all(|id| *id == cluster_ids[0]),
            "round {round}: {cluster_ids:?}"
        );
        for n in &mut cluster.nodes {
            n.kill();
        }
    }
}

/// One `tandemd meta` configured only through `TANDEM_*` variables and no
/// member list bootstraps a one-voter cluster that takes writes, and stops
/// cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_meta_process_from_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let ports = meta_processes::free_ports(2);
    let (raft, api) = (
        format!("127.0.0.1:{}", ports[0]),
        format!("127.0.0.1:{}", ports[1]),
    );
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tandemd"))
        .arg("meta")
        .env("TANDEM_NODE_ID", "7")
        .env("TANDEM_NODE_DATA_DIR", dir.path())
        .env("TANDEM_META_RAFT_BIND", &raft)
        .env("TANDEM_META_API_BIND", &api)
        .env("TANDEM_CLUSTER_SHARED_SECRET", meta_processes::SECRET)
        .stderr(log)
        .spawn()
        .unwrap();
    let client = meta_processes::client(vec![api.clone()]).await;
    client.create_database("solo", None).await.unwrap();
    let status = client.cluster_status().await.unwrap();
    assert_eq!(status.leader, Some(NodeId(7)));
    assert_eq!(status.endpoints[&NodeId(7)].raft_addr, raft);
    assert!(dir.path().join("meta").join("raft.redb").exists());
    assert!(dir.path().join("node_uuid").exists());
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(dir.path().join("log")).unwrap()
    );
}

/// `print-config` shows defaults merged with the file and the environment;
/// a bad value is reported with the variable's name and a non-zero exit.
#[test]
fn print_config_and_config_errors() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tandemd"))
        .arg("print-config")
        .env("TANDEM_META_API_BIND", "127.0.0.1:9999")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#"api_bind = "127.0.0.1:9999""#), "{text}");
    assert!(text.contains(r#"raft_bind = "127.0.0.1:8089""#), "{text}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tandemd"))
        .arg("print-config")
        .env("TANDEM_META_HEARTBEAT_INTERVAL_MS", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TANDEM_META_HEARTBEAT_INTERVAL_MS"));
}
