//! HTTPS through rustls: a write and a ping over TLS with the fixture
//! certificate, the combined-PEM form, and clear errors for bad material.

#[path = "support/client.rs"]
mod client;
#[path = "support/fakes.rs"]
mod fakes;
#[path = "support/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::Arc;

use client::{Req, send_on};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use server::{Options, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn connector() -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixture("cert.pem")).unwrap())
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn https(s: &TestServer, req: &Req) -> client::Resp {
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector().connect(name, tcp).await.expect("TLS handshake");
    send_on(tls, "localhost", req).await
}

#[tokio::test]
async fn writes_over_https() {
    let mut opts = Options::default();
    opts.http.https_enabled = true;
    opts.http.https_certificate = fixture("cert.pem");
    opts.http.https_private_key = fixture("key.pem");
    let s = TestServer::start(opts).await;
    let r = https(&s, &Req::post("/write?db=db", "tls v=1 1")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = https(&s, &Req::get("/ping?verbose=true")).await;
    assert_eq!(r.status, 200);
    // Plain HTTP on the HTTPS port gets no HTTP answer (a TLS alert).
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut raw)).await;
    assert!(!raw.starts_with(b"HTTP/"), "plain HTTP was served: {raw:?}");
    s.settle().await;
    assert!(s.transport.stored(1).iter().any(|p| p.0 == "tls"));
}

#[tokio::test]
async fn certificate_and_key_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both.pem");
    let mut pem = std::fs::read(fixture("cert.pem")).unwrap();
    pem.extend(std::fs::read(fixture("key.pem")).unwrap());
    std::fs::write(&both, pem).unwrap();
    let mut opts = Options::default();
    opts.http.https_enabled = true;
    opts.http.https_certificate = both;
    let s = TestServer::start(opts).await;
    let r = https(&s, &Req::get("/ping")).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn bad_tls_material_fails_at_bind() {
    let missing = fixture("missing.pem");
    let cases = [
        (missing.clone(), PathBuf::new(), "cannot read certificate"),
        (fixture("key.pem"), fixture("key.pem"), "no certificate in"),
        (
            fixture("cert.pem"),
            fixture("cert.pem"),
            "cannot read private key",
        ),
    ];
    for (cert, key, want) in cases {
        let config = tandem_http::HttpConfig {
            bind_address: "127.0.0.1:0".into(),
            https_enabled: true,
            https_certificate: cert.clone(),
            https_private_key: key,
            ..Default::default()
        };
        let err = match tandem_http::Server::bind(&config).await {
            Ok(_) => panic!("{} should not load", cert.display()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
}
