//! Data-driven tests of `MetaState::apply`: each case is a script of
//! commands with the outcome expected for each step.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tandem_model::{FieldType, NodeId, ShardGroupId};

use super::*;
use crate::command::{Command, CommandOutput};

const H: i64 = 3_600_000_000_000;
const D: i64 = 24 * H;
/// Monday 2024-01-01T00:00:00Z in ns.
const MONDAY: i64 = 1_704_067_200 * 1_000_000_000;

#[derive(Debug)]
enum Expect {
    /// Succeeds and bumps the version by one.
    Changed,
    /// Succeeds without a change (version unchanged).
    Unchanged,
    /// Fails with this error and changes nothing.
    Fails(MetaError),
}
use Expect::*;

fn check(state: &mut MetaState, steps: Vec<(Command, Expect)>) -> Vec<CommandOutput> {
    let mut outputs = Vec::new();
    for (i, (command, expect)) in steps.into_iter().enumerate() {
        let before = state.clone();
        let result = state.apply(&command);
        match (&expect, result) {
            (Changed, Ok(out)) => {
                assert_eq!(
                    state.version(),
                    before.version() + 1,
                    "step {i} {command:?}: version"
                );
                outputs.push(out);
            }
            (Unchanged, Ok(out)) => {
                assert_eq!(*state, before, "step {i} {command:?}: state changed");
                outputs.push(out);
            }
            (Fails(want), Err(got)) => {
                assert_eq!(&got, want, "step {i} {command:?}");
                assert_eq!(
                    *state, before,
                    "step {i} {command:?}: failed command changed state"
                );
            }
            (expect, got) => panic!("step {i} {command:?}: expected {expect:?}, got {got:?}"),
        }
    }
    outputs
}

fn create_db(name: &str) -> Command {
    Command::CreateDatabase {
        name: name.into(),
        retention_policy: None,
        default_replication_factor: 0,
    }
}

fn create_db_rf(name: &str, rf: u32) -> Command {
    Command::CreateDatabase {
        name: name.into(),
        retention_policy: None,
        default_replication_factor: rf,
    }
}

fn spec(name: &str, duration: Duration, sgd: Duration, rf: Option<u32>) -> RetentionPolicySpec {
    RetentionPolicySpec {
        name: name.into(),
        duration,
        shard_group_duration: sgd,
        replication_factor: rf,
    }
}

fn create_rp(db: &str, spec: RetentionPolicySpec, make_default: bool) -> Command {
    Command::CreateRetentionPolicy {
        database: db.into(),
        spec,
        make_default,
        default_replication_factor: 1,
    }
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86400)
}

fn data_node(uuid: &str, zone: Option<&str>, passive: bool) -> Command {
    Command::RegisterNode(NodeRegistration {
        uuid: uuid.into(),
        requested_id: None,
        data: Some(DataEndpoints {
            rpc_addr: format!("{uuid}:8088"),
            http_addr: format!("{uuid}:8086"),
        }),
        passive,
        labels: zone
            .map(|z| BTreeMap::from([(ZONE_LABEL.to_owned(), z.to_owned())]))
            .unwrap_or_default(),
    })
}

fn groups(db: &str, rp: &str, timestamps: &[i64]) -> Command {
    Command::CreateShardGroupIfAbsent {
        database: db.into(),
        retention_policy: rp.into(),
        timestamps: timestamps.to_vec(),
    }
}

fn output_groups(out: &CommandOutput) -> Vec<Arc<ShardGroupInfo>> {
    match out {
        CommandOutput::ShardGroups(g) => g.clone(),
        other => panic!("expected groups, got {other:?}"),
    }
}

fn field(group: u64, m: &str, f: &str, t: FieldType) -> FieldRegistration {
    FieldRegistration {
        shard_group: ShardGroupId(group),
        measurement: m.into(),
        field: f.into(),
        field_type: t,
    }
}

