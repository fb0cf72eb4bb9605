//! The consistency rows of `docs/HTTP-ERRORS.md` that a healthy process
//! cluster can be brought into, provoked on real processes and checked with
//! the same recipes and check as every other row:
//!
//! - `OwnersSilent` (`write.consistency-timeout`, `v2.consistency-timeout`):
//!   all three owners SIGSTOPped, `consistency=all` → 500 `timeout`,
//!   `acked=0 required=3`;
//! - `TwoOwnersDown` (`write.consistency-partial`, `v2.consistency-partial`):
//!   two of three owners SIGKILLed, `consistency=quorum` → 500
//!   `partial write`, `acked=1 required=2`.
//!
//! The other fault rows run in t75, t77 and t78 (`tandem-http`
//! `t10_error_table` also runs every row in-process).

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

use cluster_processes::{Cluster, ClusterSpec, query_ok, write};
use error_recipes::{Setup, T};
use error_rows::{probe, rows_for};
use error_table::Row;

/// Short, so the silent-owner probes answer quickly.
const WRITE_TIMEOUT: &str = "2s";

#[test]
fn consistency_rows_against_real_processes() {
    let rows = error_table::rows();
    let silent = rows_for(&rows, Setup::OwnersSilent);
    let two_down = rows_for(&rows, Setup::TwoOwnersDown);
    let ids = |rs: &[Row]| rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&silent),
        ["write.consistency-timeout", "v2.consistency-timeout"]
    );
    assert_eq!(
        ids(&two_down),
        ["write.consistency-partial", "v2.consistency-partial"]
    );

    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 3,
        writers: 1,
        extra_config: format!("[coordinator]\nwrite_timeout = \"{WRITE_TIMEOUT}\"\n"),
    });
    let front = cluster.writers[0].http();
    query_ok(front, "CREATE DATABASE db WITH REPLICATION 3");
    // The recipes write at T: its shard group exists before owners fail.
    let r = write(front, "db", "all", &format!("warmup v=0i {T}"));
    assert_eq!(r.status, 204, "warm-up: {}", r.text());

    let mut failures = Vec::new();
    for d in &mut cluster.data {
        d.pause();
    }
    failures.extend(probe(front, &silent));
    for d in &mut cluster.data {
        d.resume();
    }

    cluster.data[1].kill();
    cluster.data[2].kill();
    failures.extend(probe(front, &two_down));

    assert!(
        failures.is_empty(),
        "{} of {} consistency rows failed against real processes:\n{}",
        failures.len(),
        silent.len() + two_down.len(),
        failures.join("\n")
    );
}
