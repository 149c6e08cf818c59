//! One sampling pass at 100, 1,000 and 5,000 loaded programs.
//!
//! Compares bpfscope's paths (the `iter/bpf_prog` iterator, the same plus the
//! owners iterator, and its per-program syscall fallback) with a pass of
//! `libbpf_rs::query::ProgInfoIter`, which is what bpftop does each tick.
//! `bpfscope_whole_pass` is everything the window's sampler does each
//! period in steady state (programs; owners when due; facts of new
//! programs; links, each described once), beside the same with owners read
//! every pass, as bpfscope did before owners were refreshed only when due.
//! Needs root: `sudo cargo bench --bench sampling`.

#![allow(clippy::expect_used)] // a benchmark without its programs cannot run

use std::hint::black_box;
use std::time::Duration;

use bpfscope::model::Enumeration;
use bpfscope::sampler::{Sampler, SamplerConfig, enumerate_with_syscalls};
use bpfscope::test_support::{TestProgram, pin_to_cpu, pin_to_cpus, privileged, raise_fd_limit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [100, 1_000, 5_000];

fn sampler(enumeration: Enumeration, owners: bool) -> Sampler {
    Sampler::new(SamplerConfig {
        enumeration: Some(enumeration),
        owners,
        ..SamplerConfig::default()
    })
    .expect("sampler (run as root)")
}

/// The window's sampler: owners, facts and links; owners read at least
/// every `owners_every`.
fn whole(owners_every: Option<Duration>) -> Sampler {
    Sampler::new(SamplerConfig {
        enumeration: Some(Enumeration::Iterator),
        owners: true,
        facts: true,
        owners_every,
        ..SamplerConfig::default()
    })
    .expect("sampler (run as root)")
}

#[allow(clippy::too_many_lines)] // one group, case after case
fn sampling_pass(c: &mut Criterion) {
    if !privileged() {
        eprintln!("sampling benchmark skipped: needs CAP_SYS_ADMIN (run as root)");
        return;
    }
    raise_fd_limit().expect("raise the open-file limit");
    let mut iter = sampler(Enumeration::Iterator, false);
    let mut iter_owners = sampler(Enumeration::Iterator, true);
    let mut whole_pass = whole(None);
    let mut owners_every_pass = whole(Some(Duration::ZERO));
    let mut syscalls = Vec::new();
    let mut programs = Vec::new();
    let mut group = c.benchmark_group("sampling_pass");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for size in SIZES {
        while programs.len() < size {
            let program = TestProgram::load(&format!("bench_{}", programs.len()))
                .expect("load a benchmark program");
            programs.push(program);
        }
        let loaded = iter
            .sample(Duration::from_secs(1))
            .expect("pass")
            .programs
            .len();
        eprintln!("{size} test programs; {loaded} programs loaded in all");
        group.throughput(Throughput::Elements(loaded as u64));
        group.bench_with_input(
            BenchmarkId::new("bpfscope_iterator", size),
            &size,
            |b, _| {
                b.iter(|| black_box(iter.sample(Duration::from_secs(1)).expect("pass")));
            },
        );
        // Every program ran on both CPUs since the pass before: each writes
        // its per-CPU counters, the most a pass can cost (the runs are set
        // up outside the time measured).
        group.bench_with_input(
            BenchmarkId::new("bpfscope_iterator_all_ran", size),
            &size,
            |b, _| {
                b.iter_batched(
                    || {
                        for cpu in [0, 1] {
                            pin_to_cpu(cpu).expect("pin");
                            for program in &programs {
                                program.run(1).expect("run");
                            }
                        }
                        pin_to_cpus(&[0, 1]).expect("unpin");
                    },
                    |()| black_box(iter.sample(Duration::from_secs(1)).expect("pass")),
                    criterion::BatchSize::PerIteration,
                );
            },
        );
        group.bench_with_input(
            BenchmarkId::new("bpfscope_iterator_with_owners", size),
            &size,
            |b, _| b.iter(|| black_box(iter_owners.sample(Duration::from_secs(1)).expect("pass"))),
        );
        // Steady state: the first pass reads every new program's facts.
        whole_pass.sample(Duration::from_secs(1)).expect("pass");
        owners_every_pass
            .sample(Duration::from_secs(1))
            .expect("pass");
        group.bench_with_input(
            BenchmarkId::new("bpfscope_whole_pass", size),
            &size,
            |b, _| {
                b.iter(|| black_box(whole_pass.sample(Duration::from_secs(1)).expect("pass")));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("bpfscope_whole_pass_owners_every_pass", size),
            &size,
            |b, _| {
                b.iter(|| {
                    black_box(
                        owners_every_pass
                            .sample(Duration::from_secs(1))
                            .expect("pass"),
                    )
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("bpfscope_syscalls", size),
            &size,
            |b, _| {
                b.iter(|| {
                    syscalls.clear();
                    enumerate_with_syscalls(&mut syscalls).expect("pass");
                    black_box(syscalls.len())
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("libbpf_rs_ProgInfoIter", size),
            &size,
            |b, _| {
                b.iter(|| {
                    black_box(
                        libbpf_rs::query::ProgInfoIter::default()
                            .map(|info| info.run_cnt)
                            .sum::<u64>(),
                    )
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, sampling_pass);
criterion_main!(benches);
