//! Single-thread parse throughput on the TSBS cpu-only workload, tandem's
//! parser against `influxdb-line-protocol` 2.0.0 in the same run.
//!
//! Run: `cargo bench -p tandem-lineproto --bench parse [-- <lines> <rounds>]`
//! (defaults: 1,000,000 lines from 1,000 hosts, 5 rounds; best round counts).
//!
//! Both parsers get the same bodies of 5,000 lines (a typical write batch),
//! check UTF-8 (ours reuses its buffers across bodies, as tandem's write
//! path does), and must touch every tag key and value, every field value and
//! every timestamp, as a write path does.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tandem_lineproto::{Buffers, FieldValue, ParseOptions, Precision, parse_into};

const BATCH_LINES: usize = 5_000;

fn ours(bodies: &[Vec<u8>]) -> u64 {
    run_ours(bodies, true)
}

fn ours_fresh(bodies: &[Vec<u8>]) -> u64 {
    run_ours(bodies, false)
}

fn run_ours(bodies: &[Vec<u8>], reuse: bool) -> u64 {
    let opts = ParseOptions {
        precision: Precision::Nanosecond,
        default_time: 0,
        allow_unsigned: false,
    };
    let mut acc = 0u64;
    // A server parses every request into the same buffers.
    let mut buffers = Buffers::default();
    for body in bodies {
        if !reuse {
            buffers = Buffers::default();
        }
        let batch = parse_into(body, opts, buffers);
        assert!(batch.errors().is_empty());
        for p in batch.points() {
            acc = acc.wrapping_add(p.measurement().len() as u64);
            for t in p.tags() {
                acc = acc.wrapping_add((t.key.len() + t.value.len()) as u64);
            }
            for f in p.fields() {
                acc = acc.wrapping_add(f.key.len() as u64);
                acc = acc.wrapping_add(match f.value {
                    FieldValue::Integer(v) => v as u64,
                    FieldValue::Unsigned(v) => v,
                    FieldValue::Float(v) => v.to_bits(),
                    FieldValue::Boolean(v) => u64::from(v),
                    FieldValue::String(s) => s.len() as u64,
                });
            }
            acc = acc.wrapping_add(p.timestamp() as u64);
        }
        buffers = batch.into_buffers();
    }
    acc
}

fn iox(bodies: &[Vec<u8>]) -> u64 {
    use influxdb_line_protocol::{FieldValue as F, parse_lines};
    let mut acc = 0u64;
    for body in bodies {
        let text = std::str::from_utf8(body).expect("UTF-8");
        for line in parse_lines(text) {
            let line = line.expect("valid line");
            acc = acc.wrapping_add(line.series.measurement.len() as u64);
            for (k, v) in line.series.tag_set.iter().flatten() {
                acc = acc.wrapping_add((k.len() + v.len()) as u64);
            }
            for (k, v) in &line.field_set {
                acc = acc.wrapping_add(k.len() as u64);
                acc = acc.wrapping_add(match v {
                    F::I64(v) => *v as u64,
                    F::U64(v) => *v,
                    F::F64(v) => v.to_bits(),
                    F::Boolean(v) => u64::from(*v),
                    F::String(s) => s.len() as u64,
                });
            }
            acc = acc.wrapping_add(line.timestamp.unwrap_or(0) as u64);
        }
    }
    acc
}

fn best_of(rounds: usize, bodies: &[Vec<u8>], f: fn(&[Vec<u8>]) -> u64) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(f(black_box(bodies)));
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[allow(clippy::print_stdout)]
fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let lines = args.first().copied().unwrap_or(1_000_000);
    let rounds = args.get(1).copied().unwrap_or(5);
    let mut generator = tandem_tsbs::CpuOnly::new(1_000);
    let bodies: Vec<Vec<u8>> = (0..lines.div_ceil(BATCH_LINES))
        .map(|_| generator.body(BATCH_LINES.min(lines)))
        .collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let total_lines = bodies.len() * BATCH_LINES.min(lines);
    // Both must see every line the same way before they are timed.
    assert_eq!(
        ours(&bodies[..1]),
        iox(&bodies[..1]),
        "parsers disagree on the corpus"
    );
    println!(
        "corpus: {total_lines} lines, {:.1} MB, {:.1} bytes/line, batches of {BATCH_LINES}",
        bytes as f64 / 1e6,
        bytes as f64 / total_lines as f64
    );
    let report = |name: &str, d: Duration| {
        let s = d.as_secs_f64();
        println!(
            "{name:<28} {:>8.1} MB/s {:>12.0} lines/s  ({:.3} s best of {rounds})",
            bytes as f64 / 1e6 / s,
            total_lines as f64 / s,
            s
        );
        s
    };
    // `ours` alone, for profiling.
    if std::env::args().any(|a| a == "ours") {
        report("tandem-lineproto", best_of(rounds, &bodies, ours));
        return;
    }
    // Rounds alternate between the parsers so a change in machine load
    // during the run affects both alike.
    let (mut a, mut b, mut c) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        a = a.min(best_of(1, &bodies, ours));
        c = c.min(best_of(1, &bodies, ours_fresh));
        b = b.min(best_of(1, &bodies, iox));
    }
    let a = report("tandem-lineproto", a);
    let c = report("  (new buffers every body)", c);
    let b = report("influxdb-line-protocol 2.0.0", b);
    println!(
        "speedup: {:.2}x ({:.2}x with new buffers every body)",
        b / a,
        b / c
    );
}
