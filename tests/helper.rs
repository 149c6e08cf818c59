//! The real `bpfscope-sampler` process: its frames, and every way it exits.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope::protocol::{Frame, FrameReader, PROTOCOL_VERSION};
use bpfscope::sampler::read_program;
use bpfscope::test_support::{TestProgram, require_privilege};

/// The helper is built from the kernel crate (`bpfscope-kernel`), beside
/// this package's binaries in the same target directory.
static HELPER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let path =
        std::path::Path::new(env!("CARGO_BIN_EXE_bpfscope")).with_file_name("bpfscope-sampler");
    assert!(
        path.exists(),
        "{} is missing: build the workspace (cargo build, or cargo nextest run at the top)",
        path.display()
    );
    path.to_string_lossy().into_owned()
});

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < within, "still running after {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn frames_carry_a_hello_and_exact_run_counts() {
    if !require_privilege("frames_carry_a_hello_and_exact_run_counts") {
        return;
    }
    let prog = TestProgram::load("helper_exact").unwrap();
    let mut child = Command::new(&*HELPER)
        .args(["--interval-ms", "200"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = FrameReader::new(child.stdout.take().unwrap());
    match reader.next_frame().unwrap() {
        Some(Frame::Hello(hello)) => {
            assert_eq!(hello.protocol_version, PROTOCOL_VERSION);
            assert!(hello.source.online_cpus >= 1);
            assert!(!hello.source.kernel_release.is_empty());
        }
        other => panic!("first frame: {other:?}"),
    }
    let mut counts = Vec::new();
    while counts.len() < 2 {
        if let Some(Frame::Sample(sample)) = reader.next_frame().unwrap() {
            counts.push(
                sample
                    .program(prog.id())
                    .expect("test program listed")
                    .run_cnt,
            );
            if counts.len() == 1 {
                prog.run(1000).unwrap();
            }
        }
    }
    assert_eq!(counts[1] - counts[0], 1000);

    // Least privilege: it sampled as an unprivileged user, with at most
    // CAP_BPF and CAP_PERFMON, and nothing it could run would regain more.
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .trim()
            .to_owned()
    };
    let field = |name: &str| u64::from_str_radix(&line(name), 16).unwrap();
    let allowed = (1u64 << bpfscope::sys::CAP_BPF) | (1u64 << bpfscope::sys::CAP_PERFMON);
    eprintln!(
        "helper: Uid {} CapEff {:#x}",
        line("Uid:"),
        field("CapEff:")
    );
    assert!(!line("Uid:").starts_with('0'), "{status}");
    assert!(!line("Gid:").starts_with('0'), "{status}");
    assert_eq!(field("CapEff:") & !allowed, 0, "{status}");
    assert_eq!(field("CapPrm:") & !allowed, 0, "{status}");
    assert_eq!(field("CapBnd:"), allowed);
    assert_eq!(field("CapAmb:"), 0);
    assert_eq!(line("NoNewPrivs:"), "1");
    // Closing its output ends the helper (EPIPE on the next frame).
    drop(reader);
    let status = wait_exit(&mut child, Duration::from_secs(3));
    assert!(status.success(), "{status}");
}

