//! The data service over a real storage engine, through real gRPC on
//! loopback and through the local shortcut.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_coordinator::ports::{OwnerError, OwnerTransport, ShardWrite};
use tandem_datanode::client::{DataClient, DataClientConfig};
use tandem_datanode::ownership::{Ownership, OwnershipView, PortFuture};
use tandem_datanode::service::{DEFAULT_MAX_MESSAGE_BYTES, data_server, serve};
use tandem_datanode::{DataNode, wall_clock};
use tandem_lineproto::escape::{unescape_field_key, unescape_string};
use tandem_lineproto::{FieldValue, ParseOptions, Precision, fnv64a, parse};
use tandem_model::{FieldValueRef, NodeId, PointsBuf, PointsBufBuilder, ShardId, Version};
use tandem_proto::auth::ClusterSecret;
use tandem_storage::{Engine, EngineOptions, ShardStore, StorageConfig, TimeRange};

/// Ownership from a table, plus addresses.
#[derive(Default)]
struct FakeView {
    version: AtomicU64,
    owners: Mutex<HashMap<ShardId, Vec<NodeId>>>,
    deleted: Mutex<Vec<ShardId>>,
    addresses: Mutex<HashMap<NodeId, String>>,
}

impl OwnershipView for FakeView {
    fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }
    fn wait_for_version(&self, version: u64, limit: Duration) -> PortFuture<'_, bool> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + limit;
            while self.version() < version {
                if tokio::time::Instant::now() >= deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            true
        })
    }
    fn ownership(&self, shard: ShardId, node: NodeId) -> Ownership {
        if self.deleted.lock().unwrap().contains(&shard) {
            return Ownership::Deleted;
        }
        match self.owners.lock().unwrap().get(&shard) {
            Some(o) if o.contains(&node) => Ownership::Owner,
            Some(_) => Ownership::NotOwner,
            None => Ownership::Unknown,
        }
    }
    fn data_address(&self, node: NodeId) -> Option<String> {
        self.addresses.lock().unwrap().get(&node).cloned()
    }
}

struct Node {
    _dir: tempfile::TempDir,
    view: Arc<FakeView>,
    node: DataNode,
    client: DataClient,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start(secret: &str, client_secret: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        dir: dir.path().to_owned(),
        ..StorageConfig::default()
    };
    let store: Arc<dyn ShardStore> = Arc::new(Engine::open(config, EngineOptions::default()).unwrap());
    let view = Arc::new(FakeView::default());
    view.version.store(1, Ordering::SeqCst);
    let node = DataNode::new(NodeId(2), store, view.clone(), wall_clock());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    view.addresses
        .lock()
        .unwrap()
        .insert(NodeId(2), listener.local_addr().unwrap().to_string());
    let server = data_server(
        node.clone(),
        &ClusterSecret::new(secret).unwrap(),
        DEFAULT_MAX_MESSAGE_BYTES,
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, server, None, async move {
        let _ = rx.await;
    }));
    // A client on another node (id 1) without a local data role.
    let client = DataClient::new(
        None,
        view.clone(),
        ClusterSecret::new(client_secret).unwrap(),
        DataClientConfig::default(),
    );
    Node {
        _dir: dir,
        view,
        node,
        client,
        _shutdown: tx,
    }
}

