//! The real influxd 1.x (Debian package `influxdb`) as a reference server:
//! started with a temp config (HTTP and RPC on free loopback ports, meta,
//! data and WAL in a temp dir, reporting and background services off),
//! killed on drop. Also reads back what it stored, as canonical cells.

#![allow(dead_code, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::client::{Req, try_send};
use super::raw_json::{self, Json};
use super::stored_points::{Cell, Value};
use super::tandemd_http::{free_ports, url_encode};

/// Where influxd is: `TANDEM_TEST_INFLUXD`, else `influxd` on the `PATH`.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANDEM_TEST_INFLUXD") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("influxd"))
        .find(|p| p.is_file())
}

pub struct Influxd {
    pub http: SocketAddr,
    pub version: String,
    child: Child,
    dir: TempDir,
}

impl Influxd {
    pub async fn start(bin: &std::path::Path) -> Influxd {
        let dir = tempfile::tempdir().unwrap();
        let p = free_ports(2);
        let d = dir.path().display();
        let config = format!(
            r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"

[meta]
  dir = "{d}/meta"
  logging-enabled = false

[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  index-version = "inmem"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http}"
  auth-enabled = false
  log-enabled = false
  max-row-limit = 0

[logging]
  level = "warn"

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"#,
            rpc = p[1],
            http = p[0],
        );
        let path = dir.path().join("influxd.conf");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("influxd.log")).unwrap();
        let mut child = Command::new(bin)
            .arg("run")
            .arg("-config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn influxd");
        let http = SocketAddr::from(([127, 0, 0, 1], p[0]));
        let start = Instant::now();
        let version = loop {
            if let Ok(r) = try_send(http, &Req::get("/ping"), Duration::from_secs(5)).await
                && r.status == 204
            {
                break r.header("X-Influxdb-Version").unwrap_or_default().to_owned();
            }
            let log = || std::fs::read_to_string(dir.path().join("influxd.log")).unwrap_or_default();
            if let Some(status) = child.try_wait().unwrap() {
                panic!("influxd exited ({status}):\n{}", log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "influxd did not answer /ping:\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Influxd {
            http,
            version,
            child,
            dir,
        }
    }

    /// Everything database `db` stores, as sorted cells.
    pub async fn stored(&self, db: &str) -> Result<Vec<Cell>, String> {
        let types = self.field_types(db).await?;
        let q = self.query(db, "SELECT * FROM /.*/ GROUP BY *").await?;
        let mut cells = Vec::new();
        for series in statement_series(&q)? {
            let name = series.get("name").and_then(Json::as_str).unwrap_or_default();
            let tags: BTreeMap<String, String> = match series.get("tags") {
                Some(Json::Object(m)) => m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    // GROUP BY * lists every tag key of the measurement,
                    // empty for series without it.
                    .filter(|(_, v)| !v.is_empty())
                    .collect(),
                _ => BTreeMap::new(),
            };
            let columns: Vec<&str> = series
                .get("columns")
                .map(|c| c.as_array().iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            for row in series.get("values").map(Json::as_array).unwrap_or_default() {
                let row = row.as_array();
                let time = match row.first() {
                    Some(Json::Number(t)) => t.parse::<i64>().map_err(|e| format!("time {t}: {e}"))?,
                    other => return Err(format!("row without time: {other:?}")),
                };
                for (col, v) in columns.iter().zip(row).skip(1) {
                    if *v == Json::Null {
                        continue;
                    }
                    let known = types.get(&(name.to_owned(), (*col).to_owned()));
                    cells.push(Cell {
                        measurement: name.to_owned(),
                        tags: tags.clone(),
                        field: (*col).to_owned(),
                        time,
                        value: typed(v, known.map(Vec::as_slice).unwrap_or_default())?,
                    });
                }
            }
        }
        cells.sort();
        Ok(cells)
    }

    /// (measurement, field) → the types `SHOW FIELD KEYS` lists (one per
    /// shard that disagrees).
    async fn field_types(&self, db: &str) -> Result<BTreeMap<(String, String), Vec<String>>, String> {
        let q = self.query(db, "SHOW FIELD KEYS").await?;
        let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for series in statement_series(&q)? {
            let name = series.get("name").and_then(Json::as_str).unwrap_or_default();
            for row in series.get("values").map(Json::as_array).unwrap_or_default() {
                if let [Json::String(field), Json::String(ty)] = row.as_array() {
                    out.entry((name.to_owned(), field.clone()))
                        .or_default()
                        .push(ty.clone());
                }
            }
        }
        Ok(out)
    }

    async fn query(&self, db: &str, q: &str) -> Result<Json, String> {
        let target = format!("/query?db={}&epoch=ns&q={}", url_encode(db), url_encode(q));
        let r = try_send(self.http, &Req::get(&target), Duration::from_secs(60)).await?;
        if r.status != 200 {
            return Err(format!("influxd {q}: {} {}", r.status, r.text()));
        }
        raw_json::parse(&r.text())
    }
}

/// The series of the first statement of a `/query` answer.
fn statement_series(answer: &Json) -> Result<Vec<Json>, String> {
    let first = answer
        .get("results")
        .and_then(|r| r.as_array().first().cloned())
        .ok_or("no results")?;
    if let Some(e) = first.get("error") {
        return Err(format!("influxd query error: {e:?}"));
    }
    Ok(first
        .get("series")
        .map(|s| s.as_array().to_vec())
        .unwrap_or_default())
}

/// A JSON value as the stored type: strings and booleans by their form, a
/// number with `.` or an exponent is a float, an integral number takes the
/// numeric type `SHOW FIELD KEYS` lists (integer when it lists none; the
/// cases never give one field two numeric types, which influxd's queries
/// could not show apart).
fn typed(v: &Json, types: &[String]) -> Result<Value, String> {
    let listed = |t: &str| types.iter().any(|x| x == t);
    let ty = match v {
        Json::Bool(_) => "boolean",
        Json::String(_) => "string",
        Json::Number(n) if n.contains(['.', 'e', 'E']) => "float",
        Json::Number(_) if listed("float") && !listed("integer") => "float",
        Json::Number(_) if listed("unsigned") && !listed("integer") => "unsigned",
        _ => "integer",
    };
    Ok(match (ty, v) {
        ("float", Json::Number(n)) => Value::float(n.parse().map_err(|e| format!("float {n}: {e}"))?),
        ("integer", Json::Number(n)) => Value::Integer(n.parse().map_err(|e| format!("integer {n}: {e}"))?),
        ("unsigned", Json::Number(n)) => {
            Value::Unsigned(n.parse().map_err(|e| format!("unsigned {n}: {e}"))?)
        }
        ("boolean", Json::Bool(b)) => Value::Boolean(*b),
        ("string", Json::String(s)) => Value::String(s.clone()),
        _ => return Err(format!("value {v:?} of type {ty}")),
    })
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("influxd.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- influxd log (tail) ---\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
    }
}
