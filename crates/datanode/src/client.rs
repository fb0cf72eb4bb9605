//! How a coordinator reaches shard owners: its own node through the same
//! [`DataNode`] code path the gRPC service runs, every other node over
//! pooled gRPC channels.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_coordinator::ports::{OwnerAck, OwnerError, OwnerTransport, PortFuture, ShardWrite};
use tandem_model::NodeId;
use tandem_proto::WIRE_VERSION;
use tandem_proto::auth::{AttachSecret, ClusterSecret};
use tandem_proto::data::data_service_client::DataServiceClient;
use tandem_proto::data::{WriteErrorCode, WriteShardRequest};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::error::DataError;
use crate::node::DataNode;
use crate::ownership::OwnershipView;
use crate::service::DEFAULT_MAX_MESSAGE_BYTES;

/// Client settings (`[data-client]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataClientConfig {
    /// Connection attempt limit. Default: `1s` (Enterprise's dial-timeout).
    #[serde(with = "tandem_model::duration")]
    pub dial_timeout: Duration,
    /// HTTP/2 connections kept per destination node; requests are spread
    /// over them. Default: 2.
    pub channels_per_node: usize,
    /// Largest WriteShard message sent; a larger batch is rejected without
    /// sending (not retryable). Default: 64 MiB.
    pub max_message_bytes: usize,
}

