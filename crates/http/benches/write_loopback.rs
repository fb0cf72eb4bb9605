//! Write throughput of the HTTP layer over loopback: TSBS cpu-only batches
//! of 5,000 lines POSTed to `/write` (plain and gzip) by concurrent clients,
//! through a real `Coordinator` whose owners ack at once (RF 3, quorum).
//! Measures parsing, planning, encoding and the HTTP path, not storage.
//!
//! Run by hand: `cargo bench -p tandem-http --bench write_loopback`
//! (`-- <requests> <clients>` to change the defaults 200 and 4).

#![allow(clippy::print_stdout)]

#[path = "../tests/support/client.rs"]
mod client;
#[path = "../tests/support/fakes.rs"]
mod fakes;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use client::{Req, gzip, send};
use fakes::FakeCluster;
use tandem_coordinator::hlc::Hlc;
use tandem_coordinator::ports::{OwnerAck, OwnerError, OwnerTransport, PortFuture, ShardWrite};
use tandem_coordinator::{Coordinator, CoordinatorConfig};
use tandem_http::ports::Health;
use tandem_http::{HttpConfig, HttpState, Ports, Server};
use tandem_model::NodeId;

/// Owners that ack every write at once and only count points.
#[derive(Default)]
struct Counting(AtomicU64);

impl OwnerTransport for Counting {
    fn write_shard(
        &self,
        _node: NodeId,
        write: ShardWrite,
    ) -> PortFuture<'static, Result<OwnerAck, OwnerError>> {
        self.0.fetch_add(write.points.len() as u64, Ordering::Relaxed);
        Box::pin(async { Ok(OwnerAck::default()) })
    }
}

struct NoExport;

impl tandem_http::ports::Exporter for NoExport {
    fn export(
        &self,
        _req: tandem_http::ports::ExportRequest,
    ) -> PortFuture<'static, Result<tandem_http::ports::ExportStream, tandem_http::ports::PortError>> {
        Box::pin(async {
            Err(tandem_http::ports::PortError::Internal(
                "no export in benches".into(),
            ))
        })
    }
}

struct Healthy;

impl tandem_http::ports::Status for Healthy {
    fn health(&self) -> PortFuture<'_, Health> {
        Box::pin(async { Health::Pass })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(
    addr: std::net::SocketAddr,
    bodies: Arc<Vec<Vec<u8>>>,
    gzipped: bool,
    requests: usize,
    clients: usize,
) {
    let lines_per_body = 5_000u64;
    let wire: u64 = bodies.iter().map(|b| b.len() as u64).sum::<u64>() / bodies.len() as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let bodies = Arc::clone(&bodies);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in (c..requests).step_by(clients) {
                let mut req = Req::post(
                    "/write?db=db&consistency=quorum&precision=ns",
                    bodies[i % bodies.len()].clone(),
                );
                if gzipped {
                    req = req.header("Content-Encoding", "gzip");
                }
                let t = Instant::now();
                let r = send(addr, &req).await;
                assert_eq!(r.status, 204, "{}", r.text());
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let took = started.elapsed();
    latencies.sort();
    let points = requests as u64 * lines_per_body;
    println!(
        "{:<5} {requests} requests x 5000 lines, {clients} clients: {:.2}s, {:.0} points/s, {:.1} MB/s on the wire, latency p50 {:?} p99 {:?}",
        if gzipped { "gzip" } else { "plain" },
        took.as_secs_f64(),
        points as f64 / took.as_secs_f64(),
        (wire * requests as u64) as f64 / took.as_secs_f64() / 1e6,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(200);
    let clients = args.get(1).copied().unwrap_or(4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cluster = FakeCluster::new(&[1, 2, 3]);
        let counting = Arc::new(Counting::default());
        let transport: Arc<dyn OwnerTransport> = counting.clone();
        let coordinator = Coordinator::new(
            NodeId(1),
            CoordinatorConfig::default(),
            cluster.clone(),
            transport,
            Hlc::volatile(NodeId(1)),
        );
        let config = HttpConfig {
            bind_address: "127.0.0.1:0".into(),
            ..HttpConfig::default()
        };
        let ports = Ports {
            admin: cluster.clone(),
            auth: cluster.clone(),
            exporter: Arc::new(NoExport),
            status: Arc::new(Healthy),
        };
        let state = HttpState::new(config.clone(), coordinator.clone(), ports);
        let server = Server::bind(&config).await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.run(tandem_http::router(state), std::future::pending()));

        let mut generator = tandem_tsbs::CpuOnly::new(1000);
        let plain: Vec<Vec<u8>> = (0..20).map(|_| generator.body(5_000)).collect();
        let gz: Vec<Vec<u8>> = plain.iter().map(|b| gzip(b)).collect();
        println!(
            "batch: {} bytes plain, {} bytes gzip",
            plain[0].len(),
            gz[0].len()
        );
        run(addr, Arc::new(plain), false, requests, clients).await;
        run(addr, Arc::new(gz), true, requests, clients).await;
        assert!(coordinator.shutdown(Duration::from_secs(10)).await);
        println!("owner points acked: {}", counting.0.load(Ordering::Relaxed));
    });
}
