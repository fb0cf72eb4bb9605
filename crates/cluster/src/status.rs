//! Node health and extra metrics for `/health`, `/metrics` and
//! `/debug/vars`: the metadata copy's version, owner writes (in flight and
//! by outcome per node) and the clock offset to the meta service.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_coordinator::Coordinator;
use tandem_http::ports::{Health, PortFuture, Status};
use tandem_meta::MetaClient;

/// How often the clock offset to the meta service is measured.
const CLOCK_PROBE_INTERVAL: Duration = Duration::from_secs(15);

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The last clock measurement against a meta node.
#[derive(Debug, Default)]
struct ClockOffset {
    /// The meta node's clock minus ours, estimated at the midpoint of the
    /// request (ns).
    offset_ns: AtomicI64,
    /// Round trip of the measuring request (ns); the offset is good to
    /// about half of it.
    rtt_ns: AtomicI64,
    /// The meta node that answered (0 until the first measurement).
    meta_node: AtomicU32,
    /// That node's id if it was the leader, else 0.
    leader: AtomicU32,
}

/// Status of one node: its metadata copy, its coordinator, and a clock
/// probe of the meta service running in the background while it lives.
pub struct NodeStatus {
    meta: MetaClient,
    coordinator: Coordinator,
    clock: Arc<ClockOffset>,
    probe: tokio::task::JoinHandle<()>,
}

impl Drop for NodeStatus {
    fn drop(&mut self) {
        self.probe.abort();
    }
}

impl NodeStatus {
    pub fn new(meta: MetaClient, coordinator: Coordinator) -> Self {
        let clock = Arc::new(ClockOffset::default());
        let probe = tokio::spawn(probe_clock(meta.clone(), Arc::clone(&clock)));
        Self {
            meta,
            coordinator,
            clock,
            probe,
        }
    }
}

async fn probe_clock(meta: MetaClient, clock: Arc<ClockOffset>) {
    loop {
        let mut sent = wall_ns();
        let mut answer = meta.cluster_status().await;
        // The leader's clock is the one that matters (it stamps metadata):
        // ask it directly when a follower answered.
        if let Ok(status) = &answer
            && let Some(leader) = status.leader.filter(|l| *l != status.node_id)
            && let Some(addr) = status.endpoints.get(&leader).map(|e| e.api_addr.clone())
        {
            let again = wall_ns();
            if let Some(Ok(from_leader)) = meta.cluster_status_at(&addr).await {
                sent = again;
                answer = Ok(from_leader);
            }
        }
        if let Ok(status) = answer {
            let received = wall_ns();
            let midpoint = sent + (received - sent) / 2;
            clock
                .offset_ns
                .store(status.clock_ns.saturating_sub(midpoint), Ordering::Relaxed);
            clock.rtt_ns.store(received - sent, Ordering::Relaxed);
            clock.meta_node.store(status.node_id.0, Ordering::Relaxed);
            let leader = status.leader.filter(|l| *l == status.node_id).map_or(0, |l| l.0);
            clock.leader.store(leader, Ordering::Relaxed);
        }
        tokio::time::sleep(CLOCK_PROBE_INTERVAL).await;
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Status for NodeStatus {
    fn health(&self) -> PortFuture<'_, Health> {
        Box::pin(async move {
            if self.meta.version() == 0 {
                Health::Fail("no metadata received from the meta service yet".into())
            } else {
                Health::Pass
            }
        })
    }

    fn render_metrics(&self, out: &mut String) {
        family(
            out,
            "tandem_meta_version",
            "gauge",
            "Version of this node's metadata copy.",
        );
        let _ = writeln!(out, "tandem_meta_version {}", self.meta.version());
        family(
            out,
            "tandem_owner_writes_in_flight",
            "gauge",
            "Owner writes still running.",
        );
        let _ = writeln!(
            out,
            "tandem_owner_writes_in_flight {}",
            self.coordinator.writes_in_flight()
        );
        family(
            out,
            "tandem_owner_writes_total",
            "counter",
            "Shard writes sent to each owner, by outcome.",
        );
        for (node, result, count) in self.coordinator.stats().owner_results() {
            let _ = writeln!(
                out,
                "tandem_owner_writes_total{{node=\"{node}\",result=\"{}\"}} {count}",
                result.as_str()
            );
        }
        let meta_node = self.clock.meta_node.load(Ordering::Relaxed);
        if meta_node != 0 {
            let leader = self.clock.leader.load(Ordering::Relaxed) == meta_node;
            let seconds = |ns: i64| ns as f64 / 1e9;
            family(
                out,
                "tandem_meta_clock_offset_seconds",
                "gauge",
                "Clock of the meta leader (of the meta node that answered, when the leader could not be asked) minus this node's clock (good to half the round trip).",
            );
            let _ = writeln!(
                out,
                "tandem_meta_clock_offset_seconds{{meta_node=\"{meta_node}\",leader=\"{leader}\"}} {}",
                seconds(self.clock.offset_ns.load(Ordering::Relaxed))
            );
            family(
                out,
                "tandem_meta_clock_probe_rtt_seconds",
                "gauge",
                "Round trip of the last clock probe.",
            );
            let _ = writeln!(
                out,
                "tandem_meta_clock_probe_rtt_seconds{{meta_node=\"{meta_node}\"}} {}",
                seconds(self.clock.rtt_ns.load(Ordering::Relaxed))
            );
        }
    }
}
