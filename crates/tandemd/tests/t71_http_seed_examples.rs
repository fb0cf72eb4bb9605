//! Every curl example of the seeds (`shared/seeds/`: the v1 `/write` and
//! v2 `/api/v2/write` requests with `Authorization: Bearer`) sent to a real
//! `tandemd dev --nodes 3`, verbatim (only the host changes; databases `DB`
//! and `BUCKET` exist), and then in variants: every credential form
//! (Bearer, Token with a token and with `user:password`, Basic, `u`/`p`,
//! none), gzip and x-gzip bodies, every precision of each endpoint with an
//! explicit timestamp, and every consistency level. Requests go to the
//! three nodes in turn. Every point is then read back through `/export`
//! from every node, with `scope=local` (that node's own copy: RF 3 on three
//! nodes makes every node an owner) and `scope=cluster`: each export must
//! hold exactly the points sent.
//!
//! The examples are embedded below; when the seeds are present beside the
//! checkout (`../shared/seeds`), the test first checks that the embedded
//! list is exactly the seeds' curl examples.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/stored_points.rs"]
mod stored_points;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use client::{Req, gzip, send};
use stored_points::{Cell, from_line_protocol};
use tandem_lineproto::Precision;
use tandemd_http::{DevCluster, export, query_ok};

/// The seeds' curl examples (seed file, command as printed there).
const SEED_EXAMPLES: [(&str, &str); 4] = [
    (
        "002_a7e5f26a3693707e.txt",
        r#"curl --request POST \
  "http://localhost:8086/api/v2/write?org=ORG&bucket=BUCKET" \
  --header "Authorization: Bearer INFLUX_TOKEN" \
  --header "Content-Type: text/plain" \
  --data-raw 'airSensors,sensor_id=TLM0201 temperature=73.97038159354763,humidity=35.23103248356096,co=0.48445310567793615 1630424257000000000'"#,
    ),
    (
        "003_ad834e8eb1b62f57.txt",
        r#"curl --request POST \
  "http://localhost:8086/write?db=DB" \
  --header "Authorization: Bearer INFLUX_TOKEN" \
  --header "Content-Type: text/plain" \
  --data-raw 'measurement,tag=value field=1.0'"#,
    ),
    (
        "004_41bf0261313528c1.txt",
        r#"curl --request POST \
  "http://localhost:8086/write?db=DB" \
  --header "Authorization: Bearer INFLUX_TOKEN" \
  --header "Content-Type: text/plain" \
  --data-raw 'measurement,tag=value field=1.0'"#,
    ),
    (
        "004_41bf0261313528c1.txt",
        r#"curl --request POST \
  "http://localhost:8086/api/v2/write?bucket=BUCKET" \
  --header "Authorization: Bearer INFLUX_TOKEN" \
  --header "Content-Type: text/plain" \
  --data-raw 'measurement,tag=value field=1.0'"#,
    ),
];

/// A curl command line, parsed.
#[derive(Debug, Clone)]
struct Curl {
    method: String,
    /// Path and query.
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// Splits a shell command into words: single and double quotes, and
/// backslash-newline continuations (all the seeds use).
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'\n') => {
                chars.next();
            }
            '\'' | '"' => {
                let w = cur.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    words
}

fn parse_curl(cmd: &str) -> Curl {
    let words = shell_words(cmd);
    assert_eq!(words[0], "curl", "{cmd}");
    let mut c = Curl {
        method: "GET".into(),
        target: String::new(),
        headers: Vec::new(),
        body: String::new(),
    };
    let mut it = words.into_iter().skip(1);
    while let Some(w) = it.next() {
        match w.as_str() {
            "--request" | "-X" => c.method = it.next().expect("method"),
            "--header" | "-H" => {
                let h = it.next().expect("header");
                let (n, v) = h.split_once(':').expect("name: value");
                c.headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
            "--data-raw" | "--data-binary" => c.body = it.next().expect("data"),
            url if url.starts_with("http://") => {
                let rest = &url["http://".len()..];
                c.target = rest[rest.find('/').expect("path")..].to_owned();
            }
            other => panic!("unknown curl option {other:?} in {cmd}"),
        }
    }
    c
}

/// The curl examples in the seed files: each starts at `curl` and ends at
/// the line that does not continue with a backslash.
fn curl_examples_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("curl --") {
        let mut end = i;
        for line in rest[i..].split_inclusive('\n') {
            end += line.len();
            if !line.trim_end().ends_with('\\') {
                break;
            }
        }
        out.push(rest[i..end].trim().to_owned());
        rest = &rest[end..];
    }
    out
}

fn normalized(cmd: &str) -> String {
    shell_words(cmd).join(" ")
}

#[test]
fn embedded_examples_are_the_seeds_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "seeds not found at {}: checking the embedded examples only",
            dir.display()
        );
        return;
    };
    let mut found: Vec<(String, String)> = Vec::new();
    for e in entries {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for cmd in curl_examples_in(&text) {
            found.push((name.clone(), normalized(&cmd)));
        }
    }
    found.sort();
    let mut embedded: Vec<(String, String)> = SEED_EXAMPLES
        .iter()
        .map(|(f, c)| ((*f).to_owned(), normalized(c)))
        .collect();
    embedded.sort();
    assert_eq!(found, embedded, "the seeds' curl examples changed");
}

