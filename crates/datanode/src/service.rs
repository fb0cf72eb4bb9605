//! The gRPC data service: a thin adapter from protobuf to [`DataNode`].

use std::pin::Pin;
use std::time::{Duration, UNIX_EPOCH};

use futures::{Stream, StreamExt};
use tandem_model::{PointsBuf, ShardId};
use tandem_proto::auth::{ClusterSecret, RequireSecret};
use tandem_proto::data::data_service_server::{DataService, DataServiceServer};
use tandem_proto::data::{
    CreateShardRequest, CreateShardResponse, DeleteShardRequest, DeleteShardResponse, DigestBucket,
    ExportChunk, ExportShardRequest, ShardDigestRequest, ShardDigestResponse, ShardInfoRequest,
    ShardInfoResponse, ShardStatus, WriteErrorCode, WriteShardRequest, WriteShardResponse,
};
use tandem_proto::{WIRE_VERSION, data};
use tandem_storage::TimeRange;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use crate::error::DataError;
use crate::node::DataNode;

/// Largest WriteShard message accepted (and sent): a 25 MB write body at any
/// replication factor encodes well below it. Default 64 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The tonic service, behind the cluster-secret check.
pub type DataServer = InterceptedService<DataServiceServer<DataGrpc>, RequireSecret>;

/// Builds the data service for `node`.
pub fn data_server(node: DataNode, secret: &ClusterSecret, max_message_bytes: usize) -> DataServer {
    let svc = DataServiceServer::new(DataGrpc { node })
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    InterceptedService::new(svc, secret.require())
}

/// Implements the generated service trait over a [`DataNode`].
#[derive(Debug, Clone)]
pub struct DataGrpc {
    node: DataNode,
}

fn check_wire(v: u32) -> Result<(), Status> {
    if v == 0 || v > WIRE_VERSION {
        return Err(Status::failed_precondition(format!(
            "unsupported wire version {v}; this node speaks up to {WIRE_VERSION}"
        )));
    }
    Ok(())
}

fn status(e: DataError) -> Status {
    match e {
        DataError::ShardNotFound(_) => Status::not_found(e.to_string()),
        DataError::ShardDeleted(_) => Status::not_found(e.to_string()),
        DataError::Rejected(_) | DataError::PartialWrite { .. } => Status::invalid_argument(e.to_string()),
        DataError::StaleRouting(_) => Status::failed_precondition(e.to_string()),
        DataError::CacheFull(_) => Status::resource_exhausted(e.to_string()),
        DataError::Unavailable(_) => Status::unavailable(e.to_string()),
    }
}

