//! URL query parameters with Go's `url.Values.Get` semantics: the first
//! value of a key wins, a missing key reads as "".

use std::borrow::Cow;

/// Decoded `key=value` pairs of a query string or form body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(query: &[u8]) -> Self {
        Self {
            pairs: form_urlencoded::parse(query)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
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
    fn first_value_wins_and_missing_is_empty() {
        let p = Params::parse(b"db=a&db=b&rp=&q=SHOW+DATABASES&x=%2F");
        assert_eq!(p.get("db"), "a");
        assert_eq!(p.get("rp"), "");
        assert_eq!(p.get("q"), "SHOW DATABASES");
        assert_eq!(p.get("x"), "/");
        assert_eq!(p.get("nope"), "");
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
