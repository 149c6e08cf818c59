//! The HTTP side of `bpfscope serve`: `/metrics` in the Prometheus text
//! format or OpenMetrics (by the scraper's `Accept`), a short page at `/`,
//! and nothing else.
//!
//! Anyone who can reach the port is a client, so every resource a client
//! can hold is bounded: at most [`CONNECTIONS`] connections at once, each
//! answered by a named thread of its own (more get 503 and are closed), so
//! a few slow clients cannot hold up a scrape; [`TIMEOUT`] in all to send a
//! request and as long to take the answer; [`HEAD_LIMIT`] bytes of request
//! head; no request bodies; one request per connection.
//! Requests are parsed by `httparse`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::exposition::Exposition;

/// The last sample's exposition, swapped whole on each sample.
pub type Shared = Arc<Mutex<Arc<Exposition>>>;

/// Connections answered at once, each by a thread of its own; more get
/// 503 and are closed. A slow client holds one for [`TIMEOUT`] at most.
pub const CONNECTIONS: usize = 64;
/// Time a client has to send its request, and to read the answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of request line and headers read at most.
pub const HEAD_LIMIT: usize = 8 * 1024;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running endpoint; dropping it stops accepting and lets the workers
/// finish what they hold (each within [`TIMEOUT`]).
pub struct Endpoint {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Counts open connections; a slot is given back when its stream drops.
struct Slot {
    stream: TcpStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Endpoint {
    /// Listens on `address` and answers from `shared`; `failed` is set if
    /// accepting stops for good (the caller exits: a silent exporter is
    /// worse than a restarted one).
    pub fn start(
        address: SocketAddr,
        shared: &Shared,
        failed: Arc<AtomicBool>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address).map_err(|err| {
            io::Error::new(err.kind(), format!("cannot listen on {address}: {err}"))
        })?;
        let address = listener.local_addr()?;
        // Non-blocking, so that the acceptor sees `stop` within 100 ms.
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("bpfscope-accept".into())
                .spawn({
                    let shared = Arc::clone(shared);
                    move || accept(&listener, &shared, &stop, &failed)
                })?
        };
        Ok(Self {
            address,
            stop,
            acceptor: Some(acceptor),
        })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Connections being answered finish on their own, within TIMEOUT.
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Accepts until `stop`, answering each connection on a thread of its own;
/// a connection over the limit is told 503 at once.
fn accept(listener: &TcpListener, shared: &Shared, stop: &AtomicBool, failed: &AtomicBool) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut errors_in_a_row = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept() {
            Ok((stream, _)) => {
                errors_in_a_row = 0;
                stream
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            // Out of descriptors, a connection reset before accept, a
            // network error: wait and go on, unless it never stops.
            Err(err) => {
                errors_in_a_row += 1;
                tracing::warn!("bpfscope serve: accepting a connection failed: {err}");
                if errors_in_a_row > 500 {
                    failed.store(true, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if stream.set_nonblocking(false).is_err()
            || stream.set_read_timeout(Some(TIMEOUT)).is_err()
            || stream.set_write_timeout(Some(TIMEOUT)).is_err()
        {
            continue;
        }
        if open.fetch_add(1, Ordering::Relaxed) >= CONNECTIONS {
            let mut slot = Slot {
                stream,
                open: Arc::clone(&open),
            };
            busy(&mut slot.stream);
            continue;
        }
        let mut slot = Slot {
            stream,
            open: Arc::clone(&open),
        };
        let Ok(mut spare) = slot.stream.try_clone() else {
            continue;
        };
        let shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("bpfscope-http".into())
            .spawn(move || serve_one(&mut slot.stream, &shared));
        if spawned.is_err() {
            busy(&mut spare);
        }
    }
}

/// 503 to a connection there is no room for, without reading it.
fn busy(stream: &mut TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = respond(
        stream,
        503,
        "text/plain; charset=utf-8",
        b"busy: try again\n",
        false,
    );
}

/// Reads one request head (no body) and answers it, all within
/// [`TIMEOUT`] for the request and [`TIMEOUT`] for the answer, however
/// slowly the client trickles bytes.
fn serve_one(stream: &mut TcpStream, shared: &Shared) {
    let deadline = Instant::now() + TIMEOUT;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let parsed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
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
    let _ = match parsed {
        Err(status) => respond(
            stream,
            status,
            "text/plain; charset=utf-8",
            b"bad request\n",
            false,
        ),
        Ok(request) => request.answer(stream, shared),
    };
}

/// What is kept of a parsed request.
struct Request {
    method: String,
    path: String,
    openmetrics: bool,
    has_body: bool,
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
        }
    }

    fn answer(&self, stream: &mut TcpStream, shared: &Shared) -> io::Result<()> {
        let head_only = self.method == "HEAD";
        if self.has_body {
            return respond(
                stream,
                413,
                "text/plain; charset=utf-8",
                b"no request bodies\n",
                head_only,
            );
        }
        if self.method != "GET" && !head_only {
            return respond(
                stream,
                405,
                "text/plain; charset=utf-8",
                b"method not allowed\n",
                false,
            );
        }
        match self.path.as_str() {
            "/metrics" => {
                let exposition = shared
                    .lock()
                    .map_or_else(|p| Arc::clone(&p.into_inner()), |g| Arc::clone(&g));
                if !exposition.ready {
                    return respond(stream, 503, "text/plain; charset=utf-8", b"no sample yet\n", head_only);
                }
                let kind = if self.openmetrics {
                    OPENMETRICS
                } else {
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE
                };
                match exposition.encode(self.openmetrics) {
                    Ok(body) => respond(stream, 200, kind, body.as_bytes(), head_only),
                    Err(_) => respond(stream, 500, "text/plain; charset=utf-8", b"cannot encode\n", head_only),
                }
            }
            "/" => respond(
                stream,
                200,
                "text/html; charset=utf-8",
                b"<html><head><title>bpfscope</title></head><body><h1>bpfscope</h1>\
                  <p><a href=\"/metrics\">Metrics</a> of every loaded BPF program.</p></body></html>\n",
                head_only,
            ),
            _ => respond(stream, 404, "text/plain; charset=utf-8", b"not found\n", head_only),
        }
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )?;
    if head_only {
        return stream.flush();
    }
    // The whole body within TIMEOUT, not TIMEOUT per write.
    let deadline = Instant::now() + TIMEOUT;
    for chunk in body.chunks(64 * 1024) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        stream.set_write_timeout(Some(left))?;
        stream.write_all(chunk)?;
    }
    stream.flush()
}
