//! tandemd's configuration: one TOML file (`--config path`) whose sections
//! are plain serde structs with documented defaults, overridden by
//! `TANDEM_<SECTION>_<KEY>` environment variables.
//!
//! Override values are parsed by the type of the default: strings are taken
//! as they are, numbers and booleans are parsed, lists and tables are TOML
//! expressions, e.g.
//! `TANDEM_META_INITIAL_MEMBERS='[{id=1, raft_addr="h1:8089", api_addr="h1:8091"}]'`.
//!
//! Each role reads only its sections; adding a role means adding a section
//! struct here (with `#[serde(default)]`) and nothing else.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tandem_coordinator::CoordinatorConfig;
use tandem_datanode::client::DataClientConfig;
use tandem_http::HttpConfig;
use tandem_meta::{MetaClientConfig, MetaClientOptions, MetaOptions, MetaServerConfig, NodeId};
use tandem_storage::StorageConfig;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "TANDEM_";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub node: NodeSection,
    pub cluster: ClusterSection,
    pub log: LogSection,
    /// The meta role (raft on 8089, meta API on 8091).
    pub meta: MetaOptions,
    /// How data and write roles reach the meta service.
    pub meta_client: MetaClientOptions,
    /// The data role's service (gRPC on 8088).
    pub data: DataSection,
    /// The data role's storage engine. `dir` empty means
    /// `<node.data_dir>/data`.
    pub storage: StorageConfig,
    /// The write role's HTTP API (8086).
    pub http: HttpConfig,
    /// The write role's coordinator.
    pub coordinator: CoordinatorConfig,
    /// How the write role reaches data nodes.
    pub data_client: DataClientConfig,
}

/// A role a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A raft voter of the meta service (raft 8089, meta API 8091).
    Meta,
    /// Stores shards and serves the data service (8088).
    Data,
    /// The HTTP API and write coordinator (8086). Without `data`, the node
    /// is a passive front-end: it coordinates and owns no shards.
    Write,
}

/// `[data]`: the data service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// Listen address of the data service. Default `127.0.0.1:8088`: other
    /// machines reach it only when it is bound to an outside address, which
    /// requires `cluster.shared_secret`.
    pub bind: String,
    /// Address other nodes dial; empty means `bind`, with an unspecified
    /// host replaced by `127.0.0.1`. Default empty.
    pub advertise: String,
    /// Largest WriteShard message accepted. Default 64 MiB.
    pub max_message_bytes: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8088".into(),
            advertise: String::new(),
            max_message_bytes: tandem_datanode::service::DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// `[node]`: identity and storage of this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// Node id of this process; a meta node's raft id. Ids of removed nodes
    /// are never reused. Default 1.
    pub id: u32,
    /// Root of everything this process stores (`meta/`, `meta-client/`,
    /// `node_uuid`, `data/`, `hlc`). Default `./tandem-data`.
    pub data_dir: PathBuf,
    /// Roles of `tandemd run` (and of `tandemd` without a subcommand).
    /// Default `["meta", "data", "write"]`: a complete one-node cluster.
    pub roles: Vec<Role>,
    /// Labels of this node (e.g. `zone`), used to spread shard owners.
    pub labels: std::collections::BTreeMap<String, String>,
}

impl Default for NodeSection {
    fn default() -> Self {
        Self {
            id: 1,
            data_dir: PathBuf::from("./tandem-data"),
            roles: vec![Role::Meta, Role::Data, Role::Write],
            labels: std::collections::BTreeMap::new(),
        }
    }
}

