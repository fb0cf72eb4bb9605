//! `/query` over TCP: every supported statement, the 1.x JSON format,
//! several statements per request, statement errors, GET warnings, form
//! bodies, `pretty` and `chunked`, and the auth bootstrap.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use client::Req;
use serde_json::{Value, json};
use server::{Options, TestServer};

fn q(statement: &str) -> String {
    let enc: String = form_urlencoded::byte_serialize(statement.as_bytes()).collect();
    format!("/query?q={enc}")
}

async fn post(s: &TestServer, statement: &str) -> Value {
    let r = s.send(&Req::post(&q(statement), "")).await;
    assert_eq!(r.status, 200, "{statement}: {}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert!(r.body.ends_with(b"\n"));
    r.json()
}

/// Each statement in turn, with the exact JSON influxd would answer.
#[tokio::test]
async fn statements_and_their_results() {
    let s = TestServer::default().await;
    let ok = |id: usize| json!({"results": [{"statement_id": id}]});
    // (statement, expected response)
    let cases: Vec<(&str, Value)> = vec![
        ("CREATE DATABASE \"mydb\"", ok(0)),
        ("CREATE DATABASE mydb", ok(0)),
        (
            "SHOW DATABASES",
            json!({"results": [{"statement_id": 0, "series": [
                {"name": "databases", "columns": ["name"], "values": [["db"], ["mydb"]]}
            ]}]}),
        ),
        (
            "CREATE DATABASE tsdb WITH DURATION 2d REPLICATION 2 SHARD DURATION 1h NAME twodays",
            ok(0),
        ),
        (
            "SHOW RETENTION POLICIES ON tsdb",
            json!({"results": [{"statement_id": 0, "series": [{
                "columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"],
                "values": [["twodays", "48h0m0s", "1h0m0s", 2, true]]
            }]}]}),
        ),
        (
            "CREATE RETENTION POLICY one_day ON mydb DURATION 1d REPLICATION 3 SHARD DURATION 2h DEFAULT",
            ok(0),
        ),
        (
            "ALTER RETENTION POLICY one_day ON mydb DURATION 3d REPLICATION 1",
            ok(0),
        ),
        (
            "SHOW RETENTION POLICIES ON mydb",
            json!({"results": [{"statement_id": 0, "series": [{
                "columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"],
                "values": [
                    ["autogen", "0s", "168h0m0s", 3, false],
                    ["one_day", "72h0m0s", "2h0m0s", 1, true]
                ]
            }]}]}),
        ),
        ("DROP RETENTION POLICY one_day ON mydb", ok(0)),
        (
            "CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES",
            ok(0),
        ),
        ("CREATE USER bob WITH PASSWORD 'b'", ok(0)),
        ("GRANT ALL ON mydb TO bob", ok(0)),
        ("REVOKE READ ON mydb FROM bob", ok(0)),
        (
            "SHOW GRANTS FOR bob",
            json!({"results": [{"statement_id": 0, "series": [{
                "columns": ["database", "privilege"], "values": [["mydb", "WRITE"]]
            }]}]}),
        ),
        ("GRANT ALL PRIVILEGES TO bob", ok(0)),
        (
            "SHOW USERS",
            json!({"results": [{"statement_id": 0, "series": [{
                "columns": ["user", "admin"], "values": [["admin", true], ["bob", true]]
            }]}]}),
        ),
        ("REVOKE ALL PRIVILEGES FROM bob", ok(0)),
        ("SET PASSWORD FOR bob = 'new'", ok(0)),
        ("DROP USER bob", ok(0)),
        ("DROP DATABASE mydb", ok(0)),
        ("DROP DATABASE never_existed", ok(0)),
        (
            "SHOW RETENTION POLICIES ON nope",
            json!({"results": [{"statement_id": 0, "error": "database not found: nope"}]}),
        ),
        (
            "SHOW RETENTION POLICIES",
            json!({"results": [{"statement_id": 0, "error": "database name required"}]}),
        ),
        (
            "DROP USER ghost",
            json!({"results": [{"statement_id": 0, "error": "user not found"}]}),
        ),
    ];
    for (statement, want) in cases {
        assert_eq!(post(&s, statement).await, want, "{statement}");
    }
    let users = s.cluster.state.lock().unwrap().users.clone();
    assert_eq!(users.keys().collect::<Vec<_>>(), ["admin"]);
    assert_eq!(users["admin"].password, "secret");
}

