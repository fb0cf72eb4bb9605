//! Credentials on the write endpoints: every form, influxd's precedence,
//! the failures, privileges, and auth switched off.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::sync::atomic::Ordering;

use client::Req;
use server::TestServer;
use tandem_http::ports::Privilege;

/// `user:pass` in base64, for Basic auth.
fn basic(user_pass: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = user_pass.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

#[tokio::test]
async fn credential_forms_and_precedence() {
    let s = TestServer::with_auth().await;
    s.cluster
        .add_user("writer", "w", false, &[("db", Privilege::Write)]);
    s.cluster
        .add_user("reader", "r", false, &[("db", Privilege::Read)]);
    s.cluster.add_token("tdm_1_secret", "writer");
    let ok = "";
    let unparseable = "unable to parse authentication credentials";
    let failed = "authorization failed";
    let forbidden_reader = "\"reader\" user is not authorized to write to database \"db\"";
    // (query credentials, Authorization header, expected error or "" for 204)
    let cases = [
        ("u=admin&p=admin", None, ok),
        ("u=writer&p=w", None, ok),
        ("u=writer&p=nope", None, failed),
        ("u=ghost&p=x", None, failed),
        ("u=reader&p=r", None, forbidden_reader),
        // u and p must both be set to count.
        ("u=admin", None, unparseable),
        ("u=admin", Some("Bearer tdm_1_secret"), ok),
        // The query string wins over the header.
        ("u=admin&p=admin", Some("Bearer wrong"), ok),
        ("u=admin&p=wrong", Some("Bearer tdm_1_secret"), failed),
        ("", Some("Bearer tdm_1_secret"), ok),
        ("", Some("Bearer tdm_1_wrong"), failed),
        ("", Some("Token writer:w"), ok),
        ("", Some("Token writer:bad"), failed),
        ("", Some("Token tdm_1_secret"), ok),
        // `Token` and `Bearer` are case-sensitive...
        ("", Some("token writer:w"), unparseable),
        ("", Some("BEARER tdm_1_secret"), unparseable),
        // ...`Basic` is not.
        ("", Some(&basic("writer:w")), ok),
        ("", Some(&basic("writer:w").replace("Basic", "basic")), ok),
        ("", Some(&basic("writer:bad")), failed),
        ("", Some(&basic(":w")), "username required"),
        ("", Some("Basic not-base64!"), unparseable),
        ("", Some("Digest x"), unparseable),
        ("", None, unparseable),
    ];
    for (query, header, want) in cases {
        for target in ["/write?db=db", "/api/v2/write?bucket=db"] {
            let mut req = Req::post(&format!("{target}&{query}"), "cpu v=1");
            if let Some(h) = header {
                req = req.header("Authorization", h);
            }
            let r = s.send(&req).await;
            let what = format!("{target} {query:?} {header:?}");
            if want.is_empty() {
                assert_eq!(r.status, 204, "{what}: {}", r.text());
                continue;
            }
            assert_eq!(r.json()["error"], want, "{what}");
            let status = if want == forbidden_reader { 403 } else { 401 };
            assert_eq!(r.status, status, "{what}");
            if status == 401 {
                assert_eq!(
                    r.header("WWW-Authenticate"),
                    Some("Basic realm=\"InfluxDB\""),
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test]
async fn auth_off_ignores_credentials() {
    let s = TestServer::default().await;
    s.cluster.add_user("admin", "admin", true, &[]);
    for header in ["Bearer INFLUX_TOKEN", "Token anything", "Basic !!!", "garbage"] {
        let r = s
            .send(&Req::post("/write?db=db&u=x&p=y", "cpu v=1").header("Authorization", header))
            .await;
        assert_eq!(r.status, 204, "{header}: {}", r.text());
    }
    assert_eq!(s.cluster.authentications.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn realm_is_configurable() {
    let mut opts = server::Options::default();
    opts.http.auth_enabled = true;
    opts.http.realm = "tandem".into();
    let s = TestServer::start(opts).await;
    s.cluster.add_user("admin", "admin", true, &[]);
    let r = s.send(&Req::post("/write?db=db", "cpu v=1")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"tandem\""));
}
