//! `bpfscope sample` run as a real process.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, require_privilege};

mod cost;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");
/// Runs per second the rate test drives.
pub(crate) const RATE: u64 = 20_000;
/// Runs the per-CPU test makes on one CPU (about 10 ms of run time).
pub(crate) const PER_CPU_RUNS: u32 = 300_000;

/// Runs `prog` at `runs_per_sec` on a fixed schedule until `stop` is set;
/// returns the number of runs.
pub(crate) fn drive(
    prog: Arc<TestProgram>,
    runs_per_sec: u64,
    stop: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    const TICK: Duration = Duration::from_millis(5);
    let per_tick = u32::try_from(runs_per_sec / 200).expect("rate fits");
    std::thread::Builder::new()
        .name("test-driver".into())
        .spawn(move || {
            let start = Instant::now();
            let mut tick = 0u32;
            while !stop.load(Ordering::Relaxed) {
                prog.run(per_tick).expect("test run");
                total.fetch_add(u64::from(per_tick), Ordering::Relaxed);
                tick += 1;
                if let Some(wait) = (TICK * tick).checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        })
        .expect("spawn driver")
}

pub(crate) fn csv_rows(text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .collect::<Result<_, _>>()
        .expect("valid CSV")
}

#[test]
fn sample_csv_reports_the_rate_the_test_drove() {
    if !require_privilege("sample_csv_reports_the_rate_the_test_drove") {
        return;
    }
    let prog = Arc::new(TestProgram::load("bpfscope_rate").expect("load"));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let driver = drive(
        Arc::clone(&prog),
        RATE,
        Arc::clone(&stop),
        Arc::clone(&total),
    );
    std::thread::sleep(Duration::from_millis(200));

    let out = Command::new(BIN)
        .args([
            "sample",
            "--count",
            "2",
            "--format",
            "csv",
            "--interval",
            "0.5",
        ])
        .output()
        .expect("run bpfscope");
    stop.store(true, Ordering::Relaxed);
    driver.join().expect("driver");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);

    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with(
        "timestamp,id,type,name,avg_runtime_ns,total_avg_runtime_ns,events_per_sec,\
         cpu_percent,run_cnt,run_time_ns,recursion_misses,owners,attach\n"
    ));
    let rows = csv_rows(&text);
    let id = prog.id().to_string();
    let ours: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[1] == id.as_str()).collect();
    assert_eq!(ours.len(), 2, "one row per printed period:\n{text}");
    // Two periods, two distinct timestamps.
    assert_ne!(&ours[0][0], &ours[1][0]);
    for row in ours {
        assert_eq!(&row[2], "socket_filter");
        assert_eq!(&row[3], "bpfscope_rate");
        // Loaded with a raw BPF_PROG_LOAD and held by a plain fd: not attached.
        assert_eq!(&row[12], "not attached");
        let rate: f64 = row[6].parse().expect("events_per_sec");
        assert!(
            (rate - RATE as f64).abs() <= RATE as f64 * 0.10,
            "events_per_sec {rate} is not within 10 % of the {RATE}/s driven"
        );
        let avg: f64 = row[4].parse().expect("avg_runtime_ns");
        assert!(avg > 0.0);
        assert!(
            row[11].contains(&format!(":{}", std::process::id())),
            "owners {}",
            &row[11]
        );
    }
}

