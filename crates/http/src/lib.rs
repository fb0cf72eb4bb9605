//! The InfluxDB HTTP API of tandem, compatible with InfluxDB Enterprise 1.x
//! clients: `POST /write`, `POST /api/v2/write`, `GET|POST /query` (the
//! DDL and user statements), `GET|HEAD /ping`, `GET /health`,
//! `GET /metrics`, `GET /debug/vars` and `GET /export`.
//!
//! This is the only crate that knows HTTP and JSON. It writes through a
//! [`tandem_coordinator::Coordinator`] and reaches everything else through
//! the traits in [`ports`]: [`ports::Admin`] (DDL, users), [`ports::Auth`]
//! (credentials), [`ports::Exporter`] (`/export`) and [`ports::Status`]
//! (health, extra metrics).
//!
//! Every error response is produced by one function,
//! [`error::HttpError::reply`], rendered by [`error::render`] as a 1.x body
//! (`{"error":..}` + `X-Influxdb-Error`) or a 2.x body
//! (`{"code":..,"message":..,"error":..}`); `docs/HTTP-ERRORS.md` lists
//! every case and is checked against that function by a test.
//!
//! Wiring (in the binary):
//!
//! ```text
//! let ports = Ports { admin, auth, exporter, status };
//! let state = HttpState::new(config.http.clone(), coordinator.clone(), ports);
//! tokio::spawn(tandem_http::serve(state, shutdown_signal));
//! ```
//!
//! or, to learn the bound port first, [`Server::bind`] then
//! [`Server::run`] with [`router`].

pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod export;
pub mod metrics;
mod middleware;
pub mod params;
pub mod ports;
pub mod query;
mod rfc3339;
mod serve;
mod state;
pub mod status;
pub mod write;

use axum::Router;
use axum::routing::{get, post};

pub use config::HttpConfig;
pub use error::{Api, HttpError};
pub use middleware::time_uuid;
pub use serve::{Server, serve, tls_acceptor};
pub use state::{HttpState, Ports};

/// The API's routes over `state`, with the common middleware (identity
/// headers, request id, tracing span, metrics, CORS) on every route and on
/// the 404 and 405 answers. `OPTIONS` (CORS pre-flight) on `/write`,
/// `/api/v2/write` and `/query` answers an empty 200, with influxd's
/// `Access-Control-Allow-*` headers when the request has an `Origin`.
pub fn router(state: HttpState) -> Router {
    use middleware::options;
    Router::new()
        .route("/write", post(write::write_v1).options(options))
        .route("/api/v2/write", post(write::write_v2).options(options))
        .route("/query", get(query::query).post(query::query).options(options))
        .route("/ping", get(status::ping))
        .route("/health", get(status::health))
        .route("/metrics", get(status::metrics))
        .route("/debug/vars", get(status::debug_vars))
        .route("/export", get(export::export))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::common,
        ))
        .with_state(state)
}