#[test]
fn database_and_policy_ddl() {
    let mut s = MetaState::default();
    check(
        &mut s,
        vec![
            (create_db(""), Fails(MetaError::DatabaseNameRequired)),
            (create_db("a/b"), Fails(MetaError::InvalidName)),
            (create_db(".."), Fails(MetaError::InvalidName)),
            (create_db("db"), Changed),
            (create_db("db"), Unchanged),
            (create_db_rf("db3", 3), Changed),
            (
                Command::CreateDatabase {
                    name: "db".into(),
                    retention_policy: Some(spec("other", hours(24), Duration::ZERO, Some(1))),
                    default_replication_factor: 1,
                },
                Fails(MetaError::RetentionPolicyConflict),
            ),
            (
                Command::CreateDatabase {
                    name: "db".into(),
                    retention_policy: Some(RetentionPolicySpec::autogen()),
                    default_replication_factor: 1,
                },
                Unchanged,
            ),
            (
                create_rp("nodb", spec("rp", hours(1), Duration::ZERO, Some(1)), false),
                Fails(MetaError::DatabaseNotFound("nodb".into())),
            ),
            (
                create_rp("db", spec("", hours(1), Duration::ZERO, Some(1)), false),
                Fails(MetaError::RetentionPolicyNameRequired),
            ),
            (
                create_rp(
                    "db",
                    spec("rp", Duration::from_secs(1800), Duration::ZERO, Some(1)),
                    false,
                ),
                Fails(MetaError::RetentionPolicyDurationTooLow),
            ),
            (
                create_rp("db", spec("rp", hours(2), days(1), Some(1)), false),
                Fails(MetaError::IncompatibleDurations),
            ),
            (
                create_rp("db", spec("rp", hours(2), Duration::ZERO, Some(0)), false),
                Fails(MetaError::ReplicationFactorTooLow),
            ),
            (
                create_rp("db", spec("rp", hours(2), Duration::ZERO, Some(2)), false),
                Changed,
            ),
            (
                create_rp("db", spec("rp", hours(2), Duration::ZERO, Some(2)), false),
                Unchanged,
            ),
            (
                create_rp("db", spec("rp", hours(3), Duration::ZERO, Some(2)), false),
                Fails(MetaError::RetentionPolicyExists),
            ),
            (
                create_rp("db", spec("rp", hours(2), Duration::ZERO, Some(2)), true),
                Changed,
            ),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "nope".into(),
                    update: RetentionPolicyUpdate::default(),
                },
                Fails(MetaError::RetentionPolicyNotFound("nope".into())),
            ),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "rp".into(),
                    update: RetentionPolicyUpdate {
                        duration: Some(days(3)),
                        ..Default::default()
                    },
                },
                Changed,
            ),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "rp".into(),
                    update: RetentionPolicyUpdate {
                        shard_group_duration: Some(days(4)),
                        ..Default::default()
                    },
                },
                Fails(MetaError::IncompatibleDurations),
            ),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "rp".into(),
                    update: RetentionPolicyUpdate {
                        replication_factor: Some(0),
                        ..Default::default()
                    },
                },
                Fails(MetaError::ReplicationFactorTooLow),
            ),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "autogen".into(),
                    update: RetentionPolicyUpdate {
                        make_default: true,
                        ..Default::default()
                    },
                },
                Changed,
            ),
            (
                Command::DropRetentionPolicy {
                    database: "db".into(),
                    name: "nope".into(),
                },
                Unchanged,
            ),
            (
                Command::DropRetentionPolicy {
                    database: "nodb".into(),
                    name: "rp".into(),
                },
                Fails(MetaError::DatabaseNotFound("nodb".into())),
            ),
            (
                Command::DropRetentionPolicy {
                    database: "db".into(),
                    name: "rp".into(),
                },
                Changed,
            ),
            (Command::DropDatabase { name: "nodb".into() }, Unchanged),
            (Command::DropDatabase { name: "db3".into() }, Changed),
        ],
    );
    let db = s.database("db").unwrap();
    assert_eq!(db.default_retention_policy, AUTOGEN);
    let autogen = s.retention_policy("db", None).unwrap();
    assert_eq!(autogen.duration, Duration::ZERO);
    assert_eq!(autogen.shard_group_duration, days(7));
    // Configured default 0 is floored at 1.
    assert_eq!(autogen.replication_factor, 1);
    assert_eq!(
        s.retention_policy("db", Some("rp")).unwrap_err(),
        MetaError::RetentionPolicyNotFound("rp".into())
    );
    assert_eq!(
        s.database("db3").unwrap_err(),
        MetaError::DatabaseNotFound("db3".into())
    );
    assert_eq!(
        s.database("db3").unwrap_err().to_string(),
        r#"database not found: "db3""#
    );
}