#[tokio::test]
async fn a_created_database_takes_writes_at_once() {
    let s = TestServer::default().await;
    let r = s.send(&Req::post("/write?db=fresh", "cpu v=1")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    post(&s, "CREATE DATABASE fresh").await;
    let r = s.send(&Req::post("/write?db=fresh", "cpu v=1")).await;
    assert_eq!(r.status, 204, "{}", r.text());
}

#[tokio::test]
async fn several_statements_and_the_first_error_stops_the_rest() {
    let s = TestServer::default().await;
    let got = post(
        &s,
        "CREATE DATABASE a; CREATE RETENTION POLICY short ON a DURATION 30m; SHOW DATABASES;",
    )
    .await;
    assert_eq!(
        got,
        json!({"results": [
            {"statement_id": 0},
            {"statement_id": 1, "error": "retention policy duration must be at least 1h0m0s"},
            {"statement_id": 2, "error": "not executed"}
        ]})
    );
    // Chunked: one result per line, each with its own id.
    let r = s
        .send(&Req::post(
            &format!(
                "{}&chunked=true",
                q("CREATE DATABASE b; DROP USER ghost; SHOW USERS")
            ),
            "",
        ))
        .await;
    assert_eq!(
        r.text(),
        concat!(
            "{\"results\":[{\"statement_id\":0}]}\n",
            "{\"results\":[{\"statement_id\":1,\"error\":\"user not found\"}]}\n",
            "{\"results\":[{\"statement_id\":2,\"error\":\"not executed\"}]}\n",
        )
    );
    // `db` applies to SHOW RETENTION POLICIES without ON.
    let r = s
        .send(&Req::get(&format!("{}&db=a", q("SHOW RETENTION POLICIES"))))
        .await;
    assert_eq!(r.json()["results"][0]["series"][0]["values"][0][0], "autogen");
}

#[tokio::test]
async fn get_runs_ddl_with_influxds_warning() {
    let s = TestServer::default().await;
    let r = s.send(&Req::get(&q("CREATE DATABASE g; SHOW DATABASES"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"results": [
            {"statement_id": 0, "messages": [{"level": "warning",
                "text": "deprecated use of 'CREATE DATABASE g' in a read only context, please use a POST request instead"}]},
            {"statement_id": 1, "series": [{"name": "databases", "columns": ["name"], "values": [["db"], ["g"]]}]}
        ]})
    );
    assert!(s.cluster.state.lock().unwrap().dbs.contains_key("g"));
}

#[tokio::test]
async fn form_bodies_pretty_and_chunked() {
    let s = TestServer::default().await;
    // q in a urlencoded body (Go clients), taking precedence over the URL.
    let r = s
        .send(
            &Req::post("/query?q=SHOW+USERS", "q=CREATE+DATABASE+f&db=db")
                .header("Content-Type", "application/x-www-form-urlencoded"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"results": [{"statement_id": 0}]}));
    assert!(s.cluster.state.lock().unwrap().dbs.contains_key("f"));

    let r = s
        .send(&Req::post(&format!("{}&pretty=true", q("CREATE DATABASE p")), ""))
        .await;
    assert_eq!(
        r.text(),
        "{\n    \"results\": [\n        {\n            \"statement_id\": 0\n        }\n    ]\n}\n"
    );

    let r = s
        .send(&Req::post(
            &format!("{}&chunked=true", q("CREATE DATABASE c; SHOW USERS")),
            "",
        ))
        .await;
    assert_eq!(
        r.text(),
        "{\"results\":[{\"statement_id\":0}]}\n{\"results\":[{\"statement_id\":1,\"series\":[{\"columns\":[\"user\",\"admin\"]}]}]}\n"
    );
}

