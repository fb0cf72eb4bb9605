//! One process-wide shutdown signal: SIGTERM or Ctrl-C flips it once, and
//! every role waits on a clone.

use tokio::sync::watch;

/// Resolves when the process should stop. Cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Installs the signal handlers.
    pub fn install() -> anyhow::Result<Shutdown> {
        let (tx, rx) = watch::channel(false);
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            #[cfg(unix)]
            let terminated = term.recv();
            #[cfg(not(unix))]
            let terminated = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
                _ = terminated => tracing::info!("terminated; shutting down"),
            }
            let _ = tx.send(true);
        });
        Ok(Shutdown { rx })
    }

    /// Completes once shutdown was requested.
    pub async fn wait(mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await.map(|_| ());
    }
}
