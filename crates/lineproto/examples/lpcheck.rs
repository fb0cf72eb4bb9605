//! Checks a line-protocol file the way a tandem write node would parse it.
//!
//! `lpcheck [--precision n|u|ms|s|m|h] [--allow-unsigned] [FILE]` (stdin
//! without FILE). Prints every rejected line with influxd's message, then a
//! summary; exits 1 when a line was rejected.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read;
use std::process::ExitCode;

use tandem_lineproto::{LineOutcome, ParseOptions, Precision, parse, semantics};

fn main() -> ExitCode {
    let mut precision = Precision::Nanosecond;
    let mut allow_unsigned = false;
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--precision" => match args.next().as_deref().map(Precision::parse_v1) {
                Some(Ok(p)) => precision = p,
                Some(Err(e)) => return fail(&e.to_string()),
                None => return fail("--precision needs a value"),
            },
            "--allow-unsigned" => allow_unsigned = true,
            "-h" | "--help" => {
                println!("usage: lpcheck [--precision n|u|ms|s|m|h] [--allow-unsigned] [FILE]");
                return ExitCode::SUCCESS;
            }
            _ if path.is_none() => path = Some(arg),
            _ => return fail(&format!("unexpected argument {arg:?}")),
        }
    }
    let mut body = Vec::new();
    let read = match &path {
        Some(p) => std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut body)),
        None => std::io::stdin().read_to_end(&mut body),
    };
    if let Err(e) = read {
        return fail(&format!("cannot read input: {e}"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let batch = parse(
        &body,
        ParseOptions {
            precision,
            default_time: now,
            allow_unsigned,
        },
    );
    let (mut ok, mut rejected, mut dropped) = (0usize, 0usize, 0usize);
    for line in batch.lines() {
        match line {
            LineOutcome::Point(p) => match semantics::check(&p) {
                Ok(()) => ok += 1,
                Err(why) => {
                    dropped += 1;
                    println!("line {}: dropped: {why}", p.line_number());
                }
            },
            LineOutcome::Error(e) => {
                rejected += 1;
                println!("line {} (byte {}): {}", e.line_number, e.offset, e.message(&body));
            }
        }
    }
    println!("{ok} points accepted, {rejected} lines rejected, {dropped} points dropped");
    if rejected + dropped > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("lpcheck: {msg}");
    ExitCode::from(2)
}
