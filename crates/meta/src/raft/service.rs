//! Raft RPC server: hands peers' requests to the local raft node.

use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_proto::WIRE_VERSION;
use tandem_proto::raft::{RaftReply, RaftRequest, SnapshotChunk};
use tonic::{Request, Response, Status};

use super::{Raft, TypeConfig};

/// The gRPC `Raft` service of one meta node.
pub(crate) struct RaftService {
    raft: Raft,
    own_id: u32,
}

impl RaftService {
    pub(crate) fn new(raft: Raft, own_id: u32) -> Self {
        Self { raft, own_id }
    }

    fn check(&self, wire_version: u32, target_id: u32) -> Result<(), Status> {
        if wire_version != WIRE_VERSION {
            return Err(Status::failed_precondition(format!(
                "raft wire version {wire_version} not supported (this node speaks {WIRE_VERSION})"
            )));
        }
        if target_id != self.own_id {
            // A peer's address book points at the wrong process; refusing
            // keeps two ids from ever sharing one raft log.
            return Err(Status::failed_precondition(format!(
                "request for raft node {target_id} reached node {}",
                self.own_id
            )));
        }
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(bytes).map_err(|e| Status::invalid_argument(format!("bad raft request: {e}")))
}

fn reply<T: Serialize>(result: &T) -> Result<Response<RaftReply>, Status> {
    let bytes =
        serde_json::to_vec(result).map_err(|e| Status::internal(format!("encode raft reply: {e}")))?;
    Ok(Response::new(RaftReply { result: bytes.into() }))
}

#[tonic::async_trait]
impl tandem_proto::raft::raft_server::Raft for RaftService {
    async fn append_entries(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let request = request.into_inner();
        self.check(request.wire_version, request.target_id)?;
        let rpc: AppendEntriesRequest<TypeConfig> = decode(&request.body)?;
        reply(&self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let request = request.into_inner();
        self.check(request.wire_version, request.target_id)?;
        let rpc: VoteRequest<u64> = decode(&request.body)?;
        reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(&self, request: Request<SnapshotChunk>) -> Result<Response<RaftReply>, Status> {
        let chunk = request.into_inner();
        self.check(chunk.wire_version, chunk.target_id)?;
        let rpc = InstallSnapshotRequest::<TypeConfig> {
            vote: decode(&chunk.vote)?,
            meta: decode(&chunk.meta)?,
            offset: chunk.offset,
            data: chunk.data.to_vec(),
            done: chunk.done,
        };
        reply(&self.raft.install_snapshot(rpc).await)
    }
}
