//! The last fault rows of `docs/HTTP-ERRORS.md`, provoked on real
//! processes with the same recipes and check as every other row:
//!
//! - `OwnersFail(Partial)`: the owners' copy of shard 1 already holds
//!   `cpu,v` as an integer, written to them straight through the data
//!   service (with the cluster secret). The cluster registry has not seen
//!   the field, so the coordinator lets a float through and every owner
//!   drops it →
//!   400 `partial write: field type conflict ... dropped=1`;
//! - `ShardDeleted`: `DeleteShard` sent to every owner while the metadata
//!   still lists the shard; the coordinator refreshes, retries once and
//!   reports the shard as pending deletion;
//! - `ShuttingDown`: two requests whose bodies are still arriving when the
//!   write node gets SIGTERM. Its HTTP server stops waiting for them after
//!   `[http] shutdown_timeout`; the coordinator then waits for an owner
//!   write held by paused owners, and the requests, completed in that
//!   window, meet a draining coordinator → 503.

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

use std::net::SocketAddr;
use std::time::Duration;

use client::HalfSent;
use cluster_processes::{Cluster, ClusterSpec, SECRET, export, query_ok, wait_for, write};
use error_recipes::{OwnerFailure, Setup, T, recipe};
use error_rows::{expect_rows, hold_write_on_paused_owners, probe};
use error_table::Row;
use tandem_model::{FieldValueRef, NodeId, PointsBufBuilder, Version};
use tandem_proto::WIRE_VERSION;
use tandem_proto::auth::ClusterSecret;
use tandem_proto::data::data_service_client::DataServiceClient;
use tandem_proto::data::{DeleteShardRequest, WriteShardRequest};

/// Shard 1: the shard group of database `db` at [`T`], created first.
const SHARD: u64 = 1;

/// A data-service client for `addr` that presents the cluster secret.
async fn data_client(
    addr: SocketAddr,
) -> DataServiceClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        tandem_proto::auth::AttachSecret,
    >,
> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|e| panic!("data service at {addr}: {e}"));
    let secret = ClusterSecret::new(SECRET).unwrap();
    DataServiceClient::with_interceptor(channel, secret.attach())
}

/// Writes `cpu,host=a v=5i` at `T - 1` into shard 1 of every data node,
/// bypassing the coordinator and its registry.
async fn plant_integer(data: &[SocketAddr]) {
    let series = b"cpu,host=a";
    let mut b = PointsBufBuilder::new();
    b.push(
        series,
        tandem_lineproto::fnv64a(series),
        T - 1,
        [(&b"v"[..], FieldValueRef::Integer(5))],
    );
    let points = b.finish();
    for &addr in data {
        let resp = data_client(addr)
            .await
            .write_shard(WriteShardRequest {
                wire_version: WIRE_VERSION,
                shard_id: SHARD,
                meta_version: 0,
                version: Some(Version::new(1, NodeId(99), 0).into()),
                points: points.as_bytes().to_vec().into(),
            })
            .await
            .unwrap_or_else(|s| panic!("WriteShard to {addr}: {s}"))
            .into_inner();
        assert!(resp.error.is_none(), "WriteShard to {addr}: {:?}", resp.error);
        assert_eq!(resp.written, 1, "WriteShard to {addr}");
    }
}

async fn delete_shard(data: &[SocketAddr]) {
    for &addr in data {
        data_client(addr)
            .await
            .delete_shard(DeleteShardRequest {
                wire_version: WIRE_VERSION,
                shard_id: SHARD,
            })
            .await
            .unwrap_or_else(|s| panic!("DeleteShard to {addr}: {s}"));
    }
}

#[test]
fn owner_rows_against_real_processes() {
    let rows = error_table::rows();
    let partial = expect_rows(
        &rows,
        Setup::OwnersFail(OwnerFailure::Partial),
        &["write.owner-partial", "v2.owner-partial"],
    );
    let deleted = expect_rows(
        &rows,
        Setup::ShardDeleted,
        &["write.shard-deleted", "v2.shard-deleted"],
    );
    let draining = expect_rows(
        &rows,
        Setup::ShuttingDown,
        &["write.shutting-down", "v2.shutting-down"],
    );
    let mut failures = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut cluster = Cluster::start(&ClusterSpec {
        data_nodes: 3,
        writers: 1,
        // Keys before a header land in the `[http]` section.
        extra_config: "shutdown_timeout = \"1s\"\n\n[coordinator]\nwrite_timeout = \"30s\"\n".into(),
    });
    let front = cluster.writers[0].http();
    let data: Vec<SocketAddr> = cluster.data.iter().map(|d| d.data.unwrap()).collect();
    query_ok(
        front,
        "CREATE DATABASE db WITH REPLICATION 3; CREATE DATABASE held WITH REPLICATION 3",
    );
    // `db` first, so its group at T holds shard 1 on nodes 4-6.
    for db in ["db", "held"] {
        let r = write(front, db, "all", &format!("warmup v=0i {T}"));
        assert_eq!(r.status, 204, "warm-up of {db}: {}", r.text());
    }

    // The owners hold an integer the registry does not know about.
    runtime.block_on(plant_integer(&data));
    failures.extend(probe(front, &partial));
    // Every owner kept its integer and dropped the floats.
    for d in &cluster.data {
        let local = export(d.http(), "db", "local").expect("local export");
        let cpu: Vec<&str> = local.lines().filter(|l| l.starts_with("cpu")).collect();
        assert_eq!(cpu, [format!("cpu,host=a v=5i {}", T - 1)], "node {}", d.id);
    }

    // The shard goes away on its owners; the metadata still lists it.
    runtime.block_on(delete_shard(&data));
    failures.extend(probe(front, &deleted));

    // A write to the paused owners keeps the coordinator busy after its
    // HTTP server gave up on open connections.
    let holder = hold_write_on_paused_owners(&mut cluster, front, "held");
    let half_sent: Vec<(Row, HalfSent)> = draining
        .iter()
        .map(|row| {
            let (_, req) = recipe(&row.id).unwrap();
            let h = HalfSent::start(front, &req, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{}: {e}", row.id));
            (row.clone(), h)
        })
        .collect();
    // Let the server read the headers before the signal.
    std::thread::sleep(Duration::from_millis(300));
    cluster.writers[0].terminate();
    // The HTTP server gives up on open connections after 1 s and says so;
    // right after, the coordinator starts draining and waits for the held
    // owner write (up to 45 s).
    wait_for(
        Duration::from_secs(30),
        "the HTTP server to give up on open connections",
        || {
            let log = cluster.writers[0].log();
            if log.contains("HTTP connections still open after the shutdown timeout") {
                Ok(())
            } else {
                Err(log.lines().last().unwrap_or_default().to_owned())
            }
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cluster.writers[0].is_running() && cluster.writers[0].wait_exit(Duration::ZERO).is_none(),
        "the write node exited before the drained requests completed"
    );
    for (row, h) in half_sent {
        match h.finish() {
            Ok(resp) => failures.extend(error_table::check(&row, &resp).err()),
            Err(e) => failures.push(format!("{}: {e}", row.id)),
        }
    }
    for d in &mut cluster.data {
        d.resume();
    }
    // The holder's answer may be lost: the node can finish its shutdown
    // before writing it (its thread then panics on the cut connection).
    let _ = holder.join();
    let status = cluster.writers[0].wait_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "write node after SIGTERM: {status:?}\n{}",
        cluster.writers[0].log()
    );

    assert!(
        failures.is_empty(),
        "{} owner rows failed against real processes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
