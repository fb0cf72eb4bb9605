//! Configuration of the meta service and of its client.
//!
//! [`MetaOptions`] and [`MetaClientOptions`] are the `[meta]` and
//! `[meta_client]` sections of tandemd's TOML file (plain serde structs;
//! every field documents its default). [`MetaServerConfig`] and
//! [`MetaClientConfig`] add what the process provides (node id, directories,
//! the cluster secret).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_model::NodeId;

use crate::MetaError;
use crate::state::MetaEndpoints;

/// One member of the initial meta cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaMember {
    /// The member's node id (its raft id).
    pub id: u32,
    /// Raft address other meta nodes dial (`host:8089`).
    pub raft_addr: String,
    /// Meta API address clients dial (`host:8091`).
    pub api_addr: String,
}

impl MetaMember {
    pub(crate) fn endpoints(&self) -> MetaEndpoints {
        MetaEndpoints {
            raft_addr: self.raft_addr.clone(),
            api_addr: self.api_addr.clone(),
        }
    }
}

/// The `[meta]` section: how a meta node runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaOptions {
    /// Listen address of the raft RPC service. Default `127.0.0.1:8089`
    /// (loopback: a multi-machine cluster binds an outside address and sets
    /// the cluster's shared secret).
    pub raft_bind: String,
    /// Listen address of the meta API. Default `127.0.0.1:8091`.
    pub api_bind: String,
    /// Raft address other meta nodes use for this one. Default: empty, which
    /// takes this node's entry in `initial_members`, or else `raft_bind` with
    /// an unspecified host replaced by `127.0.0.1`.
    pub raft_advertise: String,
    /// Meta API address others use for this node; default as `raft_advertise`.
    pub api_advertise: String,
    /// The static member list of a new cluster, identical on every initial
    /// member. Each listed node initializes the cluster with exactly this
    /// list (repeating it is harmless). Default: empty, which makes a
    /// one-voter cluster of this node. A node that is not in a non-empty
    /// list never initializes: it waits to be added with `add_meta_node`.
    pub initial_members: Vec<MetaMember>,
    /// Replication factor of the `autogen` policy `CREATE DATABASE` makes,
    /// and of policies created without one. Floored at 1. Default 1.
    pub default_replication_factor: u32,
    /// Leader heartbeat interval. Default 100 ms.
    pub heartbeat_interval_ms: u64,
    /// Lower bound of the randomized election timeout. Default 500 ms.
    /// After a leader dies, followers wait out its lease
    /// (`election_timeout_max_ms`) plus one election timeout, so failover
    /// takes about 1.5–2 s with the defaults.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout. Default 1000 ms.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot (and allow purging the log) after this many applied
    /// entries. Default 1000.
    pub snapshot_after_entries: u64,
    /// Log entries kept behind the snapshot for slow followers. Default 500.
    pub log_entries_kept: u64,
    /// Connect timeout for raft peers and forwarding to the leader.
    /// Default 1000 ms.
    pub connect_timeout_ms: u64,
    /// How often the leader deletes expired shard groups. Default 1800 s
    /// (influxd's `[retention] check-interval` 30m).
    pub retention_check_interval_secs: u64,
    /// How often the leader pre-creates upcoming shard groups. Default 600 s
    /// (influxd's `[shard-precreation] check-interval` 10m).
    pub precreate_check_interval_secs: u64,
    /// How far ahead groups are pre-created. Default 1800 s (influxd's
    /// `advance-period` 30m).
    pub precreate_advance_secs: u64,
}

impl Default for MetaOptions {
    fn default() -> Self {
        Self {
            raft_bind: "127.0.0.1:8089".into(),
            api_bind: "127.0.0.1:8091".into(),
            raft_advertise: String::new(),
            api_advertise: String::new(),
            initial_members: Vec::new(),
            default_replication_factor: 1,
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 500,
            election_timeout_max_ms: 1000,
            snapshot_after_entries: 1000,
            log_entries_kept: 500,
            connect_timeout_ms: 1000,
            retention_check_interval_secs: 1800,
            precreate_check_interval_secs: 600,
            precreate_advance_secs: 1800,
        }
    }
}