#[test]
fn autogen_takes_configured_replication_factor() {
    let mut s = MetaState::default();
    check(&mut s, vec![(create_db_rf("db", 3), Changed)]);
    assert_eq!(s.retention_policy("db", None).unwrap().replication_factor, 3);
}

#[test]
fn dropping_the_default_policy_leaves_no_default() {
    let mut s = MetaState::default();
    check(
        &mut s,
        vec![
            (create_db("db"), Changed),
            (
                Command::DropRetentionPolicy {
                    database: "db".into(),
                    name: AUTOGEN.into(),
                },
                Changed,
            ),
        ],
    );
    assert_eq!(
        s.retention_policy("db", None).unwrap_err(),
        MetaError::RetentionPolicyNotFound(String::new())
    );
}

/// Four active data nodes and one passive one; RF 2.
fn cluster_with_groups() -> MetaState {
    let mut s = MetaState::default();
    check(
        &mut s,
        vec![
            (data_node("n1", None, false), Changed),
            (data_node("n2", None, false), Changed),
            (data_node("n3", None, false), Changed),
            (data_node("n4", None, false), Changed),
            (data_node("front", None, true), Changed),
            (create_db_rf("db", 2), Changed),
        ],
    );
    s
}

#[test]
fn shard_groups_are_aligned_placed_and_created_once() {
    let mut s = cluster_with_groups();
    let wed = MONDAY + 2 * D + 10 * H;
    let next_week = MONDAY + 8 * D;
    let out = check(
        &mut s,
        vec![
            (
                groups("nodb", "autogen", &[wed]),
                Fails(MetaError::DatabaseNotFound("nodb".into())),
            ),
            (
                groups("db", "nope", &[wed]),
                Fails(MetaError::RetentionPolicyNotFound("nope".into())),
            ),
            (
                groups("db", "autogen", &[i64::MAX]),
                Fails(MetaError::TimeOutOfRange),
            ),
            (groups("db", "autogen", &[next_week, wed, wed + 1]), Changed),
            // The same request again (a racing front-end) gets the same groups.
            (groups("db", "autogen", &[wed]), Unchanged),
            (groups("db", "autogen", &[MONDAY, next_week + D]), Unchanged),
        ],
    );
    let first = output_groups(&out[0]);
    assert_eq!(first.len(), 2, "two weeks, two groups");
    assert_eq!(first[0].start, MONDAY);
    assert_eq!(first[0].end, MONDAY + 7 * D);
    assert_eq!(first[1].start, MONDAY + 7 * D);
    assert_eq!(output_groups(&out[1])[0].id, first[0].id);
    assert_eq!(
        output_groups(&out[2]).iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![first[0].id, first[1].id]
    );

    let passive = s.node_by_uuid("front").unwrap().id;
    let mut shard_ids = BTreeSet::new();
    for g in &first {
        // 4 active nodes / RF 2 = 2 shards of 2 owners; every active node once.
        assert_eq!(g.shards.len(), 2);
        let mut owners: Vec<NodeId> = g.shards.iter().flat_map(|sh| sh.owners.clone()).collect();
        owners.sort();
        assert_eq!(owners.len(), 4);
        owners.dedup();
        assert_eq!(owners.len(), 4, "balanced: each node owns one replica per group");
        assert!(!owners.contains(&passive));
        for sh in &g.shards {
            assert_eq!(sh.owners.len(), 2);
            assert!(shard_ids.insert(sh.id), "shard ids unique");
            let (group, shard) = s.shard(sh.id).unwrap();
            assert_eq!(group.id, g.id);
            assert_eq!(shard, sh);
        }
    }
    // Successive groups start placement on a different node.
    assert_ne!(first[0].shards[0].owners, first[1].shards[0].owners);
    assert_eq!(
        s.retention_policy("db", None)
            .unwrap()
            .shard_group_for(wed)
            .unwrap()
            .id,
        first[0].id
    );
}

