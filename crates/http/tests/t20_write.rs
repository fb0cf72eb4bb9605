//! Successful writes over TCP: every precision, the v2 bucket forms,
//! consistency levels and their ack header, encodings, tolerated content
//! types, chunked bodies and the body limit.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use client::{Req, gzip};
use server::{Options, TestServer};

/// Timestamps are written as `1` in each precision; the stored ns value
/// shows the conversion.
#[tokio::test]
async fn every_precision_scales_timestamps() {
    let s = TestServer::default().await;
    // (endpoint, precision parameter, expected ns for timestamp 1)
    let cases = [
        ("v1", "", 1),
        ("v1", "n", 1),
        ("v1", "ns", 1),
        ("v1", "u", 1_000),
        ("v1", "ms", 1_000_000),
        ("v1", "s", 1_000_000_000),
        ("v1", "m", 60_000_000_000),
        ("v1", "h", 3_600_000_000_000),
        ("v2", "", 1),
        ("v2", "ns", 1),
        ("v2", "us", 1_000),
        ("v2", "ms", 1_000_000),
        ("v2", "s", 1_000_000_000),
    ];
    for (i, (api, precision, _)) in cases.iter().enumerate() {
        let target = match *api {
            "v1" => format!("/write?db=db&precision={precision}"),
            _ => format!("/api/v2/write?bucket=db&org=my-org&orgID=0123&precision={precision}"),
        };
        let r = s.send(&Req::post(&target, format!("p{i} v=1 1"))).await;
        assert_eq!(r.status, 204, "{api} {precision}: {}", r.text());
        assert!(r.body.is_empty());
    }
    s.settle().await;
    let stored = s.transport.stored(1);
    for (i, (api, precision, want_ns)) in cases.iter().enumerate() {
        let p = stored
            .iter()
            .find(|p| p.0 == format!("p{i}"))
            .unwrap_or_else(|| panic!("p{i} not stored"));
        assert_eq!(p.1, *want_ns, "{api} precision {precision:?}");
    }
}

