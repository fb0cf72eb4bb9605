//! Ingest benchmark for the storage engine (run by hand, see
//! docs/BENCHMARKS.md):
//!
//! ```sh
//! cargo bench -p tandem-storage --bench ingest -- [--lines N] [--dir PATH] [--cache-max BYTES] [--cache-stall BYTES]
//! ```
//!
//! TSBS cpu-only-shaped data (measurement `cpu`, 10 tags, 10 integer
//! fields, 1,000 hosts, 10 s interval) is generated directly as `PointsBuf`
//! batches of 5,000 lines on a producer thread and written with fsync on,
//! several batches in flight. One shard per day, as a 1-day shard group
//! would have. Reports lines/s, CPU per line (ingest thread alone, and the
//! whole engine with flushes and compactions), fsync latency of the disk,
//! peak RSS, export throughput and restart times.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tandem_model::{FieldValueRef, PointsBuf, PointsBufBuilder, ShardId, Version};
use tandem_storage::{Engine, EngineOptions, StorageConfig, StorageError, SyncHook, TimeRange};

const HOSTS: usize = 1000;
const START_NS: i64 = 1_451_606_400_000_000_000; // 2016-01-01T00:00:00Z
const INTERVAL_NS: i64 = 10_000_000_000;
const DAY_NS: i64 = 86_400_000_000_000;
const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];

struct Args {
    lines: u64,
    batch: usize,
    in_flight: usize,
    dir: Option<PathBuf>,
    cache_max: Option<u64>,
    cache_stall: Option<u64>,
    fsync_delay_us: u64,
    min_files: Option<usize>,
    max_level: Option<u32>,
    /// Measure flush and compaction alone instead of the ingest run.
    phases: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        lines: 10_000_000,
        batch: 5000,
        in_flight: 8,
        dir: None,
        cache_max: None,
        cache_stall: None,
        fsync_delay_us: 0,
        min_files: None,
        max_level: None,
        phases: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().context("missing value");
        match flag.as_str() {
            "--lines" => a.lines = val()?.parse()?,
            "--batch" => a.batch = val()?.parse()?,
            "--in-flight" => a.in_flight = val()?.parse()?,
            "--dir" => a.dir = Some(PathBuf::from(val()?)),
            "--cache-max" => a.cache_max = Some(val()?.parse()?),
            "--cache-stall" => a.cache_stall = Some(val()?.parse()?),
            "--fsync-delay-us" => a.fsync_delay_us = val()?.parse()?,
            "--min-files" => a.min_files = Some(val()?.parse()?),
            "--max-level" => a.max_level = Some(val()?.parse()?),
            "--phases" => a.phases = true,
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Canonical series keys (tags sorted by key) of the TSBS hosts.
fn host_keys() -> Vec<(String, u64)> {
    const REGIONS: [&str; 9] = [
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
    ];
    const OS: [&str; 3] = ["Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"];
    const ARCH: [&str; 2] = ["x64", "x86"];
    const TEAMS: [&str; 4] = ["SF", "NYC", "LON", "CHI"];
    const ENVS: [&str; 3] = ["production", "staging", "test"];
    let mut r = XorShift(0x2545_F491_4F6C_DD1D);
    (0..HOSTS)
        .map(|h| {
            let region = REGIONS[(r.next() % 9) as usize];
            let key = format!(
                "cpu,arch={},datacenter={}{},hostname=host_{h},os={},rack={},region={region},service={},\
                 service_environment={},service_version={},team={}",
                ARCH[(r.next() % 2) as usize],
                region,
                ["a", "b", "c"][(r.next() % 3) as usize],
                OS[(r.next() % 3) as usize],
                r.next() % 100,
                r.next() % 20,
                ENVS[(r.next() % 3) as usize],
                r.next() % 2,
                TEAMS[(r.next() % 4) as usize],
            );
            let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            (key, hash)
        })
        .collect()
}

/// Yields (shard, version, batch) for `lines` lines, host after host per
/// interval.
struct Generator {
    keys: Vec<(String, u64)>,
    values: Vec<[i64; 10]>,
    rng: XorShift,
    line: u64,
    lines: u64,
    batch: usize,
    seq: u32,
}

impl Generator {
    fn next_batch(&mut self) -> Option<(ShardId, Version, PointsBuf)> {
        if self.line >= self.lines {
            return None;
        }
        let mut b = PointsBufBuilder::new();
        let mut shard = None;
        let n = (self.lines - self.line).min(self.batch as u64);
        for _ in 0..n {
            let host = (self.line % HOSTS as u64) as usize;
            let ts = START_NS + (self.line / HOSTS as u64) as i64 * INTERVAL_NS;
            shard.get_or_insert(ShardId(((ts - START_NS) / DAY_NS) as u64 + 1));
            let vals = &mut self.values[host];
            for v in vals.iter_mut() {
                let step = (self.rng.next() % 3) as i64 - 1;
                *v = (*v + step).clamp(0, 100);
            }
            let (key, hash) = &self.keys[host];
            b.push(
                key.as_bytes(),
                *hash,
                ts,
                FIELDS
                    .iter()
                    .zip(vals.iter())
                    .map(|(k, v)| (k.as_bytes(), FieldValueRef::Integer(*v))),
            );
            self.line += 1;
        }
        self.seq += 1;
        let version = Version {
            hlc_ns: START_NS as u64 + u64::from(self.seq),
            node: 1,
            seq: self.seq,
        };
        Some((shard.unwrap_or(ShardId(1)), version, b.finish()))
    }
}

/// CPU time of the calling thread, ns (first field of schedstat).
fn thread_cpu_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// User + system CPU of the whole process, ns (the same counters
/// getrusage(RUSAGE_SELF) reports, read from /proc to avoid `unsafe`).
fn process_cpu_ns() -> u64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks * (1_000_000_000 / clock_ticks())
}

fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

fn status_kib(field: &str) -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|r| r.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// The peak RSS since the last call, in MiB, then resets the kernel's
/// high-water mark (`clear_refs` 5) so the next phase is measured on its
/// own. Where the reset is refused, peaks accumulate (the figure printed
/// says so).
fn phase_peak_mib() -> (u64, bool) {
    let peak = status_kib("VmHWM:") / 1024;
    let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    (peak, reset)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// fdatasync latency of the data directory's disk for a few write sizes.
fn probe_fsync(dir: &Path) -> Result<()> {
    let path = dir.join("fsync-probe");
    for (size, rounds) in [(4096usize, 300), (1 << 20, 100)] {
        let mut f = File::create(&path)?;
        let buf = vec![0x5Au8; size];
        let mut lat = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            f.write_all(&buf)?;
            let t = Instant::now();
            f.sync_data()?;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "fsync probe: append {:>7} B + fdatasync: p50 {:.2} ms, p99 {:.2} ms ({rounds} rounds)",
            size,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
    }
    fs::remove_file(&path)?;
    Ok(())
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?.join("target").join("storage-bench"),
    };
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root)?;
    probe_fsync(&root)?;
    let data = root.join("data");

