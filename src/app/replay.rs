//! Replaying a recording in the window: opening one (File → Open…, a file
//! dropped on the window, `bpfscope FILE`), the moments a seek rebuilds,
//! the title, and going back to this machine.

use std::path::Path;
use std::time::Duration;

use eframe::egui;

use super::BpfScopeApp;
use super::browse::Browse;
use crate::model::{Interval, Waker};
use crate::source::{Replay, Source};
use crate::store::Store;
use crate::view::{Command, Notice, OpenDialog};

/// Makes the live source again, with the interval and waker to use.
pub type LiveStart = Box<dyn Fn(Interval, Waker) -> Source>;

/// The replay's parts of the window.
#[derive(Default)]
pub(super) struct ReplayPart {
    pub(super) dialog: Option<OpenDialog>,
    browse: Option<Browse>,
    /// How to watch this machine again after a replay.
    pub(super) live: Option<LiveStart>,
    /// The title last given to the window.
    title: String,
}

impl std::fmt::Debug for ReplayPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayPart")
            .field("dialog", &self.dialog)
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// The waker a source of the window gets: a repaint soon.
pub(super) fn waker(ctx: &egui::Context) -> Waker {
    let ctx = ctx.clone();
    // A non-zero delay: egui answers a zero-delay request with two frames
    // ("to let things settle"); a new sample needs one.
    std::sync::Arc::new(move || ctx.request_repaint_after(Duration::from_millis(1)))
}

impl BpfScopeApp {
    /// Whether the window replays a recording.
    #[must_use]
    pub fn is_replay(&self) -> bool {
        self.source.timeline().is_some()
    }

    /// The replay's timeline, while the window shows one.
    #[must_use]
    pub fn timeline(&self) -> Option<&crate::model::Timeline> {
        self.source.timeline()
    }

    /// How to watch this machine again after a replay (the window's
    /// binary gives it; without it, Watch this machine says it cannot).
    pub fn set_live_start(&mut self, live: LiveStart) {
        self.replay.live = Some(live);
    }

    /// Replays `path` instead of what the window shows. A file that is
    /// not a recording is said, and what is shown stays.
    pub(super) fn open_recording(&mut self, ctx: &egui::Context, path: &Path) {
        if self.recording.is_some() {
            self.toggle_recording();
        }
        match Replay::open(path, waker(ctx)) {
            Ok(mut replay) => {
                replay.set_history(self.settings.plot_window.duration());
                self.switch_source(Source::from_replay(replay));
                self.replay.dialog = None;
                self.replay.browse = None;
                self.notice = None;
            }
            Err(why) => {
                let why = why.to_string();
                tracing::warn!("{why}");
                if let Some(dialog) = &mut self.replay.dialog {
                    dialog.note = Some(why.clone());
                }
                self.notice = Some(Notice::Error(why));
            }
        }
    }

    /// Leaves a replay or another host for this machine.
    pub(super) fn watch_this_machine(&mut self, ctx: &egui::Context) {
        if !self.is_replay() && self.source.remote_host().is_none() {
            return;
        }
        if self.recording.is_some() {
            self.toggle_recording();
        }
        let Some(live) = &self.replay.live else {
            self.notice = Some(Notice::Error(
                "this window cannot sample this machine: start bpfscope without a file".to_owned(),
            ));
            return;
        };
        let source = live(self.settings.interval(), waker(ctx));
        self.switch_source(source);
    }

    /// A new source, and a new store for it: the old source's data is not
    /// mixed into the new one's.
    pub(super) fn switch_source(&mut self, source: Source) {
        // The old source stops (and with it statistics) before the new
        // one starts sampling.
        self.source = source;
        let mut store = Store::new();
        store.set_gone_limit(self.settings.gone_kept);
        self.store = store;
        self.selection = crate::view::Selection::default();
        self.baseline = None;
        self.diff = false;
        self.derived = crate::view::Derived::default();
        self.alerts = super::alerts::ThresholdWatcher::default();
        self.owner_info = super::logic::OwnerInfo::default();
    }

    /// CPUs of the host the data comes from (the source's Hello), else of
    /// this machine.
    pub(super) fn cpus(&self) -> usize {
        self.store
            .info()
            .and_then(|info| usize::try_from(info.online_cpus).ok())
            .filter(|&n| n > 0)
            .unwrap_or(self.online_cpus)
    }

    /// Before the events of a frame: a moment a seek rebuilt; files
    /// dropped on the window; the file dialog's answer; the title.
    pub(super) fn replay_intake(&mut self, ctx: &egui::Context) {
        if let Some(moment) = self.source.take_moment() {
            let old = self.store.replace_live(*moment);
            self.source.recycle(old);
            // The events after it wait in the source.
            ctx.request_repaint();
        }
        let dropped = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_path_buf())
                .next()
        });
        if let Some(path) = dropped {
            self.open_recording(ctx, &path);
        }
        if let (Some(browse), Some(dialog)) = (&self.replay.browse, &mut self.replay.dialog) {
            let (came, chosen) = browse.poll_open(dialog);
            if came {
                self.replay.browse = None;
            }
            if chosen {
                let path = std::path::PathBuf::from(&dialog.path);
                self.open_recording(ctx, &path);
            }
        }
        let title = match (self.source.timeline(), self.source.remote_host()) {
            (Some(t), _) => format!("{} — recording of {} — bpfscope", t.file, t.host),
            (None, Some(host)) => format!("{host} — bpfscope"),
            (None, None) => "bpfscope".to_owned(),
        };
        if title != self.replay.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.replay.title = title;
        }
    }

    /// Opening, leaving and driving a replay.
    pub(super) fn replay_cmd(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::OpenRecordingDialog => self.open_dialog(ctx, false),
            Command::BrowseRecording => self.open_dialog(ctx, true),
            Command::CloseOpenDialog => {
                self.replay.dialog = None;
                self.replay.browse = None;
            }
            Command::OpenRecording(path) => self.open_recording(ctx, &path),
            Command::WatchThisMachine => self.watch_this_machine(ctx),
            Command::Replay(command) => self.source.replay_command(command),
            _ => {}
        }
    }

    /// Opens the Open dialog, and the system's file dialog if `browse`.
    fn open_dialog(&mut self, ctx: &egui::Context, browse: bool) {
        let dialog = self.replay.dialog.get_or_insert_with(OpenDialog::default);
        if browse && !dialog.browsing {
            let home = std::env::var_os("HOME")
                .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
            self.replay.browse = Browse::pick_recording(ctx, dialog, &home);
        }
    }
}
