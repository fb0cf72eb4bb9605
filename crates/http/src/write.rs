//! `POST /write` (1.x) and `POST /api/v2/write` (2.x on 1.x): parameters,
//! credentials, body, then the coordinator. Checks run in influxd's order:
//! credentials, database, privilege, then the body.

use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tandem_coordinator::{AckSummary, WriteRequest};
use tandem_lineproto::Precision;
use tandem_model::ConsistencyLevel;

use crate::auth;
use crate::body;
use crate::error::{Api, CONSISTENCY_HEADER, HttpError, consistency_header_value, header_text};
use crate::params::{Params, query_unescape};
use crate::state::HttpState;

/// `POST /write`.
pub async fn write_v1(State(state): State<HttpState>, req: Request) -> Response {
    respond(&state, Api::V1, serve(&state, Api::V1, req).await)
}

/// `POST /api/v2/write`.
pub async fn write_v2(State(state): State<HttpState>, req: Request) -> Response {
    respond(&state, Api::V2, serve(&state, Api::V2, req).await)
}

fn respond(state: &HttpState, api: Api, result: Result<Response, HttpError>) -> Response {
    result.unwrap_or_else(|e| e.into_response(api, state.render_context()))
}

/// Database and retention policy of a 2.x `bucket`: `db`, `db/` or
/// `db/rp`, each part URL-unescaped once more, as influxd does. An empty
/// bucket is influxd's 404.
pub fn parse_bucket(bucket: &str) -> Result<(String, Option<String>), HttpError> {
    if bucket.is_empty() {
        return Err(HttpError::Bucket(format!(
            "bucket name {bucket:?} is missing a slash; not in \"database/retention-policy\" format"
        )));
    }
    let unescape = |s: &str| {
        query_unescape(s)
            .map(|c| c.into_owned())
            .map_err(HttpError::Bucket)
    };
    Ok(match bucket.find('/') {
        None => (bucket.to_owned(), None),
        Some(i) if i + 1 == bucket.len() => (unescape(&bucket[..i])?, None),
        Some(i) => {
            let rp = unescape(&bucket[i + 1..])?;
            (unescape(&bucket[..i])?, Some(rp).filter(|r| !r.is_empty()))
        }
    })
}

fn consistency(params: &Params) -> Result<ConsistencyLevel, HttpError> {
    match params.get("consistency") {
        "" => Ok(ConsistencyLevel::One),
        s => s.parse().map_err(|_| HttpError::Consistency),
    }
}

fn with_acks(mut resp: Response, acks: Option<AckSummary>) -> Response {
    if let Some(a) = acks {
        resp.headers_mut().insert(
            HeaderName::from_static(CONSISTENCY_HEADER),
            header_text(consistency_header_value(&a).as_bytes()),
        );
    }
    resp
}

async fn serve(state: &HttpState, api: Api, req: Request) -> Result<Response, HttpError> {
    let params = Params::from_uri(req.uri());
    let (parts, body) = req.into_parts();
    let who = auth::authenticate(state, &params, &parts.headers).await?;

    let (db, rp, v2_precision) = match api {
        Api::V1 => {
            let db = params.get("db");
            if db.is_empty() {
                return Err(HttpError::DatabaseRequired);
            }
            let rp = Some(params.get("rp")).filter(|r| !r.is_empty());
            (db.to_owned(), rp.map(str::to_owned), None)
        }
        Api::V2 => {
            // influxd checks a 2.x precision before the bucket.
            let precision = Precision::parse_v2(params.get("precision"))?;
            let (db, rp) = parse_bucket(params.get("bucket"))?;
            if db.is_empty() {
                return Err(HttpError::DatabaseRequired);
            }
            (db, rp, Some(precision))
        }
    };
    if !state.admin().database_exists(&db).await? {
        return Err(HttpError::DatabaseNotFound(db));
    }
    auth::authorize_write(state, who.as_ref(), &db)?;
    let precision = match v2_precision {
        Some(p) => p,
        None => Precision::parse_v1(params.get("precision"))?,
    };
    let consistency = consistency(&params)?;

    let max = state.config().max_body_size;
    let encoding = body::encoding(&parts.headers)?;
    let content_length = body::check_content_length(&parts.headers, max)?;
    let read = body::read(body, encoding, max, content_length).await?;
    let metrics = state.metrics();
    metrics.body_read(read.wire_bytes, read.bytes.len() as u64);

    let report = state
        .coordinator()
        .write(WriteRequest {
            db: &db,
            rp: rp.as_deref(),
            precision,
            consistency,
            body: &read.bytes,
            allow_unsigned: api == Api::V2,
        })
        .await?;
    let dropped = report.partial.as_ref().map_or(0, |p| p.dropped);
    metrics.points(report.points_written as u64, dropped as u64);
    Ok(match report.partial {
        // influxd's response writer labels even an empty 204 as JSON.
        None => with_acks(
            (
                StatusCode::NO_CONTENT,
                [(header::CONTENT_TYPE, "application/json")],
            )
                .into_response(),
            report.acks,
        ),
        // The valid points were stored; influxd still answers 400.
        Some(p) => HttpError::PartialWrite(p, report.acks).into_response(api, state.render_context()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_like_influxd() {
        let ok = |db: &str, rp: Option<&str>| Ok((db.to_owned(), rp.map(str::to_owned)));
        let cases = [
            ("db", ok("db", None)),
            ("db/", ok("db", None)),
            ("db/rp", ok("db", Some("rp"))),
            ("db/rp/x", ok("db", Some("rp/x"))),
            ("my%20db/r%2Fp", ok("my db", Some("r/p"))),
            ("/rp", ok("", Some("rp"))),
            (
                "",
                Err(HttpError::Bucket(
                    "bucket name \"\" is missing a slash; not in \"database/retention-policy\" format".into(),
                )),
            ),
            (
                "db/%zz",
                Err(HttpError::Bucket("invalid URL escape \"%zz\"".into())),
            ),
        ];
        for (bucket, want) in cases {
            assert_eq!(parse_bucket(bucket), want, "{bucket}");
        }
    }
}
