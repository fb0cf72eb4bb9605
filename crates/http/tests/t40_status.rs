//! `/ping`, `/health`, `/metrics`, `/debug/vars`, unknown routes, and the
//! headers every response carries.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use client::Req;
use serde_json::json;
use server::TestServer;
use tandem_http::ports::Health;

fn assert_identity(r: &client::Resp, what: &str) {
    let version = tandem_http::HttpConfig::default().version;
    // Title-case names, as Go's server writes them.
    let get = |n: &str| r.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("X-Influxdb-Version"), Some(version.as_str()), "{what}");
    assert_eq!(get("X-Influxdb-Build"), Some("ENT"), "{what}");
    let id = get("Request-Id").unwrap_or_else(|| panic!("{what}: no Request-Id"));
    assert_eq!(get("X-Request-Id"), Some(id), "{what}");
}

#[tokio::test]
async fn ping() {
    let s = TestServer::default().await;
    // (method, target, status, body)
    let version = tandem_http::HttpConfig::default().version;
    let verbose = json!({ "version": version }).to_string();
    let cases = [
        ("GET", "/ping", 204, String::new()),
        ("HEAD", "/ping", 204, String::new()),
        ("GET", "/ping?verbose=false", 204, String::new()),
        ("GET", "/ping?verbose=0", 204, String::new()),
        ("GET", "/ping?verbose=true", 200, verbose.clone()),
        ("GET", "/ping?verbose=1", 200, verbose),
        ("HEAD", "/ping?verbose=true", 200, String::new()),
    ];
    for (method, target, status, body) in cases {
        let r = s.send(&Req::new(method, target)).await;
        assert_eq!(r.status, status, "{method} {target}");
        assert_eq!(r.text(), body, "{method} {target}");
        assert_identity(&r, target);
    }
}

#[tokio::test]
async fn health_follows_the_status_port() {
    let s = TestServer::default().await;
    let version = tandem_http::HttpConfig::default().version;
    let r = s.send(&Req::get("/health")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        format!(
            "{{\"checks\":[],\"message\":\"ready for queries and writes\",\"name\":\"influxdb\",\"status\":\"pass\",\"version\":\"{version}\"}}"
        )
    );
    *s.status.health.lock().unwrap() = Health::Fail("no data nodes reachable".into());
    let r = s.send(&Req::get("/health")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["status"], "fail");
    assert_eq!(r.json()["message"], "no data nodes reachable");
}

#[tokio::test]
async fn debug_vars_count_writes_like_enterprise() {
    let s = TestServer::default().await;
    for body in ["cpu v=1\ncpu v=2", "cpu v=3", "cpu"] {
        s.send(&Req::post("/write?db=db&consistency=all", body)).await;
    }
    s.settle().await;
    let r = s.send(&Req::get("/debug/vars")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    // Node 1 coordinates and owns a replica; nodes 2 and 3 are remote.
    assert_eq!(
        v["write"],
        json!({"name": "write", "tags": {}, "values": {
            "pointReq": 3, "pointReqLocal": 3, "pointReqRemote": 6, "pointReqHH": 0,
            "writeOk": 2, "writePartial": 0, "writeTimeout": 0, "writeError": 0, "writeDrop": 0
        }})
    );
    let httpd = &v["httpd:127.0.0.1:0"];
    assert_eq!(httpd["name"], "httpd");
    assert_eq!(httpd["values"]["writeReq"], 3);
    assert_eq!(httpd["values"]["pointsWrittenOK"], 3);
    assert_eq!(httpd["values"]["clientError"], 1);
    assert_eq!(v["hh"]["values"]["queueBytes"], 0);
    assert!(v["system"]["uptime"].is_u64());
    assert!(v["cmdline"].is_array());
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let s = TestServer::default().await;
    s.send(&Req::post("/write?db=db&consistency=quorum", "cpu v=1"))
        .await;
    s.send(&Req::post("/write?db=db&consistency=bogus", "cpu v=1"))
        .await;
    s.send(&Req::post("/api/v2/write?bucket=db", "cpu v=1")).await;
    s.send(&Req::get("/ping")).await;
    s.settle().await;
    let r = s.send(&Req::get("/metrics")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    for line in [
        "tandem_http_requests_total{endpoint=\"write\",status=\"204\",consistency=\"quorum\"} 1",
        "tandem_http_requests_total{endpoint=\"write\",status=\"400\",consistency=\"invalid\"} 1",
        "tandem_http_requests_total{endpoint=\"write_v2\",status=\"204\",consistency=\"one\"} 1",
        "tandem_http_requests_total{endpoint=\"ping\",status=\"204\",consistency=\"\"} 1",
        "tandem_http_request_duration_seconds_count{endpoint=\"write\"} 2",
        "tandem_http_request_duration_seconds_bucket{endpoint=\"write\",le=\"+Inf\"} 2",
        "tandem_http_write_points_total{outcome=\"written\"} 2",
        "tandem_http_write_bytes_total{stage=\"wire\"} 14",
        "tandem_write_point_req_total 2",
        "tandem_write_write_ok_total 2",
        "tandem_write_point_req_remote_total 4",
        "tandem_hh_bytes 0",
        "# TYPE tandem_http_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    // Every sample line is `name{labels} value` or `name value`.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample {l:?}");
    }
}

#[tokio::test]
async fn every_response_identifies_the_server() {
    let s = TestServer::default().await;
    // (method, target, status)
    let cases = [
        ("GET", "/nope", 404),
        ("GET", "/write", 405),
        ("DELETE", "/query", 405),
        ("OPTIONS", "/write", 200),
        ("OPTIONS", "/query", 200),
        ("OPTIONS", "/api/v2/write", 200),
        ("GET", "/health", 200),
        ("POST", "/write?db=db", 204),
    ];
    for (method, target, status) in cases {
        let r = s.send(&Req::new(method, target)).await;
        assert_eq!(r.status, status, "{method} {target}: {}", r.text());
        assert_identity(&r, target);
    }

    // A client's request id comes back; otherwise a version-1 UUID.
    let r = s.send(&Req::get("/ping").header("Request-Id", "abc-123")).await;
    assert_eq!(r.header("Request-Id"), Some("abc-123"));
    assert_eq!(r.header("X-Request-Id"), Some("abc-123"));
    let r = s.send(&Req::get("/ping").header("X-Request-Id", "xyz")).await;
    assert_eq!(r.header("Request-Id"), Some("xyz"));
    let a = s.send(&Req::get("/ping")).await;
    let b = s.send(&Req::get("/ping")).await;
    let (a, b) = (a.header("Request-Id").unwrap(), b.header("Request-Id").unwrap());
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "1");
}

