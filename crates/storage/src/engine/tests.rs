use std::io;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tandem_model::{FieldType, FieldValue, ShardId};

use super::*;
use crate::testkit::{Model, batch, export_all, export_range, p, small_config, v};
use crate::{ShardStore, TimeRange, WriteOutcome};

const S: ShardId = ShardId(1);

fn open(dir: &Path) -> Engine {
    Engine::open(small_config(dir), EngineOptions::default()).unwrap()
}

fn int(i: i64) -> FieldValue {
    FieldValue::Integer(i)
}

fn float(f: f64) -> FieldValue {
    FieldValue::Float(f)
}

#[test]
fn export_is_sorted_by_series_then_time_with_fields_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.create_shard(S).unwrap();
    let b = batch(&[
        p("mem,host=b", 20, &[("z", int(1)), ("a", float(2.5))]),
        p("cpu,host=a", 30, &[("usage", float(1.0))]),
        p("cpu,host=a", 10, &[("usage", float(0.5)), ("idle", int(7))]),
        p(
            "cpu!",
            5,
            &[
                ("x", FieldValue::Boolean(true)),
                ("s", FieldValue::String("a \"q\"".into())),
            ],
        ),
    ]);
    let out = e.write_blocking(S, v(1), &b).unwrap();
    assert_eq!(
        out,
        WriteOutcome {
            written: 4,
            dropped: 0,
            first_conflict: None
        }
    );
    let got = export_all(&e, S);
    let want = [
        r#"cpu! s="a \"q\"",x=true 5"#,
        "cpu,host=a idle=7i,usage=0.5 10",
        "cpu,host=a usage=1 30",
        "mem,host=b a=2.5,z=1i 20",
    ];
    assert_eq!(got, want.map(|l| format!("{l}\n")).concat());
    // The same after the data moved to Parquet files.
    e.flush().unwrap();
    assert_eq!(export_all(&e, S), got);
    assert_eq!(
        export_range(&e, S, TimeRange::new(10, 20)),
        "cpu,host=a idle=7i,usage=0.5 10\nmem,host=b a=2.5,z=1i 20\n"
    );
}

#[test]
fn type_conflicts_drop_whole_points_and_survive_restarts() {
    let conflict = "field type conflict: input field \"f\" on measurement \"m\" is type integer, already exists as type float";
    // (batch, written, dropped, first conflict)
    type Case = (Vec<crate::testkit::Point>, usize, usize, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (vec![p("m,t=1", 1, &[("f", float(1.0))])], 1, 0, None),
        (
            vec![
                p("m,t=1", 2, &[("f", int(2))]),
                p("m,t=1", 3, &[("f", float(3.0)), ("g", int(3))]),
            ],
            1,
            1,
            Some(conflict),
        ),
        // A new field in a dropped point is not registered...
        (
            vec![p("m,t=1", 4, &[("h", FieldValue::Boolean(true)), ("f", int(4))])],
            0,
            1,
            Some(conflict),
        ),
        // ...so it can still take another type.
        (vec![p("m,t=1", 5, &[("h", int(5))])], 1, 0, None),
        // Within one batch the first point decides a new field's type.
        (
            vec![
                p("m,t=1", 6, &[("k", int(6))]),
                p("m,t=1", 7, &[("k", float(7.0))]),
            ],
            1,
            1,
            None,
        ),
        // Other measurements have their own types.
        (vec![p("other", 8, &[("f", int(8))])], 1, 0, None),
    ];
    for restart in ["none", "drop", "flush+drop"] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = open(dir.path());
        e.create_shard(S).unwrap();
        for (i, (points, written, dropped, first)) in cases.iter().enumerate() {
            let out = e.write_blocking(S, v(i as u64), &batch(points)).unwrap();
            assert_eq!(
                (out.written, out.dropped),
                (*written, *dropped),
                "{restart}: case {i}"
            );
            if let Some(text) = first {
                assert_eq!(
                    out.first_conflict.as_ref().unwrap().to_string(),
                    *text,
                    "{restart}: case {i}"
                );
                assert!(
                    out.clone()
                        .into_result()
                        .unwrap_err()
                        .to_string()
                        .starts_with("partial write: field type conflict")
                );
            }
            match restart {
                "drop" => {
                    drop(e);
                    e = open(dir.path());
                }
                "flush+drop" => {
                    e.flush().unwrap();
                    drop(e);
                    e = open(dir.path());
                }
                _ => {}
            }
        }
        let k_float = e
            .write_blocking(S, v(99), &batch(&[p("m,t=1", 9, &[("k", float(1.0))])]))
            .unwrap();
        assert_eq!(k_float.dropped, 1, "{restart}: type of k survived");
        assert_eq!(
            export_all(&e, S),
            "m,t=1 f=1 1\nm,t=1 f=3,g=3i 3\nm,t=1 h=5i 5\nm,t=1 k=6i 6\nother f=8i 8\n",
            "{restart}"
        );
    }
}

