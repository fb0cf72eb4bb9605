//! Meta clusters of in-process nodes on loopback: cross-node visibility,
//! racing shard-group creation, membership changes, persistence of the
//! client copy, authentication.

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cluster::{Cluster, add_data_nodes, client_config, members, server_config};
use tandem_meta::{
    FieldRegistration, MetaClient, MetaEndpoints, MetaError, MetaServer, NodeId, Privilege,
    RetentionPolicySpec,
};
use tandem_model::FieldType;

const WEEK: i64 = 7 * 86_400 * 1_000_000_000;
/// Monday 2024-01-01T00:00:00Z in ns.
const MONDAY: i64 = 1_704_067_200 * 1_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_through_one_node_usable_through_another_at_once() {
    let cluster = Cluster::start(&[1, 2, 3]).await;
    let a = cluster.client(&[0]).await;
    let c = cluster.client(&[2]).await;
    add_data_nodes(&a, 3).await;
    for i in 0..10 {
        let db = format!("db{i}");
        a.create_database(&db, None).await.unwrap();
        // The other client has never seen it: the miss syncs and retries.
        let rp = c.retention_policy(&db, None).await.unwrap();
        assert_eq!(rp.name, "autogen");
        let groups = c.shard_groups_for(&db, "autogen", &[MONDAY + i]).await.unwrap();
        assert_eq!(groups.len(), 1);
        // And back: the group made through C is visible through A.
        let again = a.shard_groups_for(&db, "autogen", &[MONDAY]).await.unwrap();
        assert_eq!(again[0].id, groups[0].id);
    }
    let missing = c.retention_policy("nope", None).await.unwrap_err();
    assert_eq!(missing, MetaError::DatabaseNotFound("nope".into()));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_clients_create_exactly_one_group() {
    let cluster = Cluster::start(&[1, 2, 3]).await;
    let admin = cluster.client(&[0, 1, 2]).await;
    add_data_nodes(&admin, 4).await;
    admin.create_database("race", None).await.unwrap();
    // Eight clients spread over the three nodes ask for the same two weeks.
    let mut clients = Vec::new();
    for i in 0..8 {
        clients.push(cluster.client(&[i % 3]).await);
    }
    for round in 0..3 {
        let ts = [MONDAY + round * 2 * WEEK + 5, MONDAY + (round * 2 + 1) * WEEK + 5];
        let tasks: Vec<_> = clients
            .iter()
            .map(|c| {
                let c = c.clone();
                tokio::spawn(async move { c.shard_groups_for("race", "autogen", &ts).await.unwrap() })
            })
            .collect();
        let mut seen = Vec::new();
        for t in tasks {
            let groups = t.await.unwrap();
            assert_eq!(groups.len(), 2);
            seen.push(
                groups
                    .iter()
                    .map(|g| (g.id, g.shards.clone()))
                    .collect::<Vec<_>>(),
            );
        }
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "every client got the same groups and owners"
        );
    }
    let state = admin.sync().await.unwrap();
    assert_eq!(
        state.shard_groups_of("race", "autogen").unwrap().len(),
        6,
        "one group per week, no duplicates"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_registration_is_batched_and_first_wins() {
    let cluster = Cluster::start(&[1]).await;
    let a = cluster.client(&[0]).await;
    let b = cluster.client(&[0]).await;
    add_data_nodes(&a, 1).await;
    a.create_database("f", None).await.unwrap();
    let g = a.shard_groups_for("f", "autogen", &[MONDAY]).await.unwrap()[0].id;
    let reg = |m: &str, f: &str, t| FieldRegistration {
        shard_group: g,
        measurement: m.into(),
        field: f.into(),
        field_type: t,
    };
    assert!(
        a.register_fields(&[
            reg("cpu", "usage", FieldType::Float),
            reg("cpu", "n", FieldType::Integer)
        ])
        .await
        .unwrap()
        .is_empty()
    );
    let before = b.sync().await.unwrap().version();
    // Steady state: nothing new to register, no command, no version bump.
    assert!(
        b.register_fields(&[reg("cpu", "usage", FieldType::Float)])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.sync().await.unwrap().version(), before);
    let conflicts = b
        .register_fields(&[
            reg("cpu", "usage", FieldType::String),
            reg("mem", "x", FieldType::Boolean),
        ])
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].existing, FieldType::Float);
    assert_eq!(
        a.sync().await.unwrap().field_type(g, "mem", "x"),
        Some(FieldType::Boolean)
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_authenticate_on_every_node() {
    let cluster = Cluster::start(&[1, 2, 3]).await;
    let a = cluster.client(&[0]).await;
    let c = cluster.client(&[2]).await;
    a.create_database("db", None).await.unwrap();
    a.create_user("bob", "pw", false).await.unwrap();
    a.set_privilege("bob", "db", Privilege::Write).await.unwrap();
    let bob = c.authenticate("bob", "pw").await.unwrap();
    assert_eq!(bob.name, "bob");
    assert!(!bob.admin);
    assert_eq!(
        c.authenticate("bob", "wrong").await.unwrap_err(),
        MetaError::AuthenticationFailed
    );
    assert_eq!(
        c.authenticate("nobody", "pw").await.unwrap_err(),
        MetaError::AuthenticationFailed
    );
    c.authorize_write("bob", "db").await.unwrap();
    assert!(matches!(
        c.authorize_write("bob", "other").await,
        Err(MetaError::NotAuthorized { .. })
    ));
    assert!(c.authorize_read("bob", "db").await.is_err());
    // A password change elsewhere takes effect even though the old pair was cached.
    a.set_password("bob", "new").await.unwrap();
    assert!(c.authenticate("bob", "new").await.is_ok());
    assert!(c.sync().await.is_ok());
    assert_eq!(
        c.authenticate("bob", "pw").await.unwrap_err(),
        MetaError::AuthenticationFailed
    );
    let (_, token) = a.create_token("bob", "ci").await.unwrap();
    assert_eq!(c.authenticate_token(&token).await.unwrap().name, "bob");
    assert!(c.authenticate_token(&format!("{token}0")).await.is_err());
    a.drop_user("bob").await.unwrap();
    // Revocations reach other nodes' copies through the watch stream; a
    // sync makes sure this one has it.
    c.sync().await.unwrap();
    assert!(c.authenticate_token(&token).await.is_err());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_and_remove_meta_nodes() {
    let mut cluster = Cluster::start(&[1, 2, 3]).await;
    let client = cluster.client(&[0, 1, 2]).await;
    client.create_database("before", None).await.unwrap();
    // Enough entries for a snapshot and a purged log (the test config
    // snapshots every 50 entries), so node 4 must be sent a snapshot.
    for i in 0..60 {
        client.create_database(&format!("filler{i}"), None).await.unwrap();
    }
    // Node 4 starts outside the initial list, so it waits to be added.
    let m4 = members(&[4]).remove(0);
    let s4 = MetaServer::start(server_config(cluster.dir.path(), &m4, cluster.members.clone()))
        .await
        .unwrap();
    let e4 = MetaEndpoints {
        raft_addr: m4.raft_addr.clone(),
        api_addr: m4.api_addr.clone(),
    };
    assert_eq!(
        client.add_meta_node(NodeId(2), e4.clone()).await.unwrap_err(),
        MetaError::AlreadyMetaNode(NodeId(2))
    );
    client.add_meta_node(NodeId(4), e4.clone()).await.unwrap();
    let status = client.cluster_status().await.unwrap();
    assert_eq!(
        status.voters,
        BTreeSet::from([NodeId(1), NodeId(2), NodeId(3), NodeId(4)])
    );
    // The new node has the data: a client talking only to it sees it.
    let via4 = MetaClient::connect(client_config(vec![m4.api_addr.clone()], None))
        .await
        .unwrap();
    via4.retention_policy("before", None).await.unwrap();
    via4.retention_policy("filler59", None).await.unwrap();
    via4.create_database("through_4", None).await.unwrap();
    client.retention_policy("through_4", None).await.unwrap();
    // Remove node 3 (stop it first, as an operator would after removal).
    client.remove_meta_node(NodeId(3)).await.unwrap();
    cluster.stop(2).await;
    let status = client.cluster_status().await.unwrap();
    assert_eq!(status.voters, BTreeSet::from([NodeId(1), NodeId(2), NodeId(4)]));
    let state = client.sync().await.unwrap();
    assert!(state.node(NodeId(3)).is_none());
    assert!(state.retired_node_ids().contains(&NodeId(3)));
    // Ids are never reused.
    let e5 = MetaEndpoints {
        raft_addr: "127.0.0.1:1".into(),
        api_addr: "127.0.0.1:2".into(),
    };
    assert_eq!(
        client.add_meta_node(NodeId(3), e5).await.unwrap_err(),
        MetaError::NodeIdRetired(NodeId(3))
    );
    assert_eq!(
        client.remove_meta_node(NodeId(9)).await.unwrap_err(),
        MetaError::NotMetaNode(NodeId(9))
    );
    client.create_database("after", None).await.unwrap();
    drop(via4);
    s4.shutdown().await.unwrap();
    cluster.shutdown().await;
}

/// The client's persisted copy serves existing databases and shard groups
/// while the meta service is down, also after the client restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_copy_survives_meta_outage_and_restart() {
    let mut cluster = Cluster::start(&[1]).await;
    let cache = tempfile::tempdir().unwrap();
    let config = client_config(vec![cluster.api(0)], Some(cache.path().to_path_buf()));
    let client = MetaClient::connect(config.clone()).await.unwrap();
    add_data_nodes(&client, 2).await;
    client.create_database("db", None).await.unwrap();
    let groups = client.shard_groups_for("db", "autogen", &[MONDAY]).await.unwrap();
    // Stop meta entirely, then let the persistence task settle.
    cluster.stop(0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let version = client.version();
    drop(client);
    let mut offline = config.clone();
    offline.options.request_timeout_ms = 2000;
    let restarted = MetaClient::connect(offline).await.unwrap();
    assert_eq!(restarted.version(), version);
    let rp = restarted.retention_policy("db", None).await.unwrap();
    assert_eq!(rp.shard_group_for(MONDAY).unwrap().id, groups[0].id);
    assert_eq!(
        restarted
            .shard_groups_for("db", "autogen", &[MONDAY + 1])
            .await
            .unwrap()[0]
            .id,
        groups[0].id
    );
    // What needs the meta service fails as unavailable, not as "not found".
    assert!(matches!(
        restarted.retention_policy("other", None).await,
        Err(MetaError::Unavailable(_))
    ));
    assert!(matches!(
        restarted
            .shard_groups_for("db", "autogen", &[MONDAY + WEEK])
            .await,
        Err(MetaError::Unavailable(_))
    ));
    // Meta comes back from its own disk; the client catches up by itself.
    cluster.restart(0).await;
    cluster.wait_for_leader().await;
    let new_group = restarted
        .shard_groups_for("db", "autogen", &[MONDAY + WEEK])
        .await
        .unwrap();
    assert_ne!(new_group[0].id, groups[0].id);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_errors_use_influx_texts() {
    let cluster = Cluster::start(&[1]).await;
    let c = cluster.client(&[0]).await;
    c.create_database("db", None).await.unwrap();
    let spec = |name: &str, hours: u64| RetentionPolicySpec {
        name: name.into(),
        duration: Duration::from_secs(hours * 3600),
        shard_group_duration: Duration::ZERO,
        replication_factor: Some(1),
    };
    c.create_retention_policy("db", spec("week", 168), false)
        .await
        .unwrap();
    let cases: Vec<(Result<Arc<tandem_meta::RetentionPolicyInfo>, MetaError>, &str)> = vec![
        (
            c.create_retention_policy("db", spec("week", 24), false).await,
            "retention policy already exists",
        ),
        (
            c.create_retention_policy("nodb", spec("x", 24), false).await,
            r#"database not found: "nodb""#,
        ),
        (
            c.retention_policy("db", Some("nope")).await,
            "retention policy not found: nope",
        ),
    ];
    for (result, text) in cases {
        assert_eq!(result.unwrap_err().to_string(), text);
    }
    assert_eq!(
        c.drop_user("ghost").await.unwrap_err().to_string(),
        "user not found"
    );
    assert_eq!(c.create_user("u", "p", false).await, Ok(()));
    assert_eq!(
        c.create_user("u", "p", false).await.unwrap_err().to_string(),
        "user already exists"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_refused() {
    let cluster = Cluster::start(&[1]).await;
    let mut config = client_config(vec![cluster.api(0)], None);
    config.shared_secret = "not-the-secret".into();
    config.options.request_timeout_ms = 1000;
    let intruder = MetaClient::connect(config).await.unwrap();
    assert_eq!(
        intruder.create_database("x", None).await.unwrap_err(),
        MetaError::Unauthenticated
    );
    cluster.shutdown().await;
}

/// Many commands (several snapshots, purged log), then a restart: the node
/// comes back from snapshot + log with identical state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_snapshot_and_log() {
    let mut cluster = Cluster::start(&[1]).await;
    let client = cluster.client(&[0]).await;
    add_data_nodes(&client, 3).await;
    for i in 0..130 {
        let db = format!("db{}", i % 40);
        client.create_database(&db, None).await.unwrap();
        client
            .shard_groups_for(&db, "autogen", &[MONDAY + i * WEEK])
            .await
            .unwrap();
    }
    let before = client.sync().await.unwrap();
    cluster.stop(0).await;
    cluster.restart(0).await;
    cluster.wait_for_leader().await;
    let after = cluster.servers[0].as_ref().unwrap().state();
    assert_eq!(*after, *before);
    cluster.shutdown().await;
}

/// The leader pre-creates the next shard group and deletes expired ones by
/// itself (check intervals shortened to a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_precreates_and_expires_shard_groups() {
    let dir = tempfile::tempdir().unwrap();
    let m = members(&[1]).remove(0);
    let mut config = server_config(dir.path(), &m, vec![m.clone()]);
    config.options.precreate_check_interval_secs = 1;
    config.options.retention_check_interval_secs = 1;
    // Groups are one hour wide here; an advance of two hours always covers
    // the end of the current group.
    config.options.precreate_advance_secs = 7200;
    let server = MetaServer::start(config).await.unwrap();
    let client = MetaClient::connect(client_config(vec![m.api_addr.clone()], None))
        .await
        .unwrap();
    add_data_nodes(&client, 1).await;
    let hour = Duration::from_secs(3600);
    let spec = RetentionPolicySpec {
        name: "short".into(),
        duration: hour,
        shard_group_duration: hour,
        replication_factor: Some(1),
    };
    client.create_database("db", Some(spec)).await.unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    let hour_ns = 3_600_000_000_000;
    let current = client.shard_groups_for("db", "short", &[now]).await.unwrap()[0].clone();
    let old = client
        .shard_groups_for("db", "short", &[now - 3 * hour_ns])
        .await
        .unwrap()[0]
        .clone();
    let mut ok = false;
    for _ in 0..100 {
        let s = client.sync().await.unwrap();
        let rp = s.retention_policy("db", None).unwrap();
        let next = rp.shard_group_for(current.end);
        let expired =
            s.shard_group(old.id).is_none() && old.shards.iter().all(|sh| s.is_shard_tombstoned(sh.id));
        if let Some(next) = next
            && expired
            && s.shard_group(current.id).is_some()
        {
            assert_eq!(next.start, current.end);
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "next group pre-created and expired group deleted");
    drop(client);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_bootstrapped_itself_cannot_be_added() {
    let cluster = Cluster::start(&[1, 2, 3]).await;
    let client = cluster.client(&[0, 1, 2]).await;
    client.create_database("d", None).await.unwrap();
    // Node 4 started with an empty member list: it made a one-voter cluster
    // of its own, whose log conflicts with ours from the first entry.
    let m4 = members(&[4]).remove(0);
    let s4 = MetaServer::start(server_config(cluster.dir.path(), &m4, vec![]))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s4.status().leader.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e4 = MetaEndpoints {
        raft_addr: m4.raft_addr.clone(),
        api_addr: m4.api_addr.clone(),
    };
    let err = client.add_meta_node(NodeId(4), e4).await.unwrap_err();
    assert!(
        err.to_string().contains("already belongs to a meta cluster"),
        "{err}"
    );
    let status = client.cluster_status().await.unwrap();
    assert_eq!(status.voters.len(), 3, "node 4 was not counted as a voter");
    assert!(!status.learners.contains(&NodeId(4)));
    // The cluster still commits.
    client.create_database("after", None).await.unwrap();
    s4.shutdown().await.unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_copy_follows_a_rebuilt_meta_service() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let m = members(&[1]).remove(0);
    let old = MetaServer::start(server_config(&root.path().join("old"), &m, vec![m.clone()]))
        .await
        .unwrap();
    let c = MetaClient::connect(client_config(vec![m.api_addr.clone()], Some(cache.path().into())))
        .await
        .unwrap();
    for i in 0..20 {
        c.create_database(&format!("old{i}"), None).await.unwrap();
    }
    // The leader names the cluster shortly after its election.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while c.sync().await.unwrap().cluster_id().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cluster never got an id"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let old_id = c.state().cluster_id().to_owned();
    // Let the copy reach its file.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(c);
    old.shutdown().await.unwrap();

    // The meta service is rebuilt from scratch on the same address; the
    // client restarts from its persisted copy, which has a higher version.
    let new = MetaServer::start(server_config(&root.path().join("new"), &m, vec![m.clone()]))
        .await
        .unwrap();
    let c = MetaClient::connect(client_config(vec![m.api_addr.clone()], Some(cache.path().into())))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let s = c.state();
        if !s.cluster_id().is_empty() && s.cluster_id() != old_id {
            assert!(
                s.database("old0").is_err(),
                "the old cluster's data is gone from the copy"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "copy still of cluster {:?}",
            s.cluster_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.create_database("fresh", None).await.unwrap();
    assert!(c.state().database("fresh").is_ok());
    new.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_can_be_asked_of_a_named_meta_node() {
    let cluster = Cluster::start(&[1, 2, 3]).await;
    let leader = cluster.wait_for_leader().await;
    let client = cluster.client(&[0, 1, 2]).await;
    let status = client.cluster_status().await.unwrap();
    assert_eq!(status.leader, Some(leader));
    // Each configured endpoint answers for itself, and agrees on the leader.
    for (id, endpoints) in &status.endpoints {
        let own = client
            .cluster_status_at(&endpoints.api_addr)
            .await
            .expect("a configured endpoint")
            .unwrap();
        assert_eq!(own.node_id, *id);
        assert_eq!(own.leader, Some(leader));
    }
    // An address the client was not configured with is not dialled.
    assert!(client.cluster_status_at("127.0.0.1:1").await.is_none());
    cluster.shutdown().await;
}
