//! The HTTP side of `bpfscope serve`: `/metrics` in the Prometheus text
//! format or OpenMetrics (by the scraper's `Accept`), a short page at `/`,
//! and nothing else.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server};

use super::exposition::Exposition;

/// The last sample's exposition, swapped whole on each sample.
pub type Shared = Arc<Mutex<Arc<Exposition>>>;

/// Scrapes answered at once; more wait in the server's queue.
const WORKERS: usize = 4;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running endpoint; dropping it stops the workers.
pub struct Endpoint {
    server: Arc<Server>,
    workers: Vec<JoinHandle<()>>,
    pub address: SocketAddr,
}

impl Endpoint {
    /// Listens on `address` and answers from `shared`.
    pub fn start(address: SocketAddr, shared: &Shared) -> io::Result<Self> {
        let server = Server::http(address)
            .map_err(|err| io::Error::other(format!("cannot listen on {address}: {err}")))?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the server has no IP address"))?;
        let server = Arc::new(server);
        let mut workers = Vec::with_capacity(WORKERS);
        for n in 0..WORKERS {
            let (server, shared) = (Arc::clone(&server), Arc::clone(shared));
            workers.push(
                std::thread::Builder::new()
                    .name(format!("bpfscope-http-{n}"))
                    .spawn(move || {
                        for request in server.incoming_requests() {
                            answer(request, &shared);
                        }
                    })?,
            );
        }
        Ok(Self {
            server,
            workers,
            address,
        })
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// Whether the scraper asks for OpenMetrics (as Prometheus does by default).
fn wants_openmetrics(request: &Request) -> bool {
    request.headers().iter().any(|h| {
        h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
    })
}

/// The last sample's metrics, in the format the scraper asks for.
fn metrics(request: &Request, shared: &Shared) -> Response<std::io::Cursor<Vec<u8>>> {
    let exposition = shared.lock().map_or_else(
        |poisoned| Arc::clone(&poisoned.into_inner()),
        |guard| Arc::clone(&guard),
    );
    if exposition.ready {
        let openmetrics = wants_openmetrics(request);
        match exposition.encode(openmetrics) {
            Ok(body) => {
                let kind = if openmetrics {
                    OPENMETRICS
                } else {
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE
                };
                let mut response = Response::from_string(body);
                if let Some(h) = header("Content-Type", kind) {
                    response.add_header(h);
                }
                response
            }
            Err(_) => {
                Response::from_string("bpfscope: cannot encode the metrics\n").with_status_code(500)
            }
        }
    } else {
        Response::from_string("bpfscope: no sample yet; try again in a moment\n")
            .with_status_code(503)
    }
}

fn answer(request: Request, shared: &Shared) {
    let path = request.url().split('?').next().unwrap_or("");
    let response = match (request.method(), path) {
        (Method::Get | Method::Head, "/metrics") => metrics(&request, shared),
        (Method::Get | Method::Head, "/") => {
            let mut response = Response::from_string(
                "<html><head><title>bpfscope</title></head><body><h1>bpfscope</h1>\
                 <p><a href=\"/metrics\">Metrics</a> of every loaded BPF program.</p>\
                 </body></html>\n",
            );
            if let Some(h) = header("Content-Type", "text/html; charset=utf-8") {
                response.add_header(h);
            }
            response
        }
        (Method::Get | Method::Head, _) => {
            Response::from_string("not found\n").with_status_code(404)
        }
        _ => Response::from_string("method not allowed\n").with_status_code(405),
    };
    // A client that went away is no one's problem.
    let _ = request.respond(response);
}
