//! The write path against in-memory ports: consistency levels, drops,
//! routing, retries, breakers, budgets and background completion.

#[path = "support/fakes.rs"]
mod fakes;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fakes::{Behaviour, FakeMeta, FakeTransport, HOUR, Shared};
use tandem_coordinator::ports::OwnerError;
use tandem_coordinator::{Coordinator, CoordinatorConfig, WriteError, WriteReport, WriteRequest};
use tandem_lineproto::{Precision, fnv64a};
use tandem_model::{ConsistencyLevel, FieldType, NodeId, PointsView, ShardId};

const T0: i64 = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % HOUR;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

struct Cluster {
    meta: Arc<FakeMeta>,
    transport: Arc<FakeTransport>,
    coordinator: Coordinator,
}

fn cluster(owners: &[u32], shards_per_group: usize, config: CoordinatorConfig) -> Cluster {
    let meta = FakeMeta::new(owners, shards_per_group);
    let transport = FakeTransport::new();
    let coordinator = Coordinator::new(
        NodeId(1),
        config,
        meta.clone(),
        Arc::new(Shared(transport.clone())),
        tandem_coordinator::hlc::Hlc::volatile(NodeId(1)),
    );
    Cluster {
        meta,
        transport,
        coordinator,
    }
}

fn request<'a>(body: &'a str, rp: Option<&'a str>, level: ConsistencyLevel) -> WriteRequest<'a> {
    WriteRequest {
        db: "db",
        rp,
        precision: Precision::Nanosecond,
        consistency: level,
        body: body.as_bytes(),
        allow_unsigned: false,
    }
}

/// One-line summary of an outcome, for table-driven checks.
fn summary(r: &Result<WriteReport, WriteError>) -> String {
    match r {
        Ok(rep) => {
            let acks = rep.acks.map_or("-".to_owned(), |a| {
                format!("{}/{}/{}", a.acked, a.required, a.owners)
            });
            match &rep.partial {
                Some(p) => format!("ok {} acks={acks} {p}", rep.points_written),
                None => format!("ok {} acks={acks}", rep.points_written),
            }
        }
        Err(e) => format!("err {e}"),
    }
}

#[tokio::test]
async fn consistency_matrix_rf3() {
    use ConsistencyLevel::*;
    let down = || Behaviour::Fail(OwnerError::Unavailable("connection refused".into()));
    // (owners failing, level, expected)
    let table = [
        (0, Any, "ok 1 acks=1/1/3"),
        (0, One, "ok 1 acks=1/1/3"),
        (0, Quorum, "ok 1 acks=2/2/3"),
        (0, All, "ok 1 acks=3/3/3"),
        (1, Any, "ok 1 acks=1/1/3"),
        (1, One, "ok 1 acks=1/1/3"),
        (1, Quorum, "ok 1 acks=2/2/3"),
        (1, All, "err partial write"),
        (2, Any, "ok 1 acks=1/1/3"),
        (2, One, "ok 1 acks=1/1/3"),
        (2, Quorum, "err partial write"),
        (2, All, "err partial write"),
        (3, Any, "err write failed: connection refused"),
        (3, One, "err write failed: connection refused"),
        (3, Quorum, "err write failed: connection refused"),
        (3, All, "err write failed: connection refused"),
    ];
    for (failing, level, want) in table {
        let c = cluster(&[1, 2, 3], 1, CoordinatorConfig::default());
        for n in (1..=3).rev().take(failing) {
            c.transport.set(n, down());
        }
        // The healthy owners answer a little later than the failing ones, so
        // the request sees every failure before it can succeed.
        for n in 1..=(3 - failing as u32) {
            c.transport.set(n, Behaviour::AckAfter(Duration::from_millis(20)));
        }
        let line = format!("cpu,host=a v=1 {T0}");
        let got = summary(&c.coordinator.write(request(&line, None, level)).await);
        assert_eq!(got, want, "{failing} owners down at {level}");
        assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
        // Every live owner holds the point, whatever the request answered.
        for n in 1..=(3 - failing as u32) {
            assert_eq!(
                c.transport.stored_points(n),
                1,
                "owner {n} ({failing} down, {level})"
            );
        }
    }
}

