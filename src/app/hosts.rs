//! Connect to host…: another host's sampler over ssh in this window, or in
//! a new window beside it (one window per host, for "this node against
//! that node").

use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};

use eframe::egui;

use super::BpfScopeApp;
use crate::source::{HelperLaunch, Remote, Source};
use crate::view::{Command, HostDialog, Notice};

/// Windows opened for other hosts, watched until they exit, at most.
const WINDOWS_MAX: usize = 32;

/// The Connect to host… parts of the window.
#[derive(Debug, Default)]
pub(super) struct HostPart {
    pub(super) dialog: Option<HostDialog>,
    /// The bpfscope to start for a new window; `None`: no new windows.
    exe: Option<PathBuf>,
    /// ssh options the window was started with, for every host it
    /// connects to and the windows it opens.
    ssh_options: Vec<String>,
    /// New windows not yet exited (reaped as they end).
    windows: Vec<Child>,
}

impl BpfScopeApp {
    /// What a new window for another host runs, and the ssh options every
    /// connection of this window uses (`--ssh-option`).
    pub fn set_host_windows(&mut self, exe: Option<PathBuf>, ssh_options: Vec<String>) {
        self.hosts.exe = exe;
        self.hosts.ssh_options = ssh_options;
    }

    /// The host watched over ssh, if the window watches one.
    #[must_use]
    pub fn remote_host(&self) -> Option<&str> {
        self.source.remote_host()
    }

    pub(super) fn host_cmd(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::OpenHostDialog => {
                let dialog = self.hosts.dialog.get_or_insert_with(HostDialog::default);
                if dialog.host.is_empty()
                    && let Some(last) = self.settings.hosts.first()
                {
                    last.clone_into(&mut dialog.host);
                }
            }
            Command::CloseHostDialog => self.hosts.dialog = None,
            Command::ConnectHost {
                host,
                command,
                new_window,
            } => self.connect_host(ctx, &host, &command, new_window),
            _ => {}
        }
    }

    fn connect_host(&mut self, ctx: &egui::Context, host: &str, command: &str, new_window: bool) {
        let mut remote = match Remote::new(host) {
            Ok(remote) => remote,
            Err(why) => {
                if let Some(dialog) = &mut self.hosts.dialog {
                    dialog.note = Some(why.to_string());
                }
                return;
            }
        };
        if !command.is_empty() {
            command.clone_into(&mut remote.command);
        }
        remote.ssh_options.clone_from(&self.hosts.ssh_options);
        let result = if new_window {
            self.open_window(&remote)
        } else {
            if self.recording.is_some() {
                self.toggle_recording();
            }
            let launch = HelperLaunch::remote(remote.clone());
            let source = Source::helper(
                launch,
                self.settings.interval(),
                super::replay::waker(ctx),
                true,
            );
            self.switch_source(source);
            Ok(())
        };
        match result {
            Ok(()) => {
                self.settings.remember_host(&remote.destination);
                self.hosts.dialog = None;
            }
            Err(why) => {
                let why = why.to_string();
                if let Some(dialog) = &mut self.hosts.dialog {
                    dialog.note = Some(why.clone());
                }
                self.notice = Some(Notice::Error(why));
            }
        }
    }

    /// Starts `bpfscope --host …` for `remote`, beside this window.
    fn open_window(&mut self, remote: &Remote) -> Result<(), WindowError> {
        self.reap_windows();
        let Some(exe) = &self.hosts.exe else {
            return Err(WindowError::NoExecutable);
        };
        if self.hosts.windows.len() >= WINDOWS_MAX {
            return Err(WindowError::TooMany);
        }
        let mut process = Process::new(exe);
        process
            .arg("--host")
            .arg(&remote.destination)
            .arg("--interval")
            .arg(format!(
                "{}",
                self.settings.interval().duration().as_secs_f64()
            ));
        // `--name=value`: a value that starts with `-` stays a value.
        if remote.command != crate::source::DEFAULT_REMOTE_COMMAND {
            process.arg(format!("--remote-command={}", remote.command));
        }
        for option in &remote.ssh_options {
            process.arg(format!("--ssh-option={option}"));
        }
        let child = process
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| WindowError::Spawn {
                host: remote.host().to_owned(),
                source,
            })?;
        self.hosts.windows.push(child);
        self.notice = Some(Notice::Info(format!(
            "opened a window for {}",
            remote.host()
        )));
        Ok(())
    }

    /// Forgets the windows opened from here that have exited (nothing to
    /// do, and no system call, while none runs).
    pub(super) fn reap_windows(&mut self) {
        self.hosts
            .windows
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }
}

/// Why a window for another host could not be opened.
#[derive(Debug, thiserror::Error)]
enum WindowError {
    /// This process does not know its own executable.
    #[error("this window cannot open others")]
    NoExecutable,
    #[error("{WINDOWS_MAX} windows are open already")]
    TooMany,
    #[error("cannot open a window for {host}: {source}")]
    Spawn {
        host: String,
        source: std::io::Error,
    },
}
