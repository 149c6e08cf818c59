//! What `bpfscope sample` says of which CPU pays and of low-overhead mode.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bpfscope::test_support::{TestProgram, require_privilege};

use crate::{BIN, PER_CPU_RUNS, RATE, csv_rows, drive};

#[test]
fn sample_json_gives_the_runs_of_each_cpu_for_a_busy_program() {
    if !require_privilege("sample_json_gives_the_runs_of_each_cpu_for_a_busy_program") {
        return;
    }
    let prog = TestProgram::load("bpfscope_percpu").expect("load");
    let mut child = Command::new(BIN)
        .args([
            "sample",
            "--count",
            "4",
            "--format",
            "json",
            "--interval",
            "0.3",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    // The first period is out: runs from now on fall in the next ones.
    let first = lines.next().expect("a first line").expect("line");
    prog.run_on_cpu(1, PER_CPU_RUNS).expect("pinned run");
    let ours: Vec<serde_json::Value> = std::iter::once(Ok(first))
        .chain(lines)
        .map(|l| serde_json::from_str(&l.expect("line")).expect("JSON line"))
        .filter(|v: &serde_json::Value| v["id"] == prog.id())
        .collect();
    assert!(child.wait().expect("wait").success());
    let runs = |v: &serde_json::Value| v["run_cnt"].as_u64().expect("run_cnt");
    let mut given = 0;
    for pair in ours.windows(2) {
        let Some(per_cpu) = pair[1].get("per_cpu") else {
            continue;
        };
        let per_cpu = per_cpu.as_array().expect("an array");
        // Only CPU 1 ran it, and its runs there are the period's runs.
        assert_eq!(per_cpu.len(), 1, "{per_cpu:?}");
        assert_eq!(per_cpu[0]["cpu"], 1);
        assert_eq!(
            per_cpu[0]["run_cnt"].as_u64(),
            Some(runs(&pair[1]) - runs(&pair[0]))
        );
        assert!(per_cpu[0]["run_time_ns"].as_u64().is_some_and(|ns| ns > 0));
        given += per_cpu[0]["run_cnt"].as_u64().unwrap_or(0);
    }
    assert!(given > 0, "no period gave the program per CPU: {ours:?}");
    assert_eq!(
        runs(ours.last().expect("lines")) - runs(&ours[0]),
        u64::from(PER_CPU_RUNS)
    );
}

#[test]
fn low_overhead_mode_counts_the_driven_rate_over_the_time_statistics_were_on() {
    if !require_privilege(
        "low_overhead_mode_counts_the_driven_rate_over_the_time_statistics_were_on",
    ) {
        return;
    }
    // Low-overhead mode needs statistics off to start from.
    let holders = bpfscope::test_support::wait_for_stats_off(Duration::from_secs(15));
    assert!(holders.is_empty(), "statistics are held on by {holders:?}");
    let prog = Arc::new(TestProgram::load("bpfscope_duty").expect("load"));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let driver = drive(
        Arc::clone(&prog),
        RATE,
        Arc::clone(&stop),
        Arc::clone(&total),
    );
    std::thread::sleep(Duration::from_millis(200));
    // Statistics on 25 % of each second.
    let out = Command::new(BIN)
        .args([
            "sample",
            "--count",
            "3",
            "--format",
            "csv",
            "--interval",
            "1",
        ])
        .args(["--stats-duty", "25"])
        .output()
        .expect("run bpfscope");
    stop.store(true, Ordering::Relaxed);
    driver.join().expect("driver");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.starts_with(
            "timestamp,id,type,name,avg_runtime_ns,total_avg_runtime_ns,events_per_sec,\
             cpu_percent,run_cnt,run_time_ns,recursion_misses,owners,attach,stats_on_s\n"
        ),
        "the header says the records are sampled:\n{text}"
    );
    let id = prog.id().to_string();
    let rows = csv_rows(&text);
    let ours: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[1] == id.as_str()).collect();
    assert_eq!(ours.len(), 3, "one row per printed period:\n{text}");
    let mut prev_runs: Option<u64> = None;
    for (i, row) in ours.iter().enumerate() {
        let on: f64 = row[13].parse().expect("stats_on_s");
        // The first window may have begun before sampling did: only the
        // part after the first sample counts.
        if i == 0 {
            assert!(
                on > 0.0 && on <= 0.27,
                "statistics on {on} s of the first period"
            );
        } else {
            assert!(
                (on - 0.25).abs() <= 0.02,
                "statistics on {on} s of the period, not 0.25 s"
            );
        }
        let rate: f64 = row[6].parse().expect("events_per_sec");
        assert!(
            (rate - RATE as f64).abs() <= RATE as f64 * 0.10,
            "events_per_sec {rate} is not within 10 % of the {RATE}/s driven"
        );
        // The kernel's own count: runs counted in a period are the driven
        // rate times the time statistics were on, not times the period.
        let runs: u64 = row[8].parse().expect("run_cnt");
        if let Some(prev) = prev_runs {
            let counted_for = (runs - prev) as f64 / RATE as f64;
            assert!(
                (counted_for - 0.25).abs() <= 0.025,
                "the kernel counted runs for {counted_for:.3} s of a second, not 0.25 s"
            );
        }
        prev_runs = Some(runs);
    }
}
