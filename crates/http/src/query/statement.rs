//! The InfluxQL statements tandem executes, and their canonical text (what
//! influxd prints in warnings and authorization errors; passwords are
//! redacted).

use std::fmt;
use std::time::Duration;

use crate::ports::{Privilege, RetentionPolicySpec, RetentionPolicyUpdate};

/// One parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `policy` is `Some` when the statement has a `WITH` clause.
    CreateDatabase {
        name: String,
        policy: Option<RetentionPolicySpec>,
    },
    DropDatabase {
        name: String,
    },
    ShowDatabases,
    CreateRetentionPolicy {
        db: String,
        spec: RetentionPolicySpec,
        default: bool,
    },
    AlterRetentionPolicy {
        db: String,
        name: String,
        update: RetentionPolicyUpdate,
    },
    DropRetentionPolicy {
        db: String,
        name: String,
    },
    /// `db` empty: the request's `db` parameter.
    ShowRetentionPolicies {
        db: String,
    },
    CreateUser {
        name: String,
        password: String,
        admin: bool,
    },
    DropUser {
        name: String,
    },
    SetPassword {
        name: String,
        password: String,
    },
    ShowUsers,
    /// `GRANT ALL [PRIVILEGES] TO user` / `REVOKE ALL [PRIVILEGES] FROM user`.
    SetAdmin {
        user: String,
        admin: bool,
    },
    Grant {
        privilege: Privilege,
        db: String,
        user: String,
    },
    Revoke {
        privilege: Privilege,
        db: String,
        user: String,
    },
    ShowGrants {
        user: String,
    },
    /// `CREATE TOKEN FOR user [WITH DESCRIPTION '...']` (tandem extension).
    CreateToken {
        user: String,
        description: String,
    },
    /// `SHOW TOKENS` (tandem extension).
    ShowTokens,
    /// `DROP TOKEN 'id'` (tandem extension).
    DropToken {
        id: String,
    },
}

impl Statement {
    /// Whether the statement only reads (no warning when sent with GET).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Statement::ShowDatabases
                | Statement::ShowRetentionPolicies { .. }
                | Statement::ShowUsers
                | Statement::ShowGrants { .. }
                | Statement::ShowTokens
        )
    }
}

/// Every InfluxQL keyword: a bare keyword is never an identifier.
pub const KEYWORDS: &[&str] = &[
    "ALL",
    "ALTER",
    "ANALYZE",
    "ANY",
    "AS",
    "ASC",
    "BEGIN",
    "BY",
    "CARDINALITY",
    "CREATE",
    "CONTINUOUS",
    "DATABASE",
    "DATABASES",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESTINATIONS",
    "DIAGNOSTICS",
    "DISTINCT",
    "DROP",
    "DURATION",
    "END",
    "EVERY",
    "EXACT",
    "EXPLAIN",
    "FIELD",
    "FOR",
    "FROM",
    "GRANT",
    "GRANTS",
    "GROUP",
    "GROUPS",
    "IN",
    "INF",
    "INSERT",
    "INTO",
    "KEY",
    "KEYS",
    "KILL",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "NAME",
    "OFFSET",
    "ON",
    "ORDER",
    "PASSWORD",
    "POLICY",
    "POLICIES",
    "PRIVILEGES",
    "QUERIES",
    "QUERY",
    "READ",
    "REPLICATION",
    "RESAMPLE",
    "RETENTION",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SET",
    "SHOW",
    "SHARD",
    "SHARDS",
    "SLIMIT",
    "SOFFSET",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "TO",
    "USER",
    "USERS",
    "VALUES",
    "WHERE",
    "WITH",
    "WRITE",
];

pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// An identifier as InfluxQL prints it: bare when it can be, else quoted.
pub struct Ident<'a>(pub &'a str);

impl fmt::Display for Ident<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let bare = !s.is_empty()
            && !is_keyword(s)
            && s.bytes()
                .enumerate()
                .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if bare {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        for c in s.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// A duration as InfluxQL prints it (`1w`, `2d`, `90m`, `0s`).
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        const UNITS: [(u128, &str); 7] = [
            (604_800_000_000_000, "w"),
            (86_400_000_000_000, "d"),
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "u"),
        ];
        if ns == 0 {
            return f.write_str("0s");
        }
        match UNITS.iter().find(|(u, _)| ns.is_multiple_of(*u)) {
            Some((u, name)) => write!(f, "{}{name}", ns / u),
            None => write!(f, "{ns}ns"),
        }
    }
}

