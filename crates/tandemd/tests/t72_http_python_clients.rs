//! The unmodified python clients from PyPI (`influxdb` for the 1.x API,
//! `influxdb-client` for the 2.x API) against real tandem processes: the
//! checks in `tests/clients/` run against a three-node `tandemd dev`
//! cluster (auth off) and a one-node `tandemd` with auth on and no users.
//!
//! The python comes from `TANDEM_TEST_PYTHON`, else the venv `tests/run`
//! creates (`target/venv`). Without it the test is skipped with a message,
//! except under CI (`CI` set), where a missing venv fails the test.

#![allow(clippy::print_stderr)]

#[path = "../../http/tests/support/client.rs"]
mod client;
#[path = "support/tandemd_http.rs"]
mod tandemd_http;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tandemd_http::{DevCluster, Tandemd};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A python that can import both clients, or why there is none.
fn python() -> Result<PathBuf, String> {
    let python = std::env::var_os("TANDEM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import influxdb, influxdb_client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(python)
    } else {
        Err(format!(
            "{} cannot import influxdb and influxdb_client (tests/run creates the venv)",
            python.display()
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_write_to_tandem() {
    let python = match python() {
        Ok(p) => p,
        Err(why) => {
            assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let (dev, auth) = tokio::join!(DevCluster::start(3, ""), Tandemd::start(true));
    let urls: Vec<String> = dev.http.iter().map(|a| format!("http://{a}")).collect();

    let script = workspace().join("tests/clients/run_all.py");
    // Output to a file: a pipe nobody reads while waiting could fill up.
    let log_path = auth.dir().join("python-checks.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(&python)
        .arg(&script)
        .env("TANDEM_URLS", urls.join(","))
        .env("TANDEM_AUTH_URL", format!("http://{}", auth.http))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("run the python checks");
    // Bounded: the checks take seconds; a hung client must not hang CI.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = child.wait().unwrap();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    eprintln!("{output}");
    let summary = output.lines().last().unwrap_or_default();
    assert!(status.success(), "python checks failed ({status}): {summary}");
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        summary.ends_with(" passed, 0 failed") && passed >= 30,
        "unexpected summary {summary:?}"
    );
}
