//! URL query parameters read as influxd (Go's `url.ParseQuery` and
//! `url.Values.Get`) reads them: the first value of a key wins, a missing
//! key reads as "", and a `&`-separated pair that contains `;` or a bad
//! `%` escape is left out (so `/write?db=d%zzb` has no `db`: 400 `database
//! is required`, as from influxd).

use std::borrow::Cow;

/// Decoded `key=value` pairs of a query string or form body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a query string or urlencoded form body.
    pub fn parse(query: &[u8]) -> Self {
        let text = String::from_utf8_lossy(query);
        let pairs = text
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.contains(';'))
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let key = query_unescape(key).ok()?;
                let value = query_unescape(value).ok()?;
                Some((key.into_owned(), value.into_owned()))
            })
            .collect();
        Self { pairs }
    }

    pub fn from_uri(uri: &axum::http::Uri) -> Self {
        Self::parse(uri.query().unwrap_or("").as_bytes())
    }

    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Appends `other`'s pairs (form values after URL values, as Go's
    /// `FormValue` reads them).
    pub fn extend(&mut self, other: Params) {
        self.pairs.extend(other.pairs);
    }
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as space; a bad escape is
/// an error with Go's text.
pub fn query_unescape(s: &str) -> Result<Cow<'_, str>, String> {
    if !s.contains(['%', '+']) {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16)
                        .ok()
                        .filter(|_| h.bytes().all(|b| b.is_ascii_hexdigit()))
                });
                match hex {
                    Some(b) => out.push(b),
                    None => {
                        let end = (i + 3).min(bytes.len());
                        let bad = String::from_utf8_lossy(&bytes[i..end]);
                        return Err(format!("invalid URL escape {bad:?}"));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_like_go() {
        // (query string, key, value Get returns)
        let cases = [
            ("db=a&db=b", "db", "a"),
            ("rp=&db=a", "rp", ""),
            ("db=a", "nope", ""),
            ("q=SHOW+DATABASES", "q", "SHOW DATABASES"),
            ("x=%2F&y=%3B", "x", "/"),
            ("x=%2F&y=%3B", "y", ";"),
            ("flag&db=a", "flag", ""),
            ("&&db=a&&", "db", "a"),
            ("d%62=a", "db", "a"),
            ("=v&db=a", "", "v"),
            ("db=caf%C3%A9", "db", "café"),
            // A pair with a bad escape is left out, the rest is kept...
            ("db=d%zzb", "db", ""),
            ("db=d%zzb&db=ok", "db", "ok"),
            ("x=%zz&db=a", "db", "a"),
            ("db=a%", "db", ""),
            ("d%zz=a&db=b", "db", "b"),
            // ...and so is a pair with a semicolon (no separator since Go 1.17).
            ("db=a;rp=b", "db", ""),
            ("db=a;rp=b", "rp", ""),
            ("x=1;&db=a", "db", "a"),
        ];
        for (query, key, want) in cases {
            assert_eq!(Params::parse(query.as_bytes()).get(key), want, "{query} {key}");
        }
    }

    #[test]
    fn unescape_like_go() {
        let cases = [
            ("plain", Ok("plain")),
            ("a%2Fb", Ok("a/b")),
            ("a+b", Ok("a b")),
            ("%zz", Err("invalid URL escape \"%zz\"")),
            ("ab%4", Err("invalid URL escape \"%4\"")),
        ];
        for (input, want) in cases {
            let got = query_unescape(input);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(w), "{input}"),
                Err(w) => assert_eq!(got, Err(w.to_owned()), "{input}"),
            }
        }
    }
}
