//! A 25 MB write (influxd's default `max-body-size`) at replication factor 3
//! and consistency `all`: larger than tonic's default 4 MiB message limit on
//! every owner's gRPC hop, it must be stored whole on all three owners.

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use client::{Req, send};
use tandemd_http::{DevCluster, export};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_25_mb_body_lands_on_all_three_owners() {
    let cluster = DevCluster::start(3, "").await;
    let mut generator = tandem_tsbs::CpuOnly::new(1_000);
    let mut body = Vec::new();
    let mut lines = 0;
    loop {
        let before = body.len();
        generator.write_line(&mut body);
        if body.len() > 25_000_000 {
            body.truncate(before);
            break;
        }
        lines += 1;
    }
    assert!(body.len() > 24_000_000, "{} bytes", body.len());
    let r = send(cluster.http[0], &Req::post("/write?db=dev&consistency=all", body)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("X-Tandem-Consistency"),
        Some("level=all acked=3 required=3 owners=3")
    );
    for &node in &cluster.http {
        let local = export(node, "dev", "local").await.unwrap();
        assert_eq!(local.lines().count(), lines, "node {node} holds every line");
    }
}