impl Default for DataClientConfig {
    fn default() -> Self {
        Self {
            dial_timeout: Duration::from_secs(1),
            channels_per_node: 2,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

type Client = DataServiceClient<InterceptedService<Channel, AttachSecret>>;

struct Pool {
    address: String,
    channels: Vec<Channel>,
    next: AtomicUsize,
}

/// The coordinator's transport to owners.
pub struct DataClient {
    local: Option<DataNode>,
    directory: Arc<dyn OwnershipView>,
    secret: ClusterSecret,
    config: DataClientConfig,
    tls: Option<tonic::transport::ClientTlsConfig>,
    pools: Mutex<HashMap<NodeId, Arc<Pool>>>,
}

impl std::fmt::Debug for DataClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataClient")
            .field("local", &self.local.as_ref().map(DataNode::node))
            .finish_non_exhaustive()
    }
}

/// Maps the data node's refusal to what the coordinator acts on.
pub fn owner_error(e: DataError) -> OwnerError {
    match e {
        DataError::PartialWrite { reason, dropped } => OwnerError::PartialWrite { reason, dropped },
        DataError::StaleRouting(s) | DataError::ShardNotFound(s) => OwnerError::StaleRouting(s),
        DataError::ShardDeleted(s) => OwnerError::ShardDeleted(s),
        DataError::CacheFull(_) => OwnerError::CacheFull,
        DataError::Unavailable(m) => OwnerError::Unavailable(m),
        DataError::Rejected(m) => OwnerError::Rejected(m),
    }
}

impl DataClient {
    /// `local`: this node's data role, if it has one (writes to it skip the
    /// network). `directory` resolves node ids to data-service addresses.
    pub fn new(
        local: Option<DataNode>,
        directory: Arc<dyn OwnershipView>,
        secret: ClusterSecret,
        config: DataClientConfig,
    ) -> Self {
        Self {
            local,
            directory,
            secret,
            config,
            tls: None,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Dials other nodes over TLS (see [`crate::tls::InternalTls`]).
    pub fn with_tls(mut self, tls: tonic::transport::ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// A client for `node`, reusing pooled channels (connections are made
    /// lazily, on first use, within the dial timeout).
    pub fn client(&self, node: NodeId) -> Result<Client, OwnerError> {
        let address = self
            .directory
            .data_address(node)
            .ok_or_else(|| OwnerError::Unavailable(format!("no address known for node {node}")))?;
        let pool = {
            let mut pools = self
                .pools
                .lock()
                .map_err(|_| OwnerError::Unavailable("client pool poisoned".into()))?;
            match pools.get(&node) {
                Some(p) if p.address == address => Arc::clone(p),
                _ => {
                    let scheme = if self.tls.is_some() { "https" } else { "http" };
                    let mut endpoint =
                        Endpoint::from_shared(format!("{scheme}://{address}")).map_err(|e| {
                            OwnerError::Rejected(format!("bad address {address:?} for node {node}: {e}"))
                        })?;
                    if let Some(tls) = &self.tls {
                        endpoint = endpoint.tls_config(tls.clone()).map_err(|e| {
                            OwnerError::Rejected(format!("TLS settings for node {node}: {e}"))
                        })?;
                    }
                    let endpoint = endpoint
                        .connect_timeout(self.config.dial_timeout)
                        .tcp_nodelay(true)
                        .http2_keep_alive_interval(Duration::from_secs(10))
                        .keep_alive_timeout(Duration::from_secs(5));
                    let channels = (0..self.config.channels_per_node.max(1))
                        .map(|_| endpoint.connect_lazy())
                        .collect();
                    let p = Arc::new(Pool {
                        address,
                        channels,
                        next: AtomicUsize::new(0),
                    });
                    pools.insert(node, Arc::clone(&p));
                    p
                }
            }
        };
        let i = pool.next.fetch_add(1, Ordering::Relaxed) % pool.channels.len();
        let client = DataServiceClient::with_interceptor(pool.channels[i].clone(), self.secret.attach())
            .max_encoding_message_size(self.config.max_message_bytes)
            .max_decoding_message_size(self.config.max_message_bytes);
        Ok(client)
    }
}

/// One owner's copy of a shard as a stream of versioned row chunks.
pub type RowChunkStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<tandem_model::PointsBuf, DataError>> + Send>>;

impl DataClient {
    /// Streams `node`'s copy of `shard` within `range` (inclusive) as
    /// versioned rows: from the local data node when `node` is this one,
    /// over the data service otherwise.
    pub async fn export_rows(
        &self,
        node: NodeId,
        shard: tandem_model::ShardId,
        range: tandem_storage::TimeRange,
    ) -> Result<RowChunkStream, DataError> {
        use futures::StreamExt;
        if let Some(local) = self.local.as_ref().filter(|l| l.node() == node) {
            let rx = local.export_rows(shard, range);
            return Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)));
        }
        let mut client = self
            .client(node)
            .map_err(|e| DataError::Unavailable(e.to_string()))?;
        let req = tandem_proto::data::ExportShardRequest {
            wire_version: WIRE_VERSION,
            shard_id: shard.0,
            start_ns: Some(range.start),
            end_ns: Some(range.end),
        };
        let stream = client
            .export_shard(req)
            .await
            .map_err(|s| DataError::Unavailable(format!("node {node}: {}", status_text(&s))))?
            .into_inner();
        Ok(Box::pin(stream.map(move |chunk| {
            match chunk {
                Ok(c) => tandem_model::PointsBuf::from_bytes(c.rows.to_vec())
                    .map_err(|e| DataError::Rejected(format!("node {node} sent bad rows: {e}"))),
                Err(s) if s.code() == Code::NotFound => Err(DataError::ShardNotFound(shard)),
                Err(s) => Err(DataError::Unavailable(format!(
                    "node {node}: {}",
                    status_text(&s)
                ))),
            }
        })))
    }
}

/// What a status says, for people: a transport failure's message is
/// tonic's generic "tcp connect error" or "transport error", so the OS
/// error underneath it (refused, reset, unreachable) is named instead.
fn status_text(s: &tonic::Status) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(s);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                _ => io.to_string(),
            };
        }
        cause = e.source();
    }
    s.message().to_owned()
}

fn status_error(node: NodeId, s: &tonic::Status) -> OwnerError {
    let text = status_text(s);
    match s.code() {
        // ResourceExhausted is the peer refusing a message over its size
        // limit: the same bytes would be refused again.
        Code::OutOfRange | Code::InvalidArgument | Code::FailedPrecondition | Code::ResourceExhausted => {
            OwnerError::Rejected(format!("node {node}: {text}"))
        }
        _ => OwnerError::Unavailable(format!("node {node}: {text}")),
    }
}

