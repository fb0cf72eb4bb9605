//! Node health and extra metrics for `/health`, `/metrics` and
//! `/debug/vars`.

use std::fmt::Write;

use tandem_coordinator::Coordinator;
use tandem_http::ports::{Health, PortFuture, Status};
use tandem_meta::MetaClient;

/// Status of one node: its metadata copy and its coordinator.
pub struct NodeStatus {
    meta: MetaClient,
    coordinator: Coordinator,
}

impl NodeStatus {
    pub fn new(meta: MetaClient, coordinator: Coordinator) -> Self {
        Self { meta, coordinator }
    }
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
        let _ = writeln!(
            out,
            "# HELP tandem_meta_version Version of this node's metadata copy."
        );
        let _ = writeln!(out, "# TYPE tandem_meta_version gauge");
        let _ = writeln!(out, "tandem_meta_version {}", self.meta.version());
        let _ = writeln!(
            out,
            "# HELP tandem_owner_writes_in_flight Owner writes still running."
        );
        let _ = writeln!(out, "# TYPE tandem_owner_writes_in_flight gauge");
        let _ = writeln!(
            out,
            "tandem_owner_writes_in_flight {}",
            self.coordinator.writes_in_flight()
        );
    }
}
