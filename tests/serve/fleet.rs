//! The fleet view's source against a real Prometheus scraping two real
//! `bpfscope serve` exporters, and against everything that is not a
//! working Prometheus: nothing listening, a wrong password, a server that
//! is not Prometheus, a Prometheus with no bpfscope metrics, a server
//! that never answers.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bpfscope::fleet::{Client, gather};
use bpfscope::model::{FleetData, FleetTarget};
use bpfscope::test_support::{TestProgram, TestProgramType};

use crate::common::Guard;
use crate::prometheus::{query, start_prometheus_with};
use crate::{Steady, exporter, free_port, ready};

/// Two exporters and a Prometheus scraping both every second, with
/// `prog` driven at 10,000 runs a second.
pub(crate) struct Fleet {
    pub prometheus: SocketAddr,
    pub hosts: [SocketAddr; 2],
    _guards: Vec<Guard>,
    _steady: Steady,
    _dir: tempfile::TempDir,
}

pub(crate) fn fleet(prog: &Arc<TestProgram>) -> Fleet {
    let steady = Steady::start(prog);
    let hosts: [SocketAddr; 2] =
        std::array::from_fn(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap());
    let mut guards: Vec<Guard> = hosts
        .iter()
        .map(|&at| exporter(Some(at), at, "0.25"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let jobs = format!(
        "  - job_name: bpfscope\n    static_configs:\n      - targets: ['{}', '{}']\n",
        hosts[0], hosts[1]
    );
    let (server, prometheus) = start_prometheus_with(dir.path(), &jobs);
    guards.push(server);
    Fleet {
        prometheus,
        hosts,
        _guards: guards,
        _steady: steady,
        _dir: dir,
    }
}

pub(crate) fn target(at: SocketAddr) -> FleetTarget {
    FleetTarget {
        url: format!("http://{at}"),
        ..FleetTarget::default()
    }
}

/// Asks until `done` holds of the answer, for at most a minute.
fn gather_until(client: &Client, done: impl Fn(&FleetData) -> bool) -> FleetData {
    let start = Instant::now();
    loop {
        let answer = gather(client, 60, SystemTime::now(), &|| true);
        if let Ok(data) = &answer
            && done(data)
        {
            eprintln!("fleet: answered as expected after {:?}", start.elapsed());
            return data.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "after 60 s: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_fleet_lists_both_hosts_with_the_driven_program_at_its_rate() {
    let test = "the_fleet_lists_both_hosts_with_the_driven_program_at_its_rate";
    if !ready(test) {
        return;
    }
    let prog = Arc::new(TestProgram::load_typed("fleet_probe", TestProgramType::Xdp).unwrap());
    let id = prog.id().to_string();
    let fleet = fleet(&prog);
    let client = Client::new(&target(fleet.prometheus)).unwrap();
    let near = |rate: Option<f64>| rate.is_some_and(|r| (r - 10_000.0).abs() < 1_000.0);
    let data = gather_until(&client, |data| {
        data.hosts.len() == 2
            && data.hosts.iter().all(|h| {
                h.top.iter().any(|p| p.id == id && near(p.events_per_sec)) && h.series.len() >= 2
            })
    });
    let instances: Vec<String> = data.hosts.iter().map(|h| h.instance.clone()).collect();
    let mut expected = fleet.hosts.map(|h| h.to_string()).to_vec();
    expected.sort();
    assert_eq!(instances, expected, "sorted by instance");
    for host in &data.hosts {
        assert!(host.up, "{host:?}");
        assert!(host.programs.is_some_and(|n| n >= 1), "{host:?}");
        let p = host.top.iter().find(|p| p.id == id).unwrap();
        assert_eq!((p.name.as_str(), p.kind.as_str()), ("fleet_probe", "xdp"));
        // Our test holds the program: its owner is this process.
        assert!(!p.owner.is_empty(), "{p:?}");
        // The host's total is at least this program's share, and the
        // series ends at the fetch.
        assert!(host.cpu.unwrap() >= p.cpu * 0.99, "{host:?}");
        assert!(p.avg_runtime_ns().is_some_and(|ns| ns > 0.0), "{p:?}");
        let last = host.series.last().unwrap()[0];
        assert!(
            (-10.0..=0.0).contains(&last),
            "{last}: {:?} fetched {:?}",
            host.series,
            data.fetched
        );
    }
    // The same figure Prometheus gives a user for the host's total.
    let total = query(
        fleet.prometheus,
        &format!(
            "sum(rate(bpfscope_program_run_time_seconds_total{{instance=\"{}\"}}[1m]))",
            fleet.hosts[0]
        ),
    );
    assert!(!total.is_empty(), "{total:?}");
}

#[test]
fn what_is_not_a_working_prometheus_is_said_in_words_and_never_hangs() {
    let test = "what_is_not_a_working_prometheus_is_said_in_words_and_never_hangs";
    if !ready(test) {
        return;
    }
    let ask = |target: &FleetTarget| {
        let client = Client::new(target).unwrap();
        let start = Instant::now();
        let answer = gather(&client, 60, SystemTime::now(), &|| true);
        (answer, start.elapsed())
    };
    // Nothing listens.
    let nothing: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (answer, _) = ask(&target(nothing));
    let said = answer.unwrap_err().to_string();
    assert!(
        said.starts_with(&format!("cannot reach http://{nothing}")),
        "{said}"
    );

    // Not Prometheus: bpfscope serve itself answers 404 in plain text.
    let serve_at: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _serve = exporter(Some(serve_at), serve_at, "1");
    let said = ask(&target(serve_at)).0.unwrap_err().to_string();
    assert!(said.contains("not as Prometheus' API does"), "{said}");

    // A server that accepts and never answers: a time-out, said as one.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let (said, took) = ask(&target(silent.local_addr().unwrap()));
    let said = said.unwrap_err().to_string();
    assert!(said.contains("did not answer within 10 s"), "{said}");
    assert!(took < Duration::from_secs(15), "{took:?}");

    // A Prometheus that scrapes nothing: an empty fleet, not an error.
    let dir = tempfile::tempdir().unwrap();
    let (_empty, empty_at) = start_prometheus_with(dir.path(), "  []\n");
    let data = ask(&target(empty_at)).0.unwrap();
    assert!(data.hosts.is_empty(), "{data:?}");

    // A Prometheus that wants a password (its own web configuration).
    let dir = tempfile::tempdir().unwrap();
    let (_locked, locked_at) = crate::pki::locked_prometheus(dir.path(), "s3cret");
    let mut wrong = target(locked_at);
    wrong.user = "prom".into();
    wrong.password = "guess".into();
    let said = ask(&wrong).0.unwrap_err().to_string();
    assert!(
        said.contains("refused the user name or password (HTTP 401)"),
        "{said}"
    );
    let mut right = wrong.clone();
    right.password = "s3cret".into();
    assert!(ask(&right).0.is_ok(), "the right password");
    // A bad query's error comes back in Prometheus' words.
    let client = Client::new(&right).unwrap();
    let said = client.instant("rate(").unwrap_err().to_string();
    assert!(said.starts_with("Prometheus: bad_data:"), "{said}");
}