#[test]
fn once_writes_one_sample_and_text_is_readable() {
    if !require_privilege("once_writes_one_sample_and_text_is_readable") {
        return;
    }
    let prog = TestProgram::load("helper_text").unwrap();
    let out = Command::new(&*HELPER)
        .args(["--once", "--format", "text"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("bpfscope-sampler: kernel "), "{text}");
    assert!(text.contains("helper_text"), "{text}");
    assert!(
        text.contains(&format!("{:>6} socket_filter", prog.id())),
        "{text}"
    );
}

#[test]
fn a_bad_command_line_is_refused() {
    for args in [
        &["--interval-ms", "5"][..],
        &["--interval-ms", "99999999"],
        &["--shell"],
    ] {
        let out = Command::new(&*HELPER).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_helper_dies_with_its_parent_and_accounting_stops() {
    if !require_privilege("the_helper_dies_with_its_parent_and_accounting_stops") {
        return;
    }
    // No sysctl-mode instance (another test) may hold accounting on meanwhile.
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").unwrap();
    let prog = TestProgram::load("helper_orphan").unwrap();
    // A shell parent that starts the helper, says its pid, and waits.
    let mut parent = Command::new("sh")
        .args([
            "-c",
            &format!("{} --interval-ms 200 >/dev/null & echo $!; wait", *HELPER),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(parent.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let helper: u32 = line.trim().parse().unwrap();
    // Statistics are on once the helper runs.
    let start = Instant::now();
    loop {
        let before = read_program(prog.id()).unwrap().unwrap().run_cnt;
        prog.run(10).unwrap();
        if read_program(prog.id()).unwrap().unwrap().run_cnt > before {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "statistics never came on"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    parent.kill().unwrap();
    parent.wait().unwrap();
    let start = Instant::now();
    // Ended: gone, or a zombie left for init to reap (which this machine's
    // init does about once a second).
    let ended = || {
        std::fs::read_to_string(format!("/proc/{helper}/status")).map_or(true, |s| {
            s.lines()
                .any(|l| l.starts_with("State:") && l.contains("zombie"))
        })
    };
    while !ended() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "helper {helper} outlived its parent by 2 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = read_program(prog.id()).unwrap().unwrap().run_cnt;
    prog.run(1000).unwrap();
    let after = read_program(prog.id()).unwrap().unwrap().run_cnt;
    assert_eq!(
        after, before,
        "run_cnt still grows: statistics were left on"
    );
}

mod common;

use std::sync::Arc;

use bpfscope::model::{Interval, SourceEvent};
use bpfscope::source::{Action, HelperLaunch, SampleOrigin, Source, Status};
use common::children_named;

/// The real helper, started directly (this test is root) as the window's
/// source would start it through pkexec.
fn helper_source(helper: &str) -> Source {
    let launch = HelperLaunch {
        helper: helper.into(),
        via_pkexec: false,
        terminal_agent: false,
        remote: None,
        low_overhead_percent: None,
    };
    let interval = Interval::new(Duration::from_millis(200)).unwrap();
    Source::helper(launch, interval, Arc::new(|| {}), false)
}

/// Receives until `done` says so, failing after `within`.
fn until(
    source: &mut Source,
    within: Duration,
    mut done: impl FnMut(&Source, Option<&SourceEvent>) -> bool,
) {
    let start = Instant::now();
    loop {
        let event = source.recv_timeout(Duration::from_millis(50));
        if done(source, event.as_ref()) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "not reached within {within:?}; status {:?}",
            source.status()
        );
    }
}

fn run_cnt_in(event: Option<&SourceEvent>, id: u32) -> Option<u64> {
    match event {
        Some(SourceEvent::Sample(sample)) => sample.program(id).map(|p| p.run_cnt),
        _ => None,
    }
}

fn our_helper() -> u32 {
    let ours = children_named(std::process::id(), "bpfscope-sample");
    assert_eq!(ours.len(), 1, "one helper child: {ours:?}");
    ours[0]
}

#[test]
fn the_window_source_relays_the_helper_and_reconnects_after_it_dies() {
    if !require_privilege("the_window_source_relays_the_helper_and_reconnects_after_it_dies") {
        return;
    }
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").unwrap();
    let prog = TestProgram::load("helper_source").unwrap();
    let mut source = helper_source(&HELPER);

    // Exact counts through the pipe, the frames and the channel.
    let mut counts = Vec::new();
    until(&mut source, Duration::from_secs(20), |_, event| {
        if let Some(count) = run_cnt_in(event, prog.id()) {
            counts.push(count);
            if counts.len() == 1 {
                prog.run(1000).unwrap();
            }
        }
        counts.len() == 2
    });
    assert_eq!(counts[1] - counts[0], 1000);
    assert_eq!(source.status(), &Status::Sampling(SampleOrigin::Helper));

    // The helper dies mid-run: the status says so and offers Reconnect.
    let helper = our_helper();
    let pid = libc::pid_t::try_from(helper).unwrap();
    // SAFETY: signalling the helper this test started.
    let killed = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(killed, 0);
    until(&mut source, Duration::from_secs(10), |source, _| {
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert_eq!(action, Some(Action::Reconnect), "{message}");
    assert!(message.contains("killed by signal 9"), "{message}");
    assert!(message.contains("history so far is kept"), "{message}");

    // Reconnect: a new helper, samples again.
    source.act(Action::Reconnect);
    let mut hello = false;
    until(&mut source, Duration::from_secs(20), |_, event| {
        hello |= matches!(event, Some(SourceEvent::Hello(_)));
        hello && run_cnt_in(event, prog.id()).is_some()
    });
    assert_eq!(source.status(), &Status::Sampling(SampleOrigin::Helper));

    // Dropping the source (closing the window) ends the helper, and with it
    // the statistics.
    let helper = our_helper();
    drop(source);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{helper}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the helper outlived its source: {:?}",
            std::fs::read_to_string(format!("/proc/{helper}/status"))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = read_program(prog.id()).unwrap().unwrap().run_cnt;
    prog.run(1000).unwrap();
    let after = read_program(prog.id()).unwrap().unwrap().run_cnt;
    assert_eq!(after, before, "statistics were left on");
}

#[test]
fn a_helper_that_writes_garbage_is_stopped_and_reported() {
    if !require_privilege("a_helper_that_writes_garbage_is_stopped_and_reported") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bpfscope-sampler");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'this is not a frame of bpfscope at all'\nexec sleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut source = helper_source(script.to_str().unwrap());
    until(&mut source, Duration::from_secs(10), |source, event| {
        assert!(event.is_none(), "garbage became an event: {event:?}");
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert!(message.contains("cannot read"), "{message}");
    assert_eq!(action, Some(Action::Reconnect));
    // The writer was stopped, not left running.
    assert!(
        children_named(std::process::id(), "sleep").is_empty(),
        "the garbage writer still runs"
    );
}

#[test]
fn a_missing_helper_is_named_in_the_status() {
    let mut source = helper_source("/nonexistent/bpfscope-sampler");
    until(&mut source, Duration::from_secs(10), |source, _| {
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert!(
        message.contains("/nonexistent/bpfscope-sampler"),
        "{message}"
    );
    assert!(message.contains("not installed"), "{message}");
    assert_eq!(action, None);
}
