//! One request of `bpfscope serve`: read the head within the deadline,
//! check the user if the web configuration names any, answer `/metrics`
//! (Prometheus text or OpenMetrics by `Accept`), `/`, or an error status.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::auth::{Checker, Verdict};
use super::http::{HEAD_LIMIT, Shared, TIMEOUT};
use super::web::{RateLimit, Web};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A socket whose reads and writes all end by one deadline, however
/// slowly the other side trickles bytes: each system call waits at most
/// for the time left, and none starts after the deadline. TLS reads many
/// times for one record or handshake, so a timeout per call is not enough.
#[derive(Debug)]
pub struct Timed {
    sock: TcpStream,
    deadline: Instant,
}

impl Timed {
    /// `sock`, with `within` from now to read the request.
    pub fn new(sock: TcpStream, within: Duration) -> Self {
        Self {
            sock,
            deadline: Instant::now() + within,
        }
    }

    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::from(io::ErrorKind::TimedOut))
        } else {
            Ok(left)
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.set_read_timeout(Some(self.left()?))?;
        self.sock.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// A connection, plain or TLS, over a [`Timed`] socket.
pub trait Conn: Read + Write {
    /// From now on, reads and writes end `within` from now.
    fn renew(&mut self, within: Duration);
    /// Ends the exchange (TLS: says close_notify), within the deadline.
    fn finish(&mut self) {}
}

impl Conn for Timed {
    fn renew(&mut self, within: Duration) {
        self.deadline = Instant::now() + within;
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, Timed> {
    fn renew(&mut self, within: Duration) {
        self.sock.renew(within);
    }

    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// What answering needs besides the connection.
pub struct Context<'a> {
    pub shared: &'a Shared,
    pub web: &'a Web,
    pub checker: &'a Checker,
    pub limiter: &'a Limiter,
}

/// The web configuration's `rate_limit`: a token bucket over all clients.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Tokens left and when they were counted.
    bucket: std::sync::Mutex<Option<(f64, Instant)>>,
}

impl Limiter {
    /// Whether one more request fits `limit` now.
    pub fn allow(&self, limit: Option<RateLimit>) -> bool {
        let Some(limit) = limit else {
            return true;
        };
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let burst = f64::from(limit.burst);
        let (tokens, counted) = bucket.get_or_insert((burst, now));
        let refill =
            now.duration_since(*counted).as_secs_f64() / limit.interval.as_secs_f64().max(1e-9);
        *tokens = (*tokens + refill).min(burst);
        *counted = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Reads one request head (no body) and answers it, within the stream's
/// deadline for the request (and the TLS handshake) and [`TIMEOUT`] for
/// the answer, however slowly the client trickles bytes.
pub fn serve_one(stream: &mut dyn Conn, context: &Context<'_>) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let parsed = loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => break Request::of(&request),
            Ok(httparse::Status::Partial) if head.len() < HEAD_LIMIT => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => break Err(431),
            Err(_) => break Err(400),
        }
    };
    let mut out = Out {
        stream,
        headers: &context.web.headers,
        within: TIMEOUT,
        encoding: None,
    };
    let _ = match parsed {
        Err(status) => out.respond(status, TEXT, b"bad request\n", false),
        Ok(request) => request.answer(&mut out, context),
    };
    out.stream.finish();
}

/// What is kept of a parsed request.
struct Request {
    method: String,
    path: String,
    openmetrics: bool,
    has_body: bool,
    authorization: Option<String>,
    /// The client takes gzip (Prometheus asks for it).
    gzip: bool,
}

/// `body` gzipped fast: a scrape's text shrinks to about a tenth.
fn gzipped(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

impl Request {
    /// What is kept of `parsed`; `Err(400)` for a head that frames its
    /// body two ways (two `Content-Length`s, or one beside
    /// `Transfer-Encoding`) or with a length that is not a number: a
    /// proxy in front could read it otherwise (request smuggling).
    fn of(parsed: &httparse::Request<'_, '_>) -> Result<Self, u16> {
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let count = |name: &str| {
            parsed
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .count()
        };
        let lengths = count("Content-Length");
        let chunked = count("Transfer-Encoding") > 0;
        let length = header("Content-Length");
        let length_ok = length
            .as_deref()
            .is_none_or(|l| !l.trim().is_empty() && l.trim().bytes().all(|b| b.is_ascii_digit()));
        if lengths > 1 || (lengths == 1 && chunked) || !length_ok {
            return Err(400);
        }
        Ok(Self {
            method: parsed.method.unwrap_or("").to_owned(),
            path: parsed
                .path
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("")
                .to_owned(),
            openmetrics: super::negotiate::prefers_openmetrics(header("Accept").as_deref()),
            gzip: super::negotiate::takes_gzip(header("Accept-Encoding").as_deref()),
            has_body: chunked
                || length.is_some_and(|l| !l.trim().trim_start_matches('0').is_empty()),
            authorization: header("Authorization"),
        })
    }

    fn answer(&self, out: &mut Out<'_>, context: &Context<'_>) -> io::Result<()> {
        let head_only = self.method == "HEAD";
        if !context.limiter.allow(context.web.rate_limit) {
            return out.respond(429, TEXT, b"too many requests\n", head_only);
        }
        // Who asks first, as exporter-toolkit does: a stranger learns
        // nothing of what this endpoint would answer.
        if context.web.users.required() {
            let verdict = context.checker.allows(
                &context.web.users,
                self.authorization.as_deref(),
                Instant::now() + TIMEOUT,
            );
            match verdict {
                Verdict::Allowed => {}
                Verdict::Denied => return out.respond(401, TEXT, b"unauthorized\n", head_only),
                Verdict::Busy => return out.respond(503, TEXT, b"busy: try again\n", head_only),
            }
        }
        if self.has_body {
            return out.respond(413, TEXT, b"no request bodies\n", head_only);
        }
        if self.method != "GET" && !head_only {
            return out.respond(405, TEXT, b"method not allowed\n", false);
        }
        match self.path.as_str() {
            "/metrics" => {
                let exposition = context
                    .shared
                    .lock()
                    .map_or_else(|p| Arc::clone(&p.into_inner()), |g| Arc::clone(&g));
                if !exposition.ready {
                    return out.respond(503, TEXT, b"no sample yet\n", head_only);
                }
                let kind = if self.openmetrics {
                    OPENMETRICS
                } else {
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE
                };
                let Ok(body) = exposition.encode(self.openmetrics) else {
                    return out.respond(500, TEXT, b"cannot encode\n", head_only);
                };
                if self.gzip
                    && let Ok(small) = gzipped(body.as_bytes())
                {
                    out.encoding = Some("gzip");
                    return out.respond(200, kind, &small, head_only);
                }
                out.respond(200, kind, body.as_bytes(), head_only)
            }
            "/" => out.respond(
                200,
                "text/html; charset=utf-8",
                b"<html><head><title>bpfscope</title></head><body><h1>bpfscope</h1>\
                  <p><a href=\"/metrics\">Metrics</a> of every loaded BPF program.</p></body></html>\n",
                head_only,
            ),
            _ => out.respond(404, TEXT, b"not found\n", head_only),
        }
    }
}

/// Where answers go, with the headers the web configuration adds.
pub struct Out<'a> {
    pub stream: &'a mut dyn Conn,
    pub headers: &'a str,
    /// Time the whole answer may take.
    pub within: Duration,
    /// The body's `Content-Encoding`, if not identity.
    pub encoding: Option<&'static str>,
}

impl Out<'_> {
    pub fn respond(
        &mut self,
        status: u16,
        kind: &str,
        body: &[u8],
        head_only: bool,
    ) -> io::Result<()> {
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Content Too Large",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            _ => "Service Unavailable",
        };
        let extra = match status {
            405 => "Allow: GET, HEAD\r\n",
            401 => "WWW-Authenticate: Basic realm=\"bpfscope\", charset=\"UTF-8\"\r\n",
            _ => "",
        };
        let headers = self.headers;
        let encoding = self
            .encoding
            .map(|e| format!("Content-Encoding: {e}\r\nVary: Accept-Encoding\r\n"))
            .unwrap_or_default();
        self.stream.renew(self.within);
        write!(
            self.stream,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}{encoding}{headers}Connection: close\r\n\r\n",
            body.len()
        )?;
        if !head_only {
            self.stream.write_all(body)?;
        }
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused_and_gives_back_the_same_text() {
        use super::super::negotiate::takes_gzip;
        assert!(takes_gzip(Some("gzip")));
        assert!(takes_gzip(Some("deflate, gzip;q=0.5")));
        assert!(takes_gzip(Some("*")));
        assert!(!takes_gzip(Some("gzip;q=0")));
        assert!(!takes_gzip(Some("identity")));
        assert!(!takes_gzip(Some("br, gzipx")));
        let text = "bpfscope_programs 1\n".repeat(1_000);
        let small = gzipped(text.as_bytes()).unwrap();
        assert!(small.len() < text.len() / 10);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&small[..]), &mut back)
            .unwrap();
        assert_eq!(back, text);
    }
}
