//! The helper's least privilege, read from the kernel: started through
//! pkexec by a normal user, it becomes the `bpfscope` user with at most
//! CAP_BPF and CAP_PERFMON and `no_new_privs`, and still reads facts, maps,
//! links and owners as a root sampler does; it lives as long as the
//! process that started it, not the thread.
//!
//! Needs the machine `scripts/elevation-env` makes (see tests/elevation.rs).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

#[path = "../common/mod.rs"]
mod common;
mod others;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bpfscope::HELPER_INSTALL_PATH;
use bpfscope::sampler::{Sampler, SamplerConfig};
use bpfscope::test_support::AttachTestObject;
use common::users::{INSTALLED_BIN, PERMITTED, as_user, ready, uid_of, wait_bounded};
use common::{Guard, children_named, proc_status};
use others::Others;

const RAW_TP: &str = "bpfscope_raw_tracepoint_with_a_long_name";
const WITH_MAP: &str = "bpfscope_cgroup_ingress";

/// Lines of `input`, read on a named thread (so a full pipe never blocks
/// the child while the test waits for it).
fn lines_of(input: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::sync_channel(100_000);
    std::thread::Builder::new()
        .name("test-lines".to_owned())
        .spawn(move || {
            for line in BufReader::new(input).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        })
        .unwrap();
    rx
}

