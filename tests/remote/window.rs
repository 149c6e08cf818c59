//! The window watching a host over ssh (egui_kittest on the real app): the
//! driven program's runs arrive, the status bar names the host, and a
//! connection dropped mid-run keeps the history and offers Reconnect.

use std::time::{Duration, Instant};

use bpfscope::app::BpfScopeApp;
use bpfscope::model::{Interval, Status};
use bpfscope::source::{HelperLaunch, Source};
use bpfscope::test_support::TestProgram;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use super::sshd::{self, Sshd, USER};

fn until(
    harness: &mut Harness<'_, BpfScopeApp>,
    what: &str,
    done: impl Fn(&mut BpfScopeApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(harness.state_mut()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting: {what}; {:?}",
            harness.state().source_status()
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // The status may spin (connecting): steps, not a run to rest.
    harness.run_steps(2);
}

fn runs(app: &BpfScopeApp, id: u32) -> Option<u64> {
    app.store()
        .rows()
        .iter()
        .find(|r| r.key.id == id && !r.gone)
        .map(|r| r.run_cnt)
}

#[test]
fn the_window_watches_a_host_over_ssh_and_reconnects_after_a_drop() {
    if !sshd::ready("the_window_watches_a_host_over_ssh_and_reconnects_after_a_drop") {
        return;
    }
    let sshd = Sshd::start();
    let prog = TestProgram::load("bpfscope_rwin").unwrap();
    let id = prog.id();
    let launch = HelperLaunch::remote(sshd.remote(USER));
    let interval = Interval::new(Duration::from_millis(250)).unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            BpfScopeApp::new(cc, Some(interval), move |interval, waker| {
                Source::helper(launch, interval, waker, true)
            })
        });
    until(&mut harness, "the program over ssh", |app| {
        runs(app, id).is_some()
    });
    let before = runs(harness.state(), id).unwrap();
    prog.run(1_000).unwrap();
    until(&mut harness, "its runs", |app| {
        runs(app, id) == Some(before + 1_000)
    });
    harness.get_by_label_contains("127.0.0.1");
    let samples = harness.state().store().sample_count();

    Sshd::drop_sessions(USER);
    until(&mut harness, "the drop said", |app| {
        app.store().sample_count() > 0 && !sampling(app)
    });
    harness.get_by_label_contains("connection to 127.0.0.1 was lost");
    assert!(
        harness.state().store().sample_count() >= samples,
        "history kept"
    );
    assert_eq!(runs(harness.state(), id), Some(before + 1_000));
    harness.get_by_label("Reconnect").click();
    harness.run_steps(2);
    // Runs count only while a sampler holds statistics on: once the new
    // one samples.
    let dropped_at = harness.state().store().sample_count();
    until(&mut harness, "the new sampler", |app| {
        sampling(app) && app.store().sample_count() > dropped_at + 1
    });
    prog.run(500).unwrap();
    until(&mut harness, "sampling again", |app| {
        runs(app, id).is_some_and(|r| r >= before + 1_500) && sampling(app)
    });
}

fn sampling(app: &BpfScopeApp) -> bool {
    matches!(app.source_status(), Status::Sampling(_))
}
