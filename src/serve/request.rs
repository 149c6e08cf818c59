//! One request of `bpfscope serve`: read the head within the deadline,
//! check the user if the web configuration names any, answer `/metrics`
//! (Prometheus text or OpenMetrics by `Accept`), `/`, or an error status.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use super::auth::Checker;
use super::http::{HEAD_LIMIT, Shared, TIMEOUT};
use super::web::Web;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A connection, plain or TLS, whose socket deadlines can be set.
pub trait Conn: Read + Write {
    fn socket(&self) -> &TcpStream;
    /// Ends the exchange (TLS: says close_notify).
    fn finish(&mut self) {}
}

impl Conn for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.sock
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
}

/// Reads one request head (no body) and answers it, all within
/// [`TIMEOUT`] for the request and [`TIMEOUT`] for the answer, however
/// slowly the client trickles bytes.
pub fn serve_one(stream: &mut dyn Conn, context: &Context<'_>) {
    let deadline = Instant::now() + TIMEOUT;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let parsed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.socket().set_read_timeout(Some(left)).is_err() {
            return;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => break Ok(Request::of(&request)),
            Ok(httparse::Status::Partial) if head.len() < HEAD_LIMIT => {}
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => break Err(431),
            Err(_) => break Err(400),
        }
    };
    let mut out = Out {
        stream,
        headers: &context.web.headers,
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
}

impl Request {
    fn of(parsed: &httparse::Request<'_, '_>) -> Self {
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        Self {
            method: parsed.method.unwrap_or("").to_owned(),
            path: parsed
                .path
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("")
                .to_owned(),
            openmetrics: header("Accept")
                .is_some_and(|a| a.contains("application/openmetrics-text")),
            has_body: header("Transfer-Encoding").is_some()
                || header("Content-Length").is_some_and(|l| l.trim() != "0"),
            authorization: header("Authorization"),
        }
    }

    fn answer(&self, out: &mut Out<'_>, context: &Context<'_>) -> io::Result<()> {
        let head_only = self.method == "HEAD";
        if self.has_body {
            return out.respond(413, TEXT, b"no request bodies\n", head_only);
        }
        if self.method != "GET" && !head_only {
            return out.respond(405, TEXT, b"method not allowed\n", false);
        }
        if context.web.users.required()
            && !context
                .checker
                .allows(&context.web.users, self.authorization.as_deref())
        {
            return out.respond(401, TEXT, b"unauthorized\n", head_only);
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
                match exposition.encode(self.openmetrics) {
                    Ok(body) => out.respond(200, kind, body.as_bytes(), head_only),
                    Err(_) => out.respond(500, TEXT, b"cannot encode\n", head_only),
                }
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
        write!(
            self.stream,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}{headers}Connection: close\r\n\r\n",
            body.len()
        )?;
        if head_only {
            return self.stream.flush();
        }
        // The whole body within TIMEOUT, not TIMEOUT per write.
        let deadline = Instant::now() + TIMEOUT;
        for chunk in body.chunks(64 * 1024) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            self.stream.socket().set_write_timeout(Some(left))?;
            self.stream.write_all(chunk)?;
        }
        self.stream.flush()
    }
}
