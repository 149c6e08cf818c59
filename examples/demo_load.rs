//! Loads a few named BPF programs and runs them at steady rates until killed,
//! so bpfscope has something to show (screenshots, demos, benchmarks).
//! `--extra N` loads N more programs, each run once a second.
//! Needs root: `sudo cargo run --example demo_load -- [--extra N]`.

#![allow(clippy::expect_used)] // a demo without its programs has nothing to do

use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType};

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

fn main() {
    let mut args = std::env::args().skip(1);
    let mut extra = 0usize;
    while let Some(arg) = args.next() {
        if let ("--extra", Some(Ok(n))) = (arg.as_str(), args.next().map(|n| n.parse())) {
            extra = n;
        } else {
            eprintln!("usage: demo_load [--extra N]");
            std::process::exit(2);
        }
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
    let start = Instant::now();
    let mut tick = 0u32;
    loop {
        // Vary the load slowly so plots have a shape.
        let phase = f64::from(tick) / 300.0;
        for (i, (program, rate)) in programs.iter().enumerate() {
            let wobble = 1.0 + 0.5 * (phase + i as f64).sin();
            let runs = (f64::from(*rate) / 100.0 * wobble).round() as u32;
            program.run(runs.max(1)).expect("test run");
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
