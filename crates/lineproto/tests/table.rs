//! The line-protocol acceptance table: one row per input, its expected
//! outcome, one `check()` helper.
//!
//! Expected outcomes render one line per non-blank, non-comment input line:
//! - a point as `<series key> <key>:<type>=<value>,... @<ts>` where type is
//!   f/i/u/b/s and strings are shown escaped as written;
//! - an error as `E <reason>`: the full message is then checked to be
//!   influxd's `unable to parse '<line>': <reason>`.
//!
//! Several outcomes are joined with ` | `.

use tandem_lineproto::{FieldValue, LineOutcome, ParseOptions, Precision, parse};

const RECEIVE_TIME: i64 = 1_700_000_000_123_456_789;

fn opts() -> ParseOptions {
    ParseOptions {
        precision: Precision::Nanosecond,
        default_time: RECEIVE_TIME,
        allow_unsigned: false,
    }
}

fn render(body: &[u8], o: ParseOptions) -> String {
    let batch = parse(body, o);
    let mut out = Vec::new();
    for line in batch.lines() {
        match line {
            LineOutcome::Point(p) => {
                let fields: Vec<String> = p
                    .fields()
                    .map(|f| {
                        let key = String::from_utf8_lossy(f.key);
                        match f.value {
                            FieldValue::Float(v) => format!("{key}:f={v:?}"),
                            FieldValue::Integer(v) => format!("{key}:i={v}"),
                            FieldValue::Unsigned(v) => format!("{key}:u={v}"),
                            FieldValue::Boolean(v) => format!("{key}:b={v}"),
                            FieldValue::String(s) => format!("{key}:s=\"{}\"", String::from_utf8_lossy(s)),
                        }
                    })
                    .collect();
                let ts = if p.timestamp() == RECEIVE_TIME {
                    "now".to_owned()
                } else {
                    p.timestamp().to_string()
                };
                out.push(format!(
                    "{} {} @{ts}",
                    String::from_utf8_lossy(&p.series_key()),
                    fields.join(",")
                ));
            }
            LineOutcome::Error(e) => {
                let msg = e.message(body);
                let line = String::from_utf8_lossy(&body[e.line.clone()]).into_owned();
                let prefix = format!("unable to parse '{line}': ");
                assert!(
                    msg.starts_with(&prefix),
                    "message {msg:?} does not quote the line {line:?}"
                );
                out.push(format!("E {}", &msg[prefix.len()..]));
            }
        }
    }
    out.join(" | ")
}

fn check_with(o: ParseOptions, input: &str, want: &str) {
    let got = render(input.as_bytes(), o);
    assert_eq!(got, want, "\ninput: {input:?}");
}

fn check(input: &str, want: &str) {
    check_with(opts(), input, want);
}