#[test]
fn owners_capped_by_active_nodes_and_need_one() {
    let mut s = MetaState::default();
    check(
        &mut s,
        vec![
            (create_db_rf("db", 3), Changed),
            (groups("db", "autogen", &[0]), Fails(MetaError::NoDataNodes)),
            (data_node("passive", None, true), Changed),
            (groups("db", "autogen", &[0]), Fails(MetaError::NoDataNodes)),
            (data_node("n1", None, false), Changed),
            (data_node("n2", None, false), Changed),
        ],
    );
    let out = check(&mut s, vec![(groups("db", "autogen", &[0]), Changed)]);
    let g = &output_groups(&out[0])[0];
    assert_eq!(g.shards.len(), 1);
    assert_eq!(g.shards[0].owners.len(), 2, "min(RF 3, 2 active nodes)");
}

#[test]
fn owners_spread_across_zones() {
    let mut s = MetaState::default();
    check(
        &mut s,
        vec![
            (data_node("a1", Some("a"), false), Changed),
            (data_node("a2", Some("a"), false), Changed),
            (data_node("a3", Some("a"), false), Changed),
            (data_node("b1", Some("b"), false), Changed),
            (data_node("b2", Some("b"), false), Changed),
            (data_node("b3", Some("b"), false), Changed),
            (create_db_rf("db", 2), Changed),
        ],
    );
    let ts: Vec<i64> = (0..10).map(|w| MONDAY + w * 7 * D).collect();
    let out = check(&mut s, vec![(groups("db", "autogen", &ts), Changed)]);
    let mut load: BTreeMap<NodeId, usize> = BTreeMap::new();
    for g in output_groups(&out[0]) {
        assert_eq!(g.shards.len(), 3);
        for sh in &g.shards {
            let zones: BTreeSet<_> = sh
                .owners
                .iter()
                .map(|o| s.node(*o).unwrap().zone().unwrap())
                .collect();
            assert_eq!(
                zones.len(),
                2,
                "group {} shard {} owners {:?}",
                g.id,
                sh.id,
                sh.owners
            );
            for o in &sh.owners {
                *load.entry(*o).or_default() += 1;
            }
        }
    }
    assert!(
        load.values().all(|&l| l == 10),
        "each node owns one replica per group: {load:?}"
    );
}

#[test]
fn groups_never_overlap_after_width_change() {
    let mut s = cluster_with_groups();
    // A 1-hour-wide policy gets a group at 10:00, then the width becomes a day.
    check(
        &mut s,
        vec![
            (
                create_rp("db", spec("short", days(1), Duration::ZERO, Some(1)), false),
                Changed,
            ),
            (groups("db", "short", &[MONDAY + 10 * H]), Changed),
            (
                Command::AlterRetentionPolicy {
                    database: "db".into(),
                    name: "short".into(),
                    update: RetentionPolicyUpdate {
                        duration: Some(days(30)),
                        shard_group_duration: Some(days(1)),
                        ..Default::default()
                    },
                },
                Changed,
            ),
        ],
    );
    let out = check(
        &mut s,
        vec![(groups("db", "short", &[MONDAY + 2 * H, MONDAY + 12 * H]), Changed)],
    );
    let gs = output_groups(&out[0]);
    let spans: Vec<(i64, i64)> = gs.iter().map(|g| (g.start - MONDAY, g.end - MONDAY)).collect();
    assert_eq!(
        spans,
        vec![(0, 10 * H), (11 * H, D)],
        "day groups trimmed around the hour group"
    );
    let all: Vec<(i64, i64)> = s
        .shard_groups_of("db", "short")
        .unwrap()
        .iter()
        .map(|g| (g.start - MONDAY, g.end - MONDAY))
        .collect();
    assert_eq!(all, vec![(0, 10 * H), (10 * H, 11 * H), (11 * H, D)]);
}

