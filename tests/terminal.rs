//! `bpfscope sample` on a real terminal (a pty from `script`): a process
//! that names itself with escape sequences and holds a BPF program shows up
//! as an owner, escaped, and nothing it chose reaches the terminal raw.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfscope::test_support::{TestProgram, require_privilege};

const BIN: &str = env!("CARGO_BIN_EXE_bpfscope");
/// A window-title escape, a bell and a right-to-left override: 14 bytes,
/// inside the 15 a process name keeps.
const HOSTILE: &str = "\x1b]0;pwned\x07\u{202E}x";

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn owner_names_reach_a_terminal_escaped() {
    if !require_privilege("owner_names_reach_a_terminal_escaped") {
        return;
    }
    let prog = TestProgram::load("bpfscope_term").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join(HOSTILE);
    std::os::unix::fs::symlink("/bin/sleep", &exe).unwrap();
    let fd = prog.raw_fd();
    let mut holder = Command::new(&exe);
    holder.arg("30");
    // SAFETY: between fork and exec only fcntl, which is async-signal-safe,
    // runs: the program's descriptor stays open in `sleep`.
    unsafe {
        holder.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let holder = Killed(holder.spawn().unwrap());
    let comm_path = format!("/proc/{}/comm", holder.0.id());
    let start = Instant::now();
    while std::fs::read_to_string(&comm_path).unwrap_or_default() != format!("{HOSTILE}\n") {
        assert!(start.elapsed() < Duration::from_secs(5), "holder never ran");
        std::thread::sleep(Duration::from_millis(20));
    }

    let command = format!("{BIN} sample --count 2 --interval 0.5 --format csv");
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    assert!(on_terminal.status.success(), "{on_terminal:?}");
    let text = String::from_utf8(on_terminal.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| {
            l.starts_with(&format!("{},", prog.id())) || l.contains(&format!(",{},", prog.id()))
        })
        .unwrap_or_else(|| panic!("no row for program {}:\n{text}", prog.id()));
    assert!(
        row.contains("\\u{1b}]0;pwned\\u{7}\\u{202e}x"),
        "the owner is shown, escaped: {row}"
    );
    assert!(
        !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202E}'),
        "nothing raw reaches the terminal"
    );

    // Into a pipe the data stays exact, for programs that read it.
    let piped = Command::new(BIN)
        .args([
            "sample",
            "--count",
            "2",
            "--interval",
            "0.5",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(piped.stdout).unwrap().contains(HOSTILE));
}
