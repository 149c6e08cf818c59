//! The real `bpfscope` window under Xvfb, sampling the real kernel with a
//! driven test program. Keeps a screenshot at `target/e2e/bpfscope.png`.
//!
//! Needs root, Xvfb, xwininfo, xdotool and ImageMagick (`scripts/setup`
//! installs them); without them it skips with the reason, and fails under
//! `CI=true`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, TestProgramType, require_privilege, skip};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");

/// Kills the child on drop, so a failed assertion leaves nothing running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn require_tools(test: &str) -> bool {
    let missing: Vec<&str> = ["Xvfb", "xwininfo", "xdotool", "import"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    missing.is_empty()
        || skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        )
}

/// Starts Xvfb on a free display; returns it and its `DISPLAY`.
fn xvfb() -> (Guard, String) {
    for n in 150..250 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1400x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let guard = Guard(child);
        let socket = format!("/tmp/.X11-unix/X{n}");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if Path::new(&socket).exists() {
                return (guard, display);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start Xvfb on any display from :150 to :249");
}

fn x(display: &str, program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap_or_else(|err| panic!("{program}: {err}"))
}

fn screenshot_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    dir.join("bpfscope.png")
}

/// Waits up to 30 s for a top-level window titled `bpfscope`; returns the
/// window tree.
fn wait_for_window(display: &str, app: &mut Guard) -> String {
    let start = Instant::now();
    loop {
        let out = x(display, "xwininfo", &["-root", "-tree"]);
        let tree = String::from_utf8_lossy(&out.stdout).into_owned();
        if tree.contains("\"bpfscope\"") {
            return tree;
        }
        if let Some(status) = app.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(app.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("bpfscope exited ({status}) before showing a window: {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no window after 30 s:\n{tree}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends SIGTERM and expects a clean exit within 10 s.
fn terminate(app: &mut Guard) {
    let pid = libc::pid_t::try_from(app.0.id()).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = app.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[test]
fn the_window_shows_live_programs_under_xvfb() {
    let test = "the_window_shows_live_programs_under_xvfb";
    if !require_privilege(test) || !require_tools(test) {
        return;
    }
    // A program run steadily, so it tops the CPU column.
    let prog = Arc::new(TestProgram::load_typed("e2e_xdp_probe", TestProgramType::Xdp).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let driver = {
        let (prog, stop) = (Arc::clone(&prog), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("e2e-driver".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    prog.run(200).unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .unwrap()
    };

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
        &["mousemove", "--window", &window, "230", "68", "click", "1"],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        app.0.try_wait().unwrap().is_none(),
        "bpfscope died while running"
    );

    let shot = screenshot_path();
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

    stop.store(true, Ordering::Relaxed);
    driver.join().unwrap();
    eprintln!("screenshot: {}", shot.display());
}
