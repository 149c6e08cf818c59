//! The helper's pipes: a stdout reader that can be stopped, the tail of its
//! stderr for messages, and a bounded wait for a thread.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdout, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::helper::{STDERR_LINES, STOP_POLL};

/// How long a stopping helper gets to exit before it is left to its parent
/// check (a root helper cannot be signalled by this user).
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// A pipe that gives up with an error when `stop` is set, looking every
/// [`STOP_POLL`] while it waits for data. (Not `Interrupted`: `read_exact`
/// retries that.)
pub(super) struct StoppableReader<'a> {
    pub(super) inner: ChildStdout,
    pub(super) stop: &'a AtomicBool,
    /// A read waiting past this gives `TimedOut` (a remote host that has
    /// not said Hello yet); cleared once it has.
    pub(super) answer_by: Option<Instant>,
}

impl Read for StoppableReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the source was stopped",
                ));
            }
            let mut pfd = libc::pollfd {
                fd: self.inner.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the pipe this struct owns.
            let ready = unsafe { libc::poll(&raw mut pfd, 1, STOP_POLL.as_millis() as i32) };
            if ready < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            if ready > 0 {
                return self.inner.read(buf);
            }
            if self.answer_by.is_some_and(|by| Instant::now() >= by) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
            }
        }
    }
}

/// The last lines the helper (or pkexec) wrote to standard error, read on a
/// named thread so a chatty helper never blocks on a full pipe.
pub(super) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl StderrTail {
    pub(super) fn collect(child: &mut Child) -> Self {
        let lines = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_LINES)));
        let handle = child.stderr.take().and_then(|stderr| {
            let lines = Arc::clone(&lines);
            std::thread::Builder::new()
                .name("bpfscope-helper-stderr".to_owned())
                .spawn(move || {
                    // Bounded lines: a helper cannot make us hold more than
                    // a few kilobytes.
                    let mut reader = BufReader::new(stderr.take(1 << 20));
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let text: String = line.trim().chars().take(500).collect();
                        if text.is_empty() {
                            continue;
                        }
                        tracing::warn!("sampler: {text}");
                        let mut kept = lines.lock().unwrap_or_else(PoisonError::into_inner);
                        if kept.len() == STDERR_LINES {
                            kept.pop_front();
                        }
                        kept.push_back(text);
                    }
                })
                .ok()
        });
        Self { lines, handle }
    }

    /// The lines kept, once the helper has closed its standard error (or
    /// right away if it is still running).
    pub(super) fn lines(mut self) -> Vec<String> {
        if let Some(handle) = self.handle.take() {
            let _ignored = join_within(handle, Duration::from_millis(200));
        }
        let kept = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().cloned().collect()
    }
}

/// Joins `handle` if its thread finishes within `within`; `None` if it is
/// still running (it is then left to finish alone), else whether it panicked.
pub(super) fn join_within<T>(
    handle: JoinHandle<T>,
    within: Duration,
) -> Option<std::thread::Result<T>> {
    let deadline = Instant::now() + within;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(handle.join())
}

/// Waits for the child to exit; `None` if it will not. A child still
/// running is asked to stop with SIGTERM, which reaches pkexec while it
/// waits for a password (it runs with this user's real uid) and a helper
/// started directly; a root helper this user cannot signal stops by itself
/// within a tenth of a second of its output closing.
pub(super) fn finish(child: &mut Child, ask_to_stop: bool) -> Option<ExitStatus> {
    drop(child.stdout.take());
    if !ask_to_stop {
        // Its output closed: it is exiting on its own.
        if let Some(status) = wait_exit(child, EXIT_GRACE) {
            return Some(status);
        }
    }
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill takes plain integers; the child is not reaped yet, so
        // the pid is still ours.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    if let Some(status) = wait_exit(child, EXIT_GRACE) {
        return Some(status);
    }
    // Our own child (ssh, a helper started directly) dies at SIGKILL; a
    // root one refuses it and ends at its next check.
    let _ignored = child.kill();
    wait_exit(child, Duration::from_millis(500))
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => return None,
        }
    }
}

pub(super) fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}
