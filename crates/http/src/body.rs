//! Reading a write body: `Content-Encoding`, streamed gunzip and the
//! `max_body_size` limit on `Content-Length`, on the bytes received and on
//! the decompressed bytes.

use std::io::Write;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use flate2::write::MultiGzDecoder;
use futures::StreamExt;

use crate::error::HttpError;

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

/// Reads `Content-Encoding`: absent, empty or `identity` is plain; `gzip`
/// and `x-gzip` are gzip (case-insensitive); anything else is refused.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, HttpError> {
    let mut values = headers.get_all(header::CONTENT_ENCODING).iter().peekable();
    if values.peek().is_none() {
        return Ok(Encoding::Identity);
    }
    let mut joined = Vec::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(v.as_bytes());
    }
    let text = String::from_utf8_lossy(&joined);
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        _ => Err(HttpError::UnsupportedEncoding(text.trim().to_owned())),
    }
}

/// The declared `Content-Length`, refused with 413 when it exceeds `max`
/// (0 = no limit) before any of the body is read.
pub fn check_content_length(headers: &HeaderMap, max: u64) -> Result<Option<u64>, HttpError> {
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match len {
        Some(n) if max > 0 && n > max => Err(HttpError::BodyTooLarge { max }),
        _ => Ok(len),
    }
}

/// A body read to the end.
#[derive(Debug)]
pub struct ReadBody {
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// Bytes received on the wire (compressed when gzip).
    pub wire_bytes: u64,
}

/// After an early error, what is left of the body is read and dropped up to
/// this much, so the client that is still sending gets to read the response
/// (Go's server does the same with 256 KiB).
const DRAIN_LIMIT: usize = 256 * 1024;
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// Most a body buffer is sized up front; it grows as bytes arrive.
const MAX_PREALLOCATION: u64 = 4 << 20;

/// Where gunzip output goes: a buffer that refuses to grow past `max`.
struct Limited {
    buf: Vec<u8>,
    max: u64,
    exceeded: bool,
}

