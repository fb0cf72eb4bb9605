use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// HTTP API settings (`[http]` in tandemd's config). The names follow
/// influxd's `[http]` section with `_` for `-`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on. `":8086"` (influxd's spelling) means all
    /// interfaces. Default: `"0.0.0.0:8086"`.
    pub bind_address: String,

    /// Require credentials (influxd's `auth-enabled`). Off, credentials are
    /// ignored entirely. Default: `false`.
    pub auth_enabled: bool,

    /// Realm of the `WWW-Authenticate: Basic realm="..."` challenge sent
    /// with every 401. Default: `"InfluxDB"`.
    pub realm: String,

    /// Largest request body accepted, in bytes, checked against
    /// `Content-Length` before reading and against the decompressed body
    /// while reading (HTTP 413). 0 disables the limit. Default: `25000000`.
    pub max_body_size: u64,

    /// Serve HTTPS instead of HTTP. Default: `false`.
    pub https_enabled: bool,

    /// PEM file with the certificate chain (and the key, when
    /// `https_private_key` is empty). Default: `"/etc/ssl/influxdb.pem"`.
    pub https_certificate: PathBuf,

    /// PEM file with the private key; empty means "in
    /// `https_certificate`". Default: `""`.
    pub https_private_key: PathBuf,

    /// `X-Influxdb-Version` header and the `version` of `/ping?verbose` and
    /// `/health`. Default: `"1.12.2-tandem"` followed by this crate's version.
    pub version: String,

    /// `X-Influxdb-Build` header. Default: `"ENT"` (Enterprise).
    pub build: String,

    /// `Retry-After` sent with every 503 (rounded up to whole seconds, at
    /// least 1). Default: `"1s"`.
    #[serde(with = "tandem_model::duration")]
    pub retry_after: Duration,

    /// How long a request may take to send its headers before the
    /// connection is closed. Default: `"30s"`.
    #[serde(with = "tandem_model::duration")]
    pub header_read_timeout: Duration,

    /// On shutdown, how long open connections may finish their requests.
    /// Default: `"10s"`.
    #[serde(with = "tandem_model::duration")]
    pub shutdown_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind_address: "0.0.0.0:8086".to_owned(),
            auth_enabled: false,
            realm: "InfluxDB".to_owned(),
            max_body_size: 25_000_000,
            https_enabled: false,
            https_certificate: PathBuf::from("/etc/ssl/influxdb.pem"),
            https_private_key: PathBuf::new(),
            version: default_version(),
            build: "ENT".to_owned(),
            retry_after: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

fn default_version() -> String {
    format!("1.12.2-tandem{}", env!("CARGO_PKG_VERSION"))
}

impl HttpConfig {
    /// `Retry-After` in whole seconds.
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }

    /// `bind_address` with influxd's `":port"` form expanded.
    pub fn bind_socket_address(&self) -> String {
        if self.bind_address.starts_with(':') {
            format!("0.0.0.0{}", self.bind_address)
        } else {
            self.bind_address.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_toml() {
        let c: HttpConfig = toml::from_str("").unwrap();
        assert_eq!(c, HttpConfig::default());
        assert_eq!(c.max_body_size, 25_000_000);
        assert!(!c.auth_enabled);

        let c: HttpConfig = toml::from_str(
            "bind_address = \":9999\"\nauth_enabled = true\nmax_body_size = 0\nretry_after = \"1500ms\"\n",
        )
        .unwrap();
        assert_eq!(c.bind_socket_address(), "0.0.0.0:9999");
        assert!(c.auth_enabled);
        assert_eq!(c.max_body_size, 0);
        assert_eq!(c.retry_after_secs(), 2);
        assert!(toml::from_str::<HttpConfig>("bogus = 1").is_err());
    }
}
