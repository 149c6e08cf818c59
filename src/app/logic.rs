//! Intake, before every frame: the source's events into the store, then
//! everything derived from what is shown — the table, diffs, breakdown,
//! threshold count, and what `/proc` says of owners — so that drawing only
//! reads.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A process's cgroup is read again after this long (it can be moved).
const CGROUP_AGE: Duration = Duration::from_secs(10);

use eframe::egui;

use super::BpfScopeApp;
use crate::model::{Owner, ProgramKey, Status};
use crate::store::{Row, Store};
use crate::view::{DerivedInput, Grouping, Notice, OwnerDetails};

/// What `/proc` and the password database say of the owners the window
/// shows, read when a program's owners or facts change, never while
/// drawing, and bounded by the live owners.
#[derive(Debug, Default)]
pub(super) struct OwnerInfo {
    /// The cgroup of each first owner, for grouping by cgroup, and when it
    /// was read (a process can move to another cgroup).
    cgroups: HashMap<Owner, (String, Instant)>,
    /// The store generation `cgroups` was brought up to.
    cgroups_generation: Option<u64>,
    details: Option<Details>,
}

/// The details pane's owners (with command lines) and loading user.
#[derive(Debug)]
pub(super) struct Details {
    key: ProgramKey,
    owners: std::sync::Arc<[Owner]>,
    had_facts: bool,
    pub(super) list: Vec<OwnerDetails>,
    pub(super) user: Option<String>,
}

impl OwnerInfo {
    /// Reads the cgroups of first owners not seen before; forgets those no
    /// longer shown.
    fn refresh_cgroups(&mut self, store: &Store) {
        if self.cgroups_generation == Some(store.generation()) {
            return;
        }
        let owners: HashSet<&Owner> = store
            .rows()
            .iter()
            .filter_map(|r| r.text.first_owner())
            .collect();
        let now = Instant::now();
        self.cgroups
            .retain(|o, (_, read)| owners.contains(o) && now.duration_since(*read) < CGROUP_AGE);
        for owner in owners {
            if !self.cgroups.contains_key(owner) {
                let cgroup = crate::sys::cgroup_of(owner.pid);
                self.cgroups.insert(owner.clone(), (cgroup, now));
            }
        }
        self.cgroups_generation = Some(store.generation());
    }

    /// Reads the owners' command lines and the user's name when the pane's
    /// program, its owners or its facts changed. `other_host`: the host the
    /// data comes from when it is not this machine, whose `/proc` says
    /// nothing of it.
    fn refresh_details(&mut self, row: Option<&Row>, other_host: Option<&str>) {
        let Some(row) = row else {
            self.details = None;
            return;
        };
        let stale = self.details.as_ref().is_none_or(|d| {
            d.key != row.key
                || d.owners != row.text.owners
                || d.had_facts != row.text.facts.is_some()
        });
        if !stale {
            return;
        }
        let list = row
            .text
            .owners
            .iter()
            .map(|o| OwnerDetails {
                pid: o.pid,
                comm: o.comm.to_string(),
                cmdline: match other_host {
                    Some(host) => {
                        format!("(a process of {host}: its command line was not recorded)")
                    }
                    None => crate::sys::read_cmdline(o.pid),
                },
            })
            .collect();
        self.details = Some(Details {
            key: row.key,
            owners: row.text.owners.clone(),
            had_facts: row.text.facts.is_some(),
            list,
            user: row
                .text
                .facts
                .as_ref()
                .filter(|_| other_host.is_none())
                .and_then(|f| crate::sys::user_name(f.uid)),
        });
    }

    /// The details pane's owners and user name, as last read.
    pub(super) fn details(&self) -> Option<&Details> {
        self.details.as_ref()
    }

    /// A row's group label.
    fn group_of(&self, row: &Row, grouping: Grouping) -> String {
        match (row.text.first_owner(), grouping) {
            (None, _) => "(no owning process)".to_owned(),
            (Some(o), Grouping::Process | Grouping::None) => format!("{} ({})", o.comm, o.pid),
            (Some(o), Grouping::Cgroup) => self.cgroups.get(o).map_or_else(
                || "(cgroup not read here)".to_owned(),
                |(cgroup, _)| cgroup.clone(),
            ),
        }
    }
}

impl BpfScopeApp {
    /// Drains the source into the store and brings the derived data up to
    /// date.
    pub(super) fn intake(&mut self, ctx: &egui::Context) {
        let generation = self.store.generation();
        for event in self.source.drain() {
            if let Some(recording) = &mut self.recording
                && !recording.finishing()
                && let Err(why) = recording.offer(&event)
            {
                self.notice = Some(crate::view::Notice::Error(why.to_string()));
            }
            self.store.push(event);
        }
        self.replay_intake(ctx);
        self.reap_windows();
        self.recording_intake(ctx);
        self.fleet_intake();
        if self.store.generation() != generation {
            // Unloaded programs leave after a while; so do their plots.
            let store = &self.store;
            self.selection.retain(|k| store.row(*k).is_some());
        }
        if let (Some(browse), Some(dialog)) = (&self.browse, &mut self.export)
            && browse.poll(dialog)
        {
            self.browse = None;
        }
        self.check_thresholds();
        self.refresh();
        if matches!(self.source.status(), Status::Sampling(_)) {
            // Keeps "sample N s ago" honest if the sampler stalls. Samples
            // wake the window themselves; this fires only when one is late,
            // so a steady 1 Hz sampler costs one frame a second, not two.
            let stall = self.settings.interval().duration().mul_f32(1.5);
            ctx.request_repaint_after(stall.max(Duration::from_secs(1)));
        }
    }

    /// Brings everything derived from the shown moment up to date (cheap
    /// when nothing it depends on changed); whether anything changed.
    pub(super) fn refresh(&mut self) -> bool {
        let grouping = self.settings.grouping;
        let other_host = self.source.other_host();
        if grouping == Grouping::Cgroup && other_host.is_none() {
            self.owner_info.refresh_cgroups(&self.store);
        }
        let cursor_row = self
            .selection
            .cursor
            .filter(|_| self.settings.details)
            .and_then(|key| self.store.row(key));
        self.owner_info.refresh_details(cursor_row, other_host);
        let owner_info = &self.owner_info;
        let group_of = |row: &Row| owner_info.group_of(row, grouping);
        self.derived.refresh(&DerivedInput {
            store: &self.store,
            settings: &self.settings,
            filter: &self.filter,
            diff_against: self.baseline.as_ref().filter(|_| self.diff),
            group_of: &group_of,
        })
    }

    /// After each new sample: notifies about programs that crossed a
    /// threshold (when the user asked for notifications). It follows the
    /// live data: pausing the display does not pause the machine.
    fn check_thresholds(&mut self) {
        if self.is_replay() {
            // A recording's crossings are history, not news.
            return;
        }
        let thresholds = self.settings.thresholds;
        match self.alerts.check(self.store.live(), &thresholds) {
            Ok(()) => {}
            Err(message) => self.notice = Some(Notice::Error(message.to_string())),
        }
    }
}
