//! The bodies of the differential check (`t73_http_differential`): each is
//! sent as a v1 `/write` to influxd 1.x and to tandem, into a fresh
//! database on each, after its prelude bodies (earlier writes, for type
//! conflicts against stored data). Both must answer the same status and
//! store the same cells, except in the deliberate differences, where each
//! side's outcome is written down here and the difference is listed in
//! `docs/HTTP-ERRORS.md`.

#![allow(dead_code)]

/// What one side must answer and store.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: u16,
    /// The cells stored, as line protocol with ns timestamps (empty for
    /// nothing); a line without a timestamp stands for a point stamped
    /// with the receive time.
    pub stored: Vec<u8>,
}

fn outcome(status: u16, stored: impl Into<Vec<u8>>) -> Outcome {
    Outcome {
        status,
        stored: stored.into(),
    }
}

/// A deliberate difference: the first cell of its row in the
/// deliberate-differences table of `docs/HTTP-ERRORS.md`, and each side's
/// outcome.
#[derive(Debug, Clone)]
pub struct Difference {
    pub doc_key: &'static str,
    pub influxd: Outcome,
    pub tandem: Outcome,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// v1 `precision` (`""`: none).
    pub precision: &'static str,
    /// More query parameters (`&name=value`).
    pub query: &'static str,
    /// Written first, each must get the same status from both.
    pub prelude: Vec<Vec<u8>>,
    pub body: Vec<u8>,
    pub difference: Option<Difference>,
    /// Same status and stored points, but the error text differs for the
    /// documented reason with this key.
    pub text_differs: Option<&'static str>,
}

fn case(name: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.into(),
        precision: "",
        query: "",
        prelude: Vec::new(),
        body: body.into(),
        difference: None,
        text_differs: None,
    }
}

impl Case {
    fn precision(mut self, p: &'static str) -> Self {
        self.precision = p;
        self
    }

    fn query(mut self, q: &'static str) -> Self {
        self.query = q;
        self
    }

    fn after(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.prelude.push(body.into());
        self
    }

    fn text_differs(mut self, doc_key: &'static str) -> Self {
        self.text_differs = Some(doc_key);
        self
    }

    fn differs(mut self, doc_key: &'static str, influxd: Outcome, tandem: Outcome) -> Self {
        self.difference = Some(Difference {
            doc_key,
            influxd,
            tandem,
        });
        self
    }
}

/// 2023-11-14T22:13:20Z in ns.
pub const T: i64 = 1_700_000_000_000_000_000;