/// The helper under `parent` once it has given root up.
fn unprivileged_helper(parent: u32) -> u32 {
    let start = Instant::now();
    loop {
        if let Some(&pid) = children_named(parent, "bpfscope-sample").first()
            && proc_status(pid, "Uid:").is_some_and(|u| !u.starts_with("0\t"))
        {
            return pid;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let helpers: Vec<(u32, Option<String>, Option<String>)> =
                children_named(parent, "bpfscope-sample")
                    .into_iter()
                    .map(|pid| (pid, proc_status(pid, "Uid:"), proc_status(pid, "State:")))
                    .collect();
            panic!("no unprivileged helper under {parent}; helpers (pid, Uid, State): {helpers:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gone(pid: u32) -> bool {
    // A zombie has ended; only its parent's wait is left.
    proc_status(pid, "State:").is_none_or(|s| s.starts_with('Z'))
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, asserted step by step
fn the_helper_gives_up_root_and_still_reads_facts_links_and_owners() {
    let test = "the_helper_gives_up_root_and_still_reads_facts_links_and_owners";
    if !ready(test) {
        return;
    }
    let mut object = AttachTestObject::load(false).unwrap();
    let _link = object
        .program(RAW_TP)
        .unwrap()
        .attach_raw_tracepoint("sys_enter")
        .unwrap();
    let mut ids = vec![object.id(RAW_TP).unwrap(), object.id(WITH_MAP).unwrap()];
    // Attachments without links, each read a different way: a perf event
    // (bpftrace), a cgroup attach list (bpftool) and XDP in a named network
    // namespace (ip), all made before the helper starts.
    let others = Others::make(&mut ids);

    // What a root sampler in this process sees.
    let mut root = Sampler::new(SamplerConfig {
        owners: true,
        facts: true,
        ..SamplerConfig::default()
    })
    .unwrap();
    let expected = root.sample(Duration::from_secs(1)).unwrap();
    drop(root);

    let mut command = as_user(
        PERMITTED,
        INSTALLED_BIN,
        &[
            "sample",
            "--count",
            "4",
            "--interval",
            "0.5",
            "--format",
            "json",
        ],
    );
    let mut child = Guard(command.spawn().unwrap());
    let out = lines_of(child.0.stdout.take().unwrap());
    let err = lines_of(child.0.stderr.take().unwrap());
    let helper = unprivileged_helper(child.0.id());

    let helper_uid = uid_of("bpfscope").expect("the package creates the bpfscope user");
    let all = |id: u32| format!("{id}\t{id}\t{id}\t{id}");
    assert_eq!(proc_status(helper, "Uid:").unwrap(), all(helper_uid));
    let allowed = (1u64 << bpfscope::sys::CAP_BPF) | (1u64 << bpfscope::sys::CAP_PERFMON);
    for set in ["CapEff:", "CapPrm:", "CapBnd:", "CapInh:", "CapAmb:"] {
        let caps = u64::from_str_radix(&proc_status(helper, set).unwrap(), 16).unwrap();
        assert_eq!(caps & !allowed, 0, "{set} {caps:016x}");
    }
    assert_eq!(proc_status(helper, "NoNewPrivs:").as_deref(), Some("1"));

    let status = wait_bounded(&mut child.0, Duration::from_secs(60));
    let stderr: Vec<String> = err.iter().collect();
    assert!(status.success(), "exit {status}: {stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains(&format!(
            "the sampler runs as user bpfscope (uid {helper_uid})"
        ))),
        "{stderr:#?}"
    );

    let records: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    for (i, &id) in ids.iter().enumerate() {
        let last = records
            .iter()
            .rfind(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no record of program {id}"));
        let facts = expected.facts.iter().find(|f| f.id == id).unwrap();
        assert_eq!(last["facts"], serde_json::to_value(facts).unwrap(), "{id}");
        let links: Vec<_> = expected
            .links
            .iter()
            .flatten()
            .filter(|l| l.prog_id == id)
            .collect();
        assert_eq!(last["links"], serde_json::to_value(&links).unwrap(), "{id}");
        let program = expected.programs.iter().find(|p| p.id == id).unwrap();
        if i < 2 {
            assert!(!program.owners.is_empty(), "this test holds program {id}");
        }
        // Owners that last: a child this test forks holds the fds for a
        // moment before its exec, so only lasting holders are compared.
        let lasting = |owners: &serde_json::Value| -> Vec<serde_json::Value> {
            owners
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["pid"] == std::process::id() || o["comm"] == "bpftrace")
                .cloned()
                .collect()
        };
        assert_eq!(
            lasting(&last["owners"]),
            lasting(&serde_json::to_value(&program.owners).unwrap()),
            "{id}"
        );
    }
    for id in &ids[2..] {
        let last = records.iter().rfind(|r| r["id"] == *id).unwrap();
        assert_eq!(last["links"].as_array().map(Vec::len), Some(1), "{last}");
    }
    drop(others);
    let raw = records.iter().rfind(|r| r["id"] == ids[0]).unwrap();
    assert_eq!(raw["links"][0]["target"], "sys_enter", "{raw}");
    let with_map = records.iter().rfind(|r| r["id"] == ids[1]).unwrap();
    assert_eq!(
        with_map["facts"]["maps"][0]["name"], "bpfscope_hits",
        "{with_map}"
    );
}

/// A user's process that starts the helper through pkexec from a thread,
/// which exits once the helper has said hello, and keeps reading it on its
/// main thread. (The thread must outlive authentication: pkexec sets
/// `PR_SET_PDEATHSIG` for itself, so a starting thread that ends while
/// polkit is asked takes pkexec with it; bpfscope's window starts the
/// helper on the thread that reads it.)
const STARTER: &str = r#"
import subprocess, sys, threading
started = []
def start():
    helper = subprocess.Popen(
        ["/usr/bin/pkexec", sys.argv[1], "--interval-ms", "200", "--format", "text"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    started.append((helper, helper.stdout.readline()))
thread = threading.Thread(target=start)
thread.start()
thread.join()
helper, hello = started[0]
print(helper.pid, flush=True)
sys.stdout.write("helper: " + hello.decode("utf-8", "replace"))
for line in helper.stdout:
    sys.stdout.write("helper: " + line.decode("utf-8", "replace"))
    sys.stdout.flush()
"#;

#[test]
fn a_helper_outlives_its_starting_thread_and_ends_within_2_s_of_its_process() {
    let test = "a_helper_outlives_its_starting_thread_and_ends_within_2_s_of_its_process";
    if !ready(test) {
        return;
    }
    assert!(
        Path::new("/usr/bin/python3").exists(),
        "scripts/setup installs python3"
    );
    let mut command = as_user(
        PERMITTED,
        "/usr/bin/python3",
        &["-c", STARTER, HELPER_INSTALL_PATH],
    );
    command.stderr(Stdio::inherit());
    let mut starter = Guard(command.spawn().unwrap());
    let lines = lines_of(starter.0.stdout.take().unwrap());
    let helper: u32 = lines
        .recv_timeout(Duration::from_secs(20))
        .unwrap()
        .parse()
        .unwrap();
    // pkexec runs the helper in place: the pid it printed.
    let start = Instant::now();
    while proc_status(helper, "Name:").as_deref() != Some("bpfscope-sample")
        || proc_status(helper, "Uid:").is_none_or(|u| u.starts_with("0\t"))
    {
        if start.elapsed() > Duration::from_secs(20) {
            let said: Vec<String> = lines.try_iter().collect();
            panic!(
                "helper {helper} never gave root up: Name {:?}, State {:?}, PPid {:?}; \
                 the starter {:?} said {said:#?}",
                proc_status(helper, "Name:"),
                proc_status(helper, "State:"),
                proc_status(helper, "PPid:"),
                starter.0.try_wait(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        proc_status(helper, "Name:").as_deref(),
        Some("bpfscope-sample")
    );

    // The thread that started it is gone; the process lives on, and so
    // does the helper, sampling.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!gone(helper), "the helper died with its starting thread");
    let before = lines.try_iter().count();
    std::thread::sleep(Duration::from_secs(1));
    let during = lines.try_iter().count();
    assert!(
        during > 0,
        "the helper still samples ({before} lines, then none)"
    );

    // The process dies without a word: the helper follows within 2 s.
    let pid = libc::pid_t::try_from(starter.0.id()).unwrap();
    // SAFETY: signalling the child this test started (root may).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let _ = starter.0.wait();
    let killed = Instant::now();
    while !gone(helper) {
        assert!(
            killed.elapsed() < Duration::from_secs(2),
            "the helper outlived its process by 2 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("helper gone {:?} after its process", killed.elapsed());
}

/// Low-overhead mode keeps the split: the helper holds no CAP_SYS_ADMIN,
/// and its statistics toggler holds only that, as the `bpfscope` user,
/// with nothing to read from but its command line.
#[test]
fn in_low_overhead_mode_only_the_toggler_can_turn_statistics_on() {
    let test = "in_low_overhead_mode_only_the_toggler_can_turn_statistics_on";
    if !ready(test) {
        return;
    }
    let args = [
        "sample",
        "--count",
        "3",
        "--interval",
        "1",
        "--format",
        "json",
    ];
    let mut command = as_user(PERMITTED, INSTALLED_BIN, &args);
    command.args(["--stats-duty", "25"]);
    let mut child = Guard(command.spawn().unwrap());
    let out = lines_of(child.0.stdout.take().unwrap());
    let err = lines_of(child.0.stderr.take().unwrap());
    let helper = unprivileged_helper(child.0.id());
    let start = Instant::now();
    let toggler = loop {
        if let Some(&pid) = children_named(helper, "bpfscope-toggle").first() {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no toggler under {helper}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let helper_uid = uid_of("bpfscope").expect("the package creates the bpfscope user");
    let all = |id: u32| format!("{id}\t{id}\t{id}\t{id}");
    let caps =
        |pid: u32, set: &str| u64::from_str_radix(&proc_status(pid, set).unwrap(), 16).unwrap();
    let sys_admin = bpfscope::sys::CAP_SYS_ADMIN.bitmask();
    for pid in [helper, toggler] {
        assert_eq!(proc_status(pid, "Uid:").unwrap(), all(helper_uid), "{pid}");
        assert_eq!(
            proc_status(pid, "NoNewPrivs:").as_deref(),
            Some("1"),
            "{pid}"
        );
        for set in ["CapInh:", "CapAmb:"] {
            assert_eq!(caps(pid, set), 0, "{pid} {set}");
        }
    }
    // The helper: never CAP_SYS_ADMIN, so it cannot turn statistics on.
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(caps(helper, set) & sys_admin, 0, "helper {set}");
    }
    // The toggler: CAP_SYS_ADMIN and nothing else, in every set.
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(caps(toggler, set), sys_admin, "toggler {set}");
    }
    // It reads nothing: its input is /dev/null, and it holds nothing
    // besides its output, stderr and (while they are on) statistics.
    let fds: Vec<(String, String)> = std::fs::read_dir(format!("/proc/{toggler}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map_or_else(|_| String::new(), |t| t.display().to_string());
            (e.file_name().to_string_lossy().into_owned(), target)
        })
        .collect();
    assert!(
        fds.iter().any(|(fd, t)| fd == "0" && t == "/dev/null"),
        "{fds:?}"
    );
    for (fd, target) in &fds {
        assert!(
            ["0", "1", "2"].contains(&fd.as_str()) || target == "anon_inode:bpf-stats",
            "the toggler holds fd {fd} → {target}: {fds:?}"
        );
    }

    let status = wait_bounded(&mut child.0, Duration::from_secs(60));
    let stderr: Vec<String> = err.iter().collect();
    assert!(status.success(), "exit {status}: {stderr:#?}");
    let records: Vec<serde_json::Value> = out
        .iter()
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert!(!records.is_empty());
    for record in &records {
        let on = record["stats_on_ns"]
            .as_u64()
            .expect("every record says it is sampled");
        assert!(
            (230_000_000..=270_000_000).contains(&on),
            "statistics on {on} ns: {record}"
        );
    }
    // With the helper gone, so is the toggler.
    let start = Instant::now();
    while !gone(toggler) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the toggler outlived the helper"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