#[test]
fn sample_json_lines_carry_the_same_keys() {
    if !require_privilege("sample_json_lines_carry_the_same_keys") {
        return;
    }
    let prog = TestProgram::load("bpfscope_json").expect("load");
    let mut child = Command::new(BIN)
        .args([
            "sample",
            "--count",
            "1",
            "--format",
            "json",
            "--interval",
            "0.2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("piped");
    // Runs made while bpfscope samples are counted from its first pass on.
    std::thread::sleep(Duration::from_millis(50));
    prog.run(10).expect("run");
    let lines: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .map(|l| serde_json::from_str(&l.expect("line")).expect("JSON line"))
        .collect();
    assert!(child.wait().expect("wait").success());
    let ours = lines
        .iter()
        .find(|v| v["id"] == prog.id())
        .expect("test program listed");
    assert_eq!(ours["name"], "bpfscope_json");
    assert_eq!(ours["type"], "socket_filter");
    assert!(ours["events_per_sec"].is_number());
    assert!(
        ours["owners"]
            .as_array()
            .expect("array")
            .iter()
            .any(|o| o["pid"] == std::process::id())
    );
    assert!(ours["timestamp"].as_str().expect("string").ends_with('Z'));
    // Facts and attach points ride along.
    assert_eq!(ours["facts"]["id"], prog.id());
    assert_eq!(ours["facts"]["uid"], 0);
    assert!(ours["facts"]["xlated_bytes"].as_u64().expect("size") > 0);
    assert_eq!(ours["links"], serde_json::json!([]));
    assert_eq!(ours["attach"], "not attached");
}

#[test]
fn without_the_privilege_it_says_what_is_missing_and_exits_2() {
    if !require_privilege("without_the_privilege_it_says_what_is_missing_and_exits_2") {
        return;
    }
    // Run as `nobody` with no capabilities at all, from a copy `nobody` can
    // reach wherever the build tree is.
    let dir = tempfile::Builder::new()
        .prefix("bpfscope-nopriv")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let bin = dir.path().join("bpfscope");
    std::fs::copy(BIN, &bin).expect("copy binary");
    for path in [dir.path(), bin.as_path()] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&bin)
        .args(["sample", "--count", "1"])
        .output()
        .expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("CAP_SYS_ADMIN"), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(!stderr.contains("backtrace"));
    assert!(out.stdout.is_empty());
}

#[test]
fn an_interval_out_of_range_is_rejected_with_the_range() {
    for bad in ["0.01", "3601", "soon"] {
        let out = Command::new(BIN)
            .args(["sample", "--interval", bad])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("0.1 to 3600"), "{bad}: {stderr}");
    }
}

