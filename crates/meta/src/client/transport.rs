//! Calls to the meta API with failover: try the endpoint that answered
//! last, rotate through the others on a retriable failure, back off after a
//! full round, and give up at the deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tandem_proto::auth::ClusterSecret;
use tokio::time::Instant;

use crate::MetaError;
use crate::grpc::{ApiClient, api_client};

const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Longest a single attempt may take before the next endpoint is tried (a
/// leader cut off from its quorum can hold a request indefinitely).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// Clients for every configured meta endpoint.
pub(crate) struct Endpoints {
    addrs: Vec<String>,
    clients: Vec<ApiClient>,
    preferred: AtomicUsize,
}

impl Endpoints {
    pub(crate) fn new(
        addrs: &[String],
        secret: &ClusterSecret,
        connect_timeout: Duration,
    ) -> Result<Self, MetaError> {
        if addrs.is_empty() {
            return Err(MetaError::Config("meta_client.endpoints is empty".into()));
        }
        let clients = addrs
            .iter()
            .map(|a| api_client(a, secret, connect_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            addrs: addrs.to_vec(),
            clients,
            preferred: AtomicUsize::new(0),
        })
    }

    /// The client at position `i` (modulo the count) and its address.
    pub(crate) fn get(&self, i: usize) -> (ApiClient, &str) {
        let i = i % self.clients.len();
        (self.clients[i].clone(), &self.addrs[i])
    }

    /// The client of the configured endpoint `addr`, if there is one.
    pub(crate) fn by_addr(&self, addr: &str) -> Option<ApiClient> {
        let i = self.addrs.iter().position(|a| a == addr)?;
        Some(self.clients[i].clone())
    }

    pub(crate) fn preferred(&self) -> usize {
        self.preferred.load(Ordering::Relaxed)
    }

    /// Runs `call` against the endpoints until it succeeds, fails with a
    /// non-retriable error, or `deadline` passes; one attempt may take
    /// [`ATTEMPT_TIMEOUT`].
    pub(crate) async fn call<T, F, Fut>(&self, deadline: Instant, call: F) -> Result<T, MetaError>
    where
        F: FnMut(ApiClient) -> Fut,
        Fut: Future<Output = Result<T, MetaError>>,
    {
        self.call_with(deadline, ATTEMPT_TIMEOUT, call).await
    }

    /// As [`Endpoints::call`] with a custom per-attempt limit (membership
    /// changes wait for a learner to catch up).
    pub(crate) async fn call_with<T, F, Fut>(
        &self,
        deadline: Instant,
        attempt_timeout: Duration,
        mut call: F,
    ) -> Result<T, MetaError>
    where
        F: FnMut(ApiClient) -> Fut,
        Fut: Future<Output = Result<T, MetaError>>,
    {
        let start = self.preferred();
        let mut backoff = FIRST_BACKOFF;
        let mut last_error = MetaError::Unreachable("no meta endpoint answered".into());
        // Whether some meta node answered (with a retriable error such as
        // "no leader") rather than being unreachable.
        let mut answered = false;
        for attempt in 0usize.. {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let i = (start + attempt) % self.clients.len();
            let attempt_deadline = (now + attempt_timeout).min(deadline);
            match tokio::time::timeout_at(attempt_deadline, call(self.clients[i].clone())).await {
                Ok(Ok(v)) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return Ok(v);
                }
                Ok(Err(e)) if e.is_retriable() => {
                    tracing::debug!(endpoint = %self.addrs[i], "meta call failed: {e}");
                    answered |= !matches!(e, MetaError::Unreachable(_));
                    last_error = e;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    tracing::debug!(endpoint = %self.addrs[i], "meta call timed out");
                    last_error = MetaError::Unreachable(format!("{} did not answer in time", self.addrs[i]));
                }
            }
            if (attempt + 1) % self.clients.len() == 0 {
                tokio::time::sleep_until((Instant::now() + backoff).min(deadline)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        Err(match last_error {
            MetaError::Unreachable(msg) if !answered => {
                tracing::warn!("no meta node reachable; last error: {msg}");
                MetaError::Unavailable("no meta node reachable".into())
            }
            MetaError::Unavailable(msg) | MetaError::Unreachable(msg) => {
                MetaError::Unavailable(format!("timed out; last error: {msg}"))
            }
            other => other,
        })
    }
}
