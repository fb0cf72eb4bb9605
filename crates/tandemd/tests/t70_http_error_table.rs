//! Every row of `docs/HTTP-ERRORS.md` that needs no fault injection,
//! replayed against real `tandemd` processes on loopback and checked for
//! status, exact body and headers (the same recipes and check as the HTTP
//! crate's in-process `t10_error_table`).
//!
//! Auth-off rows go to a three-node `tandemd dev` cluster (database `db`
//! with replication factor 3, so `X-Tandem-Consistency` says `owners=3` as
//! the table does), each row to the next node in turn. Auth rows go to a
//! one-node `tandemd` that is first started with auth off to create the
//! databases, then restarted with auth on: the rows of a cluster without
//! users run first, then the admin and `bob` are created through `/query`.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "../../http/tests/support/error_recipes.rs"]
mod error_recipes;
#[path = "../../http/tests/support/error_table.rs"]
mod error_table;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::net::SocketAddr;

use client::{Req, send};
use error_recipes::{Setup, T, recipe, write_req};
use error_table::Row;
use tandemd_http::{DevCluster, Tandemd, query_ok};

const ADMIN: &str = "&u=admin&p=admin";

/// Sends each row's request to the next of `nodes` and checks it.
async fn replay(nodes: &[SocketAddr], rows: &[(&Row, Req)], failures: &mut Vec<String>) {
    for (i, (row, req)) in rows.iter().enumerate() {
        let resp = send(nodes[i % nodes.len()], req).await;
        if let Err(e) = error_table::check(row, &resp) {
            failures.push(e);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_errors_against_real_tandemd() {
    let rows = error_table::rows();
    let mut by_setup: Vec<(Setup, &Row, Req)> = Vec::new();
    let mut faults = 0;
    let mut failures = Vec::new();
    for row in &rows {
        match recipe(&row.id) {
            None => failures.push(format!("{}: no recipe", row.id)),
            Some((setup, _)) if setup.needs_faults() => faults += 1,
            Some((setup, req)) => by_setup.push((setup, row, req)),
        }
    }
    let of = |wanted: &[Setup]| -> Vec<(&Row, Req)> {
        by_setup
            .iter()
            .filter(|(s, _, _)| wanted.contains(s))
            .map(|(_, r, q)| (*r, q.clone()))
            .collect()
    };

    // Auth off: a three-node cluster.
    let dev = DevCluster::start(3, "").await;
    let n1 = dev.http[0];
    query_ok(
        n1,
        "CREATE DATABASE db WITH REPLICATION 3; CREATE RETENTION POLICY week ON db DURATION 7d REPLICATION 3",
        "",
    )
    .await;
    dev.wait_for_database("db").await;
    let plain = of(&[Setup::Plain]);
    replay(&dev.http, &plain, &mut failures).await;
    let r = send(n1, &write_req(false, "", &format!("cpu v=1 {T}"))).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let float_registered = of(&[Setup::FloatRegistered]);
    replay(&dev.http, &float_registered, &mut failures).await;
    drop(dev);

    // Auth on: one node, databases created before auth is switched on
    // (nobody could create them while no admin exists).
    let mut node = Tandemd::start(false).await;
    query_ok(
        node.http,
        "CREATE DATABASE db; CREATE RETENTION POLICY week ON db DURATION 7d REPLICATION 1; CREATE DATABASE other",
        "",
    )
    .await;
    node.restart(true).await;
    let no_users = of(&[Setup::AuthNoUsers]);
    replay(&[node.http], &no_users, &mut failures).await;
    query_ok(
        node.http,
        "CREATE USER admin WITH PASSWORD 'admin' WITH ALL PRIVILEGES",
        "",
    )
    .await;
    query_ok(
        node.http,
        "CREATE USER bob WITH PASSWORD 'bob'; GRANT ALL ON other TO bob",
        ADMIN,
    )
    .await;
    let with_users = of(&[Setup::Auth, Setup::AuthBob]);
    replay(&[node.http], &with_users, &mut failures).await;

    let replayed = plain.len() + float_registered.len() + no_users.len() + with_users.len();
    eprintln!(
        "{replayed} of {} rows replayed against real tandemd ({faults} need faults: t10, and t75-t77 for most)",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {replayed} rows failed against real tandemd:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every row either ran here or needs faults; guard against a recipe
    // table that silently stopped producing runnable rows.
    assert_eq!(replayed + faults, rows.len());
    assert!(replayed >= 40, "only {replayed} rows replayed");
}
