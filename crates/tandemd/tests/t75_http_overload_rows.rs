//! The overload rows of `docs/HTTP-ERRORS.md` (`write.overloaded`,
//! `v2.overloaded`: 503 + `Retry-After` when the node already coordinates
//! as many body bytes as it may), provoked on real processes and checked
//! with the same recipes and check as the other rows (`t70` replays the
//! rows that need no particular state; these need a held budget).
//!
//! Deterministic, without racing writers: a write-only front-end may
//! coordinate 1 KiB of bodies at once (`max_inflight_request_bytes`); the
//! only data node is SIGSTOPped, so a first write holds that budget until
//! its `write_timeout`. The front-end's `pointReq` counter moves only once
//! that write holds the budget and has planned its points, so after it
//! moved every other write must be refused until the holder answers.

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

use std::time::Instant;

use cluster_processes::{Cluster, ClusterSpec, query_ok, request};
use error_recipes::Setup;
use error_rows::{point_req, probe, rows_for, wait_until_planned};

/// Long enough for the probes to run while the holder waits; the holder's
/// answer is awaited after the data node resumes.
const WRITE_TIMEOUT: &str = "30s";

#[test]
fn overload_rows_against_real_processes() {
    let rows = rows_for(&error_table::rows(), Setup::BudgetHeld);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["write.overloaded", "v2.overloaded"]);

    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 1,
        writers: 1,
        extra_config: format!(
            "[coordinator]\nmax_inflight_request_bytes = 1024\nwrite_timeout = \"{WRITE_TIMEOUT}\"\n"
        ),
    });
    let front = cluster.writers[0].http();
    query_ok(front, "CREATE DATABASE db; CREATE DATABASE held");
    // The budget is free: a write goes through.
    let r = request(front, "POST", "/write?db=db", b"warmup v=1").unwrap();
    assert_eq!(r.status, 204, "{}", r.text());
    let before = point_req(front).unwrap();

    cluster.data[0].pause();
    let holder = std::thread::spawn(move || {
        let started = Instant::now();
        let r = request(front, "POST", "/write?db=held", b"holder v=1");
        (r, started.elapsed())
    });
    wait_until_planned(front, before);

    let failures = probe(front, &rows);
    // Whether the holder still held the budget when the probes ended (so
    // the refusals were made while it held it).
    let held_throughout = !holder.is_finished();

    cluster.data[0].resume();
    let (held, took) = holder.join().unwrap();
    let held = held.expect("the holder's answer");
    // Resumed before its timeout the holder is stored; a slow machine may
    // have reached the timeout first.
    assert!(
        held.status == 204 || held.status == 500,
        "holder: {} {} after {took:?}",
        held.status,
        held.text()
    );
    // The budget is back.
    let r = request(front, "POST", "/write?db=db", b"after v=1").unwrap();
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(
        failures.is_empty(),
        "{} of {} overload rows failed against real processes:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert!(held_throughout, "the holder answered before the probes ended");
}
