//! Differential check of v1 `/write` against the real influxd 1.x
//! (Debian package `influxdb`): every body of
//! `support/differential_cases.rs` (valid, invalid, mixed, type conflicts
//! in a body and against earlier writes, long keys, odd escapes, CRLF,
//! timestamp edges, every precision, large bodies) goes to a fresh
//! database on influxd and on a one-node `tandemd`. The status codes must
//! agree, and so must the stored cells: tandem's `/export` against
//! influxd's `SELECT * FROM /.*/ GROUP BY *` (types from `SHOW FIELD
//! KEYS`), both as (measurement, tags, field, typed value, time). Lines
//! without a timestamp are compared by everything but the time, which must
//! lie within the request on each side. The deliberate differences state
//! each side's outcome and must show as stated.
//!
//! Skipped (with a message) when influxd is not installed, except under CI
//! (`CI` set), where `.ci/run` installs it and a missing binary fails.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/differential_cases.rs"]
mod differential_cases;
#[path = "support/influxd.rs"]
mod influxd;
#[path = "support/raw_json.rs"]
mod raw_json;
#[path = "support/stored_points.rs"]
mod stored_points;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use client::{Req, try_send};
use differential_cases::{Case, Outcome, cases};
use influxd::Influxd;
use stored_points::{Cell, diff, from_line_protocol, from_line_protocol_stamped};
use tandem_lineproto::Precision;
use tandemd_http::{Tandemd, export, query_ok};

/// Time given to lines without a timestamp, after normalizing.
const STAMPED: i64 = i64::MIN;

fn now_ns() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()).unwrap()
}

/// One side's answer to one case.
#[derive(Debug, Default, Clone)]
struct Answer {
    prelude: Vec<u16>,
    status: u16,
    error: String,
    /// Receive-time window of the body's request.
    window: (i64, i64),
    stored: Vec<Cell>,
}

async fn write(addr: SocketAddr, db: &str, precision: &str, query: &str, body: &[u8]) -> (u16, String) {
    let mut target = format!("/write?db={db}{query}");
    if !precision.is_empty() {
        target.push_str(&format!("&precision={precision}"));
    }
    let r = try_send(addr, &Req::post(&target, body.to_vec()), Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("write to {addr}: {e}"));
    let error = if r.body.is_empty() {
        String::new()
    } else {
        serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| r.text())
    };
    (r.status, error)
}

async fn send_case(addr: SocketAddr, db: &str, case: &Case) -> Answer {
    let mut a = Answer::default();
    for body in &case.prelude {
        a.prelude.push(write(addr, db, "", "", body).await.0);
    }
    let before = now_ns();
    let (status, error) = write(addr, db, case.precision, case.query, &case.body).await;
    a.window = (before, now_ns());
    a.status = status;
    a.error = error;
    a
}

fn unit_ns(precision: &str) -> i64 {
    match precision {
        "u" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => 1,
    }
}

/// Replaces receive-time stamps (within the request's window, truncated to
/// the precision) by `STAMPED`.
fn normalize(cells: &mut [Cell], window: (i64, i64), precision: &str) {
    let unit = unit_ns(precision);
    let lo = window.0 - window.0.rem_euclid(unit);
    for c in cells.iter_mut() {
        if (lo..=window.1).contains(&c.time) {
            c.time = STAMPED;
        }
    }
    cells.sort();
}

fn expected_cells(o: &Outcome) -> Vec<Cell> {
    from_line_protocol_stamped(&o.stored, Precision::Nanosecond, STAMPED)
}

