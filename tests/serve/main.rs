//! `bpfscope serve` against real clients: a real Prometheus (Debian's
//! `prometheus`) scraping it every second and answering PromQL over its
//! HTTP API, `promtool check metrics` on a scrape, and plain HTTP for the
//! listening address and a flood of scrapes.
//!
//! Needs root, prometheus and promtool (`scripts/setup` installs them);
//! without them it skips with the reason, and fails under `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

#[path = "../common/mod.rs"]
mod common;
mod fleet;
mod fleet_window;
mod http;
mod low_overhead;
mod pki;
mod prometheus;
mod web;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, require_privilege, skip};
use common::{Guard, have};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

pub(crate) fn ready(test: &str) -> bool {
    if !require_privilege(test) {
        return false;
    }
    let missing: Vec<&str> = ["prometheus", "promtool"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    missing.is_empty()
        || skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        )
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.0: the status code and the body.
pub(crate) fn get(
    address: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\n{accept}\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// `bpfscope serve` on `listen` sampling every `interval` seconds, once it
/// answers `/metrics` with a sample.
pub(crate) fn exporter(listen: Option<SocketAddr>, reach: SocketAddr, interval: &str) -> Guard {
    exporter_with(listen, reach, &["--interval", interval])
}

/// `bpfscope serve` with `args`, once it answers `/metrics` with a sample.
pub(crate) fn exporter_with(listen: Option<SocketAddr>, reach: SocketAddr, args: &[&str]) -> Guard {
    let mut command = Command::new(BIN);
    command.arg("serve").args(args);
    if let Some(listen) = listen {
        command.args(["--listen", &listen.to_string()]);
    }
    let mut child = Guard(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bpfscope serve"),
    );
    let start = Instant::now();
    loop {
        if let Ok((200, _)) = get(reach, "/metrics", None) {
            return child;
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut err = String::new();
            child
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("bpfscope serve exited ({status}): {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no metrics after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `prog` 1,000 times every 100 ms, on a steady clock: 10,000 runs a
/// second.
pub(crate) struct Steady {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Steady {
    pub(crate) fn start(prog: &Arc<TestProgram>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(prog), Arc::clone(&stop));
        let handle = std::thread::Builder::new()
            .name("steady-driver".into())
            .spawn(move || {
                let start = Instant::now();
                let mut tick = 0u32;
                while !s.load(Ordering::Relaxed) {
                    p.run(1_000).unwrap();
                    tick += 1;
                    let next = start + Duration::from_millis(100) * tick;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
            .unwrap();
        Self {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Steady {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
