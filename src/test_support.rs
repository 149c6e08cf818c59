//! Real BPF programs for bpfscope's own tests and benchmarks: loaded from a
//! few raw instructions (no object file needed) and run on demand with
//! `BPF_PROG_TEST_RUN`, so the expected run counts are exact.

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

/// `r0 = 0; exit` and `r0 = 2; exit`, as raw `struct bpf_insn`s (8 bytes
/// each; the register nibbles are zero).
#[repr(C, align(8))]
struct Insns([u8; 16]);

static RETURN_ZERO: Insns = Insns([
    0xb7, 0, 0, 0, 0, 0, 0, 0, // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0
    0x95, 0, 0, 0, 0, 0, 0, 0, // BPF_JMP | BPF_EXIT
]);

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
        let license = c"GPL";
        // SAFETY: bpf_prog_load_opts is a plain C struct; all-zeroes plus
        // its size is the documented "no options" value.
        let mut opts: libbpf_sys::bpf_prog_load_opts = unsafe { mem::zeroed() };
        opts.sz = mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _;
        // SAFETY: every pointer is valid for the call; the instructions are
        // two 8-byte bpf_insns with the required alignment.
        let fd = unsafe {
            libbpf_sys::bpf_prog_load(
                prog_type,
                name.as_ptr(),
                license.as_ptr(),
                std::ptr::from_ref(insns).cast::<libbpf_sys::bpf_insn>(),
                2,
                &raw mut opts,
            )
        };
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(-fd));
        }
        // SAFETY: the kernel just returned this fd and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
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
}

/// Runs the program behind `fd` `repeat` times (at least once) on a dummy
/// 64-byte packet with `BPF_PROG_TEST_RUN`.
pub fn test_run(fd: std::os::fd::BorrowedFd<'_>, repeat: u32) -> io::Result<()> {
    let packet = [0u8; 64];
    // SAFETY: plain C struct; all-zeroes plus its size means defaults.
    let mut opts: libbpf_sys::bpf_test_run_opts = unsafe { mem::zeroed() };
    opts.sz = mem::size_of::<libbpf_sys::bpf_test_run_opts>() as _;
    opts.data_in = packet.as_ptr().cast();
    opts.data_size_in = packet.len() as u32;
    opts.repeat = i32::try_from(repeat).unwrap_or(i32::MAX);
    // SAFETY: `opts` points at `packet`, which outlives the call; no
    // output buffers are given.
    let rc = unsafe { libbpf_sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &raw mut opts) };
    if rc < 0 {
        return Err(io::Error::from_raw_os_error(-rc));
    }
    Ok(())
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

/// Builds the [`ProgramSample`]s and [`Sample`]s of tests and benchmarks:
/// an `xdp` program named `p<id>`, loaded at 0, never run, held by nobody,
/// changed field by field.
///
/// [`ProgramSample`]: crate::model::ProgramSample
/// [`Sample`]: crate::model::Sample
#[derive(Clone, Debug)]
pub struct ProgramBuilder(crate::model::ProgramSample);

/// A [`ProgramBuilder`] for program `id`.
#[must_use]
pub fn program(id: u32) -> ProgramBuilder {
    ProgramBuilder(crate::model::ProgramSample {
        id,
        prog_type: 6,
        name: crate::model::KernelName::new(&format!("p{id}")),
        tag: [0; 8],
        load_time_ns: 0,
        run_time_ns: 0,
        run_cnt: 0,
        recursion_misses: 0,
        owners: std::sync::Arc::default(),
        own: false,
    })
}

