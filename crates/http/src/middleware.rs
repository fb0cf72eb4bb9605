//! What every request gets: the InfluxDB identification headers, a request
//! id, a tracing span carrying `Zap-Trace-Span`, and the request metrics;
//! influxd's CORS headers when the request has an `Origin`; Go's reason
//! phrase on 413. Also the answers to unknown paths (404) and to known
//! paths with a wrong method (405), as Go's mux gives them.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::ext::ReasonPhrase;
use tracing::Instrument;

use crate::error::header_text;
use crate::metrics::{Endpoint, consistency_label};
use crate::params::Params;
use crate::state::HttpState;

static LAST_UUID_TIME: AtomicU64 = AtomicU64::new(0);

/// 100 ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

fn node_bits() -> (u64, u16) {
    static NODE: OnceLock<(u64, u16)> = OnceLock::new();
    *NODE.get_or_init(|| {
        let r = RandomState::new().hash_one(std::process::id());
        // The multicast bit marks a node id that is not a MAC address.
        ((r & 0xffff_ffff_ffff) | 0x0100_0000_0000, (r >> 48) as u16)
    })
}

/// A version-1 (time-based) UUID, as influxd generates request ids.
pub fn time_uuid() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_nanos() / 100) as u64)
        + UUID_EPOCH_OFFSET;
    let mut last = LAST_UUID_TIME.load(Ordering::Relaxed);
    let t = loop {
        let next = now.max(last + 1);
        match LAST_UUID_TIME.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    let (node, clock_seq) = node_bits();
    let time_low = t as u32;
    let time_mid = (t >> 32) as u16;
    let time_hi = ((t >> 48) as u16 & 0x0fff) | 0x1000;
    let seq = (clock_seq & 0x3fff) | 0x8000;
    format!("{time_low:08x}-{time_mid:04x}-{time_hi:04x}-{seq:04x}-{node:012x}")
}

/// Wraps every route.
pub async fn common(State(state): State<HttpState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    let endpoint = Endpoint::from_path(&path);
    let consistency = if endpoint.is_write() {
        consistency_label(Params::from_uri(req.uri()).get("consistency"))
    } else {
        ""
    };
    let headers = req.headers();
    // influxd's `cors` wrapper is part of every route, not of the mux's
    // 404 and 405 answers.
    let origin = headers
        .get(header::ORIGIN)
        .filter(|o| !o.is_empty() && endpoint != Endpoint::Other)
        .cloned();
    let request_id = [
        HeaderName::from_static("x-request-id"),
        HeaderName::from_static("request-id"),
    ]
    .iter()
    .find_map(|h| headers.get(h).filter(|v| !v.is_empty()).cloned())
    .unwrap_or_else(|| header_text(time_uuid().as_bytes()));
    let trace = headers
        .get("zap-trace-span")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http",
        method = %req.method(),
        path = %path,
        request_id = %String::from_utf8_lossy(request_id.as_bytes()),
        zap_trace_span = %trace,
    );

    let metrics = state.metrics();
    metrics.request_started();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status();
    let took = started.elapsed();
    metrics.request_finished(endpoint, status.as_u16(), consistency, took);
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            micros = took.as_micros() as u64,
            "served"
        );
    });

    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // RFC 9110 renamed 413; influxd's clients see Go's older name.
        resp.extensions_mut()
            .insert(ReasonPhrase::from_static(b"Request Entity Too Large"));
    }
    let config = state.config();
    let h = resp.headers_mut();
    h.insert("x-influxdb-version", header_text(config.version.as_bytes()));
    h.insert("x-influxdb-build", header_text(config.build.as_bytes()));
    h.insert("request-id", request_id.clone());
    h.insert("x-request-id", request_id);
    if let Some(origin) = origin
        && status != StatusCode::METHOD_NOT_ALLOWED
    {
        add_cors_headers(h, origin);
    }
    resp
}

/// influxd 1.x's CORS answer: the request's origin, and fixed lists of
/// methods, request headers and exposed headers.
fn add_cors_headers(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("DELETE, GET, OPTIONS, POST, PUT"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, X-CSRF-Token, X-HTTP-Method-Override",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Date, X-InfluxDB-Version, X-InfluxDB-Build"),
    );
}

/// CORS pre-flight (`OPTIONS`) of the write and query endpoints: an empty
/// 200, as from influxd; [`common`] adds the CORS headers when the request
/// has an `Origin`.
pub async fn options() -> StatusCode {
    StatusCode::OK
}

/// A plain-text answer as Go's `http.Error` writes it.
fn go_text_error(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        text,
    )
        .into_response()
}

/// Known path, wrong method: Go's `Method Not Allowed` (the router adds
/// `Allow`).
pub async fn method_not_allowed() -> Response {
    go_text_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n")
}

/// Unknown paths: Go's `404 page not found`.
pub async fn not_found() -> Response {
    go_text_error(StatusCode::NOT_FOUND, "404 page not found\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_1_and_unique() {
        let a = time_uuid();
        let b = time_uuid();
        assert_ne!(a, b);
        for u in [&a, &b] {
            assert_eq!(u.len(), 36, "{u}");
            assert_eq!(&u[14..15], "1", "{u}");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        }
    }
}
