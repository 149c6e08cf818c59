// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: the network device behind every XDP, tcx and netkit link.
 *
 * BPF_OBJ_GET_INFO_BY_FD reports only an ifindex for these links, and an
 * ifindex means nothing without its network namespace: index 2 is "eth0" on
 * the host and a veth in every container. This iterator reads the device the
 * link holds and emits a `struct netlink_record` (mirrored in
 * src/sampler/links.rs) with the device's name and its namespace's inode.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct netlink_record {
	__u32 link_id;
	__u32 ifindex;
	__u32 netns_ino;
	__u32 pad;
	char name[16];
};

/* netkit is a module: its type is in the module's BTF, if loaded at all. */
struct netkit_link___bpfscope {
	struct bpf_link link;
	struct net_device *dev;
} __attribute__((preserve_access_index));

SEC("iter/bpf_link")
int dump_netlink(struct bpf_iter__bpf_link *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_link *link = ctx->link;
	struct net_device *dev = NULL;
	struct netlink_record rec = {};

	if (!link)
		return 0;
	switch (link->type) {
	case BPF_LINK_TYPE_XDP:
		dev = BPF_CORE_READ((struct bpf_xdp_link *)link, dev);
		break;
	case BPF_LINK_TYPE_TCX:
		if (bpf_core_type_exists(struct tcx_link))
			dev = BPF_CORE_READ((struct tcx_link *)link, dev);
		break;
	case BPF_LINK_TYPE_NETKIT:
		if (bpf_core_type_exists(struct netkit_link___bpfscope))
			dev = BPF_CORE_READ((struct netkit_link___bpfscope *)link, dev);
		break;
	default:
		return 0;
	}
	/* A link whose device went away keeps no device: nothing to name. */
	if (!dev)
		return 0;
	rec.link_id = link->id;
	rec.ifindex = BPF_CORE_READ(dev, ifindex);
	rec.netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	BPF_CORE_READ_STR_INTO(&rec.name, dev, name);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
