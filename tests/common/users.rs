//! Running bpfscope as the elevation tests' users: the installed package,
//! a system D-Bus, polkitd and pkexec, which `scripts/elevation-env` (run as
//! root) provides.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)] // test helpers

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use bpfscope::HELPER_INSTALL_PATH;
use bpfscope::test_support::{require_privilege, skip};

pub const INSTALLED_BIN: &str = "/usr/bin/bpfscope";
pub const PERMITTED: &str = "bpfscope-ci";
pub const MUST_AUTHENTICATE: &str = "bpfscope-ci-auth";
pub const DENIED: &str = "bpfscope-ci-denied";
/// Longer than any answer takes; reaching it means bpfscope hung.
pub const HANG: Duration = Duration::from_secs(60);

/// Whether the machine is ready; otherwise skips with what is missing.
pub fn ready(test: &str) -> bool {
    if !require_privilege(test) {
        return false;
    }
    let mut missing = Vec::new();
    for path in [INSTALLED_BIN, HELPER_INSTALL_PATH] {
        if !Path::new(path).is_file() {
            missing.push(format!("{path} (the package is not installed)"));
        }
    }
    for user in [PERMITTED, MUST_AUTHENTICATE, DENIED] {
        if uid_of(user).is_none() {
            missing.push(format!("user {user}"));
        }
    }
    let polkitd = Command::new("pgrep").args(["-x", "polkitd"]).output();
    if !polkitd.is_ok_and(|out| out.status.success()) {
        missing.push("a running polkitd".to_owned());
    }
    missing.is_empty()
        || skip(
            test,
            &format!(
                "missing {}; run scripts/elevation-env as root first",
                missing.join(", ")
            ),
        )
}

pub fn uid_of(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", user]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// `program args` as `user` (real and effective ids, the user's groups, no
/// capabilities), started directly like a desktop would: no session, no
/// terminal.
pub fn as_user(user: &str, program: &str, args: &[&str]) -> Command {
    let uid = uid_of(user).unwrap();
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .args(["--init-groups", "--inh-caps=-all", "--"])
        .arg(program)
        .args(args)
        .env("HOME", format!("/home/{user}"))
        .env("USER", user)
        .env("LOGNAME", user)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command` to the end, failing the test if it hangs.
pub fn run_bounded(mut command: Command) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = command.spawn().expect("setpriv (util-linux) runs");
    let status = wait_bounded(&mut child, HANG);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    (
        Output {
            status,
            stdout,
            stderr,
        },
        start.elapsed(),
    )
}

pub fn wait_bounded(child: &mut Child, within: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            panic!("still running after {within:?}: bpfscope hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
