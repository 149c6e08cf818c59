//! Link ids, and link targets in words: kernel functions from BTF, perf
//! events, network namespaces, netfilter hooks, attach types.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;

use libbpf_rs::ProgramAttachType;
use libbpf_rs::query::{LinkInfo, PerfEventType};

use super::facts::{Btf, c_string, fd_from};
use super::links::NETNS_DIR;
use crate::model::LinkFacts;

/// Whether a tracing link's target is a function of another BPF program
/// (freplace, or fentry on a program) rather than of the kernel: link info
/// gives one id either way. A program loaded against kernel BTF names that
/// BTF object in its info (`attach_btf_obj_id`); one loaded against a
/// program has none.
pub(super) fn target_is_program(link_prog_id: u32, obj_id: u32) -> bool {
    // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
    let Ok(Some(fd)) = fd_from(unsafe { libbpf_sys::bpf_prog_get_fd_by_id(link_prog_id) }) else {
        return false;
    };
    super::syscall::prog_info(&fd).is_ok_and(|i| i.attach_btf_obj_id != obj_id)
}

pub(super) fn prog_btf_id(prog_id: u32) -> Option<u32> {
    // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
    let fd = fd_from(unsafe { libbpf_sys::bpf_prog_get_fd_by_id(prog_id) }).ok()??;
    super::syscall::prog_info(&fd).ok().map(|i| i.btf_id)
}

/// Kernel BTF objects kept at most (vmlinux and modules).
const BTF_KEPT: usize = 8;

/// Kernel BTF objects, each loaded once (vmlinux is about 5 MB to parse)
/// and kept with a bound.
#[derive(Default)]
pub(super) struct KernelBtf {
    // Field order is drop order: module BTF is split and points into the
    // kernel's, so the objects go first.
    objects: std::collections::HashMap<u32, Btf>,
    vmlinux: Option<Btf>,
}

impl std::fmt::Debug for KernelBtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelBtf")
            .field("objects", &self.objects.len())
            .field("vmlinux", &self.vmlinux.is_some())
            .finish()
    }
}

impl KernelBtf {
    /// A function name in kernel BTF object `obj_id` (vmlinux or a module).
    pub(super) fn resolve(&mut self, obj_id: u32, btf_id: u32) -> Option<String> {
        if !self.objects.contains_key(&obj_id) {
            if self.objects.len() >= BTF_KEPT {
                self.objects.clear();
            }
            // Module BTF is split: it loads only with the kernel's as base.
            let btf = if let Some(btf) = Btf::by_id(obj_id, None) {
                btf
            } else {
                if self.vmlinux.is_none() {
                    self.vmlinux = Btf::vmlinux();
                }
                Btf::by_id(obj_id, Some(self.vmlinux.as_ref()?))?
            };
            self.objects.insert(obj_id, btf);
        }
        self.objects.get(&obj_id)?.type_name(btf_id)
    }
}

/// libbpf-rs's number for an attach type it does not know.
pub(super) const UNKNOWN_ATTACH: u32 = u32::MAX;

pub(super) fn attach_num(attach: &ProgramAttachType) -> u32 {
    attach.clone() as u32
}

pub(super) fn attach_type_name(attach: u32) -> Option<String> {
    if attach == UNKNOWN_ATTACH {
        return None;
    }
    // SAFETY: libbpf returns a static string or null for unknown values.
    c_string(unsafe { libbpf_sys::libbpf_bpf_attach_type_str(attach) })
}

