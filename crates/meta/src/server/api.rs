//! The meta API gRPC service: a thin adapter from protobuf to [`MetaNode`].

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tandem_model::NodeId;
use tandem_proto::WIRE_VERSION;
use tandem_proto::meta::{
    AddMetaNodeRequest, ClusterStatusReply, ClusterStatusRequest, MembershipReply, MetaMember, ProposeReply,
    ProposeRequest, ReadVersionReply, ReadVersionRequest, RemoveMetaNodeRequest, WatchEvent, WatchRequest,
};
use tonic::{Request, Response, Status};

use super::MetaNode;
use super::watch_stream::watch_stream;
use crate::command::Proposal;
use crate::grpc::{error_field, from_json, to_json};
use crate::state::MetaEndpoints;

pub(crate) struct ApiService {
    node: Arc<MetaNode>,
}

impl ApiService {
    pub(crate) fn new(node: Arc<MetaNode>) -> Self {
        Self { node }
    }
}

fn check_wire(version: u32) -> Result<(), Status> {
    if version == WIRE_VERSION {
        Ok(())
    } else {
        Err(Status::failed_precondition(format!(
            "meta wire version {version} not supported (this node speaks {WIRE_VERSION})"
        )))
    }
}

type WatchEvents = Pin<Box<dyn Stream<Item = Result<WatchEvent, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl tandem_proto::meta::meta_api_server::MetaApi for ApiService {
    async fn propose(&self, request: Request<ProposeRequest>) -> Result<Response<ProposeReply>, Status> {
        let request = request.into_inner();
        check_wire(request.wire_version)?;
        let proposal: Proposal =
            from_json(&request.proposal).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let reply = match self.node.propose(proposal, request.forwarded).await {
            Ok(reply) => ProposeReply {
                version: reply.version,
                result: to_json(&reply.result),
            },
            Err(e) => ProposeReply {
                version: self.node.state().version(),
                result: to_json(&Err::<(), _>(e)),
            },
        };
        Ok(Response::new(reply))
    }

    async fn read_version(
        &self,
        request: Request<ReadVersionRequest>,
    ) -> Result<Response<ReadVersionReply>, Status> {
        let request = request.into_inner();
        check_wire(request.wire_version)?;
        let reply = match self.node.read_version(request.forwarded).await {
            Ok(version) => ReadVersionReply {
                version,
                error: Default::default(),
            },
            Err(e) => ReadVersionReply {
                version: 0,
                error: error_field(&Err(e)),
            },
        };
        Ok(Response::new(reply))
    }

    type WatchStream = WatchEvents;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        check_wire(request.wire_version)?;
        let stream = watch_stream(
            self.node.feed.clone(),
            request.since_version,
            request.cluster_id,
            self.node.shutdown.clone(),
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn cluster_status(
        &self,
        request: Request<ClusterStatusRequest>,
    ) -> Result<Response<ClusterStatusReply>, Status> {
        check_wire(request.into_inner().wire_version)?;
        let s = self.node.cluster_status();
        let members = s
            .endpoints
            .iter()
            .map(|(id, e)| MetaMember {
                id: id.0,
                raft_addr: e.raft_addr.clone(),
                api_addr: e.api_addr.clone(),
                voter: s.voters.contains(id),
            })
            .collect();
        Ok(Response::new(ClusterStatusReply {
            node_id: s.node_id.0,
            leader_id: s.leader.map_or(0, |l| l.0),
            term: s.term,
            members,
            last_log_index: s.last_log_index,
            last_applied_index: s.last_applied_index,
            state_version: s.state_version,
            server_state: s.server_state,
            clock_ns: s.clock_ns,
        }))
    }

    async fn add_meta_node(
        &self,
        request: Request<AddMetaNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let r = request.into_inner();
        check_wire(r.wire_version)?;
        let endpoints = MetaEndpoints {
            raft_addr: r.raft_addr,
            api_addr: r.api_addr,
        };
        let result = self
            .node
            .add_meta_node(NodeId(r.id), endpoints, r.forwarded)
            .await;
        Ok(Response::new(MembershipReply {
            error: error_field(&result),
        }))
    }

    async fn remove_meta_node(
        &self,
        request: Request<RemoveMetaNodeRequest>,
    ) -> Result<Response<MembershipReply>, Status> {
        let r = request.into_inner();
        check_wire(r.wire_version)?;
        let result = self.node.remove_meta_node(NodeId(r.id), r.forwarded).await;
        Ok(Response::new(MembershipReply {
            error: error_field(&result),
        }))
    }
}
