//! Real BPF programs for bpfscope's own tests and benchmarks: loaded from a
//! few raw instructions (no object file needed) and run on demand with
//! `BPF_PROG_TEST_RUN`, so the expected run counts are exact.

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use crate::sampler::stats_cost::{Insns, RETURN_ZERO, load_program};

/// `r0 = 2; exit`, as raw `struct bpf_insn`s.
static RETURN_TWO: Insns = Insns([
    0xb7, 0, 0, 0, 2, 0, 0, 0, // r0 = 2 (XDP_PASS)
    0x95, 0, 0, 0, 0, 0, 0, 0, // exit
]);

/// Program types [`TestProgram`] can load; all support `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestProgramType {
    /// Returns 0 (drop nothing, accept nothing).
    SocketFilter,
    /// Returns `XDP_PASS`.
    Xdp,
    /// A tc classifier returning `TC_ACT_OK`.
    SchedCls,
}

/// A loaded program that returns at once. Unloaded when dropped (unless
/// something else holds it).
#[derive(Debug)]
pub struct TestProgram {
    fd: OwnedFd,
    id: u32,
}

impl TestProgram {
    /// Loads a socket filter named `name` (at most 15 bytes are kept).
    pub fn load(name: &str) -> io::Result<Self> {
        Self::load_typed(name, TestProgramType::SocketFilter)
    }

    /// Loads a program of `kind` named `name`.
    pub fn load_typed(name: &str, kind: TestProgramType) -> io::Result<Self> {
        let (prog_type, insns) = match kind {
            TestProgramType::SocketFilter => {
                (libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER, &RETURN_ZERO)
            }
            TestProgramType::Xdp => (libbpf_sys::BPF_PROG_TYPE_XDP, &RETURN_TWO),
            TestProgramType::SchedCls => (libbpf_sys::BPF_PROG_TYPE_SCHED_CLS, &RETURN_ZERO),
        };
        let name = CString::new(name).map_err(io::Error::other)?;
        let fd = load_program(prog_type, &name, insns)?;
        let id = crate::sampler::prog_id_of(&fd)?;
        Ok(Self { fd, id })
    }

    /// The program's descriptor (for a child to inherit).
    #[must_use]
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The program's kernel id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Runs the program `repeat` times (at least once) on a dummy packet.
    pub fn run(&self, repeat: u32) -> io::Result<()> {
        test_run(self.fd.as_fd(), repeat)
    }

    /// Runs the program `repeat` times; the kernel's mean time a run, in
    /// nanoseconds.
    pub fn timed_run(&self, repeat: u32) -> io::Result<u32> {
        crate::sampler::stats_cost::test_run(self.fd.as_fd(), repeat)
    }

    /// Runs the program `repeat` times from a thread pinned to `cpu`: the
    /// kernel accounts the runs on that CPU.
    pub fn run_on_cpu(&self, cpu: usize, repeat: u32) -> io::Result<()> {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name(format!("bpfscope-test-cpu{cpu}"))
                .spawn_scoped(s, || {
                    pin_to_cpu(cpu)?;
                    self.run(repeat)
                })?
                .join()
                .map_err(|_| io::Error::other("the pinned run panicked"))?
        })
    }
}

/// Processes holding a `BPF_ENABLE_STATS` descriptor now, as `comm (pid)`:
/// whoever keeps statistics on machine-wide.
#[must_use]
pub fn stats_holders() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let holds = std::fs::read_dir(entry.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:bpf-stats")
            });
        if holds {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push(format!("{} ({pid})", comm.trim()));
        }
    }
    found
}

