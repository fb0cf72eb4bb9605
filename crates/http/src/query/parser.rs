//! A parser for the InfluxQL statements clients send to prepare writes
//! (databases, retention policies, users, privileges) and tandem's token
//! statements (`CREATE TOKEN`, `SHOW TOKENS`, `DROP TOKEN`; their words are
//! not keywords, so `token` stays a valid bare name). Statements of the
//! rest of InfluxQL are recognised by their leading keywords and refused as
//! unsupported; anything else is a parse error in influxd's form
//! (`found X, expected Y at line L, char C`). Error texts list influxd's
//! expectations only, so they stay byte-identical to influxd's.

use std::time::Duration;

use crate::ports::{Privilege, RetentionPolicySpec, RetentionPolicyUpdate};
use crate::query::statement::{Statement, is_keyword};

/// Why a query could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// influxd's parse error text (without `error parsing query: `).
    Syntax(String),
    /// A statement tandem does not execute, named by its leading keywords
    /// (`SELECT`, `SHOW MEASUREMENTS`, ...).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Unquoted word; keywords are words too.
    Word(String),
    /// `"..."` identifier.
    Quoted(String),
    Str(String),
    Int(String),
    Dur(Duration),
    /// Anything the grammar has no use for (a number with a bad unit, `*`, ...).
    Other(String),
    Semicolon,
    Eq,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

impl Tok {
    /// How influxd names a token in "found ..." messages.
    fn found(&self) -> String {
        match self {
            Tok::Word(w) if is_keyword(w) => w.to_ascii_uppercase(),
            Tok::Word(w) | Tok::Quoted(w) | Tok::Int(w) | Tok::Other(w) => w.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Dur(d) => crate::query::statement::Dur(*d).to_string(),
            Tok::Semicolon => ";".into(),
            Tok::Eq => "=".into(),
            Tok::Eof => "EOF".into(),
        }
    }

    fn is_word(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

fn duration_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "u" | "µ" | "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        "w" => 604_800_000_000_000,
        _ => return None,
    })
}

/// `1h30m`, `7d`, `500ms`: digits and a unit, repeated.
fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = duration_unit(&rest[..unit_len])?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_nanos(total))
}

fn lex(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, c: char| {
        *i += 1;
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let (tline, tcol) = (line, col);
        let push = |out: &mut Vec<Token>, tok| {
            out.push(Token {
                tok,
                line: tline,
                col: tcol,
            })
        };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, c);
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                {
                    let ch = chars[i];
                    advance(&mut i, &mut line, &mut col, ch);
                }
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            advance(&mut i, &mut line, &mut col, '/');
            advance(&mut i, &mut line, &mut col, '*');
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                {
                    let ch = chars[i];
                    advance(&mut i, &mut line, &mut col, ch);
                }
            }
            if i >= chars.len() {
                return Err(format!("unterminated comment at line {tline}, char {tcol}"));
            }
            advance(&mut i, &mut line, &mut col, '*');
            advance(&mut i, &mut line, &mut col, '/');
            continue;
        }
        match c {
            ';' => {
                push(&mut out, Tok::Semicolon);
                advance(&mut i, &mut line, &mut col, c);
            }
            '=' => {
                push(&mut out, Tok::Eq);
                advance(&mut i, &mut line, &mut col, c);
            }
            '"' | '\'' => {
                let quote = c;
                advance(&mut i, &mut line, &mut col, c);
                let mut text = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(format!(
                            "found {quote}{text}, expected {} at line {tline}, char {tcol}",
                            if quote == '"' { "identifier" } else { "string" }
                        ));
                    };
                    advance(&mut i, &mut line, &mut col, ch);
                    match ch {
                        '\\' => {
                            let Some(&esc) = chars.get(i) else { continue };
                            advance(&mut i, &mut line, &mut col, esc);
                            match esc {
                                'n' => text.push('\n'),
                                '\\' => text.push('\\'),
                                e if e == quote => text.push(e),
                                e => {
                                    return Err(format!("bad escape \\{e} at line {tline}, char {tcol}"));
                                }
                            }
                        }
                        ch if ch == quote => break,
                        '\n' if quote == '\'' => {
                            return Err(format!(
                                "found '{text}, expected string at line {tline}, char {tcol}"
                            ));
                        }
                        ch => text.push(ch),
                    }
                }
                push(
                    &mut out,
                    if quote == '"' {
                        Tok::Quoted(text)
                    } else {
                        Tok::Str(text)
                    },
                );
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == 'µ') {
                    {
                        let ch = chars[i];
                        advance(&mut i, &mut line, &mut col, ch);
                    }
                }
                let text: String = chars[start..i].iter().collect();
                let tok = if text.bytes().all(|b| b.is_ascii_digit()) {
                    Tok::Int(text)
                } else {
                    parse_duration(&text).map_or(Tok::Other(text), Tok::Dur)
                };
                push(&mut out, tok);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    {
                        let ch = chars[i];
                        advance(&mut i, &mut line, &mut col, ch);
                    }
                }
                push(&mut out, Tok::Word(chars[start..i].iter().collect()));
            }
            c => {
                push(&mut out, Tok::Other(c.to_string()));
                advance(&mut i, &mut line, &mut col, c);
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        line,
        col,
    });
    Ok(out)
}

