//! Shared gRPC plumbing of the meta service and its client: channels, the
//! API client type, and the JSON bodies carried in protobuf `bytes` fields.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_proto::auth::{AttachSecret, ClusterSecret};
use tandem_proto::meta::meta_api_client::MetaApiClient;
use tonic::codegen::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::MetaError;

/// A meta API client that sends the cluster secret.
pub(crate) type ApiClient = MetaApiClient<InterceptedService<Channel, AttachSecret>>;

/// A tonic channel to `addr` (`host:port`) that connects on first use and
/// notices a dead peer through HTTP/2 keep-alives.
pub(crate) fn lazy_channel(addr: &str, connect_timeout: Duration) -> Result<Channel, MetaError> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| MetaError::Config(format!("bad address {addr:?}: {e}")))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(2))
        .keep_alive_timeout(Duration::from_secs(4))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

/// A meta API client for `addr`.
pub(crate) fn api_client(
    addr: &str,
    secret: &ClusterSecret,
    connect_timeout: Duration,
) -> Result<ApiClient, MetaError> {
    Ok(
        MetaApiClient::with_interceptor(lazy_channel(addr, connect_timeout)?, secret.attach())
            .max_decoding_message_size(256 * 1024 * 1024),
    )
}

/// JSON body of a protobuf `bytes` field.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Bytes {
    // Our types serialize infallibly (string keys or integer keys only).
    serde_json::to_vec(value).map(Bytes::from).unwrap_or_default()
}

/// Decodes a JSON body.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MetaError> {
    serde_json::from_slice(bytes).map_err(MetaError::wire)
}

/// Maps a transport-level failure to our error.
pub(crate) fn status_error(status: &tonic::Status) -> MetaError {
    match status.code() {
        tonic::Code::Unauthenticated => MetaError::Unauthenticated,
        tonic::Code::FailedPrecondition | tonic::Code::InvalidArgument => {
            MetaError::Wire(status.message().to_owned())
        }
        _ => MetaError::Unreachable(format!("{}: {}", status.code(), status.message())),
    }
}

/// An in-band error field: empty for success, else JSON of [`MetaError`].
pub(crate) fn error_field(result: &Result<(), MetaError>) -> Bytes {
    match result {
        Ok(()) => Bytes::new(),
        Err(e) => to_json(e),
    }
}

/// Reads an in-band error field.
pub(crate) fn read_error_field(bytes: &[u8]) -> Result<(), MetaError> {
    if bytes.is_empty() {
        Ok(())
    } else {
        Err(from_json(bytes)?)
    }
}
