//! Programs attached to cgroups without a link (`BPF_PROG_ATTACH`, as
//! `bpftool cgroup attach` does), from the `iter/cgroup` iterator in
//! `src/bpf/cgroups.bpf.c`: no `BPF_PROG_QUERY`, which needs CAP_NET_ADMIN.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use libbpf_rs::{CgroupIterOpts, CgroupIterOrder, IterOpts, Link, Object};

use super::super::iter::{self, u32_at, u64_at};

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cgroups.bpf.o"));
/// Size of `struct cgroup_record` in `cgroups.bpf.c`.
const RECORD_SIZE: usize = 24;
/// `BPF_F_ALLOW_OVERRIDE` and `BPF_F_ALLOW_MULTI`.
const ALLOW_OVERRIDE: u32 = 1;
const ALLOW_MULTI: u32 = 2;

/// One program in one cgroup's attach list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct CgroupRecord {
    pub prog_id: u32,
    pub cgroup_id: u64,
    /// `enum bpf_attach_type`, or `u32::MAX` when the kernel's internal
    /// type has no uapi name bpfscope knows.
    pub attach_type: u32,
    pub flags: u32,
}

impl CgroupRecord {
    /// `multi`, `override` or nothing, as bpftool says.
    pub fn flags_words(&self) -> Option<&'static str> {
        if self.flags & ALLOW_MULTI != 0 {
            Some("multi")
        } else if self.flags & ALLOW_OVERRIDE != 0 {
            Some("override")
        } else {
            None
        }
    }
}

/// The loaded cgroup iterator, walking every cgroup below the cgroup v2
/// root.
#[derive(Debug)]
pub(super) struct CgroupIter {
    // Drop order: the link before the object that owns the program.
    link: Link,
    object: Object,
}

impl CgroupIter {
    pub fn load() -> io::Result<Self> {
        let root = crate::sys::cgroup2_root()
            .ok_or_else(|| io::Error::other("no cgroup v2 hierarchy is mounted"))?;
        let root = File::open(root)?;
        let object = iter::load_object(OBJECT)?;
        let mut opts = CgroupIterOpts::from_fd(root.as_fd());
        opts.order = CgroupIterOrder::DescendantsPre;
        let link = object
            .progs_mut()
            .find(|p| p.name() == "dump_cgroup")
            .ok_or_else(|| io::Error::other("no program dump_cgroup"))?
            .attach_iter_with_opts(IterOpts::Cgroup(opts))
            .map_err(iter::to_io)?;
        Ok(Self { link, object })
    }

    pub fn prog_id(&self) -> Option<u32> {
        iter::object_prog_id(&self.object)
    }

    /// Every program attached without a link, sorted.
    pub fn read(&self, buf: &mut Vec<u8>) -> io::Result<Vec<CgroupRecord>> {
        iter::read_all(&self.link, buf)?;
        let mut out: Vec<CgroupRecord> = iter::records(buf, RECORD_SIZE, "cgroup")?
            .map(|rec| CgroupRecord {
                cgroup_id: u64_at(rec, 0),
                prog_id: u32_at(rec, 8),
                attach_type: u32_at(rec, 12),
                flags: u32_at(rec, 16),
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}
