//! API tokens end to end against a real auth-on `tandemd`: an admin creates
//! tokens through `/query` (`CREATE TOKEN FOR user`, a tandem extension),
//! clients write with `Authorization: Bearer <token>` and `Token <token>`,
//! the meta service's copy decides who the token is and what it may do,
//! and `DROP TOKEN` ends it. What a token wrote is read back through
//! `/export`.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::net::SocketAddr;

use client::{Req, Resp, send};
use serde_json::{Value, json};
use tandemd_http::{Tandemd, query_ok, url_encode};

const ADMIN: &str = "&u=admin&p=admin";

/// `CREATE TOKEN FOR user` as the admin: (id, token).
async fn create_token(addr: SocketAddr, user: &str, description: &str) -> (String, String) {
    let v = query_ok(
        addr,
        &format!("CREATE TOKEN FOR {user} WITH DESCRIPTION '{description}'"),
        ADMIN,
    )
    .await;
    let series = &v["results"][0]["series"][0];
    assert_eq!(series["columns"], json!(["id", "token", "user"]), "{v}");
    let row = &series["values"][0];
    assert_eq!(row[2], user, "{v}");
    let (id, token) = (row[0].as_str().unwrap(), row[1].as_str().unwrap());
    assert!(token.starts_with(&format!("tdm_{id}_")), "{token}");
    (id.to_owned(), token.to_owned())
}

async fn write(addr: SocketAddr, target: &str, authorization: &str, body: &str) -> Resp {
    send(
        addr,
        &Req::post(target, body).header("Authorization", authorization),
    )
    .await
}

/// `/query` with an `Authorization` header instead of `u`/`p`.
async fn query_with(addr: SocketAddr, q: &str, authorization: &str) -> Resp {
    send(
        addr,
        &Req::post(&format!("/query?q={}", url_encode(q)), "").header("Authorization", authorization),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_authenticate_writes_until_dropped() {
    let node = Tandemd::start(true).await;
    let addr = node.http;
    // With auth on and no user, only the first admin may be created.
    query_ok(
        addr,
        "CREATE USER admin WITH PASSWORD 'admin' WITH ALL PRIVILEGES",
        "",
    )
    .await;
    query_ok(
        addr,
        "CREATE DATABASE db; CREATE USER writer WITH PASSWORD 'w'; GRANT WRITE ON db TO writer; \
         CREATE USER reader WITH PASSWORD 'r'; GRANT READ ON db TO reader",
        ADMIN,
    )
    .await;

    let (writer_id, writer_token) = create_token(addr, "writer", "ci writer").await;
    let (reader_id, reader_token) = create_token(addr, "reader", "dashboards").await;

    // SHOW TOKENS lists both, never their secrets.
    let v = query_ok(addr, "SHOW TOKENS", ADMIN).await;
    let series = &v["results"][0]["series"][0];
    assert_eq!(series["columns"], json!(["id", "user", "description"]));
    let mut rows: Vec<Value> = series["values"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r[0].as_str().unwrap().to_owned());
    let mut want = vec![
        json!([writer_id, "writer", "ci writer"]),
        json!([reader_id, "reader", "dashboards"]),
    ];
    want.sort_by_key(|r| r[0].as_str().unwrap().to_owned());
    assert_eq!(rows, want);
    let listed = v.to_string();
    for secret in [&writer_token, &reader_token] {
        assert!(
            !listed.contains(secret.as_str()),
            "SHOW TOKENS shows a secret: {listed}"
        );
    }

    let wrong_token = format!("tdm_{writer_id}_{}", "0".repeat(64));
    let forbidden = "\"reader\" user is not authorized to write to database \"db\"";
    // (target, Authorization, body, status, error text or "" for 204)
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "/write?db=db",
            format!("Bearer {writer_token}"),
            "tok,via=bearer v=1 1000",
            204,
            "",
        ),
        (
            "/write?db=db",
            format!("Token {writer_token}"),
            "tok,via=token v=2 2000",
            204,
            "",
        ),
        (
            "/api/v2/write?bucket=db",
            format!("Bearer {writer_token}"),
            "tok,via=v2 v=3 3000",
            204,
            "",
        ),
        (
            "/write?db=db",
            format!("Bearer {wrong_token}"),
            "tok v=9 9000",
            401,
            "authorization failed",
        ),
        (
            "/write?db=db",
            "Bearer not-a-token".to_owned(),
            "tok v=9 9000",
            401,
            "authorization failed",
        ),
        (
            "/write?db=db",
            format!("Token {wrong_token}"),
            "tok v=9 9000",
            401,
            "authorization failed",
        ),
        (
            "/write?db=db",
            format!("Bearer {reader_token}"),
            "tok v=9 9000",
            403,
            forbidden,
        ),
        (
            "/write?db=db",
            format!("Token {reader_token}"),
            "tok v=9 9000",
            403,
            forbidden,
        ),
    ];
    for (target, auth, body, status, error) in &cases {
        let r = write(addr, target, auth, body).await;
        let what = format!("{target} {auth}");
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        if error.is_empty() {
            continue;
        }
        assert_eq!(r.json()["error"], *error, "{what}");
        if *status == 401 {
            assert_eq!(
                r.header("WWW-Authenticate"),
                Some("Basic realm=\"InfluxDB\""),
                "{what}"
            );
        }
    }

    // Non-admins may not manage tokens, whatever their credentials.
    let refusal = |user: &str, stmt: &str| {
        format!(
            "error authorizing query: {user} not authorized to execute statement '{stmt}', requires admin privilege"
        )
    };
    for (auth, user) in [
        (format!("Bearer {writer_token}"), "writer"),
        ("Token writer:w".to_owned(), "writer"),
        (format!("Token {reader_token}"), "reader"),
    ] {
        for stmt in ["CREATE TOKEN FOR writer", "SHOW TOKENS"] {
            let r = query_with(addr, stmt, &auth).await;
            assert_eq!(r.status, 403, "{auth} {stmt}: {}", r.text());
            assert_eq!(r.json()["error"], refusal(user, stmt), "{auth} {stmt}");
        }
    }
    // An admin's token may.
    let (_, admin_token) = create_token(addr, "admin", "ops").await;
    let r = query_with(addr, "SHOW TOKENS", &format!("Bearer {admin_token}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["results"][0]["series"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Dropped: the token no longer authenticates; the other still does.
    query_ok(addr, &format!("DROP TOKEN '{writer_id}'"), ADMIN).await;
    for auth in [format!("Bearer {writer_token}"), format!("Token {writer_token}")] {
        let r = write(addr, "/write?db=db", &auth, "tok v=9 9000").await;
        assert_eq!(r.status, 401, "{auth}: {}", r.text());
        assert_eq!(r.json()["error"], "authorization failed");
    }
    let r = write(
        addr,
        "/write?db=db",
        &format!("Bearer {reader_token}"),
        "tok v=9 9000",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = send(
        addr,
        &Req::post(
            &format!(
                "/query?q={}{ADMIN}",
                url_encode(&format!("DROP TOKEN '{writer_id}'"))
            ),
            "",
        ),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"results": [{"statement_id": 0, "error": "token not found"}]})
    );

    // Exactly what the writer's token wrote is stored.
    let r = send(addr, &Req::get(&format!("/export?db=db{ADMIN}"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut lines: Vec<String> = r.text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "tok,via=bearer v=1 1000",
            "tok,via=token v=2 2000",
            "tok,via=v2 v=3 3000"
        ],
        "{}",
        r.text()
    );
}
