//! What the window tests share: a virtual display, X tools, the window.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)] // test helpers

pub mod users;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bpfscope::test_support::{TestProgram, skip};

/// Kills the child on drop, so a failed assertion leaves nothing running.
pub struct Guard(pub Child);

impl Drop for Guard {
    /// SIGTERM first, so that an X server removes its lock and socket; then
    /// SIGKILL if it is still there after two seconds.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: plain signal to our own child, which has not been
            // waited for yet, so its pid cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(2) {
                if self.0.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn require_tools(test: &str) -> bool {
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

/// Starts Xvfb on a free display; returns it and its `DISPLAY` once a client
/// can connect (a socket file alone may be left over from a killed server).
pub fn xvfb() -> (Guard, String) {
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
                // A private display: let the elevation tests' users draw.
                "-ac",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut guard = Guard(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if guard.0.try_wait().ok().flatten().is_some() {
                break; // this display is taken after all: try the next
            }
            let answered = Command::new("xwininfo")
                .args(["-display", display.as_str(), "-root"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            // Answered by this Xvfb, not by another that took the display
            // first (this one then exits, and its window would have none).
            if answered {
                std::thread::sleep(Duration::from_millis(100));
                if guard.0.try_wait().ok().flatten().is_none() {
                    return (guard, display);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start Xvfb on any display from :150 to :249");
}

pub fn x(display: &str, program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap_or_else(|err| panic!("{program}: {err}"))
}

/// `target/e2e/<name>`, for screenshots kept after the run.
pub fn screenshot_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    dir.join(name)
}

/// Waits up to 30 s for a top-level window titled `bpfscope`; returns the
/// window tree.
pub fn wait_for_window(display: &str, app: &mut Guard) -> String {
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
pub fn terminate(app: &mut Guard) {
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

/// `/proc/<pid>/status` field `name`, e.g. `Uid:` → its first number.
pub fn proc_status(pid: u32, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .map(|value| value.trim().to_owned())
}

/// Processes whose parent is `parent` and whose name is `comm`.
pub fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let parent_pid = proc_status(pid, "PPid:").and_then(|p| p.parse::<u32>().ok());
        if parent_pid == Some(parent) && proc_status(pid, "Name:").as_deref() == Some(comm) {
            found.push(pid);
        }
    }
    found
}

/// Runs `prog` steadily until dropped.
pub struct Driver {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Driver {
    pub fn start(prog: &Arc<TestProgram>, runs: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (prog, stop) = (Arc::clone(prog), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("test-driver".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        prog.run(runs).unwrap();
                        std::thread::sleep(Duration::from_millis(5));
                    }
                })
                .unwrap()
        };
        Self {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
