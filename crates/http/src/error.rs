//! The one error type of the crate and the one function that maps it to
//! HTTP: [`HttpError::reply`] decides status, message, 2.x code and extra
//! headers; [`render`] turns that into bytes for a 1.x or 2.x client.
//! `docs/HTTP-ERRORS.md` is generated from these two (see
//! `error/catalog.rs`), and a test fails when they disagree.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tandem_coordinator::ports::MetaError;
use tandem_coordinator::{AckSummary, PartialWrite, ShortfallKind, WriteError};
use tandem_lineproto::InvalidPrecision;

use crate::ports::{AuthError, PortError};

#[cfg(test)]
mod catalog;

/// Which error-body dialect an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `{"error":"<msg>"}` (`/write`, `/query`, `/export`).
    V1,
    /// `{"code":..,"message":..,"error":..}` (`/api/v2/write`).
    V2,
}

/// Everything a request can fail with. `Display` is the message clients get
/// (the 1.x text; [`HttpError::reply`] adapts the few that differ in 2.x).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    // ---- request parameters ----
    /// `/write` without `db` (or a v2 bucket `/rp`).
    #[error("database is required")]
    DatabaseRequired,
    /// A v2 `bucket` that names no database; the text is influxd's.
    #[error("{0}")]
    Bucket(String),
    #[error(transparent)]
    Precision(#[from] InvalidPrecision),
    #[error("invalid consistency level")]
    Consistency,
    /// Any other bad query parameter (`/export`'s `start`, `scope`, ...).
    #[error("{0}")]
    InvalidParameter(String),

    // ---- body ----
    #[error("unsupported Content-Encoding {0:?} (use identity, gzip or x-gzip)")]
    UnsupportedEncoding(String),
    /// Bad gzip, or the connection failed while reading.
    #[error("{0}")]
    BadBody(String),
    /// `Content-Length` or the decompressed body exceeds `max_body_size`.
    #[error("Request Entity Too Large")]
    BodyTooLarge { max: u64 },

    // ---- authentication and authorization ----
    #[error("unable to parse authentication credentials")]
    NoCredentials,
    #[error("username required")]
    UsernameRequired,
    #[error("authorization failed")]
    AuthenticationFailed,
    /// Auth is on but no admin user exists yet, so nobody is logged in.
    #[error("user is required to write to database {0:?}")]
    UserRequired(String),
    #[error("{user:?} user is not authorized to write to database {db:?}")]
    WriteForbidden { user: String, db: String },
    /// Auth is on but no admin user exists yet (`/export`).
    #[error("user is required to read from database {0:?}")]
    ReadUserRequired(String),
    #[error("{user:?} user is not authorized to read from database {db:?}")]
    ReadForbidden { user: String, db: String },
    #[error("error authorizing query: {0}")]
    QueryForbidden(String),

    // ---- metadata and cluster ----
    /// Checked before the body is read, as influxd does.
    #[error("database not found: {0:?}")]
    DatabaseNotFound(String),
    /// A port (meta service, credential store, exporter) failed.
    #[error("{0}")]
    Port(PortError),
    /// The coordinator refused or failed the write.
    #[error("{0}")]
    Write(WriteError),
    /// The write was served but some points were not stored; the acks of
    /// the points that were.
    #[error("{0}")]
    PartialWrite(PartialWrite, Option<AckSummary>),

    // ---- /query ----
    #[error("missing required parameter \"q\"")]
    MissingQuery,
    #[error("error parsing query: {0}")]
    QueryParse(String),
    /// A statement tandem does not execute (`SELECT`, `SHOW MEASUREMENTS`, ...).
    #[error("{0} is not supported: tandem is a write cluster")]
    Unsupported(String),
}

impl From<AuthError> for HttpError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Failed => HttpError::AuthenticationFailed,
            AuthError::Unavailable(m) => HttpError::Port(PortError::Unavailable(m)),
        }
    }
}

impl From<PortError> for HttpError {
    fn from(e: PortError) -> Self {
        HttpError::Port(e)
    }
}

impl From<WriteError> for HttpError {
    fn from(e: WriteError) -> Self {
        HttpError::Write(e)
    }
}

/// The HTTP reading of an error: what [`render`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub status: StatusCode,
    pub message: String,
    /// The 2.x `code`.
    pub code: &'static str,
    /// Send `Retry-After` (every 503 does).
    pub retry_after: bool,
    /// 1-based number of the first line that failed to parse (2.x `line`).
    pub line: Option<usize>,
    /// The body limit, for the 2.x 413 body's `maxLength`.
    pub max_length: Option<u64>,
    /// Acks when a shard missed its consistency level (`X-Tandem-Consistency`).
    pub acks: Option<AckSummary>,
}