/// The ack summary is the weakest shard's: one shard of the batch has a
/// single ack when the request returns, the other already has two.
#[tokio::test]
async fn the_ack_summary_is_the_weakest_shards() {
    let c = cluster(&[1, 2], 2, CoordinatorConfig::default());
    *c.meta.owner_sets.lock().unwrap() = vec![vec![NodeId(1), NodeId(2)], vec![NodeId(3), NodeId(4)]];
    // First shard: node 1 acks late, node 2 is down. Second shard: both
    // ack well before node 1 does.
    c.transport
        .set(1, Behaviour::AckAfter(Duration::from_millis(300)));
    c.transport.set(
        2,
        Behaviour::Fail(OwnerError::Unavailable("connection refused".into())),
    );
    c.transport.set(4, Behaviour::AckAfter(Duration::from_millis(20)));
    // Twenty series: both shards get points.
    let body: String = (0..20).map(|h| format!("cpu,host=h{h} v=1 {T0}\n")).collect();
    let r = c
        .coordinator
        .write(request(&body, None, ConsistencyLevel::One))
        .await;
    assert_eq!(summary(&r), "ok 20 acks=1/1/2");
    assert!(c.transport.stored_points(3) > 0 && c.transport.stored_points(4) > 0);
    assert_eq!(c.transport.stored_points(1) + c.transport.stored_points(3), 20);
}

#[tokio::test]
async fn request_returns_at_quorum_and_the_slow_owner_still_gets_the_data() {
    let c = cluster(&[1, 2, 3], 1, CoordinatorConfig::default());
    c.transport
        .set(3, Behaviour::AckAfter(Duration::from_millis(500)));
    let line = format!("cpu v=1 {T0}");
    let r = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::Quorum))
        .await;
    assert_eq!(summary(&r), "ok 1 acks=2/2/3");
    assert_eq!(
        c.transport.stored_points(3),
        0,
        "answered before the slow owner stored"
    );
    assert_eq!(c.coordinator.writes_in_flight(), 1);
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    assert_eq!(
        c.transport.stored_points(3),
        1,
        "the slow owner got the write after the request returned"
    );
}

#[tokio::test]
async fn dropping_the_request_future_does_not_cancel_owner_writes() {
    let c = cluster(&[1, 2], 1, CoordinatorConfig::default());
    c.transport
        .set(1, Behaviour::AckAfter(Duration::from_millis(100)));
    c.transport
        .set(2, Behaviour::AckAfter(Duration::from_millis(100)));
    let line = format!("cpu v=1 {T0}");
    let req = request(&line, None, ConsistencyLevel::All);
    // The client goes away while the owners are still writing.
    let _ = tokio::time::timeout(Duration::from_millis(20), c.coordinator.write(req)).await;
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    assert_eq!(
        (c.transport.stored_points(1), c.transport.stored_points(2)),
        (1, 1)
    );
}

#[tokio::test]
async fn timeout_answers_timeout() {
    let config = CoordinatorConfig {
        write_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let c = cluster(&[1, 2, 3], 1, config);
    c.transport.set(2, Behaviour::Hang);
    c.transport.set(3, Behaviour::Hang);
    let line = format!("cpu v=1 {T0}");
    // Repeated: the request's deadline must win over the owners' every time.
    let t0 = Instant::now();
    for i in 0..5 {
        let r = c
            .coordinator
            .write(request(&line, None, ConsistencyLevel::Quorum))
            .await;
        assert_eq!(
            summary(&r),
            "err timeout",
            "iteration {i} at {:?}: {r:?}",
            t0.elapsed()
        );
    }
    let r = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::Quorum))
        .await;
    assert_eq!(summary(&r), "err timeout");
    let Err(WriteError::Consistency(f)) = r else {
        unreachable!()
    };
    assert_eq!((f.acked, f.required), (1, 2));
    assert_eq!(c.coordinator.stats().snapshot().write_timeout, 6);
}

#[tokio::test]
async fn a_dead_node_stops_costing_a_round_trip() {
    let c = cluster(&[1, 2], 1, CoordinatorConfig::default());
    c.transport.set(
        2,
        Behaviour::Fail(OwnerError::Unavailable("connection refused".into())),
    );
    let line = format!("cpu v=1 {T0}");
    for _ in 0..10 {
        let r = c
            .coordinator
            .write(request(&line, None, ConsistencyLevel::One))
            .await;
        assert!(r.is_ok());
    }
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    assert_eq!(c.transport.attempts(2), 3, "the breaker opened after 3 failures");
    let results: Vec<(u32, &str, u64)> = c
        .coordinator
        .stats()
        .owner_results()
        .into_iter()
        .map(|(n, r, k)| (n.0, r.as_str(), k))
        .collect();
    assert_eq!(
        results,
        [(1, "ack", 10), (2, "unavailable", 3), (2, "node_down", 7)]
    );
    assert!(c.coordinator.node_held_down(NodeId(2)));
}

