//! The hybrid logical clock that stamps write versions.
//!
//! `stamp()` returns `max(wall_ns, last + 1)`, so versions from one
//! coordinator strictly increase even when the wall clock steps back, and
//! stay close to real time so "newest write wins" means what users expect
//! across coordinators. Readings seen from peers are merged in
//! (`observe`), as in any HLC.
//!
//! Durability: a background thread keeps a high-water mark on disk ahead of
//! every issued reading (by `window`). After a restart the clock waits until
//! the wall clock has passed the stored mark, so a restarted coordinator can
//! never issue a version below one it issued before the crash.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_model::{NodeId, Version};
use tokio::sync::Notify;

/// Readings more than this far ahead of our wall clock are not merged: a
/// peer with a broken clock must not drag every version into the future.
const MAX_OBSERVED_DRIFT_NS: u64 = 60_000_000_000;

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

struct State {
    last: u64,
    seq: u32,
}

struct Inner {
    node: NodeId,
    state: Mutex<State>,
    /// Readings below this are covered by the mark on disk.
    durable_mark: AtomicU64,
    persisted: Notify,
    wake: Notify,
    window_ns: u64,
    path: Option<PathBuf>,
    failed: AtomicBool,
}

/// The clock. Cheap to clone.
#[derive(Clone)]
pub struct Hlc {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hlc")
            .field("node", &self.inner.node)
            .finish_non_exhaustive()
    }
}

impl Hlc {
    /// A clock that persists nothing (tests, and nodes that never
    /// coordinate writes).
    pub fn volatile(node: NodeId) -> Self {
        Self::build(node, None, Duration::from_secs(1), u64::MAX)
    }

    /// Opens the clock whose high-water mark lives at `path`, waiting out a
    /// mark left by a previous run.
    pub async fn open(node: NodeId, path: &Path, window: Duration) -> std::io::Result<Self> {
        let mark = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().parse::<u64>().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let wall = wall_ns();
        if mark > wall {
            tracing::info!(
                wait_ms = (mark - wall) / 1_000_000,
                "waiting out the clock's high-water mark"
            );
            tokio::time::sleep(Duration::from_nanos(mark - wall)).await;
        }
        let clock = Self::build(node, Some(path.to_owned()), window, mark);
        clock
            .inner
            .state
            .lock()
            .map(|mut s| s.last = s.last.max(mark))
            .ok();
        Ok(clock)
    }

    fn build(node: NodeId, path: Option<PathBuf>, window: Duration, durable_mark: u64) -> Self {
        let inner = Arc::new(Inner {
            node,
            state: Mutex::new(State { last: 0, seq: 0 }),
            durable_mark: AtomicU64::new(durable_mark),
            persisted: Notify::new(),
            wake: Notify::new(),
            window_ns: window.as_nanos() as u64,
            path,
            failed: AtomicBool::new(false),
        });
        if inner.path.is_some() {
            let weak = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name("hlc-mark".into())
                .spawn(move || persist_loop(weak))
                .map_err(|e| tracing::error!("cannot start the clock's persister: {e}"))
                .ok();
        }
        Self { inner }
    }

    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    /// The next version. Waits only when the wall clock has run past the
    /// durable mark (the persister normally stays a window ahead).
    pub async fn stamp(&self) -> std::io::Result<Version> {
        loop {
            let waiter = self.inner.persisted.notified();
            {
                let mut s = self.inner.state.lock().map_err(|_| poisoned())?;
                let next = wall_ns().max(s.last + 1);
                if next < self.inner.durable_mark.load(Ordering::Acquire) {
                    s.last = next;
                    s.seq = s.seq.wrapping_add(1);
                    return Ok(Version::new(next, self.inner.node, s.seq));
                }
            }
            if self.inner.failed.load(Ordering::Acquire) {
                return Err(std::io::Error::other(
                    "the clock's high-water mark cannot be persisted",
                ));
            }
            self.inner.wake.notify_one();
            waiter.await;
        }
    }

    /// Merges a reading seen from a peer.
    pub fn observe(&self, remote_ns: u64) {
        if remote_ns > wall_ns().saturating_add(MAX_OBSERVED_DRIFT_NS) {
            tracing::warn!(remote_ns, "ignoring a clock reading more than 60s ahead of ours");
            return;
        }
        if let Ok(mut s) = self.inner.state.lock() {
            s.last = s.last.max(remote_ns);
        }
        self.inner.wake.notify_one();
    }

    /// The last issued reading.
    pub fn last(&self) -> u64 {
        self.inner.state.lock().map_or(0, |s| s.last)
    }
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("clock state poisoned")
}

fn persist_loop(weak: Weak<Inner>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    let Ok(runtime) = runtime else {
        return;
    };
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let needed = {
            let last = inner.state.lock().map_or(0, |s| s.last);
            last.max(wall_ns())
        };
        let mark = inner.durable_mark.load(Ordering::Acquire);
        // Keep at least half a window of headroom.
        if needed.saturating_add(inner.window_ns / 2) >= mark {
            let target = needed + inner.window_ns;
            if let Some(path) = &inner.path {
                match write_mark(path, target) {
                    Ok(()) => inner.durable_mark.store(target, Ordering::Release),
                    Err(e) => {
                        tracing::error!("cannot persist the clock's high-water mark: {e}");
                        inner.failed.store(true, Ordering::Release);
                    }
                }
            }
            inner.persisted.notify_waiters();
        }
        let wait = Duration::from_nanos(inner.window_ns / 4).max(Duration::from_millis(10));
        let wake = Arc::clone(&inner);
        drop(inner);
        runtime.block_on(async {
            let _ = tokio::time::timeout(wait, wake.wake.notified()).await;
        });
    }
}

fn write_mark(path: &Path, mark: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{mark}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stamps_strictly_increase() {
        let clock = Hlc::volatile(NodeId(7));
        let mut prev = clock.stamp().await.unwrap();
        for _ in 0..10_000 {
            let v = clock.stamp().await.unwrap();
            assert!(v > prev);
            assert_eq!(v.node, 7);
            prev = v;
        }
    }

    #[tokio::test]
    async fn observed_readings_are_merged_but_bounded() {
        let clock = Hlc::volatile(NodeId(1));
        let ahead = wall_ns() + 5_000_000_000;
        clock.observe(ahead);
        assert!(clock.stamp().await.unwrap().hlc_ns > ahead);
        let absurd = wall_ns() + 3_600_000_000_000;
        clock.observe(absurd);
        assert!(clock.stamp().await.unwrap().hlc_ns < absurd);
    }

    #[tokio::test]
    async fn restart_never_goes_below_a_persisted_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hlc");
        let window = Duration::from_millis(200);
        let last = {
            let clock = Hlc::open(NodeId(1), &path, window).await.unwrap();
            // Drag the clock ahead of the wall clock, as a peer's reading can.
            clock.observe(wall_ns() + 400_000_000);
            let mut v = clock.stamp().await.unwrap();
            for _ in 0..100 {
                v = clock.stamp().await.unwrap();
            }
            v
        };
        let mark: u64 = std::fs::read_to_string(&path).unwrap().trim().parse().unwrap();
        assert!(
            mark > last.hlc_ns,
            "mark {mark} must cover issued reading {}",
            last.hlc_ns
        );
        let clock = Hlc::open(NodeId(1), &path, window).await.unwrap();
        let next = clock.stamp().await.unwrap();
        assert!(next > last, "{next} after restart must exceed {last}");
    }
}
