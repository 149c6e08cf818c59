//! `bpfscope record` and `bpfscope sample --from` as real processes, with
//! a real test program driven a known number of times.
//!
//! Needs root; without it the tests skip with the reason, and fail under
//! `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bpfscope::test_support::{TestProgram, require_privilege};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

/// The driven program's cumulative runs at each printed period of a JSON
/// `bpfscope sample` output, with the period's timestamp.
fn runs_of(json: &str, id: u32) -> Vec<(String, u64)> {
    json.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["id"] == id)
        .map(|v| {
            (
                v["timestamp"].as_str().unwrap().to_owned(),
                v["run_cnt"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn from(file: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["sample", "--format", "json", "--from"])
        .arg(file)
        .output()
        .unwrap()
}

fn record(file: &std::path::Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(["record", "-o"])
        .arg(file)
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_recording_holds_what_a_live_sample_beside_it_saw() {
    if !require_privilege("a_recording_holds_what_a_live_sample_beside_it_saw") {
        return;
    }
    let prog = TestProgram::load("bpfscope_record").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.bpfscope");
    let recording = record(&file, &["--interval", "0.25", "--duration", "9s"]);
    let mut live = Command::new(BIN)
        .args(["sample", "--format", "json", "--interval", "0.25"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = live.stdout.take().unwrap();
    let lines = std::thread::Builder::new()
        .name("live-sample".into())
        .spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
                .join("\n")
        })
        .unwrap();
    // Both have sampled before the first run, and after the last.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..10 {
        prog.run(1_000).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a plain signal to our own child, not yet waited for.
    unsafe { libc::kill(i32::try_from(live.id()).unwrap(), libc::SIGINT) };
    assert!(live.wait().unwrap().success());
    let live = runs_of(&lines.join().unwrap(), prog.id());
    let out = recording.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "record: {said}");
    assert!(
        said.contains("recorded ") && said.contains("samples in"),
        "{said}"
    );

    let replay = from(&file);
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replayed = runs_of(&String::from_utf8(replay.stdout).unwrap(), prog.id());
    // The same 10,000 runs, counted from before the first to after the last.
    let delta = |rows: &[(String, u64)]| rows.last().unwrap().1 - rows.first().unwrap().1;
    assert_eq!(delta(&live), 10_000, "live: {live:?}");
    assert_eq!(delta(&replayed), 10_000, "replayed: {replayed:?}");
    // At the recorded times, a period every 0.25 s for 9 s.
    assert!(
        (30..=37).contains(&replayed.len()),
        "{} periods",
        replayed.len()
    );
    let first = humantime::parse_rfc3339(&replayed[0].0).unwrap();
    let last = humantime::parse_rfc3339(&replayed.last().unwrap().0).unwrap();
    let span = last.duration_since(first).unwrap();
    assert!(
        span > Duration::from_secs(7) && span < Duration::from_secs(10),
        "{span:?}"
    );
    assert!(
        std::time::SystemTime::now().duration_since(last).unwrap() >= Duration::ZERO,
        "recorded times, not the conversion's"
    );
    window_replays_as_converted(
        &file,
        prog.id(),
        &String::from_utf8(from(&file).stdout).unwrap(),
    );
}

/// The window replays `file` sample by sample (→): at every recorded time
/// the driven program's runs and events/s are those `sample --from` prints
/// for it, and the runs it shows grow by the 10,000 driven.
fn window_replays_as_converted(file: &std::path::Path, id: u32, json: &str) {
    use bpfscope::app::BpfScopeApp;
    use bpfscope::source::Source;
    use eframe::egui;
    use egui_kittest::Harness;

    let printed: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["id"] == id)
        .collect();
    let path = file.to_owned();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| BpfScopeApp::new(cc, None, move |_, w| Source::replay(&path, w)));
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "seen {seen:?}");
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
        let app = harness.state();
        let Some(timeline) = app.timeline() else {
            continue;
        };
        let (Some(at), None) = (timeline.position, timeline.seeking) else {
            continue;
        };
        if seen.last().is_some_and(|(n, _, _)| *n == at) {
            continue;
        }
        let taken = bpfscope::model::rfc3339(app.store().latest_taken_at().unwrap());
        let row = app.store().rows().iter().find(|r| r.key.id == id);
        let rate = row
            .and_then(|r| r.metrics.as_ref())
            .map(|m| m.events_per_sec);
        seen.push((at, row.map(|r| r.run_cnt), rate));
        let line = printed
            .iter()
            .find(|v| v["timestamp"] == taken.as_str())
            .unwrap_or_else(|| panic!("no printed period at {taken}"));
        assert_eq!(
            row.map(|r| r.run_cnt),
            line["run_cnt"].as_u64(),
            "at {taken}"
        );
        let printed_rate = line["events_per_sec"].as_f64().unwrap();
        assert!(
            (rate.unwrap() - printed_rate).abs() < 0.001,
            "at {taken}: {rate:?} shown, {printed_rate} printed"
        );
        if at + 1 == timeline.samples.len() {
            break;
        }
        harness.key_press(egui::Key::ArrowRight);
    }
    let runs: Vec<u64> = seen.iter().filter_map(|(_, runs, _)| *runs).collect();
    assert_eq!(
        runs.last().unwrap() - runs.first().unwrap(),
        10_000,
        "{seen:?}"
    );
    assert_eq!(seen.len(), printed.len(), "every printed period shown once");
}

#[test]
fn a_killed_recorder_leaves_a_file_that_loads_and_says_where_it_stops() {
    if !require_privilege("a_killed_recorder_leaves_a_file_that_loads_and_says_where_it_stops") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("killed.bpfscope");
    let mut recorder = record(&file, &["--interval", "0.2"]);
    // Two blocks written (a block every 5 s), then SIGKILL: no end mark.
    std::thread::sleep(Duration::from_secs(11));
    let written = std::fs::metadata(&file).map_or(0, |m| m.len());
    assert!(written > 200, "{written} bytes after 11 s");
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    let out = from(&file);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("without its end mark") && said.contains("shown up to"),
        "{said}"
    );
    let printed = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(printed > 0, "the whole blocks are printed");

    // Cut in the middle of a block: the blocks before it, and where.
    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.path().join("cut.bpfscope");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = from(&cut);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("the recording stops at byte"), "{said}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() <= printed);

    // Random bytes: refused, nothing printed.
    let random = dir.path().join("random.bpfscope");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).unwrap();
    let out = from(&random);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a bpfscope recording"));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_recording_that_cannot_be_written_is_said_at_once() {
    let out = Command::new(BIN)
        .args([
            "record",
            "-o",
            "/nonexistent/dir/x.bpfscope",
            "--count",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("cannot write /nonexistent/dir/x.bpfscope"),
        "{said}"
    );
}
