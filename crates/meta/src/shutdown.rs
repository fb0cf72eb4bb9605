//! The one shutdown signal of a meta server or client: a `watch` channel
//! that turns `true` once.

use tokio::sync::watch;

/// Completes once shutdown was requested (or the sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here so callers can
    // use this in `select!` next to other awaits.
    let _ = rx.wait_for(|stop| *stop).await.map(|_| ());
}
