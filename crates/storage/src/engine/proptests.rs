//! Property tests: the stored state depends only on the set of versioned
//! writes, never on order, duplication, flushes, compactions or restarts.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use tandem_model::{FieldValue, ShardId};

use super::{Engine, EngineOptions};
use crate::testkit::{Model, Point, batch, export_all, small_config, v};

const S: ShardId = ShardId(3);

/// A field key decides its type, so batches never conflict.
fn field() -> impl Strategy<Value = (String, FieldValue)> {
    prop_oneof![
        (-3i64..3).prop_map(|x| ("f".to_owned(), FieldValue::Float(x as f64 / 2.0))),
        (-3i64..3).prop_map(|x| ("i".to_owned(), FieldValue::Integer(x))),
        (0u64..3).prop_map(|x| ("u".to_owned(), FieldValue::Unsigned(x))),
        "[ab\" ]{0,3}".prop_map(|s| ("s x".to_owned(), FieldValue::String(s))),
        any::<bool>().prop_map(|b| ("b".to_owned(), FieldValue::Boolean(b))),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    let series = prop::sample::select(vec!["cpu,host=a", "cpu,host=b", "mem,host=a", r"disk\ io,d=x\,y"]);
    (series, 0i64..5, prop::collection::vec(field(), 1..4)).prop_map(|(s, t, f)| (s.to_owned(), t, f))
}

/// Batches with versions from a small range, so equal versions with
/// different content (the tie-break) happen too.
fn writes() -> impl Strategy<Value = Vec<(u64, Vec<Point>)>> {
    prop::collection::vec((0u64..6, prop::collection::vec(point(), 1..10)), 1..6)
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Nothing,
    Flush,
    Compact,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![3 => Just(Op::Nothing), 1 => Just(Op::Flush), 1 => Just(Op::Compact), 1 => Just(Op::Restart)]
}

/// Every batch index at least once, some twice or thrice, shuffled.
fn schedule(n: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..n, 0..=2 * n)
        .prop_map(move |extra| (0..n).chain(extra).collect::<Vec<_>>())
        .prop_shuffle()
}

fn open(dir: &Path) -> Engine {
    Engine::open(small_config(dir), EngineOptions::default()).unwrap()
}

fn run(
    dir: &Path,
    writes: &[(u64, Vec<Point>)],
    order: &[usize],
    ops: &[Op],
) -> (String, crate::ShardDigest) {
    let mut e = open(dir);
    e.create_shard(S).unwrap();
    for (step, &i) in order.iter().enumerate() {
        let (ver, points) = &writes[i];
        let out = e.write_blocking(S, v(*ver), &batch(points)).unwrap();
        assert_eq!(out.dropped, 0);
        match ops.get(step).copied().unwrap_or(Op::Nothing) {
            Op::Nothing => {}
            Op::Flush => e.flush().unwrap(),
            Op::Compact => e.compact(S).unwrap(),
            Op::Restart => {
                drop(e);
                e = open(dir);
            }
        }
    }
    let digest = e.digest(S, std::time::Duration::from_nanos(2)).unwrap();
    (export_all(&e, S), digest)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_converges(
        (writes, order_a, order_b, ops_a, ops_b) in writes().prop_flat_map(|w| {
            let n = w.len();
            (Just(w), schedule(n), schedule(n), prop::collection::vec(op(), 3 * n), prop::collection::vec(op(), 3 * n))
        })
    ) {
        let mut model = Model::default();
        for (ver, points) in &writes {
            model.apply(v(*ver), points);
        }
        let want = model.export();
        let dir_a = tempfile::tempdir().unwrap();
        let dir_b = tempfile::tempdir().unwrap();
        let (export_a, digest_a) = run(dir_a.path(), &writes, &order_a, &ops_a);
        let (export_b, digest_b) = run(dir_b.path(), &writes, &order_b, &ops_b);
        prop_assert_eq!(&export_a, &want);
        prop_assert_eq!(&export_b, &want);
        prop_assert_eq!(digest_a, digest_b);
    }

    #[test]
    fn compaction_keeps_exactly_the_winning_rows(
        writes in writes(),
        flush_every in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path());
        e.create_shard(S).unwrap();
        let mut model = Model::default();
        for (i, (ver, points)) in writes.iter().enumerate() {
            e.write_blocking(S, v(*ver), &batch(points)).unwrap();
            model.apply(v(*ver), points);
            if i % flush_every == 0 {
                e.flush().unwrap();
            }
            prop_assert_eq!(export_all(&e, S), model.export());
        }
        e.flush().unwrap();
        e.compact(S).unwrap();
        prop_assert_eq!(export_all(&e, S), model.export());
        let info = e.shard_info(S).unwrap();
        let measurements: BTreeSet<&str> =
            writes.iter().flat_map(|(_, ps)| ps.iter().map(|p| crate::series_key::measurement(&p.0))).collect();
        prop_assert!(info.file_count <= measurements.len(), "{:?}", info);
        // After a full compaction a file row is a (series, time, winning
        // version): superseded rows are gone.
        prop_assert_eq!(info.point_count, model.winning_rows() as u64);
    }
}
