//! openraft's state machine: applies committed entries to [`MetaState`],
//! publishes every change, and keeps the latest snapshot in redb.
//!
//! The state lives in memory; durability comes from the snapshot (one redb
//! transaction holding meta and data together, so a half-installed snapshot
//! never survives a crash) plus the log and the saved committed id, from
//! which openraft re-applies on start-up.

use std::collections::VecDeque;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use redb::{Database, ReadableTable};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::store::{self, KEY_SNAPSHOT_DATA, KEY_SNAPSHOT_META, SNAPSHOT};
use super::{
    Entry, LogId, Snapshot, SnapshotMeta, StorageResult, StoredMembership, TypeConfig, io_error, node_id,
};
use crate::MetaError;
use crate::command::{Command, CommandOutput, CommandReply};
use crate::state::MetaState;

/// How many answered request ids the state machine remembers to answer a
/// retried proposal instead of applying it twice.
const RECENT_REPLIES: usize = 1024;

/// Capacity of the change feed; a watcher that falls further behind gets a
/// full snapshot instead.
const CHANGE_FEED_CAPACITY: usize = 1024;

/// One committed change: the command that took the metadata to `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Change {
    pub(crate) version: u64,
    pub(crate) command: Command,
}

/// What the state machine publishes: the current state after every applied
/// batch, and every change in order. Changes are sent before the state, so
/// a watcher that sees a new state has its changes queued already.
pub(crate) struct StateFeed {
    state: watch::Sender<Arc<MetaState>>,
    changes: broadcast::Sender<Arc<Change>>,
}

impl StateFeed {
    fn new(initial: Arc<MetaState>) -> Self {
        Self {
            state: watch::Sender::new(initial),
            changes: broadcast::Sender::new(CHANGE_FEED_CAPACITY),
        }
    }

    pub(crate) fn current(&self) -> Arc<MetaState> {
        self.state.borrow().clone()
    }

    pub(crate) fn subscribe_state(&self) -> watch::Receiver<Arc<MetaState>> {
        self.state.subscribe()
    }

    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }
}

/// Request ids answered recently, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RecentReplies {
    entries: VecDeque<(u64, CommandReply)>,
}

impl RecentReplies {
    fn get(&self, request_id: u64) -> Option<&CommandReply> {
        self.entries
            .iter()
            .rev()
            .find(|(id, _)| *id == request_id)
            .map(|(_, r)| r)
    }

    fn insert(&mut self, request_id: u64, reply: CommandReply) {
        if self.entries.len() == RECENT_REPLIES {
            self.entries.pop_front();
        }
        self.entries.push_back((request_id, reply));
    }
}

/// Everything a snapshot holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SmData {
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    state: Arc<MetaState>,
    recent: RecentReplies,
}

/// The meta state machine of one node.
pub(crate) struct StateMachine {
    db: Arc<Database>,
    data: SmData,
    feed: Arc<StateFeed>,
    snapshot_seq: Arc<AtomicU64>,
}

fn read_snapshot(db: &Database) -> StorageResult<Option<(SnapshotMeta, Vec<u8>)>> {
    let meta = store::get(db, SNAPSHOT, KEY_SNAPSHOT_META).map_err(io_error)?;
    let data = store::get(db, SNAPSHOT, KEY_SNAPSHOT_DATA).map_err(io_error)?;
    match (meta, data) {
        (Some(meta), Some(data)) => Ok(Some((serde_json::from_slice(&meta).map_err(io_error)?, data))),
        _ => Ok(None),
    }
}

/// Stores a snapshot unless the stored one is newer (a build racing an
/// install must not replace the installed snapshot with an older one).
fn write_snapshot(db: &Database, meta: &SnapshotMeta, data: &[u8]) -> StorageResult<()> {
    let meta_bytes = serde_json::to_vec(meta).map_err(io_error)?;
    let new_last = meta.last_log_id;
    store::write(db, |txn| {
        let mut table = txn.open_table(SNAPSHOT)?;
        let stored_last: Option<LogId> = match table.get(KEY_SNAPSHOT_META)? {
            Some(v) => serde_json::from_slice::<SnapshotMeta>(v.value())
                .ok()
                .and_then(|m| m.last_log_id),
            None => None,
        };
        if stored_last.is_some() && stored_last > new_last {
            return Ok(());
        }
        table.insert(KEY_SNAPSHOT_META, meta_bytes.as_slice())?;
        table.insert(KEY_SNAPSHOT_DATA, data)?;
        Ok(())
    })
    .map_err(io_error)
}

