use std::borrow::Cow;

/// Names of `enum bpf_prog_type`, as `bpftool` and libbpf print them.
const PROG_TYPE_NAMES: &[&str] = &[
    "unspec",
    "socket_filter",
    "kprobe",
    "sched_cls",
    "sched_act",
    "tracepoint",
    "xdp",
    "perf_event",
    "cgroup_skb",
    "cgroup_sock",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "sock_ops",
    "sk_skb",
    "cgroup_device",
    "sk_msg",
    "raw_tracepoint",
    "cgroup_sock_addr",
    "lwt_seg6local",
    "lirc_mode2",
    "sk_reuseport",
    "flow_dissector",
    "cgroup_sysctl",
    "raw_tracepoint_writable",
    "cgroup_sockopt",
    "tracing",
    "struct_ops",
    "ext",
    "lsm",
    "sk_lookup",
    "syscall",
    "netfilter",
];

/// The lower-case name of a BPF program type number; `type_<n>` for numbers
/// newer than this build knows.
#[must_use]
pub fn prog_type_name(prog_type: u32) -> Cow<'static, str> {
    match PROG_TYPE_NAMES.get(prog_type as usize) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(format!("type_{prog_type}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_use_bpftool_names() {
        assert_eq!(prog_type_name(1), "socket_filter");
        assert_eq!(prog_type_name(6), "xdp");
        assert_eq!(prog_type_name(26), "tracing");
        assert_eq!(prog_type_name(29), "lsm");
        assert_eq!(prog_type_name(32), "netfilter");
    }

    #[test]
    fn unknown_types_are_numbered() {
        assert_eq!(prog_type_name(33), "type_33");
        assert_eq!(prog_type_name(u32::MAX), format!("type_{}", u32::MAX));
    }
}
