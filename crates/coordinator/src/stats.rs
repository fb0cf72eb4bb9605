//! Counters behind `/debug/vars` (Enterprise's `write` measurement) and
//! `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

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
