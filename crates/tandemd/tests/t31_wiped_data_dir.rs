//! A data node whose data directory was wiped (its node uuid with it)
//! starts under the node id the cluster knows for the old directory. It
//! holds none of that node's shards, so it must not claim them: it refuses
//! to start and says why, and the cluster's copy of the node is untouched.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/cluster_processes.rs"]
mod cluster_processes;

use std::time::Duration;

use cluster_processes::{Cluster, ClusterSpec, query_ok, write};

#[test]
fn a_wiped_data_node_refuses_to_claim_its_old_id() {
    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 1,
        writers: 1,
        extra_config: String::new(),
    });
    let front = cluster.writers[0].http();
    query_ok(front, "CREATE DATABASE db");
    let r = write(front, "db", "one", "m v=1 1700000000000000000");
    assert_eq!(r.status, 204, "{}", r.text());

    // Wipe everything of data node 4 but its config and log.
    let node = &mut cluster.data[0];
    node.kill();
    for entry in std::fs::read_dir(&node.dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "tandemd.toml" || name == "tandemd.log" {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let status = node.start_expecting_exit(Duration::from_secs(60));
    let log = node.log();
    assert!(
        status.is_some_and(|s| !s.success()),
        "a wiped node 4 must not start: {status:?}\n{log}"
    );
    assert!(
        log.contains("node id 4 belongs to another data directory")
            && log.contains("does not hold node 4's shards"),
        "{log}"
    );
    // It claimed nothing: no shard was created.
    let shards = node.dir.join("data").join("shards");
    let created = std::fs::read_dir(&shards).map_or(0, |d| d.count());
    assert_eq!(created, 0, "shards created in {}", shards.display());
}