/// `[cluster]`: settings every node of the cluster shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// Shared secret authenticating internal gRPC (raft, meta API, data
    /// service). Visible ASCII; empty disables the check, which is only
    /// allowed while every internal service of the process binds a
    /// loopback address (`tandemd` refuses to start otherwise). Default
    /// empty.
    pub shared_secret: String,
    /// Serve and dial the data service over TLS (rustls), each node
    /// presenting `tls_certificate` and verifying its peer against
    /// `tls_ca_certificate`. The meta service's raft and API traffic is not
    /// covered yet. Default false.
    pub tls_enabled: bool,
    /// PEM certificate chain of this node. Default empty.
    pub tls_certificate: PathBuf,
    /// PEM private key of `tls_certificate`. Default empty.
    pub tls_private_key: PathBuf,
    /// PEM certificate of the CA that signed every node's certificate.
    /// Default empty.
    pub tls_ca_certificate: PathBuf,
    /// DNS name every node certificate carries and peers verify.
    /// Default `tandem`.
    pub tls_server_name: String,
}

impl Default for ClusterSection {
    fn default() -> Self {
        Self {
            shared_secret: String::new(),
            tls_enabled: false,
            tls_certificate: PathBuf::new(),
            tls_private_key: PathBuf::new(),
            tls_ca_certificate: PathBuf::new(),
            tls_server_name: "tandem".into(),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// tracing filter (`RUST_LOG` syntax); `RUST_LOG` wins when set.
    /// Default `info,openraft=warn` (raft's own info lines are chatty).
    pub filter: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            filter: "info,openraft=warn".into(),
        }
    }
}

impl Config {
    /// Defaults, then the file (if any), then `TANDEM_*` overrides from
    /// `env`. Returns the config and notes about ignored variables.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Config, Vec<String>)> {
        let mut value = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                toml::from_str::<toml::Table>(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Config::default()).context("serializing defaults")?;
        let mut notes = Vec::new();
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if rest == "CONFIG" {
                continue;
            }
            match find_key(&defaults, &rest.to_ascii_lowercase()) {
                Some((section, key, default)) => {
                    let parsed = parse_override(&raw, default)
                        .with_context(|| format!("environment variable {name}"))?;
                    let table = value
                        .entry(section.clone())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                        .as_table_mut()
                        .with_context(|| format!("[{section}] is not a table"))?;
                    table.insert(key, parsed);
                }
                None => notes.push(format!("ignoring unknown environment variable {name}")),
            }
        }
        let config: Config = toml::Value::Table(value)
            .try_into()
            .context("invalid configuration")?;
        config.validate()?;
        Ok((config, notes))
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.node.id == 0 {
            bail!("node.id must be at least 1");
        }
        Ok(())
    }

    /// Refuses internal services reachable from other machines without
    /// authentication: with an empty `cluster.shared_secret`, every internal
    /// listener of `roles` (raft, meta API, data service) must bind a
    /// loopback address. The HTTP API has its own auth and is not checked.
    pub fn check_internal_exposure(&self, roles: &[Role]) -> anyhow::Result<()> {
        if !self.cluster.shared_secret.is_empty() {
            return Ok(());
        }
        let mut listeners = Vec::new();
        if roles.contains(&Role::Meta) {
            listeners.push(("meta.raft_bind", &self.meta.raft_bind));
            listeners.push(("meta.api_bind", &self.meta.api_bind));
        }
        if roles.contains(&Role::Data) {
            listeners.push(("data.bind", &self.data.bind));
        }
        for (name, bind) in listeners {
            if !is_loopback_bind(bind) {
                bail!(
                    "{name} = {bind:?} accepts connections from other machines but \
                     cluster.shared_secret is empty; set TANDEM_CLUSTER_SHARED_SECRET \
                     (the same on every node) or bind {name} to 127.0.0.1"
                );
            }
        }
        Ok(())
    }

    /// The meta server settings of this process.
    pub fn meta_server(&self) -> anyhow::Result<MetaServerConfig> {
        Ok(MetaServerConfig {
            node_id: NodeId(self.node.id),
            dir: self.node.data_dir.join("meta"),
            node_uuid: self.node_uuid()?,
            shared_secret: self.cluster.shared_secret.clone(),
            options: self.meta.clone(),
        })
    }

    /// The meta client settings of this process (its persisted copy lives
    /// in `<data_dir>/meta-client`). For the data and write roles.
    pub fn meta_client(&self) -> MetaClientConfig {
        MetaClientConfig {
            cache_dir: Some(self.node.data_dir.join("meta-client")),
            shared_secret: self.cluster.shared_secret.clone(),
            options: self.meta_client.clone(),
        }
    }

    /// The storage settings with `dir` resolved.
    pub fn storage(&self) -> StorageConfig {
        let mut s = self.storage.clone();
        if s.dir.as_os_str().is_empty() {
            s.dir = self.node.data_dir.join("data");
        }
        s
    }

    /// The process's persistent uuid, shared by all its roles.
    pub fn node_uuid(&self) -> anyhow::Result<String> {
        Ok(tandem_meta::load_or_create_node_uuid(
            &self.node.data_dir.join("node_uuid"),
        )?)
    }
}