#[test]
fn expiry_deletes_groups_and_tombstones_shards() {
    let mut s = cluster_with_groups();
    // 2-day policy: 1-day groups.
    let days0to4: Vec<i64> = (0..5).map(|d| MONDAY + d * D + H).collect();
    let out = check(
        &mut s,
        vec![
            (
                create_rp("db", spec("two_days", days(2), Duration::ZERO, Some(2)), false),
                Changed,
            ),
            (groups("db", "two_days", &days0to4), Changed),
        ],
    );
    let gs = output_groups(&out[1]);
    assert_eq!(gs.len(), 5);
    let first = gs[0].id;
    check(
        &mut s,
        vec![(
            Command::RegisterFields {
                fields: vec![field(first.0, "cpu", "v", FieldType::Float)],
            },
            Changed,
        )],
    );
    // At day 4 + 1h, the cutoff is day 2 + 1h: groups ending before it
    // (day 0 and day 1, ending at day 1 and day 2) expire.
    let now = MONDAY + 4 * D + H;
    let out = check(
        &mut s,
        vec![
            (Command::DeleteExpiredShardGroups { now }, Changed),
            (Command::DeleteExpiredShardGroups { now }, Unchanged),
        ],
    );
    let CommandOutput::DeletedShardGroups(deleted) = &out[0] else {
        panic!()
    };
    assert_eq!(deleted, &vec![gs[0].id, gs[1].id]);
    for g in &gs[..2] {
        assert!(s.shard_group(g.id).is_none());
        for sh in &g.shards {
            assert!(s.is_shard_tombstoned(sh.id));
            assert!(s.shard(sh.id).is_none());
        }
    }
    for g in &gs[2..] {
        assert!(s.shard_group(g.id).is_some());
        assert!(g.shards.iter().all(|sh| !s.is_shard_tombstoned(sh.id)));
    }
    assert_eq!(
        s.field_type(first, "cpu", "v"),
        None,
        "field types of deleted groups are dropped"
    );
    // autogen (infinite) keeps everything.
    check(
        &mut s,
        vec![
            (groups("db", "autogen", &[0]), Changed),
            (Command::DeleteExpiredShardGroups { now: i64::MAX - 1 }, Changed),
        ],
    );
    assert_eq!(s.shard_groups_of("db", "autogen").unwrap().len(), 1);
    // A recreated group for an expired time range gets new ids, never the tombstoned ones.
    let out = check(&mut s, vec![(groups("db", "two_days", &[MONDAY + H]), Changed)]);
    let again = &output_groups(&out[0])[0];
    assert!(again.id > gs[4].id);
    assert!(again.shards.iter().all(|sh| !s.is_shard_tombstoned(sh.id)));
}

