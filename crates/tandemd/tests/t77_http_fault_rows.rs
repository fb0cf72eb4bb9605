//! The fault rows of `docs/HTTP-ERRORS.md` that real processes can be
//! brought into, provoked on them and checked with the same recipes and
//! check as every other row (t70 replays the rows of a healthy cluster,
//! t75 the held request budget, t76 silent and dead owners at quorum/all):
//!
//! - `OwnersFail(Overloaded)`: the per-node byte budget towards every
//!   owner is held by a write to SIGSTOPped owners, so a `consistency=all`
//!   write reserves nothing anywhere → 503, `owners overloaded`;
//! - `MetaDown`: every meta node SIGKILLed, a write that needs a new shard
//!   group → 503 `no meta node reachable`;
//! - `OwnersFail(Refused)`: every data node SIGKILLed → 500 `write failed:
//!   node 4: connection refused` (two requests, below the breaker's
//!   threshold of three failures);
//! - `ExporterDown`: the same, `GET /export` → 503 naming every owner;
//! - `BrokenClock`: a directory where the write node's clock writes its
//!   temporary high-water-mark file → 500;
//! - `AuthDown` (a second cluster, auth on): every meta node SIGKILLed, a
//!   user this node has not seen → 503.
//!
//! It also checks that every fault row of the table is run against
//! processes by this test or by t75, t76 or t78.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/cluster_processes.rs"]
mod cluster_processes;
#[path = "../../http/tests/support/error_recipes.rs"]
mod error_recipes;
#[path = "support/error_rows.rs"]
mod error_rows;
#[path = "../../http/tests/support/error_table.rs"]
mod error_table;

use std::time::Duration;

use cluster_processes::{Cluster, ClusterSpec, query_ok, request, wait_for, write};
use error_recipes::{OwnerFailure, Setup, T, recipe};
use error_rows::{expect_rows, hold_write_on_paused_owners, probe};

/// Long, so the write holding the node budgets outlives the probes.
const WRITE_TIMEOUT: &str = "30s";

#[test]
fn fault_rows_against_real_processes() {
    let rows = error_table::rows();
    let overloaded = expect_rows(
        &rows,
        Setup::OwnersFail(OwnerFailure::Overloaded),
        &["write.consistency-overloaded", "v2.consistency-overloaded"],
    );
    let meta_down = expect_rows(
        &rows,
        Setup::MetaDown,
        &["write.meta-unavailable", "v2.meta-unavailable"],
    );
    let refused = expect_rows(
        &rows,
        Setup::OwnersFail(OwnerFailure::Refused),
        &["write.consistency-failed", "v2.consistency-failed"],
    );
    let exporter_down = expect_rows(&rows, Setup::ExporterDown, &["export.unavailable"]);
    let clock = expect_rows(&rows, Setup::BrokenClock, &["write.internal", "v2.internal"]);
    let auth_down = expect_rows(
        &rows,
        Setup::AuthDown,
        &["write.auth-unavailable", "v2.auth-unavailable"],
    );
    let mut failures = Vec::new();

    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 3,
        writers: 1,
        extra_config: format!(
            "[coordinator]\nwrite_timeout = \"{WRITE_TIMEOUT}\"\nmax_inflight_bytes_per_node = 1024\nclock_persist_window = \"200ms\"\n"
        ),
    });
    let front = cluster.writers[0].http();
    query_ok(
        front,
        "CREATE DATABASE db WITH REPLICATION 3; CREATE DATABASE held WITH REPLICATION 3",
    );
    // The recipes write at T: its shard group (shard 1, owned by nodes
    // 4-6) exists before anything fails.
    for db in ["db", "held"] {
        let r = write(front, db, "all", &format!("warmup v=0i {T}"));
        assert_eq!(r.status, 204, "warm-up of {db}: {}", r.text());
    }

    // Overloaded owners: a write to the paused owners holds every node's
    // 1 KiB budget until they resume.
    let holder = hold_write_on_paused_owners(&mut cluster, front, "held");
    failures.extend(probe(front, &overloaded));
    let held_throughout = !holder.is_finished();
    for d in &mut cluster.data {
        d.resume();
    }
    let held = holder.join().unwrap();
    assert_eq!(held.status, 204, "holder: {}", held.text());
    assert!(held_throughout, "the holder answered before the probes ended");

    // The meta service down: a write to a new shard group cannot be planned.
    for m in &mut cluster.metas {
        m.kill();
    }
    failures.extend(probe(front, &meta_down));
    for m in &mut cluster.metas {
        m.restart();
    }
    wait_for(
        Duration::from_secs(60),
        "writes after the meta service returned",
        || {
            let r = write(front, "db", "one", &format!("back v=1i {T}"));
            if r.status == 204 { Ok(()) } else { Err(r.text()) }
        },
    );

    // Every owner's port closed.
    for d in &mut cluster.data {
        d.kill();
    }
    failures.extend(probe(front, &refused));
    failures.extend(probe(front, &exporter_down));

    // The clock cannot persist its high-water mark: it writes a temporary
    // file next to the mark, and a directory stands in its way. The
    // persister notices within a window, then stamps fail once the wall
    // clock passes the last durable mark.
    std::fs::create_dir(cluster.writers[0].dir.join("hlc.tmp")).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    failures.extend(probe(front, &clock));
    drop(cluster);

    // Auth on: a user this node has never seen must be looked up, and no
    // meta node answers.
    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 1,
        writers: 1,
        // Keys before a header land in the `[http]` section.
        extra_config: "auth_enabled = true\n".into(),
    });
    let front = cluster.writers[0].http();
    query_ok(
        front,
        "CREATE USER admin WITH PASSWORD 'admin' WITH ALL PRIVILEGES",
    );
    let r = request(front, "POST", "/query?u=admin&p=admin&q=CREATE+DATABASE+db", b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // Same measurement and field each time: a new field would have to be
    // registered with the meta service.
    let admin_write = |host: &str| {
        let body = format!("warmup,host={host} v=1i {T}");
        request(front, "POST", "/write?db=db&u=admin&p=admin", body.as_bytes()).unwrap()
    };
    let r = admin_write("a");
    assert_eq!(r.status, 204, "{}", r.text());
    for m in &mut cluster.metas {
        m.kill();
    }
    failures.extend(probe(front, &auth_down));
    // A user this node has seen is still let in from its copy, and the
    // write needs nothing else from the meta service.
    let r = admin_write("b");
    assert_eq!(r.status, 204, "admin with the meta service down: {}", r.text());

    assert!(
        failures.is_empty(),
        "{} fault rows failed against real processes:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every fault row runs against processes somewhere: here, or in t75,
    // t76 or t78.
    let here = [
        &overloaded,
        &meta_down,
        &refused,
        &exporter_down,
        &clock,
        &auth_down,
    ];
    let elsewhere = [
        Setup::BudgetHeld,
        Setup::OwnersSilent,
        Setup::TwoOwnersDown,
        Setup::OwnersFail(OwnerFailure::Partial),
        Setup::ShardDeleted,
        Setup::ShuttingDown,
    ];
    let left: Vec<&str> = rows
        .iter()
        .filter(|r| {
            let (setup, _) = recipe(&r.id).unwrap();
            setup.needs_faults()
                && !elsewhere.contains(&setup)
                && !here.iter().any(|rs| rs.iter().any(|x| x.id == r.id))
        })
        .map(|r| r.id.as_str())
        .collect();
    assert!(left.is_empty(), "run nowhere against processes: {left:?}");
}
