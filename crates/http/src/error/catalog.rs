//! Every (endpoint × error) pair the API can answer, with an example of the
//! error, rendered through the one mapping function into the table of
//! `docs/HTTP-ERRORS.md`. A test fails when the document and the function
//! disagree; `TANDEM_BLESS=1 cargo test -p tandem-http doc_matches` rewrites
//! the table. The integration tests read the same table and provoke every
//! row over TCP.

use tandem_coordinator::ports::{MetaError, OwnerError};
use tandem_coordinator::{
    AckSummary, ConsistencyFailure, OwnerOutcome, PartialWrite, ShortfallKind, WriteError,
};
use tandem_lineproto::InvalidPrecision;
use tandem_model::{ConsistencyLevel, NodeId, ShardId};

use super::{Api, HttpError, RenderContext, render};
use crate::ports::PortError;

pub(crate) struct Entry {
    pub id: String,
    pub endpoint: &'static str,
    pub api: Api,
    pub condition: &'static str,
    pub error: HttpError,
}

const BEGIN: &str = "<!-- BEGIN GENERATED: error table -->";
const END: &str = "<!-- END GENERATED: error table -->";

/// What the data client reports for an owner whose port is closed; the
/// table's cluster has the layout of the process tests (meta voters 1-3,
/// data nodes 4-6), so the first owner is node 4.
fn refused() -> OwnerError {
    OwnerError::Unavailable("node 4: connection refused".into())
}

/// The meta client's answer once no meta node could be reached.
const META_UNREACHABLE: &str = "meta service unavailable: no meta node reachable";

/// The exporter's answer when no owner of shard 1 (owned by nodes 4-6)
/// can be reached.
const EXPORT_UNREACHABLE: &str = "no owner of shard 1 could be read: node 4: connection refused; node 5: connection refused; node 6: connection refused";

fn failure(
    kind: ShortfallKind,
    level: ConsistencyLevel,
    acked: usize,
    outcomes: Vec<OwnerOutcome>,
) -> HttpError {
    let required = level.required(outcomes.len());
    HttpError::Write(WriteError::Consistency(ConsistencyFailure {
        kind,
        level,
        shard: ShardId(1),
        required,
        acked,
        owners: outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| (NodeId(i as u32 + 1), o))
            .collect(),
    }))
}

