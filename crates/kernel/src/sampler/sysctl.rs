//! The `kernel.bpf_stats_enabled` fallback, shared safely by every bpfscope
//! on the machine.
//!
//! The sysctl is one machine-wide switch, so two instances that each saved
//! and restored it would break each other: A saves 0, B saves 1; A exits and
//! writes 0 under B; B exits and writes 1 for good. Instead the instances
//! that use it are listed in one state file in `/run`, under an exclusive
//! lock: the first one in saves the value to restore, every one adds its pid
//! (with its start time, so a reused pid is not taken for it), and the last
//! one out restores the value. Instances that died without leaving (SIGKILL)
//! are dropped from the list by the next one that looks. Inside one process
//! the guards are counted, and the process leaves when its last guard goes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The sysctl itself.
pub const SYSCTL_PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";
/// Where the instances using the fallback are listed (root only).
const STATE_DIR: &str = "/run/bpfscope";
const STATE_FILE: &str = "/run/bpfscope/sysctl";
/// Instances listed at most: a corrupt or hostile file cannot make us
/// allocate without bound.
const HOLDERS_MAX: usize = 4_096;

/// Guards alive in this process, and the value to restore when it had to
/// go alone.
struct Local {
    guards: usize,
    alone: Option<String>,
}

static LOCAL: Mutex<Local> = Mutex::new(Local {
    guards: 0,
    alone: None,
});

/// The shared state: the value to restore and the instances holding it on.
#[derive(Debug, Default, PartialEq, Eq)]
struct State {
    original: Option<String>,
    /// `(pid, start time in clock ticks since boot)`.
    holders: Vec<(u32, u64)>,
}

impl State {
    fn parse(text: &str) -> Self {
        let mut state = Self::default();
        for line in text.lines() {
            if let Some(value) = line.strip_prefix("original=") {
                let value = value.trim();
                if value.len() <= 8 && value.chars().all(|c| c.is_ascii_digit()) {
                    state.original = Some(value.to_owned());
                }
            } else if let Some(holder) = line.strip_prefix("holder=") {
                let mut parts = holder.trim().split(':');
                if let (Some(Ok(pid)), Some(Ok(start))) = (
                    parts.next().map(str::parse::<u32>),
                    parts.next().map(str::parse::<u64>),
                ) && state.holders.len() < HOLDERS_MAX
                {
                    state.holders.push((pid, start));
                }
            }
        }
        state
    }

    fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        // Writing to a String cannot fail.
        if let Some(original) = &self.original {
            let _ = writeln!(out, "original={original}");
        }
        for (pid, start) in &self.holders {
            let _ = writeln!(out, "holder={pid}:{start}");
        }
        out
    }

    /// Drops holders that are no longer running.
    fn prune(&mut self) {
        self.holders
            .retain(|&(pid, start)| start_time(pid) == Some(start));
    }
}

/// A process's start time (field 22 of `/proc/PID/stat`), which tells a
/// live instance from a reused pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: skip it.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    after.split(' ').nth(19)?.parse().ok()
}

/// How long to wait for another instance's lock before going alone.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The state file, opened and locked for as long as the value lives. The
/// directory and the file must be root's alone (0700, 0600, no symlink):
/// another user who could write them could make root write elsewhere, or
/// forge holders; one who could merely open the file could lock it.
fn locked_state() -> io::Result<File> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    match fs::DirBuilder::new().mode(0o700).create(STATE_DIR) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let dir = fs::symlink_metadata(STATE_DIR)?;
    if !dir.is_dir() || dir.uid() != me {
        return Err(io::Error::other(format!(
            "{STATE_DIR} is not bpfscope's directory"
        )));
    }
    // Ours (an earlier version made it 0755): make it private.
    if dir.mode() & 0o777 != 0o700 {
        fs::set_permissions(STATE_DIR, fs::Permissions::from_mode(0o700))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(STATE_FILE)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != me {
        return Err(io::Error::other(format!(
            "{STATE_FILE} is not bpfscope's file"
        )));
    }
    if meta.mode() & 0o777 != 0o600 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io::Error::other(format!("{STATE_FILE} stays locked")));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
    }
}

