//! Every row of `docs/HTTP-ERRORS.md`, provoked over TCP against the API
//! served on loopback, checked for status, exact body and headers.
//!
//! Each row has a recipe: the server setup it needs and the request that
//! provokes it. Recipes marked `faults` need fault injection through the
//! fakes (owners failing, meta down); the others only need a cluster with
//! database `db` (policies `autogen` and `week`) and, for auth rows, the
//! users they name, so they can be replayed against a real `tandemd` with
//! [`client::send`] and [`error_table::check`].

#[path = "support/client.rs"]
mod client;
#[path = "support/error_table.rs"]
mod error_table;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::sync::atomic::Ordering;
use std::time::Duration;

use client::{Req, gzip, send};
use fakes::Behaviour;
use server::{Options, TestServer};
use tandem_coordinator::hlc::Hlc;
use tandem_coordinator::ports::OwnerError;
use tandem_http::ports::Privilege;
use tandem_model::{NodeId, ShardId};

/// What a row needs before its request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    Plain,
    /// Auth on, admin `admin`/`admin` exists.
    Auth,
    /// Auth on, no user at all.
    AuthNoUsers,
    /// Auth on, admin plus `bob`/`bob` without privileges.
    AuthBob,
    /// Auth on, admin exists, the credential store is down.
    AuthDown,
    MetaDown,
    /// Every owner answers with this error.
    OwnersFail(OwnerFailure),
    /// Owners 2 and 3 refuse connections; owner 1 acks.
    TwoOwnersDown,
    /// No owner answers before the request's deadline. The coordinator's
    /// per-owner timeout equals `write_timeout` and races the request
    /// deadline (hanging owners give `timeout` or `write failed: node N did
    /// not answer` at random), so the owner tasks end without an answer
    /// instead, which the coordinator also reports as `timeout`.
    OwnersSilent,
    /// One unit of request budget, held by a hanging request.
    BudgetHeld,
    ShuttingDown,
    /// The clock cannot persist its high-water mark.
    BrokenClock,
    /// Shard 2 is deleted and owners say so.
    ShardDeleted,
    /// `cpu,v` is registered as float in the shard group of the request.
    FloatRegistered,
    ExporterDown,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OwnerFailure {
    Refused,
    Overloaded,
    TypeConflict,
    Partial,
}

impl Setup {
    /// Needs the fakes' fault injection (not reproducible on a healthy
    /// real cluster).
    fn needs_faults(self) -> bool {
        !matches!(
            self,
            Setup::Plain | Setup::Auth | Setup::AuthNoUsers | Setup::AuthBob | Setup::FloatRegistered
        )
    }
}

const T: i64 = 1_700_000_000_000_000_000;

fn write_req(v2: bool, query: &str, body: &str) -> Req {
    let target = if v2 {
        format!("/api/v2/write?bucket=db{query}")
    } else {
        format!("/write?db=db{query}")
    };
    Req::post(&target, body)
}

