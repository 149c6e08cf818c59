//! The endpoint itself: where it listens, what a flood of scrapes or a
//! hostile client does to it, and whom it runs as.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType, skip};

use crate::common;
use crate::{exporter, free_port, get, ready};

#[test]
fn the_endpoint_listens_on_loopback_by_default() {
    let test = "the_endpoint_listens_on_loopback_by_default";
    if !ready(test) {
        return;
    }
    let default: SocketAddr = "127.0.0.1:9436".parse().unwrap();
    let _exporter = exporter(None, default, "1");
    // Any other address of the machine is refused: a global one where
    // there is one, and another loopback address.
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let mut others: Vec<SocketAddr> = vec!["127.0.0.2:9436".parse().unwrap()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(ip) = line
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.split('/').next())
        {
            others.push(format!("{ip}:9436").parse().unwrap());
        }
    }
    for other in others {
        let err = TcpStream::connect_timeout(&other, Duration::from_secs(2))
            .expect_err(&format!("{other} accepted a connection"));
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{other}: {err}"
        );
    }
    assert_eq!(get(default, "/nothing", None).unwrap().0, 404);
}

/// Kernel passes over `window`, counted by the kernel: bpfscope's program
/// iterator runs once per loaded program and once more at the end of each
/// pass. Counted again (up to five times) when programs came or went
/// meanwhile: tests in other binaries load and unload their own.
fn passes(exporter: SocketAddr, window: Duration) -> u64 {
    let read = || {
        let (_, body) = get(exporter, "/metrics", None).unwrap();
        let value = |prefix: &str, needle: &str| {
            body.lines()
                .find(|l| l.starts_with(prefix) && l.contains(needle))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {prefix} {needle} in a scrape"))
        };
        (
            value("bpfscope_program_runs_total", "name=\"dump_prog\""),
            value("bpfscope_programs ", ""),
        )
    };
    for _ in 0..5 {
        let (before, programs) = read();
        std::thread::sleep(window);
        let (after, still) = read();
        if programs == still {
            return (after - before) / (programs + 1);
        }
    }
    panic!("programs came or went during each of five counts");
}

