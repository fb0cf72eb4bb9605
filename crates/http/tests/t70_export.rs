//! `/export` over TCP: parameters reach the exporter, points stream back as
//! chunked line protocol, and an error mid-stream cuts the body short.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::sync::atomic::Ordering;

use client::Req;
use server::TestServer;
use tandem_http::ports::{ExportRequest, ExportScope};

#[tokio::test]
async fn writes_read_back_through_export() {
    let s = TestServer::default().await;
    let body = "cpu,host=a v=1 10\ncpu,host=b w=2i 20\nmem s=\"x\",b=true 30\n";
    let r = s.send(&Req::post("/write?db=db&consistency=all", body)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    s.settle().await;

    let r = s.send(&Req::get("/export?db=db")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.chunked_complete, Some(true));
    let mut lines: Vec<String> = r.text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["cpu,host=a v=1 10", "cpu,host=b w=2i 20", "mem s=\"x\",b=true 30"]
    );

    let r = s
        .send(&Req::get(
            "/export?db=db&rp=autogen&start=15&end=30&scope=cluster",
        ))
        .await;
    assert_eq!(r.text(), "cpu,host=b w=2i 20\n");
    // RFC 3339 bounds mean the same instants; no scope means cluster.
    let r = s
        .send(&Req::get(
            "/export?db=db&rp=autogen&start=1970-01-01T00:00:00.000000015Z&end=1970-01-01T00:00:00.00000003Z",
        ))
        .await;
    assert_eq!(r.text(), "cpu,host=b w=2i 20\n");
    assert_eq!(
        s.exporter.requests.lock().unwrap().last(),
        Some(&ExportRequest {
            db: "db".into(),
            rp: Some("autogen".into()),
            start_ns: 15,
            end_ns: 30,
            scope: ExportScope::Cluster,
        })
    );
}

#[tokio::test]
async fn an_error_mid_stream_truncates_the_body() {
    let s = TestServer::default().await;
    let r = s
        .send(&Req::post(
            "/write?db=db&consistency=all",
            "a v=1 1\nb v=1 2\nc v=1 3",
        ))
        .await;
    assert_eq!(r.status, 204);
    s.settle().await;
    s.exporter.fail_after_first_chunk.store(true, Ordering::SeqCst);
    let r = s.send(&Req::get("/export?db=db")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.chunked_complete, Some(false), "body {:?}", r.text());
    assert_eq!(r.text().lines().count(), 1);
}