/// `bpfscope sample --stats sysctl` at 0.1 s, JSON lines on a pipe.
fn sysctl_sampler() -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(BIN)
        .args([
            "sample",
            "--stats",
            "sysctl",
            "--interval",
            "0.1",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    (child, stdout)
}

/// Reads records until one of program `id` has a rate above zero.
fn until_rate(stdout: &mut BufReader<std::process::ChildStdout>, id: u32) -> f64 {
    let mut line = String::new();
    for _ in 0..2_000 {
        line.clear();
        if stdout.read_line(&mut line).expect("read") == 0 {
            break;
        }
        let record: serde_json::Value = serde_json::from_str(&line).expect("a JSON record");
        let rate = record["events_per_sec"].as_f64().unwrap_or(0.0);
        if record["id"].as_u64() == Some(u64::from(id)) && rate > 0.0 {
            return rate;
        }
    }
    panic!("program {id} never showed a rate above zero");
}

fn signal(child: &std::process::Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn finish(mut child: std::process::Child, what: &str) {
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(status.success(), "{what}: {status:?} {stderr}");
}

#[test]
fn every_ending_signal_in_sysctl_mode_restores_the_sysctl() {
    if !require_privilege("every_ending_signal_in_sysctl_mode_restores_the_sysctl") {
        return;
    }
    // From 0, so that restoring it can be told from leaving it on.
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").expect("sysctl");
    for sig in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGXCPU,
    ] {
        let (child, mut stdout) = sysctl_sampler();
        // A first record: statistics are on by then.
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        assert_eq!(bpfscope::test_support::sysctl_now(), "1", "signal {sig}");
        signal(&child, sig);
        finish(child, &format!("signal {sig}"));
        assert_eq!(
            bpfscope::test_support::sysctl_now(),
            "0",
            "signal {sig} left the sysctl on"
        );
    }
}

#[test]
fn overlapping_sysctl_instances_share_it_and_the_last_restores_it() {
    if !require_privilege("overlapping_sysctl_instances_share_it_and_the_last_restores_it") {
        return;
    }
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").expect("sysctl");
    let prog = Arc::new(TestProgram::load("bpfscope_overlap").expect("load"));
    let stop = Arc::new(AtomicBool::new(false));
    let driver = drive(
        Arc::clone(&prog),
        RATE,
        Arc::clone(&stop),
        Arc::new(AtomicU64::new(0)),
    );
    let (first, mut first_out) = sysctl_sampler();
    until_rate(&mut first_out, prog.id());
    let (second, mut second_out) = sysctl_sampler();
    until_rate(&mut second_out, prog.id());
    until_rate(&mut first_out, prog.id());
    // The first one leaves: the second still holds statistics on.
    signal(&first, libc::SIGTERM);
    drop(first_out);
    finish(first, "the first instance");
    assert_eq!(
        bpfscope::test_support::sysctl_now(),
        "1",
        "the first instance turned it off"
    );
    // Skip what was read before the first one left, then see rates again.
    let mut line = String::new();
    for _ in 0..20 {
        line.clear();
        second_out.read_line(&mut line).expect("read");
    }
    until_rate(&mut second_out, prog.id());
    signal(&second, libc::SIGTERM);
    drop(second_out);
    finish(second, "the second instance");
    assert_eq!(
        bpfscope::test_support::sysctl_now(),
        "0",
        "the last one out restores it"
    );
    stop.store(true, Ordering::Relaxed);
    driver.join().expect("driver");
}

#[test]
fn a_closed_pipe_ends_sampling_quietly() {
    if !require_privilege("a_closed_pipe_ends_sampling_quietly") {
        return;
    }
    let mut child = Command::new(BIN)
        .args(["sample", "--interval", "0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut header = String::new();
    stdout.read_line(&mut header).expect("header");
    drop(stdout);
    let start = Instant::now();
    let status = child.wait().expect("wait");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
}

/// The window's options written before a subcommand are refused with the
/// form that works, never ignored: `bpfscope --host db-7 sample` printing
/// this machine's programs with exit 0 would be the worst answer.
#[test]
fn options_before_a_subcommand_are_refused_not_ignored() {
    for (args, said) in [
        (
            &["--host", "db-7.invalid", "sample", "--count", "1"][..],
            "write it after the subcommand: `bpfscope sample --host …`",
        ),
        (
            &["--interval", "3", "sample", "--count", "2"][..],
            "write it after the subcommand: `bpfscope sample --interval …`",
        ),
        (
            &[
                "--host",
                "db-7.invalid",
                "record",
                "-o",
                "/nonexistent/x.bpfscope",
            ][..],
            "`bpfscope record --host …`",
        ),
        (
            &["--host", "db-7.invalid", "--ssh-option", "Port=2", "serve"][..],
            "`bpfscope serve` watches this machine only",
        ),
        (
            &["/nonexistent/old.bpfscope", "sample"][..],
            "`bpfscope sample --from FILE`",
        ),
    ] {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed data");
    }
}

/// A machine without a display: the window says so in one sentence and
/// names what works without one.
#[test]
fn the_window_without_a_display_names_the_headless_commands() {
    let out = std::process::Command::new(BIN)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no display found"), "{err}");
    for command in ["bpfscope sample", "bpfscope serve", "bpfscope record"] {
        assert!(err.contains(command), "{command}: {err}");
    }
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
}

/// `record -o` keeps a file that exists unless `--force`, and a recording
/// that got nothing (a host that cannot be reached) leaves no empty file
/// behind to be called "not a bpfscope recording" later, nor replaces one. Its messages are
/// plain text when stderr is a file.
#[test]
fn record_keeps_existing_files_and_leaves_nothing_when_nothing_came() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.bpfscope");
    std::fs::write(&kept, b"an earlier incident").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["record", "--count", "1", "-o"])
        .arg(&kept)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("exists; give --force to replace it"), "{err}");
    assert_eq!(std::fs::read(&kept).unwrap(), b"an earlier incident");

    // A host that cannot be reached: nothing arrives, nothing is kept.
    let lost = dir.path().join("lost.bpfscope");
    let out = std::process::Command::new(BIN)
        .args(["record", "--count", "1", "--host", "bpfscope-test.invalid"])
        .args(["--ssh-option", "ConnectTimeout=2", "-o"])
        .arg(&lost)
        .env("NO_COLOR", "")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!lost.exists(), "an empty recording was left: {err}");
    assert!(err.contains("was not written"), "{err}");
    // With --force too, an existing file stays as it was when nothing
    // came, and no temporary file is left beside it.
    let out = std::process::Command::new(BIN)
        .args([
            "record",
            "--force",
            "--count",
            "1",
            "--host",
            "bpfscope-test.invalid",
        ])
        .args(["--ssh-option", "ConnectTimeout=2", "-o"])
        .arg(&kept)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&kept).unwrap(), b"an earlier incident");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!err.contains('\u{1b}'), "colours in a file: {err:?}");
}
