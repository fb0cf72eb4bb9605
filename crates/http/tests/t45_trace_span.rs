//! `Zap-Trace-Span` is accepted and attached to the request's tracing span:
//! the events logged while serving the request carry it.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::io::Write;
use std::sync::{Arc, Mutex};

use client::Req;
use server::TestServer;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_span_header_reaches_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This test binary holds one test, so a global subscriber is fine.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let s = TestServer::default().await;
    let span = r#"{"baggage":{"key":"value"},"span_id":"1","trace_id":"1"}"#;
    for target in ["/write?db=db", "/api/v2/write?bucket=db"] {
        let r = s
            .send(&Req::post(target, "cpu v=1").header("Zap-Trace-Span", span))
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let served: Vec<&str> = log.lines().filter(|l| l.contains("served")).collect();
    assert_eq!(served.len(), 2, "{log}");
    for line in served {
        assert!(line.contains(&format!("zap_trace_span={span}")), "{line}");
    }
}
