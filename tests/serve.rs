//! `bpfscope serve` against real clients: a real Prometheus (Debian's
//! `prometheus`) scraping it every second and answering PromQL over its
//! HTTP API, `promtool check metrics` on a scrape, and plain HTTP for the
//! listening address and a flood of scrapes.
//!
//! Needs root, prometheus and promtool (`scripts/setup` installs them);
//! without them it skips with the reason, and fails under `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType, require_privilege, skip};
use common::{Guard, have};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

fn ready(test: &str) -> bool {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.0: the status code and the body.
fn get(address: SocketAddr, path: &str, accept: Option<&str>) -> std::io::Result<(u16, String)> {
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
fn exporter(listen: Option<SocketAddr>, reach: SocketAddr, interval: &str) -> Guard {
    let mut command = Command::new(BIN);
    command.args(["serve", "--interval", interval]);
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
struct Steady {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Steady {
    fn start(prog: &Arc<TestProgram>) -> Self {
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

/// Percent-encodes a query for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PromQL instant query's result vector.
fn query(prometheus: SocketAddr, promql: &str) -> Vec<serde_json::Value> {
    let (status, body) = get(
        prometheus,
        &format!("/api/v1/query?query={}", encode(promql)),
        None,
    )
    .expect("query Prometheus");
    assert_eq!(status, 200, "{promql}: {body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "success", "{promql}: {body}");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `promtool check metrics`, the text format's linter, finds nothing to
/// say of a scrape (OpenMetrics, which it cannot read, is what Prometheus
/// scrapes).
fn promtool_finds_nothing(exporter_at: SocketAddr) {
    let (_, body) = get(exporter_at, "/metrics", None).unwrap();
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}

/// Prometheus on a free loopback port, scraping `exporter_at` every second,
/// once it is ready.
fn start_prometheus(dir: &std::path::Path, exporter_at: SocketAddr) -> (Guard, SocketAddr) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: bpfscope\n    static_configs:\n      - targets: ['{exporter_at}']\n"
        ),
    )
    .unwrap();
    let prometheus: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Guard(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let start = Instant::now();
    while !get(prometheus, "/-/ready", None).is_ok_and(|(s, _)| s == 200) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Prometheus not ready after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (server, prometheus)
}

#[test]
fn prometheus_scrapes_the_driven_rate_and_joins_the_info_metric() {
    let test = "prometheus_scrapes_the_driven_rate_and_joins_the_info_metric";
    if !ready(test) {
        return;
    }
    let prog = Arc::new(TestProgram::load_typed("serve_probe", TestProgramType::Xdp).unwrap());
    let _steady = Steady::start(&prog);
    let exporter_at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    // Samples four times a scrape, so that each scrape's value is at most
    // a quarter of a second old and the rate over 5 s is within 10 %.
    let _exporter = exporter(Some(exporter_at), exporter_at, "0.25");

    promtool_finds_nothing(exporter_at);

    let dir = tempfile::tempdir().unwrap();
    let (_server, prometheus) = start_prometheus(dir.path(), exporter_at);
    let id = prog.id();
    let rate = format!("rate(bpfscope_program_runs_total{{id=\"{id}\"}}[5s])");
    // Scrapes every second: after a few, the rate over 5 s is defined.
    let start = Instant::now();
    let value = loop {
        if let Some(v) = query(prometheus, &rate)
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            && start.elapsed() > Duration::from_secs(10)
        {
            break v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rate from Prometheus after 60 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        (value - 10_000.0).abs() < 1_000.0,
        "Prometheus' rate is {value} runs/s, the driven rate 10,000"
    );
    let up = query(prometheus, "up{job=\"bpfscope\"}");
    assert_eq!(
        up.first().map(|r| r["value"][1].clone()),
        Some("1".into()),
        "{up:?}"
    );
    let (_, openmetrics) = get(
        exporter_at,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    )
    .unwrap();
    assert!(
        openmetrics.ends_with("# EOF\n"),
        "not OpenMetrics: {}",
        &openmetrics[..200]
    );
    // The info metric joins on id and brings the owner and type.
    let joined = query(
        prometheus,
        &format!(
            "bpfscope_program_runs_total{{id=\"{id}\"}} * on(id) group_left(owner, tag) \
             bpfscope_program_info"
        ),
    );
    assert_eq!(joined.len(), 1, "{joined:?}");
    let metric = &joined[0]["metric"];
    assert_eq!(metric["name"], "serve_probe");
    assert_eq!(metric["type"], "xdp");
    assert!(
        metric["owner"].as_str().is_some_and(|o| !o.is_empty()),
        "{metric}"
    );
    dashboard_queries_answer(prometheus, exporter_at, id);
}

/// Every query of `packaging/grafana/bpfscope.json` runs against
/// `prometheus` (its variables as Grafana would fill them: every host, a
/// 5 s rate interval) and returns data, the driven program `id` among it
/// wherever a query is per program; the host variable lists the exporter.
fn dashboard_queries_answer(prometheus: SocketAddr, exporter_at: SocketAddr, id: u32) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/grafana/bpfscope.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "instance")
        .expect("a host variable");
    assert_eq!(
        variable["definition"],
        "label_values(bpfscope_build_info, instance)"
    );
    let (_, hosts) = get(
        prometheus,
        "/api/v1/label/instance/values?match[]=bpfscope_build_info",
        None,
    )
    .unwrap();
    assert!(hosts.contains(&exporter_at.to_string()), "{hosts}");
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let promql = expr
                .replace("$instance", ".*")
                .replace("$__rate_interval", "5s");
            let result = query(prometheus, &promql);
            checked += 1;
            // Nothing was unloaded while the test ran.
            if target["legendFormat"]
                .as_str()
                .is_some_and(|l| l.contains("unloaded"))
            {
                continue;
            }
            assert!(
                !result.is_empty(),
                "{}: no data for {promql}",
                panel["title"]
            );
            let ids: Vec<&str> = result
                .iter()
                .filter_map(|r| r["metric"]["id"].as_str())
                .collect();
            assert!(
                ids.is_empty() || ids.contains(&id.to_string().as_str()),
                "{}: the driven program {id} is not in {ids:?}",
                panel["title"]
            );
        }
    }
    assert!(checked >= 9, "only {checked} queries in the dashboard");
}

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
/// pass.
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
    let (before, programs) = read();
    std::thread::sleep(window);
    let (after, still) = read();
    assert_eq!(programs, still, "programs came or went during the count");
    (after - before) / (programs + 1)
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