/// The 2.x code of a status, as influxd 2.x pairs them. 413 says `invalid`
/// because the 2.x write API's length error (`LineProtocolLengthError`) does.
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "invalid",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        503 => "unavailable",
        _ => "internal error",
    }
}

impl HttpError {
    /// THE mapping from errors to HTTP: status, message and everything that
    /// goes with them. Every response with an error goes through here.
    pub fn reply(&self, api: Api) -> ErrorReply {
        use StatusCode as S;
        let mut line = None;
        let mut acks = None;
        let mut max_length = None;
        let mut message = self.to_string();
        let status = match self {
            HttpError::DatabaseRequired
            | HttpError::Precision(_)
            | HttpError::Consistency
            | HttpError::InvalidParameter(_)
            | HttpError::UnsupportedEncoding(_)
            | HttpError::BadBody(_)
            | HttpError::MissingQuery
            | HttpError::QueryParse(_)
            | HttpError::Unsupported(_) => S::BAD_REQUEST,
            HttpError::Bucket(_) | HttpError::DatabaseNotFound(_) => S::NOT_FOUND,
            HttpError::BodyTooLarge { max } => {
                if api == Api::V2 {
                    message = format!("request body exceeds max body size {max} bytes");
                    max_length = Some(*max);
                }
                S::PAYLOAD_TOO_LARGE
            }
            HttpError::NoCredentials | HttpError::UsernameRequired | HttpError::AuthenticationFailed => {
                S::UNAUTHORIZED
            }
            HttpError::UserRequired(_)
            | HttpError::ReadUserRequired(_)
            | HttpError::WriteForbidden { .. }
            | HttpError::ReadForbidden { .. }
            | HttpError::QueryForbidden(_) => S::FORBIDDEN,
            HttpError::Port(e) => match e {
                PortError::Rejected(_) => S::BAD_REQUEST,
                PortError::DatabaseNotFound(_) | PortError::RetentionPolicyNotFound(_) => S::NOT_FOUND,
                PortError::Unavailable(_) => S::SERVICE_UNAVAILABLE,
                PortError::Internal(_) => S::INTERNAL_SERVER_ERROR,
            },
            HttpError::PartialWrite(p, written) => {
                line = p.first_bad_line;
                acks = *written;
                S::BAD_REQUEST
            }
            HttpError::Write(e) => match e {
                WriteError::Parse { first_line, .. } => {
                    line = Some(*first_line);
                    S::BAD_REQUEST
                }
                WriteError::Meta(MetaError::DatabaseNotFound(_)) => S::NOT_FOUND,
                WriteError::Meta(MetaError::RetentionPolicyNotFound(_)) => S::INTERNAL_SERVER_ERROR,
                WriteError::Meta(MetaError::Unavailable(_)) => S::SERVICE_UNAVAILABLE,
                WriteError::Consistency(f) => {
                    acks = Some(AckSummary {
                        level: f.level,
                        acked: f.acked,
                        required: f.required,
                        owners: f.owners.len(),
                    });
                    match f.kind {
                        ShortfallKind::Overloaded => S::SERVICE_UNAVAILABLE,
                        ShortfallKind::Partial | ShortfallKind::Failed | ShortfallKind::Timeout => {
                            S::INTERNAL_SERVER_ERROR
                        }
                    }
                }
                // Data errors of an owner (field type conflict, its own
                // partial write, a shard deleted under the write) are the
                // client's: influxd answers 400.
                WriteError::Rejected(_) => S::BAD_REQUEST,
                WriteError::Overloaded(_) | WriteError::ShuttingDown => S::SERVICE_UNAVAILABLE,
                WriteError::Internal(_) => S::INTERNAL_SERVER_ERROR,
            },
        };
        if api == Api::V1 {
            line = None;
        }
        ErrorReply {
            status,
            code: code_for(status),
            retry_after: status == S::SERVICE_UNAVAILABLE,
            message,
            line,
            max_length,
            acks,
        }
    }

    /// The error as a response in `api`'s dialect.
    pub fn into_response(self, api: Api, ctx: &RenderContext) -> Response {
        let (status, headers, body) = render(api, &self.reply(api), ctx);
        let mut resp = (status, body).into_response();
        for (name, value) in headers {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}

/// Settings [`render`] needs from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext {
    pub realm: String,
    pub retry_after_secs: u64,
}

#[derive(Serialize)]
struct V1Body<'a> {
    error: &'a str,
}

#[derive(Serialize)]
struct V2Body<'a> {
    code: &'a str,
    message: &'a str,
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    max_length: Option<u64>,
}

/// Longest `X-Influxdb-Error` value, as influxd.
const ERROR_HEADER_MAX: usize = 1024;

/// `X-Tandem-Consistency` header name.
pub const CONSISTENCY_HEADER: &str = "x-tandem-consistency";

