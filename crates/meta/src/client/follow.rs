//! Keeps the client's copy current from the meta service's Watch stream.
//!
//! Changes are applied with the same deterministic `apply` the replicas run,
//! after checking they follow the copy's version exactly; anything else
//! (a gap, a decode failure, an apply that does not land on the announced
//! version) drops the stream and asks for a full snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tandem_proto::WIRE_VERSION;
use tandem_proto::meta::watch_event::Event;
use tandem_proto::meta::{WatchEvent, WatchRequest};
use tokio::sync::{Notify, watch};

use super::transport::Endpoints;
use crate::MetaError;
use crate::command::Command;
use crate::grpc::from_json;
use crate::state::MetaState;

const FIRST_RETRY: Duration = Duration::from_millis(50);
const MAX_RETRY: Duration = Duration::from_secs(1);

/// Applies one event to `copy`; returns the new copy when it changed.
pub(crate) fn apply_event(copy: &MetaState, event: WatchEvent) -> Result<Option<MetaState>, MetaError> {
    match event.event {
        Some(Event::Snapshot(s)) => {
            let state: MetaState = from_json(&s.state)?;
            if state.version() != s.version {
                return Err(MetaError::Wire(format!(
                    "snapshot says version {} but holds {}",
                    s.version,
                    state.version()
                )));
            }
            let same_cluster = copy.cluster_id().is_empty() || copy.cluster_id() == state.cluster_id();
            if same_cluster && state.version() <= copy.version() {
                return Ok(None);
            }
            Ok(Some(state))
        }
        Some(Event::Change(c)) => {
            if c.version <= copy.version() {
                return Ok(None);
            }
            if c.version != copy.version() + 1 {
                return Err(MetaError::Wire(format!(
                    "change {} does not follow version {}",
                    c.version,
                    copy.version()
                )));
            }
            let command: Command = from_json(&c.command)?;
            let mut next = copy.clone();
            let _ = next.apply(&command);
            if next.version() != c.version {
                return Err(MetaError::Wire(format!(
                    "change {} ({}) did not reproduce on the local copy",
                    c.version,
                    command.name()
                )));
            }
            Ok(Some(next))
        }
        None => Ok(None),
    }
}

/// Runs until `shutdown`: connects to an endpoint's Watch stream, applies
/// its events to `state`, and moves on to the next endpoint when the stream
/// breaks.
pub(crate) async fn follow_loop(
    endpoints: Arc<Endpoints>,
    state: watch::Sender<Arc<MetaState>>,
    reconnect: Arc<Notify>,
    connected: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut index = endpoints.preferred();
    let mut retry = FIRST_RETRY;
    let mut force_snapshot = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (mut client, addr) = endpoints.get(index);
        let addr = addr.to_owned();
        let current = state.borrow().clone();
        let request = WatchRequest {
            wire_version: WIRE_VERSION,
            since_version: if force_snapshot { 0 } else { current.version() },
            cluster_id: if force_snapshot {
                String::new()
            } else {
                current.cluster_id().to_owned()
            },
        };
        let opened = tokio::select! {
            () = crate::shutdown::stopped(&mut shutdown) => return,
            r = client.watch(request) => r,
        };
        match opened {
            Ok(response) => {
                let mut stream = response.into_inner();
                force_snapshot = false;
                connected.store(true, Ordering::Relaxed);
                loop {
                    let message = tokio::select! {
                        () = crate::shutdown::stopped(&mut shutdown) => return,
                        () = reconnect.notified() => {
                            tracing::debug!(endpoint = %addr, "metadata watch lags; trying another endpoint");
                            break;
                        }
                        m = stream.message() => m,
                    };
                    let event = match message {
                        Ok(Some(event)) => event,
                        Ok(None) => break,
                        Err(status) => {
                            tracing::debug!(endpoint = %addr, "metadata watch ended: {status}");
                            break;
                        }
                    };
                    retry = FIRST_RETRY;
                    let copy = state.borrow().clone();
                    match apply_event(&copy, event) {
                        Ok(Some(next)) => {
                            state.send_replace(Arc::new(next));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(endpoint = %addr, "resyncing metadata copy: {e}");
                            force_snapshot = true;
                            break;
                        }
                    }
                }
            }
            Err(status) => tracing::debug!(endpoint = %addr, "cannot watch metadata: {status}"),
        }
        connected.store(false, Ordering::Relaxed);
        index += 1;
        let pause = if force_snapshot { Duration::ZERO } else { retry };
        tokio::select! {
            () = crate::shutdown::stopped(&mut shutdown) => return,
            () = tokio::time::sleep(pause) => {}
            // Someone waits for the copy: try again now.
            () = reconnect.notified() => {}
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}
