//! `tandemd meta`: a meta node (raft on `[meta] raft_bind`, the meta API on
//! `[meta] api_bind`). The all-in-one mode starts the same server in
//! process through [`start`].

use tandem_meta::MetaServer;

use crate::config::Config;
use crate::shutdown::Shutdown;

/// Starts the meta server of this process; returns once it listens.
pub async fn start(config: &Config) -> anyhow::Result<MetaServer> {
    Ok(MetaServer::start(config.meta_server()?).await?)
}

/// Runs a meta node until shutdown.
pub async fn run(config: &Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let server = start(config).await?;
    tracing::info!(
        node = config.node.id,
        raft = %server.raft_addr(),
        api = %server.api_addr(),
        "meta role running"
    );
    shutdown.wait().await;
    server.shutdown().await?;
    Ok(())
}