#[test]
fn dropping_a_database_tombstones_its_shards() {
    let mut s = cluster_with_groups();
    let out = check(&mut s, vec![(groups("db", "autogen", &[MONDAY]), Changed)]);
    let g = output_groups(&out[0])[0].clone();
    check(
        &mut s,
        vec![
            (
                Command::CreateUser {
                    name: "u".into(),
                    password_hash: "h".into(),
                    admin: false,
                },
                Changed,
            ),
            (
                Command::SetPrivilege {
                    name: "u".into(),
                    database: "db".into(),
                    privilege: Privilege::Write,
                },
                Changed,
            ),
            (Command::DropDatabase { name: "db".into() }, Changed),
        ],
    );
    assert!(g.shards.iter().all(|sh| s.is_shard_tombstoned(sh.id)));
    assert!(s.shard_group(g.id).is_none());
    assert_eq!(s.user("u").unwrap().privilege("db"), Privilege::None);
}

#[test]
fn precreation_makes_the_next_group_only_near_its_start() {
    let mut s = cluster_with_groups();
    let out = check(&mut s, vec![(groups("db", "autogen", &[MONDAY]), Changed)]);
    let current = output_groups(&out[0])[0].clone();
    let advance = 30 * 60 * 1_000_000_000;
    let out = check(
        &mut s,
        vec![
            // An hour before the end: nothing to do yet.
            (
                Command::PrecreateShardGroups {
                    from: current.end - H,
                    to: current.end - H + advance,
                },
                Unchanged,
            ),
            // Twenty minutes before the end: the next week's group appears.
            (
                Command::PrecreateShardGroups {
                    from: current.end - 20 * 60 * 1_000_000_000,
                    to: current.end + 10 * 60 * 1_000_000_000,
                },
                Changed,
            ),
            (
                Command::PrecreateShardGroups {
                    from: current.end - 10 * 60 * 1_000_000_000,
                    to: current.end + 20 * 60 * 1_000_000_000,
                },
                Unchanged,
            ),
        ],
    );
    let next = &output_groups(&out[1])[0];
    assert_eq!(next.start, current.end);
    assert_eq!(next.end, current.end + 7 * D);
}

#[test]
fn field_registry_first_registration_wins() {
    let mut s = cluster_with_groups();
    let out = check(&mut s, vec![(groups("db", "autogen", &[MONDAY]), Changed)]);
    let g = output_groups(&out[0])[0].id.0;
    let out = check(
        &mut s,
        vec![
            (
                Command::RegisterFields {
                    fields: vec![
                        field(g, "cpu", "a", FieldType::Float),
                        field(999, "cpu", "b", FieldType::Float),
                    ],
                },
                Fails(MetaError::ShardGroupNotFound(ShardGroupId(999))),
            ),
            (
                Command::RegisterFields {
                    fields: vec![
                        field(g, "cpu", "a", FieldType::Float),
                        field(g, "cpu", "b", FieldType::Integer),
                        // Same field twice in one batch: the first wins.
                        field(g, "cpu", "a", FieldType::String),
                    ],
                },
                Changed,
            ),
            // Known fields only: no change, no version bump.
            (
                Command::RegisterFields {
                    fields: vec![field(g, "cpu", "a", FieldType::Float)],
                },
                Unchanged,
            ),
            (
                Command::RegisterFields {
                    fields: vec![
                        field(g, "cpu", "b", FieldType::Float),
                        field(g, "mem", "b", FieldType::Float),
                    ],
                },
                Changed,
            ),
        ],
    );
    let CommandOutput::FieldConflicts(c) = &out[0] else {
        panic!()
    };
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].requested, c[0].existing),
        (FieldType::String, FieldType::Float)
    );
    let CommandOutput::FieldConflicts(c) = &out[2] else {
        panic!()
    };
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].to_error().to_string(),
        r#"field type conflict: input field "b" on measurement "cpu" is type float, already exists as type integer"#
    );
    assert_eq!(s.field_type(ShardGroupId(g), "mem", "b"), Some(FieldType::Float));
    assert_eq!(
        s.field_type(ShardGroupId(g), "cpu", "b"),
        Some(FieldType::Integer)
    );
}