#[tokio::test]
async fn spent_node_budget_is_reported_as_overload() {
    let config = CoordinatorConfig {
        max_inflight_bytes_per_node: 1024,
        ..Default::default()
    };
    let c = cluster(&[1, 2], 1, config);
    c.transport
        .set(2, Behaviour::AckAfter(Duration::from_millis(500)));
    let big: String = (0..40).map(|i| format!("cpu,host=h{i} value=1 {T0}\n")).collect();
    let background = {
        let coordinator = c.coordinator.clone();
        let body = big.clone();
        tokio::spawn(async move {
            coordinator
                .write(request(&body, None, ConsistencyLevel::One))
                .await
                .is_ok()
        })
    };
    let waited = Instant::now();
    while c.transport.stored_points(1) == 0 && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = c
        .coordinator
        .write(request(&big, None, ConsistencyLevel::All))
        .await;
    assert_eq!(
        summary(&r),
        "err write failed: cannot meet consistency all (acked 1 of 2 required): owners overloaded"
    );
    assert!(background.await.unwrap());
}

#[tokio::test]
async fn points_influxd_would_drop_are_reported_as_partial_writes() {
    let now = now_ns();
    let old = now - 8 * 24 * HOUR;
    // (body, rp, expected)
    let table: Vec<(String, Option<&str>, String)> = vec![
        (format!("cpu v=1 {old}\ncpu v=2 {now}"), Some("week"), "ok 1 acks=1/1/1 partial write: points beyond retention policy dropped=1".into()),
        (format!("cpu v=1 {old}"), Some("week"), "ok 0 acks=- partial write: points beyond retention policy dropped=1".into()),
        (format!("cpu v=1 {old}"), None, "ok 1 acks=1/1/1".into()),
        (format!("cpu,time=x v=1 {T0}\ncpu v=2 {T0}"), None, "ok 1 acks=1/1/1 partial write: invalid tag key: input tag \"time\" on measurement \"cpu\" is invalid dropped=1".into()),
        (format!("cpu time=1 {T0}"), None, "ok 0 acks=- partial write: invalid field name: input field \"time\" on measurement \"cpu\" is invalid dropped=1".into()),
        (format!("cpu time=1,v=2 {T0}"), None, "ok 1 acks=1/1/1".into()),
        (format!("m f=1 {T0}\nm f=2i {T0}\nm f=3 {T0}"), None, "ok 2 acks=1/1/1 partial write: field type conflict: input field \"f\" on measurement \"m\" is type integer, already exists as type float dropped=1".into()),
        (format!("cpu v=1 {T0}\nbad line\ncpu v=2 {T0}"), None, "ok 2 acks=1/1/1 partial write: unable to parse 'bad line': invalid field format dropped=0".into()),
        (format!("cpu,time=x v=1 {old}\ncpu v=1 {old}\nbad"), Some("week"), "ok 0 acks=- partial write: invalid tag key: input tag \"time\" on measurement \"cpu\" is invalid dropped=2".into()),
    ];
    for (body, rp, want) in table {
        let c = cluster(&[1], 1, CoordinatorConfig::default());
        let got = summary(
            &c.coordinator
                .write(request(&body, rp, ConsistencyLevel::One))
                .await,
        );
        assert_eq!(got, want, "body {body:?}");
    }
}

