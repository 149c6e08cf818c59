//! Loads a few named BPF programs and runs them at steady rates until killed,
//! so bpfscope has something to show (screenshots, demos, benchmarks).
//! `--extra N` loads N more programs, each run once a second. `--attach`
//! also attaches a few programs through BPF links (a raw tracepoint on
//! `sys_enter`, which runs on every syscall of the machine: not for
//! benchmarks), so attach points have something to show.
//! `--churn N` keeps N more programs loaded and replaces them continuously,
//! `--loads-per-sec R` of them a second (default 100), as container starts,
//! one-liners and agents reloading do. `--hold-fds N` starts processes that
//! hold N open descriptors of `/dev/null` together (a busy server's files).
//! The first program runs on one CPU at a time (moving every 5 s, as an
//! XDP program on one receive queue), the others on every CPU in turn, so
//! the per-CPU views have a shape. Needs root: `sudo cargo run --example demo_load -- [--extra N] [--attach]
//! [--churn N [--loads-per-sec R]] [--hold-fds N]`.

#![allow(clippy::expect_used)] // a demo without its programs has nothing to do

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bpfscope::test_support::{AttachTestObject, Holder, TestProgram, TestProgramType};

/// How often the programs are run.
const TICK: Duration = Duration::from_millis(10);

/// Name, type and runs per second.
const PROGRAMS: [(&str, TestProgramType, u32); 5] = [
    ("xdp_firewall", TestProgramType::Xdp, 40_000),
    ("tc_egress_nat", TestProgramType::SchedCls, 12_000),
    ("xdp_lb_fwd", TestProgramType::Xdp, 3_000),
    ("sock_filter_dns", TestProgramType::SocketFilter, 800),
    ("tc_ingress_rl", TestProgramType::SchedCls, 200),
];

/// Programs attached through links, so attach points have something to
/// show: a raw tracepoint (it runs on every syscall), a cgroup program on a
/// cgroup of its own and XDP on `lo` (both pass everything). Whatever the
/// kernel refuses is left out with a note.
fn attach_some() -> (
    Option<AttachTestObject>,
    Vec<libbpf_rs::Link>,
    Option<CgroupDir>,
) {
    let mut object = match AttachTestObject::load(false) {
        Ok(object) => object,
        Err(err) => {
            eprintln!("demo_load: no attached programs: {err}");
            return (None, Vec::new(), None);
        }
    };
    let mut links = Vec::new();
    let mut attach = |what: &str, link: Result<libbpf_rs::Link, String>| match link {
        Ok(link) => links.push(link),
        Err(err) => eprintln!("demo_load: {what} not attached: {err}"),
    };
    let err = |e: std::io::Error| e.to_string();
    let lib = |e: libbpf_rs::Error| format!("{e:#}");
    attach(
        "raw tracepoint",
        object
            .program("bpfscope_raw_tracepoint_with_a_long_name")
            .map_err(err)
            .and_then(|p| p.attach_raw_tracepoint("sys_enter").map_err(lib)),
    );
    let cgroup = bpfscope::sys::cgroup2_root().and_then(|root| {
        let dir = root.join("bpfscope-demo");
        std::fs::create_dir_all(&dir).ok()?;
        Some(CgroupDir(dir))
    });
    if let Some(dir) = &cgroup {
        let link = std::fs::File::open(&dir.0).map_err(err).and_then(|f| {
            use std::os::fd::AsRawFd;
            object
                .program("bpfscope_cgroup_ingress")
                .map_err(err)
                .and_then(|p| p.attach_cgroup(f.as_raw_fd()).map_err(lib))
        });
        attach("cgroup program", link);
    }
    attach(
        "XDP on lo",
        object
            .program("bpfscope_xdp")
            .map_err(err)
            .and_then(|p| p.attach_xdp(1).map_err(lib)),
    );
    (Some(object), links, cgroup)
}

/// A cgroup made for the demo, removed when it ends normally.
struct CgroupDir(std::path::PathBuf);

impl Drop for CgroupDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Descriptors one holder process keeps (under a 20,000 per-process limit).
const PER_HOLDER: usize = 19_000;

/// `sleep` processes holding `total` descriptors of `/dev/null` together;
/// they are killed when the list drops, or with this process.
fn hold_fds(total: usize) -> Vec<Holder> {
    (0..total.div_ceil(PER_HOLDER))
        .map(|i| {
            let dups = (total - i * PER_HOLDER).min(PER_HOLDER);
            Holder::start(Vec::new(), None, u32::try_from(dups).unwrap_or(u32::MAX))
                .expect("start a descriptor holder")
        })
        .collect()
}