/// True for `127.x.x.x:port`, `[::1]:port` and `localhost:port`.
fn is_loopback_bind(bind: &str) -> bool {
    let Some((host, _port)) = bind.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits `section_key` into a known section and key (longest section
/// first, so `meta_client_endpoints` is not read as `meta` + `client_endpoints`).
fn find_key<'a>(defaults: &'a toml::Table, name: &str) -> Option<(String, String, &'a toml::Value)> {
    let mut sections: Vec<&String> = defaults.keys().collect();
    sections.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for section in sections {
        let Some(key) = name
            .strip_prefix(section.as_str())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        if let Some(default) = defaults.get(section)?.as_table()?.get(key) {
            return Some((section.clone(), key.to_owned(), default));
        }
    }
    None
}

/// Parses an override by the type of its default.
fn parse_override(raw: &str, default: &toml::Value) -> anyhow::Result<toml::Value> {
    Ok(match default {
        toml::Value::String(_) => toml::Value::String(raw.to_owned()),
        toml::Value::Integer(_) => toml::Value::Integer(raw.trim().parse().context("expected an integer")?),
        toml::Value::Float(_) => toml::Value::Float(raw.trim().parse().context("expected a number")?),
        toml::Value::Boolean(_) => {
            toml::Value::Boolean(raw.trim().parse().context("expected true or false")?)
        }
        _ => {
            let table: toml::Table =
                toml::from_str(&format!("v = {raw}")).context("expected a TOML value (list or table)")?;
            table.get("v").cloned().context("expected a TOML value")?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let (c, notes) = Config::load(None, env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert!(notes.is_empty());
        assert_eq!(c.meta.raft_bind, "127.0.0.1:8089");
        assert_eq!(c.meta.api_bind, "127.0.0.1:8091");
        assert_eq!(c.data.bind, "127.0.0.1:8088");
    }

    /// Internal services bound to an outside address need a shared secret;
    /// (secret, data.bind, meta.raft_bind, roles, accepted).
    #[test]
    fn internal_services_need_a_secret_off_loopback() {
        use Role::{Data, Meta, Write};
        let all = [Meta, Data, Write];
        let table: &[(&str, &str, &str, &[Role], bool)] = &[
            ("", "127.0.0.1:8088", "127.0.0.1:8089", &all, true),
            ("", "localhost:8088", "[::1]:8089", &all, true),
            ("", "127.0.0.2:8088", "127.0.0.1:8089", &all, true),
            ("", "0.0.0.0:8088", "127.0.0.1:8089", &all, false),
            ("", "127.0.0.1:8088", "0.0.0.0:8089", &all, false),
            ("", "[::]:8088", "127.0.0.1:8089", &all, false),
            ("", "node1:8088", "127.0.0.1:8089", &all, false),
            ("", "10.0.0.5:8088", "127.0.0.1:8089", &all, false),
            ("", "8088", "127.0.0.1:8089", &all, false),
            // Only the listeners of the roles that run count.
            ("", "0.0.0.0:8088", "127.0.0.1:8089", &[Meta, Write], true),
            ("", "127.0.0.1:8088", "0.0.0.0:8089", &[Data, Write], true),
            ("", "0.0.0.0:8088", "0.0.0.0:8089", &[Write], true),
            ("s3cret", "0.0.0.0:8088", "0.0.0.0:8089", &all, true),
        ];
        for &(secret, data_bind, raft_bind, roles, accepted) in table {
            let mut c = Config::default();
            c.cluster.shared_secret = secret.into();
            c.data.bind = data_bind.into();
            c.meta.raft_bind = raft_bind.into();
            let got = c.check_internal_exposure(roles);
            assert_eq!(
                got.is_ok(),
                accepted,
                "{secret:?} {data_bind} {raft_bind} {roles:?}: {got:?}"
            );
            if let Err(e) = got {
                assert!(e.to_string().contains("TANDEM_CLUSTER_SHARED_SECRET"), "{e}");
            }
        }
    }

    #[test]
    fn file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            r#"
            [node]
            id = 2
            data_dir = "/var/lib/tandem"
            [meta]
            api_bind = "127.0.0.1:9091"
            election_timeout_max_ms = 1500
            "#,
        )
        .unwrap();
        let (c, notes) = Config::load(
            Some(&path),
            env(&[
                ("TANDEM_META_API_BIND", "127.0.0.1:7000"),
                ("TANDEM_META_HEARTBEAT_INTERVAL_MS", "75"),
                ("TANDEM_CLUSTER_SHARED_SECRET", "s3cret"),
                ("TANDEM_META_CLIENT_ENDPOINTS", r#"["a:8091", "b:8091"]"#),
                (
                    "TANDEM_META_INITIAL_MEMBERS",
                    r#"[{id = 1, raft_addr = "h1:8089", api_addr = "h1:8091"}]"#,
                ),
                ("TANDEM_CONFIG", "/ignored"),
                ("TANDEM_NOPE_X", "1"),
                ("OTHER", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.node.id, 2);
        assert_eq!(c.meta.api_bind, "127.0.0.1:7000", "env beats file");
        assert_eq!(c.meta.election_timeout_max_ms, 1500);
        assert_eq!(c.meta.heartbeat_interval_ms, 75);
        assert_eq!(c.cluster.shared_secret, "s3cret");
        assert_eq!(c.meta_client.endpoints, vec!["a:8091", "b:8091"]);
        assert_eq!(c.meta.initial_members.len(), 1);
        assert_eq!(c.meta.initial_members[0].raft_addr, "h1:8089");
        assert_eq!(notes, vec!["ignoring unknown environment variable TANDEM_NOPE_X"]);
        assert_eq!(
            c.meta_client().cache_dir,
            Some(PathBuf::from("/var/lib/tandem/meta-client"))
        );
    }

    #[test]
    fn storage_lives_under_the_data_dir_unless_set() {
        let (c, _) = Config::load(None, env(&[("TANDEM_STORAGE_WAL_FSYNC_DELAY", "5ms")])).unwrap();
        assert_eq!(c.storage().dir, PathBuf::from("./tandem-data/data"));
        let (c, _) = Config::load(None, env(&[("TANDEM_NODE_DATA_DIR", "/srv/t")])).unwrap();
        assert_eq!(c.storage().dir, PathBuf::from("/srv/t/data"));
        let (c, _) = Config::load(None, env(&[("TANDEM_STORAGE_DIR", "/fast/disk")])).unwrap();
        assert_eq!(c.storage().dir, PathBuf::from("/fast/disk"));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let cases = [
            (
                env(&[("TANDEM_META_HEARTBEAT_INTERVAL_MS", "fast")]),
                "TANDEM_META_HEARTBEAT_INTERVAL_MS",
            ),
            (env(&[("TANDEM_NODE_ID", "0")]), "node.id"),
        ];
        for (vars, needle) in cases {
            let err = format!("{:#}", Config::load(None, vars).unwrap_err());
            assert!(err.contains(needle), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "[meta]\nno_such_option = 1\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&path), env(&[])).unwrap_err());
        assert!(err.contains("no_such_option"), "{err}");
    }
}
