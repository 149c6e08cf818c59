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
//! Requests are parsed by `httparse` (see `request.rs`); with a web
//! configuration file, connections speak TLS and requests need a user.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::auth::Checker;
use super::exposition::Exposition;
use super::request::{Context, Limiter, Out, Timed, serve_one};
use super::web::{Web, WebConfig};

/// The last sample's exposition, swapped whole on each sample.
pub type Shared = Arc<Mutex<Arc<Exposition>>>;

/// Connections answered at once, each by a thread of its own; more get
/// 503 and are closed. A slow client holds one for [`TIMEOUT`] at most.
pub const CONNECTIONS: usize = 64;
/// Time a client has to send its request, and to read the answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of request line and headers read at most.
pub const HEAD_LIMIT: usize = 8 * 1024;

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
        web: Option<Arc<WebConfig>>,
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
                    let answering = Answering {
                        shared,
                        web,
                        checker: Arc::new(Checker::default()),
                        limiter: Arc::new(Limiter::default()),
                    };
                    move || accept(&listener, &answering, &stop, &failed)
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

/// What every connection's thread is given.
struct Answering {
    shared: Shared,
    web: Option<Arc<WebConfig>>,
    checker: Arc<Checker>,
    limiter: Arc<Limiter>,
}

/// Accepts until `stop`, answering each connection on a thread of its own;
/// a connection over the limit is told 503 at once (closed, over TLS).
fn accept(listener: &TcpListener, answering: &Answering, stop: &AtomicBool, failed: &AtomicBool) {
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
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        // Read again here if a file changed, not on each worker.
        let web = answering
            .web
            .as_ref()
            .map_or_else(|| Arc::new(Web::default()), |config| config.current());
        if open.fetch_add(1, Ordering::Relaxed) >= CONNECTIONS {
            let slot = Slot {
                stream,
                open: Arc::clone(&open),
            };
            if web.tls.is_none() {
                busy(&slot.stream);
            }
            continue;
        }
        let mut slot = Slot {
            stream,
            open: Arc::clone(&open),
        };
        let Ok(spare) = slot.stream.try_clone() else {
            continue;
        };
        let plain = web.tls.is_none();
        let shared = Arc::clone(&answering.shared);
        let checker = Arc::clone(&answering.checker);
        let limiter = Arc::clone(&answering.limiter);
        let spawned = std::thread::Builder::new()
            .name("bpfscope-http".into())
            .spawn(move || {
                let context = Context {
                    shared: &shared,
                    web: &web,
                    checker: &checker,
                    limiter: &limiter,
                };
                connection(&mut slot, &context);
            });
        if spawned.is_err() && plain {
            busy(&spare);
        }
    }
}

/// Answers one connection, over TLS if the configuration has it (the
/// handshake within the request's deadline, as part of reading it).
fn connection(slot: &mut Slot, context: &Context<'_>) {
    let Ok(sock) = slot.stream.try_clone() else {
        return;
    };
    let mut timed = Timed::new(sock, TIMEOUT);
    let Some(tls) = &context.web.tls else {
        serve_one(&mut timed, context);
        return;
    };
    let Ok(conn) = rustls::ServerConnection::new(Arc::clone(tls)) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(conn, timed);
    serve_one(&mut stream, context);
}

/// 503 to a plain connection there is no room for, without reading it.
fn busy(stream: &TcpStream) {
    let Ok(sock) = stream.try_clone() else {
        return;
    };
    let mut timed = Timed::new(sock, Duration::from_millis(200));
    let mut out = Out {
        stream: &mut timed,
        headers: "",
        within: Duration::from_millis(200),
        encoding: None,
    };
    let _ = out.respond(
        503,
        "text/plain; charset=utf-8",
        b"busy: try again\n",
        false,
    );
}
