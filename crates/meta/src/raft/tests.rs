//! openraft's storage conformance suite against the real redb store, plus
//! restart checks the suite does not cover.

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{RaftSnapshotBuilder, StorageError};
use tempfile::TempDir;

use super::log_store::LogStore;
use super::state_machine::StateMachine;
use super::{TypeConfig, Vote, io_error, store};

struct RedbStoreBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RedbStoreBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().map_err(io_error)?;
        let db = store::open(dir.path()).map_err(io_error)?;
        let sm = StateMachine::open(db.clone()).map_err(io_error)?;
        Ok((dir, LogStore::new(db), sm))
    }
}

#[test]
fn openraft_storage_conformance_suite() {
    Suite::test_all(RedbStoreBuilder).unwrap();
}

/// Vote, committed id and the latest snapshot are read back after the
/// store is closed and opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_committed_and_snapshot_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let vote = Vote::new(3, 2);
    let committed = Some(openraft::LogId::new(openraft::CommittedLeaderId::new(3, 2), 0));
    let snapshot_meta;
    {
        let db = store::open(dir.path()).unwrap();
        let mut log = LogStore::new(db.clone());
        log.save_vote(&vote).await.unwrap();
        log.save_committed(committed).await.unwrap();
        let mut sm = StateMachine::open(db).unwrap();
        snapshot_meta = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap()
            .meta;
    }
    let db = store::open(dir.path()).unwrap();
    let mut log = LogStore::new(db.clone());
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    assert_eq!(log.read_committed().await.unwrap(), committed);
    let mut sm = StateMachine::open(db).unwrap();
    assert_eq!(
        sm.get_current_snapshot().await.unwrap().unwrap().meta,
        snapshot_meta
    );
}
