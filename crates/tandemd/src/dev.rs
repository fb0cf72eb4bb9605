//! `tandemd dev --nodes N`: a complete N-node cluster in one process, on
//! loopback ports, for trying every consistency level on one machine.
//!
//! Every node runs all three roles (meta voter, data, write). The nodes talk
//! to each other over gRPC exactly as separate machines do. Node `i`
//! (1-based) listens on `base + 100·(i-1)` plus the usual offsets: HTTP
//! `+0`, data `+2`, raft `+3`, meta API `+5` (8086, 8088, 8089, 8091 for
//! node 1 with the default base). A database `dev` with replication factor
//! N is created once the cluster is up.

use std::path::Path;

use anyhow::Context;
use tandem_meta::{MetaMember, RetentionPolicySpec};

use crate::config::{Config, Role};
use crate::node::{self, RunningNode};

/// The configuration of node `i` (1-based) of an `n`-node dev cluster.
pub fn node_config(base: &Config, dir: &Path, n: u32, i: u32, base_port: u16) -> Config {
    let port = |node: u32, offset: u16| base_port + (100 * (node - 1)) as u16 + offset;
    let members: Vec<MetaMember> = (1..=n)
        .map(|k| MetaMember {
            id: k,
            raft_addr: format!("127.0.0.1:{}", port(k, 3)),
            api_addr: format!("127.0.0.1:{}", port(k, 5)),
        })
        .collect();
    let mut c = base.clone();
    c.node.id = i;
    c.node.data_dir = dir.join(format!("node{i}"));
    c.node.roles = vec![Role::Meta, Role::Data, Role::Write];
    c.meta.raft_bind = format!("127.0.0.1:{}", port(i, 3));
    c.meta.api_bind = format!("127.0.0.1:{}", port(i, 5));
    c.meta.initial_members = members.clone();
    c.meta.default_replication_factor = n;
    c.meta_client.endpoints = members.iter().map(|m| m.api_addr.clone()).collect();
    c.data.bind = format!("127.0.0.1:{}", port(i, 2));
    c.http.bind_address = format!("127.0.0.1:{}", port(i, 0));
    c
}

/// Starts the cluster and creates the `dev` database.
pub async fn start(base: &Config, dir: &Path, n: u32, base_port: u16) -> anyhow::Result<Vec<RunningNode>> {
    let configs: Vec<Config> = (1..=n).map(|i| node_config(base, dir, n, i, base_port)).collect();
    let starts = configs.iter().map(|c| node::start(c, &c.node.roles));
    let nodes = futures::future::join_all(starts)
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = nodes[0].meta_client().context("node 1 has no meta client")?;
    let spec = RetentionPolicySpec {
        replication_factor: Some(n),
        ..RetentionPolicySpec::autogen()
    };
    client
        .create_database("dev", Some(spec))
        .await
        .context("creating database dev")?;
    Ok(nodes)
}