fn write_error(e: &DataError) -> data::WriteError {
    let (code, dropped) = match e {
        DataError::PartialWrite { reason, dropped } if reason.starts_with("field type conflict") => {
            (WriteErrorCode::FieldTypeConflict, *dropped)
        }
        DataError::PartialWrite { dropped, .. } => (WriteErrorCode::PartialWrite, *dropped),
        DataError::StaleRouting(_) | DataError::ShardNotFound(_) => (WriteErrorCode::StaleRouting, 0),
        DataError::ShardDeleted(_) => (WriteErrorCode::ShardDeleted, 0),
        DataError::CacheFull(_) => (WriteErrorCode::CacheFull, 0),
        DataError::Unavailable(_) => (WriteErrorCode::Unavailable, 0),
        DataError::Rejected(_) => (WriteErrorCode::Rejected, 0),
    };
    let message = match e {
        // The coordinator rebuilds the `partial write: ... dropped=N` text.
        DataError::PartialWrite { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    data::WriteError {
        code: code as i32,
        message,
        dropped: dropped as u64,
    }
}

#[tonic::async_trait]
impl DataService for DataGrpc {
    async fn write_shard(
        &self,
        req: Request<WriteShardRequest>,
    ) -> Result<Response<WriteShardResponse>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        let reply = |error: Option<data::WriteError>, written: usize, hlc_ns: u64| {
            Response::new(WriteShardResponse {
                wire_version: WIRE_VERSION,
                error,
                written: written as u64,
                hlc_ns,
            })
        };
        let Some(version) = req.version else {
            let e = DataError::Rejected("write without a version".into());
            return Ok(reply(Some(write_error(&e)), 0, 0));
        };
        let points = match PointsBuf::from_bytes(req.points.to_vec()) {
            Ok(p) => p,
            Err(e) => {
                return Ok(reply(
                    Some(write_error(&DataError::Rejected(e.to_string()))),
                    0,
                    0,
                ));
            }
        };
        match self
            .node
            .write_shard(ShardId(req.shard_id), req.meta_version, version.into(), &points)
            .await
        {
            Ok(stored) => Ok(reply(None, stored.written, stored.hlc_ns)),
            Err(e) => Ok(reply(Some(write_error(&e)), 0, 0)),
        }
    }

    async fn create_shard(
        &self,
        req: Request<CreateShardRequest>,
    ) -> Result<Response<CreateShardResponse>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        self.node
            .create_shard(ShardId(req.shard_id))
            .await
            .map_err(status)?;
        Ok(Response::new(CreateShardResponse {}))
    }

    async fn delete_shard(
        &self,
        req: Request<DeleteShardRequest>,
    ) -> Result<Response<DeleteShardResponse>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        self.node
            .delete_shard(ShardId(req.shard_id))
            .await
            .map_err(status)?;
        Ok(Response::new(DeleteShardResponse {}))
    }

    async fn shard_info(
        &self,
        req: Request<ShardInfoRequest>,
    ) -> Result<Response<ShardInfoResponse>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        let wanted = req.shard_ids.into_iter().map(ShardId).collect();
        let (infos, missing) = self.node.shard_info(wanted).await.map_err(status)?;
        let shards = infos
            .into_iter()
            .map(|i| ShardStatus {
                shard_id: i.shard.0,
                size_on_disk: i.size_on_disk,
                cache_bytes: i.cache_bytes,
                point_count: i.point_count,
                file_count: i.file_count as u64,
                last_modified_ns: i
                    .last_modified
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64),
                cold: i.cold,
            })
            .collect();
        Ok(Response::new(ShardInfoResponse {
            shards,
            missing: missing.into_iter().map(|s| s.0).collect(),
            node_uuid: self.node.store().node_uuid().to_owned(),
        }))
    }

    type ExportShardStream = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send>>;

    async fn export_shard(
        &self,
        req: Request<ExportShardRequest>,
    ) -> Result<Response<Self::ExportShardStream>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        let range = TimeRange::new(req.start_ns.unwrap_or(i64::MIN), req.end_ns.unwrap_or(i64::MAX));
        let rx = self.node.export_rows(ShardId(req.shard_id), range);
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|chunk| match chunk {
            Ok(rows) => Ok(ExportChunk {
                rows: rows.into_bytes().into(),
            }),
            Err(e) => Err(status(e)),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn shard_digest(
        &self,
        req: Request<ShardDigestRequest>,
    ) -> Result<Response<ShardDigestResponse>, Status> {
        let req = req.into_inner();
        check_wire(req.wire_version)?;
        let bucket = Duration::from_nanos(req.bucket_ns.max(1));
        let d = self
            .node
            .digest(ShardId(req.shard_id), bucket)
            .await
            .map_err(status)?;
        let buckets = d
            .buckets
            .into_iter()
            .map(|b| DigestBucket {
                start: b.start,
                cells: b.cells,
                hash: b.hash.to_vec().into(),
            })
            .collect();
        Ok(Response::new(ShardDigestResponse { buckets }))
    }
}

/// Serves the data service on `listener` until `shutdown` resolves, over
/// TLS when `tls` is given.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: DataServer,
    tls: Option<tonic::transport::ServerTlsConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let mut builder = tonic::transport::Server::builder().tcp_nodelay(true);
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    builder
        .add_service(server)
        .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), shutdown)
        .await
}
