use std::sync::Arc;

use tandem_model::{FieldValue, Version};

use super::frozen::FrozenRows;
use super::*;
use crate::merge::{Row, RowSource, TimeRange};
use crate::testkit::{Point, batch, p, v};

fn int(i: i64) -> FieldValue {
    FieldValue::Integer(i)
}

type Rows = Vec<(String, i64, u64, Vec<(String, FieldValue)>)>;
type Batches = Vec<(Version, Vec<Point>)>;

/// Applies batches to a cache, freezes it and returns its rows as
/// (series, ts, version hlc, [(field key, value)]).
fn rows_after(batches: &[(Version, Vec<Point>)]) -> Rows {
    let mut cache = Cache::default();
    let mut reg = Arc::new(FieldRegistry::default());
    for (ver, points) in batches {
        let b = batch(points);
        let out = cache.apply(&mut reg, &b.view(), *ver);
        assert_eq!(out.dropped, 0);
    }
    let frozen = Arc::new(cache.freeze(&reg));
    let mut src = FrozenRows::all(frozen, Arc::clone(&reg), TimeRange::ALL);
    let mut row = Row::default();
    let mut out = Vec::new();
    while src.next_row(&mut row).unwrap() {
        let fields = row
            .fields
            .iter()
            .map(|(f, val)| (reg.get(*f).key.to_string(), val.clone()))
            .collect();
        out.push((row.series.clone(), row.ts, row.version.hlc_ns, fields));
    }
    out
}

#[test]
fn snapshot_resolution_table() {
    type Want = Vec<(&'static str, i64, u64, Vec<(&'static str, i64)>)>;
    let table: Vec<(&str, Batches, Want)> = vec![
        (
            "later occurrence in a batch wins",
            vec![(
                v(1),
                vec![p("m", 1, &[("a", int(1))]), p("m", 1, &[("a", int(2))])],
            )],
            vec![("m", 1, 1, vec![("a", 2)])],
        ),
        (
            "newer version wins whatever the order",
            vec![
                (v(5), vec![p("m", 1, &[("a", int(5))])]),
                (v(3), vec![p("m", 1, &[("a", int(3))])]),
            ],
            vec![("m", 1, 5, vec![("a", 5)])],
        ),
        (
            "equal versions from different batches: larger value",
            vec![
                (v(2), vec![p("m", 1, &[("a", int(9))])]),
                (v(2), vec![p("m", 1, &[("a", int(4))])]),
            ],
            vec![("m", 1, 2, vec![("a", 9)])],
        ),
        (
            "the same batch twice is idempotent",
            vec![
                (
                    v(2),
                    vec![p("m", 1, &[("a", int(1))]), p("m", 1, &[("a", int(0))])],
                ),
                (
                    v(2),
                    vec![p("m", 1, &[("a", int(1))]), p("m", 1, &[("a", int(0))])],
                ),
            ],
            vec![("m", 1, 2, vec![("a", 0)])],
        ),
        (
            "versions are kept per field: one row per winning version",
            vec![
                (v(1), vec![p("m", 1, &[("a", int(1)), ("b", int(1))])]),
                (v(2), vec![p("m", 1, &[("b", int(2))])]),
            ],
            vec![("m", 1, 1, vec![("a", 1)]), ("m", 1, 2, vec![("b", 2)])],
        ),
        (
            "series sorted by key, then time",
            vec![(
                v(1),
                vec![
                    p("z", 2, &[("a", int(1))]),
                    p("a", 9, &[("a", int(2))]),
                    p("a", 3, &[("a", int(3))]),
                ],
            )],
            vec![
                ("a", 3, 1, vec![("a", 3)]),
                ("a", 9, 1, vec![("a", 2)]),
                ("z", 2, 1, vec![("a", 1)]),
            ],
        ),
    ];
    for (what, batches, want) in table {
        let want: Vec<_> = want
            .into_iter()
            .map(|(s, t, ver, f)| {
                (
                    s.to_owned(),
                    t,
                    ver,
                    f.into_iter()
                        .map(|(k, x)| (k.to_owned(), int(x)))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(rows_after(&batches), want, "{what}");
    }
}

#[test]
fn memory_is_accounted_and_conflicting_points_are_listed() {
    let mut cache = Cache::default();
    let mut reg = Arc::new(FieldRegistry::default());
    let points: Vec<Point> = (0..1000)
        .map(|i| p(&format!("m,h={}", i % 10), i, &[("a", int(i))]))
        .collect();
    let out = cache.apply(&mut reg, &batch(&points).view(), v(1));
    assert_eq!((out.written, out.dropped), (1000, 0));
    let cells_bytes = 1000 * size_of::<Cell>();
    assert!(
        cache.bytes() >= cells_bytes && cache.bytes() < 3 * cells_bytes,
        "{}",
        cache.bytes()
    );
    let bad = vec![
        p("m,h=1", 1, &[("a", FieldValue::Float(1.0))]),
        p("m,h=1", 2, &[("a", int(2))]),
        p("m,h=1", 3, &[("a", FieldValue::Boolean(true))]),
    ];
    let out = cache.apply(&mut reg, &batch(&bad).view(), v(2));
    assert_eq!((out.written, out.dropped, out.dropped_points), (1, 2, vec![0, 2]));
    assert_eq!(cache.lines(), 1001);
}