impl ProgramBuilder {
    /// `enum bpf_prog_type` number.
    #[must_use]
    pub fn kind(mut self, prog_type: u32) -> Self {
        self.0.prog_type = prog_type;
        self
    }

    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = crate::model::KernelName::new(name);
        self
    }

    #[must_use]
    pub fn tag(mut self, tag: [u8; 8]) -> Self {
        self.0.tag = tag;
        self
    }

    #[must_use]
    pub fn loaded_at(mut self, load_time_ns: u64) -> Self {
        self.0.load_time_ns = load_time_ns;
        self
    }

    /// `runs` runs taking `run_time_ns` together, since statistics went on.
    #[must_use]
    pub fn ran(mut self, runs: u64, run_time_ns: u64) -> Self {
        self.0.run_cnt = runs;
        self.0.run_time_ns = run_time_ns;
        self
    }

    /// Runs skipped because the program was already running.
    #[must_use]
    pub fn misses(mut self, recursion_misses: u64) -> Self {
        self.0.recursion_misses = recursion_misses;
        self
    }

    /// One of bpfscope's own programs.
    #[must_use]
    pub fn own(mut self, own: bool) -> Self {
        self.0.own = own;
        self
    }

    /// Held by process `pid` named `comm`, too.
    #[must_use]
    pub fn owner(mut self, pid: u32, comm: &str) -> Self {
        let mut owners = self.0.owners.to_vec();
        owners.push(crate::model::Owner {
            pid,
            comm: comm.into(),
        });
        self.0.owners = owners.into();
        self
    }

    #[must_use]
    pub fn build(self) -> crate::model::ProgramSample {
        self.0
    }
}

/// A sample of `programs` taken `secs` seconds after boot (and after the
/// epoch), at a 1 s interval, without facts or links.
#[must_use]
pub fn sample_at(secs: u64, programs: Vec<crate::model::ProgramSample>) -> crate::model::Sample {
    crate::model::Sample {
        taken_at: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        boottime_ns: secs * 1_000_000_000,
        period: std::time::Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        programs,
    }
}

/// Holds the machine's `kernel.bpf_stats_enabled` for one test: the tests
/// that set it run one at a time across test processes (an exclusive lock
/// on a file), start from `start`, and put the value back when dropped.
#[derive(Debug)]
pub struct SysctlForTest {
    _lock: std::fs::File,
    before: String,
}

/// An exclusive lock named `name` across every test process, held until
/// the file drops: for tests whose load on the machine (a million open
/// files, the sysctl) would change what another test measures.
pub fn machine_lock(name: &str) -> io::Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join(format!("bpfscope-{name}.lock")))?;
    lock.lock()?;
    Ok(lock)
}

/// The sysctl, locked for this test and set to `start`.
pub fn sysctl_for_test(start: &str) -> io::Result<SysctlForTest> {
    let lock = machine_lock("sysctl-tests")?;
    let before = std::fs::read_to_string(SYSCTL)?;
    std::fs::write(SYSCTL, format!("{start}\n"))?;
    Ok(SysctlForTest {
        _lock: lock,
        before,
    })
}

/// `kernel.bpf_stats_enabled`, as the tests read it.
pub const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// The sysctl's value now, trimmed.
#[must_use]
pub fn sysctl_now() -> String {
    std::fs::read_to_string(SYSCTL)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl Drop for SysctlForTest {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.before);
    }
}

/// Everything the window does with what a source sends: the store, the
/// derived table (sorted, grouped, with a baseline), and both CSV writers.
/// The hostile-input property test and the fuzz target drive it with
/// arbitrary decoded frames: none may panic.
#[derive(Debug)]
pub struct Consumer {
    store: crate::store::Store,
    derived: crate::view::Derived,
    settings: crate::view::Settings,
    baseline: Option<crate::view::Baseline>,
    taken: u64,
}

impl Default for Consumer {
    /// Keeps few unloaded programs, so that a million frames of mostly new
    /// programs stay quick to check.
    fn default() -> Self {
        let mut store = crate::store::Store::new();
        store.set_gone_limit(16);
        Self {
            store,
            derived: crate::view::Derived::default(),
            settings: crate::view::Settings::default(),
            baseline: None,
            taken: 0,
        }
    }
}