#[tokio::test]
async fn registered_field_types_are_enforced() {
    let c = cluster(&[1], 1, CoordinatorConfig::default());
    c.meta.set_field(T0, "cpu", "v", FieldType::Float);
    let later = T0 + HOUR;
    let conflict = "partial write: field type conflict: input field \"v\" on measurement \"cpu\" is type integer, already exists as type float";
    // (body, expected), written in order to one cluster.
    let table = [
        (
            format!("cpu v=1i {T0}\ncpu v=2 {T0}\ncpu,x=y v=\"s\",w=1 {T0}"),
            format!("ok 1 acks=1/1/1 {conflict} dropped=2"),
        ),
        // Points of one shape share a type check only after one of them
        // passed: a point shaped like a dropped one is checked again.
        (
            format!("cpu v=1i {T0}\ncpu v=2i {T0}\ncpu v=3 {T0}\ncpu v=4 {T0}\ncpu v=5i {T0}\ncpu v=6i {T0}"),
            format!("ok 2 acks=1/1/1 {conflict} dropped=4"),
        ),
        // A group in another hour has its own registry entries.
        (format!("cpu v=1i {later}"), "ok 1 acks=1/1/1".to_owned()),
    ];
    for (body, want) in table {
        let r = c
            .coordinator
            .write(request(&body, None, ConsistencyLevel::One))
            .await;
        assert_eq!(summary(&r), want, "{body}");
    }
}

#[tokio::test]
async fn request_level_errors() {
    let c = cluster(&[1], 1, CoordinatorConfig::default());
    let line = format!("cpu v=1 {T0}");
    let cases = [
        (
            WriteRequest {
                db: "nope",
                ..request(&line, None, ConsistencyLevel::One)
            },
            "err database not found: \"nope\"",
        ),
        (
            request(&line, Some("nope"), ConsistencyLevel::One),
            "err retention policy not found: nope",
        ),
        (
            request("bad\n\nworse", None, ConsistencyLevel::One),
            "err unable to parse 'bad': missing fields\nunable to parse 'worse': missing fields",
        ),
        (request("", None, ConsistencyLevel::One), "ok 0 acks=-"),
        (
            request("# only a comment\n", None, ConsistencyLevel::One),
            "ok 0 acks=-",
        ),
    ];
    for (req, want) in cases {
        assert_eq!(summary(&c.coordinator.write(req).await), want);
    }
    let Err(WriteError::Parse { first_line, .. }) = c
        .coordinator
        .write(request("\n\nbad", None, ConsistencyLevel::One))
        .await
    else {
        panic!("expected a parse error")
    };
    assert_eq!(first_line, 3);
}

#[tokio::test]
async fn points_are_routed_by_series_hash_and_share_one_version() {
    let c = cluster(&[1, 2], 4, CoordinatorConfig::default());
    let body: String = (0..200)
        .map(|i| format!("cpu,host=h{i},dc=x usage={i}i,idle=1.5 {}\n", T0 + i))
        .collect();
    let r = c
        .coordinator
        .write(request(&body, None, ConsistencyLevel::All))
        .await
        .unwrap();
    assert_eq!(r.points_written, 200);
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    let groups = c.meta.groups.lock().unwrap().clone();
    assert_eq!(groups.len(), 1);
    let shard_ids: Vec<ShardId> = groups[0].shards.iter().map(|s| s.id).collect();
    let stored = c.transport.stored.lock().unwrap();
    for node in [NodeId(1), NodeId(2)] {
        let writes = &stored[&node];
        assert!(writes.len() > 1, "points spread over several shards");
        let mut total = 0;
        for w in writes {
            assert_eq!(Some(w.version), r.version, "one version for the whole batch");
            let view = PointsView::new(w.points.as_bytes()).unwrap();
            for p in view.iter() {
                let idx = (fnv64a(p.series_key.as_bytes()) % 4) as usize;
                assert_eq!(
                    shard_ids[idx], w.shard,
                    "{} routed by fnv64a % shards",
                    p.series_key
                );
                assert!(
                    p.series_key.starts_with("cpu,dc=x,host=h"),
                    "tags sorted: {}",
                    p.series_key
                );
                total += 1;
            }
        }
        assert_eq!(total, 200);
    }
    assert_eq!(
        c.meta.register_calls.load(Ordering::SeqCst),
        1,
        "new fields registered in one command"
    );
}