#[test]
fn acknowledged_writes_survive_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    {
        let e = open(dir.path());
        e.create_shard(S).unwrap();
        for i in 0..300 {
            let points: Vec<_> = (0..20)
                .map(|j| p(&format!("cpu,host=h{}", j % 7), i * 10 + j, &[("v", int(i * j))]))
                .collect();
            e.write_blocking(S, v(i as u64), &batch(&points)).unwrap();
            model.apply(v(i as u64), &points);
        }
        // Small caches: some of it is in files, some only in the WAL.
        assert!(e.shard_info(S).unwrap().file_count > 0);
    }
    let e = open(dir.path());
    assert_eq!(export_all(&e, S), model.export());
    let info = e.shard_info(S).unwrap();
    assert!(info.point_count >= 6000, "{info:?}");
}

#[test]
fn deleted_shards_stay_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(&[p("m", 1, &[("f", int(1))])]);
    {
        let e = open(dir.path());
        assert!(matches!(
            e.write_blocking(S, v(1), &b),
            Err(StorageError::ShardNotFound(_))
        ));
        e.create_shard(S).unwrap();
        e.create_shard(S).unwrap();
        e.write_blocking(S, v(1), &b).unwrap();
        e.flush().unwrap();
        e.write_blocking(S, v(2), &b).unwrap(); // only in the WAL
        e.delete_shard(S).unwrap();
        e.delete_shard(S).unwrap();
        assert!(matches!(
            e.write_blocking(S, v(3), &b),
            Err(StorageError::ShardDeleted(_))
        ));
        assert!(matches!(e.create_shard(S), Err(StorageError::ShardDeleted(_))));
        assert!(matches!(
            e.export(S, TimeRange::ALL),
            Err(StorageError::ShardDeleted(_))
        ));
        assert!(!dir.path().join("shards/1").exists());
        // Never-created ids can be tombstoned too.
        e.delete_shard(ShardId(77)).unwrap();
    }
    let e = open(dir.path());
    assert_eq!(e.shards(), Vec::<ShardId>::new());
    assert!(matches!(
        e.write_blocking(S, v(4), &b),
        Err(StorageError::ShardDeleted(_))
    ));
    assert!(matches!(
        e.create_shard(ShardId(77)),
        Err(StorageError::ShardDeleted(_))
    ));
    assert_eq!(e.missing_shards(&[S, ShardId(2)]), vec![S, ShardId(2)]);
}