impl Consumer {
    /// Takes one decoded frame as the window would.
    pub fn take(&mut self, frame: crate::protocol::Frame) {
        use crate::view::{Grouping, Sort, SortColumn};
        self.store.push(crate::model::SourceEvent::from(frame));
        self.taken += 1;
        // Vary what the view is asked for as a user would.
        let columns = [
            SortColumn::Cpu,
            SortColumn::Name,
            SortColumn::Attach,
            SortColumn::DeltaCpu,
        ];
        self.settings.sort = Sort {
            column: columns[(self.taken % 4) as usize],
            descending: self.taken.is_multiple_of(3),
        };
        self.settings.grouping = [Grouping::None, Grouping::Process][(self.taken % 2) as usize];
        if self.taken.is_multiple_of(5) {
            self.baseline = Some(crate::view::Baseline::capture(
                &self.store,
                self.settings.plot_window,
                self.taken,
            ));
        }
        if self.taken.is_multiple_of(7) {
            self.store.pause();
        } else if self.taken % 7 == 3 {
            self.store.resume();
        }
        let group_of = |row: &crate::store::Row| row.text.owners_text.clone();
        self.derived.refresh(&crate::view::DerivedInput {
            store: &self.store,
            settings: &self.settings,
            filter: "a",
            diff_against: self.baseline.as_ref(),
            group_of: &group_of,
        });
        self.write_csv();
    }

    fn write_csv(&self) {
        let store = &self.store;
        let timestamp = store
            .latest_taken_at()
            .map(crate::model::rfc3339)
            .unwrap_or_default();
        if let Ok(mut csv) = crate::export::CsvWriter::new(io::sink()) {
            for row in store.rows() {
                if let Some(program) = store.program(row.key) {
                    let described = crate::export::Described {
                        facts: row.text.facts.as_deref(),
                        links: row.text.attach.links(),
                    };
                    let _ = csv.write(&timestamp, program, row.metrics.as_ref(), described);
                }
            }
        }
        // The history writer formats every point kept: now and then.
        if !self.taken.is_multiple_of(64) {
            return;
        }
        if let Ok(mut csv) = crate::export::CsvWriter::history(io::sink()) {
            for row in store.rows().iter().take(4) {
                for point in store.history(row.key) {
                    let _ = csv.write_point(row.key.id, row.name(), &point);
                }
            }
        }
    }
}

/// A `sleep` that holds open descriptors (a busy server's files, a process
/// holding a program), killed when dropped and with its parent.
#[derive(Debug)]
pub struct Holder(pub std::process::Child);

impl Holder {
    /// Starts `sleep` with `opens` opened (each once), `inherit` kept as
    /// descriptor 100, and `/dev/null` duplicated `dups` times: none
    /// close-on-exec, so `sleep` holds them all.
    pub fn start(
        opens: Vec<(std::ffi::CString, libc::c_int)>,
        inherit: Option<i32>,
        dups: u32,
    ) -> io::Result<Self> {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("sleep");
        command
            .arg("infinity")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        let null = CString::new("/dev/null").map_err(io::Error::other)?;
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only async-signal-safe functions (prctl, setrlimit, dup2,
        // open, dup), with no allocation: the paths were made before.
        unsafe {
            command.pre_exec(move || {
                // Die with the parent, however it ends.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                let limit = libc::rlimit {
                    rlim_cur: 20_000,
                    rlim_max: 20_000,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
                if let Some(fd) = inherit
                    && libc::dup2(fd, 100) < 0
                {
                    return Err(io::Error::last_os_error());
                }
                for (path, flags) in &opens {
                    if libc::open(path.as_ptr(), *flags) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if dups > 0 {
                    let fd = libc::open(null.as_ptr(), libc::O_RDONLY);
                    if fd < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    for _ in 1..dups {
                        if libc::dup(fd) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        command.spawn().map(Self)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