/// Errors of both write endpoints: (key, condition, error).
fn write_errors(api: Api) -> Vec<(&'static str, &'static str, HttpError)> {
    let v2 = api == Api::V2;
    let mut out = vec![
        (
            "db-required",
            if v2 {
                "`bucket=/rp` (no database)"
            } else {
                "`db` missing or empty; also `db=d%zzb`, a pair Go's query parser leaves out (bad escape, or a `;`)"
            },
            HttpError::DatabaseRequired,
        ),
        (
            "precision",
            if v2 { "`precision=n` (not ns, us, ms, s)" } else { "`precision=x` (not n, ns, u, ms, s, m, h)" },
            HttpError::Precision(if v2 {
                InvalidPrecision::V2("n".into())
            } else {
                InvalidPrecision::V1("x".into())
            }),
        ),
        (
            "consistency",
            "`consistency=two` (not any, one, quorum, all; any case)",
            HttpError::Consistency,
        ),
        (
            "db-not-found",
            "database `nope` does not exist (checked before the body is read)",
            HttpError::DatabaseNotFound("nope".into()),
        ),
        (
            "meta-unavailable",
            "no meta node reachable and the write needs metadata this node does not have (a new shard group)",
            HttpError::Port(PortError::Unavailable(META_UNREACHABLE.into())),
        ),
        (
            "no-credentials",
            "auth on, admin exists, no credentials (or unparseable ones)",
            HttpError::NoCredentials,
        ),
        (
            "username-required",
            "auth on, Basic credentials with an empty user name",
            HttpError::UsernameRequired,
        ),
        (
            "auth-failed",
            "auth on, wrong password or unknown token",
            HttpError::AuthenticationFailed,
        ),
        (
            "auth-unavailable",
            "auth on, a user this node has not seen, and no meta node reachable to look it up",
            HttpError::Port(PortError::Unavailable(META_UNREACHABLE.into())),
        ),
        (
            "user-required",
            "auth on but no admin user exists yet (nobody can log in)",
            HttpError::UserRequired("db".into()),
        ),
        (
            "write-forbidden",
            "auth on, user `bob` lacks WRITE on `db`",
            HttpError::WriteForbidden {
                user: "bob".into(),
                db: "db".into(),
            },
        ),
        (
            "encoding",
            "`Content-Encoding: br` (anything but identity, gzip, x-gzip)",
            HttpError::UnsupportedEncoding("br".into()),
        ),
        (
            "bad-gzip",
            "`Content-Encoding: gzip` with a body that is not gzip (an empty body: `EOF`; a cut one: `unexpected EOF`)",
            HttpError::BadBody("gzip: invalid header".into()),
        ),
        (
            "too-large-length",
            "`Content-Length` above `max_body_size` (refused before reading)",
            HttpError::BodyTooLarge { max: 25_000_000 },
        ),
        (
            "too-large-decoded",
            "gzip body whose decompressed size exceeds `max_body_size`",
            HttpError::BodyTooLarge { max: 25_000_000 },
        ),
        (
            "parse",
            "no line parses (`cpu`)",
            HttpError::Write(WriteError::Parse {
                message: "unable to parse 'cpu': missing fields".into(),
                first_line: 1,
            }),
        ),
        (
            "parse-partial",
            "some lines parse (`cpu v=1\\ncpu`): the good ones are stored",
            HttpError::PartialWrite(PartialWrite {
                reason: "unable to parse 'cpu': missing fields".into(),
                dropped: 0,
                first_bad_line: Some(2),
            }, Some(AckSummary {
                level: ConsistencyLevel::One,
                acked: 1,
                required: 1,
                owners: 3,
            })),
        ),
        (
            "time-field",
            "a point with a field named `time` is dropped, the rest stored",
            HttpError::PartialWrite(PartialWrite {
                reason: "invalid field name: input field \"time\" on measurement \"cpu\" is invalid".into(),
                dropped: 1,
                first_bad_line: None,
            }, None),
        ),
        (
            "type-conflict",
            "a field's type differs from the cluster's registry: the point is dropped",
            HttpError::PartialWrite(PartialWrite {
                reason: "field type conflict: input field \"v\" on measurement \"cpu\" is type integer, already exists as type float".into(),
                dropped: 1,
                first_bad_line: None,
            }, None),
        ),
        (
            "owner-partial",
            "owners drop points whose field types differ from their copy of the shard (a field the registry had not seen)",
            HttpError::Write(WriteError::Rejected(OwnerError::PartialWrite {
                reason: "field type conflict: input field \"v\" on measurement \"cpu\" is type float, already exists as type integer".into(),
                dropped: 1,
            })),
        ),
        (
            "shard-deleted",
            "the shard was deleted (retention) while being written",
            HttpError::Write(WriteError::Rejected(OwnerError::PartialWrite {
                reason: "shard 1 is pending deletion".into(),
                dropped: 1,
            })),
        ),
        (
            "rp-not-found",
            "`rp` (v2: `bucket=db/nope`) does not exist",
            HttpError::Write(WriteError::Meta(MetaError::RetentionPolicyNotFound("nope".into()))),
        ),
        (
            "consistency-partial",
            "`consistency=quorum`, RF 3, only 1 owner acks",
            failure(
                ShortfallKind::Partial,
                ConsistencyLevel::Quorum,
                1,
                vec![
                    OwnerOutcome::Acked,
                    OwnerOutcome::Failed(refused()),
                    OwnerOutcome::Failed(refused()),
                ],
            ),
        ),
        (
            "consistency-failed",
            "every owner's port is closed (`connection refused`)",
            failure(
                ShortfallKind::Failed,
                ConsistencyLevel::One,
                0,
                vec![
                    OwnerOutcome::Failed(refused()),
                    OwnerOutcome::Failed(refused()),
                    OwnerOutcome::Failed(refused()),
                ],
            ),
        ),
        (
            "consistency-timeout",
            "owners do not answer within `write_timeout`",
            failure(
                ShortfallKind::Timeout,
                ConsistencyLevel::All,
                0,
                vec![OwnerOutcome::Pending, OwnerOutcome::Pending, OwnerOutcome::Pending],
            ),
        ),
        (
            "consistency-overloaded",
            "owners are overloaded and that alone keeps the level from being met",
            failure(
                ShortfallKind::Overloaded,
                ConsistencyLevel::All,
                0,
                vec![
                    OwnerOutcome::Failed(OwnerError::Overloaded(NodeId(1))),
                    OwnerOutcome::Failed(OwnerError::Overloaded(NodeId(2))),
                    OwnerOutcome::Failed(OwnerError::Overloaded(NodeId(3))),
                ],
            ),
        ),
        (
            "overloaded",
            "this node coordinates as many body bytes as it may",
            HttpError::Write(WriteError::Overloaded(
                "too many bytes being coordinated on this node".into(),
            )),
        ),
        (
            "shutting-down",
            "the node is shutting down",
            HttpError::Write(WriteError::ShuttingDown),
        ),
        (
            "internal",
            "a local fault (the clock's high-water mark cannot be persisted)",
            HttpError::Write(WriteError::Internal(
                "the clock's high-water mark cannot be persisted".into(),
            )),
        ),
    ];
    if v2 {
        out.insert(
            0,
            (
                "bucket-empty",
                "`bucket` missing or empty (also `bucket=d%zzb`: the pair is left out)",
                HttpError::Bucket(
                    "bucket name \"\" is missing a slash; not in \"database/retention-policy\" format".into(),
                ),
            ),
        );
        out.insert(
            1,
            (
                "bucket-escape",
                "`bucket=db/%zz` (bad escape)",
                HttpError::Bucket("invalid URL escape \"%zz\"".into()),
            ),
        );
    }
    out
}

