//! Replaying rows of `docs/HTTP-ERRORS.md` against real processes: the
//! rows of one setup, and each row's request checked against its row. A
//! test using it declares `client`, `error_recipes` and `error_table` (the
//! HTTP crate's test support) at its root.

#![allow(dead_code)]

use std::net::SocketAddr;

use super::cluster_processes::request;
use super::error_recipes::{Setup, recipe};
use super::error_table::{self, Row};

/// The rows whose recipe needs `setup`, in table order.
pub fn rows_for(rows: &[Row], setup: Setup) -> Vec<Row> {
    rows.iter()
        .filter(|r| recipe(&r.id).is_some_and(|(s, _)| s == setup))
        .cloned()
        .collect()
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
