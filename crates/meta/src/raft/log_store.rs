//! openraft's log storage over the redb store.
//!
//! Durability and ordering: every mutating call runs one durable redb
//! transaction and is awaited before the call returns (openraft issues them
//! one at a time through `&mut self`), so vote and log writes reach disk in
//! the order they were made, and `append`'s callback fires only after the
//! entries are on disk. Writes run on the blocking pool because the commit
//! fsyncs.

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogId, RaftLogReader};
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::store::{self, KEY_COMMITTED, KEY_LAST_PURGED, KEY_VOTE, LOGS, RAFT_STATE};
use super::{Entry, LogId, StorageResult, TypeConfig, Vote, io_error};

/// The raft log, vote and committed id of one meta node.
#[derive(Clone)]
pub(crate) struct LogStore {
    db: Arc<Database>,
}

fn encode<T: Serialize>(v: &T) -> StorageResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(io_error)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StorageResult<T> {
    serde_json::from_slice(bytes).map_err(io_error)
}

impl LogStore {
    pub(crate) fn new(db: Arc<Database>) -> Self {
        Self { db }
    }

    fn read_value<T: DeserializeOwned>(&self, key: &str) -> StorageResult<Option<T>> {
        match store::get(&self.db, RAFT_STATE, key).map_err(io_error)? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Runs a durable write on the blocking pool and waits for it.
    async fn write(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error> + Send + 'static,
    ) -> StorageResult<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || store::write(&db, f))
            .await
            .map_err(io_error)?
            .map_err(io_error)
    }

    async fn write_value(&self, key: &'static str, bytes: Vec<u8>) -> StorageResult<()> {
        self.write(move |txn| {
            txn.open_table(RAFT_STATE)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
        .await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry>> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let table = txn.open_table(LOGS).map_err(io_error)?;
        let mut entries = Vec::new();
        for item in table.range::<u64>(range).map_err(io_error)? {
            let (_, v) = item.map_err(io_error)?;
            entries.push(decode(v.value())?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId> = self.read_value(KEY_LAST_PURGED)?;
        let last = {
            let txn = self.db.begin_read().map_err(io_error)?;
            let table = txn.open_table(LOGS).map_err(io_error)?;
            match table.last().map_err(io_error)? {
                Some((_, v)) => Some(*decode::<Entry>(v.value())?.get_log_id()),
                None => None,
            }
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> StorageResult<()> {
        self.write_value(KEY_VOTE, encode(vote)?).await
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote>> {
        self.read_value(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> StorageResult<()> {
        self.write_value(KEY_COMMITTED, encode(&committed)?).await
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId>> {
        Ok(self.read_value::<Option<LogId>>(KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded: Vec<(u64, Vec<u8>)> = entries
            .into_iter()
            .map(|e| Ok((e.get_log_id().index, encode(&e)?)))
            .collect::<StorageResult<_>>()?;
        let result = self
            .write(move |txn| {
                let mut table = txn.open_table(LOGS)?;
                for (index, bytes) in &encoded {
                    table.insert(*index, bytes.as_slice())?;
                }
                Ok(())
            })
            .await;
        match &result {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        result
    }

    async fn truncate(&mut self, log_id: LogId) -> StorageResult<()> {
        let from = log_id.index;
        self.write(move |txn| {
            let mut table = txn.open_table(LOGS)?;
            table.retain_in(from.., |_, _| false)?;
            Ok(())
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> StorageResult<()> {
        let upto = log_id.index;
        let bytes = encode(&log_id)?;
        self.write(move |txn| {
            txn.open_table(RAFT_STATE)?
                .insert(KEY_LAST_PURGED, bytes.as_slice())?;
            txn.open_table(LOGS)?.retain_in(..=upto, |_, _| false)?;
            Ok(())
        })
        .await
    }
}
