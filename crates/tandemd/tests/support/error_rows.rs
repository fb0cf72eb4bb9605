//! Replaying rows of `docs/HTTP-ERRORS.md` against real processes: the
//! rows of one setup, and each row's request checked against its row. A
//! test using it declares `client`, `error_recipes` and `error_table` (the
//! HTTP crate's test support) at its root.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use super::cluster_processes::{Cluster, Resp, request, wait_for, write};
use super::error_recipes::{Setup, T, recipe};
use super::error_table::{self, Row};

/// The rows whose recipe needs `setup`, in table order.
pub fn rows_for(rows: &[Row], setup: Setup) -> Vec<Row> {
    rows.iter()
        .filter(|r| recipe(&r.id).is_some_and(|(s, _)| s == setup))
        .cloned()
        .collect()
}

/// [`rows_for`], asserting the ids, so a recipe that moves to another
/// setup is noticed.
pub fn expect_rows(rows: &[Row], setup: Setup, ids: &[&str]) -> Vec<Row> {
    let found = rows_for(rows, setup);
    let found_ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(found_ids, ids, "rows of {setup:?}");
    found
}

/// SIGSTOPs every data node, then sends a `consistency=all` write to `db`
/// through `front` from another thread. Returns once the front-end has
/// planned it: from then on the write holds its request and node budgets
/// and its owner tasks until the data nodes resume.
pub fn hold_write_on_paused_owners(cluster: &mut Cluster, front: SocketAddr, db: &str) -> JoinHandle<Resp> {
    let before = point_req(front).unwrap();
    for d in &mut cluster.data {
        d.pause();
    }
    let db = db.to_owned();
    let holder = std::thread::spawn(move || write(front, &db, "all", &format!("holder v=1i {T}")));
    wait_until_planned(front, before);
    holder
}

/// Waits until `front` has planned a write since its `write.pointReq`
/// counter read `before`.
pub fn wait_until_planned(front: SocketAddr, before: u64) {
    wait_for(
        Duration::from_secs(30),
        "the holding write planned",
        || match point_req(front) {
            Ok(n) if n > before => Ok(()),
            other => Err(other),
        },
    );
}

/// Sends each row's request to `addr`; the failed checks.
pub fn probe(addr: SocketAddr, rows: &[Row]) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rows.iter()
        .filter_map(|row| {
            let (_, req) = recipe(&row.id).unwrap();
            let resp = runtime.block_on(super::client::send(addr, &req));
            error_table::check(row, &resp).err()
        })
        .collect()
}

/// The front-end's `write.pointReq` counter (`/debug/vars`): it moves once
/// a write has planned its points.
pub fn point_req(front: SocketAddr) -> Result<u64, String> {
    let r = request(front, "GET", "/debug/vars", b"").map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    v["write"]["values"]["pointReq"]
        .as_u64()
        .ok_or_else(|| format!("no write.pointReq in {}", r.text()))
}
