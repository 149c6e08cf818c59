//! Where programs are attached: every BPF link (`BPF_LINK_GET_NEXT_ID` and
//! link info), with its target in words.
//!
//! Network devices come from the `iter/bpf_link` iterator in
//! `src/bpf/netlinks.bpf.c`: link info gives only an ifindex, which names a
//! different device in every network namespace.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use libbpf_rs::query::{LinkInfo, LinkTypeInfo};
use libbpf_rs::{Link, Object};

use super::facts::{Btf, fd_from};
use super::link_words::{
    KernelBtf, UNKNOWN_ATTACH, attach_num, attach_type_name, link_ids, netfilter_words,
    netns_words, perf_event, prog_btf_id, target_is_program,
};
use crate::model::LinkFacts;

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/netlinks.bpf.o"));
/// Size of `struct netlink_record` in `netlinks.bpf.c`.
const RECORD_SIZE: usize = 32;
/// Where `ip netns` keeps named network namespaces.
pub(super) const NETNS_DIR: &str = "/run/netns";
/// A missing cgroup id triggers a new walk of the cgroup tree at most this
/// often (a tree of thousands of cgroups is a few milliseconds to walk).
const CGROUP_REWALK: Duration = Duration::from_secs(5);

/// The device of one network link.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NetDevice {
    name: String,
    netns_ino: u32,
}

/// The loaded `iter/bpf_link` iterator.
#[derive(Debug)]
struct NetLinkIter {
    link: Link,
    object: Object,
}

/// Every link is described again this often (a device can be renamed or
/// removed under a link); new links are described in the pass that finds
/// them.
pub const LINKS_REFRESH: Duration = Duration::from_secs(10);
/// Function names kept at most (from BTF, for tracing links).
const FUNCTIONS_KEPT: usize = 4_096;
/// Cgroup ids remembered as missing at most (none walks the tree again).
const MISSING_KEPT: usize = 1_024;

/// Lists links every pass and describes each once, keeping what turns ids
/// into words.
#[derive(Debug)]
pub struct LinkReader {
    net: Option<NetLinkIter>,
    own_netns: Option<u32>,
    /// Links described, by id.
    known: HashMap<u32, LinkFacts>,
    /// Link ids of the last pass, sorted.
    ids: Vec<u32>,
    described_all: Option<Instant>,
    cgroups: HashMap<u64, String>,
    cgroups_walked: Option<Instant>,
    /// Cgroup ids no walk found: they do not walk the tree again.
    cgroups_missing: std::collections::HashSet<u64>,
    /// `(target object, BTF type id)` → function name, for tracing links.
    functions: HashMap<(u32, u32), String>,
    btf: KernelBtf,
    buf: Vec<u8>,
}

impl LinkReader {
    /// Loads the network-device iterator; where it cannot load (kernels
    /// before 5.19), devices are named by ifindex only, and the returned
    /// notice says so.
    pub fn new() -> (Self, Option<String>) {
        let (net, notice) = match super::iter::load_iterator(OBJECT, "dump_netlink") {
            Ok((object, link)) => (Some(NetLinkIter { link, object }), None),
            Err(err) => (
                None,
                Some(format!(
                    "XDP and tcx attach points show an interface index, not a device name: the \
                     bpf_link iterator could not load ({err})"
                )),
            ),
        };
        let own_netns = fs::metadata("/proc/self/ns/net")
            .ok()
            .and_then(|m| u32::try_from(m.ino()).ok());
        let reader = Self {
            net,
            own_netns,
            known: HashMap::new(),
            ids: Vec::new(),
            described_all: None,
            cgroups: HashMap::new(),
            cgroups_walked: None,
            cgroups_missing: std::collections::HashSet::new(),
            functions: HashMap::new(),
            btf: KernelBtf::default(),
            buf: Vec::new(),
        };
        (reader, notice)
    }

    /// The kernel id of the iterator program itself.
    pub fn prog_id(&self) -> Option<u32> {
        self.net
            .as_ref()
            .and_then(|n| super::iter::object_prog_id(&n.object))
    }

