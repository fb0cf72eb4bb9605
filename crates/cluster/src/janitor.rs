//! Removes local copies of shards the meta service deleted (retention,
//! `DROP DATABASE`, `DROP RETENTION POLICY`): their ids are tombstoned in
//! the metadata, and the data node follows.

use std::sync::Arc;

use tandem_meta::MetaClient;
use tandem_model::ShardId;
use tandem_storage::ShardStore;

/// Deletes tombstoned shards now and after every metadata change, until
/// `stop` resolves.
pub async fn drop_deleted_shards(
    meta: MetaClient,
    store: Arc<dyn ShardStore>,
    stop: impl Future<Output = ()>,
) {
    let mut changes = meta.subscribe();
    tokio::pin!(stop);
    loop {
        let state = changes.borrow_and_update().clone();
        let store2 = Arc::clone(&store);
        let doomed: Vec<ShardId> = {
            let local = tokio::task::spawn_blocking(move || store2.shards())
                .await
                .unwrap_or_default();
            local
                .into_iter()
                .filter(|s| state.is_shard_tombstoned(*s))
                .collect()
        };
        for shard in doomed {
            let store = Arc::clone(&store);
            match tokio::task::spawn_blocking(move || store.delete_shard(shard)).await {
                Ok(Ok(())) => tracing::info!(%shard, "deleted a shard the meta service dropped"),
                Ok(Err(e)) => tracing::warn!(%shard, "cannot delete dropped shard: {e}"),
                Err(e) => tracing::warn!(%shard, "shard deletion task failed: {e}"),
            }
        }
        tokio::select! {
            () = &mut stop => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}