/// One request derived from an example.
struct Variant {
    name: String,
    req: Req,
    /// The points it must store, in ns; `None` for the verbatim examples
    /// without a timestamp (the server stamps them).
    expected: Option<String>,
    /// The consistency level `X-Tandem-Consistency` must report.
    level: &'static str,
}

/// An explicit timestamp in each unit, all near 2023-11-14.
fn precisions(v2: bool) -> Vec<(&'static str, i64, i64)> {
    const S: i64 = 1_700_000_000;
    let mut p = vec![
        ("ns", S * 1_000_000_000 + 123_456_789, 1),
        ("ms", S * 1_000 + 123, 1_000_000),
        ("s", S, 1_000_000_000),
    ];
    if v2 {
        p.push(("us", S * 1_000_000 + 123_456, 1_000));
    } else {
        p.extend([
            ("n", S * 1_000_000_000 + 987_654_321, 1),
            ("u", S * 1_000_000 + 654_321, 1_000),
            ("m", S / 60, 60_000_000_000),
            ("h", S / 3_600, 3_600_000_000_000),
        ]);
    }
    p
}

/// The example's line with a `variant` tag and the timestamp `ts`.
fn tagged_line(example_body: &str, variant: &str, ts: Option<i64>) -> String {
    let (series, rest) = example_body.split_once(' ').expect("fields");
    let fields = rest.split(' ').next().expect("fields");
    match ts {
        Some(ts) => format!("{series},variant={variant} {fields} {ts}"),
        None => format!("{series},variant={variant} {fields}"),
    }
}

fn request(c: &Curl, extra_query: &str, headers: &[(&str, &str)], body: Vec<u8>, skip: &[&str]) -> Req {
    let mut req = Req::new(&c.method, &format!("{}{extra_query}", c.target));
    for (n, v) in &c.headers {
        if !skip.iter().any(|s| s.eq_ignore_ascii_case(n)) {
            req = req.header(n, v);
        }
    }
    for (n, v) in headers {
        req = req.header(n, v);
    }
    req.body = body;
    req
}

/// A credential form: name, extra query parameters, extra headers.
type AuthForm = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The variants of one example (`ex` is its index, for unique tags).
fn variants(ex: usize, c: &Curl) -> Vec<Variant> {
    let v2 = c.target.starts_with("/api/v2/");
    let base_ts = 1_700_000_000_000_000_000 + ex as i64;
    let mut out = vec![Variant {
        name: format!("example {ex} verbatim"),
        req: request(c, "", &[], c.body.clone().into_bytes(), &[]),
        expected: if c.body.split(' ').count() == 3 {
            Some(c.body.clone())
        } else {
            None
        },
        level: "one",
    }];
    let auths: [AuthForm; 5] = [
        ("token", "", &[("Authorization", "Token INFLUX_TOKEN")]),
        ("token-userpass", "", &[("Authorization", "Token admin:secret")]),
        // "admin:secret"
        ("basic", "", &[("Authorization", "Basic YWRtaW46c2VjcmV0")]),
        ("query-up", "&u=admin&p=secret", &[]),
        ("none", "", &[]),
    ];
    for (i, (name, query, headers)) in auths.into_iter().enumerate() {
        let tag = format!("auth-{name}");
        let line = tagged_line(&c.body, &tag, Some(base_ts + 10 * i as i64));
        out.push(Variant {
            name: format!("example {ex} {tag}"),
            req: request(c, query, headers, line.clone().into_bytes(), &["Authorization"]),
            expected: Some(line),
            level: "one",
        });
    }
    for (i, encoding) in ["gzip", "x-gzip"].into_iter().enumerate() {
        let line = tagged_line(&c.body, encoding, Some(base_ts + 100 + 10 * i as i64));
        out.push(Variant {
            name: format!("example {ex} {encoding}"),
            req: request(
                c,
                "",
                &[("Content-Encoding", encoding)],
                gzip(line.as_bytes()),
                &[],
            ),
            expected: Some(line),
            level: "one",
        });
    }
    for (name, ts, unit) in precisions(v2) {
        let tag = format!("precision-{name}");
        let line = tagged_line(&c.body, &tag, Some(ts));
        out.push(Variant {
            name: format!("example {ex} {tag}"),
            req: request(c, &format!("&precision={name}"), &[], line.into_bytes(), &[]),
            expected: Some(tagged_line(&c.body, &tag, Some(ts * unit))),
            level: "one",
        });
    }
    for (i, level) in ["any", "one", "quorum", "all"].into_iter().enumerate() {
        let tag = format!("consistency-{level}");
        let line = tagged_line(&c.body, &tag, Some(base_ts + 200 + 10 * i as i64));
        out.push(Variant {
            name: format!("example {ex} {tag}"),
            req: request(
                c,
                &format!("&consistency={level}"),
                &[],
                line.clone().into_bytes(),
                &[],
            ),
            expected: Some(line),
            level,
        });
    }
    out
}

