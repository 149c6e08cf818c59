//! Replaying recordings: how long an hour-long recording of 1,000
//! programs at 1 s takes to open (to the first moment shown, and to the
//! whole timeline), and what a frame of the window costs while the user
//! scrubs a recording of 10,000 programs (budget: 4 ms a frame; the seek's
//! moment is rebuilt on the replay thread).
//!
//! `cargo bench --bench replay` (the recordings are written first, into a
//! temporary directory).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bpfscope::app::BpfScopeApp;
use bpfscope::model::{
    Enumeration, KernelName, Owner, ProgramSample, ReplayCommand, Sample, SourceEvent, SourceInfo,
    StatsMode,
};
use bpfscope::record::Recorder;
use bpfscope::source::Source;
use bpfscope::view::{Command, PlotWindow};
use criterion::{Criterion, criterion_group, criterion_main};
use eframe::egui;
use egui_kittest::Harness;

fn sample(n: u64, programs: u32, owners: &[Arc<[Owner]>]) -> Sample {
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: 1_000_000_000_000 + n * 1_000_000_000,
        period: Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: Some(1_000_000_000_000),
        pass_ns: 3_000_000,
        per_cpu: None,
        stats_on_ns: None,
        programs: (0..programs)
            .map(|id| ProgramSample {
                id: id + 1,
                prog_type: id % 30,
                name: KernelName::new(&format!("prog_{id}")),
                tag: [7; 8],
                load_time_ns: 1,
                // Each program runs at its own rate, with some noise.
                run_time_ns: n * u64::from(id) * 1_000 + (n * 7919 + u64::from(id)) % 1_000,
                run_cnt: n * u64::from(id % 977 + 1) + (n * 31 + u64::from(id)) % 17,
                recursion_misses: 0,
                owners: Arc::clone(&owners[id as usize % owners.len()]),
                own: false,
            })
            .collect(),
    }
}

/// A recording of `samples` samples of `programs` programs at 1 s, in
/// blocks of 5 s as `bpfscope record` writes them.
fn recording(dir: &Path, programs: u32, samples: u64) -> PathBuf {
    let path = dir.join(format!("{programs}-{samples}.bpfscope"));
    let owners: Vec<Arc<[Owner]>> = (0..50)
        .map(|i| {
            Arc::from(vec![Owner {
                pid: 1000 + i,
                comm: KernelName::new(&format!("agent{i}")),
            }])
        })
        .collect();
    let file = std::fs::File::create(&path).unwrap();
    let mut recorder = Recorder::new(std::io::BufWriter::new(file), "bench".into());
    recorder
        .record(SourceEvent::Hello(SourceInfo {
            stats_mode: StatsMode::Syscall,
            enumeration: Enumeration::Iterator,
            owners_available: true,
            kernel_release: "6.18.0".into(),
            online_cpus: 16,
            notices: Vec::new(),
            accounting: bpfscope::model::AccountingCost::Measured {
                without_ns: 12,
                with_ns: 40,
            },
        }))
        .unwrap();
    for n in 0..samples {
        recorder
            .record(SourceEvent::Sample(sample(n, programs, &owners)))
            .unwrap();
        if n % 5 == 4 {
            recorder.end_block().unwrap();
        }
    }
    recorder.finish().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "replay bench: {} has {samples} samples of {programs} programs, {:.1} MiB",
        path.display(),
        size as f64 / 1_048_576.0
    );
    path
}

fn window(path: &Path) -> Harness<'static, BpfScopeApp> {
    let path = path.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| BpfScopeApp::new(cc, None, move |_, w| Source::replay(&path, w)))
}

/// Steps until the timeline shows `at` (no seek pending); the longest
/// step's time.
fn until_shown(harness: &mut Harness<'_, BpfScopeApp>, at: Option<usize>) -> Duration {
    let mut longest = Duration::ZERO;
    loop {
        let started = Instant::now();
        harness.step();
        longest = longest.max(started.elapsed());
        let timeline = harness.state().timeline().unwrap();
        let shown = timeline.position.is_some() && timeline.seeking.is_none();
        if shown && (at.is_none() || timeline.position == at) {
            return longest;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn replay(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let hour = recording(dir.path(), 1_000, 3_600);
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // From the file to the table of its first period, drawn.
    group.bench_function("open_hour_1000_programs", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let mut harness = window(&hour);
                until_shown(&mut harness, None);
                total += started.elapsed();
            }
            total
        });
    });

    let big = recording(dir.path(), 10_000, 600);
    let mut harness = window(&big);
    until_shown(&mut harness, None);
    let ctx = harness.ctx.clone();
    let mut target = 0usize;
    // A drag: a seek every frame, across the recording; each frame's time
    // (the moments are rebuilt on the replay thread meanwhile).
    group.bench_function("frame_while_dragging_10k_programs", |b| {
        b.iter(|| {
            target = (target + 37) % 600;
            harness
                .state_mut()
                .run_cmd(&ctx, Command::Replay(ReplayCommand::Seek(target)));
            harness.step();
        });
    });
    // A seek let go: the longest frame until its moment is shown (the one
    // that takes the rebuilt moment in), and how long the seek takes to
    // show; with the plots' 10 s (the default) and 5 min of history.
    for (window, label) in [
        (PlotWindow::Seconds10, "10s"),
        (PlotWindow::Minutes5, "5min"),
    ] {
        harness
            .state_mut()
            .run_cmd(&ctx, Command::SetPlotWindow(window));
        until_shown(&mut harness, None);
        group.bench_function(
            format!("longest_frame_of_a_seek_10k_programs_{label}"),
            |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        target = (target + 211) % 600;
                        harness
                            .state_mut()
                            .run_cmd(&ctx, Command::Replay(ReplayCommand::Seek(target)));
                        total += until_shown(&mut harness, Some(target));
                    }
                    total
                });
            },
        );
        group.bench_function(format!("seek_to_shown_10k_programs_{label}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    target = (target + 211) % 600;
                    let started = Instant::now();
                    harness
                        .state_mut()
                        .run_cmd(&ctx, Command::Replay(ReplayCommand::Seek(target)));
                    until_shown(&mut harness, Some(target));
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