/// Single-line bodies whose outcome (stored or refused) both must agree on.
const LINES: &[(&str, &str)] = &[
    // floats
    ("float plain", "cpu v=1.5 10"),
    ("float integer text", "cpu v=1 10"),
    ("float negative", "cpu v=-1.5 10"),
    ("float exponent", "cpu v=1e3 10"),
    ("float negative exponent", "cpu v=1E-3 10"),
    ("float leading dot", "cpu v=.5 10"),
    ("float trailing dot", "cpu v=5. 10"),
    ("float plus sign", "cpu v=+1 10"),
    ("float negative zero", "cpu v=-0 10"),
    ("float max", "cpu v=1.7976931348623157e308 10"),
    ("float overflow", "cpu v=1e309 10"),
    ("float subnormal", "cpu v=4.9e-324 10"),
    ("float many digits", "cpu v=0.30000000000000004441 10"),
    ("float NaN", "cpu v=NaN 10"),
    ("float Inf", "cpu v=Inf 10"),
    ("float double dot", "cpu v=1.2.3 10"),
    ("float hex", "cpu v=0x10 10"),
    ("float leading zeros", "cpu v=007.5 10"),
    ("float minus only", "cpu v=- 10"),
    // integers
    ("int", "cpu v=1i 10"),
    ("int negative", "cpu v=-1i 10"),
    ("int max", "cpu v=9223372036854775807i 10"),
    ("int min", "cpu v=-9223372036854775808i 10"),
    ("int overflow", "cpu v=9223372036854775808i 10"),
    ("int underflow", "cpu v=-9223372036854775809i 10"),
    ("int with dot", "cpu v=1.0i 10"),
    ("int leading zeros", "cpu v=007i 10"),
    ("int plus sign", "cpu v=+1i 10"),
    ("int upper I", "cpu v=1I 10"),
    ("unsigned on v1", "cpu v=1u 10"),
    // booleans
    ("bool t", "cpu v=t 10"),
    ("bool T", "cpu v=T 10"),
    ("bool true", "cpu v=true 10"),
    ("bool True", "cpu v=True 10"),
    ("bool TRUE", "cpu v=TRUE 10"),
    ("bool f", "cpu v=f 10"),
    ("bool F", "cpu v=F 10"),
    ("bool false", "cpu v=false 10"),
    ("bool False", "cpu v=False 10"),
    ("bool FALSE", "cpu v=FALSE 10"),
    ("bool tRUE", "cpu v=tRUE 10"),
    ("bool truee", "cpu v=truee 10"),
    ("bareword", "cpu v=hello 10"),
    // strings
    ("string", r#"cpu s="hello" 10"#),
    ("string empty", r#"cpu s="" 10"#),
    ("string escaped quote", r#"cpu s="a\"b" 10"#),
    ("string escaped backslash", r#"cpu s="a\\b" 10"#),
    ("string backslash n", r#"cpu s="a\nb" 10"#),
    ("string ends in escaped backslash", r#"cpu s="a\\" 10"#),
    ("string lone backslash", r#"cpu s="a\b" 10"#),
    ("string with separators", r#"cpu s="a,b c=d" 10"#),
    ("string unicode", "cpu s=\"h\u{e9}llo \u{2713}\" 10"),
    ("string unterminated", r#"cpu s="abc 10"#),
    ("string then bytes", r#"cpu s="a"b 10"#),
    (
        "string then bytes, valid line after",
        "cpu s=\"a\"b 10\ncpu v=1 20",
    ),
    ("string then bytes with comma", r#"cpu s="a"b,v=1 10"#),
    ("string single quotes", "cpu s='abc' 10"),
    ("string and number", r#"cpu s="x",v=2i,b=true,f=1.5 10"#),
    // tags
    ("tags", "cpu,host=a,region=b v=1 10"),
    ("tags unsorted", "cpu,z=1,a=2,m=3 v=1 10"),
    ("tag duplicate key", "cpu,a=1,a=2 v=1 10"),
    ("tag escaped space", r"cpu,host=a\ b v=1 10"),
    ("tag escaped comma", r"cpu,host=a\,b v=1 10"),
    ("tag escaped equals", r"cpu,host=a\=b v=1 10"),
    ("tag key escaped space", r"cpu,ho\ st=a v=1 10"),
    ("tag value backslash", r"cpu,host=a\b v=1 10"),
    ("tag value double backslash", r"cpu,host=a\\b v=1 10"),
    ("tag value trailing backslash", r"cpu,host=a\\ v=1 10"),
    ("tag value quoted", r#"cpu,host="a b" v=1 10"#),
    ("tag missing value", "cpu,host= v=1 10"),
    ("tag missing key", "cpu,=a v=1 10"),
    ("tag without equals", "cpu,host v=1 10"),
    ("tag trailing comma", "cpu,host=a, v=1 10"),
    ("tag named time", "cpu,time=x v=1 10"),
    ("tag value unicode", "cpu,city=K\u{f8}benhavn v=1 10"),
    ("tag value with equals unescaped", "cpu,k=a=b v=1 10"),
    // measurements
    ("measurement escaped space", r"c\ pu v=1 10"),
    ("measurement escaped comma", r"c\,pu v=1 10"),
    ("measurement with equals", "c=pu v=1 10"),
    ("measurement quoted", r#""cpu" v=1 10"#),
    ("measurement unicode", "\u{6e29}\u{5ea6} v=1 10"),
    ("measurement backslash", r"c\pu v=1 10"),
    ("measurement trailing backslash", r"cpu\\ v=1 10"),
    ("measurement missing", ",host=a v=1 10"),
    ("measurement only space", " v=1 10"),
    ("measurement hash", "#cpu v=1 10"),
    ("measurement inner hash", "c#pu v=1 10"),
    ("leading spaces", "   cpu v=1 10"),
    ("leading tab", "\tcpu v=1 10"),
    // fields
    ("fields several", "cpu a=1,b=2i,c=true,d=\"x\" 10"),
    ("field key escaped space", r"cpu f\ ield=1 10"),
    ("field key escaped comma", r"cpu f\,ield=1 10"),
    ("field key escaped equals", r"cpu f\=ield=1 10"),
    ("field key unicode", "cpu \u{3b1}=1 10"),
    ("field named time alone", "cpu time=1 10"),
    ("field named time and others", "cpu v=1,time=2 10"),
    ("field duplicate key", "cpu v=1,v=2 10"),
    ("field missing value", "cpu v= 10"),
    ("field missing key", "cpu =1 10"),
    ("field without equals", "cpu v 10"),
    ("field trailing comma", "cpu v=1, 10"),
    ("field double comma", "cpu v=1,,w=2 10"),
    ("no fields", "cpu"),
    ("no fields with tags", "cpu,host=a"),
    ("no fields with space", "cpu "),
    ("measurement and space only", "cpu  10"),
    // timestamps
    ("time zero", "cpu v=1 0"),
    ("time negative", "cpu v=1 -1"),
    ("time min valid", "cpu v=1 -9223372036854775806"),
    ("time below min", "cpu v=1 -9223372036854775807"),
    ("time i64 min", "cpu v=1 -9223372036854775808"),
    ("time max valid", "cpu v=1 9223372036854775806"),
    ("time i64 max", "cpu v=1 9223372036854775807"),
    ("time overflow", "cpu v=1 9223372036854775808"),
    ("time plus sign", "cpu v=1 +10"),
    ("time leading zeros", "cpu v=1 0010"),
    ("time letters", "cpu v=1 abc"),
    ("time float", "cpu v=1 10.5"),
    ("time exponent", "cpu v=1 1e3"),
    ("time extra token", "cpu v=1 10 20"),
    ("time double space", "cpu v=1  10"),
    ("time trailing space", "cpu v=1 10 "),
    ("field then field", "cpu v=1 w=2"),
    // CRLF
    ("crlf float no time", "cpu v=1\r\n"),
    ("crlf with time", "cpu v=1 10\r\n"),
    ("crlf int", "cpu v=1i\r\n"),
    ("crlf bool", "cpu v=true\r\n"),
    ("crlf string", "cpu s=\"a\"\r\n"),
    ("crlf string with time", "cpu s=\"a\" 10\r\n"),
    ("crlf two lines", "cpu v=1 10\r\ncpu v=2 20\r\n"),
    ("crlf only", "\r\n"),
    ("cr in tag value", "cpu,host=a\rb v=1 10"),
    // whole bodies
    ("empty body", ""),
    ("only newlines", "\n\n\n"),
    ("only spaces", "   "),
    ("only comment", "# nothing here"),
    ("comment then point", "# c\ncpu v=1 10"),
    ("blank lines between", "\n\ncpu v=1 10\n\n\ncpu v=2 20\n\n"),
    ("no trailing newline", "cpu v=1 10\ncpu v=2 20"),
    ("newline in string", "cpu s=\"line one\nline two\" 10"),
    ("escaped newline in tag", "cpu,host=a\\\nb v=1 10"),
    ("same point twice last wins", "cpu v=1 10\ncpu v=2 10"),
    ("same time fields merge", "cpu v=1 10\ncpu w=2 10"),
    ("series order", "b v=1 10\na v=1 10\nb,x=1 v=1 10"),
];

/// Every body of the check.
pub fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = LINES.iter().map(|(n, b)| case(*n, *b)).collect();

    // Lines without a timestamp (each server stamps its receive time).
    out.push(case("no timestamp", "cpu v=1"));
    out.push(case("no timestamp two lines", "cpu v=1\nmem v=2i"));

    // Mixed valid and invalid lines.
    out.push(case("mixed first bad", "cpu\ncpu v=1 10\ncpu v=2 20"));
    out.push(case("mixed last bad", "cpu v=1 10\ncpu v=2 20\ncpu v="));
    out.push(case(
        "mixed several bad",
        "cpu v=1 10\nbad\ncpu v=2 20\nalso bad\n,x=1 v=1",
    ));
    out.push(case(
        "mixed bad and time tag",
        "cpu v=1 10\ncpu,time=1 v=2 20\nbroken",
    ));
    out.push(case(
        "mixed bad timestamps",
        "cpu v=1 10\ncpu v=1 x\ncpu v=1 9223372036854775808",
    ));

    // Type conflicts within one body (the conflicting ones are in
    // deliberate()).
    out.push(case(
        "no conflict in body, other measurement",
        "cpu v=1 10\nmem v=2i 20",
    ));
    out.push(case(
        "no conflict in body, other field",
        "cpu v=1 10\ncpu w=2i 20",
    ));

    // Type conflicts against earlier writes.
    let prior = "cpu v=1 10";
    for (name, body) in [
        ("conflict with stored int", "cpu v=2i 20"),
        ("conflict with stored string", "cpu v=\"s\" 20"),
        ("conflict with stored bool", "cpu v=true 20"),
        ("conflict with stored, other field ok", "cpu v=2i,w=1 20"),
        (
            "conflict with stored, other points ok",
            "cpu v=2 20\ncpu v=3i 30\ncpu w=1i 40",
        ),
        ("no conflict other measurement", "mem v=2i 20"),
    ] {
        out.push(case(name, body).after(prior));
    }
    // Not here: a field with one type in one shard group and another type
    // in another (both servers accept it). influxd's queries merge a
    // field's types across shards (casting, or leaving out values of the
    // losing type), so its query API cannot show such data as stored.

    // Each precision.
    for (p, ts) in [
        ("n", "1700000000123456789"),
        ("ns", "1700000000123456789"),
        ("u", "1700000000123456"),
        ("ms", "1700000000123"),
        ("s", "1700000000"),
        ("m", "28333333"),
        ("h", "472222"),
    ] {
        out.push(case(format!("precision {p}"), format!("cpu v=1 {ts}\ncpu v=2 1")).precision(p));
        out.push(case(format!("precision {p} negative"), format!("cpu v=1 -{ts}")).precision(p));
    }
    for (p, ts) in [
        ("s", "9223372036"),
        ("s", "9223372037"),
        ("ms", "9223372036854"),
        ("ms", "9223372036855"),
        ("u", "9223372036854775"),
        ("u", "9223372036854776"),
        ("h", "2562047"),
        ("h", "2562048"),
        ("m", "153722867"),
        ("m", "153722868"),
    ] {
        out.push(case(format!("precision {p} edge {ts}"), format!("cpu v=1 {ts}")).precision(p));
    }
    out.push(case("precision s without timestamps", "cpu v=1\ncpu w=2i").precision("s"));
    out.push(case("consistency any", "cpu v=1 10").query("&consistency=any"));
    out.push(case("consistency ALL upper case", "cpu v=1 10").query("&consistency=ALL"));
    out.push(case("consistency unknown", "cpu v=1 10").query("&consistency=two"));
    out.push(case("rp autogen", "cpu v=1 10").query("&rp=autogen"));
    out.push(case("rp missing", "cpu v=1 10").query("&rp=nope"));

    // Long keys near the 65535-byte limit of a series key.
    for (name, len) in [
        ("measurement 65535", 65_535),
        ("measurement 65536", 65_536),
        ("measurement 65534", 65_534),
    ] {
        out.push(case(name, format!("{} v=1 10", "m".repeat(len))));
    }
    // Series key `cpu,k=<value>`: 7 bytes of overhead.
    for (name, value_len) in [
        ("tag series key 65535", 65_535 - 7),
        ("tag series key 65536", 65_536 - 7),
    ] {
        out.push(case(name, format!("cpu,k={} v=1 10", "v".repeat(value_len))));
    }
    out.push(case(
        "field key 65535",
        format!("cpu {}=1 10", "f".repeat(65_535)),
    ));
    out.push(case(
        "field key 70000",
        format!("cpu {}=1 10", "f".repeat(70_000)),
    ));
    out.push(case(
        "string value 64KiB",
        format!("cpu s=\"{}\" 10", "x".repeat(65_536)),
    ));
    out.push(case(
        "string value 1MiB",
        format!("cpu s=\"{}\" 10", "y".repeat(1 << 20)),
    ));
    out.push(case("150 tags", format!("cpu,{} v=1 10", tags(150))));
    out.push(case(
        "many fields",
        format!(
            "cpu {} 10",
            (0..500)
                .map(|i| format!("f{i:03}={i}i"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    ));

    // Huge-ish bodies.
    let mut big = String::new();
    for s in 0..200 {
        for t in 0..250 {
            big.push_str(&format!(
                "big,host=h{s:03},dc=eu usage={s}.{t},n={t}i {}\n",
                T + t * 1_000_000_000
            ));
        }
    }
    out.push(case("50k lines", big.clone()));
    let mut with_bad = big.clone();
    with_bad.push_str("big,host=x usage=\nbig,host=y usage=1 x\n");
    out.push(case("50k lines and 2 bad", with_bad));

    // Deliberate differences (see docs/HTTP-ERRORS.md).
    out.extend(deliberate(&big));
    out
}

/// `n` tags `t000=v0,t001=v1,...`.
fn tags(n: usize) -> String {
    (0..n)
        .map(|i| format!("t{i:03}=v{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The cases where tandem differs from influxd on purpose.
fn deliberate(big: &str) -> Vec<Case> {
    const IN_BODY: &str = "a field's type conflicts with an earlier point of the same body";
    const UTF8: &str = "invalid UTF-8";
    const EMPTY_KEY: &str = "a field key left empty by a tab or NUL";
    const BACKSLASH_KEY: &str = "`\\\\` before `=` in a field key";
    const PRECISION: &str = "v1 `precision` outside n, ns, u, ms, s, m, h";
    const TAG_COUNT: &str = "a point with exactly 100 or 200 tags";
    let both = |status, stored: &str| (outcome(status, ""), outcome(status, stored));
    let mut out = Vec::new();
    for (name, body, tandem_stores) in [
        (
            "conflict in body float then int",
            "cpu v=1 10\ncpu v=2i 20",
            "cpu v=1 10",
        ),
        (
            "conflict in body int then string",
            "cpu v=1i 10\ncpu v=\"s\" 20",
            "cpu v=1i 10",
        ),
        (
            "conflict in body same point",
            "cpu v=1,w=2i 10\ncpu v=true,w=3i 20",
            "cpu v=1,w=2i 10",
        ),
        (
            "conflict in body then valid",
            "cpu v=1 10\ncpu v=2i 20\ncpu v=3 30",
            "cpu v=1 10\ncpu v=3 30",
        ),
        (
            "conflict in body with other drops",
            "cpu v=1 10\ncpu v=1i 11\ncpu time=1 12\nx\nmem s=\"ok\" 13",
            "cpu v=1 10\nmem s=\"ok\" 13",
        ),
    ] {
        let (influxd, tandem) = both(400, tandem_stores);
        out.push(case(name, body).differs(IN_BODY, influxd, tandem));
    }
    // Nothing stored on either side, but influxd's text is its whole-body
    // `field type conflict`.
    out.push(case("field duplicate key types", "cpu v=1,v=2i 10").text_differs(IN_BODY));
    let mut conflicting = big.to_owned();
    conflicting.push_str(&format!("big,host=h000,dc=eu usage=1i {}\n", T + 999));
    let (influxd, tandem) = both(400, big);
    out.push(case("50k lines and a conflict", conflicting).differs(IN_BODY, influxd, tandem));
    // The prelude's conflict leaves influxd with nothing stored but the
    // field registered as integer; tandem stored the integer point.
    let (influxd, tandem) = both(400, "cpu v=1i 10");
    out.push(
        case("conflict with stored after a body with a conflict", "cpu v=1 30")
            .after("cpu v=1i 10\ncpu v=2 20")
            .differs(IN_BODY, influxd, tandem),
    );

    // influxd's JSON shows invalid UTF-8 as U+FFFD.
    out.push(
        case("invalid utf-8 in string", b"cpu s=\"a\xffb\" 10".to_vec()).differs(
            UTF8,
            outcome(204, "cpu s=\"a\u{fffd}b\" 10"),
            outcome(400, ""),
        ),
    );
    out.push(
        case("invalid utf-8 in tag value", b"cpu,host=a\xff v=1 10".to_vec()).differs(
            UTF8,
            outcome(204, "cpu,host=a\u{fffd} v=1 10"),
            outcome(400, ""),
        ),
    );
    out.push(
        case("invalid utf-8 in measurement", b"cp\xffu v=1 10".to_vec()).differs(
            UTF8,
            outcome(500, ""),
            outcome(400, ""),
        ),
    );
    out.push(
        case("invalid utf-8 in field key", b"cpu f\xff=1 10".to_vec()).differs(
            UTF8,
            outcome(500, ""),
            outcome(400, ""),
        ),
    );

    // influxd stores a field without a name; its query calls it `val0`
    // (and SHOW FIELD KEYS gives no type for that name, so the reader
    // takes the integral JSON number as an integer).
    for (name, body) in [
        ("tab before field key", "cpu \t=1 10"),
        ("nul before field key", "cpu \0=1 10"),
    ] {
        out.push(case(name, body).differs(EMPTY_KEY, outcome(204, "cpu val0=1i 10"), outcome(400, "")));
    }

    out.push(
        case("escaped backslash before equals in field key", r"cpu a\\=1 10").differs(
            BACKSLASH_KEY,
            outcome(400, ""),
            outcome(204, r"cpu a\\=1 10"),
        ),
    );

    out.push(case("precision unknown", "cpu v=1 10").precision("x").differs(
        PRECISION,
        outcome(204, "cpu v=1 10"),
        outcome(400, ""),
    ));

    for n in [100, 200] {
        let body = format!("cpu,{} v=1 10", tags(n));
        out.push(case(format!("{n} tags"), body.clone()).differs(
            TAG_COUNT,
            outcome(500, ""),
            outcome(204, body),
        ));
    }
    out
}
