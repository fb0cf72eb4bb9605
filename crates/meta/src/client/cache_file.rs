//! The client's persisted copy of the metadata, so a node restarted during
//! a meta outage still knows its databases, policies and shard groups.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::MetaError;
use crate::durable_file::write_atomic;
use crate::state::MetaState;

/// File name inside the cache directory.
pub(crate) const FILE_NAME: &str = "metadata.json";

/// Current on-disk format; older formats are read, newer ones refused.
const FORMAT: u32 = 1;

/// Pause between two writes, so bursts of changes cost one write.
const COALESCE: Duration = Duration::from_millis(50);

#[derive(Serialize, Deserialize)]
struct CacheFile<S> {
    format: u32,
    state: S,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Loads the persisted copy; `None` when there is none yet.
pub(crate) fn load(dir: &Path) -> Result<Option<MetaState>, MetaError> {
    let p = path(dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MetaError::storage(format!("read {}: {e}", p.display()))),
    };
    let file: CacheFile<MetaState> = serde_json::from_slice(&bytes)
        .map_err(|e| MetaError::storage(format!("corrupt metadata cache {}: {e}", p.display())))?;
    if file.format > FORMAT {
        return Err(MetaError::storage(format!(
            "metadata cache {} has format {} (this build reads up to {FORMAT})",
            p.display(),
            file.format
        )));
    }
    Ok(Some(file.state))
}

/// Writes the copy durably.
pub(crate) fn store(dir: &Path, state: &MetaState) -> Result<(), MetaError> {
    let bytes = serde_json::to_vec(&CacheFile {
        format: FORMAT,
        state,
    })
    .map_err(MetaError::storage)?;
    write_atomic(&path(dir), &bytes).map_err(MetaError::storage)
}

/// Persists every new version until `shutdown`, coalescing bursts.
pub(crate) async fn persist_loop(
    dir: PathBuf,
    mut states: watch::Receiver<Arc<MetaState>>,
    mut shutdown: watch::Receiver<bool>,
) {
    drop(states.borrow_and_update());
    loop {
        tokio::select! {
            () = crate::shutdown::stopped(&mut shutdown) => return,
            r = states.changed() => if r.is_err() { return },
        }
        tokio::time::sleep(COALESCE).await;
        let state = states.borrow_and_update().clone();
        let dir2 = dir.clone();
        match tokio::task::spawn_blocking(move || store(&dir2, &state)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot persist metadata copy: {e}"),
            Err(e) => tracing::error!("metadata persistence task failed: {e}"),
        }
    }
}