#[tokio::test]
async fn v2_buckets_name_database_and_policy() {
    let s = TestServer::default().await;
    // (bucket, policy that must receive the point)
    let cases = [
        ("db", "autogen"),
        ("db/", "autogen"),
        ("db/week", "week"),
        ("db%2Fweek", "week"),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for (i, (bucket, rp)) in cases.iter().enumerate() {
        let r = s
            .send(
                &Req::post(
                    &format!("/api/v2/write?org=o&bucket={bucket}"),
                    format!("b{i} v=1 {now}"),
                )
                .header("Authorization", "Token ignored-when-auth-is-off"),
            )
            .await;
        assert_eq!(r.status, 204, "{bucket}: {}", r.text());
        let groups = s.cluster.state.lock().unwrap().groups.clone();
        assert!(
            groups.iter().any(|(d, r, _)| d == "db" && r == rp),
            "{bucket}: no shard group in {rp}: {groups:?}"
        );
    }
}

#[tokio::test]
async fn consistency_levels_and_the_ack_header() {
    let s = TestServer::default().await;
    // (parameter, header) with three owners that all ack
    let cases = [
        ("", "level=one acked=1 required=1 owners=3"),
        ("any", "level=any acked=1 required=1 owners=3"),
        ("ONE", "level=one acked=1 required=1 owners=3"),
        ("Quorum", "level=quorum acked=2 required=2 owners=3"),
        ("all", "level=all acked=3 required=3 owners=3"),
    ];
    for (level, header) in cases {
        for target in ["/write?db=db", "/api/v2/write?bucket=db"] {
            let r = s
                .send(&Req::post(&format!("{target}&consistency={level}"), "cpu v=1"))
                .await;
            assert_eq!(r.status, 204, "{target} {level}: {}", r.text());
            assert_eq!(r.header("X-Tandem-Consistency"), Some(header), "{target} {level}");
        }
    }
    // Nothing reached a shard: no ack header.
    let r = s.send(&Req::post("/write?db=db", "")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("X-Tandem-Consistency"), None);
}

#[tokio::test]
async fn encodings_and_content_types() {
    let s = TestServer::default().await;
    let body = "enc v=1\nenc v=2\n";
    let gz = gzip(body.as_bytes());
    // (Content-Encoding, body)
    let cases: Vec<(Option<&str>, Vec<u8>)> = vec![
        (None, body.into()),
        (Some("identity"), body.into()),
        (Some(""), body.into()),
        (Some("gzip"), gz.clone()),
        (Some("GZIP"), gz.clone()),
        (Some("x-gzip"), gz.clone()),
    ];
    for (enc, data) in cases {
        for target in ["/write?db=db", "/api/v2/write?bucket=db"] {
            let mut req = Req::post(target, data.clone());
            if let Some(e) = enc {
                req = req.header("Content-Encoding", e);
            }
            let r = s.send(&req).await;
            assert_eq!(r.status, 204, "{target} {enc:?}: {}", r.text());
        }
    }
    // Any Content-Type and Accept, as the python clients send them.
    for ct in [
        "application/octet-stream",
        "application/x-msgpack",
        "application/json",
        "text/plain; charset=utf-8",
        "nonsense",
    ] {
        let r = s
            .send(
                &Req::post("/write?db=db", body)
                    .header("Content-Type", ct)
                    .header("Accept", "application/x-msgpack"),
            )
            .await;
        assert_eq!(r.status, 204, "{ct}: {}", r.text());
    }
    // A chunked request body, plain and gzipped.
    let mut req = Req::post("/write?db=db", body);
    req.chunk_size = Some(3);
    assert_eq!(s.send(&req).await.status, 204);
    let mut req = Req::post("/write?db=db", gz).header("Content-Encoding", "gzip");
    req.chunk_size = Some(5);
    assert_eq!(s.send(&req).await.status, 204);
    s.settle().await;
    let stored = s.transport.stored(1).iter().filter(|p| p.0 == "enc").count();
    assert_eq!(stored, 2 * (12 + 5 + 2));
}

#[tokio::test]
async fn unsigned_integers_only_on_v2() {
    let s = TestServer::default().await;
    let r = s.send(&Req::post("/api/v2/write?bucket=db", "u v=7u 1")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    s.settle().await;
    assert!(
        s.transport
            .stored(1)
            .iter()
            .any(|p| p.0 == "u" && p.2 == ["v=7u"])
    );
    let r = s.send(&Req::post("/write?db=db", "u v=7u 1")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("unable to parse 'u v=7u 1'")
    );
}

#[tokio::test]
async fn body_limit_applies_to_every_body_form() {
    let mut opts = Options::default();
    opts.http.max_body_size = 1000;
    let s = TestServer::start(opts).await;
    let small = "lim v=1\n".repeat(100); // 800 bytes
    let large = "lim v=1\n".repeat(200); // 1600 bytes
    let gz_large = gzip(large.as_bytes());
    assert!(gz_large.len() < 1000);
    // (body, gzip?, chunked?, status)
    let cases = [
        (small.clone().into_bytes(), false, false, 204),
        (small.clone().into_bytes(), false, true, 204),
        (large.clone().into_bytes(), false, false, 413),
        (large.clone().into_bytes(), false, true, 413),
        (gz_large.clone(), true, false, 413),
        (gz_large.clone(), true, true, 413),
    ];
    for (i, (body, gz, chunked, status)) in cases.into_iter().enumerate() {
        for target in ["/write?db=db", "/api/v2/write?bucket=db"] {
            let mut req = Req::post(target, body.clone());
            if gz {
                req = req.header("Content-Encoding", "gzip");
            }
            if chunked {
                req.chunk_size = Some(100);
            }
            let r = s.send(&req).await;
            assert_eq!(r.status, status, "case {i} {target}: {}", r.text());
            if status == 413 {
                assert_eq!(r.reason, "Request Entity Too Large", "case {i} {target}");
            }
            if status == 413 && target.starts_with("/api") {
                assert_eq!(
                    r.text(),
                    "{\"code\":\"invalid\",\"message\":\"request body exceeds max body size 1000 bytes\",\"error\":\"request body exceeds max body size 1000 bytes\",\"maxLength\":1000}\n"
                );
            }
        }
    }

    // 0 switches the limit off.
    let mut opts = Options::default();
    opts.http.max_body_size = 0;
    let s = TestServer::start(opts).await;
    let r = s.send(&Req::post("/write?db=db", large)).await;
    assert_eq!(r.status, 204, "{}", r.text());
}

/// Requests found to differ from influxd 1.6.7 by probing, now answered as
/// influxd answers them: (target, Content-Encoding, body, status, error).
#[tokio::test]
async fn edge_requests_answered_as_influxd() {
    let s = TestServer::default().await;
    type Case<'a> = (&'a str, Option<&'a str>, &'a [u8], u16, &'a str);
    let cases: [Case<'_>; 9] = [
        // Go leaves out a query pair with a bad escape or a semicolon.
        ("/write?db=d%zzb", None, b"cpu v=1", 400, "database is required"),
        (
            "/write?db=db;rp=autogen",
            None,
            b"cpu v=1",
            400,
            "database is required",
        ),
        ("/write?x=%zz&db=db", None, b"cpu v=1", 204, ""),
        ("/write?db=d%62", None, b"cpu v=1", 204, ""),
        (
            "/api/v2/write?bucket=d%zzb",
            None,
            b"cpu v=1",
            404,
            "bucket name \"\" is missing a slash; not in \"database/retention-policy\" format",
        ),
        // An empty gzip body is Go's EOF, a cut header its unexpected EOF.
        ("/write?db=db", Some("gzip"), b"", 400, "EOF"),
        (
            "/write?db=db",
            Some("gzip"),
            b"\x1f\x8b\x08",
            400,
            "unexpected EOF",
        ),
        ("/write?db=db", None, b"", 204, ""),
        ("/write?db=db", Some("identity"), b"", 204, ""),
    ];
    for (target, encoding, body, status, error) in cases {
        let mut req = Req::post(target, body);
        if let Some(e) = encoding {
            req = req.header("Content-Encoding", e);
        }
        let r = s.send(&req).await;
        let what = format!("{target} {encoding:?} {body:?}");
        assert_eq!(r.status, status, "{what}: {}", r.text());
        if !error.is_empty() {
            let field = if target.starts_with("/api") {
                "message"
            } else {
                "error"
            };
            assert_eq!(r.json()[field], error, "{what}");
            assert_eq!(r.header("X-Influxdb-Error"), Some(error), "{what}");
        }
    }
}