pub(crate) fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for (prefix, endpoint, api) in [
        ("write", "POST /write", Api::V1),
        ("v2", "POST /api/v2/write", Api::V2),
    ] {
        for (key, condition, error) in write_errors(api) {
            out.push(Entry {
                id: format!("{prefix}.{key}"),
                endpoint,
                api,
                condition,
                error,
            });
        }
    }
    let query: Vec<(&str, &str, HttpError)> = vec![
        ("missing-q", "no `q` (or only blanks)", HttpError::MissingQuery),
        (
            "parse",
            "`q=FOO`",
            HttpError::QueryParse(
                "found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1".into(),
            ),
        ),
        (
            "unsupported",
            "`q=SELECT * FROM cpu` (any statement outside the DDL subset)",
            HttpError::Unsupported("SELECT".into()),
        ),
        (
            "unsupported-show",
            "`q=SHOW MEASUREMENTS`",
            HttpError::Unsupported("SHOW MEASUREMENTS".into()),
        ),
        (
            "no-credentials",
            "auth on, admin exists, no credentials",
            HttpError::NoCredentials,
        ),
        (
            "auth-failed",
            "auth on, wrong password",
            HttpError::AuthenticationFailed,
        ),
        (
            "no-admin-yet",
            "auth on, no admin user yet, anything but `CREATE USER .. WITH ALL PRIVILEGES`",
            HttpError::QueryForbidden("create admin user first or disable authentication".into()),
        ),
        (
            "forbidden",
            "auth on, non-admin `bob` runs `CREATE DATABASE x`",
            HttpError::QueryForbidden(
                "bob not authorized to execute statement 'CREATE DATABASE x', requires admin privilege".into(),
            ),
        ),
    ];
    for (key, condition, error) in query {
        out.push(Entry {
            id: format!("query.{key}"),
            endpoint: "GET|POST /query",
            api: Api::V1,
            condition,
            error,
        });
    }
    let export: Vec<(&str, &str, HttpError)> = vec![
        ("db-required", "`db` missing", HttpError::DatabaseRequired),
        (
            "bad-scope",
            "`scope=all` (not local or cluster)",
            HttpError::InvalidParameter("invalid scope \"all\" (use local or cluster)".into()),
        ),
        (
            "bad-start",
            "`start=yesterday` (neither RFC 3339 nor ns since the epoch)",
            HttpError::InvalidParameter(
                "invalid start \"yesterday\" (use RFC3339 or nanoseconds since the epoch)".into(),
            ),
        ),
        (
            "db-not-found",
            "database `nope` does not exist",
            HttpError::DatabaseNotFound("nope".into()),
        ),
        (
            "rp-not-found",
            "`rp=nope` does not exist",
            HttpError::Port(PortError::RetentionPolicyNotFound("nope".into())),
        ),
        (
            "no-credentials",
            "auth on, admin exists, no credentials",
            HttpError::NoCredentials,
        ),
        (
            "read-user-required",
            "auth on but no admin user exists yet",
            HttpError::ReadUserRequired("db".into()),
        ),
        (
            "read-forbidden",
            "auth on, `bob` lacks READ on `db`",
            HttpError::ReadForbidden {
                user: "bob".into(),
                db: "db".into(),
            },
        ),
        (
            "unavailable",
            "no owner of the first shard to export can be reached (a later one: the chunked body is cut short)",
            HttpError::Port(PortError::Unavailable(EXPORT_UNREACHABLE.into())),
        ),
    ];
    for (key, condition, error) in export {
        out.push(Entry {
            id: format!("export.{key}"),
            endpoint: "GET /export",
            api: Api::V1,
            condition,
            error,
        });
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The generated section of `docs/HTTP-ERRORS.md`, markers included.
pub(crate) fn table() -> String {
    let ctx = RenderContext {
        realm: "InfluxDB".into(),
        retry_after_secs: 1,
    };
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push('\n');
    out.push_str("| id | endpoint | condition | status | body | headers |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for e in entries() {
        let (status, headers, body) = render(e.api, &e.error.reply(e.api), &ctx);
        let body = String::from_utf8_lossy(&body);
        let headers: Vec<String> = headers
            .iter()
            .map(|(n, v)| {
                format!(
                    "`{}: {}`",
                    title_case(n.as_str()),
                    String::from_utf8_lossy(v.as_bytes())
                )
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | `{}` | {} |\n",
            e.id,
            cell(e.endpoint),
            cell(e.condition),
            status.as_u16(),
            cell(body.trim_end_matches('\n')),
            cell(&headers.join("<br>")),
        ));
    }
    out.push_str(END);
    out
}

/// `x-influxdb-error` → `X-Influxdb-Error`, as the server writes it.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn doc_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/HTTP-ERRORS.md")
    }

    #[test]
    fn ids_are_unique() {
        let mut seen = HashSet::new();
        for e in entries() {
            assert!(seen.insert(e.id.clone()), "duplicate id {}", e.id);
        }
    }

    #[test]
    fn never_422_and_every_503_says_when_to_retry() {
        for e in entries() {
            let reply = e.error.reply(e.api);
            assert_ne!(reply.status.as_u16(), 422, "{}", e.id);
            assert_eq!(reply.retry_after, reply.status.as_u16() == 503, "{}", e.id);
        }
    }

    /// The table in `docs/HTTP-ERRORS.md` is exactly what the mapping
    /// function renders.
    #[test]
    fn doc_matches_mapping() {
        let path = doc_path();
        let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let generated = table();
        let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("{} lacks the generated-table markers", path.display());
        };
        let current = &doc[start..end + END.len()];
        if current == generated {
            return;
        }
        if std::env::var_os("TANDEM_BLESS").is_some() {
            let updated = format!("{}{}{}", &doc[..start], generated, &doc[end + END.len()..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!(
            "docs/HTTP-ERRORS.md is out of date with HttpError::reply; run \
             `TANDEM_BLESS=1 cargo test -p tandem-http doc_matches` and review the diff"
        );
    }
}
