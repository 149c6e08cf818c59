//! Replaying a recording in the window: it opens at its first period, the
//! timeline scrubs and jumps to loads and unloads, plays at a speed, and a
//! damaged or foreign file is said while the window goes on.

// The rates compared are whole runs over whole seconds: exact in floats.
#![allow(clippy::float_cmp)]
use super::fixtures::*;
use bpfscope::model::{ReplayCommand, Speed};
use bpfscope::record::Recorder;
use std::path::{Path, PathBuf};

/// Samples in the recording: ten minutes at 1 s.
const SAMPLES: u64 = 600;
/// Program 40 is loaded before this sample; program 30 gone from the next.
const LOADED_AT: u64 = 300;
const UNLOADED_AT: u64 = 400;

/// Sample `n` of the fixture, with program 40 from [`LOADED_AT`] and
/// without program 30 from [`UNLOADED_AT`].
fn recorded(n: u64) -> Sample {
    let mut s = sample(n);
    if n >= UNLOADED_AT {
        s.programs.retain(|p| p.id != 30);
    }
    if n >= LOADED_AT {
        let load = START_NS + (LOADED_AT - 1) * 1_000_000_000 + 1;
        let runs = (n - LOADED_AT + 1) * 7;
        let mut p = program(40, 2, "late_probe", "newcomer", runs, runs * 90);
        p.load_time_ns = load;
        s.programs.push(p);
    }
    s
}

/// A recording of [`SAMPLES`] samples in blocks of ten.
fn write_recording(dir: &Path) -> PathBuf {
    let path = dir.join("incident.bpfscope");
    let file = std::fs::File::create(&path).unwrap();
    let mut recorder = Recorder::new(std::io::BufWriter::new(file), "db-7".into());
    recorder.record(hello()).unwrap();
    for n in 0..SAMPLES {
        recorder.record(SourceEvent::Sample(recorded(n))).unwrap();
        if n % 10 == 9 {
            recorder.end_block().unwrap();
        }
    }
    recorder.finish().unwrap();
    path
}

fn replay_window(path: &Path) -> Harness<'static, BpfScopeApp> {
    let path = path.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            BpfScopeApp::new(cc, None, move |_, waker| Source::replay(&path, waker))
        })
}

/// Steps the window until `done` holds (10 s at most).
fn until(harness: &mut Harness<'_, BpfScopeApp>, what: &str, done: impl Fn(&BpfScopeApp) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done(harness.state()) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    harness.run();
}

fn position(app: &BpfScopeApp) -> Option<usize> {
    app.timeline().and_then(|t| t.position)
}

fn shown_at(app: &BpfScopeApp, n: usize) -> bool {
    position(app) == Some(n) && app.timeline().is_some_and(|t| t.seeking.is_none())
}

/// Program `id`'s events per second as the table shows them.
fn rate(app: &BpfScopeApp, id: u32) -> Option<f64> {
    let row = app.store().rows().iter().find(|r| r.key.id == id)?;
    row.metrics.as_ref().map(|m| m.events_per_sec)
}

/// Program `id`'s plotted points.
fn history_of(app: &BpfScopeApp, id: u32) -> Vec<bpfscope::store::Point> {
    let key = app
        .store()
        .rows()
        .iter()
        .find(|r| r.key.id == id)
        .unwrap()
        .key;
    app.store().history(key).collect()
}

fn seek(harness: &mut Harness<'_, BpfScopeApp>, n: usize) {
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .run_cmd(&ctx, Command::Replay(ReplayCommand::Seek(n)));
    until(harness, "the seek's moment", |app| shown_at(app, n));
}

#[test]
fn a_recording_opens_at_its_first_period_and_says_whose_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let mut harness = replay_window(&path);
    until(&mut harness, "the first period", |app| shown_at(app, 1));
    assert_eq!(rate(harness.state(), 10), Some(100.0));
    let timeline = harness.state().timeline().unwrap();
    assert_eq!(timeline.samples.len(), SAMPLES as usize);
    assert_eq!(timeline.host, "db-7");
    assert!(!timeline.playing, "a replay opens paused");
    // Two markers: program 40 loaded, program 30 unloaded.
    let markers: Vec<(usize, bool, u32)> = timeline
        .markers
        .iter()
        .map(|m| (m.sample, m.loaded, m.id))
        .collect();
    assert_eq!(
        markers,
        [
            (LOADED_AT as usize, true, 40),
            (UNLOADED_AT as usize, false, 30)
        ]
    );
    harness.get_by_label_contains("Recording of db-7");
    harness.get_by_label("⏵ Play");
    harness.get_by_label("Timeline");
    // No Record or Interval while replaying: the recording has its own.
    assert!(harness.query_by_label("⏺ Record").is_none());
    // The facts recorded with the first sample are there.
    let row30 = harness
        .state()
        .store()
        .rows()
        .iter()
        .find(|r| r.key.id == 30);
    assert_eq!(row30.unwrap().text.name, "tc_nat_egress_handler");
}

