//! A real Prometheus scraping `bpfscope serve`, and the dashboard's queries.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType};

use crate::common::Guard;
use crate::{Steady, exporter, free_port, get, ready};

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
pub(crate) fn query(prometheus: SocketAddr, promql: &str) -> Vec<serde_json::Value> {
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
    start_prometheus_with(
        dir,
        &format!(
            "  - job_name: bpfscope\n    static_configs:\n      - targets: ['{exporter_at}']\n"
        ),
    )
}

/// Prometheus on a free loopback port with `jobs` (YAML list items under
/// `scrape_configs`), scraping every second, once it is ready.
pub(crate) fn start_prometheus_with(dir: &std::path::Path, jobs: &str) -> (Guard, SocketAddr) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{jobs}"
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
