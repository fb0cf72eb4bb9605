//! Counters behind `/debug/vars` (Enterprise's `write` measurement) and
//! `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tandem_model::NodeId;

use crate::ports::OwnerError;

/// Write counters, named after InfluxDB Enterprise's `write` statistics.
#[derive(Debug, Default)]
pub struct WriteStats {
    /// Points in write requests that reached the shard stage.
    pub point_req: AtomicU64,
    /// Points sent to a local owner.
    pub point_req_local: AtomicU64,
    /// Points sent to remote owners.
    pub point_req_remote: AtomicU64,
    /// Points queued in hinted handoff.
    pub point_req_hh: AtomicU64,
    /// Shard writes that met their consistency level.
    pub write_ok: AtomicU64,
    /// Shard writes that ended in `partial write`.
    pub write_partial: AtomicU64,
    /// Shard writes that ended in `timeout`.
    pub write_timeout: AtomicU64,
    /// Shard writes that failed otherwise.
    pub write_error: AtomicU64,
    /// Points dropped (retention, `time` keys, type conflicts).
    pub write_drop: AtomicU64,
    /// Owner write results by destination node and outcome.
    owners: Mutex<BTreeMap<(NodeId, OwnerResult), u64>>,
}

/// How one owner write ended, for the per-owner counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerResult {
    Ack,
    /// Field type conflict or partial write at the owner.
    Rejected,
    /// Stale routing or deleted shard.
    Routing,
    CacheFull,
    Unavailable,
    /// Not sent: the node's breaker is open.
    NodeDown,
    /// Not sent: the byte budget towards the node is spent.
    Overloaded,
}

impl OwnerResult {
    pub fn of(result: &Result<crate::ports::OwnerAck, OwnerError>) -> Self {
        match result {
            Ok(_) => OwnerResult::Ack,
            Err(OwnerError::PartialWrite { .. } | OwnerError::Rejected(_)) => OwnerResult::Rejected,
            Err(OwnerError::StaleRouting(_) | OwnerError::ShardDeleted(_)) => OwnerResult::Routing,
            Err(OwnerError::CacheFull) => OwnerResult::CacheFull,
            Err(OwnerError::Unavailable(_)) => OwnerResult::Unavailable,
            Err(OwnerError::NodeDown(_)) => OwnerResult::NodeDown,
            Err(OwnerError::Overloaded(_)) => OwnerResult::Overloaded,
        }
    }

    /// The label value in `/metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OwnerResult::Ack => "ack",
            OwnerResult::Rejected => "rejected",
            OwnerResult::Routing => "stale_routing",
            OwnerResult::CacheFull => "cache_full",
            OwnerResult::Unavailable => "unavailable",
            OwnerResult::NodeDown => "node_down",
            OwnerResult::Overloaded => "overloaded",
        }
    }
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteStatsSnapshot {
    pub point_req: u64,
    pub point_req_local: u64,
    pub point_req_remote: u64,
    #[serde(rename = "pointReqHH")]
    pub point_req_hh: u64,
    pub write_ok: u64,
    pub write_partial: u64,
    pub write_timeout: u64,
    pub write_error: u64,
    pub write_drop: u64,
}

impl WriteStats {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn owner_result(&self, node: NodeId, result: OwnerResult) {
        if let Ok(mut owners) = self.owners.lock() {
            *owners.entry((node, result)).or_insert(0) += 1;
        }
    }

    /// Owner write results so far, by (node, outcome).
    pub fn owner_results(&self) -> Vec<(NodeId, OwnerResult, u64)> {
        self.owners
            .lock()
            .map(|o| o.iter().map(|(&(n, r), &c)| (n, r, c)).collect())
            .unwrap_or_default()
    }

    pub fn snapshot(&self) -> WriteStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WriteStatsSnapshot {
            point_req: get(&self.point_req),
            point_req_local: get(&self.point_req_local),
            point_req_remote: get(&self.point_req_remote),
            point_req_hh: get(&self.point_req_hh),
            write_ok: get(&self.write_ok),
            write_partial: get(&self.write_partial),
            write_timeout: get(&self.write_timeout),
            write_error: get(&self.write_error),
            write_drop: get(&self.write_drop),
        }
    }
}