fn points(lines: &str) -> PointsBuf {
    let batch = parse(
        lines.as_bytes(),
        ParseOptions {
            precision: Precision::Nanosecond,
            default_time: 0,
            allow_unsigned: false,
        },
    );
    assert!(batch.errors().is_empty());
    let mut b = PointsBufBuilder::new();
    for p in batch.points() {
        let key = p.series_key();
        let fields: Vec<(Vec<u8>, FieldValue<'_>, Vec<u8>)> = p
            .fields()
            .map(|f| {
                let s = if let FieldValue::String(raw) = f.value {
                    unescape_string(raw).into_owned()
                } else {
                    Vec::new()
                };
                (unescape_field_key(f.key).into_owned(), f.value, s)
            })
            .collect();
        b.push(
            &key,
            fnv64a(&key),
            p.timestamp(),
            fields.iter().map(|(k, v, s)| {
                let v = match v {
                    FieldValue::Float(x) => FieldValueRef::Float(*x),
                    FieldValue::Integer(x) => FieldValueRef::Integer(*x),
                    FieldValue::Unsigned(x) => FieldValueRef::Unsigned(*x),
                    FieldValue::Boolean(x) => FieldValueRef::Boolean(*x),
                    FieldValue::String(_) => FieldValueRef::String(std::str::from_utf8(s).unwrap()),
                };
                (k.as_slice(), v)
            }),
        );
    }
    b.finish()
}

fn write(shard: u64, meta_version: u64, points: PointsBuf) -> ShardWrite {
    ShardWrite {
        shard: ShardId(shard),
        meta_version,
        version: Version {
            hlc_ns: 5,
            node: 1,
            seq: 1,
        },
        points: Arc::new(points),
    }
}

async fn export(node: &DataNode, shard: u64) -> String {
    let mut rx = node.export_lines(ShardId(shard), TimeRange::ALL);
    let mut out = Vec::new();
    while let Some(chunk) = rx.recv().await {
        out.extend(chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn owned_shards_are_created_on_write_and_others_refused() {
    let n = start("s3cret", "s3cret").await;
    n.view
        .owners
        .lock()
        .unwrap()
        .insert(ShardId(10), vec![NodeId(2), NodeId(3)]);
    n.view.owners.lock().unwrap().insert(ShardId(11), vec![NodeId(3)]);
    n.view.deleted.lock().unwrap().push(ShardId(12));
    let body = "cpu,host=a usage=1i,note=\"x y\" 100\ncpu,host=b usage=2i 200\n";

    let ack = n.client.write_shard(NodeId(2), write(10, 1, points(body))).await;
    assert!(ack.is_ok(), "{ack:?}");
    assert_eq!(
        export(&n.node, 10).await,
        "cpu,host=a note=\"x y\",usage=1i 100\ncpu,host=b usage=2i 200\n"
    );

    // (shard, meta version asked, expected)
    let table: [(u64, u64, OwnerError); 3] = [
        (11, 1, OwnerError::StaleRouting(ShardId(11))),
        (12, 1, OwnerError::ShardDeleted(ShardId(12))),
        (13, 1, OwnerError::StaleRouting(ShardId(13))),
    ];
    for (shard, mv, want) in table {
        let got = n
            .client
            .write_shard(NodeId(2), write(shard, mv, points(body)))
            .await;
        assert_eq!(got, Err(want), "shard {shard}");
    }
}

#[tokio::test]
async fn a_write_waits_for_metadata_to_catch_up() {
    let n = start("", "").await;
    // The coordinator routed with version 5; the node learns of the shard
    // (and reaches version 5) a little later.
    let view = n.view.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        view.owners.lock().unwrap().insert(ShardId(20), vec![NodeId(2)]);
        view.version.store(5, Ordering::SeqCst);
    });
    let r = n
        .client
        .write_shard(NodeId(2), write(20, 5, points("m v=1 1\n")))
        .await;
    assert!(r.is_ok(), "{r:?}");
    // Never catching up is a retryable refusal, not a wrong answer.
    let r = n
        .client
        .write_shard(NodeId(2), write(21, 99, points("m v=1 1\n")))
        .await;
    assert!(
        matches!(&r, Err(OwnerError::Unavailable(m)) if m.contains("has not caught up")),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_25_mb_body_fits_in_one_write() {
    let n = start("s", "s").await;
    n.view.owners.lock().unwrap().insert(ShardId(30), vec![NodeId(2)]);
    let mut generator = tandem_tsbs::CpuOnly::new(1_000);
    let mut body = Vec::new();
    while body.len() < 25_000_000 {
        generator.write_line(&mut body);
    }
    let lines = body.iter().filter(|&&b| b == b'\n').count();
    let buf = points(std::str::from_utf8(&body).unwrap());
    assert!(
        buf.as_bytes().len() > 4 << 20,
        "larger than tonic's default 4 MiB limit"
    );
    let r = n.client.write_shard(NodeId(2), write(30, 1, buf)).await;
    assert!(r.is_ok(), "{r:?}");
    let (infos, _) = n.node.shard_info(vec![ShardId(30)]).await.unwrap();
    assert_eq!(infos[0].point_count, lines as u64);
}

#[tokio::test]
async fn oversize_and_unauthenticated_writes_are_refused() {
    let n = start("right", "wrong").await;
    n.view.owners.lock().unwrap().insert(ShardId(40), vec![NodeId(2)]);
    let r = n
        .client
        .write_shard(NodeId(2), write(40, 1, points("m v=1 1\n")))
        .await;
    assert!(
        matches!(&r, Err(OwnerError::Unavailable(m)) if m.contains("cluster secret")),
        "{r:?}"
    );

    let small = DataClient::new(
        None,
        n.view.clone(),
        ClusterSecret::new("right").unwrap(),
        DataClientConfig {
            max_message_bytes: 64,
            ..DataClientConfig::default()
        },
    );
    let body: String = (0..10).map(|i| format!("m,k={i} v=1 1\n")).collect();
    let r = small.write_shard(NodeId(2), write(40, 1, points(&body))).await;
    assert!(
        matches!(&r, Err(OwnerError::Rejected(m)) if m.contains("message limit")),
        "{r:?}"
    );
    assert!(!OwnerError::Rejected(String::new()).is_retryable());
}

#[tokio::test]
async fn the_local_owner_is_written_without_the_network() {
    let n = start("", "").await;
    n.view.owners.lock().unwrap().insert(ShardId(50), vec![NodeId(2)]);
    // No address for node 2 in this directory: only the local path works.
    let directory = Arc::new(FakeView::default());
    let local = DataClient::new(
        Some(n.node.clone()),
        directory,
        ClusterSecret::disabled(),
        DataClientConfig::default(),
    );
    let r = local
        .write_shard(NodeId(2), write(50, 1, points("m v=1 1\n")))
        .await;
    assert!(r.is_ok(), "{r:?}");
    let r = local
        .write_shard(NodeId(9), write(50, 1, points("m v=1 1\n")))
        .await;
    assert!(matches!(r, Err(OwnerError::Unavailable(_))));
    assert_eq!(export(&n.node, 50).await, "m v=1 1\n");
}

#[tokio::test]
async fn versioned_rows_stream_over_grpc_and_locally() {
    use futures::StreamExt;
    let n = start("", "").await;
    n.view.owners.lock().unwrap().insert(ShardId(60), vec![NodeId(2)]);
    let r = n
        .client
        .write_shard(NodeId(2), write(60, 1, points("m,t=a v=1i 10\nm,t=b v=2i 20\n")))
        .await;
    assert!(r.is_ok(), "{r:?}");
    let local = DataClient::new(
        Some(n.node.clone()),
        n.view.clone(),
        ClusterSecret::disabled(),
        DataClientConfig::default(),
    );
    for client in [&n.client, &local] {
        let mut s = client
            .export_rows(NodeId(2), ShardId(60), TimeRange::ALL)
            .await
            .unwrap();
        let mut rows = Vec::new();
        while let Some(chunk) = s.next().await {
            let chunk = chunk.unwrap();
            for p in chunk.view().iter() {
                for f in p.fields() {
                    rows.push(format!(
                        "{} {} {}={:?} v{}",
                        p.series_key,
                        p.ts,
                        f.key,
                        f.value,
                        f.version.unwrap().hlc_ns
                    ));
                }
            }
        }
        assert_eq!(rows, ["m,t=a 10 v=Integer(1) v5", "m,t=b 20 v=Integer(2) v5"]);
    }
    let mut missing = n
        .client
        .export_rows(NodeId(2), ShardId(61), TimeRange::ALL)
        .await
        .unwrap();
    assert!(matches!(
        missing.next().await,
        Some(Err(tandem_datanode::DataError::ShardNotFound(_)))
    ));
}

#[tokio::test]
async fn tls_between_nodes() {
    use tandem_datanode::tls::InternalTls;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tls = InternalTls::from_pem_files(
        &fixtures.join("node.pem"),
        &fixtures.join("node.key"),
        &fixtures.join("ca.pem"),
        "tandem",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        dir: dir.path().to_owned(),
        ..StorageConfig::default()
    };
    let store: Arc<dyn ShardStore> = Arc::new(Engine::open(config, EngineOptions::default()).unwrap());
    let view = Arc::new(FakeView::default());
    view.version.store(1, Ordering::SeqCst);
    view.owners.lock().unwrap().insert(ShardId(70), vec![NodeId(2)]);
    let node = DataNode::new(NodeId(2), store, view.clone(), wall_clock());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    view.addresses
        .lock()
        .unwrap()
        .insert(NodeId(2), listener.local_addr().unwrap().to_string());
    let server = data_server(
        node.clone(),
        &ClusterSecret::new("s").unwrap(),
        DEFAULT_MAX_MESSAGE_BYTES,
    );
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, server, Some(tls.server.clone()), async move {
        let _ = rx.await;
    }));
    let secure = DataClient::new(
        None,
        view.clone(),
        ClusterSecret::new("s").unwrap(),
        DataClientConfig::default(),
    )
    .with_tls(tls.client.clone());
    let r = secure
        .write_shard(NodeId(2), write(70, 1, points("m v=1 1\n")))
        .await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(export(&node, 70).await, "m v=1 1\n");
    // A client speaking plain HTTP/2 to the TLS port gets nowhere.
    let plain = DataClient::new(
        None,
        view,
        ClusterSecret::new("s").unwrap(),
        DataClientConfig::default(),
    );
    let r = plain
        .write_shard(NodeId(2), write(70, 1, points("m v=2 2\n")))
        .await;
    assert!(matches!(r, Err(OwnerError::Unavailable(_))), "{r:?}");
}

/// The lifecycle RPCs over real gRPC, as an operator tool or the repair
/// path calls them: CreateShard, ShardInfo, ShardDigest, DeleteShard, and
/// the refusal of a wire version this build does not speak.
#[tokio::test]
async fn shard_lifecycle_rpcs_over_grpc() {
    use tandem_proto::WIRE_VERSION;
    use tandem_proto::data::data_service_client::DataServiceClient;
    use tandem_proto::data::{
        CreateShardRequest, DeleteShardRequest, ShardDigestRequest, ShardInfoRequest, WriteErrorCode,
        WriteShardRequest,
    };
    let n = start("lifecycle", "lifecycle").await;
    let addr = n.view.data_address(NodeId(2)).unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c =
        DataServiceClient::with_interceptor(channel, ClusterSecret::new("lifecycle").unwrap().attach());
    let info = |ids: Vec<u64>| ShardInfoRequest {
        wire_version: WIRE_VERSION,
        shard_ids: ids,
    };

    // An operator creates shard 60 without being its owner in metadata.
    c.create_shard(CreateShardRequest {
        wire_version: WIRE_VERSION,
        shard_id: 60,
    })
    .await
    .unwrap();
    let r = c.shard_info(info(vec![60, 61])).await.unwrap().into_inner();
    assert_eq!(r.shards.len(), 1);
    assert_eq!((r.shards[0].shard_id, r.shards[0].point_count), (60, 0));
    assert_eq!(r.missing, [61]);
    assert!(!r.node_uuid.is_empty());

    // Three cells in one hour, one in the next: two digest buckets.
    let hour = 3_600_000_000_000i64;
    let w = |points: PointsBuf| WriteShardRequest {
        wire_version: WIRE_VERSION,
        shard_id: 60,
        meta_version: 1,
        version: Some(Version::new(7, NodeId(1), 0).into()),
        points: points.as_bytes().to_vec().into(),
    };
    let body = format!("m,h=a v=1,w=2i 1\nm,h=b v=3 2\nm,h=a v=4 {hour}\n");
    let r = c.write_shard(w(points(&body))).await.unwrap().into_inner();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.written, 3);
    let digest = |bucket_ns| ShardDigestRequest {
        wire_version: WIRE_VERSION,
        shard_id: 60,
        bucket_ns,
    };
    let d = c.shard_digest(digest(hour as u64)).await.unwrap().into_inner();
    let cells: Vec<(i64, u64)> = d.buckets.iter().map(|b| (b.start, b.cells)).collect();
    assert_eq!(cells, [(0, 3), (hour, 1)]);
    // The digest is of the content: the same cells again change nothing,
    // a new value changes its bucket's hash only.
    let again = c.write_shard(w(points(&body))).await.unwrap().into_inner();
    assert!(again.error.is_none());
    assert_eq!(c.shard_digest(digest(hour as u64)).await.unwrap().into_inner(), d);
    let r = c
        .write_shard(w(points(&format!("m,h=a v=9 {hour}\n"))))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_none());
    let changed = c.shard_digest(digest(hour as u64)).await.unwrap().into_inner();
    assert_eq!(changed.buckets[0], d.buckets[0]);
    assert_ne!(changed.buckets[1].hash, d.buckets[1].hash);

    // Unknown wire versions are refused before anything is done.
    for v in [0, WIRE_VERSION + 1] {
        let e = c
            .shard_info(ShardInfoRequest {
                wire_version: v,
                shard_ids: vec![60],
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e}");
        assert!(e.message().contains("unsupported wire version"), "{e}");
    }

    // Deleted: gone from ShardInfo, writes answer SHARD_DELETED.
    c.delete_shard(DeleteShardRequest {
        wire_version: WIRE_VERSION,
        shard_id: 60,
    })
    .await
    .unwrap();
    let r = c.shard_info(info(vec![60])).await.unwrap().into_inner();
    assert!(r.shards.is_empty());
    assert_eq!(r.missing, [60]);
    let r = c.write_shard(w(points("m v=1 1\n"))).await.unwrap().into_inner();
    assert_eq!(r.error.map(|e| e.code), Some(WriteErrorCode::ShardDeleted as i32));
}