/// Replaces an unspecified host (`0.0.0.0`, `[::]`, empty) with loopback.
fn loopback_for_unspecified(bind: &str) -> String {
    match bind.rsplit_once(':') {
        Some(("0.0.0.0" | "" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => bind.to_owned(),
    }
}

/// Everything a meta node needs to start.
#[derive(Debug, Clone)]
pub struct MetaServerConfig {
    /// This node's id (its raft id). Never reuse the id of a removed node.
    pub node_id: NodeId,
    /// Directory of the raft store.
    pub dir: PathBuf,
    /// The process's persistent uuid (see
    /// [`load_or_create_node_uuid`](crate::load_or_create_node_uuid)),
    /// recorded in the node table; empty skips the registration.
    pub node_uuid: String,
    /// Cluster shared secret for internal gRPC; empty disables the check.
    pub shared_secret: String,
    pub options: MetaOptions,
}

impl MetaServerConfig {
    /// Checks the configuration for mistakes that would split or wedge the
    /// cluster.
    pub fn validate(&self) -> Result<(), MetaError> {
        let o = &self.options;
        if self.node_id.0 == 0 {
            return Err(MetaError::Config("node id must be at least 1".into()));
        }
        if o.heartbeat_interval_ms == 0 || o.election_timeout_min_ms <= o.heartbeat_interval_ms {
            return Err(MetaError::Config(
                "election_timeout_min_ms must be greater than heartbeat_interval_ms (> 0)".into(),
            ));
        }
        if o.election_timeout_max_ms <= o.election_timeout_min_ms {
            return Err(MetaError::Config(
                "election_timeout_max_ms must exceed election_timeout_min_ms".into(),
            ));
        }
        let mut ids = BTreeSet::new();
        let mut addrs = BTreeSet::new();
        for m in &o.initial_members {
            if m.id == 0 {
                return Err(MetaError::Config("initial member ids must be at least 1".into()));
            }
            if !ids.insert(m.id) {
                return Err(MetaError::Config(format!(
                    "initial member id {} listed twice",
                    m.id
                )));
            }
            // Two ids on one address would make a node talk raft to itself.
            for a in [&m.raft_addr, &m.api_addr] {
                if a.is_empty() || !addrs.insert(a.clone()) {
                    return Err(MetaError::Config(format!(
                        "initial member address {a:?} empty or listed twice"
                    )));
                }
            }
        }
        Ok(())
    }

    /// This node's own endpoints.
    pub fn own_endpoints(&self) -> MetaEndpoints {
        let o = &self.options;
        let listed = o.initial_members.iter().find(|m| m.id == self.node_id.0);
        let pick = |advertise: &str, listed: Option<&str>, bind: &str| {
            if !advertise.is_empty() {
                advertise.to_owned()
            } else if let Some(l) = listed {
                l.to_owned()
            } else {
                loopback_for_unspecified(bind)
            }
        };
        MetaEndpoints {
            raft_addr: pick(
                &o.raft_advertise,
                listed.map(|m| m.raft_addr.as_str()),
                &o.raft_bind,
            ),
            api_addr: pick(&o.api_advertise, listed.map(|m| m.api_addr.as_str()), &o.api_bind),
        }
    }

    /// The membership this node initializes a new cluster with, or `None`
    /// when it must wait to be added.
    pub(crate) fn bootstrap_members(&self) -> Option<Vec<(NodeId, MetaEndpoints)>> {
        let o = &self.options;
        if o.initial_members.is_empty() {
            return Some(vec![(self.node_id, self.own_endpoints())]);
        }
        if !o.initial_members.iter().any(|m| m.id == self.node_id.0) {
            return None;
        }
        Some(
            o.initial_members
                .iter()
                .map(|m| (NodeId(m.id), m.endpoints()))
                .collect(),
        )
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.options.connect_timeout_ms.max(1))
    }
}

/// The `[meta_client]` section: how data and write nodes reach the meta
/// service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaClientOptions {
    /// Meta API addresses (`host:8091`) to try, in order. Any member works:
    /// followers forward to the leader. Default `["127.0.0.1:8091"]`.
    pub endpoints: Vec<String>,
    /// How long one call (including retries across endpoints and leader
    /// changes, and waiting for the local copy to catch up) may take.
    /// Default 10000 ms.
    pub request_timeout_ms: u64,
    /// TCP connect timeout per endpoint. Default 1000 ms.
    pub connect_timeout_ms: u64,
    /// Upper bound on verified password entries kept in memory. Default 10000.
    pub credential_cache_entries: usize,
}

