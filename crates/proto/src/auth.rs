//! Authentication of internal gRPC traffic with the cluster's shared secret.
//!
//! Every internal service (raft, meta API, data service) sits behind
//! [`RequireSecret`], and every internal client sends the secret with
//! [`AttachSecret`]. The secret travels in the [`SECRET_HEADER`] metadata
//! entry and is compared in constant time.
//!
//! An empty secret disables the check on both sides; that is meant for a
//! single-process or loopback-only setup and callers should log a warning.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// gRPC metadata key carrying the shared secret.
pub const SECRET_HEADER: &str = "x-tandem-secret";

/// The message of the `Unauthenticated` status a bad or missing secret gets.
pub const UNAUTHENTICATED_MESSAGE: &str = "missing or wrong cluster secret";

/// Why a configured secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidSecret {
    /// The secret must be visible ASCII (it travels as an HTTP/2 header value).
    NotVisibleAscii,
}

impl std::error::Error for InvalidSecret {}

impl std::fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvalidSecret::NotVisibleAscii => {
                f.write_str("cluster shared secret must consist of visible ASCII characters")
            }
        }
    }
}

/// The cluster's shared secret. Cheap to clone.
#[derive(Clone)]
pub struct ClusterSecret {
    secret: Arc<str>,
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.debug_struct("ClusterSecret")
            .field("set", &!self.secret.is_empty())
            .finish()
    }
}

impl ClusterSecret {
    /// Validates `secret` (visible ASCII only; empty means "no authentication").
    pub fn new(secret: &str) -> Result<Self, InvalidSecret> {
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidSecret::NotVisibleAscii);
        }
        Ok(Self {
            secret: Arc::from(secret),
        })
    }

    /// A secret that disables authentication.
    pub fn disabled() -> Self {
        Self {
            secret: Arc::from(""),
        }
    }

    /// Whether authentication is turned off.
    pub fn is_disabled(&self) -> bool {
        self.secret.is_empty()
    }

    /// Constant-time comparison with a presented value (the length of the
    /// secret is not hidden).
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.secret.as_bytes().ct_eq(presented).into()
    }

    /// Server-side interceptor rejecting requests without the secret.
    pub fn require(&self) -> RequireSecret {
        RequireSecret { secret: self.clone() }
    }

    /// Client-side interceptor adding the secret to every request.
    pub fn attach(&self) -> AttachSecret {
        AttachSecret { secret: self.clone() }
    }
}

/// Server interceptor: answers `Unauthenticated` unless the request carries
/// the cluster secret.
#[derive(Clone, Debug)]
pub struct RequireSecret {
    secret: ClusterSecret,
}

impl Interceptor for RequireSecret {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.secret.is_disabled() {
            return Ok(request);
        }
        match request.metadata().get(SECRET_HEADER) {
            Some(v) if self.secret.matches(v.as_bytes()) => Ok(request),
            _ => Err(Status::unauthenticated(UNAUTHENTICATED_MESSAGE)),
        }
    }
}

/// Client interceptor: adds the cluster secret to every request.
#[derive(Clone, Debug)]
pub struct AttachSecret {
    secret: ClusterSecret,
}

impl Interceptor for AttachSecret {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if !self.secret.is_disabled() {
            // Validated as visible ASCII in `ClusterSecret::new`, so this parse
            // cannot fail; map the impossible case to an error anyway.
            let value = MetadataValue::try_from(&*self.secret.secret)
                .map_err(|_| Status::internal("cluster secret is not a valid header value"))?;
            request.metadata_mut().insert(SECRET_HEADER, value);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(server: &str, client: Option<&str>, accepted: bool) {
        let server = ClusterSecret::new(server).unwrap();
        let mut request = Request::new(());
        if let Some(c) = client {
            request = ClusterSecret::new(c).unwrap().attach().call(request).unwrap();
        }
        let result = server.require().call(request);
        assert_eq!(result.is_ok(), accepted, "server {server:?} client {client:?}");
        if let Err(status) = result {
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
        }
    }

    #[test]
    fn secret_checks() {
        check("s3cret", Some("s3cret"), true);
        check("s3cret", Some("s3cret!"), false);
        check("s3cret", Some("s3cre"), false);
        check("s3cret", Some(""), false);
        check("s3cret", None, false);
        check("", None, true);
        check("", Some("anything"), true);
    }

    #[test]
    fn rejects_secrets_that_cannot_be_headers() {
        assert_eq!(
            ClusterSecret::new("a b").unwrap_err(),
            InvalidSecret::NotVisibleAscii
        );
        assert_eq!(
            ClusterSecret::new("é").unwrap_err(),
            InvalidSecret::NotVisibleAscii
        );
        assert!(ClusterSecret::new("").unwrap().is_disabled());
    }

    #[test]
    fn debug_does_not_leak() {
        let s = ClusterSecret::new("topsecret").unwrap();
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
