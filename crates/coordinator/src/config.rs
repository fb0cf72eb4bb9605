use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Write-coordinator settings (`[coordinator]` in tandemd's config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// How long a write request waits for its consistency level before it
    /// answers `timeout`. Owner writes still in flight then go on in the
    /// background for up to half as long again (at least 1s) before they
    /// count as failed. Default: `10s` (Enterprise's `[cluster]
    /// write-timeout`).
    #[serde(with = "tandem_model::duration")]
    pub write_timeout: Duration,

    /// Bytes of encoded points in flight towards one node; writes beyond it
    /// are not sent (the owner counts as overloaded). Default: 256 MiB.
    pub max_inflight_bytes_per_node: usize,

    /// Bytes of request bodies being coordinated at once on this node; a
    /// request beyond it is refused as overloaded (HTTP 503 + Retry-After).
    /// Default: 512 MiB.
    pub max_inflight_request_bytes: usize,

    /// Largest encoded size of one write to one owner. A shard's share of a
    /// batch beyond it goes out as several writes, each of which must meet
    /// the consistency level. Keep it well below the data service's
    /// `max_message_bytes`. Default: 16 MiB.
    pub max_shard_write_bytes: usize,

    /// Consecutive failures after which a node is held down. Default: 3.
    pub breaker_threshold: u32,

    /// How long a node is held down before one write probes it.
    /// Default: `1s`.
    #[serde(with = "tandem_model::duration")]
    pub breaker_probe_interval: Duration,

    /// How far ahead of issued versions the clock's high-water mark is kept
    /// on disk (and so the longest wait after a restart). Default: `1s`.
    #[serde(with = "tandem_model::duration")]
    pub clock_persist_window: Duration,
}

impl CoordinatorConfig {
    /// How long one owner write may take before it counts as failed (and,
    /// once hinted handoff exists, is queued): longer than `write_timeout`,
    /// so a request whose owners hang answers `timeout` as Enterprise does,
    /// while the owner writes go on in the background a little longer.
    pub fn owner_timeout(&self) -> Duration {
        self.write_timeout + (self.write_timeout / 2).max(Duration::from_secs(1))
    }
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            write_timeout: Duration::from_secs(10),
            max_inflight_bytes_per_node: 256 << 20,
            max_inflight_request_bytes: 512 << 20,
            max_shard_write_bytes: 16 << 20,
            breaker_threshold: 3,
            breaker_probe_interval: Duration::from_secs(1),
            clock_persist_window: Duration::from_secs(1),
        }
    }
}