/// The verdict on one case: `Ok(agreed)` or the problem.
fn judge(case: &Case, influx: &Answer, tandem: &Answer) -> Result<bool, String> {
    let same_status = influx.status == tandem.status && influx.prelude == tandem.prelude;
    let same_cells = influx.stored == tandem.stored;
    let same_text = influx.error == tandem.error;
    match &case.difference {
        None if same_status && same_cells => match (same_text, case.text_differs) {
            (true, None) => Ok(true),
            (false, Some(_)) => Ok(true),
            (true, Some(key)) => Err(format!("documented text difference {key:?} did not show")),
            (false, None) => Err(format!(
                "same status and points, other text: influxd {:?}, tandem {:?}",
                influx.error, tandem.error
            )),
        },
        None => Err(format!(
            "influxd {} {:?} prelude {:?}, tandem {} {:?} prelude {:?}\n{}",
            influx.status,
            influx.error,
            influx.prelude,
            tandem.status,
            tandem.error,
            tandem.prelude,
            diff("influxd", &influx.stored, "tandem", &tandem.stored, 5)
        )),
        Some(d) => {
            let mut problems = Vec::new();
            if influx.prelude != tandem.prelude {
                problems.push(format!(
                    "preludes answered {:?} by influxd, {:?} by tandem",
                    influx.prelude, tandem.prelude
                ));
            }
            for (side, want, got) in [("influxd", &d.influxd, influx), ("tandem", &d.tandem, tandem)] {
                if got.status != want.status {
                    problems.push(format!(
                        "{side} answered {} {:?} (want {})",
                        got.status, got.error, want.status
                    ));
                }
                let cells = expected_cells(want);
                if got.stored != cells {
                    problems.push(format!(
                        "{side} stored other cells:\n{}",
                        diff("expected", &cells, side, &got.stored, 5)
                    ));
                }
            }
            if same_status && same_cells {
                problems.push(format!("documented difference {} did not show", d.doc_key));
            }
            if problems.is_empty() {
                Ok(false)
            } else {
                Err(problems.join("\n"))
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_writes_match_influxd() {
    let Some(bin) = influxd::binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "influxd is not installed: .ci/run must install the Debian package influxdb"
        );
        eprintln!("SKIPPED: influxd not found (apt-get install influxdb, or set TANDEM_TEST_INFLUXD)");
        return;
    };
    let cases = cases();
    assert!(cases.len() >= 150, "only {} bodies", cases.len());
    let documented = documented_differences();
    for c in &cases {
        for key in c
            .difference
            .as_ref()
            .map(|d| d.doc_key)
            .into_iter()
            .chain(c.text_differs)
        {
            assert!(
                documented.iter().any(|k| k == key),
                "{}: difference {key:?} is not in the deliberate-differences table of docs/HTTP-ERRORS.md",
                c.name,
            );
        }
    }
    let t0 = std::time::Instant::now();
    let (influx, tandem) = tokio::join!(Influxd::start(&bin), Tandemd::start(false));
    let started_in = t0.elapsed();
    eprintln!("influxd {} vs tandem", influx.version);

    let dbs: Vec<String> = (0..cases.len()).map(|i| format!("d{i:03}")).collect();
    let create: Vec<String> = dbs.iter().map(|d| format!("CREATE DATABASE {d}")).collect();
    let create_all = |addr| {
        let create = &create;
        async move {
            for chunk in create.chunks(50) {
                query_ok(addr, &chunk.join("; "), "").await;
            }
        }
    };
    tokio::join!(create_all(influx.http), create_all(tandem.http));
    let created_in = t0.elapsed() - started_in;

    let started = std::time::Instant::now();
    let mut answers = Vec::new();
    for (case, db) in cases.iter().zip(&dbs) {
        let (i, t) = tokio::join!(send_case(influx.http, db, case), send_case(tandem.http, db, case));
        answers.push((i, t));
    }

    let written = started.elapsed();
    let mut failures = Vec::new();
    let mut agreed = 0;
    for ((case, db), (influx_answer, tandem_answer)) in cases.iter().zip(&dbs).zip(answers.iter_mut()) {
        influx_answer.stored = match influx.stored(db).await {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: influxd read-back: {e}", case.name));
                continue;
            }
        };
        tandem_answer.stored = match export(tandem.http, db, "local").await {
            Ok(text) => from_line_protocol(text.as_bytes(), Precision::Nanosecond),
            Err(e) => {
                failures.push(format!("{}: tandem export: {e}", case.name));
                continue;
            }
        };
        normalize(&mut influx_answer.stored, influx_answer.window, case.precision);
        normalize(&mut tandem_answer.stored, tandem_answer.window, case.precision);
        match judge(case, influx_answer, tandem_answer) {
            Ok(true) if case.text_differs.is_none() => agreed += 1,
            Ok(_) => {}
            Err(e) => failures.push(format!("{} ({db}): {e}", case.name)),
        }
    }
    let deliberate = cases
        .iter()
        .filter(|c| c.difference.is_some() || c.text_differs.is_some())
        .count();
    eprintln!(
        "{} bodies: {agreed} agree with influxd (status, stored points, error text), \
         {deliberate} deliberate differences, {} failures; start {started_in:?}, databases {created_in:?}, \
         writes {written:?}, read-back {:?}",
        cases.len(),
        failures.len(),
        started.elapsed() - written
    );
    assert!(
        failures.is_empty(),
        "{} bodies disagree:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The first cells of the rows of the deliberate-differences table in
/// `docs/HTTP-ERRORS.md`.
fn documented_differences() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/HTTP-ERRORS.md");
    let doc = std::fs::read_to_string(path).expect("docs/HTTP-ERRORS.md");
    let section = doc
        .split("## Deliberate differences")
        .nth(1)
        .expect("a deliberate-differences section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .filter_map(|l| l[2..].split(" | ").next().map(str::to_owned))
        .collect()
}
