//! Per-node circuit breakers: after `threshold` consecutive failures a node
//! is held down, so writes to it fail at once instead of each waiting for a
//! timeout; after `probe_interval` one write is let through as a probe, and
//! a success closes the breaker again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tandem_model::NodeId;

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe is in flight; everyone else still fails fast.
    Probing,
}

/// The breakers of every destination node.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    probe_interval: Duration,
    nodes: Mutex<HashMap<NodeId, State>>,
}

impl Breakers {
    pub fn new(threshold: u32, probe_interval: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            probe_interval,
            nodes: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a write may be sent to `node` now.
    pub fn allow(&self, node: NodeId) -> bool {
        let Ok(mut nodes) = self.nodes.lock() else {
            return true;
        };
        let state = nodes.entry(node).or_insert(State::Closed { failures: 0 });
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if Instant::now() >= until => {
                *state = State::Probing;
                true
            }
            State::Open { .. } | State::Probing => false,
        }
    }

    pub fn record_success(&self, node: NodeId) {
        if let Ok(mut nodes) = self.nodes.lock() {
            nodes.insert(node, State::Closed { failures: 0 });
        }
    }

    /// Records a failure that says something about the node's health
    /// (unreachable, timed out), not about the data.
    pub fn record_failure(&self, node: NodeId) {
        let Ok(mut nodes) = self.nodes.lock() else { return };
        let state = nodes.entry(node).or_insert(State::Closed { failures: 0 });
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: Instant::now() + self.probe_interval,
            },
        };
    }

    /// Whether the node is currently held down.
    pub fn is_open(&self, node: NodeId) -> bool {
        self.nodes
            .lock()
            .map(|n| matches!(n.get(&node), Some(State::Open { .. } | State::Probing)))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_back() {
        let b = Breakers::new(3, Duration::from_millis(30));
        let n = NodeId(2);
        assert!(b.allow(n));
        b.record_failure(n);
        b.record_failure(n);
        assert!(b.allow(n), "two failures stay under the threshold");
        b.record_failure(n);
        assert!(!b.allow(n), "third failure opens the breaker");
        assert!(b.is_open(n));
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(n), "one probe after the interval");
        assert!(!b.allow(n), "only one probe at a time");
        b.record_failure(n);
        assert!(!b.allow(n), "a failed probe reopens it");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(n));
        b.record_success(n);
        assert!(b.allow(n) && b.allow(n), "a successful probe closes it");
        assert!(b.allow(NodeId(3)), "other nodes are unaffected");
    }
}
