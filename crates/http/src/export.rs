//! `GET /export?db=&rp=&start=&end=&scope=local|cluster`: stored points as
//! line protocol, streamed from the [`Exporter`](crate::ports::Exporter)
//! port in chunked transfer encoding.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::auth;
use crate::error::{Api, HttpError};
use crate::params::Params;
use crate::ports::{ExportRequest, ExportScope, Principal};
use crate::state::HttpState;

/// `GET /export`.
pub async fn export(State(state): State<HttpState>, req: Request) -> Response {
    match serve(&state, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(Api::V1, state.render_context()),
    }
}

/// A time bound: ns since the epoch or an RFC 3339 date-time; empty means
/// `default`.
fn bound(params: &Params, name: &str, default: i64) -> Result<i64, HttpError> {
    match params.get(name) {
        "" => Ok(default),
        s => s
            .parse()
            .ok()
            .or_else(|| crate::rfc3339::parse_ns(s))
            .ok_or_else(|| {
                HttpError::InvalidParameter(format!(
                    "invalid {name} {s:?} (use RFC3339 or nanoseconds since the epoch)"
                ))
            }),
    }
}

/// Parses the export parameters (after authentication).
pub fn export_request(params: &Params) -> Result<ExportRequest, HttpError> {
    let db = params.get("db");
    if db.is_empty() {
        return Err(HttpError::DatabaseRequired);
    }
    let scope = match params.get("scope") {
        // Merged across owners by default: that is what a user asking "what
        // does the cluster hold" means; `local` is for operators and tests.
        "" | "cluster" => ExportScope::Cluster,
        "local" => ExportScope::Local,
        s => {
            return Err(HttpError::InvalidParameter(format!(
                "invalid scope {s:?} (use local or cluster)"
            )));
        }
    };
    Ok(ExportRequest {
        db: db.to_owned(),
        rp: Some(params.get("rp"))
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        start_ns: bound(params, "start", i64::MIN)?,
        end_ns: bound(params, "end", i64::MAX)?,
        scope,
    })
}

fn authorize_read(state: &HttpState, who: Option<&Principal>, db: &str) -> Result<(), HttpError> {
    if !state.config().auth_enabled {
        return Ok(());
    }
    match who {
        None => Err(HttpError::ReadUserRequired(db.to_owned())),
        Some(p) if p.can_read(db) => Ok(()),
        Some(p) => Err(HttpError::ReadForbidden {
            user: p.name.clone(),
            db: db.to_owned(),
        }),
    }
}

async fn serve(state: &HttpState, req: Request) -> Result<Response, HttpError> {
    let params = Params::from_uri(req.uri());
    let who = auth::authenticate(state, &params, req.headers()).await?;
    let request = export_request(&params)?;
    if !state.admin().database_exists(&request.db).await? {
        return Err(HttpError::DatabaseNotFound(request.db));
    }
    authorize_read(state, who.as_ref(), &request.db)?;
    let mut stream = state.exporter().export(request).await?;
    // Until the first chunk arrives nothing is committed, so a failure
    // there (every owner of the first shard unreachable) is a real error
    // status. Once streaming has started an error can only cut the
    // response short: the client sees a chunked body without its
    // terminating chunk.
    let first = match stream.next().await {
        Some(Err(e)) => return Err(HttpError::Port(e)),
        first => first,
    };
    let body = Body::from_stream(futures::stream::iter(first).chain(stream).map(|chunk| {
        chunk.map_err(|e| {
            tracing::warn!("export failed mid-stream: {e}");
            std::io::Error::other(e.to_string())
        })
    }));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters() {
        let p = |q: &str| export_request(&Params::parse(q.as_bytes()));
        assert_eq!(p(""), Err(HttpError::DatabaseRequired));
        assert_eq!(
            p("db=d&rp=r&start=5&end=10&scope=cluster"),
            Ok(ExportRequest {
                db: "d".into(),
                rp: Some("r".into()),
                start_ns: 5,
                end_ns: 10,
                scope: ExportScope::Cluster,
            })
        );
        assert_eq!(
            p("db=d"),
            Ok(ExportRequest {
                db: "d".into(),
                rp: None,
                start_ns: i64::MIN,
                end_ns: i64::MAX,
                scope: ExportScope::Cluster,
            })
        );
        assert_eq!(
            p("db=d&scope=all"),
            Err(HttpError::InvalidParameter(
                "invalid scope \"all\" (use local or cluster)".into()
            ))
        );
        assert_eq!(
            p("db=d&start=yesterday"),
            Err(HttpError::InvalidParameter(
                "invalid start \"yesterday\" (use RFC3339 or nanoseconds since the epoch)".into()
            ))
        );
        let r = p("db=d&start=2024-01-01T00:00:00Z&end=2024-01-01T00:00:01.5%2B00:00&scope=local").unwrap();
        assert_eq!(
            (r.start_ns, r.end_ns, r.scope),
            (
                1_704_067_200_000_000_000,
                1_704_067_201_500_000_000,
                ExportScope::Local
            )
        );
    }
}
