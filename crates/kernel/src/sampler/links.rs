//! Where programs are attached: every BPF link, with its target in words.
//!
//! Links come from the `iter/bpf_link` iterator in `src/bpf/links.bpf.c`,
//! which reads them from the kernel's own objects and needs no
//! CAP_SYS_ADMIN; only where it cannot load (kernels before 5.19) does the
//! syscall path in [`syscall`] list and open each link by id. Network
//! devices come from the iterator either way: link info gives only an
//! ifindex, which names a different device in every network namespace.

mod attached;
mod cgroups;
mod net;
mod records;
mod syscall;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use std::time::{Duration, Instant};

use libbpf_rs::query::LinkInfo;
use libbpf_rs::{Link, Object};

use super::facts::fd_from;
use super::link_targets::{KernelBtf, link_ids, netns_words};
use crate::model::{AttachVia, LinkFacts};
use cgroups::CgroupIter;
use net::NetReader;
use records::{LinkRecord, Target};

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/links.bpf.o"));
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

impl NetDevice {
    fn of(rec: &LinkRecord) -> Self {
        Self {
            name: rec.text(),
            netns_ino: rec.netns_ino,
        }
    }
}

/// The loaded `iter/bpf_link` iterator.
#[derive(Debug)]
struct LinkIter {
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
    iter: Option<LinkIter>,
    /// Programs attached to cgroups without a link.
    cgroup_iter: Option<CgroupIter>,
    /// What `cgroup_iter` found last, as attachments.
    cgroup_attached: Vec<LinkFacts>,
    /// XDP and tc programs attached through netlink.
    net: Option<NetReader>,
    /// What `net` found last, as attachments.
    net_attached: Vec<LinkFacts>,
    /// Why the last netlink or cgroup read was incomplete.
    net_trouble: Option<String>,
    cgroup_trouble: Option<String>,
    /// List and describe links by syscall even where the iterator loaded
    /// (to check one path against the other).
    by_syscall: bool,
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
    /// Loads the link iterator; where it cannot load (kernels before 5.19),
    /// links are read by syscall (which needs CAP_SYS_ADMIN) and devices are
    /// named by ifindex only, and the returned notice says so. `by_syscall`
    /// reads by syscall even so.
    pub fn new(by_syscall: bool) -> (Self, Vec<String>) {
        let mut notices = Vec::new();
        let iter = match super::iter::load_iterator(OBJECT, "dump_link") {
            Ok((object, link)) => Some(LinkIter { link, object }),
            Err(err) => {
                notices.push(format!(
                    "the bpf_link iterator could not load ({err}): links are read by \
                     syscall, which keeps CAP_SYS_ADMIN, and XDP and tcx attach points show \
                     an interface index, not a device name"
                ));
                None
            }
        };
        let cgroup_iter = match CgroupIter::load() {
            Ok(it) => Some(it),
            Err(err) => {
                notices.push(format!(
                    "programs attached to cgroups without a link are not shown: the cgroup \
                     iterator could not load ({err})"
                ));
                None
            }
        };
        let own_netns = fs::metadata("/proc/self/ns/net")
            .ok()
            .and_then(|m| u32::try_from(m.ino()).ok());
        let net = match NetReader::new() {
            Ok(net) => Some(net),
            Err(err) => {
                notices.push(format!(
                    "XDP and tc programs attached without a link are not shown: no netlink \
                     socket ({err})"
                ));
                None
            }
        };
        let reader = Self {
            iter,
            cgroup_iter,
            cgroup_attached: Vec::new(),
            net,
            net_attached: Vec::new(),
            net_trouble: None,
            cgroup_trouble: None,
            by_syscall,
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
        (reader, notices)
    }

    /// Whether links are read by syscall (CAP_SYS_ADMIN) rather than
    /// through the iterator.
    pub fn needs_syscalls(&self) -> bool {
        self.by_syscall || self.iter.is_none()
    }

    /// The kernel ids of its iterator programs.
    pub fn prog_ids(&self) -> Vec<u32> {
        let links = self
            .iter
            .as_ref()
            .and_then(|n| super::iter::object_prog_id(&n.object));
        let cgroups = self.cgroup_iter.as_ref().and_then(CgroupIter::prog_id);
        links.into_iter().chain(cgroups).collect()
    }

    /// Reads the iterator once, keeping nothing (see
    /// [`super::Sampler::check_reads`]).
    pub fn check_read(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        if let Some(it) = &self.iter {
            super::iter::read_all(&it.link, buf)?;
        }
        if let Some(it) = &self.cgroup_iter {
            it.read(buf)?;
        }
        Ok(())
    }

    /// Why attachments without links may be missing now, if they may.
    pub fn trouble(&self) -> Option<String> {
        match (&self.net_trouble, &self.cgroup_trouble) {
            (None, None) => None,
            (a, b) => Some(
                a.iter()
                    .chain(b.iter())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
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
        let records = match &self.iter {
            Some(it) => {
                super::iter::read_all(&it.link, &mut self.buf)?;
                records::parse(&self.buf)?
            }
            None => Vec::new(),
        };
        let ids = if self.needs_syscalls() {
            link_ids()?
        } else {
            records.iter().map(|r| r.id).collect()
        };
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
            if self.needs_syscalls() {
                self.describe_by_syscall(&fresh, &records)?;
            } else {
                for rec in records
                    .iter()
                    .filter(|r| fresh.binary_search(&r.id).is_ok())
                {
                    let facts = self.describe_record(rec);
                    self.known.insert(rec.id, facts);
                }
            }
        }
        if all {
            self.described_all = Some(Instant::now());
            if self.functions.len() > FUNCTIONS_KEPT {
                self.functions.clear();
            }
        }
        // Attachments without links are read again with the rest, and when
        // a link came or went: a detached XDP link leaves the device empty.
        if all || ids != self.ids {
            self.read_cgroups();
            self.read_net();
        }
        self.ids = ids;
        let mut links: Vec<LinkFacts> = self.known.values().cloned().collect();
        links.extend(self.cgroup_attached.iter().cloned());
        // XDP through a link shows in netlink too: the link says it.
        let by_link: Vec<(u32, String)> = links
            .iter()
            .filter(|l| l.via == AttachVia::Link && l.link_type == "xdp")
            .map(|l| (l.prog_id, l.target.clone()))
            .collect();
        links.extend(
            self.net_attached
                .iter()
                .filter(|a| {
                    a.via != AttachVia::Xdp || !by_link.contains(&(a.prog_id, a.target.clone()))
                })
                .cloned(),
        );
        links.sort_unstable();
        Ok(links)
    }

    fn describe_by_syscall(&mut self, fresh: &[u32], records: &[LinkRecord]) -> io::Result<()> {
        let devices: HashMap<u32, NetDevice> = records
            .iter()
            .filter(|r| r.ifindex != 0)
            .map(|r| (r.id, NetDevice::of(r)))
            .collect();
        for &id in fresh {
            // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
            let Some(fd) = fd_from(unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) })? else {
                self.known.remove(&id); // detached and freed since GET_NEXT_ID
                continue;
            };
            let Ok(info) = LinkInfo::from_fd(fd.as_fd()) else {
                continue;
            };
            let facts = self.describe_info(&info, &devices);
            self.known.insert(id, facts);
        }
        Ok(())
    }

    fn describe_record(&mut self, rec: &LinkRecord) -> LinkFacts {
        let target = match rec.target() {
            Target::Words(words) => words,
            Target::Cgroup(id) => self.cgroup(id),
            Target::Netns(ino) => netns_words(ino, self.own_netns),
            Target::Device => {
                let dev = (rec.ifindex != 0).then(|| NetDevice::of(rec));
                self.device(rec.ifindex, dev.as_ref())
            }
        };
        LinkFacts {
            prog_id: rec.prog_id,
            id: rec.id,
            link_type: rec.type_name().to_owned(),
            attach_type: rec.attach_type(),
            target,
            via: crate::model::AttachVia::Link,
        }
    }

    /// `veth0`, `veth0 (netns blue)`, or the ifindex when the device is
    /// unknown; never a name from the wrong namespace.
    fn device(&self, ifindex: u32, dev: Option<&NetDevice>) -> String {
        if ifindex == 0 {
            return "detached (its device is gone)".to_owned();
        }
        match dev {
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
}
