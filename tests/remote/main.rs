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

/// `bytes` in a file the test user can read, and the remote command that
/// prints them as a sampler would.
fn served(bytes: &[u8]) -> (tempfile::NamedTempFile, String) {
    let file = tempfile::Builder::new().tempfile().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let status = Command::new("chmod")
        .arg("0644")
        .arg(file.path())
        .status()
        .unwrap();
    assert!(status.success());
    let command = format!("cat {}; true", file.path().display());
    (file, command)
}

#[test]
fn a_host_with_the_previous_protocol_is_read() {
    use bpfscope::protocol::{Frame, FrameReader, OLDEST_PROTOCOL, encode_as};
    if !sshd::ready("a_host_with_the_previous_protocol_is_read") {
        return;
    }
    let sshd = Sshd::start();
    // What a protocol 7 helper wrote (`bpfscope-sampler --once` of the
    // release before protocol 8), then a second period of it, in its
    // layout: 1,000 more runs of its first program a second later.
    let old = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/protocol-7.frames"
    ))
    .unwrap();
    let mut reader = FrameReader::new(&old[..]);
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        frames.push(frame);
    }
    assert_eq!(reader.version(), Some(OLDEST_PROTOCOL));
    let Some(Frame::Sample(first)) = frames.last().cloned() else {
        panic!("the fixture ends with a sample: {frames:?}")
    };
    let mut second = first.clone();
    second.taken_at += Duration::from_secs(1);
    second.boottime_ns += 1_000_000_000;
    second.period = Duration::from_secs(1);
    second.facts.clear();
    second.programs[0].run_cnt += 1_000;
    second.programs[0].run_time_ns += 50_000;
    let mut bytes = old.clone();
    bytes.extend(encode_as(&Frame::Sample(second), OLDEST_PROTOCOL).unwrap());
    let (_file, command) = served(&bytes);
    let out = over_ssh(
        "sample",
        USER,
        &sshd.options(),
        &[
            "--remote-command",
            &command,
            "--format",
            "json",
            "--count",
            "1",
        ],
    )
    .output()
    .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let id = first.programs[0].id;
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("program {id} printed: {said}"));
    assert_eq!(line["events_per_sec"].as_f64(), Some(1000.0), "{line}");
    assert_eq!(line["avg_runtime_ns"].as_f64(), Some(50.0), "{line}");
}

#[test]
fn a_host_with_a_protocol_too_old_or_too_new_is_said_in_both_versions() {
    use bpfscope::protocol::{OLDEST_PROTOCOL, PROTOCOL_VERSION};
    if !sshd::ready("a_host_with_a_protocol_too_old_or_too_new_is_said_in_both_versions") {
        return;
    }
    let sshd = Sshd::start();
    for (got, advice) in [
        (OLDEST_PROTOCOL - 1, "upgrade bpfscope on that host"),
        (PROTOCOL_VERSION + 1, "upgrade bpfscope here"),
    ] {
        // Any protocol's Hello starts so: message 0, then the version
        // (postcard varints), whatever its layout after.
        let payload = [0u8, u8::try_from(got).unwrap(), 0, 0, 0, 0];
        let mut bytes = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
        bytes.extend(payload);
        let (_file, command) = served(&bytes);
        let (said, code, took) = fails(USER, &sshd.options(), &["--remote-command", &command]);
        assert!(
            said.contains(&format!(
                "runs a bpfscope sampler of frame protocol {got}; this bpfscope ({}) reads \
                 protocols {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}: {advice}",
                env!("CARGO_PKG_VERSION")
            )),
            "{said}"
        );
        assert_eq!(code, Some(2));
        assert!(took < Duration::from_secs(15), "{took:?}");
    }
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
