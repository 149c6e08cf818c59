//! CPU time of one frame of the window with 10,000 programs (budget: 4 ms).
//!
//! Drives the real `BpfScopeApp` through egui_kittest (the whole egui pass:
//! layout of the visible table rows, plots, status bar; no GPU), with
//! injected samples: `cargo bench --bench frame`.

#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use bpfscope::app::BpfScopeApp;
use bpfscope::model::SourceEvent;
use bpfscope::model::{Owner, ProgramSample, Sample};
use bpfscope::source::Source;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossbeam_channel::bounded;
use eframe::egui;
use egui_kittest::Harness;

const PROGRAMS: u32 = 10_000;

fn sample(n: u64) -> Sample {
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: 1_000_000_000_000 + n * 1_000_000_000,
        period: Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        programs: (0..PROGRAMS)
            .map(|id| ProgramSample {
                id,
                prog_type: id % 30,
                name: bpfscope::model::KernelName::new(&format!("prog_{id}")),
                tag: [0; 8],
                load_time_ns: 1,
                run_time_ns: n * u64::from(id) * 1_000,
                run_cnt: n * u64::from(id % 977 + 1),
                recursion_misses: 0,
                owners: std::sync::Arc::from(vec![Owner {
                    pid: 1000 + id % 50,
                    comm: bpfscope::model::KernelName::new(&format!("agent{}", id % 50)),
                }]),
                own: false,
            })
            .collect(),
    }
}

fn frame(c: &mut Criterion) {
    let (tx, rx) = bounded(1024);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| BpfScopeApp::new(cc, None, move |_, _| Source::from_channel(rx)));
    for n in 0..3 {
        tx.send(SourceEvent::Sample(sample(n))).expect("send");
    }
    harness.run();
    // Plot two programs, as a user would.
    harness.state_mut().visible_ids();
    let ctx = harness.ctx.clone();
    let keys: Vec<_> = harness
        .state()
        .store()
        .rows()
        .iter()
        .take(2)
        .map(|r| r.key)
        .collect();
    for key in keys {
        harness.state_mut().run_cmd(
            &ctx,
            bpfscope::view::Command::Select(key, bpfscope::view::SelectMode::Toggle),
        );
    }
    harness.run();

    let mut group = c.benchmark_group("frame_10k_programs");
    group.sample_size(30);
    group.bench_function("idle_frame", |b| b.iter(|| harness.step()));
    // The sampler thread builds samples; only the UI thread's work is timed.
    let mut n = 3;
    group.bench_function("frame_with_new_sample", |b| {
        b.iter_batched(
            || {
                n += 1;
                sample(n)
            },
            |s| {
                tx.send(SourceEvent::Sample(s)).expect("send");
                harness.step();
            },
            BatchSize::SmallInput,
        );
    });
    let mut store = bpfscope::store::Store::new();
    let mut n = 0;
    group.bench_function("store_push_sample", |b| {
        b.iter_batched(
            || {
                n += 1;
                sample(n)
            },
            |s| store.push_sample(s),
            BatchSize::SmallInput,
        );
    });
    let rows = store.rows().to_vec();
    group.bench_function("sort_by_cpu", |b| {
        b.iter(|| bpfscope::view::order(&rows, "", bpfscope::view::Sort::default(), None));
    });
    group.finish();
    black_box(&harness);
}

criterion_group!(benches, frame);
criterion_main!(benches);
