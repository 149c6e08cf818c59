//! What runs programs without a BPF link, in the words links use: cgroup
//! attach lists, XDP and tc through netlink; and cgroup paths.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::net::{NetAttachment, NetKind, NetReader};
use super::{CGROUP_REWALK, LinkReader, MISSING_KEPT};
use crate::model::{AttachVia, LinkFacts};

impl LinkReader {
    /// Programs attached to cgroups without a link, described again.
    pub(super) fn read_cgroups(&mut self) {
        let Some(it) = &self.cgroup_iter else {
            return;
        };
        let records = match it.read(&mut self.buf) {
            Ok(records) => records,
            Err(err) => {
                // The last ones stay: better old than none.
                self.cgroup_trouble = Some(format!(
                    "programs attached to cgroups without a link may be missing: {err}"
                ));
                return;
            }
        };
        self.cgroup_trouble = None;
        self.cgroup_attached = records
            .iter()
            .map(|rec| {
                let path = self.cgroup(rec.cgroup_id);
                LinkFacts {
                    prog_id: rec.prog_id,
                    id: 0,
                    link_type: "cgroup".to_owned(),
                    attach_type: super::super::link_targets::attach_type_name(rec.attach_type),
                    target: match rec.flags_words() {
                        Some(flags) => format!("{path} ({flags})"),
                        None => path,
                    },
                    via: AttachVia::Cgroup,
                }
            })
            .collect();
    }

    /// Named network namespaces whose XDP and tc programs are not shown.
    pub fn unreachable_netns(&self) -> &[String] {
        self.net.as_ref().map_or(&[], NetReader::unreachable)
    }

    /// XDP and tc programs attached through netlink, described again; what
    /// went wrong is kept for [`LinkReader::take_trouble`].
    pub(super) fn read_net(&mut self) {
        let Some(net) = &mut self.net else {
            return;
        };
        let (found, trouble) = net.read();
        self.net_attached = found.iter().map(net_words).collect();
        self.net_trouble = trouble;
    }

    /// The cgroup's path, or its id when no directory has it. A missing id
    /// walks the tree again (at most every [`CGROUP_REWALK`]) the first time
    /// it is asked for, never again after: a removed cgroup does not make
    /// every pass walk the tree.
    pub(super) fn cgroup(&mut self, cgroup_id: u64) -> String {
        if !self.cgroups.contains_key(&cgroup_id)
            && !self.cgroups_missing.contains(&cgroup_id)
            && self
                .cgroups_walked
                .is_none_or(|t| t.elapsed() >= CGROUP_REWALK)
        {
            self.cgroups.clear();
            if let Some(root) = crate::sys::cgroup2_root() {
                walk_cgroups(&root, &mut self.cgroups);
            }
            self.cgroups_walked = Some(Instant::now());
            if !self.cgroups.contains_key(&cgroup_id) {
                if self.cgroups_missing.len() >= MISSING_KEPT {
                    self.cgroups_missing.clear();
                }
                self.cgroups_missing.insert(cgroup_id);
            }
        }
        self.cgroups
            .get(&cgroup_id)
            .cloned()
            .unwrap_or_else(|| format!("cgroup id {cgroup_id}"))
    }
}

/// Every directory under `root` by inode (the cgroup id on cgroup v2).
fn walk_cgroups(root: &Path, out: &mut HashMap<u64, String>) {
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(meta) = fs::metadata(&dir) {
            out.insert(meta.ino(), dir.display().to_string());
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
}

/// A netlink attachment in the words links use.
fn net_words(a: &NetAttachment) -> LinkFacts {
    let device = match &a.netns {
        None => a.device.clone(),
        Some(name) => format!("{} (netns {name})", a.device),
    };
    let (link_type, attach_type, target, via) = match &a.kind {
        NetKind::Xdp(mode) => ("xdp", *mode, device, AttachVia::Xdp),
        NetKind::Tc {
            ingress,
            priority,
            handle,
            direct_action,
        } => (
            "tc",
            if *ingress { "ingress" } else { "egress" },
            format!(
                "{device} prio {priority} handle {handle:#x}{}",
                if *direct_action { " direct-action" } else { "" }
            ),
            AttachVia::Tc,
        ),
    };
    LinkFacts {
        prog_id: a.prog_id,
        id: 0,
        link_type: link_type.to_owned(),
        attach_type: Some(attach_type.to_owned()),
        target,
        via,
    }
}