#[test]
fn accepted_lines() {
    let table: &[(&str, &str)] = &[
        // minimal shapes
        ("cpu value=1", "cpu value:f=1.0 @now"),
        ("cpu value=1 10", "cpu value:f=1.0 @10"),
        ("cpu value=1 -10", "cpu value:f=1.0 @-10"),
        ("cpu value=1 0", "cpu value:f=1.0 @0"),
        ("cpu,host=a value=1 10", "cpu,host=a value:f=1.0 @10"),
        (
            "cpu,host=a,region=eu value=1 10",
            "cpu,host=a,region=eu value:f=1.0 @10",
        ),
        (
            "cpu a=1,b=2i,c=true,d=\"x\" 1",
            "cpu a:f=1.0,b:i=2,c:b=true,d:s=\"x\" @1",
        ),
        ("m f=1", "m f:f=1.0 @now"),
        ("cpu value=1 ", "cpu value:f=1.0 @now"),
        ("cpu value=1  ", "cpu value:f=1.0 @now"),
        ("cpu value=1 10 ", "cpu value:f=1.0 @10"),
        ("cpu value=1 10   ", "cpu value:f=1.0 @10"),
        ("cpu  value=1", "cpu value:f=1.0 @now"),
        ("cpu value=1   10", "cpu value:f=1.0 @10"),
        ("cpu value=1 \t10", "cpu value:f=1.0 @10"),
        ("  cpu value=1", "cpu value:f=1.0 @now"),
        ("\tcpu value=1", "cpu value:f=1.0 @now"),
        ("\0cpu value=1", "cpu value:f=1.0 @now"),
        ("cpu value=1 \t", "cpu value:f=1.0 @now"),
        // tags are sorted into the series key
        ("cpu,b=2,a=1 v=1 1", "cpu,a=1,b=2 v:f=1.0 @1"),
        (
            "cpu,zone=z,host=h,arch=x v=1 1",
            "cpu,arch=x,host=h,zone=z v:f=1.0 @1",
        ),
        ("cpu,B=1,a=2 v=1 1", "cpu,B=1,a=2 v:f=1.0 @1"),
        ("cpu,a=1,aa=2,a0=3 v=1 1", "cpu,a=1,a0=3,aa=2 v:f=1.0 @1"),
        // floats
        ("m f=1.5", "m f:f=1.5 @now"),
        ("m f=-1.5", "m f:f=-1.5 @now"),
        ("m f=.5", "m f:f=0.5 @now"),
        ("m f=5.", "m f:f=5.0 @now"),
        ("m f=-.5", "m f:f=-0.5 @now"),
        ("m f=-0", "m f:f=-0.0 @now"),
        ("m f=0", "m f:f=0.0 @now"),
        ("m f=1e5", "m f:f=100000.0 @now"),
        ("m f=1E5", "m f:f=100000.0 @now"),
        ("m f=1e+5", "m f:f=100000.0 @now"),
        ("m f=1e-5", "m f:f=1e-5 @now"),
        ("m f=-1.5e10", "m f:f=-15000000000.0 @now"),
        ("m f=1.e3", "m f:f=1000.0 @now"),
        ("m f=1.5e300", "m f:f=1.5e300 @now"),
        ("m f=1e-400", "m f:f=0.0 @now"),
        ("m f=0123", "m f:f=123.0 @now"),
        (
            "m f=1234567890123456789012345",
            "m f:f=1.2345678901234568e24 @now",
        ),
        ("m f=3.141592653589793", "m f:f=3.141592653589793 @now"),
        // integers
        ("m i=1i", "m i:i=1 @now"),
        ("m i=-1i", "m i:i=-1 @now"),
        ("m i=0i", "m i:i=0 @now"),
        ("m i=-0i", "m i:i=0 @now"),
        ("m i=007i", "m i:i=7 @now"),
        ("m i=9223372036854775807i", "m i:i=9223372036854775807 @now"),
        ("m i=-9223372036854775808i", "m i:i=-9223372036854775808 @now"),
        ("m i=123456789012345678i", "m i:i=123456789012345678 @now"),
        ("m a=1i,b=2i,c=3i 5", "m a:i=1,b:i=2,c:i=3 @5"),
        // booleans, every spelling
        ("m b=t", "m b:b=true @now"),
        ("m b=T", "m b:b=true @now"),
        ("m b=true", "m b:b=true @now"),
        ("m b=True", "m b:b=true @now"),
        ("m b=TRUE", "m b:b=true @now"),
        ("m b=f", "m b:b=false @now"),
        ("m b=F", "m b:b=false @now"),
        ("m b=false", "m b:b=false @now"),
        ("m b=False", "m b:b=false @now"),
        ("m b=FALSE", "m b:b=false @now"),
        ("m b=t 1", "m b:b=true @1"),
        ("m a=t,b=f", "m a:b=true,b:b=false @now"),
        // strings
        ("m s=\"hello\"", "m s:s=\"hello\" @now"),
        ("m s=\"\"", "m s:s=\"\" @now"),
        ("m s=\"a b,c=d\"", "m s:s=\"a b,c=d\" @now"),
        ("m s=\"say \\\"hi\\\"\"", "m s:s=\"say \\\"hi\\\"\" @now"),
        ("m s=\"back\\\\slash\"", "m s:s=\"back\\\\slash\" @now"),
        ("m s=\"a\\nb\"", "m s:s=\"a\\nb\" @now"),
        ("m s=\"x\",n=1i 3", "m s:s=\"x\",n:i=1 @3"),
        ("m s=\"ünïcødé ✓\"", "m s:s=\"ünïcødé ✓\" @now"),
        ("m s=\"#not a comment\"", "m s:s=\"#not a comment\" @now"),
        ("m s=\"a=b\"", "m s:s=\"a=b\" @now"),
        ("m s=\"tab\there\"", "m s:s=\"tab\there\" @now"),
        // bytes after the closing quote belong to the value, and the value is
        // everything between its first and last byte (influxd's rule)
        ("m s=\"a\"b", "m s:s=\"a\"\" @now"),
        ("m s=\"a\"\"b\"", "m s:s=\"a\"\"b\" @now"),
        ("m s=\"a\"b,n=1i 5", "m s:s=\"a\"\",n:i=1 @5"),
        ("m s=\"a\"\"b c\" 5", "m s:s=\"a\"\"b c\" @5"),
        // escapes in names stay as written in the series key
        ("c\\ pu value=1", "c\\ pu value:f=1.0 @now"),
        ("c\\,pu value=1", "c\\,pu value:f=1.0 @now"),
        ("c=pu value=1", "c=pu value:f=1.0 @now"),
        ("c\\=pu value=1", "c\\=pu value:f=1.0 @now"),
        ("cpu,ho\\ st=a value=1", "cpu,ho\\ st=a value:f=1.0 @now"),
        ("cpu,ho\\,st=a value=1", "cpu,ho\\,st=a value:f=1.0 @now"),
        ("cpu,ho\\=st=a value=1", "cpu,ho\\=st=a value:f=1.0 @now"),
        ("cpu,host=a\\ b value=1", "cpu,host=a\\ b value:f=1.0 @now"),
        ("cpu,host=a\\,b value=1", "cpu,host=a\\,b value:f=1.0 @now"),
        ("cpu,host=a\\=b value=1", "cpu,host=a\\=b value:f=1.0 @now"),
        ("cpu,host=a\\\\ value=1", "E invalid tag format"),
        ("cpu,host=\"q\" value=1", "cpu,host=\"q\" value:f=1.0 @now"),
        ("\"cpu\" value=1", "\"cpu\" value:f=1.0 @now"),
        ("cpu val\\ ue=1", "cpu val\\ ue:f=1.0 @now"),
        ("cpu val\\,ue=1", "cpu val\\,ue:f=1.0 @now"),
        ("cpu val\\=ue=1", "cpu val\\=ue:f=1.0 @now"),
        ("cpu \"quoted\"=1", "cpu \"quoted\":f=1.0 @now"),
        ("cpu,host==a value=1", "cpu,host==a value:f=1.0 @now"),
        ("\\ cpu value=1", "\\ cpu value:f=1.0 @now"),
        ("cpu\\ value=1 v=2", "cpu\\ value=1 v:f=2.0 @now"),
        ("ünï,tâg=vål fïeld=1", "ünï,tâg=vål fïeld:f=1.0 @now"),
        ("cpu,emoji=🚀 v=1", "cpu,emoji=🚀 v:f=1.0 @now"),
        // `time` is valid syntax; influxd's drop rules are in `semantics`
        ("cpu time=1", "cpu time:f=1.0 @now"),
        ("cpu,time=a v=1", "cpu,time=a v:f=1.0 @now"),
        ("time value=1", "time value:f=1.0 @now"),
        // repeated field keys are kept in order (the later wins downstream)
        ("cpu v=1,v=2", "cpu v:f=1.0,v:f=2.0 @now"),
        // timestamps at the edges of influxd's range
        ("m v=1 9223372036854775806", "m v:f=1.0 @9223372036854775806"),
        ("m v=1 -9223372036854775806", "m v:f=1.0 @-9223372036854775806"),
    ];
    for (input, want) in table {
        check(input, want);
    }
}