#[tokio::test]
async fn a_large_shard_share_goes_out_in_chunks_that_all_must_ack() {
    let config = CoordinatorConfig {
        max_shard_write_bytes: 2048,
        ..Default::default()
    };
    let c = cluster(&[1, 2], 1, config);
    let body: String = (0..500)
        .map(|i| format!("cpu,host=h{i} usage={i}i {}\n", T0 + i))
        .collect();
    let r = c
        .coordinator
        .write(request(&body, None, ConsistencyLevel::All))
        .await
        .unwrap();
    assert_eq!(r.points_written, 500);
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    {
        let stored = c.transport.stored.lock().unwrap();
        for node in [NodeId(1), NodeId(2)] {
            let writes = &stored[&node];
            assert!(writes.len() > 5, "{} writes", writes.len());
            let mut timestamps = Vec::new();
            for w in writes {
                assert_eq!(Some(w.version), r.version, "one version for every chunk");
                // A chunk is cut as soon as it reaches the limit: one point over at most.
                assert!(
                    w.points.as_bytes().len() < 2048 + 128,
                    "{}",
                    w.points.as_bytes().len()
                );
                let view = PointsView::new(w.points.as_bytes()).unwrap();
                timestamps.extend(view.iter().map(|p| p.ts));
            }
            timestamps.sort_unstable();
            let expected: Vec<i64> = (0..500).map(|i| T0 + i).collect();
            assert_eq!(timestamps, expected, "every point exactly once");
        }
    }

    // One chunk's owner failing fails the request: a later chunk is refused
    // by node 2 after the first few were stored.
    let c = cluster(
        &[1, 2],
        1,
        CoordinatorConfig {
            max_shard_write_bytes: 2048,
            ..Default::default()
        },
    );
    c.transport.set(
        2,
        Behaviour::FailFirst(1, OwnerError::Unavailable("connection refused".into())),
    );
    let r = c
        .coordinator
        .write(request(&body, None, ConsistencyLevel::All))
        .await;
    assert!(r.is_err(), "{}", summary(&r));
}

#[tokio::test]
async fn lines_without_timestamp_share_one_receive_time() {
    let c = cluster(&[1], 1, CoordinatorConfig::default());
    let before = now_ns();
    let r = c
        .coordinator
        .write(request("a v=1\nb v=2\nc v=3", None, ConsistencyLevel::One))
        .await;
    assert!(r.is_ok());
    assert!(c.coordinator.shutdown(Duration::from_secs(5)).await);
    let stored = c.transport.stored.lock().unwrap();
    let times: Vec<i64> = stored[&NodeId(1)]
        .iter()
        .flat_map(|w| {
            PointsView::new(w.points.as_bytes())
                .unwrap()
                .iter()
                .map(|p| p.ts)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(times.len(), 3);
    assert!(times.iter().all(|&t| t == times[0] && t >= before));
}

#[tokio::test]
async fn stale_routing_refreshes_and_retries_once() {
    let c = cluster(&[1, 2], 1, CoordinatorConfig::default());
    c.transport
        .set(2, Behaviour::FailFirst(1, OwnerError::StaleRouting(ShardId(0))));
    let line = format!("cpu v=1 {T0}");
    let r = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::All))
        .await;
    assert_eq!(summary(&r), "ok 1 acks=2/2/2");
    assert_eq!(c.transport.attempts(2), 2);
    assert_eq!(c.meta.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn owner_data_errors_are_client_errors_and_deleted_shards_are_reported() {
    let c = cluster(&[1, 2], 1, CoordinatorConfig::default());
    let conflict = "field type conflict: input field \"v\" on measurement \"cpu\" is type integer, already exists as type float";
    c.transport.set(
        2,
        Behaviour::Fail(OwnerError::PartialWrite {
            reason: conflict.into(),
            dropped: 1,
        }),
    );
    let line = format!("cpu v=1 {T0}");
    let r = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::All))
        .await;
    assert!(matches!(
        r,
        Err(WriteError::Rejected(OwnerError::PartialWrite { .. }))
    ));
    assert_eq!(summary(&r), format!("err partial write: {conflict} dropped=1"));

    let c = cluster(&[1], 1, CoordinatorConfig::default());
    c.transport
        .set(1, Behaviour::Fail(OwnerError::ShardDeleted(ShardId(0))));
    // The first write creates the group; then the shard goes away.
    let _ = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::One))
        .await;
    let shard = c.meta.groups.lock().unwrap()[0].shards[0].id;
    c.meta.deleted.lock().unwrap().push(shard);
    let r = c
        .coordinator
        .write(request(&line, None, ConsistencyLevel::One))
        .await;
    assert_eq!(
        summary(&r),
        format!("err partial write: shard {shard} is pending deletion dropped=1")
    );
}