/// What Go's mux and influxd's response writer put around an answer, by
/// request: status, body, `Content-Type`, `Allow`, `X-Content-Type-Options`.
#[tokio::test]
async fn mux_answers_like_go() {
    let s = TestServer::default().await;
    let text = Some("text/plain; charset=utf-8");
    let json = Some("application/json");
    // (method, target, status, body, Content-Type, Allow, nosniff)
    type Case<'a> = (
        &'a str,
        &'a str,
        u16,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        bool,
    );
    let cases: [Case<'_>; 10] = [
        ("GET", "/nope", 404, "404 page not found\n", text, None, true),
        ("POST", "/write/", 404, "404 page not found\n", text, None, true),
        (
            "GET",
            "/write",
            405,
            "Method Not Allowed\n",
            text,
            Some("POST,OPTIONS"),
            true,
        ),
        (
            "PUT",
            "/api/v2/write",
            405,
            "Method Not Allowed\n",
            text,
            Some("POST,OPTIONS"),
            true,
        ),
        (
            "DELETE",
            "/query",
            405,
            "Method Not Allowed\n",
            text,
            Some("GET,HEAD,POST,OPTIONS"),
            true,
        ),
        ("OPTIONS", "/write", 200, "", None, None, false),
        // Empty 204s are labelled JSON, as influxd's are.
        ("POST", "/write?db=db", 204, "", json, None, false),
        ("POST", "/api/v2/write?bucket=db", 204, "", json, None, false),
        ("GET", "/ping", 204, "", json, None, false),
        ("HEAD", "/ping", 204, "", json, None, false),
    ];
    for (method, target, status, body, content_type, allow, nosniff) in cases {
        let what = format!("{method} {target}");
        let r = s.send(&Req::new(method, target)).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert_eq!(r.text(), body, "{what}");
        assert_eq!(r.header("Content-Type"), content_type, "{what}");
        assert_eq!(r.header("Allow"), allow, "{what}");
        let sniff = r.header("X-Content-Type-Options");
        assert_eq!(sniff, nosniff.then_some("nosniff"), "{what}");
    }
}

/// influxd's CORS headers: on every routed answer (errors too, and the
/// empty 200 of a pre-flight) when the request has an `Origin`; never
/// without one, and not on the mux's 404 and 405.
#[tokio::test]
async fn cors_headers_like_influxd() {
    let s = TestServer::default().await;
    let origin = "http://dashboard.example:3000";
    let want = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, POST, PUT"),
        (
            "Access-Control-Allow-Headers",
            "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, X-CSRF-Token, X-HTTP-Method-Override",
        ),
        (
            "Access-Control-Expose-Headers",
            "Date, X-InfluxDB-Version, X-InfluxDB-Build",
        ),
    ];
    // (method, target, body, status, CORS headers expected)
    let cases = [
        ("OPTIONS", "/write", "", 200, true),
        ("OPTIONS", "/query", "", 200, true),
        ("OPTIONS", "/api/v2/write", "", 200, true),
        ("POST", "/write?db=db", "cpu v=1", 204, true),
        ("POST", "/api/v2/write?bucket=db", "cpu v=1", 204, true),
        ("POST", "/write?db=nope", "cpu v=1", 404, true),
        ("POST", "/write?db=db", "cpu", 400, true),
        ("GET", "/query?q=SHOW+DATABASES", "", 200, true),
        ("GET", "/ping", "", 204, true),
        ("GET", "/nope", "", 404, false),
        ("GET", "/write", "", 405, false),
    ];
    for (method, target, body, status, cors) in cases {
        let what = format!("{method} {target}");
        let mut req = Req::new(method, target);
        req.body = body.as_bytes().to_vec();
        let plain = s.send(&req).await;
        assert_eq!(plain.status, status, "{what}: {}", plain.text());
        for (name, _) in want {
            assert_eq!(plain.header(name), None, "{what} without Origin: {name}");
        }
        let r = s.send(&req.clone().header("Origin", origin)).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        for (name, value) in want {
            // Names spelled as Go writes them.
            let got = r.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            assert_eq!(got, cors.then_some(value), "{what}: {name}");
        }
        if method == "OPTIONS" {
            assert!(r.body.is_empty(), "{what}");
            assert_eq!(r.header("Content-Type"), None, "{what}");
        }
    }
}
