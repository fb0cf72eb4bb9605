//! The line-protocol parser must never panic, must account for every line,
//! and every point without a newline in its names survives serialize → parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_lineproto::escape::unescape_string;
use tandem_lineproto::serialize::write_point;
use tandem_lineproto::{Field, FieldValue, LineOutcome, ParseOptions, Precision, parse};

/// String values are re-escaped by the serializer: compare their meaning.
fn unescaped<'a>(fields: impl Iterator<Item = Field<'a>>) -> Vec<(Vec<u8>, String)> {
    fields
        .map(|f| {
            let v = match f.value {
                FieldValue::String(raw) => format!("s:{:?}", unescape_string(raw)),
                other => format!("{other:?}"),
            };
            (f.key.to_vec(), v)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let precision = match flags % 6 {
        0 => Precision::Nanosecond,
        1 => Precision::Microsecond,
        2 => Precision::Millisecond,
        3 => Precision::Second,
        4 => Precision::Minute,
        _ => Precision::Hour,
    };
    let opts = ParseOptions { precision, default_time: 1_700_000_000_000_000_000, allow_unsigned: flags & 8 != 0 };
    let batch = parse(body, opts);
    let mut last_line = 0;
    for outcome in batch.lines() {
        let line = match outcome {
            LineOutcome::Point(p) => p.line_number(),
            LineOutcome::Error(e) => {
                assert!(e.offset <= body.len() && e.line.end <= body.len());
                let _ = e.message(body);
                e.line_number
            }
        };
        assert!(line > last_line, "line numbers ascend");
        last_line = line;
    }
    for p in batch.points() {
        let mut line = Vec::new();
        write_point(&p, &mut line);
        if line[..line.len() - 1].contains(&b'\n') {
            continue;
        }
        let again = parse(&line, ParseOptions { precision: Precision::Nanosecond, ..opts });
        assert!(again.errors().is_empty(), "{:?}", again.error_message());
        let q = again.points().next().expect("one point");
        assert_eq!(q.measurement(), p.measurement());
        assert!(q.tags().eq(p.tags()));
        assert_eq!(unescaped(q.fields()), unescaped(p.fields()));
        let keys: Vec<&[u8]> = p.tags().map(|t| t.key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "tags sorted and unique");
        assert_eq!(q.timestamp(), p.timestamp());
    }
});
