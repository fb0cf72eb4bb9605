//! The TSBS "cpu-only" workload in line protocol, generated
//! deterministically (no RNG crate: a fixed xorshift seed), so every
//! benchmark run and every machine sees the same bytes.
//!
//! Shape, after the Time Series Benchmark Suite's cpu-only use case:
//! measurement `cpu`; 10 tags `hostname, region, datacenter, rack, os, arch,
//! team, service, service_version, service_environment` in that (unsorted)
//! order; 10 integer fields `usage_user … usage_guest_nice`; one line per
//! host per 10 s interval; ns timestamps.

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
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "test"];

/// The 10 field keys, in the order written.
pub const FIELDS: [&str; 10] = [
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

/// 2016-01-01T00:00:00Z, TSBS's default start.
pub const START_NS: i64 = 1_451_606_400_000_000_000;
/// TSBS's default sampling interval.
pub const INTERVAL_NS: i64 = 10_000_000_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A generator of cpu-only lines: host after host, then the next interval.
pub struct CpuOnly {
    hosts: Vec<String>,
    rng: XorShift,
    line: u64,
    start_ns: i64,
}

impl CpuOnly {
    /// `hosts` hosts, starting at [`START_NS`].
    pub fn new(hosts: usize) -> Self {
        Self::starting_at(hosts, START_NS)
    }

    /// `hosts` hosts, starting at `start_ns`.
    pub fn starting_at(hosts: usize, start_ns: i64) -> Self {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let hosts = (0..hosts)
            .map(|i| {
                let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
                let dc = (b'a' + rng.below(3) as u8) as char;
                format!(
                    "cpu,hostname=host_{i},region={region},datacenter={region}{dc},rack={},os={},arch={},team={},service={},service_version={},service_environment={}",
                    rng.below(100),
                    OS[rng.below(OS.len() as u64) as usize],
                    ARCH[rng.below(ARCH.len() as u64) as usize],
                    TEAMS[rng.below(TEAMS.len() as u64) as usize],
                    rng.below(20),
                    rng.below(2),
                    ENVIRONMENTS[rng.below(ENVIRONMENTS.len() as u64) as usize],
                )
            })
            .collect();
        Self {
            hosts,
            rng,
            line: 0,
            start_ns,
        }
    }

    /// Appends the next line (with `\n`).
    pub fn write_line(&mut self, out: &mut Vec<u8>) {
        let hosts = self.hosts.len() as u64;
        let host = (self.line % hosts) as usize;
        let ts = self.start_ns + (self.line / hosts) as i64 * INTERVAL_NS;
        out.extend_from_slice(self.hosts[host].as_bytes());
        for (i, field) in FIELDS.iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b',' });
            out.extend_from_slice(field.as_bytes());
            out.push(b'=');
            push_int(self.rng.below(101), out);
            out.push(b'i');
        }
        out.push(b' ');
        push_int(ts as u64, out);
        out.push(b'\n');
        self.line += 1;
    }

    /// A body of `lines` lines.
    pub fn body(&mut self, lines: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(lines * 360);
        for _ in 0..lines {
            self.write_line(&mut out);
        }
        out
    }
}

fn push_int(mut v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_tsbs_shape_and_are_deterministic() {
        let a = CpuOnly::new(3).body(6);
        let b = CpuOnly::new(3).body(6);
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].starts_with("cpu,hostname=host_0,region="));
        assert!(lines[3].starts_with("cpu,hostname=host_0,"));
        assert!(lines[0].ends_with(" 1451606400000000000"));
        assert!(lines[3].ends_with(" 1451606410000000000"));
        assert_eq!(lines[0].split(' ').nth(1).unwrap().split(',').count(), 10);
    }
}