impl Write for Limited {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.max > 0 && (self.buf.len() + data.len()) as u64 > self.max {
            self.exceeded = true;
            return Err(std::io::Error::other("max body size exceeded"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Go's texts for the gzip failures clients can cause (an empty body,
/// Go's `EOF`, is caught before decoding).
fn gzip_error(e: &std::io::Error) -> HttpError {
    let text = e.to_string();
    let msg = if text.contains("invalid gzip header") {
        "gzip: invalid header"
    } else if text.contains("checksum") {
        "gzip: invalid checksum"
    } else if text.contains("corrupt deflate") {
        "flate: corrupt input"
    } else if text.contains("incomplete") || e.kind() == std::io::ErrorKind::UnexpectedEof {
        "unexpected EOF"
    } else {
        return HttpError::BadBody(format!("gzip: {text}"));
    };
    HttpError::BadBody(msg.to_owned())
}

enum Sink {
    Plain(Vec<u8>),
    Gzip(Box<MultiGzDecoder<Limited>>),
}

/// Reads the whole body, decoding `encoding`, within `max` bytes (0 = no
/// limit) both on the wire and decoded.
pub async fn read(
    body: Body,
    encoding: Encoding,
    max: u64,
    content_length: Option<u64>,
) -> Result<ReadBody, HttpError> {
    // The declared length is only a hint: a client that declares 25 MB and
    // sends nothing must not make us hold 25 MB.
    let cap = |n: u64| {
        let n = if max > 0 { n.min(max) } else { n };
        usize::try_from(n.min(MAX_PREALLOCATION)).unwrap_or(0)
    };
    let hint = content_length.unwrap_or(0);
    let mut sink = match encoding {
        Encoding::Identity => Sink::Plain(Vec::with_capacity(cap(hint))),
        Encoding::Gzip => Sink::Gzip(Box::new(MultiGzDecoder::new(Limited {
            buf: Vec::with_capacity(cap(hint.saturating_mul(4))),
            max,
            exceeded: false,
        }))),
    };
    let mut stream = body.into_data_stream();
    let mut wire: u64 = 0;
    let failure = loop {
        let chunk = match stream.next().await {
            None => break None,
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(HttpError::BadBody(e.to_string())),
        };
        wire += chunk.len() as u64;
        if max > 0 && wire > max {
            break Some(HttpError::BodyTooLarge { max });
        }
        match &mut sink {
            Sink::Plain(buf) => buf.extend_from_slice(&chunk),
            Sink::Gzip(dec) => {
                if let Err(e) = dec.write_all(&chunk) {
                    break Some(if dec.get_ref().exceeded {
                        HttpError::BodyTooLarge { max }
                    } else {
                        gzip_error(&e)
                    });
                }
            }
        }
    };
    if let Some(err) = failure {
        drain(&mut stream).await;
        return Err(err);
    }
    let bytes = match sink {
        Sink::Plain(buf) => buf,
        // Go's gzip reader on an empty body: not even a header to read.
        Sink::Gzip(_) if wire == 0 => return Err(HttpError::BadBody("EOF".to_owned())),
        Sink::Gzip(mut dec) => {
            if let Err(e) = dec.try_finish() {
                return Err(if dec.get_ref().exceeded {
                    HttpError::BodyTooLarge { max }
                } else {
                    gzip_error(&e)
                });
            }
            std::mem::take(&mut dec.get_mut().buf)
        }
    };
    Ok(ReadBody {
        bytes,
        wire_bytes: wire,
    })
}

async fn drain(stream: &mut axum::body::BodyDataStream) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut drained = 0;
        while drained < DRAIN_LIMIT {
            match stream.next().await {
                Some(Ok(c)) => drained += c.len(),
                _ => break,
            }
        }
    })
    .await;
}

/// Reads a small body (a `/query` form) within `max` bytes, no decoding.
pub async fn read_plain(body: Body, max: u64) -> Result<Vec<u8>, HttpError> {
    read(body, Encoding::Identity, max, None).await.map(|b| b.bytes)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn chunked(data: Vec<u8>, chunk: usize) -> Body {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
            .chunks(chunk.max(1))
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        Body::from_stream(futures::stream::iter(chunks))
    }

    fn outcome(r: Result<ReadBody, HttpError>) -> Result<Vec<u8>, String> {
        r.map(|b| b.bytes).map_err(|e| e.to_string())
    }

    #[test]
    fn content_encoding_values() {
        let cases = [
            (None, Ok(Encoding::Identity)),
            (Some(""), Ok(Encoding::Identity)),
            (Some("identity"), Ok(Encoding::Identity)),
            (Some("gzip"), Ok(Encoding::Gzip)),
            (Some("GZIP"), Ok(Encoding::Gzip)),
            (Some("x-gzip"), Ok(Encoding::Gzip)),
            (
                Some("br"),
                Err("unsupported Content-Encoding \"br\" (use identity, gzip or x-gzip)"),
            ),
            (
                Some("gzip, br"),
                Err("unsupported Content-Encoding \"gzip, br\" (use identity, gzip or x-gzip)"),
            ),
        ];
        for (value, want) in cases {
            let mut h = HeaderMap::new();
            if let Some(v) = value {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(v));
            }
            let got = encoding(&h).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "{value:?}");
        }
    }

    #[test]
    fn content_length_limit() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("101"));
        assert_eq!(check_content_length(&h, 101), Ok(Some(101)));
        assert_eq!(
            check_content_length(&h, 100),
            Err(HttpError::BodyTooLarge { max: 100 })
        );
        assert_eq!(check_content_length(&h, 0), Ok(Some(101)));
        assert_eq!(check_content_length(&HeaderMap::new(), 1), Ok(None));
    }

    #[tokio::test]
    async fn bodies_and_limits() {
        let text = b"cpu v=1\n".repeat(1000);
        let gz = gzip(&text);
        let mut truncated = gz.clone();
        truncated.truncate(gz.len() / 2);
        let mut bad_crc = gz.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        let mut two_members = gzip(b"a v=1\n");
        two_members.extend(gzip(b"b v=2\n"));
        let too_large = || Err("Request Entity Too Large".to_owned());
        // (body, encoding, max, chunk size, expected)
        type Case = (Vec<u8>, Encoding, u64, usize, Result<Vec<u8>, String>);
        let cases: Vec<Case> = vec![
            (text.clone(), Encoding::Identity, 0, 7, Ok(text.clone())),
            (text.clone(), Encoding::Identity, 8000, 100, Ok(text.clone())),
            (text.clone(), Encoding::Identity, 7999, 100, too_large()),
            (gz.clone(), Encoding::Gzip, 0, 3, Ok(text.clone())),
            (gz.clone(), Encoding::Gzip, 8000, 1000, Ok(text.clone())),
            // The compressed body fits, the decompressed one does not.
            (gz.clone(), Encoding::Gzip, 7999, 1000, too_large()),
            (
                b"not gzip at all".to_vec(),
                Encoding::Gzip,
                0,
                100,
                Err("gzip: invalid header".into()),
            ),
            (truncated, Encoding::Gzip, 0, 100, Err("unexpected EOF".into())),
            (
                gz[..5].to_vec(),
                Encoding::Gzip,
                0,
                100,
                Err("unexpected EOF".into()),
            ),
            (Vec::new(), Encoding::Gzip, 0, 100, Err("EOF".into())),
            (
                bad_crc,
                Encoding::Gzip,
                0,
                100,
                Err("gzip: invalid checksum".into()),
            ),
            (two_members, Encoding::Gzip, 0, 4, Ok(b"a v=1\nb v=2\n".to_vec())),
            (Vec::new(), Encoding::Identity, 10, 1, Ok(Vec::new())),
        ];
        for (i, (data, enc, max, chunk, want)) in cases.into_iter().enumerate() {
            let got = outcome(read(chunked(data, chunk), enc, max, None).await);
            assert_eq!(got, want, "case {i}");
        }
    }

    #[tokio::test]
    async fn gzip_bomb_stops_at_the_limit() {
        // 200 MB of zeros compress to about 200 KB; the decoder must stop
        // at the limit instead of inflating everything.
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..200 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        let got = outcome(read(chunked(bomb, 64 * 1024), Encoding::Gzip, 25_000_000, None).await);
        assert_eq!(got, Err("Request Entity Too Large".into()));
    }
}
