//! Optional TLS for the data service (rustls, through tonic): every node
//! presents a certificate signed by the cluster's CA and checks its peer's,
//! so internal traffic is encrypted and both ends are authenticated on top
//! of the shared secret.

use std::path::Path;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// The TLS settings of one node, for its server and its clients.
#[derive(Debug, Clone)]
pub struct InternalTls {
    pub server: ServerTlsConfig,
    pub client: ClientTlsConfig,
}

fn read(path: &Path, what: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {what} {}: {e}", path.display())))
}

impl InternalTls {
    /// Loads PEM files: this node's certificate chain and key, and the CA
    /// that signed every node's certificate. Peers are verified against
    /// `server_name`, which every node certificate must carry as a DNS name
    /// (nodes are reached by many addresses; one shared name keeps the
    /// check meaningful without listing them all).
    pub fn from_pem_files(
        certificate: &Path,
        private_key: &Path,
        ca_certificate: &Path,
        server_name: &str,
    ) -> std::io::Result<Self> {
        let identity = Identity::from_pem(
            read(certificate, "certificate")?,
            read(private_key, "private key")?,
        );
        let ca = Certificate::from_pem(read(ca_certificate, "CA certificate")?);
        Ok(Self {
            server: ServerTlsConfig::new()
                .identity(identity.clone())
                .client_ca_root(ca.clone()),
            client: ClientTlsConfig::new()
                .ca_certificate(ca)
                .identity(identity)
                .domain_name(server_name),
        })
    }
}