impl StateMachine {
    /// Loads the latest snapshot (if any) from the store.
    pub(crate) fn open(db: Arc<Database>) -> Result<Self, MetaError> {
        let data = match read_snapshot(&db).map_err(MetaError::storage)? {
            Some((_, bytes)) => serde_json::from_slice(&bytes).map_err(MetaError::storage)?,
            None => SmData::default(),
        };
        let feed = Arc::new(StateFeed::new(data.state.clone()));
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(Self {
            db,
            data,
            feed,
            snapshot_seq: Arc::new(AtomicU64::new(seq)),
        })
    }

    /// The feed of applied states and changes.
    pub(crate) fn feed(&self) -> Arc<StateFeed> {
        self.feed.clone()
    }
}

/// Builds a snapshot from a point-in-time copy of the state machine.
pub(crate) struct SnapshotBuilder {
    db: Arc<Database>,
    data: SmData,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot> {
        let bytes = serde_json::to_vec(&self.data).map_err(io_error)?;
        let index = self.data.last_applied.map(|l| l.index).unwrap_or(0);
        let meta = SnapshotMeta {
            last_log_id: self.data.last_applied,
            last_membership: self.data.last_membership.clone(),
            snapshot_id: format!("{index}-{}", self.seq),
        };
        let db = self.db.clone();
        let (meta, bytes) = tokio::task::spawn_blocking(move || {
            write_snapshot(&db, &meta, &bytes)?;
            Ok::<_, openraft::StorageError<u64>>((meta, bytes))
        })
        .await
        .map_err(io_error)??;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId>, StoredMembership)> {
        Ok((self.data.last_applied, self.data.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<CommandReply>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let SmData {
            last_applied,
            last_membership,
            state,
            recent,
        } = &mut self.data;
        let state = Arc::make_mut(state);
        let mut replies = Vec::new();
        let mut changes = Vec::new();
        for entry in entries {
            *last_applied = Some(entry.log_id);
            let before = state.version();
            let reply = match entry.payload {
                EntryPayload::Blank => CommandReply {
                    version: before,
                    result: Ok(CommandOutput::Done),
                },
                EntryPayload::Normal(proposal) => {
                    let cached = (proposal.request_id != 0)
                        .then(|| recent.get(proposal.request_id))
                        .flatten();
                    if let Some(reply) = cached {
                        reply.clone()
                    } else {
                        let result = if proposal.command.is_internal() {
                            Err(MetaError::InternalCommand(proposal.command.name().to_owned()))
                        } else {
                            state.apply(&proposal.command)
                        };
                        if state.version() > before {
                            changes.push(Change {
                                version: state.version(),
                                command: proposal.command,
                            });
                        }
                        let reply = CommandReply {
                            version: state.version(),
                            result,
                        };
                        if proposal.request_id != 0 {
                            recent.insert(proposal.request_id, reply.clone());
                        }
                        reply
                    }
                }
                EntryPayload::Membership(membership) => {
                    let members = membership
                        .nodes()
                        .map(|(id, n)| (node_id(*id), n.clone()))
                        .collect();
                    *last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    let command = Command::SyncMetaMembers { members };
                    let result = state.apply(&command);
                    if state.version() > before {
                        changes.push(Change {
                            version: state.version(),
                            command,
                        });
                    }
                    CommandReply {
                        version: state.version(),
                        result,
                    }
                }
            };
            replies.push(reply);
        }
        for change in changes {
            // No subscriber is fine: nobody is watching.
            let _ = self.feed.changes.send(Arc::new(change));
        }
        self.feed.state.send_replace(self.data.state.clone());
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            db: self.db.clone(),
            data: self.data.clone(),
            seq: self.snapshot_seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let bytes = snapshot.into_inner();
        let mut data: SmData = serde_json::from_slice(&bytes).map_err(io_error)?;
        data.last_applied = meta.last_log_id;
        data.last_membership = meta.last_membership.clone();
        let db = self.db.clone();
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || write_snapshot(&db, &meta, &bytes))
            .await
            .map_err(io_error)??;
        self.data = data;
        self.feed.state.send_replace(self.data.state.clone());
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot>> {
        Ok(read_snapshot(&self.db)?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
