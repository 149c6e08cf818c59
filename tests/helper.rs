//! The window's source over the real `bpfscope-sampler` process (the
//! helper's own tests are in `crates/kernel/tests/helper.rs`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use bpfscope::sampler::read_program;
use bpfscope::test_support::{TestProgram, require_privilege};

/// The helper is built from the kernel crate (`bpfscope-kernel`), beside
/// this package's binaries in the same target directory.
static HELPER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let path =
        std::path::Path::new(env!("CARGO_BIN_EXE_bpfscope")).with_file_name("bpfscope-sampler");
    assert!(
        path.exists(),
        "{} is missing: build the workspace (cargo build, or cargo nextest run at the top)",
        path.display()
    );
    path.to_string_lossy().into_owned()
});

mod common;

use std::sync::Arc;

use bpfscope::model::{Interval, SourceEvent};
use bpfscope::source::{Action, HelperLaunch, SampleOrigin, Source, Status};
use common::children_named;

/// The real helper, started directly (this test is root) as the window's
/// source would start it through pkexec.
fn helper_source(helper: &str) -> Source {
    let launch = HelperLaunch {
        helper: helper.into(),
        via_pkexec: false,
        terminal_agent: false,
        remote: None,
        low_overhead_percent: None,
    };
    let interval = Interval::new(Duration::from_millis(200)).unwrap();
    Source::helper(launch, interval, Arc::new(|| {}), false)
}

/// Receives until `done` says so, failing after `within`.
fn until(
    source: &mut Source,
    within: Duration,
    mut done: impl FnMut(&Source, Option<&SourceEvent>) -> bool,
) {
    let start = Instant::now();
    loop {
        let event = source.recv_timeout(Duration::from_millis(50));
        if done(source, event.as_ref()) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "not reached within {within:?}; status {:?}",
            source.status()
        );
    }
}

fn run_cnt_in(event: Option<&SourceEvent>, id: u32) -> Option<u64> {
    match event {
        Some(SourceEvent::Sample(sample)) => sample.program(id).map(|p| p.run_cnt),
        _ => None,
    }
}

fn our_helper() -> u32 {
    let ours = children_named(std::process::id(), "bpfscope-sample");
    assert_eq!(ours.len(), 1, "one helper child: {ours:?}");
    ours[0]
}

#[test]
fn the_window_source_relays_the_helper_and_reconnects_after_it_dies() {
    if !require_privilege("the_window_source_relays_the_helper_and_reconnects_after_it_dies") {
        return;
    }
    let _sysctl = bpfscope::test_support::sysctl_for_test("0").unwrap();
    let prog = TestProgram::load("helper_source").unwrap();
    let mut source = helper_source(&HELPER);

    // Exact counts through the pipe, the frames and the channel.
    let mut counts = Vec::new();
    until(&mut source, Duration::from_secs(20), |_, event| {
        if let Some(count) = run_cnt_in(event, prog.id()) {
            counts.push(count);
            if counts.len() == 1 {
                prog.run(1000).unwrap();
            }
        }
        counts.len() == 2
    });
    assert_eq!(counts[1] - counts[0], 1000);
    assert_eq!(source.status(), &Status::Sampling(SampleOrigin::Helper));

    // The helper dies mid-run: the status says so and offers Reconnect.
    let helper = our_helper();
    let pid = libc::pid_t::try_from(helper).unwrap();
    // SAFETY: signalling the helper this test started.
    let killed = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(killed, 0);
    until(&mut source, Duration::from_secs(10), |source, _| {
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert_eq!(action, Some(Action::Reconnect), "{message}");
    assert!(message.contains("killed by signal 9"), "{message}");
    assert!(message.contains("history so far is kept"), "{message}");

    // Reconnect: a new helper, samples again.
    source.act(Action::Reconnect);
    let mut hello = false;
    until(&mut source, Duration::from_secs(20), |_, event| {
        hello |= matches!(event, Some(SourceEvent::Hello(_)));
        hello && run_cnt_in(event, prog.id()).is_some()
    });
    assert_eq!(source.status(), &Status::Sampling(SampleOrigin::Helper));

    // Dropping the source (closing the window) ends the helper, and with it
    // the statistics.
    let helper = our_helper();
    drop(source);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{helper}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the helper outlived its source: {:?}",
            std::fs::read_to_string(format!("/proc/{helper}/status"))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = read_program(prog.id()).unwrap().unwrap().run_cnt;
    prog.run(1000).unwrap();
    let after = read_program(prog.id()).unwrap().unwrap().run_cnt;
    assert_eq!(after, before, "statistics were left on");
}

#[test]
fn a_helper_that_writes_garbage_is_stopped_and_reported() {
    if !require_privilege("a_helper_that_writes_garbage_is_stopped_and_reported") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bpfscope-sampler");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'this is not a frame of bpfscope at all'\nexec sleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut source = helper_source(script.to_str().unwrap());
    until(&mut source, Duration::from_secs(10), |source, event| {
        assert!(event.is_none(), "garbage became an event: {event:?}");
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert!(message.contains("cannot read"), "{message}");
    assert_eq!(action, Some(Action::Reconnect));
    // The writer was stopped, not left running.
    assert!(
        children_named(std::process::id(), "sleep").is_empty(),
        "the garbage writer still runs"
    );
}

#[test]
fn a_missing_helper_is_named_in_the_status() {
    let mut source = helper_source("/nonexistent/bpfscope-sampler");
    until(&mut source, Duration::from_secs(10), |source, _| {
        matches!(source.status(), Status::Stopped { .. })
    });
    let Status::Stopped { message, action } = source.status().clone() else {
        unreachable!()
    };
    assert!(
        message.contains("/nonexistent/bpfscope-sampler"),
        "{message}"
    );
    assert!(message.contains("not installed"), "{message}");
    assert_eq!(action, None);
}