#[test]
fn node_uuid_guards_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let opts = |u: &str| EngineOptions {
        node_uuid: Some(u.to_owned()),
        ..EngineOptions::default()
    };
    {
        let e = Engine::open(small_config(dir.path()), opts("node-a")).unwrap();
        assert_eq!(e.node_uuid(), "node-a");
        e.create_shard(ShardId(1)).unwrap();
        assert_eq!(e.missing_shards(&[ShardId(1), ShardId(2)]), vec![ShardId(2)]);
    }
    match Engine::open(small_config(dir.path()), opts("node-b")) {
        Err(StorageError::ForeignDataDir { found, .. }) => assert_eq!(found, "node-a"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened a foreign data dir"),
    }
    let e = Engine::open(small_config(dir.path()), EngineOptions::default()).unwrap();
    assert_eq!(e.node_uuid(), "node-a");
    // A wiped disk under a known node: every shard is reported missing.
    let empty = tempfile::tempdir().unwrap();
    let e = Engine::open(small_config(empty.path()), opts("node-a")).unwrap();
    assert_eq!(e.missing_shards(&[ShardId(1)]), vec![ShardId(1)]);
}

#[test]
fn cache_full_is_retryable_and_clears_after_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StorageConfig {
        cache_snapshot_memory_size: 8 << 10,
        cache_max_memory_size: 8 << 10,
        ..small_config(dir.path())
    };
    let e = Engine::open(cfg, EngineOptions::default()).unwrap();
    e.pause_background();
    e.create_shard(S).unwrap();
    let points: Vec<_> = (0..500).map(|i| p("m,h=x", i, &[("f", int(i))])).collect();
    e.write_blocking(S, v(1), &batch(&points)).unwrap();
    let err = e.write_blocking(S, v(2), &batch(&points)).unwrap_err();
    assert!(
        matches!(err, StorageError::CacheFull { .. }) && err.is_retryable(),
        "{err}"
    );
    e.flush().unwrap();
    e.write_blocking(S, v(2), &batch(&points)).unwrap();
}

/// An engine without a flusher (snapshots stay queued until `flush`)
/// whose shard `S` holds more than its 16 KiB stall size, and the batch
/// written twice to get it there.
async fn over_the_stall_size(dir: &Path, max_wait: Duration) -> (Engine, PointsBuf) {
    let cfg = StorageConfig {
        cache_snapshot_memory_size: 8 << 10,
        cache_stall_memory_size: 16 << 10,
        cache_stall_max_wait: max_wait,
        ..small_config(dir)
    };
    let e = Engine::open(cfg, EngineOptions::default()).unwrap();
    e.pause_background();
    e.create_shard(S).unwrap();
    let points: Vec<_> = (0..500).map(|i| p("m,h=x", i, &[("f", int(i))])).collect();
    let b = batch(&points);
    // Each batch passes the snapshot size, so each is queued for a flush.
    e.write(S, v(1), &b).await.unwrap();
    e.write(S, v(2), &b).await.unwrap();
    assert!(e.shard_info(S).unwrap().cache_bytes >= 16 << 10);
    (e, b)
}

/// Writes wait while the shard holds `cache_stall_memory_size` unflushed
/// bytes and a snapshot is being flushed; a flush lets them in, and the
/// wait is bounded by `cache_stall_max_wait`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stall_until_a_flush_frees_room() {
    let dir = tempfile::tempdir().unwrap();
    let (e, b) = over_the_stall_size(dir.path(), Duration::from_secs(60)).await;
    let e = Arc::new(e);

    let stalled = {
        let (e, b) = (Arc::clone(&e), b.clone());
        tokio::spawn(async move { e.write(S, v(3), &b).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stalled.is_finished(), "a write over the stall size went through");
    let flusher = Arc::clone(&e);
    tokio::task::spawn_blocking(move || flusher.flush())
        .await
        .unwrap()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), stalled)
        .await
        .expect("the flush released the stalled write")
        .unwrap()
        .unwrap();
    assert_eq!(out.written, 500);
    assert!(!e.wait_for_room(S).await, "room after the flush");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_ends_after_its_max_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (e, b) = over_the_stall_size(dir.path(), Duration::from_millis(200)).await;
    // No flush comes: the write waits its max and is then taken (the shard
    // is far below cache_max_memory_size).
    let started = Instant::now();
    assert!(e.wait_for_room(S).await, "no stall over the stall size");
    assert!(started.elapsed() >= Duration::from_millis(200));
    e.write(S, v(3), &b).await.unwrap();
}