impl Default for MetaClientOptions {
    fn default() -> Self {
        Self {
            endpoints: vec!["127.0.0.1:8091".into()],
            request_timeout_ms: 10_000,
            connect_timeout_ms: 1000,
            credential_cache_entries: 10_000,
        }
    }
}

/// Everything a [`crate::MetaClient`] needs.
#[derive(Debug, Clone)]
pub struct MetaClientConfig {
    /// Where the local copy of the metadata is persisted (a file
    /// `metadata.json` inside); `None` keeps it in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Cluster shared secret for internal gRPC; empty disables it.
    pub shared_secret: String,
    pub options: MetaClientOptions,
}

impl MetaClientConfig {
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.options.request_timeout_ms.max(1))
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.options.connect_timeout_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u32, port: u16) -> MetaMember {
        MetaMember {
            id,
            raft_addr: format!("h{id}:{port}"),
            api_addr: format!("h{id}:{}", port + 2),
        }
    }

    fn config(id: u32, members: Vec<MetaMember>) -> MetaServerConfig {
        MetaServerConfig {
            node_id: NodeId(id),
            dir: PathBuf::from("/tmp/x"),
            node_uuid: String::new(),
            shared_secret: String::new(),
            options: MetaOptions {
                initial_members: members,
                ..MetaOptions::default()
            },
        }
    }

    #[test]
    fn bootstrap_membership() {
        let three = vec![member(1, 8089), member(2, 8089), member(3, 8089)];
        // Listed members initialize with the whole list.
        assert_eq!(config(2, three.clone()).bootstrap_members().unwrap().len(), 3);
        // A node outside the list waits to be added.
        assert_eq!(config(4, three.clone()).bootstrap_members(), None);
        // No list: a one-voter cluster on the bind addresses.
        let single = config(1, vec![]).bootstrap_members().unwrap();
        assert_eq!(
            single,
            vec![(
                NodeId(1),
                MetaEndpoints {
                    raft_addr: "127.0.0.1:8089".into(),
                    api_addr: "127.0.0.1:8091".into()
                }
            )]
        );
        assert_eq!(config(3, three).own_endpoints().raft_addr, "h3:8089");
    }

    #[test]
    fn validation() {
        let ok = config(1, vec![member(1, 8089), member(2, 8089)]);
        assert!(ok.validate().is_ok());
        let dup_id = config(1, vec![member(1, 8089), member(1, 9000)]);
        assert!(dup_id.validate().is_err());
        let mut dup_addr = config(1, vec![member(1, 8089), member(2, 8089)]);
        dup_addr.options.initial_members[1].raft_addr = "h1:8089".into();
        assert!(dup_addr.validate().is_err());
        let mut bad_timeouts = config(1, vec![]);
        bad_timeouts.options.election_timeout_min_ms = 50;
        assert!(bad_timeouts.validate().is_err());
        assert!(config(0, vec![]).validate().is_err());
    }

    #[test]
    fn defaults_round_trip_through_toml_shape() {
        let json = serde_json::to_string(&MetaOptions::default()).unwrap();
        let back: MetaOptions = serde_json::from_str(&json).unwrap();
        assert_eq!(back, MetaOptions::default());
        let partial: MetaOptions = serde_json::from_str(r#"{"api_bind":"1.2.3.4:1"}"#).unwrap();
        assert_eq!(partial.raft_bind, "127.0.0.1:8089");
    }
}
