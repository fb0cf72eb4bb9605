//! The listener: HTTP/1.1 (optionally over rustls) with Go-style
//! title-case header names, a header-read timeout, and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::config::HttpConfig;
use crate::state::HttpState;

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    config: HttpConfig,
}

fn invalid(path: &Path, what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} {}: {e}", path.display()),
    )
}

/// The rustls acceptor for `https_certificate` / `https_private_key`.
pub fn tls_acceptor(config: &HttpConfig) -> io::Result<TlsAcceptor> {
    let cert_path = config.https_certificate.as_path();
    let key_path = if config.https_private_key.as_os_str().is_empty() {
        cert_path
    } else {
        config.https_private_key.as_path()
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| invalid(cert_path, "cannot read certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_path, "cannot read certificate", e))?;
    if certs.is_empty() {
        return Err(invalid(cert_path, "no certificate in", "empty"));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| invalid(key_path, "cannot read private key", e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(cert_path, "unusable certificate or key", e))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(tls)))
}

impl Server {
    /// Binds `config.bind_address` (and loads the TLS material when
    /// `https_enabled`), so errors surface before the node reports ready.
    pub async fn bind(config: &HttpConfig) -> io::Result<Self> {
        let tls = if config.https_enabled {
            Some(tls_acceptor(config)?)
        } else {
            None
        };
        let addr = config.bind_socket_address();
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        Ok(Self {
            listener,
            tls,
            config: config.clone(),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `router` until `shutdown` resolves, then lets open requests
    /// finish for up to `shutdown_timeout`.
    pub async fn run(self, router: Router, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
        let mut builder = http1::Builder::new();
        builder
            .title_case_headers(true)
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout);
        let graceful = GracefulShutdown::new();
        let handshake_timeout = self.config.header_read_timeout;
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                let served = match tls {
                    None => {
                        watcher
                            .watch(builder.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    Some(acceptor) => {
                        let Some(tls_stream) = handshake(&acceptor, stream, handshake_timeout, peer).await
                        else {
                            return;
                        };
                        watcher
                            .watch(builder.serve_connection(TokioIo::new(tls_stream), service))
                            .await
                    }
                };
                if let Err(e) = served {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(self.config.shutdown_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("HTTP connections still open after the shutdown timeout");
        }
        Ok(())
    }
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    limit: std::time::Duration,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(%peer, "TLS handshake failed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Binds `state.config().bind_address` and serves the API until `shutdown`
/// resolves.
pub async fn serve(state: HttpState, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
    let server = Server::bind(state.config()).await?;
    tracing::info!(
        addr = %server.local_addr()?,
        https = state.config().https_enabled,
        "HTTP API listening"
    );
    server.run(crate::router(state), shutdown).await
}
