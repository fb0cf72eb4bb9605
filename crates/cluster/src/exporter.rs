//! `GET /export`: a database's stored points as line protocol, from this
//! node's copies (`scope=local`) or from every owner of every shard merged
//! by the convergence rule (`scope=cluster`).

use std::sync::Arc;

use futures::{StreamExt, stream};
use tandem_datanode::DataError;
use tandem_datanode::client::DataClient;
use tandem_http::ports::{ExportRequest, ExportScope, ExportStream, Exporter, PortError, PortFuture};
use tandem_meta::{MetaClient, MetaError, MetaState};
use tandem_model::{NodeId, ShardId};
use tandem_storage::TimeRange;

use crate::row_merge::{RowChunks, merge_owner_rows};

/// The exporter of one node.
pub struct NodeExporter {
    meta: MetaClient,
    data: Arc<DataClient>,
    /// This node's id when it has the data role.
    local: Option<NodeId>,
}

impl NodeExporter {
    pub fn new(meta: MetaClient, data: Arc<DataClient>, local: Option<NodeId>) -> Self {
        Self { meta, data, local }
    }
}

fn port_error(e: MetaError) -> PortError {
    match e {
        MetaError::DatabaseNotFound(db) => PortError::DatabaseNotFound(db),
        MetaError::RetentionPolicyNotFound(rp) => PortError::RetentionPolicyNotFound(rp),
        other => PortError::Unavailable(other.to_string()),
    }
}

/// The shards of the request, in time order, with their owners.
fn shards_of(state: &MetaState, req: &ExportRequest) -> Result<Vec<(ShardId, Vec<NodeId>)>, MetaError> {
    let db = state.database(&req.db)?;
    let policies: Vec<_> = match &req.rp {
        Some(rp) => vec![db.retention_policy(Some(rp))?],
        None => db.retention_policies.values().collect(),
    };
    let mut groups: Vec<_> = policies
        .iter()
        .flat_map(|p| p.shard_groups.values())
        .filter(|g| g.start < req.end_ns && req.start_ns < g.end)
        .collect();
    groups.sort_by_key(|g| (g.start, g.id));
    Ok(groups
        .iter()
        .flat_map(|g| g.shards.iter().map(|s| (s.id, s.owners.clone())))
        .collect())
}

impl Exporter for NodeExporter {
    fn export(&self, req: ExportRequest) -> PortFuture<'static, Result<ExportStream, PortError>> {
        let meta = self.meta.clone();
        let data = Arc::clone(&self.data);
        let local = self.local;
        Box::pin(async move {
            let state = match meta.state().database(&req.db) {
                Ok(_) => meta.state(),
                Err(_) => meta.sync().await.map_err(port_error)?,
            };
            let shards = shards_of(&state, &req).map_err(port_error)?;
            if req.end_ns <= req.start_ns {
                return Ok(Box::pin(stream::empty()) as ExportStream);
            }
            let range = TimeRange::new(req.start_ns, req.end_ns - 1);
            let scope = req.scope;
            let per_shard = stream::iter(shards).then(move |(shard, owners)| {
                let data = Arc::clone(&data);
                async move {
                    let nodes: Vec<NodeId> = match scope {
                        ExportScope::Local => owners.into_iter().filter(|o| Some(*o) == local).collect(),
                        ExportScope::Cluster => owners,
                    };
                    let mut sources: Vec<RowChunks> = Vec::with_capacity(nodes.len());
                    let mut unreachable = Vec::new();
                    for node in nodes {
                        match data.export_rows(node, shard, range).await {
                            Ok(rows) => sources.push(Box::pin(rows.filter_map(move |chunk| async move {
                                match chunk {
                                    Ok(c) => Some(Ok(c)),
                                    // An owner that never stored anything for
                                    // the shard contributes nothing.
                                    Err(DataError::ShardNotFound(_)) => None,
                                    Err(e) => Some(Err(PortError::Unavailable(e.to_string()))),
                                }
                            }))),
                            // The data client's errors name the node.
                            Err(e) => unreachable.push(e.to_string()),
                        }
                    }
                    if sources.is_empty() && !unreachable.is_empty() {
                        let e = PortError::Unavailable(format!(
                            "no owner of shard {shard} could be read: {}",
                            unreachable.join("; ")
                        ));
                        return Box::pin(stream::once(async move { Err(e) })) as ExportStream;
                    }
                    for u in &unreachable {
                        tracing::warn!(%shard, "export skips an unreachable owner: {u}");
                    }
                    merge_owner_rows(sources)
                }
            });
            Ok(Box::pin(per_shard.flatten()) as ExportStream)
        })
    }
}
