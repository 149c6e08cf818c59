//! Remote hosts over a real ssh: `bpfscope sample --host`, `record --host`
//! and the window watch the installed sampler on "another host" — a real
//! sshd on loopback, a test user with a key and a sudoers rule for the
//! sampler only — and each way it can go wrong is said within 15 s.
//!
//! Needs root (sshd, the sampler through sudo); without it the tests skip
//! with the reason, and fail under `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod hosts;
mod sshd;
mod window;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope::test_support::TestProgram;
use sshd::{Sshd, USER, USER_WITH_PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

/// `bpfscope <subcommand> --host user@127.0.0.1` with `options`.
fn over_ssh(subcommand: &str, user: &str, options: &[String], more: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg(subcommand)
        .args(["--host", &format!("{user}@127.0.0.1")]);
    for option in options {
        command.args(["--ssh-option", option]);
    }
    command.args(more);
    command
}

#[test]
fn sample_over_ssh_counts_every_run_of_a_driven_program() {
    if !sshd::ready("sample_over_ssh_counts_every_run_of_a_driven_program") {
        return;
    }
    let sshd = Sshd::start();
    let prog = TestProgram::load("bpfscope_remote").unwrap();
    let mut child = over_ssh(
        "sample",
        USER,
        &sshd.options(),
        &["--format", "json", "--interval", "0.25", "--count", "14"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1_000);
    let stdout = child.stdout.take().unwrap();
    std::thread::Builder::new()
        .name("remote-sample".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        })
        .unwrap();
    let id = prog.id();
    let mine = |line: &String| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        (v["id"] == id).then(|| v["run_cnt"].as_u64().unwrap())
    };
    let mut runs = Vec::new();
    // The first period printed: then the runs.
    let deadline = Instant::now() + Duration::from_secs(15);
    while runs.is_empty() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no period within 15 s: {}", sshd.log()));
        runs.extend(mine(&line));
    }
    for _ in 0..4 {
        prog.run(1_000).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    runs.extend(rx.try_iter().filter_map(|l| mine(&l)));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert_eq!(runs.last().unwrap() - runs[0], 4_000, "{runs:?}");
}

#[test]
fn record_over_ssh_writes_the_hosts_name_and_its_samples() {
    if !sshd::ready("record_over_ssh_writes_the_hosts_name_and_its_samples") {
        return;
    }
    let sshd = Sshd::start();
    let file = sshd.path("remote.bpfscope");
    let out = over_ssh(
        "record",
        USER,
        &sshd.options(),
        &[
            "--interval",
            "0.25",
            "--count",
            "6",
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let reader = bpfscope::record::RecordingReader::new(std::io::BufReader::new(
        std::fs::File::open(&file).unwrap(),
    ))
    .unwrap();
    assert_eq!(reader.header.host, "127.0.0.1");
    let printed = Command::new(BIN)
        .args(["sample", "--format", "json", "--from"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(printed.status.success());
    assert!(!printed.stdout.is_empty());
}

/// A way to fail: what, as whom, with which ssh options and arguments, and
/// the words said.
type Case<'a> = (&'a str, &'a str, Vec<String>, &'a [&'a str], &'a str);

/// What `sample --host` says on stderr, its exit code, and how long it
/// took.
fn fails(user: &str, options: &[String], more: &[&str]) -> (String, Option<i32>, Duration) {
    let started = Instant::now();
    let out = over_ssh("sample", user, options, &[&["--count", "1"], more].concat())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    (said, out.status.code(), started.elapsed())
}

#[test]
fn each_way_a_host_refuses_is_said_within_15_s() {
    if !sshd::ready("each_way_a_host_refuses_is_said_within_15_s") {
        return;
    }
    let sshd = Sshd::start();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut nobody = sshd.options();
    nobody[0] = format!("Port={closed}");
    let missing = ["--remote-command", sshd::MISSING_HELPER];
    let cases: [Case<'_>; 6] = [
        (
            "a wrong key",
            USER,
            sshd.options_with("stranger", "known_hosts"),
            &[],
            "refused the login",
        ),
        (
            "an unknown host",
            USER,
            sshd.options_with("client", "unknown_hosts"),
            &[],
            "host key of 127.0.0.1 is not known",
        ),
        (
            "a missing helper",
            USER,
            sshd.options(),
            &missing,
            "sampler is not installed on 127.0.0.1",
        ),
        (
            "sudo asking for a password",
            USER_WITH_PASSWORD,
            sshd.options(),
            &[],
            "sudo on 127.0.0.1 wants a password",
        ),
        (
            "nothing listening",
            USER,
            nobody,
            &[],
            "127.0.0.1 does not answer on ssh",
        ),
        (
            "something else answering",
            USER,
            sshd.options(),
            &["--remote-command", "echo hello"],
            "sent data bpfscope cannot read",
        ),
    ];
    for (what, user, options, more, expected) in cases {
        let (said, code, took) = fails(user, &options, more);
        assert!(said.contains(expected), "{what}: {said}");
        assert_eq!(code, Some(2), "{what}: {said}");
        assert!(took < Duration::from_secs(15), "{what} took {took:?}");
    }
}

#[test]
fn a_host_with_another_bpfscope_release_is_said() {
    use bpfscope::model::{Enumeration, SourceInfo, StatsMode};
    use bpfscope::protocol::{Frame, Hello, PROTOCOL_VERSION, encode};
    if !sshd::ready("a_host_with_another_bpfscope_release_is_said") {
        return;
    }
    let sshd = Sshd::start();
    // What a sampler of the previous protocol says first, where the test
    // user can read it.
    let hello = Frame::Hello(Hello {
        protocol_version: PROTOCOL_VERSION - 1,
        source: SourceInfo {
            stats_mode: StatsMode::Syscall,
            enumeration: Enumeration::Iterator,
            owners_available: true,
            kernel_release: "6.1.0".into(),
            online_cpus: 2,
            notices: Vec::new(),
            accounting: bpfscope::model::AccountingCost::Measured {
                without_ns: 12,
                with_ns: 40,
            },
        },
    });
    let file = tempfile::Builder::new().tempfile().unwrap();
    std::fs::write(file.path(), encode(&hello).unwrap()).unwrap();
    let status = Command::new("chmod")
        .arg("0644")
        .arg(file.path())
        .status()
        .unwrap();
    assert!(status.success());
    let command = format!("cat {}; true", file.path().display());
    let (said, code, took) = fails(USER, &sshd.options(), &["--remote-command", &command]);
    assert!(
        said.contains(&format!(
            "runs a bpfscope sampler of frame protocol {}; this bpfscope speaks protocol {PROTOCOL_VERSION}",
            PROTOCOL_VERSION - 1
        )),
        "{said}"
    );
    assert_eq!(code, Some(2));
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_host_that_connects_and_says_nothing_is_given_up_within_15_s() {
    if !sshd::ready("a_host_that_connects_and_says_nothing_is_given_up_within_15_s") {
        return;
    }
    let sshd = Sshd::start();
    let (said, code, took) = fails(
        USER,
        &sshd.options(),
        &["--remote-command", "sleep 60; true"],
    );
    assert!(said.contains("did not answer within 12 s"), "{said}");
    assert_eq!(code, Some(2));
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_host_name_ssh_would_take_for_an_option_is_refused() {
    let out = Command::new(BIN)
        .args(["sample", "--host", "-oProxyCommand=touch /tmp/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["sample", "--host=-oProxyCommand=x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is not a host name"), "{said}");
}
