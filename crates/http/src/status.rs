//! `/ping`, `/health`, `/metrics` and `/debug/vars`.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::params::Params;
use crate::ports::{Health, StatValue, Statistic};
use crate::state::HttpState;

const JSON: &str = "application/json";

/// `GET|HEAD /ping`: 204, or 200 with the version when `verbose` is set to
/// anything but "", "0" or "false" (influxd's test).
pub async fn ping(State(state): State<HttpState>, req: Request) -> Response {
    let params = Params::from_uri(req.uri());
    let verbose = params.get("verbose");
    if verbose.is_empty() || verbose == "0" || verbose == "false" {
        // influxd's response writer labels even an empty 204 as JSON.
        return (StatusCode::NO_CONTENT, [(header::CONTENT_TYPE, JSON)]).into_response();
    }
    let body = json!({ "version": state.config().version }).to_string();
    (StatusCode::OK, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

/// `GET /health`: influxd's body (keys sorted as Go marshals a map), 200
/// when the node can take writes, 503 otherwise.
pub async fn health(State(state): State<HttpState>) -> Response {
    let (status, code, message) = match state.status().health().await {
        Health::Pass => ("pass", StatusCode::OK, "ready for queries and writes".to_owned()),
        Health::Fail(why) => ("fail", StatusCode::SERVICE_UNAVAILABLE, why),
    };
    let body = json!({
        "checks": [],
        "message": message,
        "name": "influxdb",
        "status": status,
        "version": state.config().version,
    })
    .to_string();
    (code, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(state): State<HttpState>) -> Response {
    let mut out = String::new();
    let coordinator = state.coordinator();
    state.metrics().render(
        &mut out,
        &coordinator.stats().snapshot(),
        coordinator.writes_in_flight(),
    );
    state.status().render_metrics(&mut out);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response()
}

fn stat_json(s: &Statistic) -> Value {
    let values: Map<String, Value> = s
        .values
        .iter()
        .map(|(k, v)| {
            let v = match v {
                StatValue::Int(i) => json!(i),
                StatValue::Float(f) => json!(f),
                StatValue::Str(t) => json!(t),
                StatValue::Bool(b) => json!(b),
            };
            (k.clone(), v)
        })
        .collect();
    json!({ "name": s.name, "tags": s.tags, "values": values })
}

/// influxd's key of a statistic: the name, then its tag values.
fn stat_key(s: &Statistic) -> String {
    let mut key = s.name.clone();
    for v in s.tags.values() {
        key.push(':');
        key.push_str(v);
    }
    key
}

/// `GET /debug/vars`: expvar-style JSON with Enterprise's `write` section
/// (`pointReq`, `pointReqLocal`, `pointReqRemote`, `pointReqHH`, `writeOk`,
/// `writePartial`, `writeTimeout`, `writeError`, plus `writeDrop`), the
/// `httpd` section, and the sections of the [`Status`](crate::ports::Status) port.
pub async fn debug_vars(State(state): State<HttpState>) -> Response {
    let mut root = Map::new();
    root.insert(
        "system".into(),
        json!({ "uptime": state.started().elapsed().as_secs() }),
    );
    root.insert("cmdline".into(), json!(std::env::args().collect::<Vec<_>>()));

    let write = serde_json::to_value(state.coordinator().stats().snapshot()).unwrap_or(Value::Null);
    root.insert(
        "write".into(),
        json!({ "name": "write", "tags": {}, "values": write }),
    );

    let bind = state.config().bind_address.clone();
    let httpd = Statistic {
        name: "httpd".into(),
        tags: BTreeMap::from([("bind".to_owned(), bind)]),
        values: state
            .metrics()
            .httpd_values()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), StatValue::Int(v)))
            .collect(),
    };
    root.insert(stat_key(&httpd), stat_json(&httpd));
    for s in state.status().statistics() {
        root.insert(stat_key(&s), stat_json(&s));
    }
    let body = serde_json::to_vec(&Value::Object(root)).unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}
