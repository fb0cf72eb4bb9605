//! Owner writes belong to the coordinator, not to the request that started
//! them. A request that returns early (consistency met, timeout, client
//! gone) leaves its remaining owner writes running to completion; shutdown
//! waits for them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Inner {
    running: AtomicUsize,
    idle: Notify,
}

/// Counts the background writes in flight.
#[derive(Debug, Clone, Default)]
pub struct WriteTracker {
    inner: Arc<Inner>,
}

struct Guard(Arc<Inner>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl WriteTracker {
    /// Runs `task` on the runtime, detached from the caller.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        let guard = Guard(Arc::clone(&self.inner));
        tokio::spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Waits until no write is in flight, or `limit` passes. Returns whether
    /// everything finished.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.inner.idle.notified();
            if self.running() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.running() == 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_outlive_their_caller_and_are_awaited() {
        let tracker = WriteTracker::default();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let done = Arc::clone(&done);
            tracker.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(tracker.running(), 5);
        assert!(tracker.wait_idle(Duration::from_secs(5)).await);
        assert_eq!(done.load(Ordering::SeqCst), 5);
        assert!(
            tracker.wait_idle(Duration::from_millis(1)).await,
            "idle stays idle"
        );
    }
}
