//! `/metrics` of a real cluster carries the per-owner write results and the
//! clock offset to the meta leader.

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::time::{Duration, Instant};

use client::{Req, send};
use tandemd_http::DevCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_results_and_clock_offset_are_exported() {
    let cluster = DevCluster::start(3, "").await;
    let r = send(
        cluster.http[0],
        &Req::post("/write?db=dev&consistency=all", "m v=1 1700000000000000000"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(30);
    for http in &cluster.http[1..] {
        // Whichever meta node a probe reaches first, the offset is the
        // leader's.
        loop {
            let text = send(*http, &Req::get("/metrics")).await.text();
            if text
                .lines()
                .any(|l| l.starts_with("tandem_meta_clock_offset_seconds{") && l.contains("leader=\"true\""))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{http}: no clock offset to the leader:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    loop {
        let text = send(cluster.http[0], &Req::get("/metrics")).await.text();
        let acks: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("tandem_owner_writes_total{") && l.contains("result=\"ack\""))
            .collect();
        let offset = text.lines().find(|l| {
            l.starts_with("tandem_meta_clock_offset_seconds{meta_node=") && l.contains("leader=\"true\"")
        });
        if let (3, Some(offset)) = (acks.len(), offset) {
            // One ack from each owner, the offset a small number of seconds.
            for a in acks {
                assert!(a.ends_with(" 1"), "{a}");
            }
            let value: f64 = offset.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(value.abs() < 1.0, "loopback clocks agree: {value}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never showed owner results and clock offset:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
