//! The meta node's raft store: one redb file with the log, the vote, the
//! committed log id and the latest snapshot. Every write transaction commits
//! with `Durability::Immediate` (fsync before `commit` returns), and each
//! logical write is one transaction, so a crash leaves either the old or
//! the new value, never a half.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, Durability, ReadableDatabase, TableDefinition, WriteTransaction};

use crate::MetaError;

/// Log entries by index (JSON of `openraft::Entry`).
pub(crate) const LOGS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("raft_log");
/// Small values: vote, committed, last purged log id (JSON).
pub(crate) const RAFT_STATE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("raft_state");
/// The current snapshot: `meta` (JSON of SnapshotMeta) and `data`.
pub(crate) const SNAPSHOT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("snapshot");

pub(crate) const KEY_VOTE: &str = "vote";
pub(crate) const KEY_COMMITTED: &str = "committed";
pub(crate) const KEY_LAST_PURGED: &str = "last_purged";
pub(crate) const KEY_SNAPSHOT_META: &str = "meta";
pub(crate) const KEY_SNAPSHOT_DATA: &str = "data";

/// File name of the store inside the meta directory.
pub(crate) const FILE_NAME: &str = "raft.redb";

/// How long `open` waits for a previous user of the file (a node shutting
/// down in this process, or a dying process) to release its lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Opens (or creates) the store and makes sure every table exists.
pub(crate) fn open(dir: &Path) -> Result<Arc<Database>, MetaError> {
    std::fs::create_dir_all(dir).map_err(MetaError::storage)?;
    let path = dir.join(FILE_NAME);
    let started = Instant::now();
    let db = loop {
        match Database::create(&path) {
            Ok(db) => break db,
            Err(DatabaseError::DatabaseAlreadyOpen) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(MetaError::storage(format!("{}: {e}", path.display()))),
        }
    };
    write(&db, |txn| {
        txn.open_table(LOGS)?;
        txn.open_table(RAFT_STATE)?;
        txn.open_table(SNAPSHOT)?;
        Ok(())
    })
    .map_err(MetaError::storage)?;
    Ok(Arc::new(db))
}

/// Runs `f` in one durable write transaction.
pub(crate) fn write<T>(
    db: &Database,
    f: impl FnOnce(&WriteTransaction) -> Result<T, redb::Error>,
) -> Result<T, redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let out = f(&txn)?;
    txn.commit()?;
    Ok(out)
}

/// Reads one value of a `&str`-keyed table.
pub(crate) fn get(
    db: &Database,
    table: TableDefinition<'_, &str, &[u8]>,
    key: &str,
) -> Result<Option<Vec<u8>>, redb::Error> {
    let txn = db.begin_read()?;
    let t = txn.open_table(table)?;
    Ok(t.get(key)?.map(|v| v.value().to_vec()))
}
