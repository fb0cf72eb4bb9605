//! Every row of `docs/HTTP-ERRORS.md`, provoked over TCP against the API
//! served on loopback, checked for status, exact body and headers. The
//! recipes (`support/error_recipes.rs`) and the check
//! (`support/error_table.rs`) do not depend on the fakes, so the rows that
//! need no fault injection can be replayed against a real `tandemd`.

#[path = "support/client.rs"]
mod client;
#[path = "support/error_recipes.rs"]
mod error_recipes;
#[path = "support/error_table.rs"]
mod error_table;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::sync::atomic::Ordering;
use std::time::Duration;

use client::send;
use error_recipes::{OwnerFailure, Setup, T, recipe, write_req};
use fakes::Behaviour;
use server::{Options, TestServer};
use tandem_coordinator::hlc::Hlc;
use tandem_coordinator::ports::OwnerError;
use tandem_http::ports::Privilege;
use tandem_model::{NodeId, ShardId};

async fn server_for(setup: Setup) -> TestServer {
    // The layout of the process tests (meta voters 1-3, data nodes 4-6),
    // so rows that name nodes read the same against both.
    let mut opts = Options {
        owners: vec![4, 5, 6],
        ..Options::default()
    };
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
    let all = [4, 5, 6];
    match setup {
        Setup::AuthBob => s
            .cluster
            .add_user("bob", "bob", false, &[("other", Privilege::All)]),
        Setup::AuthDown => s.cluster.auth_down.store(true, Ordering::SeqCst),
        Setup::MetaDown => s.cluster.meta_down.store(true, Ordering::SeqCst),
        Setup::ExporterDown => s.exporter.unavailable.store(true, Ordering::SeqCst),
        Setup::OwnersFail(f) => {
            for n in all {
                let conflict = "field type conflict: input field \"v\" on measurement \"cpu\" is type float, already exists as type integer";
                let e = match f {
                    OwnerFailure::Refused => OwnerError::Unavailable(format!("node {n}: connection refused")),
                    OwnerFailure::Overloaded => OwnerError::Overloaded(NodeId(n)),
                    // What the data client makes of a type conflict that
                    // dropped some of the batch's points.
                    OwnerFailure::Partial => OwnerError::PartialWrite {
                        reason: conflict.into(),
                        dropped: 1,
                    },
                };
                s.transport.set(n, Behaviour::Fail(e));
            }
        }
        Setup::TwoOwnersDown => {
            for n in [5, 6] {
                let refused = OwnerError::Unavailable(format!("node {n}: connection refused"));
                s.transport.set(n, Behaviour::Fail(refused));
            }
        }
        Setup::OwnersSilent => s.transport.set_all(&all, Behaviour::Die),
        Setup::ShardDeleted => {
            s.cluster.delete_shard(ShardId(1));
            s.transport
                .set_all(&all, Behaviour::Fail(OwnerError::ShardDeleted(ShardId(1))));
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
            // Remove the clock's directory for good: the persister may
            // create its temporary file while a removal runs, which leaves
            // the directory in place, so remove until it is gone.
            let dir = clock_dir.take().unwrap().keep();
            for _ in 0..100 {
                if !dir.exists() {
                    break;
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
            assert!(!dir.exists(), "cannot remove {}", dir.display());
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
