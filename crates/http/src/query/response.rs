//! The 1.x `/query` JSON format: `{"results":[{"statement_id":0,...}]}`,
//! empty fields left out as influxd leaves them out.

use serde::Serialize;
use serde_json::Value;

/// One series of a result (`SHOW ...` rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    pub columns: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Vec<Value>>,
}

/// An informational message of a result (influxd's `ReadOnlyWarning`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub level: &'static str,
    pub text: String,
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementResult {
    pub statement_id: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    results: &'a [StatementResult],
}

/// Serialises `results` as influxd does: compact, or indented by four
/// spaces with `pretty=true`, always followed by a newline.
pub fn encode(results: &[StatementResult], pretty: bool) -> Vec<u8> {
    let envelope = Envelope { results };
    let mut out = Vec::new();
    let written = if pretty {
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        envelope.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::new(&mut out);
        envelope.serialize(&mut ser)
    };
    if written.is_err() {
        out.clear();
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shapes_match_influxd() {
        let results = vec![
            StatementResult {
                statement_id: 0,
                series: vec![],
                messages: vec![],
                error: None,
            },
            StatementResult {
                statement_id: 1,
                series: vec![Series {
                    name: Some("databases"),
                    columns: vec!["name"],
                    values: vec![vec![json!("db")]],
                }],
                messages: vec![],
                error: None,
            },
            StatementResult {
                statement_id: 2,
                series: vec![Series {
                    name: None,
                    columns: vec!["user", "admin"],
                    values: vec![],
                }],
                messages: vec![Message {
                    level: "warning",
                    text: "w".into(),
                }],
                error: None,
            },
            StatementResult {
                statement_id: 3,
                series: vec![],
                messages: vec![],
                error: Some("not executed".into()),
            },
        ];
        assert_eq!(
            String::from_utf8(encode(&results, false)).unwrap(),
            concat!(
                r#"{"results":[{"statement_id":0},"#,
                r#"{"statement_id":1,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]},"#,
                r#"{"statement_id":2,"series":[{"columns":["user","admin"]}],"messages":[{"level":"warning","text":"w"}]},"#,
                r#"{"statement_id":3,"error":"not executed"}]}"#,
                "\n"
            )
        );
        let pretty = String::from_utf8(encode(&results[..1], true)).unwrap();
        assert_eq!(
            pretty,
            "{\n    \"results\": [\n        {\n            \"statement_id\": 0\n        }\n    ]\n}\n"
        );
    }
}
