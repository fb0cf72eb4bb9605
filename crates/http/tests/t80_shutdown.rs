//! Graceful shutdown: a write in flight when shutdown starts still gets its
//! answer; afterwards the port is closed.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::time::{Duration, Instant};

use client::{Req, send};
use fakes::Behaviour;
use server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_then_the_port_closes() {
    let s = TestServer::default().await;
    s.transport
        .set_all(&[1, 2, 3], Behaviour::AckAfter(Duration::from_millis(400)));
    let addr = s.addr;
    let in_flight =
        tokio::spawn(async move { send(addr, &Req::post("/write?db=db&consistency=all", "cpu v=1")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    s.stop().await;
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "shutdown did not wait"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port still open"
    );
}