/// Waits up to `within` for nobody to hold statistics on; who still does.
#[must_use]
pub fn wait_for_stats_off(within: std::time::Duration) -> Vec<String> {
    let start = std::time::Instant::now();
    loop {
        let holders = stats_holders();
        if holders.is_empty() || start.elapsed() >= within {
            return holders;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Pins the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    pin_to_cpus(&[cpu])
}

/// Lets the calling thread run on `cpus` only.
pub fn pin_to_cpus(cpus: &[usize]) -> io::Result<()> {
    if cpus.iter().any(|&cpu| cpu >= libc::CPU_SETSIZE as usize) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside
    // it (every cpu is below CPU_SETSIZE) and sched_setaffinity reads it
    // for this thread only.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, mem::size_of_val(&set), &raw const set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Runs the program behind `fd` `repeat` times (at least once) on a dummy
/// 64-byte packet with `BPF_PROG_TEST_RUN`.
pub fn test_run(fd: std::os::fd::BorrowedFd<'_>, repeat: u32) -> io::Result<()> {
    crate::sampler::stats_cost::test_run(fd, repeat).map(drop)
}

/// Raises the soft open-file limit to the hard one, so that thousands of
/// programs can be held open at once.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit with cur <= max.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// Whether this process may load programs and turn statistics on.
#[must_use]
pub fn privileged() -> bool {
    crate::sys::has_cap(crate::sys::CAP_SYS_ADMIN)
}

/// For tests that need the kernel: `true` to go on. Without the privilege it
/// prints why the test is skipped and returns `false`; under `CI=true` a
/// missing privilege fails the test instead.
#[must_use]
pub fn require_privilege(test: &str) -> bool {
    privileged()
        || skip(
            test,
            "needs CAP_SYS_ADMIN to load BPF programs; run as root",
        )
}

/// Skips `test` for `reason` (printed), or fails it under `CI=true`, where
/// nothing may be skipped. Always returns `false` ("do not go on").
#[must_use]
pub fn skip(test: &str, reason: &str) -> bool {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !in_ci,
        "{test}: {reason}; CI=true, so this is a failure, not a skip"
    );
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// `src/bpf/net_test.bpf.c` compiled: an XDP program (section `xdp`) and a
/// tc classifier (section `tc`) for `ip` and `tc` to load from a file.
pub const NET_TEST_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/net_test.bpf.o"));

/// The programs of `src/bpf/attach_test.bpf.c`, loaded and not attached:
/// tests attach them through links to targets they create.
#[derive(Debug)]
pub struct AttachTestObject {
    object: libbpf_rs::Object,
}

impl AttachTestObject {
    const BYTES: &'static [u8] = include_bytes!(concat!(env!("OUT_DIR"), "/attach_test.bpf.o"));

    /// Loads every program; the fentry one only when `fentry` (a kernel
    /// without BTF for `bpf_fentry_test1`, or without trampolines, refuses
    /// it, and the rest must still load).
    pub fn load(fentry: bool) -> io::Result<Self> {
        let mut open = libbpf_rs::ObjectBuilder::default()
            .open_memory(Self::BYTES)
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
        for mut prog in open.progs_mut() {
            if prog.name() == "bpfscope_fentry" {
                prog.set_autoload(fentry);
            }
        }
        let object = open
            .load()
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
        Ok(Self { object })
    }

    /// The program whose C function is `name`.
    pub fn program(&mut self, name: &str) -> io::Result<libbpf_rs::ProgramMut<'_>> {
        self.object
            .progs_mut()
            .find(|p| p.name() == name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no program {name}")))
    }

    /// Runs the program whose C function is `name` `repeat` times with
    /// `BPF_PROG_TEST_RUN` (types that support it: cgroup_skb, xdp).
    pub fn run(&mut self, name: &str, repeat: u32) -> io::Result<()> {
        let prog = self.program(name)?;
        test_run(prog.as_fd(), repeat)
    }

    /// The kernel id of the program whose C function is `name`.
    pub fn id(&self, name: &str) -> io::Result<u32> {
        use std::os::fd::AsFd;
        let prog = self
            .object
            .progs()
            .find(|p| p.name() == name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no program {name}")))?;
        libbpf_rs::Program::id_from_fd(prog.as_fd()).map_err(|e| io::Error::other(format!("{e:#}")))
    }
}

mod machine;

pub use bpfscope_wire::test_support::{ProgramBuilder, program, sample_at};
pub use machine::{Holder, SYSCTL, SysctlForTest, machine_lock, sysctl_for_test, sysctl_now};