fn read_state(file: &mut File) -> io::Result<State> {
    let mut text = String::new();
    file.take(64 << 10).read_to_string(&mut text)?;
    Ok(State::parse(&text))
}

fn write_state(file: &mut File, state: &State) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(state.render().as_bytes())?;
    file.sync_data()
}

/// Turns the sysctl on for one more guard of this process.
pub fn enable() -> io::Result<()> {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    if local.guards == 0 {
        local.alone = join()?;
    }
    local.guards += 1;
    Ok(())
}

/// One guard of this process is gone; the process leaves with the last.
pub fn release() {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    match local.guards {
        0 => {}
        1 => {
            local.guards = 0;
            leave(local.alone.take());
        }
        _ => local.guards -= 1,
    }
}

/// This process leaves now, whatever its guards (signals, a panic that
/// ends the process). Idempotent.
pub fn release_all() {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    if local.guards > 0 {
        local.guards = 0;
        leave(local.alone.take());
    }
}

/// Lists this process and turns the sysctl on, saving its value if no
/// other instance holds it on. Where the shared state cannot be used (a
/// read-only or foreign `/run`), it goes alone, as one instance: the value
/// to restore is returned to keep in this process.
fn join() -> io::Result<Option<String>> {
    let mut file = match locked_state() {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(
                "the sysctl fallback is not shared with other bpfscope instances: {err}"
            );
            let original = fs::read_to_string(SYSCTL_PATH)?.trim().to_owned();
            fs::write(SYSCTL_PATH, "1\n")?;
            return Ok(Some(original));
        }
    };
    let mut state = read_state(&mut file)?;
    state.prune();
    // An original left without holders is from an instance that was killed:
    // it is still the value to restore (the sysctl now reads 1 because of it).
    if state.original.is_none() {
        state.original = Some(fs::read_to_string(SYSCTL_PATH)?.trim().to_owned());
    }
    let me = std::process::id();
    state.holders.retain(|&(pid, _)| pid != me);
    state.holders.push((me, start_time(me).unwrap_or(0)));
    // Listed first, then on: a crash in between leaves a record, not a
    // sysctl turned on that nobody knows to restore.
    write_state(&mut file, &state)?;
    if let Err(err) = fs::write(SYSCTL_PATH, "1\n") {
        state.holders.retain(|&(pid, _)| pid != me);
        if state.holders.is_empty() {
            state.original = None;
        }
        let _ = write_state(&mut file, &state);
        return Err(err);
    }
    Ok(None)
}

/// Takes this process off the list; the last one out restores the value.
/// `alone`: the value this process saved when it could not share.
fn leave(alone: Option<String>) {
    let result = (|| -> io::Result<()> {
        if let Some(original) = alone {
            return fs::write(SYSCTL_PATH, format!("{original}\n"));
        }
        let mut file = locked_state()?;
        let mut state = read_state(&mut file)?;
        let me = std::process::id();
        state.holders.retain(|&(pid, _)| pid != me);
        state.prune();
        if state.holders.is_empty()
            && let Some(original) = state.original.take()
        {
            fs::write(SYSCTL_PATH, format!("{original}\n"))?;
        }
        write_state(&mut file, &state)
    })();
    if let Err(err) = result {
        eprintln!("bpfscope: could not restore {SYSCTL_PATH}: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reads_back_and_ignores_what_it_does_not_know() {
        let state = State {
            original: Some("0".into()),
            holders: vec![(12, 345), (67, 890)],
        };
        assert_eq!(State::parse(&state.render()), state);
        let odd = State::parse("original=; rm -rf /\nholder=x:1\nholder=5:6:7\njunk\n");
        assert_eq!(odd.original, None);
        assert_eq!(odd.holders, vec![(5, 6)]);
    }

    #[test]
    fn holders_that_are_not_running_are_dropped() {
        let me = std::process::id();
        let mut state = State {
            original: Some("0".into()),
            holders: vec![
                (me, start_time(me).expect("own start time")),
                (me, 1),
                (u32::MAX, 0),
            ],
        };
        state.prune();
        assert_eq!(state.holders.len(), 1);
    }
}
