//! `GET|POST /query`: the InfluxQL statements clients use to prepare
//! writes, executed against the [`Admin`](crate::ports::Admin) port and
//! answered in the 1.x JSON format. Statement errors travel inside the
//! results with HTTP 200, as influxd does; request errors (no `q`, parse
//! errors, unsupported statements, authorization) are 4xx. The first
//! statement that fails stops the batch: it carries its own error and each
//! later statement `not executed`.
//!
//! Tandem extensions (not InfluxQL), admin only like every statement that
//! changes users:
//!
//! - `CREATE TOKEN FOR <user> [WITH DESCRIPTION '<text>']`: a new API token
//!   acting as `<user>`; one row with columns `id`, `token`, `user`. The
//!   token is shown only here (the meta service stores a digest). Clients
//!   send it as `Authorization: Bearer <token>` or `Token <token>`.
//! - `SHOW TOKENS`: columns `id`, `user`, `description` (never the secret).
//! - `DROP TOKEN '<id>'`: the token stops authenticating.

pub mod parser;
pub mod response;
pub mod statement;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth;
use crate::body;
use crate::error::{Api, HttpError};
use crate::params::Params;
use crate::ports::{PortError, Principal, Privilege};
use crate::query::parser::{ParseFailure, parse};
use crate::query::response::{Message, Series, StatementResult, encode};
use crate::query::statement::Statement;
use crate::state::HttpState;

/// `GET|POST /query`.
pub async fn query(State(state): State<HttpState>, req: Request) -> Response {
    match serve(&state, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(Api::V1, state.render_context()),
    }
}

/// Largest form body read for `q` when `max_body_size` is off.
const MAX_FORM_BODY: u64 = 10 << 20;