    let mut config = StorageConfig::with_dir(&data);
    config.wal_fsync_delay = Duration::from_micros(args.fsync_delay_us);
    if let Some(m) = args.cache_stall {
        config.cache_stall_memory_size = m;
    }
    if let Some(m) = args.cache_max {
        config.cache_max_memory_size = m;
    }
    if let Some(m) = args.min_files {
        config.compaction_min_files = m;
        config.compaction_max_files = config.compaction_max_files.max(m);
    }
    if let Some(m) = args.max_level {
        config.compaction_max_level = m;
    }
    if args.phases {
        return phases(&args, config);
    }
    let syncs = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&syncs);
    let hook: SyncHook = Arc::new(move |p: &Path| {
        if p.extension().is_some_and(|e| e == "wal") {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let opts = EngineOptions {
        node_uuid: Some("bench-node".into()),
        wal_sync_hook: Some(hook),
    };
    println!(
        "config: cache-snapshot-memory-size {} MiB, cache-stall-memory-size {} MiB, cache-max-memory-size {} MiB, wal-fsync-delay {:?}, {} lines in batches of {}, {} in flight",
        config.cache_snapshot_memory_size >> 20,
        config.cache_stall_memory_size >> 20,
        config.cache_max_memory_size >> 20,
        config.wal_fsync_delay,
        args.lines,
        args.batch,
        args.in_flight
    );

    let cpu0 = process_cpu_ns();
    let engine = Engine::open(config.clone(), opts.clone())?;
    let days = (args.lines / HOSTS as u64) as i64 * INTERVAL_NS / DAY_NS + 1;
    for d in 1..=days as u64 {
        engine.create_shard(ShardId(d))?;
    }

    let (tx, rx) = std::sync::mpsc::sync_channel::<(ShardId, Version, PointsBuf)>(4);
    let (lines, batch) = (args.lines, args.batch);
    let producer = std::thread::spawn(move || {
        let start = thread_cpu_ns();
        let mut g = Generator {
            keys: host_keys(),
            values: vec![[50; 10]; HOSTS],
            rng: XorShift(0x9E37_79B9_7F4A_7C15),
            line: 0,
            lines,
            batch,
            seq: 0,
        };
        while let Some(b) = g.next_batch() {
            if tx.send(b).is_err() {
                break;
            }
        }
        thread_cpu_ns() - start
    });

    let t0 = Instant::now();
    let ingest_cpu0 = thread_cpu_ns();
    let mut in_flight = VecDeque::new();
    let (mut written, mut cache_full, mut stalls) = (0u64, 0u64, 0u64);
    for (shard, version, buf) in rx {
        loop {
            // What the data service does before every write.
            if engine.wait_for_room_blocking(shard) {
                stalls += 1;
            }
            match engine.append(shard, version, &buf) {
                Ok(p) => {
                    in_flight.push_back(p);
                    break;
                }
                Err(StorageError::CacheFull { .. }) => {
                    // What a client does with 503 + Retry-After, in short.
                    cache_full += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        while in_flight.len() > args.in_flight {
            if let Some(p) = in_flight.pop_front() {
                written += p.wait()?.written as u64;
            }
        }
    }
    for p in in_flight {
        written += p.wait()?.written as u64;
    }
    let ingest_wall = t0.elapsed();
    let ingest_cpu = thread_cpu_ns() - ingest_cpu0;
    let gen_cpu = producer
        .join()
        .map_err(|_| anyhow::anyhow!("producer panicked"))?;
    let (rss_ingest, _) = phase_peak_mib();
    let cpu_ingest_done = process_cpu_ns();

    let infos: Vec<_> = engine
        .shards()
        .into_iter()
        .map(|s| engine.shard_info(s))
        .collect::<Result<_, _>>()?;

    assert_eq!(written, args.lines, "every line acknowledged");
    let n = args.lines as f64;
    println!(
        "ingest: {} lines in {:.2} s = {:.0} lines/s (acknowledged, fsync on)",
        written,
        ingest_wall.as_secs_f64(),
        n / ingest_wall.as_secs_f64()
    );
    println!(
        "  ingest thread (decode + type check + cache + WAL write): {:.3} µs CPU/line = {:.0} lines/s per core",
        ingest_cpu as f64 / n / 1e3,
        n / (ingest_cpu as f64 / 1e9)
    );
    println!(
        "  all engine threads during ingest (WAL sync, flushes, compactions; generator excluded): {:.3} µs CPU/line",
        (cpu_ingest_done - cpu0 - gen_cpu) as f64 / n / 1e3
    );
    println!(
        "  generator thread: {:.3} µs CPU/line (not counted above)",
        gen_cpu as f64 / n / 1e3
    );
    let s = syncs.load(Ordering::Relaxed);
    println!(
        "  WAL fsyncs: {s} ({:.2} batches per fsync); CacheFull retries: {cache_full}; stalled batches: {stalls}",
        (written as f64 / args.batch as f64) / s.max(1) as f64
    );
    for i in &infos {
        println!(
            "  shard {}: {} files, {:.1} MiB on disk, ~{} points, {:.1} MiB still in memory",
            i.shard,
            i.file_count,
            i.size_on_disk as f64 / 1048576.0,
            i.point_count,
            i.cache_bytes as f64 / 1048576.0
        );
    }
    println!("peak RSS during ingest: {rss_ingest} MiB");

    // Crash: drop without close (WAL records already written are synced,
    // caches are lost), then reopen and replay.
    drop(engine);
    let wal_bytes = dir_bytes(&data.join("wal"));
    let t = Instant::now();
    let engine = Engine::open(config.clone(), opts.clone())?;
    let (rss_replay, reset) = phase_peak_mib();
    println!(
        "restart after crash: {:.0} ms (reopen + replay of {:.1} MiB of WAL); peak RSS {rss_replay} MiB{}",
        t.elapsed().as_secs_f64() * 1e3,
        wal_bytes as f64 / 1048576.0,
        if reset {
            ""
        } else {
            " (since start: clear_refs refused)"
        }
    );

    // Graceful shutdown: final flush.
    let cpu_close0 = process_cpu_ns();
    let t = Instant::now();
    engine.close()?;
    let (rss_close, _) = phase_peak_mib();
    println!(
        "close (flush of everything in memory): {:.2} s, {:.3} µs CPU per ingested line; peak RSS {rss_close} MiB",
        t.elapsed().as_secs_f64(),
        (process_cpu_ns() - cpu_close0) as f64 / n / 1e3
    );
    drop(engine);
    println!(
        "data dir after close: {:.1} MiB",
        dir_bytes(&data) as f64 / 1048576.0
    );
    let t = Instant::now();
    let engine = Engine::open(config.clone(), opts.clone())?;
    println!("restart after close: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    // Export throughput over everything.
    let t = Instant::now();
    let (mut bytes, mut lines_out) = (0u64, 0u64);
    for shard in engine.shards() {
        for chunk in engine.export(shard, TimeRange::ALL)? {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            lines_out += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    let ex = t.elapsed().as_secs_f64();
    println!(
        "export: {lines_out} lines, {:.1} MiB in {ex:.2} s = {:.0} lines/s, {:.1} MiB/s",
        bytes as f64 / 1048576.0,
        lines_out as f64 / ex,
        bytes as f64 / 1048576.0 / ex
    );
    if lines_out != args.lines {
        bail!("export returned {lines_out} lines, wrote {}", args.lines);
    }
    let (rss_export, _) = phase_peak_mib();
    println!("  peak RSS during export: {rss_export} MiB");
    println!(
        "peak RSS of the whole run (ingest, replay, close, export): {} MiB",
        rss_ingest.max(rss_replay).max(rss_close).max(rss_export)
    );
    engine.close()?;
    Ok(())
}

/// Flush and compaction throughput on their own: fill one shard's cache
/// with `--lines` lines (no flush while writing), time the flush; four
/// times (the next stretch of time each); then time a full compaction of
/// the four files.
fn phases(args: &Args, mut config: StorageConfig) -> Result<()> {
    config.cache_snapshot_memory_size = 8 << 30;
    config.cache_max_memory_size = 16 << 30;
    // Nothing may flush while a round writes, not even to trim the WAL.
    config.wal_max_size = u64::MAX;
    let engine = Engine::open(config, EngineOptions::default())?;
    let mut g = Generator {
        keys: host_keys(),
        values: vec![[50; 10]; HOSTS],
        rng: XorShift(1),
        line: 0,
        lines: args.lines,
        batch: args.batch,
        seq: 0,
    };
    let shard = ShardId(1);
    engine.create_shard(shard)?;
    let files = 4u64;
    for round in 1..=files {
        // Each round is the next stretch of time, as in real ingest.
        g.lines = round * args.lines;
        let mut pending = VecDeque::new();
        let t = Instant::now();
        while let Some((_, v, b)) = g.next_batch() {
            pending.push_back(engine.append(shard, v, &b)?);
            if pending.len() > 8
                && let Some(p) = pending.pop_front()
            {
                p.wait()?;
            }
        }
        for p in pending {
            p.wait()?;
        }
        let ingest = t.elapsed().as_secs_f64();
        println!(
            "cache holds {:.1} MiB (accounted); process RSS {} MiB",
            engine.shard_info(shard)?.cache_bytes as f64 / 1048576.0,
            status_kib("VmRSS:") / 1024
        );
        let cpu0 = process_cpu_ns();
        let t = Instant::now();
        engine.flush()?;
        let flush = t.elapsed().as_secs_f64();
        let cpu = (process_cpu_ns() - cpu0) as f64;
        println!(
            "write {} lines: {:.0} lines/s; flush: {:.2} s = {:.0} lines/s, {:.3} µs CPU/line",
            args.lines,
            args.lines as f64 / ingest,
            flush,
            args.lines as f64 / flush,
            cpu / args.lines as f64 / 1e3
        );
    }
    let cpu0 = process_cpu_ns();
    let t = Instant::now();
    engine.compact(shard)?;
    let secs = t.elapsed().as_secs_f64();
    let rows = (files * args.lines) as f64;
    println!(
        "full compaction of {files} files ({rows} rows): {secs:.2} s = {:.0} rows/s, {:.3} µs CPU/row",
        rows / secs,
        (process_cpu_ns() - cpu0) as f64 / rows / 1e3
    );
    println!("peak RSS: {} MiB", status_kib("VmHWM:") / 1024);
    Ok(())
}
