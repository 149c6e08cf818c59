// SPDX-License-Identifier: GPL-2.0
/* bpfscope's tests: an XDP program and a tc classifier for `ip link set …
 * xdp` and `tc filter add … bpf` to load from a file (no maps, nothing a
 * kernel could refuse). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int bpfscope_net_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int bpfscope_net_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}