/// A string literal as InfluxQL prints it: single-quoted, with `\`, `'`
/// and newlines escaped the way the lexer reads them back.
pub struct Str<'a>(pub &'a str);

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'")?;
        for c in self.0.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("'")
    }
}

fn privilege_text(p: Privilege) -> &'static str {
    p.as_str()
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateDatabase { name, policy } => {
                write!(f, "CREATE DATABASE {}", Ident(name))?;
                if let Some(p) = policy {
                    f.write_str(" WITH")?;
                    if let Some(d) = p.duration {
                        write!(f, " DURATION {}", Dur(d))?;
                    }
                    if let Some(r) = p.replication {
                        write!(f, " REPLICATION {r}")?;
                    }
                    if let Some(d) = p.shard_duration {
                        write!(f, " SHARD DURATION {}", Dur(d))?;
                    }
                    if let Some(n) = &p.name {
                        write!(f, " NAME {}", Ident(n))?;
                    }
                }
                Ok(())
            }
            Statement::DropDatabase { name } => write!(f, "DROP DATABASE {}", Ident(name)),
            Statement::ShowDatabases => f.write_str("SHOW DATABASES"),
            Statement::CreateRetentionPolicy { db, spec, default } => {
                let name = spec.name.as_deref().unwrap_or_default();
                write!(f, "CREATE RETENTION POLICY {} ON {}", Ident(name), Ident(db))?;
                write!(f, " DURATION {}", Dur(spec.duration.unwrap_or_default()))?;
                if let Some(r) = spec.replication {
                    write!(f, " REPLICATION {r}")?;
                }
                if let Some(d) = spec.shard_duration {
                    write!(f, " SHARD DURATION {}", Dur(d))?;
                }
                if *default {
                    f.write_str(" DEFAULT")?;
                }
                Ok(())
            }
            Statement::AlterRetentionPolicy { db, name, update } => {
                write!(f, "ALTER RETENTION POLICY {} ON {}", Ident(name), Ident(db))?;
                if let Some(d) = update.duration {
                    write!(f, " DURATION {}", Dur(d))?;
                }
                if let Some(r) = update.replication {
                    write!(f, " REPLICATION {r}")?;
                }
                if let Some(d) = update.shard_duration {
                    write!(f, " SHARD DURATION {}", Dur(d))?;
                }
                if update.make_default {
                    f.write_str(" DEFAULT")?;
                }
                Ok(())
            }
            Statement::DropRetentionPolicy { db, name } => {
                write!(f, "DROP RETENTION POLICY {} ON {}", Ident(name), Ident(db))
            }
            Statement::ShowRetentionPolicies { db } if db.is_empty() => {
                f.write_str("SHOW RETENTION POLICIES")
            }
            Statement::ShowRetentionPolicies { db } => {
                write!(f, "SHOW RETENTION POLICIES ON {}", Ident(db))
            }
            Statement::CreateUser { name, admin, .. } => {
                write!(f, "CREATE USER {} WITH PASSWORD [REDACTED]", Ident(name))?;
                if *admin {
                    f.write_str(" WITH ALL PRIVILEGES")?;
                }
                Ok(())
            }
            Statement::DropUser { name } => write!(f, "DROP USER {}", Ident(name)),
            Statement::SetPassword { name, .. } => {
                write!(f, "SET PASSWORD FOR {} = [REDACTED]", Ident(name))
            }
            Statement::ShowUsers => f.write_str("SHOW USERS"),
            Statement::SetAdmin { user, admin: true } => {
                write!(f, "GRANT ALL PRIVILEGES TO {}", Ident(user))
            }
            Statement::SetAdmin { user, admin: false } => {
                write!(f, "REVOKE ALL PRIVILEGES FROM {}", Ident(user))
            }
            Statement::Grant { privilege, db, user } => write!(
                f,
                "GRANT {} ON {} TO {}",
                privilege_text(*privilege),
                Ident(db),
                Ident(user)
            ),
            Statement::Revoke { privilege, db, user } => write!(
                f,
                "REVOKE {} ON {} FROM {}",
                privilege_text(*privilege),
                Ident(db),
                Ident(user)
            ),
            Statement::ShowGrants { user } => write!(f, "SHOW GRANTS FOR {}", Ident(user)),
            Statement::CreateToken { user, description } => {
                write!(f, "CREATE TOKEN FOR {}", Ident(user))?;
                if !description.is_empty() {
                    write!(f, " WITH DESCRIPTION {}", Str(description))?;
                }
                Ok(())
            }
            Statement::ShowTokens => f.write_str("SHOW TOKENS"),
            Statement::DropToken { id } => write!(f, "DROP TOKEN {}", Str(id)),
        }
    }
}