impl OwnerTransport for DataClient {
    fn write_shard(
        &self,
        node: NodeId,
        write: ShardWrite,
    ) -> PortFuture<'static, Result<OwnerAck, OwnerError>> {
        if let Some(local) = self.local.as_ref().filter(|l| l.node() == node).cloned() {
            return Box::pin(async move {
                local
                    .write_shard(write.shard, write.meta_version, write.version, &write.points)
                    .await
                    .map(|s| OwnerAck { hlc_ns: s.hlc_ns })
                    .map_err(owner_error)
            });
        }
        let size = write.points.as_bytes().len();
        if size > self.config.max_message_bytes {
            let msg = format!(
                "batch of {size} bytes exceeds the {}-byte message limit",
                self.config.max_message_bytes
            );
            return Box::pin(async move { Err(OwnerError::Rejected(msg)) });
        }
        let client = self.client(node);
        Box::pin(async move {
            let mut client = client?;
            let req = WriteShardRequest {
                wire_version: WIRE_VERSION,
                shard_id: write.shard.0,
                meta_version: write.meta_version,
                version: Some(write.version.into()),
                points: write.points.as_bytes().to_vec().into(),
            };
            let resp = client
                .write_shard(req)
                .await
                .map_err(|s| status_error(node, &s))?
                .into_inner();
            let Some(err) = resp.error else {
                return Ok(OwnerAck { hlc_ns: resp.hlc_ns });
            };
            let shard = write.shard;
            Err(
                match WriteErrorCode::try_from(err.code).unwrap_or(WriteErrorCode::Unavailable) {
                    // A conflict always drops points: influxd reports it as a
                    // partial write even when every point was dropped.
                    WriteErrorCode::FieldTypeConflict | WriteErrorCode::PartialWrite => {
                        OwnerError::PartialWrite {
                            reason: err.message,
                            dropped: err.dropped as usize,
                        }
                    }
                    WriteErrorCode::StaleRouting => OwnerError::StaleRouting(shard),
                    WriteErrorCode::ShardDeleted => OwnerError::ShardDeleted(shard),
                    WriteErrorCode::CacheFull => OwnerError::CacheFull,
                    WriteErrorCode::Rejected => OwnerError::Rejected(err.message),
                    WriteErrorCode::Unavailable | WriteErrorCode::Unspecified => {
                        OwnerError::Unavailable(err.message)
                    }
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_statuses_map_to_retryable_or_not() {
        let table = [
            (Code::Unavailable, true),
            (Code::DeadlineExceeded, true),
            (Code::Internal, true),
            (Code::Unauthenticated, true),
            (Code::ResourceExhausted, false),
            (Code::InvalidArgument, false),
            (Code::OutOfRange, false),
            (Code::FailedPrecondition, false),
        ];
        for (code, retryable) in table {
            let e = status_error(NodeId(2), &tonic::Status::new(code, "why"));
            assert_eq!(e.is_retryable(), retryable, "{code:?} -> {e:?}");
            assert_eq!(e.to_string(), "node 2: why");
        }
    }

    #[test]
    fn transport_failures_name_the_os_error() {
        use std::io::{Error, ErrorKind};
        let wrapped = |kind: ErrorKind| {
            // tonic wraps the socket error in its own transport error.
            #[derive(Debug, thiserror::Error)]
            #[error("tcp connect error")]
            struct Connect(#[source] Error);
            tonic::Status::from_error(Box::new(Connect(Error::from(kind))))
        };
        let table = [
            (
                wrapped(ErrorKind::ConnectionRefused),
                "node 2: connection refused",
            ),
            (wrapped(ErrorKind::ConnectionReset), "node 2: connection reset"),
            (wrapped(ErrorKind::TimedOut), "node 2: timed out"),
            (tonic::Status::unavailable("no route"), "node 2: no route"),
        ];
        for (status, want) in table {
            assert_eq!(status_error(NodeId(2), &status).to_string(), want, "{status:?}");
        }
    }
}
