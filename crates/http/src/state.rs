use std::sync::Arc;
use std::time::Instant;

use tandem_coordinator::Coordinator;

use crate::config::HttpConfig;
use crate::error::RenderContext;
use crate::metrics::Metrics;
use crate::ports::{Admin, Auth, Exporter, Status};

/// The ports the HTTP API is built on, as the binary provides them.
#[derive(Clone)]
pub struct Ports {
    pub admin: Arc<dyn Admin>,
    pub auth: Arc<dyn Auth>,
    pub exporter: Arc<dyn Exporter>,
    pub status: Arc<dyn Status>,
}

struct Inner {
    config: HttpConfig,
    coordinator: Coordinator,
    ports: Ports,
    metrics: Metrics,
    render: RenderContext,
    started: Instant,
}

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct HttpState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HttpState {
    pub fn new(config: HttpConfig, coordinator: Coordinator, ports: Ports) -> Self {
        let render = RenderContext {
            realm: config.realm.clone(),
            retry_after_secs: config.retry_after_secs(),
        };
        Self {
            inner: Arc::new(Inner {
                config,
                coordinator,
                ports,
                metrics: Metrics::default(),
                render,
                started: Instant::now(),
            }),
        }
    }

    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    pub fn coordinator(&self) -> &Coordinator {
        &self.inner.coordinator
    }

    pub fn admin(&self) -> &dyn Admin {
        self.inner.ports.admin.as_ref()
    }

    pub fn auth(&self) -> &dyn Auth {
        self.inner.ports.auth.as_ref()
    }

    pub fn exporter(&self) -> &dyn Exporter {
        self.inner.ports.exporter.as_ref()
    }

    pub fn status(&self) -> &dyn Status {
        self.inner.ports.status.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn render_context(&self) -> &RenderContext {
        &self.inner.render
    }

    /// When this state was built (the server's start, for `/debug/vars`).
    pub fn started(&self) -> Instant {
        self.inner.started
    }
}
