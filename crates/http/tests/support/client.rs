//! A small HTTP/1.1 client over raw TCP (or any byte stream, for TLS): it
//! writes exactly the bytes a test asks for and returns status, headers as
//! the server spelled them, and the de-chunked body. One request per
//! connection (`Connection: close`), bounded by a timeout.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request to send.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    /// Path and query, e.g. `/write?db=db`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send these headers instead of computing `Content-Length`, and send no
    /// body (to test refusals based on the declared length alone).
    pub declared_length_only: Option<u64>,
    /// Send the body with `Transfer-Encoding: chunked` in chunks of this
    /// size (no `Content-Length`).
    pub chunk_size: Option<usize>,
}

impl Req {
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            ..Self::default()
        }
    }

    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    pub fn post(target: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..Self::new("POST", target)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn encode(&self, host: &str) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.target
        );
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(size) = self.chunk_size {
            out.push_str("Transfer-Encoding: chunked\r\n\r\n");
            let mut b = out.into_bytes();
            for chunk in self.body.chunks(size.max(1)) {
                b.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                b.extend_from_slice(chunk);
                b.extend_from_slice(b"\r\n");
            }
            b.extend_from_slice(b"0\r\n\r\n");
            return b;
        }
        let mut bytes = match self.declared_length_only {
            Some(n) => {
                out.push_str(&format!("Content-Length: {n}\r\n\r\n"));
                out.into_bytes()
            }
            None => {
                if !self.body.is_empty() || self.method == "POST" {
                    out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
                }
                out.push_str("\r\n");
                let mut b = out.into_bytes();
                b.extend_from_slice(&self.body);
                b
            }
        };
        bytes.shrink_to_fit();
        bytes
    }
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// The status line's reason phrase (`Request Entity Too Large`).
    pub reason: String,
    /// Header names exactly as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was chunked and ended with the terminating chunk.
    pub chunked_complete: Option<bool>,
}

impl Resp {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `req` to `addr` over plain TCP.
pub async fn send(addr: SocketAddr, req: &Req) -> Resp {
    let stream = TcpStream::connect(addr).await.expect("connect");
    send_on(stream, &addr.to_string(), req).await
}

/// Like [`send`], for servers that may be down or dying: a refused
/// connection, a timeout or a cut-off answer is an `Err`, not a panic.
pub async fn try_send(addr: SocketAddr, req: &Req, timeout: Duration) -> Result<Resp, String> {
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(&req.encode(&addr.to_string()))
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        try_parse_response(&raw)
    })
    .await
    .map_err(|_| "timed out".to_owned())?
}

/// [`try_send`] without a runtime, for tests that drive processes from
/// plain threads: one connection, each socket operation bounded by
/// `timeout`.
pub fn send_blocking(addr: SocketAddr, req: &Req, timeout: Duration) -> Result<Resp, String> {
    use std::io::Write;
    let mut stream = connect_blocking(addr, timeout)?;
    stream
        .write_all(&req.encode(&addr.to_string()))
        .map_err(|e| format!("write: {e}"))?;
    read_blocking(stream)
}

fn connect_blocking(addr: SocketAddr, timeout: Duration) -> Result<std::net::TcpStream, String> {
    let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("socket: {e}"))?;
    Ok(stream)
}

fn read_blocking(mut stream: std::net::TcpStream) -> Result<Resp, String> {
    use std::io::Read;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    try_parse_response(&raw)
}

/// A request whose last body byte is still unsent: the server has its
/// headers and is reading the body, so the request stays in flight for as
/// long as the test wants (e.g. across a signal to the server).
pub struct HalfSent {
    stream: std::net::TcpStream,
    last: Vec<u8>,
}

impl HalfSent {
    /// Connects and sends all of `req` but its last byte (`req` must have
    /// a body).
    pub fn start(addr: SocketAddr, req: &Req, timeout: Duration) -> Result<Self, String> {
        use std::io::Write;
        assert!(!req.body.is_empty(), "a half-sent request needs a body");
        let mut bytes = req.encode(&addr.to_string());
        let last = bytes.split_off(bytes.len() - 1);
        let mut stream = connect_blocking(addr, timeout)?;
        stream.write_all(&bytes).map_err(|e| format!("write: {e}"))?;
        Ok(Self { stream, last })
    }

    /// Sends the last byte and reads the answer.
    pub fn finish(mut self) -> Result<Resp, String> {
        use std::io::Write;
        self.stream
            .write_all(&self.last)
            .map_err(|e| format!("write: {e}"))?;
        read_blocking(self.stream)
    }
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends `req` over an established stream (TCP or TLS).
pub async fn send_on<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, host: &str, req: &Req) -> Resp {
    tokio::time::timeout(TIMEOUT, async {
        // The server may answer (and close) before the whole body is
        // written; the response is what matters.
        let _ = stream.write_all(&req.encode(host)).await;
        let _ = stream.flush().await;
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        parse_response(&raw)
    })
    .await
    .expect("response within the timeout")
}

fn parse_response(raw: &[u8]) -> Resp {
    try_parse_response(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn try_parse_response(raw: &[u8]) -> Result<Resp, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let reason = status_line.splitn(3, ' ').nth(2).unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let (body, chunked_complete) = if chunked {
        let (b, complete) = dechunk(rest);
        (b, Some(complete))
    } else {
        (rest.to_vec(), None)
    };
    Ok(Resp {
        status,
        reason,
        headers,
        body,
        chunked_complete,
    })
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16) else {
            return (out, false);
        };
        data = &data[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if data.len() < size + 2 {
            out.extend_from_slice(&data[..data.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Gzips `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