async fn serve(state: &HttpState, req: Request) -> Result<Response, HttpError> {
    let (parts, body) = req.into_parts();
    let url_params = Params::from_uri(&parts.uri);
    // Like Go's FormValue: values of a urlencoded POST body come first.
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    // Credentials come from the URL only, as in influxd.
    let who = auth::authenticate(state, &url_params, &parts.headers).await?;
    let mut params = Params::default();
    if parts.method == Method::POST && is_form {
        let max = match state.config().max_body_size {
            0 => MAX_FORM_BODY,
            n => n,
        };
        params = Params::parse(&body::read_plain(body, max).await?);
    }
    params.extend(url_params);

    let q = params.get("q").trim();
    if q.is_empty() {
        return Err(HttpError::MissingQuery);
    }
    let statements = parse(q).map_err(|f| match f {
        ParseFailure::Syntax(m) => HttpError::QueryParse(m),
        ParseFailure::Unsupported(kind) => HttpError::Unsupported(kind),
    })?;
    let default_db = params.get("db");
    if state.config().auth_enabled {
        authorize(who.as_ref(), &statements, default_db)?;
    }

    let read_only_context = parts.method == Method::GET;
    let mut results = Vec::with_capacity(statements.len());
    let mut failed = false;
    for (id, stmt) in statements.iter().enumerate() {
        if failed {
            results.push(StatementResult {
                statement_id: id,
                series: vec![],
                messages: vec![],
                error: Some("not executed".into()),
            });
            continue;
        }
        let mut messages = Vec::new();
        if read_only_context && !stmt.is_read_only() {
            messages.push(Message {
                level: "warning",
                text: format!(
                    "deprecated use of '{stmt}' in a read only context, please use a POST request instead"
                ),
            });
        }
        let outcome = execute(state, who.as_ref(), stmt, default_db).await;
        if let Err(e) = &outcome {
            tracing::info!(statement = %stmt, "statement failed: {e}");
        }
        failed = outcome.is_err();
        let (series, error) = match outcome {
            Ok(series) => (series, None),
            Err(e) => (vec![], Some(e)),
        };
        results.push(StatementResult {
            statement_id: id,
            series,
            messages,
            error,
        });
    }

    let pretty = params.get("pretty") == "true";
    let body = if params.get("chunked") == "true" {
        results
            .iter()
            .flat_map(|r| encode(std::slice::from_ref(r), pretty))
            .collect()
    } else {
        encode(&results, pretty)
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// influxd's query authorization: admins may do everything; others may
/// list databases and read the policies of databases they can read. Before
/// any admin exists (no one logged in) only creating one is allowed.
fn authorize(who: Option<&Principal>, statements: &[Statement], default_db: &str) -> Result<(), HttpError> {
    let Some(user) = who else {
        if let [Statement::CreateUser { admin: true, .. }] = statements {
            return Ok(());
        }
        return Err(HttpError::QueryForbidden(
            "create admin user first or disable authentication".into(),
        ));
    };
    if user.admin {
        return Ok(());
    }
    for stmt in statements {
        let denied = match stmt {
            Statement::ShowDatabases => None,
            Statement::ShowRetentionPolicies { db } => {
                let db = if db.is_empty() { default_db } else { db.as_str() };
                (!user.can_read(db)).then(|| format!("requires READ on {db}"))
            }
            _ => Some("requires admin privilege".to_owned()),
        };
        if let Some(requirement) = denied {
            return Err(HttpError::QueryForbidden(format!(
                "{} not authorized to execute statement '{stmt}', {requirement}",
                user.name
            )));
        }
    }
    Ok(())
}

fn text(e: PortError) -> String {
    e.to_string()
}

/// Runs one statement; the error is the statement's `error` text.
async fn execute(
    state: &HttpState,
    who: Option<&Principal>,
    stmt: &Statement,
    default_db: &str,
) -> Result<Vec<Series>, String> {
    let admin = state.admin();
    let done = |r: Result<(), PortError>| r.map(|()| Vec::new()).map_err(text);
    match stmt {
        Statement::CreateDatabase { name, policy } => done(admin.create_database(name, policy.clone()).await),
        Statement::DropDatabase { name } => done(admin.drop_database(name).await),
        Statement::ShowDatabases => {
            let names = admin.databases().await.map_err(text)?;
            let visible = |db: &str| match who {
                Some(p) if state.config().auth_enabled => p.can_read(db) || p.can_write(db),
                _ => true,
            };
            Ok(vec![Series {
                name: Some("databases"),
                columns: vec!["name"],
                values: names
                    .into_iter()
                    .filter(|db| visible(db))
                    .map(|db| vec![Value::from(db)])
                    .collect(),
            }])
        }
        Statement::CreateRetentionPolicy { db, spec, default } => {
            done(admin.create_retention_policy(db, spec.clone(), *default).await)
        }
        Statement::AlterRetentionPolicy { db, name, update } => {
            done(admin.alter_retention_policy(db, name, update.clone()).await)
        }
        Statement::DropRetentionPolicy { db, name } => done(admin.drop_retention_policy(db, name).await),
        Statement::ShowRetentionPolicies { db } => {
            let db = if db.is_empty() { default_db } else { db.as_str() };
            if db.is_empty() {
                return Err("database name required".into());
            }
            let policies = admin.retention_policies(db).await.map_err(text)?;
            let fmt = tandem_model::duration::format;
            Ok(vec![Series {
                name: None,
                columns: vec!["name", "duration", "shardGroupDuration", "replicaN", "default"],
                values: policies
                    .into_iter()
                    .map(|p| {
                        vec![
                            json!(p.name),
                            json!(fmt(p.duration)),
                            json!(fmt(p.shard_group_duration)),
                            json!(p.replication),
                            json!(p.default),
                        ]
                    })
                    .collect(),
            }])
        }
        Statement::CreateUser {
            name,
            password,
            admin: is_admin,
        } => done(admin.create_user(name, password, *is_admin).await),
        Statement::DropUser { name } => done(admin.drop_user(name).await),
        Statement::SetPassword { name, password } => done(admin.set_password(name, password).await),
        Statement::ShowUsers => {
            let users = admin.users().await.map_err(text)?;
            Ok(vec![Series {
                name: None,
                columns: vec!["user", "admin"],
                values: users
                    .into_iter()
                    .map(|u| vec![json!(u.name), json!(u.admin)])
                    .collect(),
            }])
        }
        Statement::SetAdmin { user, admin: flag } => done(admin.set_admin(user, *flag).await),
        Statement::Grant { privilege, db, user } => done(admin.set_privilege(user, db, *privilege).await),
        Statement::Revoke { privilege, db, user } => {
            // Revoking ALL needs no lookup; READ or WRITE clears that bit.
            let left = if *privilege == Privilege::All {
                Privilege::None
            } else {
                let current = admin.privileges(user).await.map_err(text)?;
                current.get(db).copied().unwrap_or_default().without(*privilege)
            };
            done(admin.set_privilege(user, db, left).await)
        }
        Statement::CreateToken { user, description } => {
            let t = admin.create_token(user, description).await.map_err(text)?;
            Ok(vec![Series {
                name: None,
                columns: vec!["id", "token", "user"],
                values: vec![vec![json!(t.id), json!(t.token), json!(user)]],
            }])
        }
        Statement::ShowTokens => {
            let tokens = admin.tokens().await.map_err(text)?;
            Ok(vec![Series {
                name: None,
                columns: vec!["id", "user", "description"],
                values: tokens
                    .into_iter()
                    .map(|t| vec![json!(t.id), json!(t.user), json!(t.description)])
                    .collect(),
            }])
        }
        Statement::DropToken { id } => done(admin.drop_token(id).await),
        Statement::ShowGrants { user } => {
            let grants = admin.privileges(user).await.map_err(text)?;
            Ok(vec![Series {
                name: None,
                columns: vec!["database", "privilege"],
                values: grants
                    .into_iter()
                    .map(|(db, p)| vec![json!(db), json!(p.as_str())])
                    .collect(),
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn user(admin: bool, privileges: &[(&str, Privilege)]) -> Principal {
        Principal {
            name: "bob".into(),
            admin,
            privileges: privileges
                .iter()
                .map(|(d, p)| ((*d).to_owned(), *p))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn authorization_like_influxd() {
        let reader = user(false, &[("db", Privilege::Read)]);
        let admin = user(true, &[]);
        let q = |s: &str| parse(s).unwrap();
        let forbidden = |m: &str| Err(HttpError::QueryForbidden(m.into()));
        // (who, query, db parameter, expected)
        type Case<'a> = (Option<&'a Principal>, &'a str, &'a str, Result<(), HttpError>);
        let cases: Vec<Case<'_>> = vec![
            (
                None,
                "CREATE USER a WITH PASSWORD 'x' WITH ALL PRIVILEGES",
                "",
                Ok(()),
            ),
            (
                None,
                "CREATE USER a WITH PASSWORD 'x'",
                "",
                forbidden("create admin user first or disable authentication"),
            ),
            (
                None,
                "SHOW DATABASES",
                "",
                forbidden("create admin user first or disable authentication"),
            ),
            (
                Some(&admin),
                "DROP DATABASE db; CREATE USER u WITH PASSWORD 'x'",
                "",
                Ok(()),
            ),
            (Some(&reader), "SHOW DATABASES", "", Ok(())),
            (Some(&reader), "SHOW RETENTION POLICIES ON db", "", Ok(())),
            (Some(&reader), "SHOW RETENTION POLICIES", "db", Ok(())),
            (
                Some(&reader),
                "SHOW RETENTION POLICIES ON other",
                "",
                forbidden(
                    "bob not authorized to execute statement 'SHOW RETENTION POLICIES ON other', requires READ on other",
                ),
            ),
            (
                Some(&reader),
                "SHOW DATABASES; CREATE DATABASE x",
                "",
                forbidden(
                    "bob not authorized to execute statement 'CREATE DATABASE x', requires admin privilege",
                ),
            ),
            (
                Some(&admin),
                "CREATE TOKEN FOR bob; SHOW TOKENS; DROP TOKEN 'x'",
                "",
                Ok(()),
            ),
            (
                Some(&reader),
                "CREATE TOKEN FOR bob",
                "",
                forbidden(
                    "bob not authorized to execute statement 'CREATE TOKEN FOR bob', requires admin privilege",
                ),
            ),
            (
                Some(&reader),
                "SHOW TOKENS",
                "",
                forbidden("bob not authorized to execute statement 'SHOW TOKENS', requires admin privilege"),
            ),
            (
                Some(&reader),
                "DROP TOKEN 'x'",
                "",
                forbidden(
                    "bob not authorized to execute statement 'DROP TOKEN 'x'', requires admin privilege",
                ),
            ),
            (
                None,
                "CREATE TOKEN FOR bob",
                "",
                forbidden("create admin user first or disable authentication"),
            ),
            (
                Some(&reader),
                "SET PASSWORD FOR bob = 'x'",
                "",
                forbidden(
                    "bob not authorized to execute statement 'SET PASSWORD FOR bob = [REDACTED]', requires admin privilege",
                ),
            ),
        ];
        for (who, query, db, want) in cases {
            assert_eq!(authorize(who, &q(query), db), want, "{query}");
        }
    }
}