#[test]
fn scrubbing_shows_that_times_table_with_the_history_and_facts_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let mut harness = replay_window(&path);
    until(&mut harness, "the first period", |app| shown_at(app, 1));
    // A click in the middle of the timeline: the middle of the recording.
    harness.get_by_label("Timeline").click();
    until(&mut harness, "the clicked moment", |app| {
        position(app).is_some_and(|p| p > 200 && p < 400)
            && app.timeline().is_some_and(|t| t.seeking.is_none())
    });
    let at = position(harness.state()).unwrap();
    assert_eq!(rate(harness.state(), 10), Some(100.0 * at as f64));
    let shown = harness.state().store().latest_taken_at().unwrap();
    assert_eq!(shown, recorded(at as u64).taken_at);

    seek(&mut harness, 450);
    let app = harness.state();
    assert_eq!(rate(app, 10), Some(45_000.0));
    assert_eq!(rate(app, 40), Some(7.0));
    // The history behind the moment is what the plots show: 10 s.
    assert_eq!(history_of(app, 10).len(), 11);
    assert!(app.store().rows().iter().all(|r| r.key.id != 30));

    // A longer plot window rebuilds the moment shown with more history.
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .run_cmd(&ctx, Command::SetPlotWindow(PlotWindow::Minutes5));
    until(&mut harness, "five minutes of history", |app| {
        shown_at(app, 450) && history_of(app, 10).len() > 11
    });
    let app = harness.state();
    let points = history_of(app, 10);
    assert!(points.len() >= 299, "{} points", points.len());
    assert_eq!(points.last().unwrap().events_per_sec, 45_000.0);
    // Program 30 went at 400: within the plot window it is shown gone,
    // with the BTF name its facts gave when it was new (far before).
    let row30 = app.store().rows().iter().find(|r| r.key.id == 30).unwrap();
    assert!(row30.gone);
    assert_eq!(row30.text.name, "tc_nat_egress_handler");

    // Back before the load: program 40 is not there.
    seek(&mut harness, 120);
    assert!(
        harness
            .state()
            .store()
            .rows()
            .iter()
            .all(|r| r.key.id != 40)
    );
    assert_eq!(rate(harness.state(), 10), Some(12_000.0));
}

#[test]
fn markers_jump_and_steps_move_one_sample() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let mut harness = replay_window(&path);
    until(&mut harness, "the first period", |app| shown_at(app, 1));
    harness.get_by_label("⏭").click();
    until(&mut harness, "the load", |app| {
        shown_at(app, LOADED_AT as usize)
    });
    // Loaded during the period before: its runs since the load.
    assert_eq!(rate(harness.state(), 40), Some(7.0));
    harness.get_by_label("⏭").click();
    until(&mut harness, "the unload", |app| {
        shown_at(app, UNLOADED_AT as usize)
    });
    harness.key_press(egui::Key::ArrowRight);
    until(&mut harness, "one step on", |app| {
        shown_at(app, UNLOADED_AT as usize + 1)
    });
    harness.key_press(egui::Key::ArrowLeft);
    harness.key_press(egui::Key::ArrowLeft);
    until(&mut harness, "two steps back", |app| {
        position(app) == Some(UNLOADED_AT as usize - 1)
    });
    harness.get_by_label("⏮").click();
    until(&mut harness, "back to the load", |app| {
        shown_at(app, LOADED_AT as usize)
    });
}

#[test]
fn play_goes_on_at_the_speed_chosen_and_stops_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let mut harness = replay_window(&path);
    until(&mut harness, "the first period", |app| shown_at(app, 1));
    harness.get_by_label("60×").click();
    seek(&mut harness, 560);
    harness.get_by_label("⏵ Play").click();
    harness.run();
    assert_eq!(harness.state().timeline().unwrap().speed, Speed::X60);
    until(&mut harness, "playing to the end", |app| {
        position(app) == Some(SAMPLES as usize - 1) && app.timeline().is_some_and(|t| !t.playing)
    });
    assert_eq!(
        rate(harness.state(), 10),
        Some(100.0 * (SAMPLES - 1) as f64)
    );
    harness.get_by_label("⏵ Play");
}

#[test]
fn a_cut_recording_replays_up_to_its_last_whole_block_and_says_where_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.bpfscope");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut harness = replay_window(&cut);
    until(&mut harness, "the first period", |app| shown_at(app, 1));
    let timeline = harness.state().timeline().unwrap();
    let kept = timeline.samples.len();
    assert!(kept > 300 && kept < 600 && kept % 10 == 0, "{kept} samples");
    let stopped = timeline.stopped.clone().unwrap();
    assert!(stopped.contains("stops at byte"), "{stopped}");
    harness.get_by_label_contains("stops at byte");
    seek(&mut harness, kept - 1);
    assert_eq!(rate(harness.state(), 10), Some(100.0 * (kept - 1) as f64));
}

#[test]
fn a_file_that_is_not_a_recording_is_said_and_the_window_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bpfscope");
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, noise).unwrap();
    let mut replay = replay_window(&junk);
    replay.run();
    replay.get_by_label_contains("this is not a bpfscope recording");
    // The live window opens it from File → Open… and keeps its data.
    let (mut live, _tx) = harness(3);
    live.get_by_label("File").click();
    live.run();
    live.get_by_label("Open recording…").click();
    live.run();
    live.get_by_label("Recording").focus();
    live.get_by_label("Recording")
        .type_text(junk.to_str().unwrap());
    live.run();
    live.get_by_label("Open").click();
    live.run();
    // In the dialog, which stays open to mend the path, and the status bar.
    let said = live
        .query_all_by_label_contains("this is not a bpfscope recording")
        .count();
    assert_eq!(said, 2);
    assert!(!live.state().is_replay());
    assert_eq!(live.state().store().sample_count(), 3);
}

/// A file dropped on the window.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_recording_dropped_on_a_live_window_replays_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path());
    let (mut harness, _tx) = harness(3);
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path)));
    until(&mut harness, "the dropped recording", |app| {
        shown_at(app, 1)
    });
    assert_eq!(harness.state().timeline().unwrap().host, "db-7");
    assert_eq!(harness.state().store().sample_count(), 2);
}

#[test]
fn a_named_pipe_is_refused_at_once_instead_of_holding_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trap.bpfscope");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Nobody writes to it: opening it to read would block for ever.
    let mut harness = replay_window(&fifo);
    harness.run();
    harness.get_by_label_contains("not a regular file");
}
