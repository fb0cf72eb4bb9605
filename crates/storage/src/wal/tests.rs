use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;

type Rec = (Lsn, u64, Version, Vec<u8>);

fn opts(dir: &Path) -> WalOptions {
    WalOptions {
        dir: dir.to_path_buf(),
        segment_size: 1 << 20,
        fsync_delay: Duration::ZERO,
        hook: None,
        min_segment: 0,
    }
}

fn open_collect(o: WalOptions) -> Result<(Wal, Vec<Rec>), StorageError> {
    let mut recs = Vec::new();
    let wal = Wal::open(o, |lsn, r| {
        recs.push((lsn, r.shard.0, r.version, r.points.to_vec()));
        Ok(())
    })?;
    Ok((wal, recs))
}

fn version(i: u64) -> Version {
    Version {
        hlc_ns: i,
        node: 1,
        seq: i as u32,
    }
}

fn payload(i: u64) -> Vec<u8> {
    (0..(i % 7 + 1) * 3)
        .map(|b| (b as u8).wrapping_mul(i as u8))
        .collect()
}

fn write_n(wal: &Wal, n: u64) -> Vec<Lsn> {
    (0..n)
        .map(|i| {
            let (t, lsn) = wal.append(ShardId(i % 3), version(i), &payload(i)).unwrap();
            wal.wait(t).unwrap();
            lsn
        })
        .collect()
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

#[test]
fn records_survive_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, recs) = open_collect(opts(dir.path())).unwrap();
    assert!(recs.is_empty());
    let lsns = write_n(&wal, 20);
    drop(wal);
    let (_wal, recs) = open_collect(opts(dir.path())).unwrap();
    assert_eq!(recs.len(), 20);
    for (i, (lsn, shard, v, p)) in recs.into_iter().enumerate() {
        let i = i as u64;
        assert_eq!(
            (lsn, shard, v, p),
            (lsns[i as usize], i % 3, version(i), payload(i))
        );
    }
}

#[test]
fn torn_tail_is_truncated_at_every_offset_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open_collect(opts(dir.path())).unwrap();
    let lsns = write_n(&wal, 5);
    drop(wal);
    let seg = segment_path(dir.path(), lsns[4].segment);
    let full = std::fs::read(&seg).unwrap();
    let last_start = lsns[4].offset as usize;
    for cut in last_start..full.len() {
        let case = tempfile::tempdir().unwrap();
        for p in segments(dir.path()) {
            std::fs::copy(&p, case.path().join(p.file_name().unwrap())).unwrap();
        }
        let case_seg = case.path().join(seg.file_name().unwrap());
        std::fs::write(&case_seg, &full[..cut]).unwrap();
        let (wal, recs) = open_collect(opts(case.path())).unwrap();
        assert_eq!(recs.len(), 4, "cut at {cut}");
        assert_eq!(
            std::fs::metadata(&case_seg).unwrap().len(),
            last_start as u64,
            "cut at {cut}"
        );
        // The log keeps working after recovery.
        let (t, _) = wal.append(ShardId(9), version(99), b"after").unwrap();
        wal.wait(t).unwrap();
        drop(wal);
        let (_w, recs) = open_collect(opts(case.path())).unwrap();
        assert_eq!(recs.len(), 5, "cut at {cut}");
        assert_eq!(recs[4].3, b"after");
    }
}

#[test]
fn damaged_tail_table() {
    // (description, mutation of the last segment's bytes, records expected)
    type Mutate = fn(&mut Vec<u8>, usize);
    let table: [(&str, Mutate, usize); 4] = [
        ("garbage appended", |b, _| b.extend_from_slice(&[0xAB; 40]), 3),
        ("zeros appended", |b, _| b.extend_from_slice(&[0; 4096]), 3),
        ("flip in last payload", |b, _| *b.last_mut().unwrap() ^= 1, 2),
        ("flip in last length", |b, last| b[last + 5] ^= 0x40, 2),
    ];
    for (what, mutate, want) in table {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = open_collect(opts(dir.path())).unwrap();
        let lsns = write_n(&wal, 3);
        drop(wal);
        let seg = segment_path(dir.path(), lsns[2].segment);
        let mut bytes = std::fs::read(&seg).unwrap();
        mutate(&mut bytes, lsns[2].offset as usize);
        std::fs::write(&seg, &bytes).unwrap();
        let (_w, recs) = open_collect(opts(dir.path())).unwrap();
        assert_eq!(recs.len(), want, "{what}");
    }
}

#[test]
fn damage_in_a_complete_older_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open_collect(opts(dir.path())).unwrap();
    let lsns = write_n(&wal, 3);
    drop(wal);
    // Two more opens leave two newer (empty) segments behind the written one.
    drop(open_collect(opts(dir.path())).unwrap());
    let seg = segment_path(dir.path(), lsns[0].segment);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[lsns[1].offset as usize + 14] ^= 0xFF;
    std::fs::write(&seg, &bytes).unwrap();
    match open_collect(opts(dir.path())) {
        Err(StorageError::WalCorrupt { offset, .. }) => assert_eq!(offset, lsns[1].offset),
        Err(e) => panic!("unexpected error {e}"),
        Ok((_, recs)) => panic!("opened with {} records", recs.len()),
    }
}