#[test]
fn fsync_failure_poisons_engine_writes() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fail);
    let hook: SyncHook = Arc::new(move |path: &Path| {
        if f.load(Ordering::SeqCst) && path.extension().is_some_and(|e| e == "wal") {
            Err(io::Error::other("injected EIO"))
        } else {
            Ok(())
        }
    });
    let e = Engine::open(
        small_config(dir.path()),
        EngineOptions {
            wal_sync_hook: Some(hook),
            ..Default::default()
        },
    )
    .unwrap();
    e.create_shard(S).unwrap();
    let b = batch(&[p("m", 1, &[("f", int(1))])]);
    e.write_blocking(S, v(1), &b).unwrap();
    fail.store(true, Ordering::SeqCst);
    assert!(matches!(
        e.write_blocking(S, v(2), &b),
        Err(StorageError::WalPoisoned(_))
    ));
    fail.store(false, Ordering::SeqCst);
    for i in 3..6 {
        assert!(matches!(
            e.write_blocking(S, v(i), &b),
            Err(StorageError::WalPoisoned(_))
        ));
    }
    // Reads keep working.
    assert!(export_all(&e, S).starts_with("m f=1i 1"));
}

#[test]
fn flushed_wal_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StorageConfig {
        cache_snapshot_memory_size: 64 << 20,
        wal_segment_size: 8 << 10,
        ..small_config(dir.path())
    };
    let e = Engine::open(cfg, EngineOptions::default()).unwrap();
    e.create_shard(S).unwrap();
    for i in 0..200 {
        let points: Vec<_> = (0..50)
            .map(|j| p("m,h=a", i * 100 + j, &[("f", int(j))]))
            .collect();
        e.write_blocking(S, v(i as u64), &batch(&points)).unwrap();
    }
    assert!(e.wal_segment_count() > 10, "{}", e.wal_segment_count());
    e.flush().unwrap();
    assert!(e.wal_segment_count() <= 3, "{}", e.wal_segment_count());
}

/// A cache too small and too recent to be flushed on its own is flushed
/// once the WAL outgrows `wal_max_size`, so the segments it pins go.
#[test]
fn caches_pinning_an_oversized_wal_are_flushed() {
    const QUIET: ShardId = ShardId(2);
    let dir = tempfile::tempdir().unwrap();
    let cfg = StorageConfig {
        cache_snapshot_memory_size: 64 << 20,
        wal_segment_size: 8 << 10,
        wal_max_size: 32 << 10,
        cache_snapshot_write_cold_duration: Duration::from_secs(3600),
        ..small_config(dir.path())
    };
    let e = Engine::open(cfg, EngineOptions::default()).unwrap();
    e.create_shard(S).unwrap();
    e.create_shard(QUIET).unwrap();
    // One point in the quiet shard, in the first segment.
    e.write_blocking(QUIET, v(1), &batch(&[p("q,h=a", 1, &[("f", int(1))])]))
        .unwrap();
    for i in 0..200 {
        let points: Vec<_> = (0..50)
            .map(|j| p("m,h=a", i * 100 + j, &[("f", int(j))]))
            .collect();
        e.write_blocking(S, v(i as u64 + 2), &batch(&points)).unwrap();
    }
    assert!(e.wal_segment_count() > 10, "{}", e.wal_segment_count());
    // The flusher checks the bound every second.
    let deadline = Instant::now() + Duration::from_secs(20);
    while e.wal_segment_count() > 6 || e.shard_info(QUIET).unwrap().file_count == 0 {
        assert!(
            Instant::now() < deadline,
            "WAL still {} segments, quiet shard {:?}",
            e.wal_segment_count(),
            e.shard_info(QUIET).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(export_all(&e, QUIET), "q,h=a f=1i 1\n");
}

#[test]
fn digests_agree_across_layouts_and_differ_on_content() {
    let points_a: Vec<_> = (0..50)
        .map(|i| p(&format!("c,h={}", i % 5), i, &[("f", int(i)), ("g", float(0.5))]))
        .collect();
    let points_b: Vec<_> = (0..50)
        .map(|i| p(&format!("c,h={}", i % 5), i, &[("f", int(-i))]))
        .collect();
    let digest = |order: &[(u64, bool)], flush_between: bool| {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path());
        e.create_shard(S).unwrap();
        for &(ver, a) in order {
            e.write_blocking(S, v(ver), &batch(if a { &points_a } else { &points_b }))
                .unwrap();
            if flush_between {
                e.flush().unwrap();
            }
        }
        e.digest(S, Duration::from_nanos(16)).unwrap()
    };
    let d1 = digest(&[(1, true), (2, false)], false);
    let d2 = digest(&[(2, false), (1, true), (1, true)], true);
    let d3 = digest(&[(2, true), (1, false)], false);
    assert_eq!(d1, d2);
    assert_ne!(d1, d3);
    assert_eq!(
        d1.buckets.iter().map(|b| b.start).collect::<Vec<_>>(),
        vec![0, 16, 32, 48]
    );
    assert_eq!(d1.buckets.iter().map(|b| b.cells).sum::<u64>(), 100);
}

/// The Parquet files of shard `S`.
fn parquet_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("shards/1"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect()
}

/// Compression of every column chunk of every Parquet file of shard `S`.
fn codecs(dir: &Path) -> Vec<parquet::basic::Compression> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut out = Vec::new();
    for path in parquet_files(dir) {
        let r = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for rg in r.metadata().row_groups() {
            out.extend(rg.columns().iter().map(|c| c.compression()));
        }
    }
    out
}