#[test]
fn rejected_lines() {
    let table: &[(&str, &str)] = &[
        // measurement and key section
        (",cpu v=1", "E missing measurement"),
        (",", "E missing measurement"),
        (" ,a=b v=1", "E missing measurement"),
        ("cpu", "E missing fields"),
        ("cpu,host=a", "E missing fields"),
        ("cpu,host=a,zone=b", "E missing fields"),
        ("cpu\\ ", "E missing fields"),
        ("cpu ", "E invalid field format"),
        ("cpu,host=a ", "E invalid field format"),
        ("cpu,", "E missing tag key"),
        ("cpu, v=1", "E missing tag key"),
        ("cpu,,a=b v=1", "E missing tag key"),
        ("cpu,=a v=1", "E missing tag key"),
        ("cpu,a=b, v=1", "E missing tag key"),
        ("cpu,a=b,,c=d v=1", "E missing tag key"),
        ("cpu,a v=1", "E missing tag value"),
        ("cpu,a,b=c v=1", "E missing tag value"),
        ("cpu,a", "E missing tag value"),
        ("cpu,a= v=1", "E missing tag value"),
        ("cpu,a=,b=c v=1", "E missing tag value"),
        ("cpu,a=", "E missing tag value"),
        ("cpu,a=b=c v=1", "E invalid tag format"),
        ("cpu,a=b,c=d=e v=1", "E invalid tag format"),
        ("cpu,a=1,a=2 v=1", "E duplicate tags"),
        ("cpu,b=1,a=2,b=3 v=1", "E duplicate tags"),
        ("cpu,a=1,b=2,a=3 v=1", "E duplicate tags"),
        ("cpu,z=1,a=1,z=1 v=1", "E duplicate tags"),
        // keys longer than a machine word are compared in full
        (
            "m,topology_kubernetes_io_zone=z1,topology_kubernetes_io_rack=r1 v=1 1\n\
             m,topology_kubernetes_io_rack=r2,topology_kubernetes_io_zone=z2 v=1 2\n\
             m,topology_kubernetes_io_zone=z3,topology_kubernetes_io_zone=z4 v=1 3\n\
             m,topology_kubernetes_io_zone=z5,topology_kubernetes_io_rack=r5 v=1 4",
            "m,topology_kubernetes_io_rack=r1,topology_kubernetes_io_zone=z1 v:f=1.0 @1 | \
             m,topology_kubernetes_io_rack=r2,topology_kubernetes_io_zone=z2 v:f=1.0 @2 | \
             E duplicate tags | \
             m,topology_kubernetes_io_rack=r5,topology_kubernetes_io_zone=z5 v:f=1.0 @4",
        ),
        // every tag is scanned before duplicates are looked for, as in influxd
        ("cpu,a=1,a=2,b v=1", "E missing tag value"),
        ("cpu,b=1,a=2,b=3", "E missing fields"),
        // fields section
        ("cpu =1", "E missing field key"),
        ("cpu v=1,=2", "E missing field key"),
        ("cpu v=", "E missing field value"),
        ("cpu v= 1", "E missing field value"),
        ("cpu v=,w=1", "E missing field value"),
        ("cpu v=1,w=", "E missing field value"),
        ("cpu v", "E invalid field format"),
        ("cpu v=1,w", "E invalid field format"),
        ("cpu v=1,", "E invalid field format"),
        ("cpu v=1,,w=2", "E invalid field format"),
        ("cpu a,b=1", "E invalid field format"),
        ("cpu a b=1", "E invalid field format"),
        ("cpu v=\"abc", "E unbalanced quotes"),
        ("cpu v=\"abc\\\"", "E unbalanced quotes"),
        ("cpu v=\"", "E unbalanced quotes"),
        ("cpu v=\"a\\", "E unbalanced quotes"),
        ("cpu v=1,s=\"open 10", "E unbalanced quotes"),
        // numbers
        ("m f=1.2.3", "E invalid number"),
        ("m f=1-2", "E invalid number"),
        ("m f=-", "E invalid number"),
        ("m f=- 1", "E invalid number"),
        ("m f=.", "E invalid number"),
        ("m f=-.", "E invalid number"),
        ("m f=1a", "E invalid number"),
        ("m f=0x10", "E invalid number"),
        ("m f=1_000", "E invalid number"),
        ("m f=NaN", "E invalid number"),
        ("m f=nan", "E invalid number"),
        ("m f=n", "E invalid number"),
        ("m f=N 1", "E invalid number"),
        ("m f=-NaN", "E invalid number"),
        ("m f=-Inf", "E invalid number"),
        ("m f=--1", "E invalid number"),
        ("m f=1e--5", "E invalid number"),
        ("m f=1e5-", "E invalid number"),
        ("m f=1+", "E invalid number"),
        ("m f=1,5", "E invalid field format"),
        ("m f=1e400", "E invalid float"),
        ("m f=-1e400", "E invalid float"),
        ("m f=1e", "E invalid float"),
        ("m f=1e+", "E invalid float"),
        ("m f=1e5e5", "E invalid float"),
        ("m f=1e5.5", "E invalid float"),
        ("m f=-e5", "E invalid float"),
        ("m i=1.5i", "E invalid number"),
        ("m i=1e5i", "E invalid number"),
        ("m i=-i", "E invalid number"),
        ("m i=1ii", "E invalid number"),
        ("m i=12i3", "E invalid number"),
        ("m i=1i2i", "E invalid number"),
        ("m i=1iu", "E invalid number"),
        (
            "m i=9223372036854775808i",
            "E unable to parse integer 9223372036854775808: strconv.ParseInt: parsing \"9223372036854775808\": value out of range",
        ),
        (
            "m i=-9223372036854775809i",
            "E unable to parse integer -9223372036854775809: strconv.ParseInt: parsing \"-9223372036854775809\": value out of range",
        ),
        (
            "m i=99999999999999999999i",
            "E unable to parse integer 99999999999999999999: strconv.ParseInt: parsing \"99999999999999999999\": value out of range",
        ),
        ("m u=1u", "E invalid number"),
        ("m u=0u", "E invalid number"),
        // booleans and other bare words
        ("m b=tru", "E invalid boolean"),
        ("m b=tRUE", "E invalid boolean"),
        ("m b=fals", "E invalid boolean"),
        ("m b=yes", "E invalid boolean"),
        ("m b=Inf", "E invalid boolean"),
        ("m b=inf", "E invalid boolean"),
        ("m b=+1", "E invalid boolean"),
        ("m b=t1", "E invalid boolean"),
        ("m b=true=", "E invalid boolean"),
        ("m b=i", "E invalid boolean"),
        ("m b=e5", "E invalid boolean"),
        ("m b='x'", "E invalid boolean"),
        // timestamps
        ("m v=1 abc", "E bad timestamp"),
        ("m v=1 12a", "E bad timestamp"),
        ("m v=1 1.5", "E bad timestamp"),
        ("m v=1 1e9", "E bad timestamp"),
        ("m v=1 --1", "E bad timestamp"),
        ("m v=1 1-", "E bad timestamp"),
        ("m v=1 +1", "E bad timestamp"),
        ("m v=1 10\t", "E bad timestamp"),
        ("m v=1 -", "E strconv.ParseInt: parsing \"-\": invalid syntax"),
        (
            "m v=1 9223372036854775808",
            "E strconv.ParseInt: parsing \"9223372036854775808\": value out of range",
        ),
        (
            "m v=1 -9223372036854775809",
            "E strconv.ParseInt: parsing \"-9223372036854775809\": value out of range",
        ),
        (
            "m v=1 9223372036854775807",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        (
            "m v=1 -9223372036854775807",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        (
            "m v=1 -9223372036854775808",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        ("m v=1 10 20", "E point is invalid"),
        ("m v=1 10 x", "E point is invalid"),
        ("m v=1 10  20", "E point is invalid"),
        // CRLF: the carriage return stays in the line, as in influxd
        ("m v=1\r", "E invalid number"),
        ("m v=1i\r", "E invalid number"),
        ("m v=1 10\r", "E bad timestamp"),
        ("m v=true\r", "E invalid boolean"),
        ("m v=\"s\"\r", "m v:s=\"s\"\" @now"),
        ("m\r", "E missing fields"),
    ];
    for (input, want) in table {
        check(input, want);
    }
}

#[test]
fn unsigned_follows_the_option() {
    let on = ParseOptions {
        allow_unsigned: true,
        ..opts()
    };
    let table: &[(&str, &str)] = &[
        ("m u=1u", "m u:u=1 @now"),
        ("m u=0u", "m u:u=0 @now"),
        ("m u=18446744073709551615u", "m u:u=18446744073709551615 @now"),
        (
            "m u=18446744073709551616u",
            "E unable to parse unsigned 18446744073709551616: strconv.ParseUint: parsing \"18446744073709551616\": value out of range",
        ),
        ("m u=-1u", "E invalid number"),
        ("m u=1.5u", "E invalid number"),
        ("m u=1e3u", "E invalid number"),
        ("m u=1u5", "E invalid number"),
        ("m u=1ui", "E invalid number"),
        ("m u=1u,i=1i 9", "m u:u=1,i:i=1 @9"),
    ];
    for (input, want) in table {
        check_with(on, input, want);
    }
}

#[test]
fn precision_scales_and_truncates() {
    let with = |p| ParseOptions {
        precision: p,
        ..opts()
    };
    let table: &[(Precision, &str, &str)] = &[
        (Precision::Nanosecond, "m v=1 5", "m v:f=1.0 @5"),
        (Precision::Microsecond, "m v=1 5", "m v:f=1.0 @5000"),
        (Precision::Millisecond, "m v=1 5", "m v:f=1.0 @5000000"),
        (Precision::Second, "m v=1 5", "m v:f=1.0 @5000000000"),
        (Precision::Minute, "m v=1 5", "m v:f=1.0 @300000000000"),
        (Precision::Hour, "m v=1 5", "m v:f=1.0 @18000000000000"),
        (Precision::Second, "m v=1 -5", "m v:f=1.0 @-5000000000"),
        (
            Precision::Second,
            "m v=1 9223372036",
            "m v:f=1.0 @9223372036000000000",
        ),
        (
            Precision::Second,
            "m v=1 9223372037",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        (
            Precision::Hour,
            "m v=1 2562048",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        (
            Precision::Millisecond,
            "m v=1 -9223372036855",
            "E time outside range -9223372036854775806 - 9223372036854775806",
        ),
        // lines without a timestamp get the receive time truncated to the precision
        (Precision::Second, "m v=1", "m v:f=1.0 @1700000000000000000"),
        (Precision::Millisecond, "m v=1", "m v:f=1.0 @1700000000123000000"),
        (Precision::Microsecond, "m v=1", "m v:f=1.0 @1700000000123456000"),
        (Precision::Minute, "m v=1", "m v:f=1.0 @1699999980000000000"),
        (Precision::Hour, "m v=1", "m v:f=1.0 @1699999200000000000"),
        (Precision::Nanosecond, "m v=1", "m v:f=1.0 @now"),
    ];
    for (p, input, want) in table {
        check_with(with(*p), input, want);
    }
}

#[test]
fn bodies_with_several_lines() {
    let table: &[(&str, &str)] = &[
        ("", ""),
        ("\n", ""),
        ("\n\n\n", ""),
        ("   \n\t\n", ""),
        ("# comment", ""),
        ("  # indented comment", ""),
        ("#", ""),
        ("a v=1 1\nb v=2 2", "a v:f=1.0 @1 | b v:f=2.0 @2"),
        ("a v=1 1\nb v=2 2\n", "a v:f=1.0 @1 | b v:f=2.0 @2"),
        ("a v=1 1\n\nb v=2 2", "a v:f=1.0 @1 | b v:f=2.0 @2"),
        ("# c\na v=1 1\n# d\n", "a v:f=1.0 @1"),
        (
            "a v=1 1\nbad\nc v=3 3",
            "a v:f=1.0 @1 | E missing fields | c v:f=3.0 @3",
        ),
        ("bad1\nbad2", "E missing fields | E missing fields"),
        ("a v=1 1\r\nb v=2 2\r\n", "E bad timestamp | E bad timestamp"),
        // a newline inside a quoted string value does not end the line
        (
            "m s=\"two\nlines\" 1\nn v=1 2",
            "m s:s=\"two\nlines\" @1 | n v:f=1.0 @2",
        ),
        // a newline after a backslash does not end the line either
        ("m,t=a\\\nb v=1 1", "m,t=a\\\nb v:f=1.0 @1"),
        // a quote in a measurement or tag does not start a string
        ("\"m v=1 1\nn v=2 2", "\"m v:f=1.0 @1 | n v:f=2.0 @2"),
        // an unbalanced quote in a value swallows the rest of the body, as in influxd
        ("m s=\"open 1\nn v=2 2", "E unbalanced quotes"),
        ("# a=\"x\ny\"\nm v=1 1", "m v:f=1.0 @1"),
    ];
    for (input, want) in table {
        check(input, want);
    }
}

#[test]
fn line_numbers_and_offsets_point_at_the_problem() {
    // (body, [(line number, offset, full message)])
    type Expected = &'static [(usize, usize, &'static str)];
    let table: &[(&str, Expected)] = &[
        ("cpu", &[(1, 3, "unable to parse 'cpu': missing fields")]),
        (
            "ok v=1\n\n# c\n  bad v=x\n",
            &[(4, 20, "unable to parse 'bad v=x': invalid boolean")],
        ),
        (
            "a,b v=1",
            &[(1, 3, "unable to parse 'a,b v=1': missing tag value")],
        ),
        (
            "m v=1 10 20\nm",
            &[
                (1, 9, "unable to parse 'm v=1 10 20': point is invalid"),
                (2, 13, "unable to parse 'm': missing fields"),
            ],
        ),
        (
            "m s=\"a\nb\" x\nbad",
            &[
                (1, 10, "unable to parse 'm s=\"a\nb\" x': bad timestamp"),
                (3, 15, "unable to parse 'bad': missing fields"),
            ],
        ),
        (
            "m v=1i\r\n",
            &[(1, 6, "unable to parse 'm v=1i\r': invalid number")],
        ),
    ];
    for (body, want) in table {
        let batch = parse(body.as_bytes(), opts());
        let got: Vec<(usize, usize, String)> = batch
            .errors()
            .iter()
            .map(|e| (e.line_number, e.offset, e.message(body.as_bytes())))
            .collect();
        let want: Vec<(usize, usize, String)> =
            want.iter().map(|(l, o, m)| (*l, *o, m.to_string())).collect();
        assert_eq!(got, want, "body {body:?}");
    }
    let joined = parse(b"a\nb v=1 1\nc", opts()).error_message();
    assert_eq!(
        joined.as_deref(),
        Some("unable to parse 'a': missing fields\nunable to parse 'c': missing fields")
    );
}

#[test]
fn invalid_utf8_rejects_only_its_line() {
    let table: &[(&[u8], &str)] = &[
        (
            b"m v=1 1\nm,t=\xff v=1 2\nm v=3 3",
            "m v:f=1.0 @1 | E invalid UTF-8 | m v:f=3.0 @3",
        ),
        (b"m s=\"\xc3\x28\" 1", "E invalid UTF-8"),
        (b"\xe2\x82 v=1", "E invalid UTF-8"),
        (b"m v=1 1\n# \xff comment\nm v=2 2", "m v:f=1.0 @1 | m v:f=2.0 @2"),
        (b"m\xff", "E missing fields"),
        // a value ending in a byte after its closing quote loses that byte,
        // which must not cut a character in two
        (b"m s=\"a\"\xc3\xa9", "E invalid UTF-8"),
        (b"m s=\"a\xc3\xa9\"", "m s:s=\"aé\" @now"),
        (
            b"m,t=\xff v=1 1\nm,t=\xfe v=1 1",
            "E invalid UTF-8 | E invalid UTF-8",
        ),
        (b"m v=1 1\n\xf0\x9f\x9a", "m v:f=1.0 @1 | E missing fields"),
    ];
    for (input, want) in table {
        let got = render(input, opts());
        assert_eq!(&got, want, "input {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn key_length_limits() {
    let long = |n: usize| "k".repeat(n);
    // key = measurement (+ tags); limit 65535; with a field key: key + 4 + field key.
    let cases: Vec<(String, String)> = vec![
        (
            format!("{} v=1 1", long(65535 - 6)),
            format!("{} v:f=1.0 @1", long(65535 - 6)),
        ),
        (
            format!("{} v=1 1", long(65536)),
            "E max key length exceeded: 65536 > 65535".into(),
        ),
        (
            format!("m,t={} v=1 1", long(65535 - 4)),
            "E max key length exceeded: 65540 > 65535".into(),
        ),
        (
            format!("{} {}=1 1", long(100), long(65435)),
            "E max key length exceeded: 65539 > 65535".into(),
        ),
        (
            format!("{} {}=1 1", long(100), long(65431)),
            format!("{} {}:f=1.0 @1", long(100), long(65431)),
        ),
        // More tags than fit a 16-bit index: duplicates still found...
        (
            format!("cpu,b=1{} f=1", ",a=1".repeat(65535)),
            "E duplicate tags".into(),
        ),
        // ...and distinct keys still sorted before the key length is checked.
        (
            format!(
                "cpu{} f=1",
                (0..70_000).rev().map(|i| format!(",k{i}=1")).collect::<String>()
            ),
            "E max key length exceeded: 618893 > 65535".into(),
        ),
    ];
    for (input, want) in cases {
        check(&input, &want);
    }
}
