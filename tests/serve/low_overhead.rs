//! Low-overhead mode in the exporter: marked, and its counters still give
//! the true rate over the time statistics were on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, require_privilege};

use crate::{exporter_with, free_port, get};

/// The value of the sample line starting with `prefix` (name and labels).
fn value(body: &str, prefix: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in:\n{body}"))
}

#[test]
fn the_exporter_in_low_overhead_mode_says_so_and_its_counters_give_the_true_rate() {
    if !require_privilege(
        "the_exporter_in_low_overhead_mode_says_so_and_its_counters_give_the_true_rate",
    ) {
        return;
    }
    // Low-overhead mode needs statistics off to start from: an earlier
    // test's process that still holds them would make it say so instead.
    let holders = bpfscope::test_support::wait_for_stats_off(Duration::from_secs(15));
    assert!(holders.is_empty(), "statistics are held on by {holders:?}");
    let prog = Arc::new(TestProgram::load("bpfscope_sduty").unwrap());
    // 10,000 runs a second, 50 every 5 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (Arc::clone(&prog), Arc::clone(&stop));
    let driver = std::thread::Builder::new()
        .name("low-overhead-driver".into())
        .spawn(move || {
            let start = Instant::now();
            let mut tick = 0u32;
            while !s.load(Ordering::Relaxed) {
                p.run(50).unwrap();
                tick += 1;
                let next = start + Duration::from_millis(5) * tick;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
        .unwrap();
    let at = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _serve = exporter_with(Some(at), at, &["--interval", "1", "--stats-duty", "25"]);
    let scrape = || get(at, "/metrics", None).unwrap().1;
    let runs = format!("bpfscope_program_runs_total{{id=\"{}\"", prog.id());
    // Past the first sample, which only starts the counting.
    std::thread::sleep(Duration::from_millis(1_200));
    let first = scrape();
    let on_ratio = value(&first, "bpfscope_stats_duty_ratio");
    assert!(
        (0.24..=0.26).contains(&on_ratio),
        "statistics on {on_ratio} of the interval"
    );
    std::thread::sleep(Duration::from_secs(6));
    let last = scrape();
    stop.store(true, Ordering::Relaxed);
    driver.join().unwrap();
    let on = value(&last, "bpfscope_stats_enabled_seconds_total")
        - value(&first, "bpfscope_stats_enabled_seconds_total");
    assert!(
        (5.0 * 0.25..=7.0 * 0.25).contains(&on),
        "statistics on {on} s in 6 s"
    );
    let counted = value(&last, &runs) - value(&first, &runs);
    let rate = counted / on;
    assert!(
        (rate - 10_000.0).abs() <= 1_000.0,
        "runs over the time statistics were on: {rate}/s, not the 10,000/s driven"
    );
}
