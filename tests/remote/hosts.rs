//! File → Connect to host…: a host in this window (and remembered), and two
//! hosts in windows of their own beside it — real bpfscope windows on Xvfb,
//! each watching its host over ssh.

use std::process::Command;
use std::time::{Duration, Instant};

use bpfscope::app::BpfScopeApp;
use bpfscope::model::Status;
use bpfscope::source::Source;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

#[path = "../common/mod.rs"]
mod common;

use super::BIN;
use super::sshd::{self, Sshd, USER};

/// A window watching nothing yet (a source that never samples), whose
/// connections use `options`.
fn window(options: Vec<String>) -> Harness<'static, BpfScopeApp> {
    let (_tx, rx) = crossbeam_channel::bounded(1);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| BpfScopeApp::new(cc, None, move |_, _| Source::from_channel(rx)));
    harness
        .state_mut()
        .set_host_windows(Some(BIN.into()), options);
    harness.run_steps(4);
    harness
}

fn connect(harness: &mut Harness<'_, BpfScopeApp>, host: &str, button: &str) {
    harness.get_by_label("File").click();
    harness.run_steps(4);
    harness.get_by_label("Connect to host…").click();
    harness.run_steps(4);
    let field = harness.get_by_label("Host");
    field.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(4);
    harness.get_by_label("Host").type_text(host);
    harness.run_steps(4);
    harness.get_by_label(button).click();
    harness.run_steps(3);
}

#[test]
fn connect_to_host_watches_it_here_and_remembers_it() {
    if !sshd::ready("connect_to_host_watches_it_here_and_remembers_it") {
        return;
    }
    let sshd = Sshd::start();
    let mut harness = window(sshd.options());
    // Not a host name: said in the dialog, nothing started.
    connect(&mut harness, "-oProxyCommand=x", "Connect");
    harness.get_by_label_contains("is not a host name");
    harness.get_by_label("Cancel").click();
    harness.run_steps(4);

    connect(&mut harness, &format!("{USER}@127.0.0.1"), "Connect");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(harness.state().source_status(), Status::Sampling(_))
        || harness.state().store().sample_count() < 2
    {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            harness.state().source_status()
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.run_steps(4);
    assert_eq!(harness.state().remote_host(), Some("127.0.0.1"));
    harness.get_by_label_contains("🖧 127.0.0.1");
    assert_eq!(
        harness.state().settings().hosts,
        [format!("{USER}@127.0.0.1")]
    );
    // The dialog offers it again, first.
    harness.get_by_label("File").click();
    harness.run_steps(4);
    harness.get_by_label("Connect to host…").click();
    harness.run_steps(4);
    harness.get_by_label("Recent").click();
    harness.run_steps(4);
    harness.get_by_label(&format!("{USER}@127.0.0.1"));
}

#[test]
fn two_hosts_open_side_by_side_in_windows_of_their_own() {
    let test = "two_hosts_open_side_by_side_in_windows_of_their_own";
    if !sshd::ready(test) || !common::require_tools(test) {
        return;
    }
    let sshd = Sshd::start();
    let (_xvfb, display) = common::xvfb();
    // SAFETY: set before the harness starts any thread; nextest runs each
    // test in a process of its own. The new windows inherit it.
    unsafe { std::env::set_var("DISPLAY", &display) };
    let home = tempfile::tempdir().unwrap();
    // SAFETY: as above; the new windows keep their settings there.
    unsafe { std::env::set_var("HOME", home.path()) };
    // Two names for the one sshd: two "hosts".
    let mut options = sshd.options();
    options.push("Hostname=127.0.0.1".to_owned());
    let mut harness = window(options);
    for name in ["alpha", "beta"] {
        connect(
            &mut harness,
            &format!("{USER}@{name}"),
            "Open in a new window",
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let tree = loop {
        let out = common::x(&display, "xwininfo", &["-root", "-tree"]);
        let tree = String::from_utf8_lossy(&out.stdout).into_owned();
        if tree.contains("\"alpha — bpfscope\"") && tree.contains("\"beta — bpfscope\"") {
            break tree;
        }
        assert!(
            Instant::now() < deadline,
            "two windows, one a host:\n{tree}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(tree.contains("io.github.bpfscope.BpfScope"), "{tree}");
    assert_eq!(
        harness.state().settings().hosts,
        [format!("{USER}@beta"), format!("{USER}@alpha")]
    );
    // Side by side, and a picture of them once both have sampled.
    for (name, x) in [("alpha", "0"), ("beta", "700")] {
        let found = common::x(
            &display,
            "xdotool",
            &["search", "--name", &format!("^{name} ")],
        );
        let id = String::from_utf8_lossy(&found.stdout)
            .lines()
            .next()
            .unwrap()
            .to_owned();
        common::x(&display, "xdotool", &["windowsize", &id, "700", "900"]);
        common::x(&display, "xdotool", &["windowmove", &id, x, "0"]);
    }
    std::thread::sleep(Duration::from_secs(4));
    let shot = common::screenshot_path("bpfscope-two-hosts.png");
    let out = common::x(
        &display,
        "import",
        &["-window", "root", shot.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["alpha", "beta"] {
        let _ = Command::new("pkill")
            .args(["-f", &format!("--host {USER}@{name}")])
            .status();
    }
}
