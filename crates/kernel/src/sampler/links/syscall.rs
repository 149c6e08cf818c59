//! Links described by the syscall path: `BPF_LINK_GET_FD_BY_ID` and link
//! info, which need CAP_SYS_ADMIN. The iterator path
//! ([`super::records`]) is used wherever it loads; this one on kernels
//! without the `bpf_link` iterator and to check it in the tests.

use std::collections::HashMap;

use libbpf_rs::query::{LinkInfo, LinkTypeInfo};

use super::super::facts::Btf;
use super::super::link_targets::{
    UNKNOWN_ATTACH, attach_num, attach_type_name, netfilter_words, netns_words, perf_event,
    prog_btf_id, target_is_program,
};
use super::{LinkReader, NetDevice};
use crate::model::LinkFacts;

impl LinkReader {
    /// A link's facts from its info (`BPF_OBJ_GET_INFO_BY_FD`).
    pub(super) fn describe_info(
        &mut self,
        info: &LinkInfo,
        devices: &HashMap<u32, NetDevice>,
    ) -> LinkFacts {
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
            LinkTypeInfo::Xdp(x) => ("xdp", None, self.device(x.ifindex, devices.get(&info.id))),
            LinkTypeInfo::Tcx(t) => (
                "tcx",
                Some(attach_num(&t.attach_type)),
                self.device(t.ifindex, devices.get(&info.id)),
            ),
            LinkTypeInfo::Netkit(n) => (
                "netkit",
                Some(attach_num(&n.attach_type)),
                self.device(n.ifindex, devices.get(&info.id)),
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
            via: crate::model::AttachVia::Link,
        }
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
