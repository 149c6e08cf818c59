//! The real `bpfscope` window on a real Wayland compositor: Weston with its
//! headless backend, in a private `XDG_RUNTIME_DIR`, with no X display.
//! Keeps a screenshot at `target/e2e/bpfscope-wayland.png` (taken with
//! `weston-screenshooter`); its title bar shows "bpfscope".
//!
//! Needs root, weston, weston-screenshooter, bpftool and ImageMagick
//! (`scripts/setup` installs them); without them it skips with the reason,
//! and fails under `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType, require_privilege, skip};
use common::{Driver, Guard, have, screenshot_path, terminate};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");
const SOCKET: &str = "wayland-bpfscope-test";

/// The driven program's run time so far, as bpftool reports it (present
/// only while statistics are on).
fn run_time_ns(id: u32) -> Option<u64> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "id", &id.to_string(), "--json"])
        .output()
        .expect("bpftool");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    info.get("run_time_ns")?.as_u64()
}

/// Whether `pid` or a child of it holds a `BPF_ENABLE_STATS` descriptor.
fn holds_stats(pid: u32) -> bool {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>()
            && common::proc_status(child, "PPid:").and_then(|p| p.parse::<u32>().ok()) == Some(pid)
        {
            pids.push(child);
        }
    }
    pids.iter().any(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy() == "anon_inode:bpf-stats")
            })
        })
    })
}

/// A screenshot of the whole compositor output, moved to `to`.
fn screenshot(runtime: &Path, to: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("weston-screenshooter")
        .current_dir(dir.path())
        .env("XDG_RUNTIME_DIR", runtime)
        .env("WAYLAND_DISPLAY", SOCKET)
        .output()
        .expect("weston-screenshooter");
    assert!(
        out.status.success(),
        "weston-screenshooter: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shot: PathBuf = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("weston-screenshooter wrote a PNG");
    std::fs::copy(&shot, to).unwrap();
}

/// Pixels that differ between two pictures of the same size.
fn pixels_changed(a: &Path, b: &Path) -> u64 {
    let out = Command::new("compare")
        .args(["-metric", "AE"])
        .arg(a)
        .arg(b)
        .arg("null:")
        .output()
        .expect("compare");
    // compare prints the metric on stderr and exits 0 when the pictures
    // are alike, 1 when they differ, 2 on an error (another size, say).
    let metric = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "compare failed: {metric}"
    );
    metric
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("compare printed no pixel count: {metric}")) as u64
}

/// Weston on its headless backend in `runtime`, once its socket is there.
fn weston(runtime: &Path) -> Guard {
    let weston = Guard(
        Command::new("weston")
            .args([
                "--backend=headless-backend.so",
                "--use-pixman",
                // Lets weston-screenshooter take pictures.
                "--debug",
                "--width=1400",
                "--height=900",
                "--idle-time=0",
                &format!("--socket={SOCKET}"),
            ])
            .env("XDG_RUNTIME_DIR", runtime)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start weston"),
    );
    let socket = runtime.join(SOCKET);
    let start = Instant::now();
    while !socket.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "weston made no socket"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    weston
}

#[test]
fn the_window_samples_and_stays_alive_on_weston() {
    let test = "the_window_samples_and_stays_alive_on_weston";
    if !require_privilege(test) {
        return;
    }
    let missing: Vec<&str> = ["weston", "weston-screenshooter", "bpftool", "compare"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !(missing.is_empty()
        || skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        ))
    {
        return;
    }
    let prog = Arc::new(TestProgram::load_typed("wl_xdp_probe", TestProgramType::Xdp).unwrap());
    let driver = Driver::start(&prog, 200);

    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let _weston = weston(runtime.path());
    // The desktop shell draws its panel a moment after the socket appears.
    std::thread::sleep(Duration::from_secs(2));
    let before = screenshot_path("weston-desktop.png");
    screenshot(runtime.path(), &before);

    let config = tempfile::tempdir().unwrap();
    let mut app = Guard(
        Command::new(BIN)
            .args(["--interval", "0.5"])
            .env_remove("DISPLAY")
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("WAYLAND_DISPLAY", SOCKET)
            .env("XDG_DATA_HOME", config.path())
            .env("HOME", config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bpfscope"),
    );
    // Sampling: bpfscope (or its helper) holds a statistics descriptor,
    // and the driven program's run time grows.
    let start = Instant::now();
    let first = loop {
        if holds_stats(app.0.id())
            && let Some(ns) = run_time_ns(prog.id())
        {
            break ns;
        }
        if let Some(status) = app.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(app.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("bpfscope exited ({status}) on Wayland: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "statistics never came on"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(4));
    let later = run_time_ns(prog.id()).expect("statistics still on");
    assert!(
        later > first,
        "the program's run time did not grow: {first} → {later}"
    );
    assert!(
        app.0.try_wait().unwrap().is_none(),
        "bpfscope died on Wayland"
    );
    assert!(holds_stats(app.0.id()), "bpfscope let go of the statistics");

    // The window is on the compositor's output: most of the picture changed.
    let shot = screenshot_path("bpfscope-wayland.png");
    screenshot(runtime.path(), &shot);
    let changed = pixels_changed(&before, &shot);
    assert!(
        changed > 1400 * 900 / 3,
        "only {changed} pixels differ from the bare desktop: no window drawn?"
    );

    // And it is live: half a second's samples later its numbers and plots
    // have been redrawn.
    std::thread::sleep(Duration::from_secs(2));
    let again = screenshot_path("bpfscope-wayland-later.png");
    screenshot(runtime.path(), &again);
    let redrawn = pixels_changed(&shot, &again);
    assert!(
        redrawn > 50,
        "the window did not redraw in 2 s ({redrawn} pixels changed)"
    );

    terminate(&mut app);
    drop(driver);
    eprintln!("screenshot: {}", shot.display());
}
