//! influxd's post-parse drop rules (`partial write: <reason> dropped=N`).

use tandem_lineproto::semantics::{Rejection, check};
use tandem_lineproto::{ParseOptions, Precision, parse};

#[test]
fn time_keys_follow_influxd() {
    let opts = ParseOptions {
        precision: Precision::Nanosecond,
        default_time: 0,
        allow_unsigned: false,
    };
    let table: &[(&str, Result<(), &str>)] = &[
        ("cpu v=1", Ok(())),
        ("cpu time=1,v=2", Ok(())),
        ("cpu v=2,time=1", Ok(())),
        ("time v=1", Ok(())),
        ("cpu,host=time v=1", Ok(())),
        ("cpu,Time=a v=1", Ok(())),
        (
            "cpu,time=a v=1",
            Err("invalid tag key: input tag \"time\" on measurement \"cpu\" is invalid"),
        ),
        (
            "c\\ pu,time=a v=1",
            Err("invalid tag key: input tag \"time\" on measurement \"c pu\" is invalid"),
        ),
        (
            "cpu time=1",
            Err("invalid field name: input field \"time\" on measurement \"cpu\" is invalid"),
        ),
        (
            "cpu time=1,time=2i",
            Err("invalid field name: input field \"time\" on measurement \"cpu\" is invalid"),
        ),
        (
            "cpu,time=a time=1",
            Err("invalid tag key: input tag \"time\" on measurement \"cpu\" is invalid"),
        ),
    ];
    for (line, want) in table {
        let batch = parse(line.as_bytes(), opts);
        let point = batch.points().next().expect("line parses");
        let got = check(&point).map_err(|r: Rejection| r.to_string());
        assert_eq!(got, want.map_err(str::to_owned), "{line}");
    }
}
