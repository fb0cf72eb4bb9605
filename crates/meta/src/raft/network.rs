//! Raft RPC client: openraft's network traits over tonic.
//!
//! One lazily connected channel per peer. Connection failures map to
//! `Unreachable` (openraft backs off), other transport failures to
//! `Network`, and the peer's own raft error to `RemoteError`. A client for
//! the node itself is never built: every call on it fails.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_proto::WIRE_VERSION;
use tandem_proto::auth::{AttachSecret, ClusterSecret};
use tandem_proto::raft::raft_client::RaftClient;
use tandem_proto::raft::{RaftReply, RaftRequest, SnapshotChunk};
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

use super::TypeConfig;
use crate::grpc::lazy_channel;
use crate::state::MetaEndpoints;

/// Pause between attempts to reach an unreachable peer.
const UNREACHABLE_RETRY: Duration = Duration::from_millis(200);

type Client = RaftClient<InterceptedService<Channel, AttachSecret>>;
type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, MetaEndpoints, RaftError<u64, E>>>;

/// A plain error for the cases that have no other error value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

/// Creates raft clients for peers.
pub(crate) struct NetworkFactory {
    own_id: u64,
    secret: ClusterSecret,
    connect_timeout: Duration,
}

impl NetworkFactory {
    pub(crate) fn new(own_id: u64, secret: ClusterSecret, connect_timeout: Duration) -> Self {
        Self {
            own_id,
            secret,
            connect_timeout,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &MetaEndpoints) -> PeerClient {
        let client = if target == self.own_id {
            Err(format!(
                "refusing to build a raft client from node {target} to itself"
            ))
        } else {
            lazy_channel(&node.raft_addr, self.connect_timeout)
                .map(|ch| RaftClient::with_interceptor(ch, self.secret.attach()))
                .map_err(|e| format!("node {target}: {e}"))
        };
        if let Err(e) = &client {
            tracing::error!(target, "{e}");
        }
        PeerClient { target, client }
    }
}

/// Raft client for one peer.
pub(crate) struct PeerClient {
    target: u64,
    client: Result<Client, String>,
}

fn transport_error<E: std::error::Error>(status: &tonic::Status) -> RPCError<u64, MetaEndpoints, E> {
    let err = TransportError(format!("{}: {}", status.code(), status.message()));
    match status.code() {
        Code::Unavailable | Code::Unauthenticated | Code::FailedPrecondition => {
            RPCError::Unreachable(Unreachable::new(&err))
        }
        _ => RPCError::Network(NetworkError::new(&err)),
    }
}

fn local_error<E: std::error::Error>(msg: String) -> RPCError<u64, MetaEndpoints, E> {
    RPCError::Unreachable(Unreachable::new(&TransportError(msg)))
}

impl PeerClient {
    fn client<E: std::error::Error>(&self) -> Result<Client, RPCError<u64, MetaEndpoints, E>> {
        self.client.clone().map_err(local_error)
    }

    fn target_id(&self) -> u32 {
        u32::try_from(self.target).unwrap_or(u32::MAX)
    }

    /// Decodes the peer's `Result<T, RaftError<E>>`.
    fn decode<T: DeserializeOwned, E: std::error::Error + DeserializeOwned>(
        &self,
        reply: RaftReply,
    ) -> RpcResult<T, E> {
        let result: Result<T, RaftError<u64, E>> = serde_json::from_slice(&reply.result).map_err(|e| {
            RPCError::Network(NetworkError::new(&TransportError(format!("bad raft reply: {e}"))))
        })?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn request<T: Serialize, E: std::error::Error>(
        &self,
        body: &T,
    ) -> Result<RaftRequest, RPCError<u64, MetaEndpoints, E>> {
        let body = serde_json::to_vec(body)
            .map_err(|e| RPCError::Network(NetworkError::new(&TransportError(format!("encode: {e}")))))?;
        Ok(RaftRequest {
            wire_version: WIRE_VERSION,
            body: body.into(),
            target_id: self.target_id(),
        })
    }
}

async fn with_ttl<T, E: std::error::Error>(
    option: &RPCOption,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, RPCError<u64, MetaEndpoints, E>> {
    match tokio::time::timeout(option.hard_ttl(), call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(status)) => Err(transport_error(&status)),
        Err(_) => Err(RPCError::Network(NetworkError::new(&TransportError(
            "raft rpc timed out".into(),
        )))),
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        let mut client = self.client()?;
        let request = self.request(&rpc)?;
        let reply = with_ttl(&option, async move { client.append_entries(request).await }).await?;
        self.decode(reply.into_inner())
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        let mut client = self.client()?;
        let vote = serde_json::to_vec(&rpc.vote).map_err(|e| local_error(format!("encode vote: {e}")))?;
        let meta =
            serde_json::to_vec(&rpc.meta).map_err(|e| local_error(format!("encode snapshot meta: {e}")))?;
        let chunk = SnapshotChunk {
            wire_version: WIRE_VERSION,
            vote: vote.into(),
            meta: meta.into(),
            offset: rpc.offset,
            data: rpc.data.into(),
            done: rpc.done,
            target_id: self.target_id(),
        };
        let reply = with_ttl(&option, async move { client.install_snapshot(chunk).await }).await?;
        self.decode(reply.into_inner())
    }

    /// Retry an unreachable peer every 200 ms (openraft's default is 500 ms),
    /// so a restarted node catches up soon after it is back.
    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(UNREACHABLE_RETRY))
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> RpcResult<VoteResponse<u64>> {
        let mut client = self.client()?;
        let request = self.request(&rpc)?;
        let reply = with_ttl(&option, async move { client.vote(request).await }).await?;
        self.decode(reply.into_inner())
    }
}
