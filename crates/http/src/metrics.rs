//! Request counters and latency histograms of the HTTP layer, rendered in
//! the Prometheus text format (`/metrics`) and as influxd's `httpd`
//! statistics (`/debug/vars`). Only what this layer observes itself; the
//! coordinator's counters are added at render time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tandem_coordinator::stats::WriteStatsSnapshot;

/// The endpoints, as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Write,
    WriteV2,
    Query,
    Ping,
    Health,
    Metrics,
    DebugVars,
    Export,
    Other,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Write,
        Endpoint::WriteV2,
        Endpoint::Query,
        Endpoint::Ping,
        Endpoint::Health,
        Endpoint::Metrics,
        Endpoint::DebugVars,
        Endpoint::Export,
        Endpoint::Other,
    ];

    pub fn from_path(path: &str) -> Self {
        match path {
            "/write" => Endpoint::Write,
            "/api/v2/write" => Endpoint::WriteV2,
            "/query" => Endpoint::Query,
            "/ping" => Endpoint::Ping,
            "/health" => Endpoint::Health,
            "/metrics" => Endpoint::Metrics,
            "/debug/vars" => Endpoint::DebugVars,
            "/export" => Endpoint::Export,
            _ => Endpoint::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Write => "write",
            Endpoint::WriteV2 => "write_v2",
            Endpoint::Query => "query",
            Endpoint::Ping => "ping",
            Endpoint::Health => "health",
            Endpoint::Metrics => "metrics",
            Endpoint::DebugVars => "debug_vars",
            Endpoint::Export => "export",
            Endpoint::Other => "other",
        }
    }

    pub fn is_write(self) -> bool {
        matches!(self, Endpoint::Write | Endpoint::WriteV2)
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// Key of the request counter: endpoint, status, consistency label.
type RequestKey = (Endpoint, u16, &'static str);

/// The HTTP layer's counters. One per server; cheap to update.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    latency: [Histogram; Endpoint::ALL.len()],
    active: AtomicI64,
    points_written: AtomicU64,
    points_dropped: AtomicU64,
    wire_bytes: AtomicU64,
    decoded_bytes: AtomicU64,
    auth_failures: AtomicU64,
}

/// The `consistency` label of a write request: the level, `one` when
/// absent, `invalid` otherwise.
pub fn consistency_label(param: &str) -> &'static str {
    match param.parse::<tandem_model::ConsistencyLevel>() {
        Ok(level) => level.as_str(),
        Err(_) if param.is_empty() => "one",
        Err(_) => "invalid",
    }
}

