//! Write stalls: a shard whose unflushed data passes
//! `cache_stall_memory_size` makes its writers wait for a flush, so ingest
//! that outpaces Parquet encoding slows to the flush rate instead of
//! filling memory up to `cache_max_memory_size` (per shard, so with many
//! hot shards the hard limit alone does not bound a node). A writer waits
//! only while a snapshot is being flushed, so the flush that frees room is
//! always under way, and at most `cache_stall_max_wait`: a flush that
//! cannot finish (a failing disk) turns into `CacheFull` at the hard limit,
//! not into writers hanging.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use super::shard::lock;

/// Wakes stalled writers when a flush completes.
#[derive(Default)]
pub(crate) struct FlushSignal {
    notify: Notify,
    generation: Mutex<u64>,
    changed: Condvar,
}

impl FlushSignal {
    /// A snapshot was written (or dropped): room may have been freed.
    pub(crate) fn flushed(&self) {
        *lock(&self.generation) += 1;
        self.changed.notify_all();
        self.notify.notify_waiters();
    }

    /// Waits until `stalled` is false or `deadline` passes, without
    /// blocking the thread.
    pub(crate) async fn wait_async(&self, deadline: Instant, stalled: impl Fn() -> bool) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a flush in between is seen.
            notified.as_mut().enable();
            if !stalled() {
                return;
            }
            let until = tokio::time::Instant::from_std(deadline);
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return;
            }
        }
    }

    /// As [`FlushSignal::wait_async`], blocking the thread.
    pub(crate) fn wait_blocking(&self, deadline: Instant, stalled: impl Fn() -> bool) {
        let mut generation = lock(&self.generation);
        while stalled() {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let seen = *generation;
            let (g, _) = self
                .changed
                .wait_timeout_while(generation, deadline - now, |g| *g == seen)
                .unwrap_or_else(|e| e.into_inner());
            generation = g;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_flush_releases_async_and_blocking_waiters() {
        let signal = Arc::new(FlushSignal::default());
        let full = Arc::new(AtomicBool::new(true));
        let far = Instant::now() + Duration::from_secs(60);
        let blocking = {
            let (signal, full) = (Arc::clone(&signal), Arc::clone(&full));
            std::thread::spawn(move || {
                signal.wait_blocking(far, || full.load(Ordering::SeqCst));
                full.load(Ordering::SeqCst)
            })
        };
        let waiter = {
            let (signal, full) = (Arc::clone(&signal), Arc::clone(&full));
            tokio::spawn(async move {
                signal.wait_async(far, || full.load(Ordering::SeqCst)).await;
                full.load(Ordering::SeqCst)
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A flush that frees nothing keeps them waiting.
        signal.flushed();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished() && !blocking.is_finished());
        full.store(false, Ordering::SeqCst);
        signal.flushed();
        assert!(!waiter.await.unwrap(), "async waiter left while full");
        assert!(!blocking.join().unwrap(), "blocking waiter left while full");
    }

    #[tokio::test]
    async fn waits_end_at_the_deadline() {
        let signal = FlushSignal::default();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(100);
        signal.wait_async(deadline, || true).await;
        signal.wait_blocking(deadline, || true);
        assert!(start.elapsed() >= Duration::from_millis(100));
        // Not stalled: no wait at all.
        signal.wait_blocking(start + Duration::from_secs(60), || false);
    }
}
