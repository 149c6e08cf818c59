// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope's tests: programs of the kinds users attach through BPF links,
 * each doing nothing, and one map with a known name and type. Loaded by
 * `bpfscope_kernel::test_support::AttachTestObject`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} bpfscope_hits SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 one = 1, *hits = bpf_map_lookup_elem(&bpfscope_hits, &key);

	if (hits)
		__sync_fetch_and_add(hits, 1);
	else
		bpf_map_update_elem(&bpfscope_hits, &key, &one, BPF_ANY);
}

/* A name longer than the kernel's 15 bytes: its BTF keeps all of it. */
SEC("raw_tp/sys_enter")
int bpfscope_raw_tracepoint_with_a_long_name(void *ctx)
{
	return 0;
}

SEC("cgroup_skb/ingress")
int bpfscope_cgroup_ingress(struct __sk_buff *skb)
{
	count(1);
	return 1;
}

SEC("xdp")
int bpfscope_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("uprobe")
int bpfscope_uprobe(void *ctx)
{
	return 0;
}

SEC("fentry/bpf_fentry_test1")
int bpfscope_fentry(void *ctx)
{
	return 0;
}