/// Programs replaced continuously: the oldest unloads, a new one loads.
struct Churn {
    programs: VecDeque<TestProgram>,
    loads_per_sec: u32,
    loaded: u64,
}

impl Churn {
    fn new(count: usize, loads_per_sec: u32) -> Self {
        let mut churn = Self {
            programs: VecDeque::with_capacity(count),
            loads_per_sec,
            loaded: 0,
        };
        for _ in 0..count {
            churn.load();
        }
        churn
    }

    fn load(&mut self) {
        let name = format!("churn_{}", self.loaded % 100_000);
        self.loaded += 1;
        self.programs
            .push_back(TestProgram::load(&name).expect("load (run as root)"));
    }

    /// One tick's replacements (ticks are 10 ms).
    fn tick(&mut self, tick: u32) {
        if self.programs.is_empty() {
            return;
        }
        let rate = u64::from(self.loads_per_sec);
        // Replacements due by the end of this tick, spread evenly.
        let due = (u64::from(tick) + 1) * rate / 100 - u64::from(tick) * rate / 100;
        for _ in 0..due {
            self.programs.pop_front();
            self.load();
        }
        for program in &self.programs {
            let _ = program.run(1);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut extra = 0usize;
    let mut attach = false;
    let mut churn = 0usize;
    let mut loads_per_sec = 100u32;
    let mut fds = 0usize;
    let usage = || -> ! {
        eprintln!(
            "usage: demo_load [--extra N] [--attach] [--churn N [--loads-per-sec R]] [--hold-fds N]"
        );
        std::process::exit(2);
    };
    while let Some(arg) = args.next() {
        if arg == "--attach" {
            attach = true;
            continue;
        }
        let Some(Ok(n)) = args.next().map(|n| n.parse::<usize>()) else {
            usage();
        };
        match arg.as_str() {
            "--extra" => extra = n,
            "--churn" => churn = n,
            "--loads-per-sec" => loads_per_sec = u32::try_from(n).unwrap_or(u32::MAX),
            "--hold-fds" => fds = n,
            _ => usage(),
        }
    }
    let _holders = hold_fds(fds);
    if fds > 0 {
        println!("holding {fds} open descriptors in other processes");
    }
    bpfscope::test_support::raise_fd_limit().expect("raise the open-file limit");
    let extras: Vec<TestProgram> = (0..extra)
        .map(|i| TestProgram::load(&format!("extra_{i}")).expect("load (run as root)"))
        .collect();
    if extra > 0 {
        println!("loaded {extra} extra programs");
    }
    let programs: Vec<(TestProgram, u32)> = PROGRAMS
        .iter()
        .map(|(name, kind, rate)| {
            let program = TestProgram::load_typed(name, *kind).expect("load (run as root)");
            (program, *rate)
        })
        .collect();
    for (program, rate) in &programs {
        println!("loaded program {} at {rate} runs/s", program.id());
    }
    let (mut attached, _links, _cgroup) = if attach {
        attach_some()
    } else {
        (None, Vec::new(), None)
    };
    let mut churn = Churn::new(churn, loads_per_sec);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Instant::now();
    let mut tick = 0u32;
    loop {
        churn.tick(tick);
        // Vary the load slowly so plots have a shape.
        let phase = f64::from(tick) / 300.0;
        for (i, (program, rate)) in programs.iter().enumerate() {
            let wobble = 1.0 + 0.5 * (phase + i as f64).sin();
            let runs = (f64::from(*rate) / 100.0 * wobble).round() as u32;
            let cpu = if i == 0 {
                (tick as usize / 500) % cpus
            } else {
                (tick as usize + i) % cpus
            };
            let _ = bpfscope::test_support::pin_to_cpu(cpu);
            program.run(runs.max(1)).expect("test run");
        }
        // The attached programs that BPF_PROG_TEST_RUN can run.
        if let Some(object) = &mut attached {
            let _ = object.run("bpfscope_cgroup_ingress", 30);
            let _ = object.run("bpfscope_xdp", 15);
        }
        // Each extra program runs once a second, spread over the ticks.
        let per_tick = extras.len().div_ceil(100);
        let from = (tick as usize % 100) * per_tick;
        for program in extras.iter().skip(from).take(per_tick) {
            program.run(1).expect("test run");
        }
        tick += 1;
        if let Some(wait) = (TICK * tick).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}
