//! Credentials, read the way influxd reads them, and the authentication
//! step every authenticated endpoint starts with.

use axum::http::{HeaderMap, header};

use crate::error::HttpError;
use crate::params::Params;
use crate::ports::Principal;
use crate::state::HttpState;

/// Credentials found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    User { name: String, password: String },
    Token(String),
}

/// Finds credentials in influxd's order: `u` and `p` parameters (both
/// non-empty); `Authorization: Bearer <token>`; `Authorization: Token
/// <user:password>` (or, a tandem extension, `Token <api-token>` without a
/// colon); Basic auth. The scheme words `Bearer` and `Token` are
/// case-sensitive, `Basic` is not (as in Go).
pub fn parse_credentials(params: &Params, headers: &HeaderMap) -> Result<Credentials, HttpError> {
    let (u, p) = (params.get("u"), params.get("p"));
    if !u.is_empty() && !p.is_empty() {
        return Ok(Credentials::User {
            name: u.to_owned(),
            password: p.to_owned(),
        });
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|s| !s.is_empty())
    else {
        return Err(HttpError::NoCredentials);
    };
    let parts: Vec<&str> = auth.split(' ').collect();
    if let [scheme, value] = parts[..] {
        match scheme {
            "Bearer" => return Ok(Credentials::Token(value.to_owned())),
            "Token" => {
                return Ok(match value.split_once(':') {
                    Some((name, password)) => Credentials::User {
                        name: name.to_owned(),
                        password: password.to_owned(),
                    },
                    None => Credentials::Token(value.to_owned()),
                });
            }
            _ => {}
        }
    }
    basic_auth(&auth).ok_or(HttpError::NoCredentials)
}

/// Go's `Request.BasicAuth`.
fn basic_auth(header: &str) -> Option<Credentials> {
    const PREFIX: &str = "Basic ";
    let prefix = header.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let decoded = base64_decode(&header.as_bytes()[PREFIX.len()..])?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some(Credentials::User {
        name: name.to_owned(),
        password: password.to_owned(),
    })
}

/// Standard base64 with `=` padding (Go's `StdEncoding`).
fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if !input.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let quads = input.chunks(4).count();
    for (i, quad) in input.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Authenticates a request to an endpoint that needs it. `None` when auth
/// is off, or on but no admin user exists yet (influxd lets such requests
/// through so the first admin can be created).
pub async fn authenticate(
    state: &HttpState,
    params: &Params,
    headers: &HeaderMap,
) -> Result<Option<Principal>, HttpError> {
    if !state.config().auth_enabled || !state.auth().admin_user_exists() {
        return Ok(None);
    }
    let result = match parse_credentials(params, headers) {
        Err(e) => Err(e),
        Ok(Credentials::User { name, .. }) if name.is_empty() => Err(HttpError::UsernameRequired),
        Ok(Credentials::User { name, password }) => {
            state.auth().authenticate(&name, &password).await.map_err(|e| {
                tracing::info!(user = %name, "authentication failed: {e:?}");
                HttpError::from(e)
            })
        }
        Ok(Credentials::Token(token)) => state
            .auth()
            .authenticate_token(&token)
            .await
            .map_err(HttpError::from),
    };
    if let Err(e) = &result
        && !matches!(e, HttpError::Port(_))
    {
        state.metrics().auth_failure();
    }
    result.map(Some)
}

/// influxd's write authorization: with auth on, someone must be logged in
/// and allowed to write to `db`.
pub fn authorize_write(state: &HttpState, who: Option<&Principal>, db: &str) -> Result<(), HttpError> {
    if !state.config().auth_enabled {
        return Ok(());
    }
    match who {
        None => Err(HttpError::UserRequired(db.to_owned())),
        Some(p) if p.can_write(db) => Ok(()),
        Some(p) => Err(HttpError::WriteForbidden {
            user: p.name.clone(),
            db: db.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn user(n: &str, p: &str) -> Result<Credentials, HttpError> {
        Ok(Credentials::User {
            name: n.into(),
            password: p.into(),
        })
    }

    fn token(t: &str) -> Result<Credentials, HttpError> {
        Ok(Credentials::Token(t.into()))
    }

    #[test]
    fn credentials_in_influxd_order() {
        // (query string, Authorization header, expected)
        let cases: Vec<(&str, Option<&str>, Result<Credentials, HttpError>)> = vec![
            ("u=a&p=b", None, user("a", "b")),
            ("u=a&p=b", Some("Bearer t"), user("a", "b")),
            // u without p: the header decides.
            ("u=a", Some("Bearer t"), token("t")),
            ("u=a", None, Err(HttpError::NoCredentials)),
            ("", None, Err(HttpError::NoCredentials)),
            ("", Some(""), Err(HttpError::NoCredentials)),
            ("", Some("Bearer abc"), token("abc")),
            ("", Some("Token u:p:w"), user("u", "p:w")),
            ("", Some("Token tdm_1_secret"), token("tdm_1_secret")),
            // The scheme word is case-sensitive: this is no token...
            ("", Some("token u:p"), Err(HttpError::NoCredentials)),
            ("", Some("bearer abc"), Err(HttpError::NoCredentials)),
            // ...and neither is a value with extra spaces.
            ("", Some("Bearer a b"), Err(HttpError::NoCredentials)),
            // Basic: "dXNlcjpwYXNz" is "user:pass".
            ("", Some("Basic dXNlcjpwYXNz"), user("user", "pass")),
            ("", Some("basic dXNlcjpwYXNz"), user("user", "pass")),
            // ":pass" decodes to an empty user name (401 username required later).
            ("", Some("Basic OnBhc3M="), user("", "pass")),
            // "user" without a colon.
            ("", Some("Basic dXNlcg=="), Err(HttpError::NoCredentials)),
            ("", Some("Basic !!!!"), Err(HttpError::NoCredentials)),
            ("", Some("Digest abc"), Err(HttpError::NoCredentials)),
        ];
        for (query, auth, want) in cases {
            let mut headers = HeaderMap::new();
            if let Some(a) = auth {
                headers.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
            }
            let got = parse_credentials(&Params::parse(query.as_bytes()), &headers);
            assert_eq!(got, want, "query {query:?} header {auth:?}");
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        let cases: [(&str, Option<&[u8]>); 7] = [
            ("", Some(b"")),
            ("Zg==", Some(b"f")),
            ("Zm8=", Some(b"fo")),
            ("Zm9v", Some(b"foo")),
            ("Zm9vYmFy", Some(b"foobar")),
            ("Zm9", None),
            ("Zg==Zg==", None),
        ];
        for (input, want) in cases {
            assert_eq!(base64_decode(input.as_bytes()).as_deref(), want, "{input}");
        }
    }
}
