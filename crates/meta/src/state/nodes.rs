//! Cluster members: meta nodes (from the raft membership) and data/write
//! nodes (registered through the meta API). Node ids are never reused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tandem_model::NodeId;

use super::MetaState;
use crate::MetaError;

/// Label key that placement reads to spread a shard's owners across zones.
pub const ZONE_LABEL: &str = "zone";

/// One process in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: NodeId,
    /// Random identity the process keeps in its data directory. Empty for a
    /// meta member that has not registered itself yet.
    pub uuid: String,
    /// Set while the node is a raft member (voter or learner).
    pub meta: Option<MetaEndpoints>,
    /// Set once the node registered a data or write role.
    pub data: Option<DataEndpoints>,
    /// Free-form labels; [`ZONE_LABEL`] drives placement.
    pub labels: BTreeMap<String, String>,
    /// A passive node accepts writes but owns no shards (Enterprise's
    /// `add-data -p`); tandem's write-only front-ends register as passive.
    pub passive: bool,
}

impl NodeInfo {
    /// Whether the node can own shards.
    pub fn is_active_data_node(&self) -> bool {
        self.data.is_some() && !self.passive
    }

    /// The zone label, if set.
    pub fn zone(&self) -> Option<&str> {
        self.labels.get(ZONE_LABEL).map(String::as_str)
    }
}

/// Addresses of a meta node.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetaEndpoints {
    /// Raft RPC address (`host:8089`).
    pub raft_addr: String,
    /// Meta API address (`host:8091`).
    pub api_addr: String,
}

/// Addresses of a data or write node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataEndpoints {
    /// Data-service gRPC address (`host:8088`); empty for a write-only node.
    pub rpc_addr: String,
    /// HTTP address (`host:8086`).
    pub http_addr: String,
}

/// What a data or write node sends when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRegistration {
    /// The process's persistent random identity.
    pub uuid: String,
    /// The id the process is configured with (a process that is also a meta
    /// node must use its raft id); `None` lets the meta service allocate one.
    /// Ignored when the uuid is registered already: its id is returned, and
    /// the caller should compare it with the one it asked for.
    pub requested_id: Option<NodeId>,
    pub data: Option<DataEndpoints>,
    pub passive: bool,
    /// Labels to set (merged over existing ones).
    pub labels: BTreeMap<String, String>,
}

impl MetaState {
    /// Registers or updates a node; returns its id.
    pub(super) fn register_node(&mut self, reg: &NodeRegistration) -> Result<(NodeId, bool), MetaError> {
        if reg.uuid.is_empty() {
            return Err(MetaError::NodeUuidRequired);
        }
        let existing = self.nodes.values().find(|n| n.uuid == reg.uuid).map(|n| n.id);
        let id = match (existing, reg.requested_id) {
            (Some(id), _) => id,
            (None, Some(id)) => {
                if self.retired_node_ids.contains(&id) {
                    return Err(MetaError::NodeIdRetired(id));
                }
                match self.nodes.get(&id) {
                    Some(n) if !n.uuid.is_empty() => return Err(MetaError::NodeIdTaken(id)),
                    _ => id,
                }
            }
            (None, None) => self.next_node_id(),
        };
        let mut node = self.nodes.get(&id).map(|n| (**n).clone()).unwrap_or(NodeInfo {
            id,
            uuid: String::new(),
            meta: None,
            data: None,
            labels: BTreeMap::new(),
            passive: false,
        });
        let before = node.clone();
        node.uuid.clone_from(&reg.uuid);
        if reg.data.is_some() {
            node.data.clone_from(&reg.data);
            node.passive = reg.passive;
        }
        for (k, v) in &reg.labels {
            node.labels.insert(k.clone(), v.clone());
        }
        let changed = node != before || !self.nodes.contains_key(&id);
        if changed {
            self.reserve_node_id(id);
            self.nodes.insert(id, Arc::new(node));
        }
        Ok((id, changed))
    }