    /// Link ids of the last [`LinkReader::read`], sorted.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Every link, sorted by program id then link id. Only links not seen
    /// before are opened and described, but every [`LINKS_REFRESH`].
    /// `describe_all` describes every link now (programs changed, so a link
    /// may now run another one).
    pub fn read(&mut self, describe_all: bool) -> io::Result<Vec<LinkFacts>> {
        let ids = link_ids()?;
        let all = describe_all
            || self
                .described_all
                .is_none_or(|at| at.elapsed() >= LINKS_REFRESH);
        let known = &self.known;
        let fresh: Vec<u32> = if all {
            ids.clone()
        } else {
            ids.iter()
                .copied()
                .filter(|id| !known.contains_key(id))
                .collect()
        };
        self.known.retain(|id, _| ids.binary_search(id).is_ok());
        if !fresh.is_empty() {
            let devices = match &self.net {
                Some(net) => {
                    super::iter::read_all(&net.link, &mut self.buf)?;
                    parse_devices(&self.buf)?
                }
                None => HashMap::new(),
            };
            for id in fresh {
                // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
                let Some(fd) = fd_from(unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) })? else {
                    self.known.remove(&id); // detached and freed since GET_NEXT_ID
                    continue;
                };
                let Ok(info) = LinkInfo::from_fd(fd.as_fd()) else {
                    continue;
                };
                let facts = self.describe(&info, &devices);
                self.known.insert(id, facts);
            }
        }
        if all {
            self.described_all = Some(Instant::now());
            if self.functions.len() > FUNCTIONS_KEPT {
                self.functions.clear();
            }
        }
        self.ids = ids;
        let mut links: Vec<LinkFacts> = self.known.values().cloned().collect();
        links.sort_unstable();
        Ok(links)
    }

    fn describe(&mut self, info: &LinkInfo, devices: &HashMap<u32, NetDevice>) -> LinkFacts {
        let (link_type, attach, target): (&str, Option<u32>, String) = match &info.info {
            LinkTypeInfo::RawTracepoint(tp) => ("raw_tracepoint", None, tp.name.clone()),
            LinkTypeInfo::Tracing(t) => {
                let target = self.function(
                    info.prog_id,
                    attach_num(&t.attach_type),
                    t.target_obj_id,
                    t.target_btf_id,
                );
                ("tracing", Some(attach_num(&t.attach_type)), target)
            }
            LinkTypeInfo::Cgroup(c) => (
                "cgroup",
                Some(attach_num(&c.attach_type)),
                self.cgroup(c.cgroup_id),
            ),
            LinkTypeInfo::Iter(it) => ("iter", None, it.target_name.to_string_lossy().into_owned()),
            LinkTypeInfo::NetNs(n) => (
                "netns",
                Some(attach_num(&n.attach_type)),
                netns_words(n.ino, self.own_netns),
            ),
            LinkTypeInfo::Xdp(x) => ("xdp", None, self.device(info.id, x.ifindex, devices)),
            LinkTypeInfo::Tcx(t) => (
                "tcx",
                Some(attach_num(&t.attach_type)),
                self.device(info.id, t.ifindex, devices),
            ),
            LinkTypeInfo::Netkit(n) => (
                "netkit",
                Some(attach_num(&n.attach_type)),
                self.device(info.id, n.ifindex, devices),
            ),
            LinkTypeInfo::StructOps(s) => {
                ("struct_ops", None, format!("struct_ops map {}", s.map_id))
            }
            LinkTypeInfo::Netfilter(n) => (
                "netfilter",
                None,
                netfilter_words(n.protocol_family, n.hooknum, n.priority),
            ),
            LinkTypeInfo::KprobeMulti(k) => (
                "kprobe_multi",
                None,
                format!("{} kernel functions", k.count),
            ),
            LinkTypeInfo::UprobeMulti(u) => {
                let path = u
                    .path
                    .as_deref()
                    .map_or_else(|| "?".to_owned(), |p| p.display().to_string());
                let pid = if u.pid == 0 {
                    String::new()
                } else {
                    format!(", pid {}", u.pid)
                };
                (
                    "uprobe_multi",
                    None,
                    format!("{path} ({} offsets{pid})", u.count),
                )
            }
            LinkTypeInfo::SockMap(s) => (
                "sockmap",
                Some(attach_num(&s.attach_type)),
                format!("sockmap map {}", s.map_id),
            ),
            LinkTypeInfo::PerfEvent(p) => return perf_event(info, &p.event_type),
            LinkTypeInfo::Unknown => ("unknown", None, String::new()),
        };
        LinkFacts {
            prog_id: info.prog_id,
            id: info.id,
            link_type: link_type.to_owned(),
            attach_type: attach.and_then(attach_type_name),
            target,
        }
    }

    /// `veth0`, `veth0 (netns blue)`, or the ifindex when the device is
    /// unknown; never a name from the wrong namespace.
    fn device(&self, link_id: u32, ifindex: u32, devices: &HashMap<u32, NetDevice>) -> String {
        if ifindex == 0 {
            return "detached (its device is gone)".to_owned();
        }
        match devices.get(&link_id) {
            Some(dev) if Some(dev.netns_ino) == self.own_netns || dev.netns_ino == 0 => {
                dev.name.clone()
            }
            Some(dev) => format!(
                "{} ({})",
                dev.name,
                netns_words(dev.netns_ino, self.own_netns)
            ),
            None => format!("ifindex {ifindex}"),
        }
    }

    /// The cgroup's path, or its id when no directory has it. A missing id
    /// walks the tree again (at most every [`CGROUP_REWALK`]) the first time
    /// it is asked for, never again after: a removed cgroup does not make
    /// every pass walk the tree.
    fn cgroup(&mut self, cgroup_id: u64) -> String {
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

    /// The function a tracing link is attached to, by BTF.
    fn function(&mut self, link_prog_id: u32, attach: u32, obj_id: u32, btf_id: u32) -> String {
        if let Some(name) = self.functions.get(&(obj_id, btf_id)) {
            return name.clone();
        }
        let name = if attach == UNKNOWN_ATTACH || obj_id == 0 {
            None
        } else if target_is_program(link_prog_id, obj_id) {
            // freplace: the target is a function of another program.
            prog_btf_id(obj_id)
                .and_then(|id| Btf::by_id(id, None))
                .and_then(|btf| btf.type_name(btf_id))
                .map(|f| format!("{f} in program {obj_id}"))
        } else {
            self.btf.resolve(obj_id, btf_id)
        };
        let name = name.unwrap_or_else(|| format!("BTF object {obj_id} type {btf_id}"));
        self.functions.insert((obj_id, btf_id), name.clone());
        name
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

fn parse_devices(bytes: &[u8]) -> io::Result<HashMap<u32, NetDevice>> {
    let records = super::iter::records(bytes, RECORD_SIZE, "link")?;
    Ok(records
        .map(|rec| {
            let u32_at = |at: usize| {
                let mut b = [0u8; 4];
                b.copy_from_slice(&rec[at..at + 4]);
                u32::from_ne_bytes(b)
            };
            (
                u32_at(0),
                NetDevice {
                    netns_ino: u32_at(8),
                    name: crate::model::KernelName::from_c(&rec[16..32]).to_string(),
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_records_decode() {
        let mut rec = Vec::new();
        rec.extend(7u32.to_ne_bytes());
        rec.extend(3u32.to_ne_bytes());
        rec.extend(4_026_532_000u32.to_ne_bytes());
        rec.extend(0u32.to_ne_bytes());
        rec.extend(b"veth-a\0\0\0\0\0\0\0\0\0\0");
        let devices = parse_devices(&rec).expect("one record");
        assert_eq!(
            devices.get(&7),
            Some(&NetDevice {
                name: "veth-a".to_owned(),
                netns_ino: 4_026_532_000
            })
        );
    }
}