#[test]
fn random_bytes_never_panic_and_never_invent_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..50 {
        let seg = segment_path(dir.path(), 1);
        let len = (round * 37) % 900;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for p in segments(dir.path()) {
            std::fs::remove_file(p).unwrap();
        }
        std::fs::write(&seg, &bytes).unwrap();
        let (_w, recs) = open_collect(opts(dir.path())).unwrap();
        assert!(recs.is_empty());
    }
}

#[test]
fn fsync_failure_poisons_and_nothing_after_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let hook_fail = Arc::clone(&fail);
    let hook: SyncHook = Arc::new(move |_p: &Path| {
        if hook_fail.load(Ordering::SeqCst) {
            Err(io::Error::other("injected EIO"))
        } else {
            Ok(())
        }
    });
    let (wal, _) = open_collect(WalOptions {
        hook: Some(hook),
        ..opts(dir.path())
    })
    .unwrap();
    let (t1, _) = wal.append(ShardId(1), version(1), b"one").unwrap();
    wal.wait(t1).unwrap();
    fail.store(true, Ordering::SeqCst);
    let (t2, _) = wal.append(ShardId(1), version(2), b"two").unwrap();
    assert!(matches!(wal.wait(t2), Err(StorageError::WalPoisoned(_))));
    // Durable before the failure stays acknowledged; later appends fail.
    wal.wait(t1).unwrap();
    assert!(matches!(
        wal.append(ShardId(1), version(3), b"three"),
        Err(StorageError::WalPoisoned(_))
    ));
    // Even if fsync would work again, the WAL stays poisoned.
    fail.store(false, Ordering::SeqCst);
    assert!(matches!(
        wal.append(ShardId(1), version(4), b"four"),
        Err(StorageError::WalPoisoned(_))
    ));
    assert!(wal.poisoned().unwrap().contains("injected EIO"));
}

#[tokio::test]
async fn async_waiters_see_durability_and_poison() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let hook_fail = Arc::clone(&fail);
    let hook: SyncHook = Arc::new(move |_p: &Path| {
        if hook_fail.load(Ordering::SeqCst) {
            Err(io::Error::other("injected"))
        } else {
            Ok(())
        }
    });
    let (wal, _) = open_collect(WalOptions {
        hook: Some(hook),
        ..opts(dir.path())
    })
    .unwrap();
    let (t, _) = wal.append(ShardId(1), version(1), b"a").unwrap();
    wal.wait_async(t).await.unwrap();
    fail.store(true, Ordering::SeqCst);
    let (t, _) = wal.append(ShardId(1), version(2), b"b").unwrap();
    assert!(matches!(
        wal.wait_async(t).await,
        Err(StorageError::WalPoisoned(_))
    ));
}

#[test]
fn concurrent_writers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let syncs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&syncs);
    let hook: SyncHook = Arc::new(move |p: &Path| {
        if p.extension().is_some_and(|e| e == "wal") {
            counter.fetch_add(1, Ordering::SeqCst);
            // A slow disk: writes pile up behind each fsync.
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    });
    let (wal, _) = open_collect(WalOptions {
        hook: Some(hook),
        ..opts(dir.path())
    })
    .unwrap();
    let wal = Arc::new(wal);
    let per_thread = 50;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let (tk, _) = wal.append(ShardId(t), version(i), b"x").unwrap();
                    wal.wait(tk).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = syncs.load(Ordering::SeqCst);
    assert!(
        n < 8 * per_thread as usize,
        "{n} fsyncs for {} writes",
        8 * per_thread
    );
    drop(wal);
    let (_w, recs) = open_collect(opts(dir.path())).unwrap();
    assert_eq!(recs.len(), 8 * per_thread as usize);
}

#[test]
fn segments_roll_and_flushed_ones_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let o = WalOptions {
        segment_size: 4096,
        ..opts(dir.path())
    };
    let (wal, _) = open_collect(o).unwrap();
    let big = vec![7u8; 1500];
    let mut lsns = Vec::new();
    for i in 0..20 {
        let (t, lsn) = wal.append(ShardId(1), version(i), &big).unwrap();
        wal.wait(t).unwrap();
        lsns.push(lsn);
    }
    let first_seg = lsns[0].segment;
    let last_seg = lsns[19].segment;
    assert!(last_seg > first_seg + 3, "segments {first_seg}..{last_seg}");
    // Ids are increasing along the log.
    assert!(lsns.windows(2).all(|w| w[0] < w[1]));
    let before = wal.segment_count();
    wal.remove_segments_before(last_seg);
    assert!(wal.segment_count() < before);
    drop(wal);
    let (_w, recs) = open_collect(opts(dir.path())).unwrap();
    assert!(recs.iter().all(|r| r.0.segment >= last_seg));
    assert_eq!(recs.last().map(|r| r.0), lsns.last().copied());
}

#[test]
fn new_segment_ids_stay_above_min_segment_and_discarded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open_collect(WalOptions {
        min_segment: 40,
        ..opts(dir.path())
    })
    .unwrap();
    let (t, lsn) = wal.append(ShardId(1), version(1), b"x").unwrap();
    wal.wait(t).unwrap();
    assert_eq!(lsn.segment, 41);
}

#[test]
fn closed_wal_refuses_appends_after_syncing_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = open_collect(opts(dir.path())).unwrap();
    let (t, _) = wal.append(ShardId(1), version(1), b"x").unwrap();
    wal.close();
    wal.wait(t).unwrap();
    assert!(matches!(
        wal.append(ShardId(1), version(2), b"y"),
        Err(StorageError::Closed)
    ));
}