#[test]
fn flushed_files_are_uncompressed_and_compacted_ones_zstd() {
    use parquet::basic::Compression;
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.create_shard(S).unwrap();
    let write = |i: i64| {
        let b = batch(&[p("cpu,host=a", i, &[("usage", float(1.5))])]);
        e.write_blocking(S, v(i as u64 + 1), &b).unwrap();
        e.flush().unwrap();
    };
    // One file: nothing to compact yet.
    write(0);
    let flushed = codecs(dir.path());
    assert!(!flushed.is_empty());
    assert!(
        flushed.iter().all(|c| *c == Compression::UNCOMPRESSED),
        "{flushed:?}"
    );
    write(1);
    e.compact(S).unwrap();
    assert_eq!(e.shard_info(S).unwrap().file_count, 1);
    let compacted = codecs(dir.path());
    assert!(!compacted.is_empty());
    assert!(
        compacted.iter().all(|c| matches!(c, Compression::ZSTD(_))),
        "{compacted:?}"
    );
    assert_eq!(
        export_all(&e, S),
        "cpu,host=a usage=1.5 0\ncpu,host=a usage=1.5 1\n"
    );
}

/// Reads the one Parquet file of shard `S`: its column names and batches.
fn only_file(dir: &Path) -> (Vec<String>, Vec<arrow_array::RecordBatch>) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let files = parquet_files(dir);
    assert_eq!(files.len(), 1);
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[0]).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let names = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    (names, batches)
}

#[test]
fn shard_files_are_plain_parquet() {
    use arrow_array::Array;
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.create_shard(S).unwrap();
    let b = batch(&[
        p("cpu,host=a,region=eu", 2, &[("usage", float(1.5)), ("n", int(3))]),
        p("cpu,host=b", 1, &[("usage", float(2.5))]),
    ]);
    e.write_blocking(S, v(1), &b).unwrap();
    e.flush().unwrap();
    // A flushed file will be merged again: `_series` carries its tags.
    let (names, _) = only_file(dir.path());
    let internal = ["_series", "_version_hlc", "_version_node", "_version_seq"];
    let want: Vec<&str> = ["time", "n", "usage"].into_iter().chain(internal).collect();
    assert_eq!(names, want);
    // The full compaction of a cold shard (here forced) rewrites it at the
    // top level, with a column per tag.
    e.compact(S).unwrap();
    let (names, batches) = only_file(dir.path());
    let want: Vec<&str> = ["time", "host", "region", "n", "usage"]
        .into_iter()
        .chain(internal)
        .collect();
    assert_eq!(names, want);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2);
    let region = batches[0]
        .column(2)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert_eq!((region.value(0), region.is_null(1)), ("eu", true));
    assert_eq!(
        export_all(&e, S),
        "cpu,host=a,region=eu n=3i,usage=1.5 2\ncpu,host=b usage=2.5 1\n"
    );
}