    pub(super) fn set_node_labels(
        &mut self,
        id: NodeId,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<bool, MetaError> {
        let node = self.nodes.get_mut(&id).ok_or(MetaError::NodeNotFound(id))?;
        let mut labels = node.labels.clone();
        for k in remove {
            labels.remove(k);
        }
        for (k, v) in set {
            labels.insert(k.clone(), v.clone());
        }
        if labels == node.labels {
            return Ok(false);
        }
        Arc::make_mut(node).labels = labels;
        Ok(true)
    }

    /// Removes a data/write node: it leaves every shard's owner list and its
    /// id is retired. Meta members leave through a membership change.
    pub(super) fn remove_node(&mut self, id: NodeId) -> Result<bool, MetaError> {
        let node = self.nodes.get(&id).ok_or(MetaError::NodeNotFound(id))?;
        if node.meta.is_some() {
            return Err(MetaError::IsMetaMember(id));
        }
        self.nodes.remove(&id);
        self.retired_node_ids.insert(id);
        self.remove_owner_everywhere(id);
        Ok(true)
    }

    /// Mirrors the raft membership into the node table: every member gets
    /// its meta endpoints, nodes that left lose the meta role and, with no
    /// role left, are removed and their ids retired.
    pub(super) fn sync_meta_members(&mut self, members: &BTreeMap<NodeId, MetaEndpoints>) -> bool {
        let mut changed = false;
        for (&id, endpoints) in members {
            self.reserve_node_id(id);
            let node = self.nodes.entry(id).or_insert_with(|| {
                changed = true;
                Arc::new(NodeInfo {
                    id,
                    uuid: String::new(),
                    meta: None,
                    data: None,
                    labels: BTreeMap::new(),
                    passive: false,
                })
            });
            if node.meta.as_ref() != Some(endpoints) {
                Arc::make_mut(node).meta = Some(endpoints.clone());
                changed = true;
            }
        }
        let gone: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|n| n.meta.is_some() && !members.contains_key(&n.id))
            .map(|n| n.id)
            .collect();
        for id in gone {
            changed = true;
            let Some(node) = self.nodes.get_mut(&id) else {
                continue;
            };
            if node.data.is_some() {
                Arc::make_mut(node).meta = None;
            } else {
                self.nodes.remove(&id);
                self.retired_node_ids.insert(id);
            }
        }
        changed
    }

    /// Whether `id` may become a new meta member: never used, or used by
    /// nothing yet. An id a data node holds is refused too, since nothing
    /// proves the new meta process is that node.
    pub(crate) fn check_new_meta_id(&self, id: NodeId) -> Result<(), MetaError> {
        if self.retired_node_ids.contains(&id) {
            return Err(MetaError::NodeIdRetired(id));
        }
        match self.nodes.get(&id) {
            Some(n) if n.meta.is_some() => Err(MetaError::AlreadyMetaNode(id)),
            Some(_) => Err(MetaError::NodeIdTaken(id)),
            None => Ok(()),
        }
    }

    fn next_node_id(&self) -> NodeId {
        NodeId(self.next_node_id.max(1))
    }

    fn reserve_node_id(&mut self, id: NodeId) {
        self.next_node_id = self.next_node_id.max(id.0.saturating_add(1));
    }

    /// Non-passive data nodes in id order: the candidates for shard owners.
    pub fn active_data_nodes(&self) -> Vec<&NodeInfo> {
        self.nodes
            .values()
            .filter(|n| n.is_active_data_node())
            .map(|n| &**n)
            .collect()
    }

    /// Every node, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.nodes.values()
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> Option<&Arc<NodeInfo>> {
        self.nodes.get(&id)
    }

    /// The node registered with `uuid`.
    pub fn node_by_uuid(&self, uuid: &str) -> Option<&Arc<NodeInfo>> {
        self.nodes.values().find(|n| n.uuid == uuid)
    }

    /// Ids of removed nodes; they are never handed out again.
    pub fn retired_node_ids(&self) -> &BTreeSet<NodeId> {
        &self.retired_node_ids
    }
}
