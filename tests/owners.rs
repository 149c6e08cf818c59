//! Owners on a busy host: a million open files that are not BPF objects,
//! and files that merely carry a BPF object's name. Needs root.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::ffi::CString;
use std::time::Duration;

use bpfscope::model::Enumeration;
use bpfscope::sampler::{Sampler, SamplerConfig};
use bpfscope::test_support::{Holder, TestProgram, require_privilege};

/// Descriptors one holder process keeps open (the per-process limit here
/// is 20,000).
const PER_HOLDER: u32 = 19_000;

/// A `sleep` holding descriptors; killed on drop.
fn holder(opens: Vec<(CString, libc::c_int)>, inherit: Option<i32>, dups: u32) -> Holder {
    Holder::start(opens, inherit, dups).expect("start a holder")
}

fn sampler() -> Sampler {
    Sampler::new(SamplerConfig {
        enumeration: Some(Enumeration::Iterator),
        owners: true,
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn owners_are_found_past_a_million_open_files() {
    if !require_privilege("owners_are_found_past_a_million_open_files") {
        return;
    }
    let _files = bpfscope::test_support::machine_lock("many-files").unwrap();
    // The kernel gives up a read after a million objects that wrote
    // nothing. This process's own descriptors write records first, so a
    // first read ends with them after a million objects; the holders' next
    // million, then the owner (started last, so visited last), are what a
    // reader must get through.
    let holders: Vec<Holder> = (0..112)
        .map(|_| holder(Vec::new(), None, PER_HOLDER))
        .collect();
    let mut held = 0;
    for _ in 0..1200 {
        held = holders.iter().map(|h| open_fds(h.0.id())).sum::<usize>();
        if held >= 2_100_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held > 2_000_000, "the holders hold only {held} descriptors");
    let prog = TestProgram::load("bpfscope_many_fds").expect("load");
    let owner = holder(Vec::new(), Some(prog.raw_fd()), 0);
    for _ in 0..100 {
        if open_fds(owner.0.id()) > 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut sampler = sampler();
    let sample = sampler.sample(Duration::from_secs(1)).expect("sample");
    let warnings = sampler.take_warnings();
    assert!(warnings.is_empty(), "{warnings:?}");
    let owners = &sample.program(prog.id()).expect("the program").owners;
    assert!(
        owners.iter().any(|o| o.pid == owner.0.id()),
        "owners {owners:?} lack the holder started last ({})",
        owner.0.id()
    );
    drop(holders);
}

#[test]
fn files_named_like_bpf_objects_are_not_owners() {
    if !require_privilege("files_named_like_bpf_objects_are_not_owners") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut opens = Vec::new();
    for name in ["bpf-prog", "bpf_link"] {
        let fifo_dir = dir.path().join(format!("fifo-{name}"));
        let file_dir = dir.path().join(format!("file-{name}"));
        std::fs::create_dir(&fifo_dir).unwrap();
        std::fs::create_dir(&file_dir).unwrap();
        let fifo = CString::new(fifo_dir.join(name).to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(file_dir.join(name), b"not a program").unwrap();
        let file = CString::new(file_dir.join(name).to_str().unwrap()).unwrap();
        // Read-write: opening a FIFO so does not wait for a writer.
        opens.push((fifo, libc::O_RDWR | libc::O_NONBLOCK));
        opens.push((file, libc::O_RDONLY));
    }
    let spoofer = holder(opens, None, 0);
    let pid = spoofer.0.id();
    for _ in 0..100 {
        if open_fds(pid) >= 7 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        open_fds(pid) >= 7,
        "the spoofer holds {} files",
        open_fds(pid)
    );

    let mut sampler = sampler();
    let _prog = TestProgram::load("bpfscope_spoofed").expect("load");
    let pairs = sampler.raw_owners().expect("owners");
    assert!(
        pairs.iter().any(|(_, o)| o.pid == std::process::id()),
        "the iterator finds real owners: {pairs:?}"
    );
    let misread: Vec<_> = pairs.iter().filter(|(_, o)| o.pid == pid).collect();
    assert!(
        misread.is_empty(),
        "files named like BPF objects were read as them: {misread:?}"
    );
}

#[test]
fn owners_are_read_again_when_programs_change_and_on_schedule() {
    if !require_privilege("owners_are_read_again_when_programs_change_and_on_schedule") {
        return;
    }
    // Cheap owner reads are never held back; a million open files (another
    // test) would make them costly.
    let _files = bpfscope::test_support::machine_lock("many-files").unwrap();
    let mut sampler = Sampler::new(SamplerConfig {
        enumeration: Some(Enumeration::Iterator),
        owners: true,
        owners_every: Some(Duration::from_millis(300)),
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root");
    let prog = TestProgram::load("bpfscope_refresh").expect("load");
    let first = sampler.sample(Duration::from_secs(1)).expect("sample");
    assert!(first.owners_read_ns.is_some());
    // A process that takes hold of a loaded program changes no id: the
    // owners read a moment ago stand until they are due.
    let late = holder(Vec::new(), Some(prog.raw_fd()), 0);
    let pid = late.0.id();
    let holds = |s: &bpfscope::model::Sample| {
        s.program(prog.id())
            .is_some_and(|p| p.owners.iter().any(|o| o.pid == pid))
    };
    let soon = sampler.sample(Duration::from_secs(1)).expect("sample");
    assert_eq!(
        soon.owners_read_ns, first.owners_read_ns,
        "read again too soon"
    );
    assert!(!holds(&soon));
    std::thread::sleep(Duration::from_millis(400));
    let due = sampler.sample(Duration::from_secs(1)).expect("sample");
    assert!(due.owners_read_ns > first.owners_read_ns);
    assert!(holds(&due), "the new owner shows once the owners are due");
    // A new program makes them due at once.
    drop(late);
    let _other = TestProgram::load("bpfscope_refresh2").expect("load");
    let changed = sampler.sample(Duration::from_secs(1)).expect("sample");
    assert!(changed.owners_read_ns > due.owners_read_ns);
    assert!(!holds(&changed), "the owner that left is gone");
}