/// Whether the one file of shard `S` has min/max statistics for `_series`.
fn series_statistics(dir: &Path) -> bool {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let files = parquet_files(dir);
    assert_eq!(files.len(), 1);
    let reader = SerializedFileReader::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    let rg = reader.metadata().row_group(0);
    let col = (0..rg.num_columns())
        .find(|&i| rg.column(i).column_path().string() == "_series")
        .unwrap();
    rg.column(col)
        .statistics()
        .is_some_and(|s| s.min_bytes_opt().is_some())
}

#[test]
fn only_top_level_files_get_tag_columns_and_text_statistics() {
    use arrow_array::Array;
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.create_shard(S).unwrap();
    let key = r"cpu,host\ name=a\,b,zone=x";
    let write = |i: i64| {
        let b = batch(&[p(key, i, &[("usage", float(i as f64))])]);
        e.write_blocking(S, v(i as u64 + 1), &b).unwrap();
        e.flush().unwrap();
    };
    let internal = ["_series", "_version_hlc", "_version_node", "_version_seq"];
    write(0);
    let (names, _) = only_file(dir.path());
    let want: Vec<&str> = ["time", "usage"].into_iter().chain(internal).collect();
    assert_eq!(names, want);
    assert!(!series_statistics(dir.path()));
    for i in 1..4 {
        write(i);
    }
    // The hot-shard path (small_config: 2 files per merge, top level 2):
    // four flushes, two level-1 files, one level-2 file.
    let shard = e.inner.shard(S).unwrap();
    e.inner.compact_shard(&shard, false, false).unwrap();
    let levels: Vec<u32> = lock(&shard.manifest).files.iter().map(|f| f.level).collect();
    assert_eq!(levels, [2]);
    let (names, batches) = only_file(dir.path());
    let want: Vec<&str> = ["time", "host name", "zone", "usage"]
        .into_iter()
        .chain(internal)
        .collect();
    assert_eq!(names, want);
    let host = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert_eq!(host.len(), 4);
    assert!((0..4).all(|i| host.value(i) == "a,b"));
    assert!(series_statistics(dir.path()));
    let want: String = (0..4).map(|i| format!("{key} usage={i} {i}\n")).collect();
    assert_eq!(export_all(&e, S), want);
}

#[test]
fn tag_columns_in_every_file_puts_them_in_flushed_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        tag_columns_in_every_file: true,
        ..small_config(dir.path())
    };
    let e = Engine::open(config, EngineOptions::default()).unwrap();
    e.create_shard(S).unwrap();
    let b = batch(&[p("cpu,host=a", 1, &[("usage", float(1.5))])]);
    e.write_blocking(S, v(1), &b).unwrap();
    e.flush().unwrap();
    let (names, _) = only_file(dir.path());
    assert_eq!(
        names,
        [
            "time",
            "host",
            "usage",
            "_series",
            "_version_hlc",
            "_version_node",
            "_version_seq"
        ]
    );
    // Text statistics stay for the top level.
    assert!(!series_statistics(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_writes_through_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ShardStore> = Arc::new(open(dir.path()));
    store.create_shard(S).unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let b = batch(&[p("m,h=a", i as i64, &[("f", int(i as i64))])]);
            store.write(S, v(i), &b).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().written, 1);
    }
    let info = store.shard_info(S).unwrap();
    assert_eq!(info.point_count, 16);
    assert!(!info.cold);
    store.close().unwrap();
    assert!(matches!(store.close(), Err(StorageError::Closed)));
    let b = batch(&[p("m", 1, &[("f", int(1))])]);
    assert!(matches!(
        store.write(S, v(1), &b).await,
        Err(StorageError::Closed)
    ));
}

