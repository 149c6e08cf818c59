//! Which CPU pays: the details pane's per-CPU strip and heat map, the
//! Spread column, what a source without per-CPU figures says, and what the
//! statistics themselves cost.

use bpfscope::model::{CpuDelta, PerCpuSample, ProgramCpus};

use crate::fixtures::*;

fn cpu(cpu: u32, run_cnt: u64, run_time_ns: u64) -> CpuDelta {
    CpuDelta {
        cpu,
        run_cnt,
        run_time_ns,
    }
}

/// [`sample`] with per-CPU figures on 4 CPUs: program 10 (xdp_fw) spread
/// evenly, program 20 (trace_exec) on CPU 2 alone, program 30 not given
/// (below the floor).
fn per_cpu_sample(n: u64) -> Sample {
    let mut s = sample(n);
    if n == 0 {
        return s;
    }
    // The deltas of `sample`: program 10 ran 100·n times at 50 ns, 20
    // ran 10·n times at 400 ns.
    let (runs10, runs20) = (100 * n, 10 * n);
    s.per_cpu = Some(PerCpuSample {
        nr_cpus: 4,
        cpus: vec![
            cpu(0, runs10 / 4, runs10 * 50 / 4),
            cpu(1, runs10 / 4, runs10 * 50 / 4),
            cpu(2, runs10 / 4 + runs20, runs10 * 50 / 4 + runs20 * 400),
            cpu(3, runs10 / 4, runs10 * 50 / 4),
        ],
        programs: vec![
            ProgramCpus {
                id: 10,
                cpus: (0..4)
                    .map(|c| cpu(c, runs10 / 4, runs10 * 50 / 4))
                    .collect(),
            },
            ProgramCpus {
                id: 20,
                cpus: vec![cpu(2, runs20, runs20 * 400)],
            },
        ],
        floor_ppm: 1_000,
        programs_max: 64,
        left_out: 0,
    });
    s
}

#[test]
fn the_details_pane_shows_which_cpu_runs_the_program() {
    let (mut harness, _tx) = harness_of((0..5).map(per_cpu_sample));
    harness.get_by_label("trace_exec").click();
    harness.run();
    harness.get_by_label("Latest period: 1 of 4 CPUs ran it; CPU 2 ran 100 % of its time");
    // One bar, on CPU 2: 40 runs at 400 ns in the last second.
    harness.get_by_label("Program on CPU 2: 0.0016 % of that CPU, 40.0 runs/s");
    assert!(
        harness
            .query_by_label_contains("Program on CPU 0:")
            .is_none()
    );
    harness.get_by_label("Per-CPU heat map: 4 CPUs × 4 samples");

    harness.get_by_label("xdp_fw").click();
    harness.run();
    harness.get_by_label("Latest period: 4 of 4 CPUs ran it; CPU 0 ran 25 % of its time");
    for c in 0..4 {
        harness.get_by_label(&format!(
            "Program on CPU {c}: 0.00050 % of that CPU, 100.0 runs/s"
        ));
    }

    // Below the floor: said, not drawn.
    harness.get_by_label("tc_nat_egress_handler").click();
    harness.run();
    harness.get_by_label_contains(
        "Not given this period: per-CPU figures are kept for programs above 0.1 %",
    );
    assert!(harness.query_by_label_contains("Program on CPU").is_none());
}

#[test]
fn the_spread_column_sorts_by_the_busiest_cpus_share() {
    let (mut harness, _tx) = harness_of((0..3).map(per_cpu_sample));
    harness.get_by_label_contains("Events/s").click_secondary();
    harness.run();
    harness.get_by_label("Spread").click();
    harness.run();
    harness.key_press(egui::Key::Escape);
    harness.run();
    harness.get_by_label("100 %");
    harness.get_by_label("25 %");
    harness.get_by_label_contains("Spread").click();
    harness.run();
    assert_eq!(
        ids(&mut harness),
        [20, 10, 30],
        "the most concentrated first"
    );
    harness.get_by_label_contains("Spread").click();
    harness.run();
    let ascending = ids(&mut harness);
    assert_eq!(
        ascending
            .iter()
            .filter(|&&id| id != 30)
            .copied()
            .collect::<Vec<_>>(),
        [10, 20]
    );
}

#[test]
fn a_source_without_per_cpu_figures_says_so() {
    let (mut harness, _tx) = harness(3);
    harness.get_by_label("xdp_fw").click();
    harness.run();
    harness.get_by_label(bpfscope::ui::PER_CPU_UNAVAILABLE);
}

#[test]
fn where_bpf_time_goes_shows_each_cpus_total() {
    let (mut harness, _tx) = harness_of((0..5).map(per_cpu_sample));
    harness.get_by_label("Where BPF time goes").click();
    harness.run();
    harness.get_by_label("By CPU (latest period, % of each CPU)");
    // CPU 2 ran 100 of program 10's runs and all 40 of program 20's.
    harness.get_by_label(
        "BPF ran on 4 of 4 CPUs; the busiest, CPU 2, spent 0.0021 % of its time in BPF",
    );
    harness.get_by_label("BPF on CPU 2: 0.0021 % of that CPU, 140.0 runs/s");
    harness.get_by_label("BPF on CPU 0: 0.00050 % of that CPU, 100.0 runs/s");
}

#[test]
fn what_statistics_cost_is_in_the_status_bar_and_the_details() {
    let (mut harness, _tx) = harness(3);
    // The source measured 12 ns a run without statistics and 40 with them.
    harness.get_by_label_contains("stats cost ≈ ");
    harness.get_by_label("xdp_fw").click();
    harness.run();
    harness.get_by_label("Statistics add");
    harness.get_by_label("≈ 0.00056 % of one CPU (28 ns × 200.0 runs/s)");
}

#[test]
fn hostile_per_cpu_figures_draw_without_panic() {
    // 4,096 CPUs, a program on every one, with absurd run times.
    let many = |n: u64| {
        let mut s = per_cpu_sample(n);
        if let Some(p) = &mut s.per_cpu {
            p.nr_cpus = 4_096;
            p.programs[1].cpus = (0..4_096)
                .map(|c| cpu(c, u64::MAX, if c % 2 == 0 { u64::MAX } else { 0 }))
                .collect();
            p.cpus = p.programs[1].cpus.clone();
        }
        s
    };
    let (mut harness, _tx) = harness_of((0..4).map(many));
    harness.get_by_label("trace_exec").click();
    harness.run();
    harness.get_by_label("Per-CPU heat map: 4096 CPUs × 3 samples");
    harness.get_by_label("Where BPF time goes").click();
    harness.run();
    harness.get_by_label("By CPU (latest period, % of each CPU)");
}