/// The setup and request of every row, by id.
fn recipe(id: &str) -> Option<(Setup, Req)> {
    let (endpoint, key) = id.split_once('.')?;
    let line = format!("cpu,host=a v=1 {T}");
    let r = match endpoint {
        "write" | "v2" => {
            let v2 = endpoint == "v2";
            let w = |q: &str, body: &str| write_req(v2, q, body);
            match key {
                "bucket-empty" => (Setup::Plain, Req::post("/api/v2/write?bucket=", line)),
                "bucket-escape" => (Setup::Plain, Req::post("/api/v2/write?bucket=db/%25zz", line)),
                "db-required" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=/rp", line)),
                "db-required" => (Setup::Plain, Req::post("/write?rp=autogen", line)),
                "precision" if v2 => (Setup::Plain, w("&precision=n", &line)),
                "precision" => (Setup::Plain, w("&precision=x", &line)),
                "consistency" => (Setup::Plain, w("&consistency=two", &line)),
                "db-not-found" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=nope", line)),
                "db-not-found" => (Setup::Plain, Req::post("/write?db=nope", line)),
                "meta-unavailable" => (Setup::MetaDown, w("", &line)),
                "no-credentials" => (Setup::Auth, w("", &line)),
                "username-required" => (
                    Setup::Auth,
                    // ":pass"
                    w("", &line).header("Authorization", "Basic OnBhc3M="),
                ),
                "auth-failed" => (Setup::Auth, w("&u=admin&p=wrong", &line)),
                "auth-unavailable" => (Setup::AuthDown, w("&u=admin&p=admin", &line)),
                "user-required" => (Setup::AuthNoUsers, w("", &line)),
                "write-forbidden" => (Setup::AuthBob, w("&u=bob&p=bob", &line)),
                "encoding" => (Setup::Plain, w("", &line).header("Content-Encoding", "br")),
                "bad-gzip" => (
                    Setup::Plain,
                    w("", "not gzip at all").header("Content-Encoding", "gzip"),
                ),
                "too-large-length" => {
                    let mut req = w("", "");
                    req.declared_length_only = Some(25_000_001);
                    (Setup::Plain, req)
                }
                "too-large-decoded" => {
                    let big = "cpu v=1 1\n".repeat(2_500_001);
                    let mut req = w("", "").header("Content-Encoding", "gzip");
                    req.body = gzip(big.as_bytes());
                    (Setup::Plain, req)
                }
                "parse" => (Setup::Plain, w("", "cpu")),
                "parse-partial" => (Setup::Plain, w("", &format!("{line}\ncpu"))),
                "time-field" => (Setup::Plain, w("", &format!("cpu time=1 {T}"))),
                "type-conflict" => (Setup::FloatRegistered, w("", &format!("cpu v=1i {T}"))),
                "owner-type-conflict" => (Setup::OwnersFail(OwnerFailure::TypeConflict), w("", &line)),
                "owner-partial" => (Setup::OwnersFail(OwnerFailure::Partial), w("", &line)),
                "shard-deleted" => (Setup::ShardDeleted, w("", &line)),
                "rp-not-found" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=db/nope", line)),
                "rp-not-found" => (Setup::Plain, w("&rp=nope", &line)),
                "consistency-partial" => (Setup::TwoOwnersDown, w("&consistency=quorum", &line)),
                "consistency-failed" => (Setup::OwnersFail(OwnerFailure::Refused), w("", &line)),
                "consistency-timeout" => (Setup::OwnersSilent, w("&consistency=all", &line)),
                "consistency-overloaded" => (
                    Setup::OwnersFail(OwnerFailure::Overloaded),
                    w("&consistency=all", &line),
                ),
                "overloaded" => (Setup::BudgetHeld, w("", &line)),
                "shutting-down" => (Setup::ShuttingDown, w("", &line)),
                "internal" => (Setup::BrokenClock, w("", &line)),
                _ => return None,
            }
        }
        "query" => match key {
            "missing-q" => (Setup::Plain, Req::post("/query", "")),
            "parse" => (Setup::Plain, Req::get("/query?q=FOO")),
            "unsupported" => (Setup::Plain, Req::get("/query?q=SELECT+*+FROM+cpu")),
            "unsupported-show" => (Setup::Plain, Req::get("/query?q=SHOW+MEASUREMENTS")),
            "no-credentials" => (Setup::Auth, Req::get("/query?q=SHOW+DATABASES")),
            "auth-failed" => (Setup::Auth, Req::get("/query?q=SHOW+DATABASES&u=admin&p=wrong")),
            "no-admin-yet" => (Setup::AuthNoUsers, Req::get("/query?q=SHOW+DATABASES")),
            "forbidden" => (
                Setup::AuthBob,
                Req::post("/query?q=CREATE+DATABASE+x&u=bob&p=bob", ""),
            ),
            _ => return None,
        },
        "export" => match key {
            "db-required" => (Setup::Plain, Req::get("/export")),
            "bad-scope" => (Setup::Plain, Req::get("/export?db=db&scope=all")),
            "bad-start" => (Setup::Plain, Req::get("/export?db=db&start=yesterday")),
            "db-not-found" => (Setup::Plain, Req::get("/export?db=nope")),
            "rp-not-found" => (Setup::Plain, Req::get("/export?db=db&rp=nope")),
            "no-credentials" => (Setup::Auth, Req::get("/export?db=db")),
            "read-user-required" => (Setup::AuthNoUsers, Req::get("/export?db=db")),
            "read-forbidden" => (Setup::AuthBob, Req::get("/export?db=db&u=bob&p=bob")),
            "unavailable" => (Setup::ExporterDown, Req::get("/export?db=db")),
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}

async fn server_for(setup: Setup) -> TestServer {
    let mut opts = Options::default();
    let auth = matches!(
        setup,
        Setup::Auth | Setup::AuthNoUsers | Setup::AuthBob | Setup::AuthDown
    );
    opts.http.auth_enabled = auth;
    let mut clock_dir = None;
    match setup {
        Setup::BudgetHeld => {
            opts.coordinator.max_inflight_request_bytes = 1024;
            opts.coordinator.write_timeout = Duration::from_secs(5);
        }
        Setup::BrokenClock => {
            let dir = tempfile::tempdir().unwrap();
            let hlc = Hlc::open(NodeId(1), &dir.path().join("clock"), Duration::from_millis(20))
                .await
                .unwrap();
            opts.hlc = Some(hlc);
            clock_dir = Some(dir);
        }
        _ => {}
    }
    let s = TestServer::start(opts).await;
    if matches!(setup, Setup::Auth | Setup::AuthBob | Setup::AuthDown) {
        s.cluster.add_user("admin", "admin", true, &[]);
    }
    let all = [1, 2, 3];
    match setup {
        Setup::AuthBob => s
            .cluster
            .add_user("bob", "bob", false, &[("other", Privilege::All)]),
        Setup::AuthDown => s.cluster.auth_down.store(true, Ordering::SeqCst),
        Setup::MetaDown => s.cluster.meta_down.store(true, Ordering::SeqCst),
        Setup::ExporterDown => s.exporter.unavailable.store(true, Ordering::SeqCst),
        Setup::OwnersFail(f) => {
            for n in all {
                let e = match f {
                    OwnerFailure::Refused => OwnerError::Unavailable("connection refused".into()),
                    OwnerFailure::Overloaded => OwnerError::Overloaded(NodeId(n)),
                    OwnerFailure::TypeConflict => OwnerError::FieldTypeConflict(
                        "field type conflict: input field \"v\" on measurement \"cpu\" is type integer, already exists as type float".into(),
                    ),
                    OwnerFailure::Partial => OwnerError::PartialWrite {
                        reason: "max-values-per-tag limit exceeded".into(),
                        dropped: 1,
                    },
                };
                s.transport.set(n, Behaviour::Fail(e));
            }
        }
        Setup::TwoOwnersDown => {
            let refused = Behaviour::Fail(OwnerError::Unavailable("connection refused".into()));
            s.transport.set_all(&[2, 3], refused);
        }
        Setup::OwnersSilent => s.transport.set_all(&all, Behaviour::Die),
        Setup::ShardDeleted => {
            s.cluster.delete_shard(ShardId(2));
            s.transport
                .set_all(&all, Behaviour::Fail(OwnerError::ShardDeleted(ShardId(2))));
        }
        Setup::FloatRegistered => {
            let r = send(s.addr, &write_req(false, "", &format!("cpu v=1 {T}"))).await;
            assert_eq!(r.status, 204, "{}", r.text());
        }
        Setup::ShuttingDown => {
            assert!(s.coordinator.shutdown(Duration::from_secs(1)).await);
        }
        Setup::BudgetHeld => {
            s.transport.set_all(&all, Behaviour::Hang);
            let addr = s.addr;
            tokio::spawn(async move {
                let _ = send(addr, &write_req(false, "", &format!("cpu v=1 {T}"))).await;
            });
            // Let the holder reach the coordinator.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Setup::BrokenClock => {
            drop(clock_dir.take());
            // The persister notices within a window; the wall clock then
            // passes the last durable mark.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        _ => {}
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_error_over_tcp() {
    let rows = error_table::rows();
    assert!(rows.len() > 70, "only {} rows", rows.len());
    let mut failures = Vec::new();
    let mut with_faults = 0;
    for row in &rows {
        let Some((setup, req)) = recipe(&row.id) else {
            failures.push(format!("{}: no recipe", row.id));
            continue;
        };
        if setup.needs_faults() {
            with_faults += 1;
        }
        let server = server_for(setup).await;
        let resp = server.send(&req).await;
        if let Err(e) = error_table::check(row, &resp) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guard against a table that silently lost its fault rows.
    assert!(with_faults > 20, "{with_faults} rows with faults");
}

/// The writes that a 400 reports as partial did store their valid points.
#[tokio::test]
async fn partial_writes_store_the_valid_points() {
    let s = TestServer::default().await;
    let body = format!("cpu,host=a v=1 {T}\ncpu\ncpu,host=b v=2 {T}\nmem time=1 {T}");
    let r = s.send(&write_req(false, "", &body)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["error"],
        "partial write: invalid field name: input field \"time\" on measurement \"mem\" is invalid dropped=1"
    );
    s.settle().await;
    let mut keys: Vec<String> = s.transport.stored(1).into_iter().map(|p| p.0).collect();
    keys.sort();
    assert_eq!(keys, ["cpu,host=a", "cpu,host=b"]);
}
