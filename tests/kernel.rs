//! The sampler against the real kernel, with real programs whose run counts
//! the tests drive exactly through `BPF_PROG_TEST_RUN`.
//!
//! Statistics are machine-wide state, so these tests run one at a time
//! (nextest test group `kernel`, see .config/nextest.toml; under plain
//! `cargo test` a process-wide lock does the same).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bpfscope::model::metrics::program_metrics;
use bpfscope::model::{Enumeration, StatsMode};
use bpfscope::model::{ProgramSample, Sample};
use bpfscope::sampler::{
    PerCpuLimits, Sampler, SamplerConfig, StatsGuard, StatsRequest, read_program,
};
use bpfscope::test_support::{TestProgram, require_privilege};

static KERNEL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    KERNEL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sampler(enumeration: Enumeration) -> Sampler {
    Sampler::new(SamplerConfig {
        enumeration: Some(enumeration),
        owners: true,
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root")
}

fn take(sampler: &mut Sampler) -> Sample {
    sampler.sample(Duration::from_secs(1)).expect("sample")
}

fn find(sample: &Sample, id: u32) -> &ProgramSample {
    sample
        .program(id)
        .unwrap_or_else(|| panic!("program {id} missing from {:?}", ids(sample)))
}

fn ids(sample: &Sample) -> Vec<u32> {
    sample.programs.iter().map(|p| p.id).collect()
}

fn exact_runs_are_counted(enumeration: Enumeration) {
    let _serial = serial();
    let mut sampler = sampler(enumeration);
    let prog = TestProgram::load("bpfscope_exact").expect("load test program");
    let before = take(&mut sampler);
    prog.run(1000).expect("test run");
    let after = take(&mut sampler);

    let (a, b) = (find(&before, prog.id()), find(&after, prog.id()));
    assert_eq!(b.run_cnt - a.run_cnt, 1000, "{enumeration}");
    assert!(b.run_time_ns > a.run_time_ns, "{enumeration}: no run time");
    assert_eq!(b.name, "bpfscope_exact");
    assert_eq!(b.type_name(), "socket_filter");
    assert!(!b.own);

    let m = program_metrics(&before, &after, b).expect("metrics");
    assert!(m.avg_runtime_ns > 0.0);
    assert!(m.events_per_sec > 0.0 && m.cpu_percent > 0.0);
}

#[test]
fn iterator_counts_exactly_the_runs_driven() {
    if require_privilege("iterator_counts_exactly_the_runs_driven") {
        exact_runs_are_counted(Enumeration::Iterator);
    }
}

#[test]
fn syscall_path_counts_exactly_the_runs_driven() {
    if require_privilege("syscall_path_counts_exactly_the_runs_driven") {
        exact_runs_are_counted(Enumeration::Syscall);
    }
}

#[test]
fn iterator_and_syscall_paths_read_identical_programs() {
    if !require_privilege("iterator_and_syscall_paths_read_identical_programs") {
        return;
    }
    let _serial = serial();
    let mut fast = sampler(Enumeration::Iterator);
    let progs: Vec<TestProgram> = (0..20)
        .map(|i| TestProgram::load(&format!("bpfscope_cmp{i}")).expect("load"))
        .collect();
    for (i, prog) in progs.iter().enumerate() {
        prog.run(u32::try_from(i).expect("small") * 37 + 1)
            .expect("run");
    }
    let from_iterator = take(&mut fast);
    for prog in &progs {
        // Owners come from a separate iterator; everything else must match.
        let via_iter = ProgramSample {
            owners: std::sync::Arc::default(),
            ..find(&from_iterator, prog.id()).clone()
        };
        let via_syscall = read_program(prog.id())
            .expect("syscall read")
            .expect("still loaded");
        assert_eq!(via_iter, via_syscall, "program {}", prog.id());
    }
    // Every other program the syscall path sees is seen by the iterator too.
    let mut listed = Vec::new();
    bpfscope::sampler::enumerate_with_syscalls(&mut listed).expect("syscall list");
    for p in &listed {
        assert!(
            from_iterator.program(p.id).is_some() || p.load_time_ns > from_iterator.boottime_ns,
            "program {} ({}) missing from the iterator's pass",
            p.id,
            p.name
        );
    }
}

#[test]
fn an_unloaded_program_disappears_without_error() {
    if !require_privilege("an_unloaded_program_disappears_without_error") {
        return;
    }
    let _serial = serial();
    for enumeration in [Enumeration::Iterator, Enumeration::Syscall] {
        let mut sampler = sampler(enumeration);
        let prog = TestProgram::load("bpfscope_gone").expect("load");
        let id = prog.id();
        assert!(take(&mut sampler).program(id).is_some());
        drop(prog);
        // Unloading is deferred to an RCU grace period; give it a moment.
        let mut gone = false;
        for _ in 0..50 {
            if take(&mut sampler).program(id).is_none() {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            gone,
            "{enumeration}: program {id} still listed after unload"
        );
    }
}

#[test]
fn dropping_the_stats_guard_stops_accounting() {
    if !require_privilege("dropping_the_stats_guard_stops_accounting") {
        return;
    }
    let _serial = serial();
    // No sysctl-mode instance (another test) may hold accounting on meanwhile.
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").expect("sysctl");
    let prog = TestProgram::load("bpfscope_guard").expect("load");
    let guard = StatsGuard::enable(StatsRequest::Auto).expect("stats on");
    assert_eq!(guard.mode(), StatsMode::Syscall);
    prog.run(500).expect("run");
    let on = read_program(prog.id()).expect("read").expect("loaded");
    assert_eq!(on.run_cnt, 500);
    drop(guard);
    prog.run(500).expect("run");
    let off = read_program(prog.id()).expect("read").expect("loaded");
    assert_eq!(
        off.run_cnt, 500,
        "run_cnt grew with statistics off (is another process holding BPF_ENABLE_STATS?)"
    );
}

#[test]
fn sysctl_fallback_counts_and_restores_the_previous_value() {
    if !require_privilege("sysctl_fallback_counts_and_restores_the_previous_value") {
        return;
    }
    let _serial = serial();
    // From 0, so that restoring it can be told from leaving it on.
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").expect("sysctl");
    let path = "/proc/sys/kernel/bpf_stats_enabled";
    let before = std::fs::read_to_string(path).expect("sysctl");
    let mut sampler = Sampler::new(SamplerConfig {
        stats: StatsRequest::Sysctl,
        enumeration: Some(Enumeration::Iterator),
        owners: false,
        facts: false,
        owners_every: None,
        facts_by_syscall: false,
        ..SamplerConfig::default()
    })
    .expect("sysctl mode");
    assert_eq!(sampler.stats_mode(), StatsMode::Sysctl);
    assert_eq!(std::fs::read_to_string(path).expect("sysctl").trim(), "1");
    let prog = TestProgram::load("bpfscope_sysctl").expect("load");
    let a = take(&mut sampler);
    prog.run(1000).expect("run");
    let b = take(&mut sampler);
    assert_eq!(
        find(&b, prog.id()).run_cnt - find(&a, prog.id()).run_cnt,
        1000
    );
    drop(sampler);
    assert_eq!(std::fs::read_to_string(path).expect("sysctl"), before);
}

#[test]
fn owners_include_this_process_and_own_programs_are_marked() {
    if !require_privilege("owners_include_this_process_and_own_programs_are_marked") {
        return;
    }
    let _serial = serial();
    let mut sampler = sampler(Enumeration::Iterator);
    assert!(sampler.info().owners_available, "{:?}", sampler.info());
    let prog = TestProgram::load("bpfscope_owner").expect("load");
    let sample = take(&mut sampler);
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let pid = std::process::id();
    let owners = &find(&sample, prog.id()).owners;
    assert!(
        owners.iter().any(|o| o.pid == pid && o.comm == comm.trim()),
        "owners {owners:?} lack {}:{pid}",
        comm.trim()
    );
    // bpfscope's own iterators are listed, marked, and owned by us too.
    let own: Vec<&ProgramSample> = sample.programs.iter().filter(|p| p.own).collect();
    assert_eq!(own.len(), 2, "{own:?}");
    for p in own {
        assert_eq!(p.type_name(), "tracing");
        assert!(p.owners.iter().any(|o| o.pid == pid));
    }
}

/// `(cpu, runs)` of `id` in `sample`'s per-CPU figures.
fn runs_by_cpu(sample: &Sample, id: u32) -> Vec<(u32, u64)> {
    let per_cpu = sample.per_cpu.as_ref().expect("the iterator reads per CPU");
    per_cpu.program(id).map_or_else(Vec::new, |p| {
        p.cpus.iter().map(|c| (c.cpu, c.run_cnt)).collect()
    })
}

#[test]
fn runs_are_counted_on_the_cpu_that_ran_them() {
    if !require_privilege("runs_are_counted_on_the_cpu_that_ran_them") {
        return;
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        cpus >= 2,
        "this test needs two CPUs, the machine has {cpus}"
    );
    let _serial = serial();
    let mut sampler = Sampler::new(SamplerConfig {
        enumeration: Some(Enumeration::Iterator),
        per_cpu: PerCpuLimits {
            floor_ppm: 0,
            programs_max: u32::MAX,
        },
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root");
    let prog = TestProgram::load("bpfscope_cpu").expect("load");
    let first = take(&mut sampler);
    assert!(runs_by_cpu(&first, prog.id()).is_empty());

    for (cpu, other, repeat) in [(0, 1, 7_000), (1, 0, 3_000)] {
        let before = take(&mut sampler);
        prog.run_on_cpu(cpu, repeat).expect("pinned run");
        let after = take(&mut sampler);
        let total = find(&after, prog.id()).run_cnt - find(&before, prog.id()).run_cnt;
        assert_eq!(total, u64::from(repeat));
        let by_cpu = runs_by_cpu(&after, prog.id());
        assert_eq!(
            by_cpu,
            [(cpu as u32, u64::from(repeat))],
            "{repeat} runs pinned to CPU {cpu}, none on CPU {other}"
        );
        let per_cpu = after.per_cpu.as_ref().expect("per CPU");
        let p = per_cpu.program(prog.id()).expect("ran");
        let time: u64 = p.cpus.iter().map(|c| c.run_time_ns).sum();
        let total_time = find(&after, prog.id()).run_time_ns - find(&before, prog.id()).run_time_ns;
        assert_eq!(time, total_time, "the per-CPU run time sums to the total");
        // Every CPU's total over all programs includes this program's.
        let cpu_total = per_cpu.cpus.iter().find(|c| c.cpu == cpu as u32);
        assert!(cpu_total.is_some_and(|c| c.run_cnt >= u64::from(repeat)));
    }
    // Not run in a period: no per-CPU figures for it.
    let quiet = take(&mut sampler);
    assert!(runs_by_cpu(&quiet, prog.id()).is_empty());
}

#[test]
fn the_syscall_path_says_it_has_no_per_cpu_figures() {
    if !require_privilege("the_syscall_path_says_it_has_no_per_cpu_figures") {
        return;
    }
    let _serial = serial();
    let mut sampler = sampler(Enumeration::Syscall);
    assert!(take(&mut sampler).per_cpu.is_none());
}

#[test]
fn the_accounting_cost_lies_within_what_back_to_back_runs_give() {
    use bpfscope::model::AccountingCost;
    if !require_privilege("the_accounting_cost_lies_within_what_back_to_back_runs_give") {
        return;
    }
    let _serial = serial();
    // Back-to-back pairs, statistics off then on: five before the
    // sampler measures and five after (the machine drifts by a few ns).
    let prog = TestProgram::load("bpfscope_pairs").expect("load");
    let pairs = |added: &mut Vec<i64>| {
        for _ in 0..5 {
            let off = prog.timed_run(100_000).expect("run");
            let on = StatsGuard::enable(StatsRequest::Syscall).expect("stats on");
            let with = prog.timed_run(100_000).expect("run");
            drop(on);
            added.push(i64::from(with) - i64::from(off));
        }
    };
    let mut added = Vec::new();
    pairs(&mut added);
    let sampler = Sampler::new(SamplerConfig::default()).expect("sampler");
    let cost = sampler.info().accounting.clone();
    drop(sampler);
    pairs(&mut added);
    let per_run = i64::from(
        cost.per_run_ns()
            .unwrap_or_else(|| panic!("not measured: {cost:?}")),
    );
    let (lo, hi) = (added.iter().min().copied(), added.iter().max().copied());
    let (lo, hi) = (lo.expect("pairs"), hi.expect("pairs"));
    eprintln!("measured {per_run} ns a run; back-to-back pairs gave {added:?}");
    assert!(
        per_run > 0,
        "reading the clock twice costs something: {cost:?}"
    );
    // The kernel gives whole nanoseconds, and tests beside this one make
    // noise: a tenth of the range's top either side.
    let slack = hi / 10 + 1;
    assert!(
        (lo - slack..=hi + slack).contains(&per_run),
        "{per_run} ns is outside {lo}..={hi} ns (± {slack})"
    );

    // Statistics someone else holds on: no "off" to measure against.
    let other = StatsGuard::enable(StatsRequest::Syscall).expect("stats on");
    let sampler = Sampler::new(SamplerConfig::default()).expect("sampler");
    assert_eq!(sampler.info().accounting, AccountingCost::AlreadyOn);
    drop(other);
}