pub(super) fn perf_event(info: &LinkInfo, event: &PerfEventType) -> LinkFacts {
    let os = |s: &Option<std::ffi::OsString>| {
        s.as_ref()
            .map_or_else(|| "?".to_owned(), |s| s.to_string_lossy().into_owned())
    };
    let (kind, target) = match event {
        PerfEventType::Tracepoint { name, .. } => ("tracepoint", os(name)),
        PerfEventType::Kprobe {
            func_name,
            is_retprobe,
            offset,
            addr,
            ..
        } => {
            let kind = if *is_retprobe { "kretprobe" } else { "kprobe" };
            let target = match func_name {
                Some(f) if *offset == 0 => f.to_string_lossy().into_owned(),
                Some(f) => format!("{}+{offset:#x}", f.to_string_lossy()),
                None => format!("{addr:#x}"),
            };
            (kind, target)
        }
        PerfEventType::Uprobe {
            file_name,
            is_retprobe,
            offset,
            ..
        } => {
            let kind = if *is_retprobe { "uretprobe" } else { "uprobe" };
            (kind, format!("{}:{offset:#x}", os(file_name)))
        }
        PerfEventType::Event {
            config, event_type, ..
        } => (
            "perf_event",
            format!("perf event type {event_type} config {config}"),
        ),
        PerfEventType::Unknown(t) => ("perf_event", format!("perf event kind {t}")),
    };
    LinkFacts {
        prog_id: info.prog_id,
        id: info.id,
        link_type: "perf_event".to_owned(),
        attach_type: Some(kind.to_owned()),
        target,
        via: crate::model::AttachVia::Link,
    }
}

/// The name of `enum perf_kind` (`src/bpf/perf_target.h`) value `kind`.
pub(super) fn perf_kind(kind: u32) -> Option<&'static str> {
    match kind {
        1 => Some("tracepoint"),
        2 => Some("kprobe"),
        3 => Some("kretprobe"),
        4 => Some("uprobe"),
        5 => Some("uretprobe"),
        6 => Some("perf_event"),
        _ => None,
    }
}

/// What a perf event is attached to, in the words of [`perf_event`]: from
/// `perf_target.h`'s kind, perf type, offset or config, and name.
pub(super) fn perf_target(kind: u32, perf_type: u32, num: u64, text: String) -> String {
    match kind {
        1 => text,
        2 | 3 if num == 0 => text,
        2 | 3 => format!("{text}+{num:#x}"),
        4 | 5 => format!("{text}:{num:#x}"),
        6 => format!("perf event type {perf_type} config {num}"),
        _ => "a perf event bpfscope cannot describe".to_owned(),
    }
}

/// `netns blue` (named by `ip netns`), `this netns`, or `netns 4026532…`.
pub(super) fn netns_words(ino: u32, own: Option<u32>) -> String {
    if Some(ino) == own {
        return "this netns".to_owned();
    }
    let named = fs::read_dir(NETNS_DIR).ok().and_then(|dir| {
        dir.flatten().find_map(|e| {
            let meta = fs::metadata(e.path()).ok()?;
            (meta.ino() == u64::from(ino)).then(|| e.file_name().to_string_lossy().into_owned())
        })
    });
    match named {
        Some(name) => format!("netns {name}"),
        None => format!("netns {ino}"),
    }
}

pub(super) fn netfilter_words(family: u32, hook: u32, priority: i32) -> String {
    let family = match family {
        2 => "ipv4".to_owned(),
        10 => "ipv6".to_owned(),
        1 => "inet".to_owned(),
        7 => "bridge".to_owned(),
        other => format!("family {other}"),
    };
    let hook = match hook {
        0 => "prerouting".to_owned(),
        1 => "input".to_owned(),
        2 => "forward".to_owned(),
        3 => "output".to_owned(),
        4 => "postrouting".to_owned(),
        other => format!("hook {other}"),
    };
    format!("{family} {hook} priority {priority}")
}

/// Every link id, sorted (`BPF_LINK_GET_NEXT_ID`: no descriptor opened).
pub(super) fn link_ids() -> io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: `next` is a valid u32 the call writes to.
        let rc = unsafe { libbpf_sys::bpf_link_get_next_id(id, &raw mut next) };
        if rc < 0 {
            return match -rc {
                libc::ENOENT => Ok(ids),
                errno => Err(io::Error::from_raw_os_error(errno)),
            };
        }
        // Ids only grow; a kernel that repeats one must not loop forever.
        if next <= id {
            return Ok(ids);
        }
        id = next;
        ids.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netfilter_hooks_read_as_words() {
        assert_eq!(netfilter_words(2, 0, -100), "ipv4 prerouting priority -100");
        assert_eq!(netfilter_words(10, 3, 5), "ipv6 output priority 5");
    }
}