/// `level=quorum acked=2 required=2 owners=3`.
pub fn consistency_header_value(a: &AckSummary) -> String {
    format!(
        "level={} acked={} required={} owners={}",
        a.level, a.acked, a.required, a.owners
    )
}

/// A header value from arbitrary text, as Go's server writes one: control
/// characters (newlines of multi-line parse errors) become spaces, then
/// leading and trailing blanks are trimmed (so an `X-Influxdb-Error` cut at
/// 1024 bytes in front of a space is 1023 bytes long).
pub(crate) fn header_text(text: &[u8]) -> HeaderValue {
    let cleaned: Vec<u8> = text
        .iter()
        .map(|&b| {
            if b < 0x20 && b != b'\t' || b == 0x7f {
                b' '
            } else {
                b
            }
        })
        .collect();
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = cleaned.iter().position(|b| !blank(b)).unwrap_or(cleaned.len());
    let end = cleaned.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    HeaderValue::from_bytes(&cleaned[start..end]).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Status, headers and body of an error reply in `api`'s dialect. The
/// headers common to every response (`X-Influxdb-Version`, ...) are added
/// by the middleware, not here.
pub fn render(
    api: Api,
    reply: &ErrorReply,
    ctx: &RenderContext,
) -> (StatusCode, Vec<(HeaderName, HeaderValue)>, Vec<u8>) {
    let msg = reply.message.as_str();
    let mut headers = Vec::new();
    let content_type = match api {
        Api::V1 => "application/json",
        Api::V2 => "application/json; charset=utf-8",
    };
    headers.push((header::CONTENT_TYPE, HeaderValue::from_static(content_type)));
    if reply.status == StatusCode::UNAUTHORIZED {
        // influxd sends the challenge instead of X-Influxdb-Error on 401.
        let challenge = format!("Basic realm=\"{}\"", ctx.realm);
        headers.push((header::WWW_AUTHENTICATE, header_text(challenge.as_bytes())));
    } else {
        let cut = msg.len().min(ERROR_HEADER_MAX);
        headers.push((
            HeaderName::from_static("x-influxdb-error"),
            header_text(&msg.as_bytes()[..cut]),
        ));
    }
    if api == Api::V2 {
        headers.push((
            HeaderName::from_static("x-platform-error-code"),
            HeaderValue::from_static(reply.code),
        ));
    }
    if reply.retry_after {
        headers.push((header::RETRY_AFTER, HeaderValue::from(ctx.retry_after_secs)));
    }
    if let Some(a) = &reply.acks {
        headers.push((
            HeaderName::from_static(CONSISTENCY_HEADER),
            header_text(consistency_header_value(a).as_bytes()),
        ));
    }
    let mut body = match api {
        Api::V1 => serde_json::to_vec(&V1Body { error: msg }),
        Api::V2 => serde_json::to_vec(&V2Body {
            code: reply.code,
            message: msg,
            error: msg,
            line: reply.line,
            max_length: reply.max_length,
        }),
    }
    .unwrap_or_default();
    // influxd ends every JSON body with a newline.
    body.push(b'\n');
    (reply.status, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_like_go() {
        // (text, header value)
        let cases: [(&[u8], &[u8]); 6] = [
            (b"a\nb\r\x7f\tc", b"a b  \tc"),
            ("é \u{1F600}".as_bytes(), "é \u{1F600}".as_bytes()),
            (b" \t padded \n", b"padded"),
            (b"line one\n", b"line one"),
            (b"\n\n", b""),
            (b"", b""),
        ];
        for (text, want) in cases {
            assert_eq!(
                header_text(text).as_bytes(),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn error_header_is_cut_at_1024_bytes_and_trimmed() {
        let ctx = RenderContext {
            realm: "InfluxDB".into(),
            retry_after_secs: 1,
        };
        // (message, length of X-Influxdb-Error)
        let cases = [
            ("x".repeat(5000), 1024),
            // Byte 1024 is a space: Go trims it.
            (format!("{} tail", "x".repeat(1023)), 1023),
            (format!("{}  {}", "x".repeat(1022), "y".repeat(100)), 1022),
            (format!("{}\nsecond line", "x".repeat(1023)), 1023),
            ("short".to_owned(), 5),
        ];
        for (msg, want) in cases {
            let e = HttpError::BadBody(msg.clone());
            let (_, headers, body) = render(Api::V1, &e.reply(Api::V1), &ctx);
            let h = headers
                .iter()
                .find(|(n, _)| n == "x-influxdb-error")
                .map(|(_, v)| v.len());
            assert_eq!(h, Some(want), "{msg:.40}");
            // The body keeps the whole message.
            let json_len = serde_json::to_string(&msg).unwrap().len();
            assert_eq!(body.len(), json_len + r#"{"error":}"#.len() + 1);
        }
    }
}
