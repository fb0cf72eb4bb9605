//! Byte budgets for encoded points in flight, one per destination node, so
//! one slow node cannot make the coordinator buffer without bound. (Request
//! bodies have a separate node-wide pool, `max_inflight_request_bytes`,
//! taken by the coordinator before parsing.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tandem_model::NodeId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Tokio semaphores count permits in u32 batches; budgets are in KiB so a
/// permit stays far from that limit.
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX).max(1)
}

/// Per-node budgets.
#[derive(Debug)]
pub struct NodeBudgets {
    per_node_bytes: usize,
    nodes: Mutex<HashMap<NodeId, Arc<Semaphore>>>,
}

/// Bytes reserved towards one node, released on drop.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
}

impl NodeBudgets {
    pub fn new(per_node_bytes: usize) -> Self {
        Self {
            per_node_bytes,
            nodes: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, node: NodeId) -> Option<Arc<Semaphore>> {
        let mut nodes = self.nodes.lock().ok()?;
        let total = units(self.per_node_bytes) as usize;
        Some(Arc::clone(
            nodes
                .entry(node)
                .or_insert_with(|| Arc::new(Semaphore::new(total))),
        ))
    }

    /// Reserves `bytes` towards `node` without waiting; `None` when the
    /// node's budget is spent. A write larger than the whole budget is let
    /// through alone, when nothing else is in flight.
    pub fn try_reserve(&self, node: NodeId, bytes: usize) -> Option<Reservation> {
        let sem = self.semaphore(node)?;
        let want = units(bytes).min(units(self.per_node_bytes));
        sem.try_acquire_many_owned(want)
            .ok()
            .map(|p| Reservation { _permit: p })
    }

    /// Bytes currently reserved towards `node`.
    pub fn in_flight(&self, node: NodeId) -> usize {
        self.semaphore(node).map_or(0, |s| {
            (units(self.per_node_bytes) as usize - s.available_permits()) * UNIT
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_released() {
        let b = NodeBudgets::new(10 * UNIT);
        let n = NodeId(1);
        let a = b.try_reserve(n, 6 * UNIT).expect("fits");
        assert!(b.try_reserve(n, 6 * UNIT).is_none(), "over budget");
        assert!(
            b.try_reserve(NodeId(2), 6 * UNIT).is_some(),
            "other node has its own budget"
        );
        assert_eq!(b.in_flight(n), 6 * UNIT);
        drop(a);
        assert_eq!(b.in_flight(n), 0);
        let huge = b
            .try_reserve(n, 100 * UNIT)
            .expect("an oversize write goes alone");
        assert!(b.try_reserve(n, 1).is_none());
        drop(huge);
    }
}