impl Metrics {
    pub fn request_started(&self) {
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_finished(
        &self,
        endpoint: Endpoint,
        status: u16,
        consistency: &'static str,
        took: Duration,
    ) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        self.latency[endpoint as usize].observe(took);
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((endpoint, status, consistency)).or_insert(0) += 1;
        }
    }

    /// Bytes of one write body: on the wire and after decoding.
    pub fn body_read(&self, wire: u64, decoded: u64) {
        self.wire_bytes.fetch_add(wire, Ordering::Relaxed);
        self.decoded_bytes.fetch_add(decoded, Ordering::Relaxed);
    }

    /// Points of one served write request: acknowledged, and dropped
    /// (partial write).
    pub fn points(&self, written: u64, dropped: u64) {
        self.points_written.fetch_add(written, Ordering::Relaxed);
        self.points_dropped.fetch_add(dropped, Ordering::Relaxed);
    }

    pub fn auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn requests(&self) -> BTreeMap<RequestKey, u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// influxd's `httpd` statistic values (the ones this layer can count).
    pub fn httpd_values(&self) -> BTreeMap<&'static str, i64> {
        let reqs = self.requests();
        let count = |f: &dyn Fn(&RequestKey) -> bool| -> i64 {
            reqs.iter().filter(|(k, _)| f(k)).map(|(_, n)| *n as i64).sum()
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as i64;
        let ns = |e: Endpoint| self.latency[e as usize].sum_ns.load(Ordering::Relaxed) as i64;
        let mut v = BTreeMap::new();
        v.insert("req", count(&|_| true));
        v.insert("writeReq", count(&|k| k.0.is_write()));
        v.insert("queryReq", count(&|k| k.0 == Endpoint::Query));
        v.insert("pingReq", count(&|k| k.0 == Endpoint::Ping));
        v.insert("clientError", count(&|k| (400..500).contains(&k.1)));
        v.insert("serverError", count(&|k| k.1 >= 500));
        v.insert("reqActive", self.active.load(Ordering::Relaxed));
        v.insert("writeReqBytes", get(&self.wire_bytes));
        v.insert("pointsWrittenOK", get(&self.points_written));
        v.insert("pointsWrittenDropped", get(&self.points_dropped));
        v.insert("authFail", get(&self.auth_failures));
        v.insert("reqDurationNs", Endpoint::ALL.iter().map(|&e| ns(e)).sum());
        v.insert("writeReqDurationNs", ns(Endpoint::Write) + ns(Endpoint::WriteV2));
        v.insert("queryReqDurationNs", ns(Endpoint::Query));
        v
    }

    /// Appends this layer's families and the coordinator's counters in the
    /// Prometheus text format.
    pub fn render(&self, out: &mut String, write: &WriteStatsSnapshot, writes_in_flight: usize) {
        family(
            out,
            "tandem_http_requests_total",
            "counter",
            "HTTP requests by endpoint, status and write consistency level.",
        );
        for ((endpoint, status, consistency), n) in self.requests() {
            let _ = writeln!(
                out,
                "tandem_http_requests_total{{endpoint=\"{}\",status=\"{status}\",consistency=\"{consistency}\"}} {n}",
                endpoint.label()
            );
        }

        family(
            out,
            "tandem_http_request_duration_seconds",
            "histogram",
            "Time from request to response, by endpoint.",
        );
        for e in Endpoint::ALL {
            let h = &self.latency[e as usize];
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "tandem_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{le}\"}} {cumulative}",
                    e.label()
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let sum = h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
            let l = e.label();
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_bucket{{endpoint=\"{l}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_sum{{endpoint=\"{l}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_count{{endpoint=\"{l}\"}} {count}"
            );
        }

        simple(
            out,
            "tandem_http_requests_active",
            "gauge",
            "Requests being served.",
            self.active.load(Ordering::Relaxed),
        );
        family(
            out,
            "tandem_http_write_points_total",
            "counter",
            "Points of served write requests: written (acknowledged at the requested level) and dropped (partial write).",
        );
        for (outcome, a) in [
            ("written", &self.points_written),
            ("dropped", &self.points_dropped),
        ] {
            let _ = writeln!(
                out,
                "tandem_http_write_points_total{{outcome=\"{outcome}\"}} {}",
                a.load(Ordering::Relaxed)
            );
        }
        family(
            out,
            "tandem_http_write_bytes_total",
            "counter",
            "Bytes of write bodies, as received (wire) and after gunzip (decoded).",
        );
        for (stage, a) in [("wire", &self.wire_bytes), ("decoded", &self.decoded_bytes)] {
            let _ = writeln!(
                out,
                "tandem_http_write_bytes_total{{stage=\"{stage}\"}} {}",
                a.load(Ordering::Relaxed)
            );
        }
        simple(
            out,
            "tandem_http_auth_failures_total",
            "counter",
            "Requests refused because their credentials were missing or wrong.",
            self.auth_failures.load(Ordering::Relaxed) as i64,
        );

        let counters = [
            (
                "point_req",
                write.point_req,
                "Points that reached the shard stage.",
            ),
            (
                "point_req_local",
                write.point_req_local,
                "Points sent to this node as owner.",
            ),
            (
                "point_req_remote",
                write.point_req_remote,
                "Points sent to remote owners.",
            ),
            (
                "point_req_hh",
                write.point_req_hh,
                "Points queued in hinted handoff.",
            ),
            (
                "write_ok",
                write.write_ok,
                "Shard writes that met their consistency level.",
            ),
            (
                "write_partial",
                write.write_partial,
                "Shard writes that ended in partial write.",
            ),
            (
                "write_timeout",
                write.write_timeout,
                "Shard writes that timed out.",
            ),
            (
                "write_error",
                write.write_error,
                "Shard writes that failed otherwise.",
            ),
            (
                "write_drop",
                write.write_drop,
                "Points dropped before replication.",
            ),
        ];
        for (name, value, help) in counters {
            simple(
                out,
                &format!("tandem_write_{name}_total"),
                "counter",
                help,
                value as i64,
            );
        }
        simple(
            out,
            "tandem_write_owner_writes_in_flight",
            "gauge",
            "Owner writes still running (including those that outlive their request).",
            writes_in_flight as i64,
        );
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn simple(out: &mut String, name: &str, kind: &str, help: &str, value: i64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_everything() {
        let m = Metrics::default();
        for ms in [0, 2, 2, 30, 20_000] {
            m.request_started();
            m.request_finished(Endpoint::Write, 204, "one", Duration::from_millis(ms));
        }
        let mut out = String::new();
        m.render(&mut out, &WriteStatsSnapshot::default(), 0);
        let line = |prefix: &str| {
            out.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix} missing in\n{out}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        let b = "tandem_http_request_duration_seconds_bucket{endpoint=\"write\"";
        assert_eq!(line(&format!("{b},le=\"0.0005\"}}")), "1");
        assert_eq!(line(&format!("{b},le=\"0.0025\"}}")), "3");
        assert_eq!(line(&format!("{b},le=\"0.05\"}}")), "4");
        assert_eq!(line(&format!("{b},le=\"10\"}}")), "4");
        assert_eq!(line(&format!("{b},le=\"+Inf\"}}")), "5");
        assert_eq!(
            line("tandem_http_requests_total{endpoint=\"write\",status=\"204\",consistency=\"one\"}"),
            "5"
        );
        assert_eq!(line("tandem_http_requests_active"), "0");
        assert_eq!(m.httpd_values()["writeReq"], 5);
    }

    #[test]
    fn consistency_labels() {
        assert_eq!(consistency_label(""), "one");
        assert_eq!(consistency_label("QUORUM"), "quorum");
        assert_eq!(consistency_label("two"), "invalid");
    }
}
