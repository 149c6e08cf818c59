//! The helper's pipes: a stdout reader that can be stopped, the tail of its
//! stderr for messages, and a bounded wait for a thread.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::helper::{STDERR_LINES, STOP_POLL};

/// A pipe that gives up with an error when `stop` is set, looking every
/// [`STOP_POLL`] while it waits for data. (Not `Interrupted`: `read_exact`
/// retries that.)
pub(super) struct StoppableReader<'a> {
    pub(super) inner: ChildStdout,
    pub(super) stop: &'a AtomicBool,
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
