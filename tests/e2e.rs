//! The real `bpfscope` window under Xvfb, sampling the real kernel with a
//! driven test program. Keeps a screenshot at `target/e2e/bpfscope.png`.
//!
//! Needs root, Xvfb, xwininfo, xdotool and ImageMagick (`scripts/setup`
//! installs them); without them it skips with the reason, and fails under
//! `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bpfscope::test_support::{TestProgram, TestProgramType, require_privilege};
use common::{Driver, Guard, require_tools, screenshot_path, terminate, wait_for_window, x, xvfb};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

#[test]
fn the_window_shows_live_programs_under_xvfb() {
    let test = "the_window_shows_live_programs_under_xvfb";
    if !require_privilege(test) || !require_tools(test) {
        return;
    }
    // A program run steadily, so it tops the CPU column.
    let prog = Arc::new(TestProgram::load_typed("e2e_xdp_probe", TestProgramType::Xdp).unwrap());
    let driver = Driver::start(&prog, 200);

    let (_xvfb, display) = xvfb();
    let config = tempfile::tempdir().unwrap();
    let mut app = Guard(
        Command::new(BIN)
            .args(["--interval", "0.5"])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            // A fresh settings directory, so the run is the same every time.
            .env("XDG_DATA_HOME", config.path())
            .env("HOME", config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bpfscope"),
    );

    // The window appears, titled bpfscope, with the desktop file's app id.
    let tree = wait_for_window(&display, &mut app);
    assert!(
        tree.contains("io.github.bpfscope.BpfScope"),
        "app id missing:\n{tree}"
    );

    // A few samples in, click the top row (the busiest program) to plot it.
    std::thread::sleep(Duration::from_secs(3));
    let search = x(&display, "xdotool", &["search", "--name", "^bpfscope$"]);
    let window = String::from_utf8_lossy(&search.stdout)
        .lines()
        .next()
        .expect("xdotool finds the window")
        .to_owned();
    x(
        &display,
        "xdotool",
        &["mousemove", "--window", &window, "230", "92", "click", "1"],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        app.0.try_wait().unwrap().is_none(),
        "bpfscope died while running"
    );

    let shot = screenshot_path("bpfscope.png");
    let out = x(
        &display,
        "import",
        &["-window", "root", shot.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a blank frame: the picture has many distinct colours.
    let colours = x(
        &display,
        "identify",
        &["-format", "%k", shot.to_str().unwrap()],
    );
    let colours: u32 = String::from_utf8_lossy(&colours.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(colours > 50, "screenshot looks blank ({colours} colours)");

    // SIGTERM closes the window cleanly.
    terminate(&mut app);

    drop(driver);
    eprintln!("screenshot: {}", shot.display());
}
