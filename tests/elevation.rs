//! bpfscope as a normal user, for real: the installed package, a system
//! D-Bus, polkitd and pkexec. `scripts/elevation-env` (run as root) installs
//! the package built from this tree and makes three users:
//!
//! - `bpfscope-ci`: a polkit rule allows it the sampling action;
//! - `bpfscope-ci-auth`: a rule makes it authenticate as an administrator;
//! - `bpfscope-ci-denied`: the policy's defaults, which outside an active
//!   session say no.
//!
//! Without that machine the tests skip with the reason (and fail under
//! `CI=true`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfscope::test_support::TestProgram;
use bpfscope::{APP_ID, HELPER_INSTALL_PATH, POLKIT_ACTION};
use common::users::{
    DENIED, INSTALLED_BIN, MUST_AUTHENTICATE, PERMITTED, as_user, ready, run_bounded, uid_of,
    wait_bounded,
};
use common::{
    Driver, Guard, children_named, proc_status, screenshot_path, wait_for_window, x, xvfb,
};

#[test]
fn the_package_installs_the_action_and_desktop_files() {
    let test = "the_package_installs_the_action_and_desktop_files";
    if !ready(test) {
        return;
    }
    let out = Command::new("pkaction")
        .args(["--action-id", POLKIT_ACTION, "--verbose"])
        .output()
        .unwrap();
    let action = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pkaction: {out:?}");
    eprintln!("{action}");
    assert!(
        action.contains(&format!(
            "org.freedesktop.policykit.exec.path -> {HELPER_INSTALL_PATH}"
        )),
        "{action}"
    );
    assert!(
        action.contains("implicit active:   auth_admin_keep"),
        "{action}"
    );
    assert!(action.contains("implicit inactive: no"), "{action}");
    assert!(action.contains("implicit any:      no"), "{action}");

    let desktop = format!("/usr/share/applications/{APP_ID}.desktop");
    let out = Command::new("desktop-file-validate")
        .arg(&desktop)
        .output()
        .unwrap();
    assert!(out.status.success(), "{desktop}: {out:?}");
    let metainfo = format!("/usr/share/metainfo/{APP_ID}.metainfo.xml");
    let out = Command::new("appstreamcli")
        .args(["validate", "--no-net", &metainfo])
        .output()
        .unwrap();
    assert!(out.status.success(), "{metainfo}: {out:?}");
    for icon in [
        format!("/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg"),
        format!("/usr/share/icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg"),
        format!("/usr/share/icons/hicolor/128x128/apps/{APP_ID}.png"),
    ] {
        assert!(Path::new(&icon).is_file(), "{icon} not installed");
    }
    // The helper is not setuid: root comes only from pkexec.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(HELPER_INSTALL_PATH)
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o7777, 0o755, "helper mode {mode:o}");
}