#[test]
fn node_ids_are_never_reused() {
    let mut s = MetaState::default();
    let members = |ids: &[u32]| Command::SyncMetaMembers {
        members: ids
            .iter()
            .map(|&i| {
                (
                    NodeId(i),
                    MetaEndpoints {
                        raft_addr: format!("m{i}:8089"),
                        api_addr: format!("m{i}:8091"),
                    },
                )
            })
            .collect(),
    };
    let reg = |uuid: &str, id: Option<u32>| {
        Command::RegisterNode(NodeRegistration {
            uuid: uuid.into(),
            requested_id: id.map(NodeId),
            data: Some(DataEndpoints::default()),
            passive: false,
            labels: BTreeMap::new(),
        })
    };
    let out = check(
        &mut s,
        vec![
            (members(&[1, 2, 3]), Changed),
            (members(&[1, 2, 3]), Unchanged),
            (reg("", None), Fails(MetaError::NodeUuidRequired)),
            // Allocation skips the meta members' ids.
            (reg("d1", None), Changed),
            (reg("d1", None), Unchanged),
            // A process running meta and data claims its meta id.
            (reg("m1", Some(1)), Changed),
            (reg("other", Some(1)), Fails(MetaError::NodeIdTaken(NodeId(1)))),
            (
                Command::RemoveNode { node: NodeId(1) },
                Fails(MetaError::IsMetaMember(NodeId(1))),
            ),
            (Command::RemoveNode { node: NodeId(4) }, Changed),
            (
                Command::RemoveNode { node: NodeId(4) },
                Fails(MetaError::NodeNotFound(NodeId(4))),
            ),
            (reg("d1", Some(4)), Fails(MetaError::NodeIdRetired(NodeId(4)))),
            (reg("d2", None), Changed),
            // Meta node 3 leaves the membership: removed and retired.
            (members(&[1, 2]), Changed),
            (reg("m3", Some(3)), Fails(MetaError::NodeIdRetired(NodeId(3)))),
        ],
    );
    assert_eq!(out[2], CommandOutput::NodeId(NodeId(4)));
    assert_eq!(out[3], CommandOutput::NodeId(NodeId(4)));
    assert_eq!(out[4], CommandOutput::NodeId(NodeId(1)));
    assert_eq!(
        out[6],
        CommandOutput::NodeId(NodeId(5)),
        "a removed id is not handed out again"
    );
    assert!(s.check_new_meta_id(NodeId(3)).is_err());
    assert!(s.check_new_meta_id(NodeId(4)).is_err());
    assert_eq!(
        s.check_new_meta_id(NodeId(2)),
        Err(MetaError::AlreadyMetaNode(NodeId(2)))
    );
    assert_eq!(
        s.check_new_meta_id(NodeId(5)),
        Err(MetaError::NodeIdTaken(NodeId(5))),
        "a data node's id"
    );
    assert_eq!(s.check_new_meta_id(NodeId(6)), Ok(()));
    // Node 1 keeps both roles; node 2 is meta-only.
    let n1 = s.node(NodeId(1)).unwrap();
    assert!(n1.meta.is_some() && n1.data.is_some());
}

#[test]
fn removing_a_data_node_removes_it_from_owners() {
    let mut s = cluster_with_groups();
    let out = check(&mut s, vec![(groups("db", "autogen", &[MONDAY]), Changed)]);
    let g = output_groups(&out[0])[0].clone();
    let victim = g.shards[0].owners[0];
    check(&mut s, vec![(Command::RemoveNode { node: victim }, Changed)]);
    let g2 = s.shard_group(g.id).unwrap();
    assert!(g2.shards.iter().all(|sh| !sh.owners.contains(&victim)));
    assert_eq!(g2.shards[0].owners.len(), 1);
}