/// With auth on and no user, only the first admin can be created; after
/// that, credentials are required and non-admins see what they may.
#[tokio::test]
async fn auth_bootstrap_and_visibility() {
    let mut opts = Options::default();
    opts.http.auth_enabled = true;
    let s = TestServer::start(opts).await;

    let r = s.send(&Req::post(&q("CREATE DATABASE x"), "")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"],
        "error authorizing query: create admin user first or disable authentication"
    );
    let r = s
        .send(&Req::post(
            &q("CREATE USER root WITH PASSWORD 'pw' WITH ALL PRIVILEGES"),
            "",
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = s.send(&Req::post(&q("SHOW DATABASES"), "")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"InfluxDB\""));

    let admin = |stmt: &str| Req::post(&format!("{}&u=root&p=pw", q(stmt)), "");
    for stmt in [
        "CREATE DATABASE other",
        "CREATE USER bob WITH PASSWORD 'b'",
        "GRANT READ ON db TO bob",
    ] {
        let r = s.send(&admin(stmt)).await;
        assert_eq!(r.status, 200, "{stmt}: {}", r.text());
        assert!(
            r.json()["results"][0].get("error").is_none(),
            "{stmt}: {}",
            r.text()
        );
    }
    let r = s
        .send(&Req::get(&format!("{}&u=bob&p=b", q("SHOW DATABASES"))))
        .await;
    assert_eq!(
        r.json(),
        json!({"results": [{"statement_id": 0, "series": [
            {"name": "databases", "columns": ["name"], "values": [["db"]]}
        ]}]})
    );
    let r = s
        .send(&Req::post(&format!("{}&u=bob&p=b", q("DROP DATABASE db")), ""))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"],
        "error authorizing query: bob not authorized to execute statement 'DROP DATABASE db', requires admin privilege"
    );
    assert!(s.cluster.state.lock().unwrap().dbs.contains_key("db"));
}

/// The token statements (tandem extensions): an admin creates a token for a
/// user, the token writes as that user, `SHOW TOKENS` never shows the
/// secret, and a dropped token stops authenticating.
#[tokio::test]
async fn tokens_are_created_listed_and_dropped() {
    let s = TestServer::with_auth().await;
    s.cluster.add_user(
        "writer",
        "w",
        false,
        &[("db", tandem_http::ports::Privilege::Write)],
    );
    let admin = |stmt: &str| Req::post(&format!("{}&u=admin&p=admin", q(stmt)), "");

    let r = s
        .send(&admin("CREATE TOKEN FOR writer WITH DESCRIPTION 'ci job'"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let series = &v["results"][0]["series"][0];
    assert_eq!(series["columns"], json!(["id", "token", "user"]));
    let row = series["values"][0].as_array().unwrap();
    let (id, token) = (row[0].as_str().unwrap(), row[1].as_str().unwrap());
    assert_eq!(row[2], "writer");
    assert!(token.starts_with(&format!("tdm_{id}_")), "{token}");

    let r = s.send(&admin("SHOW TOKENS")).await;
    assert_eq!(
        r.json(),
        json!({"results": [{"statement_id": 0, "series": [{
            "columns": ["id", "user", "description"], "values": [[id, "writer", "ci job"]]
        }]}]})
    );
    assert!(!r.text().contains(token), "SHOW TOKENS shows the secret");

    // (statement, expected result of statement 0)
    let cases = [
        (
            "CREATE TOKEN FOR ghost".to_owned(),
            json!({"statement_id": 0, "error": "user not found"}),
        ),
        (
            "DROP TOKEN 'nope'".to_owned(),
            json!({"statement_id": 0, "error": "token not found"}),
        ),
    ];
    for (stmt, want) in cases {
        let r = s.send(&admin(&stmt)).await;
        assert_eq!(r.json()["results"][0], want, "{stmt}");
    }

    let write = |auth: String| Req::post("/write?db=db", "cpu v=1").header("Authorization", &auth);
    for auth in [format!("Bearer {token}"), format!("Token {token}")] {
        let r = s.send(&write(auth.clone())).await;
        assert_eq!(r.status, 204, "{auth}: {}", r.text());
    }
    // The token itself may not run admin statements.
    let r = s
        .send(&Req::post(&q("SHOW TOKENS"), "").header("Authorization", &format!("Bearer {token}")))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["error"],
        "error authorizing query: writer not authorized to execute statement 'SHOW TOKENS', requires admin privilege"
    );

    let r = s.send(&admin(&format!("DROP TOKEN '{id}'"))).await;
    assert_eq!(r.json(), json!({"results": [{"statement_id": 0}]}));
    let r = s.send(&write(format!("Bearer {token}"))).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "authorization failed");
    let r = s.send(&admin("SHOW TOKENS")).await;
    assert_eq!(
        r.json(),
        json!({"results": [{"statement_id": 0, "series": [{"columns": ["id", "user", "description"]}]}]})
    );
}
