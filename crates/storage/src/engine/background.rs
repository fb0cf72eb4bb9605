//! The flusher and compactor threads and their job queues.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tandem_model::ShardId;

use super::shard::{Shard, lock};
use super::{Inner, read};
use crate::StorageError;

const FLUSH_TICK: Duration = Duration::from_secs(1);
const COMPACT_TICK: Duration = Duration::from_secs(10);

/// A queue of shard ids (each at most once) that a thread sleeps on.
#[derive(Default)]
pub(crate) struct JobQueue {
    state: Mutex<(VecDeque<ShardId>, bool)>,
    cv: Condvar,
}

pub(crate) enum Job {
    Shard(ShardId),
    Tick,
    Stop,
}

impl JobQueue {
    pub(crate) fn push(&self, id: ShardId) {
        let mut st = lock(&self.state);
        if !st.0.contains(&id) {
            st.0.push_back(id);
            self.cv.notify_one();
        }
    }

    pub(crate) fn stop(&self) {
        lock(&self.state).1 = true;
        self.cv.notify_all();
    }

    fn next(&self, tick: Duration) -> Job {
        let mut st = lock(&self.state);
        if st.1 {
            return Job::Stop;
        }
        if let Some(id) = st.0.pop_front() {
            return Job::Shard(id);
        }
        st = self
            .cv
            .wait_timeout(st, tick)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if st.1 {
            return Job::Stop;
        }
        st.0.pop_front().map_or(Job::Tick, Job::Shard)
    }
}

pub(super) fn start(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>, StorageError> {
    let spawn = |name: &str, f: fn(&Inner)| {
        let inner = Arc::clone(inner);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(&inner))
            .map_err(|e| StorageError::io(format!("spawning {name}"), e))
    };
    Ok(vec![
        spawn("tandem-flush", run_flusher)?,
        spawn("tandem-compact", run_compactor)?,
    ])
}

fn shard_if_live(inner: &Inner, id: ShardId) -> Option<Arc<Shard>> {
    read(&inner.shards).get(&id).cloned()
}

fn run_flusher(inner: &Inner) {
    loop {
        match inner.flushq.next(FLUSH_TICK) {
            Job::Stop => return,
            Job::Shard(id) => {
                if let Some(shard) = shard_if_live(inner, id)
                    && let Err(e) = inner.flush_shard(&shard)
                {
                    tracing::error!(shard = %id, error = %e, "flush failed; will retry");
                }
            }
            Job::Tick => {
                // Idle caches go to files after a while (so the WAL can be
                // trimmed), and failed flushes are retried.
                let now = SystemTime::now();
                let cold_after = inner.config.cache_snapshot_write_cold_duration;
                let trim_below = inner.wal_trim_target();
                let shards: Vec<Arc<Shard>> = read(&inner.shards).values().cloned().collect();
                for shard in shards {
                    let mut st = lock(&shard.state);
                    let idle = now.duration_since(st.last_write).is_ok_and(|d| d >= cold_after);
                    // The cache holds records of a segment the WAL bound
                    // wants gone.
                    let pins_wal =
                        trim_below.is_some_and(|seg| st.cache.first_lsn.is_some_and(|l| l.segment < seg));
                    if ((idle || pins_wal) && st.rotate()) || !st.snapshots.is_empty() {
                        inner.flushq.push(shard.id);
                    }
                }
            }
        }
    }
}

fn run_compactor(inner: &Inner) {
    loop {
        match inner.compactq.next(COMPACT_TICK) {
            Job::Stop => return,
            Job::Shard(id) => {
                if let Some(shard) = shard_if_live(inner, id)
                    && let Err(e) = inner.compact_shard(&shard, false, true)
                {
                    tracing::error!(shard = %id, error = %e, "compaction failed");
                }
            }
            Job::Tick => {
                let now = SystemTime::now();
                let shards: Vec<Arc<Shard>> = read(&inner.shards).values().cloned().collect();
                for shard in shards {
                    let last = lock(&shard.state).last_write;
                    if now
                        .duration_since(last)
                        .is_ok_and(|d| d >= inner.config.cold_duration)
                        && let Err(e) = inner.compact_shard(&shard, true, true)
                    {
                        tracing::error!(shard = %shard.id, error = %e, "full compaction failed");
                    }
                }
            }
        }
    }
}