fn now_ns() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()).unwrap()
}

/// Checks a write answer: 204, empty body, the level met on 3 owners.
fn check_write(v: &Variant, resp: &client::Resp) -> Result<(), String> {
    if resp.status != 204 || !resp.body.is_empty() {
        return Err(format!("{}: {} {}", v.name, resp.status, resp.text()));
    }
    let h = resp.header("X-Tandem-Consistency").unwrap_or_default();
    let field = |k: &str| {
        h.split_whitespace()
            .find_map(|p| p.strip_prefix(&format!("{k}=")).map(str::to_owned))
            .unwrap_or_default()
    };
    let acked: usize = field("acked").parse().unwrap_or(0);
    let required: usize = field("required").parse().unwrap_or(usize::MAX);
    if field("level") != v.level || field("owners") != "3" || acked < required {
        return Err(format!("{}: X-Tandem-Consistency {h:?}", v.name));
    }
    Ok(())
}

/// What one database must hold: exact cells, plus server-stamped points
/// known by everything but their time (which lies in a window).
#[derive(Default)]
struct Expected {
    cells: BTreeSet<Cell>,
    stamped: Vec<(Vec<Cell>, i64, i64)>,
}

impl Expected {
    fn matches(&self, got: &[Cell]) -> Result<(), String> {
        let mut rest: Vec<&Cell> = got.iter().filter(|c| !self.cells.contains(c)).collect();
        let missing: Vec<String> = self
            .cells
            .iter()
            .filter(|c| !got.contains(c))
            .map(|c| c.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing: {}", missing.join("; ")));
        }
        for (cells, lo, hi) in &self.stamped {
            for want in cells {
                let pos = rest.iter().position(|c| {
                    c.measurement == want.measurement
                        && c.tags == want.tags
                        && c.field == want.field
                        && c.value == want.value
                        && (*lo..=*hi).contains(&c.time)
                });
                match pos {
                    Some(p) => {
                        rest.remove(p);
                    }
                    None => return Err(format!("missing a server-stamped {want} in [{lo}, {hi}]")),
                }
            }
        }
        if !rest.is_empty() {
            let extra: Vec<String> = rest.iter().map(|c| c.to_string()).collect();
            return Err(format!("unexpected: {}", extra.join("; ")));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_curl_examples_land_on_every_owner() {
    let dev = DevCluster::start(3, "").await;
    query_ok(
        dev.http[0],
        "CREATE DATABASE DB WITH REPLICATION 3; CREATE DATABASE BUCKET WITH REPLICATION 3",
        "",
    )
    .await;
    dev.wait_for_database("DB").await;
    dev.wait_for_database("BUCKET").await;

    let mut expected = [("DB", Expected::default()), ("BUCKET", Expected::default())];
    let mut sent = 0;
    let mut failures = Vec::new();
    for (ex, (_, cmd)) in SEED_EXAMPLES.iter().enumerate() {
        let curl = parse_curl(cmd);
        let db = if curl.target.contains("db=DB") { 0 } else { 1 };
        assert!(curl.target.contains(expected[db].0), "{cmd}");
        for v in variants(ex, &curl) {
            let node = dev.http[sent % dev.http.len()];
            let before = now_ns();
            let resp = send(node, &v.req).await;
            let after = now_ns();
            sent += 1;
            if let Err(e) = check_write(&v, &resp) {
                failures.push(e);
                continue;
            }
            match &v.expected {
                Some(lp) => expected[db]
                    .1
                    .cells
                    .extend(from_line_protocol(lp.as_bytes(), Precision::Nanosecond)),
                None => {
                    let cells =
                        from_line_protocol(format!("{} 0", v.req_body()).as_bytes(), Precision::Nanosecond);
                    expected[db].1.stamped.push((cells, before, after));
                }
            }
        }
    }
    assert!(failures.is_empty(), "writes failed:\n{}", failures.join("\n"));

    // Read back from every node, both scopes; owners that acked after the
    // answer may need a moment.
    let mut checked = 0;
    for (db, want) in &expected {
        for &node in &dev.http {
            for scope in ["local", "cluster"] {
                let start = Instant::now();
                loop {
                    let result = match export(node, db, scope).await {
                        Ok(text) => want.matches(&from_line_protocol(text.as_bytes(), Precision::Nanosecond)),
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(()) => break,
                        Err(e) if start.elapsed() > Duration::from_secs(20) => {
                            panic!("export of {db} from {node} (scope={scope}): {e}")
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
                checked += 1;
            }
        }
    }
    let points: usize = expected
        .iter()
        .map(|(_, e)| e.cells.len() + e.stamped.len())
        .sum();
    eprintln!(
        "{} seed examples, {sent} requests, {points} stored cells checked in {checked} exports",
        SEED_EXAMPLES.len()
    );
    assert!(sent >= 70, "{sent} requests");
}

impl Variant {
    fn req_body(&self) -> String {
        String::from_utf8(self.req.body.clone()).unwrap()
    }
}
