//! Perf events that run programs without a link: bpftrace, and a uprobe
//! set with `PERF_EVENT_IOC_SET_BPF`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bpfscope::model::AttachVia;
use bpfscope::test_support::{AttachTestObject, require_privilege};
use libbpf_rs::AsRawLibbpf;

use crate::common::Guard;
use crate::{as_u32, attachments, have_tools, perf_entries_of, sampler, take};

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
