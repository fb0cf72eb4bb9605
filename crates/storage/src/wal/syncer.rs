//! The WAL syncer thread: group commit, segment roll, poisoning.

use std::sync::Arc;

use super::{Shared, create_segment, lock, segment_path};

pub(super) fn run(shared: &Arc<Shared>) {
    loop {
        {
            let mut st = lock(&shared.state);
            while st.appended == st.synced && !st.closed && st.poisoned.is_none() {
                st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.poisoned.is_some() || (st.closed && st.appended == st.synced) {
                return;
            }
            if !shared.fsync_delay.is_zero() && !st.closed {
                drop(st);
                // Let more batches join this fsync.
                std::thread::sleep(shared.fsync_delay);
            }
        }
        let (target, file, path, rolled) = {
            let mut st = lock(&shared.state);
            let target = st.appended;
            let file = Arc::clone(&st.current.file);
            let path = segment_path(&shared.dir, st.current.id);
            // Swap segments now, so that this fsync is the old segment's last
            // and nothing in the new one is acknowledged before it.
            let mut rolled = None;
            if st.current.len >= shared.segment_size
                && let Some(next) = st.next.take()
            {
                rolled = Some(std::mem::replace(&mut st.current, next).id);
            }
            (target, file, path, rolled)
        };
        let result = match &shared.hook {
            Some(h) => h(&path).and_then(|()| file.sync_data()),
            None => file.sync_data(),
        };
        let need_next = {
            let mut st = lock(&shared.state);
            match result {
                Ok(()) => {
                    st.synced = target;
                    if let Some(id) = rolled {
                        st.sealed.insert(id);
                    }
                    shared.publish_synced(target);
                }
                Err(e) => {
                    let reason = format!("fsync of {} failed: {e}", path.display());
                    shared.poison(&mut st, reason);
                    return;
                }
            }
            st.next.is_none().then_some(st.current.id + 1)
        };
        if let Some(id) = need_next {
            match create_segment(&shared.dir, id, shared.hook.as_ref()) {
                Ok(seg) => lock(&shared.state).next = Some(seg),
                Err(e) => {
                    // The current segment just keeps growing; try again next cycle.
                    tracing::warn!(error = %e, "could not pre-create the next WAL segment");
                }
            }
        }
    }
}
