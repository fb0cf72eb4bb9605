//! The generated table of `docs/HTTP-ERRORS.md`, read back as data, and the
//! check of one response against one row. Independent of how the server
//! runs: the same rows can be checked against a real `tandemd` at any
//! address (the recipes that provoke them live with each test).

#![allow(dead_code)]

use super::client::Resp;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub endpoint: String,
    pub condition: String,
    pub status: u16,
    /// The JSON body without its trailing newline.
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// Headers whose presence a row decides: when a row does not list one, the
/// response must not carry it.
pub const DECIDED_HEADERS: [&str; 6] = [
    "Content-Type",
    "X-Influxdb-Error",
    "Www-Authenticate",
    "X-Platform-Error-Code",
    "Retry-After",
    "X-Tandem-Consistency",
];

fn doc_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/HTTP-ERRORS.md")
}

/// Splits a table line on `|` not escaped as `\|`, unescaping cells.
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cur).trim().to_owned()),
            c => cur.push(c),
        }
    }
    out
}

fn unquote(cell: &str) -> &str {
    cell.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or(cell)
}

/// Every row of the generated table.
pub fn rows() -> Vec<Row> {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/HTTP-ERRORS.md");
    let start = doc
        .find("<!-- BEGIN GENERATED: error table -->")
        .expect("begin marker");
    let end = doc
        .find("<!-- END GENERATED: error table -->")
        .expect("end marker");
    doc[start..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id ") && !l.starts_with("|---"))
        .map(|l| {
            let c = cells(l);
            assert_eq!(c.len(), 6, "bad row {l}");
            let headers = c[5]
                .split("<br>")
                .filter(|h| !h.is_empty())
                .map(|h| {
                    let (n, v) = unquote(h).split_once(": ").expect("name: value");
                    (n.to_owned(), v.to_owned())
                })
                .collect();
            Row {
                id: c[0].clone(),
                endpoint: c[1].clone(),
                condition: c[2].clone(),
                status: c[3].parse().expect("status"),
                body: unquote(&c[4]).to_owned(),
                headers,
            }
        })
        .collect()
}

/// Checks `resp` against `row`: status, exact body (plus the newline),
/// every listed header with its exact value and spelling, none of the
/// unlisted decided headers, and the identification headers of every
/// response.
pub fn check(row: &Row, resp: &Resp) -> Result<(), String> {
    let mut problems = Vec::new();
    if resp.status != row.status {
        problems.push(format!("status {} (want {})", resp.status, row.status));
    }
    // Go's reason phrase, which clients may print; hyper's is the RFC 9110
    // one (`Payload Too Large`).
    if resp.status == 413 && resp.reason != "Request Entity Too Large" {
        problems.push(format!(
            "reason {:?} (want \"Request Entity Too Large\")",
            resp.reason
        ));
    }
    let want_body = format!("{}\n", row.body);
    if resp.body != want_body.as_bytes() {
        problems.push(format!("body {:?} (want {:?})", resp.text(), want_body));
    }
    for (name, value) in &row.headers {
        match resp.headers.iter().find(|(n, _)| n == name) {
            Some((_, v)) if v == value => {}
            Some((_, v)) => problems.push(format!("header {name}: {v:?} (want {value:?})")),
            None => problems.push(format!("header {name} missing (got {:?})", resp.headers)),
        }
    }
    for name in DECIDED_HEADERS {
        let listed = row.headers.iter().any(|(n, _)| n == name);
        if !listed && resp.header(name).is_some() {
            problems.push(format!("unexpected header {name}: {:?}", resp.header(name)));
        }
    }
    for name in [
        "X-Influxdb-Version",
        "X-Influxdb-Build",
        "Request-Id",
        "X-Request-Id",
    ] {
        if !resp.headers.iter().any(|(n, _)| n == name) {
            problems.push(format!("header {name} missing"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", row.id, problems.join("; ")))
    }
}