#[test]
fn field_types_are_reported_with_influxd_names() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(dir.path());
    e.create_shard(S).unwrap();
    let table: [(FieldValue, FieldType); 5] = [
        (float(1.0), FieldType::Float),
        (int(1), FieldType::Integer),
        (FieldValue::Unsigned(1), FieldType::Unsigned),
        (FieldValue::String("x".into()), FieldType::String),
        (FieldValue::Boolean(true), FieldType::Boolean),
    ];
    for (i, (val, ty)) in table.iter().enumerate() {
        let field = format!("f{i}");
        e.write_blocking(S, v(1), &batch(&[p("m", 1, &[(&field, val.clone())])]))
            .unwrap();
        let other = if *ty == FieldType::Float {
            int(1)
        } else {
            float(1.0)
        };
        let out = e
            .write_blocking(S, v(2), &batch(&[p("m", 2, &[(&field, other.clone())])]))
            .unwrap();
        let c = out.first_conflict.unwrap();
        assert_eq!((c.existing, c.input), (*ty, other.field_type()));
    }
}

#[test]
fn leftovers_of_interrupted_flushes_and_compactions_are_handled_on_open() {
    // (what the crash left behind, should open, file expected gone)
    type Damage = fn(&Path, &str);
    let table: [(&str, Damage, bool); 3] = [
        // A flush or compaction output that never made it into the manifest
        // (here: a copy of a listed file, i.e. duplicate data).
        (
            "unlisted parquet file",
            |d, listed| {
                std::fs::copy(d.join(listed), d.join("00009999-m.parquet")).unwrap();
            },
            true,
        ),
        (
            "manifest temp file",
            |d, _| std::fs::write(d.join("MANIFEST.json.tmp"), b"{").unwrap(),
            true,
        ),
        (
            "listed file missing",
            |d, listed| std::fs::remove_file(d.join(listed)).unwrap(),
            false,
        ),
    ];
    for (what, damage, opens) in table {
        let dir = tempfile::tempdir().unwrap();
        let want = {
            let e = open(dir.path());
            e.create_shard(S).unwrap();
            e.write_blocking(
                S,
                v(1),
                &batch(&[p("m,h=a", 1, &[("f", int(1))]), p("m,h=b", 2, &[("f", int(2))])]),
            )
            .unwrap();
            e.close().unwrap();
            export_all(&open(dir.path()), S)
        };
        let sdir = dir.path().join("shards/1");
        let listed = std::fs::read_dir(&sdir)
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .find(|n| n.ends_with(".parquet"))
            .unwrap();
        damage(&sdir, &listed);
        match Engine::open(small_config(dir.path()), EngineOptions::default()) {
            Ok(e) => {
                assert!(opens, "{what}: opened");
                assert_eq!(export_all(&e, S), want, "{what}");
                let names: Vec<String> = std::fs::read_dir(&sdir)
                    .unwrap()
                    .map(|f| f.unwrap().file_name().into_string().unwrap())
                    .collect();
                assert_eq!(names.len(), 2, "{what}: {names:?}");
            }
            Err(e) => {
                assert!(!opens, "{what}: {e}");
                assert!(matches!(e, StorageError::Corrupt { .. }), "{what}: {e}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_part_on_a_blocking_thread_then_await_durability() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(open(dir.path()));
    e.create_shard(S).unwrap();
    let e2 = Arc::clone(&e);
    let pending = tokio::task::spawn_blocking(move || {
        let b = batch(&[p("m,h=a", 1, &[("f", int(1))])]);
        e2.append(S, v(1), &b)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(pending.durable().await.unwrap().written, 1);
    assert_eq!(export_all(&e, S), "m,h=a f=1i 1\n");
}
