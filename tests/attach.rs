//! Attachments without BPF links, made by real clients no one here wrote
//! and checked against what `bpftool` finds for the same program: a
//! bpftrace tracepoint one-liner, a uprobe through `perf_event_open` and
//! `PERF_EVENT_IOC_SET_BPF`, XDP through `ip link`, a classic tc filter, a
//! cgroup program attached with `bpftool cgroup attach`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope::model::{AttachVia, LinkFacts, Sample};
use bpfscope::sampler::{Sampler, SamplerConfig};
use bpfscope::test_support::{AttachTestObject, require_privilege, skip};
use common::Guard;
use libbpf_rs::AsRawLibbpf;

fn sampler() -> Sampler {
    Sampler::new(SamplerConfig {
        owners: true,
        facts: true,
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root")
}

fn take(sampler: &mut Sampler) -> Sample {
    sampler.sample(Duration::from_secs(1)).expect("sample")
}

fn attachments(sample: &Sample, prog_id: u32) -> Vec<LinkFacts> {
    sample
        .links
        .iter()
        .flatten()
        .filter(|l| l.prog_id == prog_id)
        .cloned()
        .collect()
}

fn have_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| !common::have(t)).collect();
    missing.is_empty()
        || skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        )
}

/// `bpftool <args> -j` as JSON.
fn bpftool(args: &[&str]) -> serde_json::Value {
    let out = Command::new("bpftool")
        .args(args)
        .arg("-j")
        .output()
        .unwrap();
    assert!(out.status.success(), "bpftool {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `bpftool perf list` entries of process `pid`, once it has some.
fn perf_entries_of(pid: u32) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let all = bpftool(&["perf", "list"]);
        let ours: Vec<serde_json::Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["pid"] == pid)
            .cloned()
            .collect();
        if !ours.is_empty() {
            return ours;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no perf entry of {pid}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn as_u32(value: &serde_json::Value) -> u32 {
    u32::try_from(value.as_u64().unwrap()).unwrap()
}

#[test]
fn a_bpftrace_tracepoint_shows_the_tracepoint_and_bpftraces_pid() {
    let test = "a_bpftrace_tracepoint_shows_the_tracepoint_and_bpftraces_pid";
    if !require_privilege(test) || !have_tools(test, &["bpftrace", "bpftool"]) {
        return;
    }
    let mut bpftrace = Guard(
        Command::new("bpftrace")
            .args([
                "-e",
                "tracepoint:syscalls:sys_enter_getpid { @c = count(); }",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(bpftrace.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("Attaching"), "bpftrace: {line}");
    let pid = bpftrace.0.id();
    let entry = perf_entries_of(pid).remove(0);
    assert_eq!(entry["fd_type"], "tracepoint", "{entry}");
    assert_eq!(entry["tracepoint"], "sys_enter_getpid", "{entry}");
    let prog_id = as_u32(&entry["prog_id"]);

    let sample = take(&mut sampler());
    let found = attachments(&sample, prog_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].target, "sys_enter_getpid");
    assert_eq!(found[0].attach_type.as_deref(), Some("tracepoint"));
    assert_eq!(
        found[0].via,
        AttachVia::PerfEvent {
            pid,
            fd: as_u32(&entry["fd"])
        }
    );
    let program = sample.programs.iter().find(|p| p.id == prog_id).unwrap();
    assert!(
        program
            .owners
            .iter()
            .any(|o| o.pid == pid && o.comm.as_str() == "bpftrace"),
        "bpftrace owns its program: {:?}",
        program.owners
    );
}

/// `perf_event_open` for a uprobe at `offset` of `path`, system-wide on
/// CPU 0; the perf event fd.
fn uprobe_event(path: &std::path::Path, offset: u64) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let pmu: u32 = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let path = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut attr = libbpf_sys::perf_event_attr {
        type_: pmu,
        size: u32::try_from(std::mem::size_of::<libbpf_sys::perf_event_attr>()).unwrap(),
        ..Default::default()
    };
    attr.__bindgen_anon_3.config1 = path.as_ptr() as u64;
    attr.__bindgen_anon_4.config2 = offset;
    // SAFETY: perf_event_open(2) with a filled attr that outlives the call
    // (the path too); pid -1 and CPU 0: system-wide.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &raw const attr,
            -1,
            0,
            -1,
            libc::c_ulong::from(0u8),
        )
    };
    assert!(
        fd >= 0,
        "perf_event_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(i32::try_from(fd).unwrap()) }
}

#[test]
fn a_uprobe_set_with_an_ioctl_shows_its_file_and_offset() {
    let test = "a_uprobe_set_with_an_ioctl_shows_its_file_and_offset";
    if !require_privilege(test) || !have_tools(test, &["bpftool"]) {
        return;
    }
    // A file no process maps: the probe is registered, never hit.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probed-file");
    std::fs::copy("/bin/true", &file).unwrap();
    let event = uprobe_event(&file, 0x40);
    let mut object = AttachTestObject::load(false).unwrap();
    let prog_id = object.id("bpfscope_uprobe").unwrap();
    let prog = object.program("bpfscope_uprobe").unwrap();
    let opts = libbpf_sys::bpf_perf_event_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_perf_event_opts>() as _,
        force_ioctl_attach: true,
        ..Default::default()
    };
    // The perf event fd goes to libbpf, which closes it with the link.
    let event = std::os::fd::IntoRawFd::into_raw_fd(event);
    // SAFETY: a loaded program, a perf event fd libbpf now owns, and opts
    // that outlive the call; libbpf keeps neither pointer.
    let attached = unsafe {
        libbpf_sys::bpf_program__attach_perf_event_opts(
            prog.as_libbpf_object().as_ptr(),
            event,
            &raw const opts,
        )
    };
    assert!(
        !attached.is_null(),
        "attach: {}",
        std::io::Error::last_os_error()
    );

    let pid = std::process::id();
    let entry = perf_entries_of(pid)
        .into_iter()
        .find(|e| as_u32(&e["prog_id"]) == prog_id)
        .expect("bpftool sees the uprobe");
    assert_eq!(entry["fd_type"], "uprobe", "{entry}");

    let found = attachments(&take(&mut sampler()), prog_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].attach_type.as_deref(), Some("uprobe"));
    assert_eq!(
        found[0].target,
        format!(
            "{}:{:#x}",
            entry["filename"].as_str().unwrap(),
            entry["offset"].as_u64().unwrap()
        )
    );
    assert_eq!(found[0].target, format!("{}:0x40", file.display()));
    assert_eq!(
        found[0].via,
        AttachVia::PerfEvent {
            pid,
            fd: as_u32(&entry["fd"])
        }
    );
    // SAFETY: the link libbpf returned, destroyed once: it detaches the
    // program and closes the perf event.
    unsafe { libbpf_sys::bpf_link__destroy(attached) };
}