#[test]
fn a_flood_of_scrapes_does_not_make_the_sampler_work_harder() {
    let test = "a_flood_of_scrapes_does_not_make_the_sampler_work_harder";
    if !ready(test) {
        return;
    }
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _exporter = exporter(Some(at), at, "1");
    let quiet = passes(at, Duration::from_secs(6));

    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let (stop, scrapes) = (Arc::clone(&stop), Arc::clone(&scrapes));
            std::thread::Builder::new()
                .name("scraper".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if get(at, "/metrics", None).is_ok_and(|(s, _)| s == 200) {
                            scrapes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    // And a client that connects and never sends a request.
    let _idle = TcpStream::connect(at).unwrap();
    let flooded = passes(at, Duration::from_secs(6));
    stop.store(true, Ordering::Relaxed);
    for thread in flood {
        thread.join().unwrap();
    }
    let scrapes = scrapes.load(Ordering::Relaxed);
    assert!(scrapes > 100, "only {scrapes} scrapes in 6 s");
    assert!(
        (5..=7).contains(&quiet) && flooded <= quiet + 1,
        "{flooded} passes in 6 s under {scrapes} scrapes, {quiet} without"
    );
}

#[test]
fn as_root_it_gives_up_root_and_keeps_serving() {
    let test = "as_root_it_gives_up_root_and_keeps_serving";
    if !ready(test) {
        return;
    }
    let Some(uid) = common::users::uid_of("bpfscope") else {
        let _ = skip(
            test,
            "no bpfscope user (the package creates it: scripts/elevation-env)",
        );
        return;
    };
    let prog = Arc::new(TestProgram::load_typed("serve_drop", TestProgramType::Xdp).unwrap());
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let exporter = exporter(Some(at), at, "0.5");
    let pid = exporter.0.id();
    let status = |field: &str| common::proc_status(pid, field).unwrap_or_default();
    assert_eq!(status("Uid:"), format!("{uid}\t{uid}\t{uid}\t{uid}"));
    assert_eq!(status("CapEff:"), "0000000000000000");
    assert_eq!(status("CapPrm:"), "0000000000000000");
    assert_eq!(status("NoNewPrivs:"), "1");
    // At most CAP_BPF and CAP_PERFMON left in the bounding set.
    let bounding = u64::from_str_radix(&status("CapBnd:"), 16).unwrap();
    assert_eq!(
        bounding & !((1 << 38) | (1 << 39)),
        0,
        "bounding set {bounding:x}"
    );
    // And still reading the kernel: a program run 1,000 times shows it.
    let runs = || {
        let (_, body) = get(at, "/metrics", None).unwrap();
        body.lines()
            .find(|l| {
                l.starts_with("bpfscope_program_runs_total")
                    && l.contains(&format!("id=\"{}\"", prog.id()))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let start = Instant::now();
    while runs().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the program never showed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = runs().unwrap();
    prog.run(1_000).unwrap();
    let start = Instant::now();
    while runs() != Some(before + 1_000) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "runs stayed at {:?}",
            runs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `bytes` on a new connection and reads what comes back (at most
/// 5 s); the reply's status code, 0 if the connection closed silently.
fn send(at: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(at).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(bytes);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, reply)
}

#[test]
fn hostile_clients_get_an_answer_and_cannot_stall_or_stop_the_exporter() {
    let test = "hostile_clients_get_an_answer_and_cannot_stall_or_stop_the_exporter";
    if !ready(test) {
        return;
    }
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut exporter = exporter(Some(at), at, "1");
    // A body it will never read, however long it claims to be.
    let (status, _) = send(
        at,
        b"GET /metrics HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
    );
    assert_eq!(status, 413);
    let (status, _) = send(
        at,
        b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    assert_eq!(status, 413);
    // A head that never ends, and one that is not HTTP.
    let mut long = b"GET /metrics HTTP/1.1\r\nX-Long: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 20_000));
    assert_eq!(send(at, &long).0, 431);
    assert_eq!(send(at, b"\x00\x01\x02 nonsense\r\n\r\n").0, 400);
    let (status, reply) = send(at, b"POST /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, 405);
    assert!(reply.contains("Allow: GET, HEAD"), "{reply}");
    let (status, reply) = send(at, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    assert!(reply.ends_with("\r\n\r\n"), "a body after HEAD: {reply}");

    // Sixteen clients that connect and send nothing, or a byte at a time:
    // a scrape is still answered at once.
    let mut idle: Vec<TcpStream> = (0..16).map(|_| TcpStream::connect(at).unwrap()).collect();
    for stream in idle.iter_mut().take(8) {
        stream.write_all(b"GE").unwrap();
    }
    let start = Instant::now();
    assert_eq!(get(at, "/metrics", None).unwrap().0, 200);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "a scrape waited {:?}",
        start.elapsed()
    );
    // Past 64 connections at once, the rest are told 503 without waiting.
    idle.extend((0..60).map(|_| TcpStream::connect(at).unwrap()));
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = send(at, b"GET /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(status, 503, "the 77th connection");
    drop(idle);
    // The slow ones are closed within the 10 s timeout; then it serves.
    let start = Instant::now();
    while !get(at, "/metrics", None).is_ok_and(|r| r.0 == 200) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never served again"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        exporter.0.try_wait().unwrap().is_none(),
        "the exporter died"
    );
}

/// `Accept` and `Accept-Encoding` by their quality values, and a head that
/// frames a body two ways refused: what a client says is what it gets.
#[test]
fn content_is_negotiated_by_quality_and_ambiguous_lengths_are_refused() {
    let test = "content_is_negotiated_by_quality_and_ambiguous_lengths_are_refused";
    if !ready(test) {
        return;
    }
    let at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut exporter = exporter(Some(at), at, "1");
    let start = Instant::now();
    while !get(at, "/metrics", None).is_ok_and(|r| r.0 == 200) {
        assert!(start.elapsed() < Duration::from_secs(15), "never served");
        std::thread::sleep(Duration::from_millis(200));
    }
    let head_of = |extra: &str| {
        let (status, reply) = send(
            at,
            format!("HEAD /metrics HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes(),
        );
        assert_eq!(status, 200, "{extra:?}: {reply}");
        reply.to_ascii_lowercase()
    };
    let openmetrics = "content-type: application/openmetrics-text";
    for (accept, wants_openmetrics) in [
        ("application/openmetrics-text;q=0, text/plain", false),
        ("x-application/openmetrics-text-not", false),
        ("application/openmetrics-text;version=2.0.0", false),
        (
            "application/openmetrics-text;q=0.4, text/plain;q=0.5",
            false,
        ),
        ("*/*", false),
        ("Application/OpenMetrics-Text; Version=1.0.0", true),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
             version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            true,
        ),
    ] {
        let reply = head_of(&format!("Accept: {accept}\r\n"));
        assert_eq!(
            reply.contains(openmetrics),
            wants_openmetrics,
            "{accept:?}: {reply}"
        );
    }
    for (coding, wants_gzip) in [
        ("GZIP;Q=0", false),
        ("gzip;q=0, *", false),
        ("identity", false),
        ("gzip;q=0.5, identity", true),
        ("*", true),
    ] {
        let reply = head_of(&format!("Accept-Encoding: {coding}\r\n"));
        assert_eq!(
            reply.contains("content-encoding: gzip"),
            wants_gzip,
            "{coding:?}: {reply}"
        );
    }
    for framing in [
        "Content-Length: 0\r\nContent-Length: 0\r\n",
        "Content-Length: 0\r\nContent-Length: 5\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
        "Content-Length: +0\r\n",
    ] {
        let (status, reply) = send(
            at,
            format!("GET /metrics HTTP/1.1\r\n{framing}\r\n").as_bytes(),
        );
        assert_eq!(status, 400, "{framing:?}: {reply}");
    }
    assert!(
        exporter.0.try_wait().unwrap().is_none(),
        "the exporter died"
    );
}