#[test]
fn a_permitted_user_samples_through_pkexec() {
    let test = "a_permitted_user_samples_through_pkexec";
    if !ready(test) {
        return;
    }
    let prog = Arc::new(TestProgram::load("elev_cli").unwrap());
    let _driver = Driver::start(&prog, 100);
    let (out, took) = run_bounded(as_user(
        PERMITTED,
        INSTALLED_BIN,
        &[
            "sample",
            "--count",
            "2",
            "--format",
            "csv",
            "--interval",
            "0.5",
        ],
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("took {took:?}\nstderr: {stderr}");
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    let mut csv = csv::Reader::from_reader(stdout.as_bytes());
    let headers = csv.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let ours: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| r[col("id")] == prog.id().to_string())
        .collect();
    assert_eq!(
        ours.len(),
        2,
        "one row per period for our program:\n{stdout}"
    );
    for row in ours {
        let events: f64 = row[col("events_per_sec")].parse().unwrap();
        assert!(events > 0.0, "the driven program shows events:\n{stdout}");
        assert!(row[col("owners")].contains("elevation"), "owner: {row:?}");
    }
    // The samples came from the helper, which gave root up.
    assert!(
        stderr.contains("the sampler runs as user bpfscope (uid "),
        "{stderr}"
    );
}

#[test]
fn a_user_polkit_refuses_is_told_so_at_once() {
    let test = "a_user_polkit_refuses_is_told_so_at_once";
    if !ready(test) {
        return;
    }
    let (out, took) = run_bounded(as_user(DENIED, INSTALLED_BIN, &["sample", "--count", "1"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Not authorized"), "{stderr}");
    assert!(stderr.contains(POLKIT_ACTION), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(out.stdout.is_empty(), "no CSV header for a failed start");
}

#[test]
fn a_user_who_must_authenticate_without_an_agent_is_told_why() {
    let test = "a_user_who_must_authenticate_without_an_agent_is_told_why";
    if !ready(test) {
        return;
    }
    // No terminal and no desktop agent: nobody can be asked.
    let (out, took) = run_bounded(as_user(
        MUST_AUTHENTICATE,
        INSTALLED_BIN,
        &["sample", "--count", "1"],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("No polkit authentication agent"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_window_of_a_permitted_user_samples_through_the_helper() {
    let test = "the_window_of_a_permitted_user_samples_through_the_helper";
    if !ready(test) || !common::require_tools(test) {
        return;
    }
    let prog = Arc::new(TestProgram::load("elev_window").unwrap());
    let _driver = Driver::start(&prog, 100);
    let (_xvfb, display) = xvfb();
    let home = tempfile::Builder::new()
        .prefix("bpfscope-user-home")
        .tempdir_in("/tmp")
        .unwrap();
    let uid = uid_of(PERMITTED).unwrap();
    std::os::unix::fs::chown(home.path(), Some(uid), Some(uid)).unwrap();
    let mut command = as_user(PERMITTED, INSTALLED_BIN, &["--interval", "0.5"]);
    command
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .stdout(Stdio::null());
    let mut app = Guard(command.spawn().unwrap());
    let gui = app.0.id();
    wait_for_window(&display, &mut app);

    // The helper appears as the window's child and gives root up once it
    // has started; the window itself stays the user's, with nothing.
    let start = Instant::now();
    let helper = loop {
        if let Some(&pid) = children_named(gui, "bpfscope-sample").first()
            && proc_status(pid, "Uid:").is_some_and(|u| !u.starts_with("0\t"))
        {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no unprivileged helper under the window"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let uid_field = |pid| proc_status(pid, "Uid:").unwrap();
    assert!(
        uid_field(gui).starts_with(&format!("{uid}\t")),
        "{}",
        uid_field(gui)
    );
    let helper_uid = uid_of("bpfscope").expect("the package creates the bpfscope user");
    assert_eq!(
        uid_field(helper),
        format!("{helper_uid}\t{helper_uid}\t{helper_uid}\t{helper_uid}")
    );
    let allowed = (1u64 << bpfscope::sys::CAP_BPF) | (1u64 << bpfscope::sys::CAP_PERFMON);
    let caps = u64::from_str_radix(&proc_status(helper, "CapEff:").unwrap(), 16).unwrap();
    assert_eq!(caps & !allowed, 0, "CapEff {caps:016x}");
    assert_eq!(proc_status(helper, "NoNewPrivs:").as_deref(), Some("1"));
    assert_eq!(
        proc_status(gui, "CapEff:").as_deref(),
        Some("0000000000000000")
    );

    std::thread::sleep(Duration::from_secs(3));
    assert!(app.0.try_wait().unwrap().is_none(), "bpfscope died");
    let shot = screenshot_path("bpfscope-user.png");
    let out = x(
        &display,
        "import",
        &["-window", "root", shot.to_str().unwrap()],
    );
    assert!(out.status.success(), "import: {out:?}");
    eprintln!("screenshot: {}", shot.display());

    // Closing the window ends the helper, and with it the statistics.
    let pid = libc::pid_t::try_from(gui).unwrap();
    // SAFETY: signalling the child this test started (root may).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_bounded(&mut app.0, Duration::from_secs(10));
    assert!(status.success(), "exit after SIGTERM: {status}");
    let start = Instant::now();
    while Path::new(&format!("/proc/{helper}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the helper outlived the window"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