/// A cgroup this test made, removed however the test ends.
struct TestCgroup(std::path::PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_cgroup_program_attached_by_bpftool_shows_the_path_and_attach_type() {
    let test = "a_cgroup_program_attached_by_bpftool_shows_the_path_and_attach_type";
    if !require_privilege(test) || !have_tools(test, &["bpftool"]) {
        return;
    }
    let root = bpfscope::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
    let cgroup = TestCgroup(root.join(format!("bpfscope-attach-{}", std::process::id())));
    std::fs::create_dir(&cgroup.0).unwrap();
    let path = cgroup.0.to_str().unwrap();
    let object = AttachTestObject::load(false).unwrap();
    let prog_id = object.id("bpfscope_cgroup_ingress").unwrap();
    let id = prog_id.to_string();
    let status = Command::new("bpftool")
        .args([
            "cgroup",
            "attach",
            path,
            "cgroup_inet_ingress",
            "id",
            &id,
            "multi",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "bpftool cgroup attach");
    let shown = bpftool(&["cgroup", "show", path]);
    let entry = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|e| as_u32(&e["id"]) == prog_id)
        .unwrap_or_else(|| panic!("bpftool shows it: {shown}"))
        .clone();

    let found = attachments(&take(&mut sampler()), prog_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Cgroup);
    assert_eq!(
        found[0].attach_type.as_deref(),
        entry["attach_type"].as_str()
    );
    assert_eq!(
        found[0].target,
        format!("{path} ({})", entry["attach_flags"].as_str().unwrap())
    );
}

/// A network namespace with a veth pair, removed however the test ends.
struct TestNetns(String);

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn xdp_and_tc_attached_by_ip_and_tc_show_the_device_hook_priority_and_handle() {
    let test = "xdp_and_tc_attached_by_ip_and_tc_show_the_device_hook_priority_and_handle";
    if !require_privilege(test) || !have_tools(test, &["ip", "tc", "bpftool"]) {
        return;
    }
    let ns = TestNetns(format!("bpfscope-net-{}", std::process::id()));
    let n = ns.0.as_str();
    run("ip", &["netns", "add", n]);
    run(
        "ip",
        &[
            "-n", n, "link", "add", "bsxdp0", "type", "veth", "peer", "name", "bstc0",
        ],
    );
    run("ip", &["-n", n, "link", "set", "bsxdp0", "up"]);
    run("ip", &["-n", n, "link", "set", "bstc0", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("net_test.bpf.o");
    std::fs::write(&object, bpfscope::test_support::NET_TEST_OBJECT).unwrap();
    let obj = object.to_str().unwrap();
    run(
        "ip",
        &[
            "-n",
            n,
            "link",
            "set",
            "dev",
            "bsxdp0",
            "xdpgeneric",
            "obj",
            obj,
            "sec",
            "xdp",
        ],
    );
    run("tc", &["-n", n, "qdisc", "add", "dev", "bstc0", "clsact"]);
    run(
        "tc",
        &[
            "-n", n, "filter", "add", "dev", "bstc0", "ingress", "bpf", "da", "obj", obj, "sec",
            "tc",
        ],
    );

    // What bpftool and tc say, inside the namespace.
    let net: serde_json::Value = serde_json::from_str(&run(
        "ip",
        &["netns", "exec", n, "bpftool", "net", "list", "-j"],
    ))
    .unwrap();
    let xdp = &net[0]["xdp"][0];
    assert_eq!(
        (xdp["devname"].as_str(), xdp["mode"].as_str()),
        (Some("bsxdp0"), Some("generic"))
    );
    let tc = &net[0]["tc"][0];
    assert_eq!(
        (tc["devname"].as_str(), tc["kind"].as_str()),
        (Some("bstc0"), Some("clsact/ingress"))
    );
    let filters: serde_json::Value = serde_json::from_str(&run(
        "tc",
        &["-n", n, "-j", "filter", "show", "dev", "bstc0", "ingress"],
    ))
    .unwrap();
    let filter = filters
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["options"]["prog"]["id"] == tc["id"])
        .unwrap_or_else(|| panic!("tc shows the filter: {filters}"));

    let sample = take(&mut sampler());
    let xdp_id = as_u32(&xdp["id"]);
    let found = attachments(&sample, xdp_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Xdp);
    assert_eq!(found[0].attach_type.as_deref(), Some("xdpgeneric"));
    assert_eq!(found[0].target, format!("bsxdp0 (netns {n})"));
    assert_eq!(
        bpfscope::model::attach_summary(&found),
        format!("xdpgeneric bsxdp0 (netns {n})")
    );

    let tc_id = as_u32(&tc["id"]);
    let found = attachments(&sample, tc_id);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::Tc);
    assert_eq!(found[0].attach_type.as_deref(), Some("ingress"));
    assert_eq!(
        found[0].target,
        format!(
            "bstc0 (netns {n}) prio {} handle {} direct-action",
            filter["pref"],
            filter["options"]["handle"].as_str().unwrap()
        )
    );

    // The filter finds each by its device and by its hook.
    for (id, words) in [(xdp_id, "bsxdp0"), (tc_id, "bstc0"), (tc_id, "ingress")] {
        let program = sample.programs.iter().find(|p| p.id == id).unwrap();
        let links = attachments(&sample, id);
        let row = bpfscope::store::RowText::with_facts(program, None, Some(&links));
        assert!(row.haystack.contains(words), "{words}: {}", row.haystack);
    }
}

#[test]
fn a_program_only_in_a_program_array_is_a_tail_call_target_and_one_in_none_is_not_attached() {
    let test =
        "a_program_only_in_a_program_array_is_a_tail_call_target_and_one_in_none_is_not_attached";
    if !require_privilege(test) {
        return;
    }
    let target = bpfscope::test_support::TestProgram::load("bpfscope_tail").unwrap();
    let alone = bpfscope::test_support::TestProgram::load("bpfscope_alone").unwrap();
    let name = CString::new("bpfscope_jmp").unwrap();
    // SAFETY: plain map creation; null options take the defaults.
    let map = unsafe {
        libbpf_sys::bpf_map_create(
            libbpf_sys::BPF_MAP_TYPE_PROG_ARRAY,
            name.as_ptr(),
            4,
            4,
            1,
            std::ptr::null(),
        )
    };
    assert!(map >= 0, "prog array: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    let map = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(map) };
    let key = 0u32;
    let value = u32::try_from(target.raw_fd()).unwrap();
    // SAFETY: key and value are 4-byte values alive for the call.
    let rc = unsafe {
        libbpf_sys::bpf_map_update_elem(
            std::os::fd::AsRawFd::as_raw_fd(&map),
            (&raw const key).cast(),
            (&raw const value).cast(),
            0,
        )
    };
    assert_eq!(rc, 0, "insert into the program array");

    let sample = take(&mut sampler());
    let found = attachments(&sample, target.id());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::TailCall);
    assert_eq!(
        bpfscope::model::attach_summary(&found),
        "tail call target in 1 program array"
    );
    assert_eq!(
        bpfscope::model::attach_summary(&attachments(&sample, alone.id())),
        "not attached"
    );
    drop(map);
}