#[test]
fn users_privileges_and_tokens() {
    let mut s = MetaState::default();
    let token = |id: &str, user: &str| {
        Command::CreateToken(TokenInfo {
            id: id.into(),
            user: user.into(),
            sha256: "00".into(),
            description: String::new(),
        })
    };
    check(
        &mut s,
        vec![
            (create_db("db"), Changed),
            (
                Command::CreateUser {
                    name: String::new(),
                    password_hash: "h".into(),
                    admin: false,
                },
                Fails(MetaError::UsernameRequired),
            ),
            (
                Command::CreateUser {
                    name: "bob".into(),
                    password_hash: "h".into(),
                    admin: false,
                },
                Changed,
            ),
            (
                Command::CreateUser {
                    name: "bob".into(),
                    password_hash: "h".into(),
                    admin: false,
                },
                Fails(MetaError::UserExists),
            ),
            (
                Command::SetPrivilege {
                    name: "nobody".into(),
                    database: "db".into(),
                    privilege: Privilege::Read,
                },
                Fails(MetaError::UserNotFound),
            ),
            (
                Command::SetPrivilege {
                    name: "bob".into(),
                    database: "nodb".into(),
                    privilege: Privilege::Read,
                },
                Fails(MetaError::DatabaseNotFound("nodb".into())),
            ),
            (
                Command::SetPrivilege {
                    name: "bob".into(),
                    database: "db".into(),
                    privilege: Privilege::Write,
                },
                Changed,
            ),
            (
                Command::SetPrivilege {
                    name: "bob".into(),
                    database: "db".into(),
                    privilege: Privilege::Write,
                },
                Unchanged,
            ),
            (
                Command::SetAdmin {
                    name: "bob".into(),
                    admin: false,
                },
                Unchanged,
            ),
            (
                Command::SetPassword {
                    name: "bob".into(),
                    password_hash: "h2".into(),
                },
                Changed,
            ),
            (token("t1", "nobody"), Fails(MetaError::UserNotFound)),
            (token("t1", "bob"), Changed),
            (token("t1", "bob"), Fails(MetaError::TokenExists)),
            (
                Command::DeleteToken { id: "t2".into() },
                Fails(MetaError::TokenNotFound),
            ),
            (token("t2", "bob"), Changed),
            (Command::DeleteToken { id: "t2".into() }, Changed),
        ],
    );
    let bob = s.user("bob").unwrap();
    assert_eq!(bob.password_hash, "h2");
    assert!(bob.privilege("db").can_write());
    assert!(!bob.privilege("db").can_read());
    assert!(!bob.privilege("other").can_write());
    check(
        &mut s,
        vec![
            (Command::DropUser { name: "bob".into() }, Changed),
            (
                Command::DropUser { name: "bob".into() },
                Fails(MetaError::UserNotFound),
            ),
        ],
    );
    assert!(s.token("t1").is_none(), "tokens of a dropped user go with it");
}

/// Two replicas fed the same commands end identical, and the state survives
/// a serde round trip (what snapshots and the watch stream rely on).
#[test]
fn apply_is_deterministic_and_serializable() {
    let script = |s: &mut MetaState| {
        let _ = s.apply(&Command::SetClusterId {
            cluster_id: "c1".into(),
        });
        let _ = s.apply(&Command::SetClusterId {
            cluster_id: "c2".into(),
        });
        for i in 0..5 {
            let _ = s.apply(&data_node(&format!("n{i}"), Some(["a", "b"][i % 2]), i == 4));
        }
        let _ = s.apply(&create_db_rf("db", 2));
        let _ = s.apply(&groups("db", "autogen", &[MONDAY, MONDAY + 9 * D, -5]));
        let _ = s.apply(&Command::RegisterFields {
            fields: vec![field(1, "m", "f", FieldType::Boolean)],
        });
        let _ = s.apply(&Command::CreateUser {
            name: "u".into(),
            password_hash: "h".into(),
            admin: true,
        });
    };
    let (mut a, mut b) = (MetaState::default(), MetaState::default());
    script(&mut a);
    script(&mut b);
    assert_eq!(a, b);
    assert_eq!(a.cluster_id(), "c1", "the cluster id is set once");
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::to_string(&b).unwrap(), json);
    let back: MetaState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
}
