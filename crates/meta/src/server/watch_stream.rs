//! The Watch stream: a full snapshot when the caller is behind by more than
//! the change feed can replay, then every change in version order.
//!
//! The invariant the client relies on: every `change` event has version
//! exactly one more than the previous event's version, so applying it to a
//! copy at the previous version yields the server's state.

use std::sync::Arc;

use futures::Stream;
use tandem_proto::meta::watch_event::Event;
use tandem_proto::meta::{StateChange, StateSnapshot, WatchEvent};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::grpc::to_json;
use crate::raft::state_machine::{Change, StateFeed};
use crate::state::MetaState;

/// Events buffered per watcher before the sender waits.
const WATCH_BUFFER: usize = 64;

fn snapshot_event(state: &MetaState) -> WatchEvent {
    WatchEvent {
        event: Some(Event::Snapshot(StateSnapshot {
            version: state.version(),
            state: to_json(state),
        })),
    }
}

fn change_event(change: &Change) -> WatchEvent {
    WatchEvent {
        event: Some(Event::Change(StateChange {
            version: change.version,
            command: to_json(&change.command),
        })),
    }
}

/// Tracks what one watcher has been sent.
struct Watcher {
    tx: mpsc::Sender<Result<WatchEvent, Status>>,
    sent: u64,
}

impl Watcher {
    /// Sends `event`; false when the client went away.
    async fn send(&mut self, event: WatchEvent, version: u64) -> bool {
        self.sent = version;
        self.tx.send(Ok(event)).await.is_ok()
    }

    async fn on_change(&mut self, change: &Change, feed: &StateFeed) -> bool {
        if change.version <= self.sent {
            true
        } else if change.version == self.sent + 1 {
            self.send(change_event(change), change.version).await
        } else {
            self.resync(feed).await
        }
    }

    /// Sends the full current state if it is ahead of what was sent.
    async fn resync(&mut self, feed: &StateFeed) -> bool {
        let current = feed.current();
        if current.version() > self.sent {
            self.send(snapshot_event(&current), current.version()).await
        } else {
            true
        }
    }
}

pub(crate) fn watch_stream(
    feed: Arc<StateFeed>,
    since: u64,
    cluster_id: String,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<WatchEvent, Status>> + Send + 'static {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(async move {
        // Subscribe before reading the state so no change falls in between.
        let mut changes = feed.subscribe_changes();
        let mut states = feed.subscribe_state();
        let current = states.borrow_and_update().clone();
        // A cluster id is set once and never cleared, so a caller whose copy
        // has an id this node does not have holds another cluster's data
        // (the meta service was rebuilt): start it over with a snapshot.
        let other_cluster = !cluster_id.is_empty() && cluster_id != current.cluster_id();
        let closed = tx.clone();
        let mut w = Watcher { tx, sent: since };
        if (other_cluster || since < current.version())
            && !w.send(snapshot_event(&current), current.version()).await
        {
            return;
        }
        // A caller ahead of this (lagging) node just waits for it to catch up.
        loop {
            let alive = tokio::select! {
                biased;
                () = crate::shutdown::stopped(&mut shutdown) => return,
                r = changes.recv() => match r {
                    Ok(change) => w.on_change(&change, &feed).await,
                    Err(RecvError::Lagged(_)) => w.resync(&feed).await,
                    Err(RecvError::Closed) => return,
                },
                r = states.changed() => {
                    if r.is_err() {
                        return;
                    }
                    drop(states.borrow_and_update());
                    // Changes are published before the state: drain them
                    // first, then catch up any jump they do not explain
                    // (an installed snapshot).
                    let mut alive = true;
                    loop {
                        match changes.try_recv() {
                            Ok(change) => alive = alive && w.on_change(&change, &feed).await,
                            Err(TryRecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        }
                    }
                    alive && w.resync(&feed).await
                }
                () = closed.closed() => return,
            };
            if !alive {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}
