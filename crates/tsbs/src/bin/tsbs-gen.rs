//! Writes TSBS cpu-only line protocol to stdout:
//! `tsbs-gen <hosts> <lines> [start_ns]`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let hosts: Option<usize> = args.get(1).and_then(|s| s.parse().ok());
    let lines: Option<usize> = args.get(2).and_then(|s| s.parse().ok());
    let start: Option<i64> = args
        .get(3)
        .map_or(Some(tandem_tsbs::START_NS), |s| s.parse().ok());
    let (Some(hosts), Some(lines), Some(start)) = (hosts, lines, start) else {
        let _ = writeln!(std::io::stderr(), "usage: tsbs-gen <hosts> <lines> [start_ns]");
        std::process::exit(2);
    };
    let mut generator = tandem_tsbs::CpuOnly::starting_at(hosts, start);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut buf = Vec::with_capacity(1 << 20);
    for _ in 0..lines {
        generator.write_line(&mut buf);
        if buf.len() > 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}
