//! The real `bpfscope-sampler` process, built from this crate: its
//! frames, its command line, and every way it exits.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope_kernel::sampler::read_program;
use bpfscope_kernel::test_support::{TestProgram, require_privilege};
use bpfscope_wire::protocol::{Frame, FrameReader, PROTOCOL_VERSION};

const HELPER: &str = env!("CARGO_BIN_EXE_bpfscope-sampler");

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
    let mut child = Command::new(HELPER)
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
    let allowed =
        (1u64 << bpfscope_kernel::sys::CAP_BPF) | (1u64 << bpfscope_kernel::sys::CAP_PERFMON);
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
    let out = Command::new(HELPER)
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
        let out = Command::new(HELPER).args(args).output().unwrap();
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
    let _sysctl = bpfscope_kernel::test_support::sysctl_for_test("0").unwrap();
    let prog = TestProgram::load("helper_orphan").unwrap();
    // A shell parent that starts the helper, says its pid, and waits.
    let mut parent = Command::new("sh")
        .args([
            "-c",
            &format!("{HELPER} --interval-ms 200 >/dev/null & echo $!; wait"),
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

/// The statistics toggler is this binary in another mode; polkit's action
/// and the remote sampler's sudo rule run the binary with any arguments,
/// so the mode refuses what they leave in the environment.
#[test]
fn the_toggler_mode_cannot_be_started_through_pkexec_or_sudo() {
    for var in ["PKEXEC_UID", "SUDO_UID"] {
        let out = Command::new(HELPER)
            .args(["--bpfscope-stats-toggler", "100", "1000"])
            .env(var, "1000")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {said}");
        assert!(
            said.contains("only a sampler in low-overhead mode starts it"),
            "{said}"
        );
        assert!(out.stdout.is_empty(), "{var}: it wrote a window");
    }
}
