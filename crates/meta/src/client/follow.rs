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
            // An id-less snapshot comes from a node that has not applied the
            // id yet (a catching-up follower); never step back to it.
            let same_cluster = copy.cluster_id().is_empty()
                || state.cluster_id().is_empty()
                || copy.cluster_id() == state.cluster_id();
            if same_cluster && state.version() <= copy.version() {
                return Ok(None);
            }
            Ok(Some(state))
        }
        Some(Event::Change(c)) => {
            if c.version <= copy.version() {
                // A cluster that names itself differently is a rebuilt meta
                // service whose versions restarted below ours: fail the
                // stream so the reconnect starts over with its snapshot
                // (the node now has an id, so it sends one).
                if let Ok(Command::SetClusterId { cluster_id }) = from_json::<Command>(&c.command)
                    && !copy.cluster_id().is_empty()
                    && cluster_id != copy.cluster_id()
                {
                    return Err(MetaError::Wire(format!(
                        "the meta service is now cluster {cluster_id}, this copy is of cluster {}",
                        copy.cluster_id()
                    )));
                }
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

#[cfg(test)]
mod tests {
    use tandem_proto::meta::{StateChange, StateSnapshot};

    use super::*;
    use crate::grpc::to_json;

    fn state_at(cluster: &str, dbs: &[&str]) -> MetaState {
        let mut s = MetaState::default();
        if !cluster.is_empty() {
            s.apply(&Command::SetClusterId {
                cluster_id: cluster.into(),
            })
            .unwrap();
        }
        for db in dbs {
            s.apply(&create(db)).unwrap();
        }
        s
    }

    fn create(db: &str) -> Command {
        Command::CreateDatabase {
            name: (*db).into(),
            retention_policy: None,
            default_replication_factor: 1,
        }
    }

    fn snapshot(s: &MetaState) -> WatchEvent {
        WatchEvent {
            event: Some(Event::Snapshot(StateSnapshot {
                version: s.version(),
                state: to_json(s),
            })),
        }
    }

    fn change(version: u64, c: &Command) -> WatchEvent {
        WatchEvent {
            event: Some(Event::Change(StateChange {
                version,
                command: to_json(c),
            })),
        }
    }

    #[derive(Debug, PartialEq)]
    enum Outcome {
        Replaced(u64),
        Ignored,
        Resync,
    }

    #[test]
    fn events_applied_to_the_copy() {
        let copy = state_at("c1", &["a", "b"]); // version 3
        let cases: Vec<(&str, WatchEvent, Outcome)> = vec![
            (
                "newer snapshot",
                snapshot(&state_at("c1", &["a", "b", "c"])),
                Outcome::Replaced(4),
            ),
            (
                "older snapshot",
                snapshot(&state_at("c1", &["a"])),
                Outcome::Ignored,
            ),
            (
                "other cluster",
                snapshot(&state_at("c2", &["x"])),
                Outcome::Replaced(2),
            ),
            (
                "id-less lagging node",
                snapshot(&state_at("", &["a"])),
                Outcome::Ignored,
            ),
            ("next change", change(4, &create("c")), Outcome::Replaced(4)),
            ("old change", change(3, &create("b")), Outcome::Ignored),
            ("gap", change(5, &create("c")), Outcome::Resync),
            (
                "change that changes nothing here",
                change(4, &create("a")),
                Outcome::Resync,
            ),
            (
                "undecodable",
                WatchEvent {
                    event: Some(Event::Change(StateChange {
                        version: 4,
                        command: "{".into(),
                    })),
                },
                Outcome::Resync,
            ),
        ];
        for (name, event, want) in cases {
            let got = match apply_event(&copy, event) {
                Ok(Some(s)) => Outcome::Replaced(s.version()),
                Ok(None) => Outcome::Ignored,
                Err(_) => Outcome::Resync,
            };
            assert_eq!(got, want, "{name}");
        }
    }
}