/// Words that may follow `SHOW`, `CREATE`, `DROP`, `EXPLAIN` or `KILL` in
/// the name of a statement tandem does not support.
const STATEMENT_WORDS: &[&str] = &[
    "ANALYZE",
    "CARDINALITY",
    "CONTINUOUS",
    "DIAGNOSTICS",
    "EXACT",
    "FIELD",
    "GROUPS",
    "KEY",
    "KEYS",
    "MEASUREMENT",
    "MEASUREMENTS",
    "QUERIES",
    "QUERY",
    "SERIES",
    "SHARD",
    "SHARDS",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "VALUES",
];

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

type PResult<T> = Result<T, ParseFailure>;

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn error(&self, t: &Token, expected: &str) -> ParseFailure {
        ParseFailure::Syntax(format!(
            "found {}, expected {expected} at line {}, char {}",
            t.tok.found(),
            t.line,
            t.col
        ))
    }

    fn expect(&mut self, kw: &str) -> PResult<()> {
        let t = self.next();
        if t.tok.is_word(kw) {
            Ok(())
        } else {
            Err(self.error(&t, kw))
        }
    }

    /// Consumes `kw` if it is next.
    fn accept(&mut self, kw: &str) -> bool {
        if self.peek().tok.is_word(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> PResult<String> {
        let t = self.next();
        match t.tok {
            Tok::Quoted(s) => Ok(s),
            Tok::Word(w) if !is_keyword(&w) => Ok(w),
            _ => Err(self.error(&t, "identifier")),
        }
    }

    fn string(&mut self) -> PResult<String> {
        let t = self.next();
        match t.tok {
            Tok::Str(s) => Ok(s),
            _ => Err(self.error(&t, "string")),
        }
    }

    /// A duration literal or `INF` (zero: keep forever).
    fn duration(&mut self) -> PResult<Duration> {
        let t = self.next();
        match t.tok {
            Tok::Dur(d) => Ok(d),
            Tok::Word(w) if w.eq_ignore_ascii_case("INF") => Ok(Duration::ZERO),
            _ => Err(self.error(&t, "duration")),
        }
    }

    fn replication(&mut self) -> PResult<u32> {
        let t = self.next();
        let Tok::Int(text) = &t.tok else {
            return Err(self.error(&t, "integer"));
        };
        match text.parse::<u32>() {
            Ok(n) if (1..=i32::MAX as u32).contains(&n) => Ok(n),
            _ => Err(ParseFailure::Syntax(format!(
                "invalid value {text}: must be 1 <= n <= 2147483647 at line {}, char {}",
                t.line, t.col
            ))),
        }
    }

    /// Names the unsupported statement starting with `head` from its
    /// leading keywords.
    fn unsupported(&mut self, head: &str) -> ParseFailure {
        let mut name = head.to_ascii_uppercase();
        if !matches!(name.as_str(), "SELECT" | "DELETE") {
            while let Tok::Word(w) = &self.peek().tok {
                let upper = w.to_ascii_uppercase();
                if !STATEMENT_WORDS.contains(&upper.as_str()) {
                    break;
                }
                name.push(' ');
                name.push_str(&upper);
                self.pos += 1;
            }
        }
        ParseFailure::Unsupported(name)
    }

    fn statement(&mut self) -> PResult<Statement> {
        let t = self.next();
        let head = match &t.tok {
            Tok::Word(w) => w.to_ascii_uppercase(),
            _ => String::new(),
        };
        match head.as_str() {
            "SHOW" => self.show(),
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "ALTER" => {
                self.expect("RETENTION")?;
                self.expect("POLICY")?;
                self.alter_retention_policy()
            }
            "GRANT" => self.grant(),
            "REVOKE" => self.revoke(),
            "SET" => {
                self.expect("PASSWORD")?;
                self.expect("FOR")?;
                let name = self.ident()?;
                let t = self.next();
                if t.tok != Tok::Eq {
                    return Err(self.error(&t, "="));
                }
                let password = self.string()?;
                Ok(Statement::SetPassword { name, password })
            }
            "SELECT" | "DELETE" | "EXPLAIN" | "KILL" => Err(self.unsupported(&head)),
            _ => Err(self.error(
                &t,
                "SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL",
            )),
        }
    }

    fn show(&mut self) -> PResult<Statement> {
        if self.accept("DATABASES") {
            return Ok(Statement::ShowDatabases);
        }
        if self.accept("USERS") {
            return Ok(Statement::ShowUsers);
        }
        if self.accept("RETENTION") {
            self.expect("POLICIES")?;
            let db = if self.accept("ON") {
                self.ident()?
            } else {
                String::new()
            };
            return Ok(Statement::ShowRetentionPolicies { db });
        }
        if self.accept("GRANTS") {
            self.expect("FOR")?;
            return Ok(Statement::ShowGrants { user: self.ident()? });
        }
        if self.accept("TOKENS") {
            return Ok(Statement::ShowTokens);
        }
        let t = self.peek().clone();
        match &t.tok {
            Tok::Word(w) if STATEMENT_WORDS.contains(&w.to_ascii_uppercase().as_str()) => {
                Err(self.unsupported("SHOW"))
            }
            _ => Err(self.error(
                &t,
                "CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS",
            )),
        }
    }

    fn create(&mut self) -> PResult<Statement> {
        if self.accept("DATABASE") {
            let name = self.ident()?;
            let mut policy = None;
            if self.accept("WITH") {
                let mut spec = RetentionPolicySpec::default();
                let mut any = false;
                if self.accept("DURATION") {
                    spec.duration = Some(self.duration()?);
                    any = true;
                }
                if self.accept("REPLICATION") {
                    spec.replication = Some(self.replication()?);
                    any = true;
                }
                if self.accept("SHARD") {
                    self.expect("DURATION")?;
                    spec.shard_duration = Some(self.duration()?);
                    any = true;
                }
                if self.accept("NAME") {
                    spec.name = Some(self.ident()?);
                    any = true;
                }
                if !any {
                    let t = self.peek().clone();
                    return Err(self.error(&t, "DURATION, NAME, REPLICATION, SHARD"));
                }
                policy = Some(spec);
            }
            return Ok(Statement::CreateDatabase { name, policy });
        }
        if self.accept("RETENTION") {
            self.expect("POLICY")?;
            let name = self.ident()?;
            self.expect("ON")?;
            let db = self.ident()?;
            self.expect("DURATION")?;
            let duration = self.duration()?;
            // influxd requires REPLICATION; tandem lets it default to the
            // cluster's replication factor.
            let replication = if self.accept("REPLICATION") {
                Some(self.replication()?)
            } else {
                None
            };
            let shard_duration = if self.accept("SHARD") {
                self.expect("DURATION")?;
                Some(self.duration()?)
            } else {
                None
            };
            let default = self.accept("DEFAULT");
            return Ok(Statement::CreateRetentionPolicy {
                db,
                spec: RetentionPolicySpec {
                    name: Some(name),
                    duration: Some(duration),
                    replication,
                    shard_duration,
                },
                default,
            });
        }
        if self.accept("USER") {
            let name = self.ident()?;
            self.expect("WITH")?;
            self.expect("PASSWORD")?;
            let password = self.string()?;
            let admin = if self.accept("WITH") {
                self.expect("ALL")?;
                self.expect("PRIVILEGES")?;
                true
            } else {
                false
            };
            return Ok(Statement::CreateUser {
                name,
                password,
                admin,
            });
        }
        if self.accept("TOKEN") {
            self.expect("FOR")?;
            let user = self.ident()?;
            let description = if self.accept("WITH") {
                self.expect("DESCRIPTION")?;
                self.string()?
            } else {
                String::new()
            };
            return Ok(Statement::CreateToken { user, description });
        }
        let t = self.peek().clone();
        match &t.tok {
            Tok::Word(w) if STATEMENT_WORDS.contains(&w.to_ascii_uppercase().as_str()) => {
                Err(self.unsupported("CREATE"))
            }
            _ => Err(self.error(&t, "CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION")),
        }
    }

    fn drop(&mut self) -> PResult<Statement> {
        if self.accept("DATABASE") {
            return Ok(Statement::DropDatabase { name: self.ident()? });
        }
        if self.accept("RETENTION") {
            self.expect("POLICY")?;
            let name = self.ident()?;
            self.expect("ON")?;
            let db = self.ident()?;
            return Ok(Statement::DropRetentionPolicy { db, name });
        }
        if self.accept("USER") {
            return Ok(Statement::DropUser { name: self.ident()? });
        }
        if self.accept("TOKEN") {
            return Ok(Statement::DropToken { id: self.string()? });
        }
        let t = self.peek().clone();
        match &t.tok {
            Tok::Word(w) if STATEMENT_WORDS.contains(&w.to_ascii_uppercase().as_str()) => {
                Err(self.unsupported("DROP"))
            }
            _ => Err(self.error(
                &t,
                "CONTINUOUS, DATABASE, MEASUREMENT, RETENTION, SERIES, SHARD, SUBSCRIPTION, USER",
            )),
        }
    }

    fn alter_retention_policy(&mut self) -> PResult<Statement> {
        let name = self.ident()?;
        self.expect("ON")?;
        let db = self.ident()?;
        let mut update = RetentionPolicyUpdate::default();
        let mut any = false;
        loop {
            if update.duration.is_none() && self.accept("DURATION") {
                update.duration = Some(self.duration()?);
            } else if update.replication.is_none() && self.accept("REPLICATION") {
                update.replication = Some(self.replication()?);
            } else if update.shard_duration.is_none() && self.accept("SHARD") {
                self.expect("DURATION")?;
                update.shard_duration = Some(self.duration()?);
            } else if !update.make_default && self.accept("DEFAULT") {
                update.make_default = true;
            } else {
                break;
            }
            any = true;
        }
        if !any {
            let t = self.peek().clone();
            return Err(self.error(&t, "DURATION, REPLICATION, SHARD, DEFAULT"));
        }
        Ok(Statement::AlterRetentionPolicy { db, name, update })
    }

    /// `READ`, `WRITE` or `ALL [PRIVILEGES]`.
    fn privilege(&mut self) -> PResult<Privilege> {
        let t = self.next();
        if t.tok.is_word("READ") {
            Ok(Privilege::Read)
        } else if t.tok.is_word("WRITE") {
            Ok(Privilege::Write)
        } else if t.tok.is_word("ALL") {
            self.accept("PRIVILEGES");
            Ok(Privilege::All)
        } else {
            Err(self.error(&t, "READ, WRITE, ALL [PRIVILEGES]"))
        }
    }

    fn grant(&mut self) -> PResult<Statement> {
        let privilege = self.privilege()?;
        if privilege == Privilege::All && self.accept("TO") {
            return Ok(Statement::SetAdmin {
                user: self.ident()?,
                admin: true,
            });
        }
        self.expect("ON")?;
        let db = self.ident()?;
        self.expect("TO")?;
        let user = self.ident()?;
        Ok(Statement::Grant { privilege, db, user })
    }

    fn revoke(&mut self) -> PResult<Statement> {
        let privilege = self.privilege()?;
        if privilege == Privilege::All && self.accept("FROM") {
            return Ok(Statement::SetAdmin {
                user: self.ident()?,
                admin: false,
            });
        }
        self.expect("ON")?;
        let db = self.ident()?;
        self.expect("FROM")?;
        let user = self.ident()?;
        Ok(Statement::Revoke { privilege, db, user })
    }
}

/// Parses `;`-separated statements (empty statements are skipped).
pub fn parse(query: &str) -> Result<Vec<Statement>, ParseFailure> {
    let tokens = lex(query).map_err(ParseFailure::Syntax)?;
    let mut p = Parser { tokens, pos: 0 };
    let mut out = Vec::new();
    loop {
        match p.peek().tok {
            Tok::Eof => return Ok(out),
            Tok::Semicolon => {
                p.pos += 1;
                continue;
            }
            _ => {}
        }
        out.push(p.statement()?);
        let t = p.next();
        match t.tok {
            Tok::Semicolon => {}
            Tok::Eof => return Ok(out),
            _ => return Err(p.error(&t, ";")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Duration = Duration::from_secs(3600);
    const D: Duration = Duration::from_secs(86400);

    fn ok(stmts: Vec<Statement>) -> Result<Vec<Statement>, ParseFailure> {
        Ok(stmts)
    }

    fn syntax(msg: &str) -> Result<Vec<Statement>, ParseFailure> {
        Err(ParseFailure::Syntax(msg.into()))
    }

    fn unsupported(kind: &str) -> Result<Vec<Statement>, ParseFailure> {
        Err(ParseFailure::Unsupported(kind.into()))
    }

    fn rp(
        name: Option<&str>,
        d: Option<Duration>,
        r: Option<u32>,
        sd: Option<Duration>,
    ) -> RetentionPolicySpec {
        RetentionPolicySpec {
            name: name.map(str::to_owned),
            duration: d,
            replication: r,
            shard_duration: sd,
        }
    }

    #[test]
    fn statements_parse_and_print_canonically() {
        use Statement as S;
        // (input, parsed, canonical text of each statement)
        let cases: Vec<(&str, Vec<Statement>, Vec<&str>)> = vec![
            (
                "CREATE DATABASE mydb",
                vec![S::CreateDatabase {
                    name: "mydb".into(),
                    policy: None,
                }],
                vec!["CREATE DATABASE mydb"],
            ),
            (
                "create database \"my db\"",
                vec![S::CreateDatabase {
                    name: "my db".into(),
                    policy: None,
                }],
                vec!["CREATE DATABASE \"my db\""],
            ),
            (
                "CREATE DATABASE \"select\" WITH DURATION 7d REPLICATION 3 SHARD DURATION 1h NAME week",
                vec![S::CreateDatabase {
                    name: "select".into(),
                    policy: Some(rp(Some("week"), Some(7 * D), Some(3), Some(H))),
                }],
                vec!["CREATE DATABASE \"select\" WITH DURATION 1w REPLICATION 3 SHARD DURATION 1h NAME week"],
            ),
            (
                "CREATE DATABASE db WITH NAME rp",
                vec![S::CreateDatabase {
                    name: "db".into(),
                    policy: Some(rp(Some("rp"), None, None, None)),
                }],
                vec!["CREATE DATABASE db WITH NAME rp"],
            ),
            (
                "DROP DATABASE db",
                vec![S::DropDatabase { name: "db".into() }],
                vec!["DROP DATABASE db"],
            ),
            ("SHOW DATABASES", vec![S::ShowDatabases], vec!["SHOW DATABASES"]),
            (
                "CREATE RETENTION POLICY \"one_day\" ON db DURATION 1d REPLICATION 2 SHARD DURATION 30m DEFAULT",
                vec![S::CreateRetentionPolicy {
                    db: "db".into(),
                    spec: rp(Some("one_day"), Some(D), Some(2), Some(Duration::from_secs(1800))),
                    default: true,
                }],
                vec![
                    "CREATE RETENTION POLICY one_day ON db DURATION 1d REPLICATION 2 SHARD DURATION 30m DEFAULT",
                ],
            ),
            (
                "CREATE RETENTION POLICY forever ON db DURATION INF",
                vec![S::CreateRetentionPolicy {
                    db: "db".into(),
                    spec: rp(Some("forever"), Some(Duration::ZERO), None, None),
                    default: false,
                }],
                vec!["CREATE RETENTION POLICY forever ON db DURATION 0s"],
            ),
            (
                "ALTER RETENTION POLICY rp ON db REPLICATION 3 DEFAULT DURATION 1h30m",
                vec![S::AlterRetentionPolicy {
                    db: "db".into(),
                    name: "rp".into(),
                    update: RetentionPolicyUpdate {
                        duration: Some(Duration::from_secs(5400)),
                        replication: Some(3),
                        shard_duration: None,
                        make_default: true,
                    },
                }],
                vec!["ALTER RETENTION POLICY rp ON db DURATION 90m REPLICATION 3 DEFAULT"],
            ),
            (
                "DROP RETENTION POLICY rp ON db",
                vec![S::DropRetentionPolicy {
                    db: "db".into(),
                    name: "rp".into(),
                }],
                vec!["DROP RETENTION POLICY rp ON db"],
            ),
            (
                "SHOW RETENTION POLICIES; show retention policies on \"db\"",
                vec![
                    S::ShowRetentionPolicies { db: String::new() },
                    S::ShowRetentionPolicies { db: "db".into() },
                ],
                vec!["SHOW RETENTION POLICIES", "SHOW RETENTION POLICIES ON db"],
            ),
            (
                "CREATE USER admin WITH PASSWORD 'it''s' WITH ALL PRIVILEGES",
                vec![],
                vec![],
            ),
            (
                "CREATE USER admin WITH PASSWORD 'p\\'w' WITH ALL PRIVILEGES",
                vec![S::CreateUser {
                    name: "admin".into(),
                    password: "p'w".into(),
                    admin: true,
                }],
                vec!["CREATE USER admin WITH PASSWORD [REDACTED] WITH ALL PRIVILEGES"],
            ),
            (
                "CREATE USER bob WITH PASSWORD 'x'",
                vec![S::CreateUser {
                    name: "bob".into(),
                    password: "x".into(),
                    admin: false,
                }],
                vec!["CREATE USER bob WITH PASSWORD [REDACTED]"],
            ),
            (
                "DROP USER bob",
                vec![S::DropUser { name: "bob".into() }],
                vec!["DROP USER bob"],
            ),
            ("SHOW USERS", vec![S::ShowUsers], vec!["SHOW USERS"]),
            (
                "SET PASSWORD FOR bob = 'new'",
                vec![S::SetPassword {
                    name: "bob".into(),
                    password: "new".into(),
                }],
                vec!["SET PASSWORD FOR bob = [REDACTED]"],
            ),
            (
                "GRANT ALL PRIVILEGES TO bob; GRANT ALL TO bob; REVOKE ALL FROM bob",
                vec![
                    S::SetAdmin {
                        user: "bob".into(),
                        admin: true,
                    },
                    S::SetAdmin {
                        user: "bob".into(),
                        admin: true,
                    },
                    S::SetAdmin {
                        user: "bob".into(),
                        admin: false,
                    },
                ],
                vec![
                    "GRANT ALL PRIVILEGES TO bob",
                    "GRANT ALL PRIVILEGES TO bob",
                    "REVOKE ALL PRIVILEGES FROM bob",
                ],
            ),
            (
                "GRANT READ ON db TO bob; REVOKE ALL PRIVILEGES ON db FROM bob; GRANT WRITE ON \"db\" TO \"bob\"",
                vec![
                    S::Grant {
                        privilege: Privilege::Read,
                        db: "db".into(),
                        user: "bob".into(),
                    },
                    S::Revoke {
                        privilege: Privilege::All,
                        db: "db".into(),
                        user: "bob".into(),
                    },
                    S::Grant {
                        privilege: Privilege::Write,
                        db: "db".into(),
                        user: "bob".into(),
                    },
                ],
                vec![
                    "GRANT READ ON db TO bob",
                    "REVOKE ALL PRIVILEGES ON db FROM bob",
                    "GRANT WRITE ON db TO bob",
                ],
            ),
            (
                "SHOW GRANTS FOR bob",
                vec![S::ShowGrants { user: "bob".into() }],
                vec!["SHOW GRANTS FOR bob"],
            ),
            (
                "CREATE TOKEN FOR bob; create token for \"my user\" with description 'it\\'s CI'",
                vec![
                    S::CreateToken {
                        user: "bob".into(),
                        description: String::new(),
                    },
                    S::CreateToken {
                        user: "my user".into(),
                        description: "it's CI".into(),
                    },
                ],
                vec![
                    "CREATE TOKEN FOR bob",
                    "CREATE TOKEN FOR \"my user\" WITH DESCRIPTION 'it\\'s CI'",
                ],
            ),
            (
                "SHOW TOKENS; DROP TOKEN '0123456789abcdef'",
                vec![
                    S::ShowTokens,
                    S::DropToken {
                        id: "0123456789abcdef".into(),
                    },
                ],
                vec!["SHOW TOKENS", "DROP TOKEN '0123456789abcdef'"],
            ),
            (
                // The token words are no keywords: still valid names.
                "CREATE DATABASE token; DROP USER tokens",
                vec![
                    S::CreateDatabase {
                        name: "token".into(),
                        policy: None,
                    },
                    S::DropUser {
                        name: "tokens".into(),
                    },
                ],
                vec!["CREATE DATABASE token", "DROP USER tokens"],
            ),
            (
                ";; SHOW DATABASES ; -- comment\n /* block */ SHOW USERS;",
                vec![S::ShowDatabases, S::ShowUsers],
                vec!["SHOW DATABASES", "SHOW USERS"],
            ),
            ("", vec![], vec![]),
        ];
        for (input, want, texts) in cases {
            let got = parse(input);
            if want.is_empty() && !input.is_empty() {
                assert!(got.is_err(), "{input:?} should not parse: {got:?}");
                continue;
            }
            assert_eq!(got, ok(want.clone()), "{input:?}");
            let printed: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(printed, texts, "{input:?}");
            // The canonical text parses back to the same statement (minus
            // redacted passwords).
            for s in want
                .iter()
                .filter(|s| !matches!(s, S::CreateUser { .. } | S::SetPassword { .. }))
            {
                assert_eq!(parse(&s.to_string()), ok(vec![s.clone()]), "reparse {s}");
            }
        }
    }

    #[test]
    fn errors_name_what_was_found() {
        let cases = [
            ("SELECT * FROM cpu", unsupported("SELECT")),
            (
                "select mean(v) from cpu; CREATE DATABASE x",
                unsupported("SELECT"),
            ),
            ("SHOW MEASUREMENTS", unsupported("SHOW MEASUREMENTS")),
            ("SHOW TAG VALUES WITH KEY = host", unsupported("SHOW TAG VALUES")),
            (
                "show field key cardinality",
                unsupported("SHOW FIELD KEY CARDINALITY"),
            ),
            ("SHOW SERIES FROM cpu", unsupported("SHOW SERIES")),
            ("DROP MEASUREMENT cpu", unsupported("DROP MEASUREMENT")),
            ("DROP SERIES FROM cpu", unsupported("DROP SERIES")),
            ("DELETE FROM cpu", unsupported("DELETE")),
            (
                "CREATE CONTINUOUS QUERY cq ON db BEGIN END",
                unsupported("CREATE CONTINUOUS QUERY"),
            ),
            ("EXPLAIN ANALYZE SELECT 1", unsupported("EXPLAIN ANALYZE")),
            ("KILL QUERY 1", unsupported("KILL QUERY")),
            ("CREATE DATABASE db; SELECT 1", unsupported("SELECT")),
            (
                "FOO",
                syntax(
                    "found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1",
                ),
            ),
            (
                "CREATE DATABASE",
                syntax("found EOF, expected identifier at line 1, char 16"),
            ),
            (
                "CREATE DATABASE database",
                syntax("found DATABASE, expected identifier at line 1, char 17"),
            ),
            (
                "CREATE DATABSE x",
                syntax(
                    "found DATABSE, expected CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION at line 1, char 8",
                ),
            ),
            (
                "CREATE DATABASE x WITH",
                syntax("found EOF, expected DURATION, NAME, REPLICATION, SHARD at line 1, char 23"),
            ),
            (
                "CREATE RETENTION POLICY rp ON db DURATION 3600",
                syntax("found 3600, expected duration at line 1, char 43"),
            ),
            (
                "CREATE RETENTION POLICY rp ON db DURATION 1x",
                syntax("found 1x, expected duration at line 1, char 43"),
            ),
            (
                "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 0",
                syntax("invalid value 0: must be 1 <= n <= 2147483647 at line 1, char 58"),
            ),
            (
                "ALTER RETENTION POLICY rp ON db",
                syntax("found EOF, expected DURATION, REPLICATION, SHARD, DEFAULT at line 1, char 32"),
            ),
            (
                "SHOW DATABASES extra",
                syntax("found extra, expected ; at line 1, char 16"),
            ),
            (
                "SHOW DATABASES;\nSHOW FOO",
                syntax(
                    "found FOO, expected CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS at line 2, char 6",
                ),
            ),
            (
                "CREATE USER u WITH PASSWORD 'unterminated",
                syntax("found 'unterminated, expected string at line 1, char 29"),
            ),
            (
                "SET PASSWORD FOR u 'x'",
                syntax("found 'x', expected = at line 1, char 20"),
            ),
            (
                "CREATE TOKEN bob",
                syntax("found bob, expected FOR at line 1, char 14"),
            ),
            (
                "CREATE TOKEN FOR bob WITH 'x'",
                syntax("found 'x', expected DESCRIPTION at line 1, char 27"),
            ),
            (
                "CREATE TOKEN FOR bob WITH DESCRIPTION x",
                syntax("found x, expected string at line 1, char 39"),
            ),
            (
                "DROP TOKEN abc",
                syntax("found abc, expected string at line 1, char 12"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), want, "{input:?}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("1h", Some(H)),
            ("1h30m", Some(Duration::from_secs(5400))),
            ("2w", Some(14 * D)),
            ("500ms", Some(Duration::from_millis(500))),
            ("10u", Some(Duration::from_micros(10))),
            ("10µ", Some(Duration::from_micros(10))),
            ("1x", None),
            ("h", None),
            ("99999999999999999999w", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), want, "{text}");
        }
    }

    #[test]
    fn never_panics_on_junk() {
        let junk = [
            "\"",
            "'",
            "/*",
            "--",
            "\\",
            "CREATE USER \"a\\",
            "GRANT",
            "REVOKE ALL",
            "SET",
            "ALTER",
            "ALTER RETENTION",
            "µ",
            "1µs",
            "é",
            ";;;;",
            "CREATE DATABASE x WITH SHARD",
        ];
        for j in junk {
            let _ = parse(j);
        }
    }
}
