// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: every BPF link and what it is attached to, in one read.
 *
 * The syscall path needs CAP_SYS_ADMIN for each link (BPF_LINK_GET_NEXT_ID,
 * BPF_LINK_GET_FD_BY_ID) and then BPF_OBJ_GET_INFO_BY_FD. This iterator
 * reads the same from the kernel's own objects and emits one
 * `struct link_record` (mirrored in src/sampler/links/records.rs) per link,
 * so the helper can read links without CAP_SYS_ADMIN. Network devices are
 * named here too: link info gives only an ifindex, which names a different
 * device in every network namespace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "perf_target.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_PARTS 8
#define PART_LEN (TEXT_LEN / PATH_PARTS)
#define NO_ATTACH_TYPE 0xffffffffu

struct link_record {
	__u32 id;
	__u32 prog_id;
	__u32 type;        /* enum bpf_link_type */
	__u32 attach_type; /* enum bpf_attach_type, or NO_ATTACH_TYPE */
	__u64 num;         /* cgroup id, map id, probe offset, perf config, count */
	__u32 ifindex;
	__u32 netns_ino;   /* the device's or the netns link's namespace */
	__u32 a;           /* perf kind; netfilter family; target program; pid */
	__u32 b;           /* netfilter hook; perf event type */
	__s32 c;           /* netfilter priority */
	__u32 parts;       /* uprobe_multi: path components in text, leaf first */
	char text[TEXT_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct link_record);
} scratch SEC(".maps");

/* Kernels before 6.17 keep the attach type in each link type's own struct. */
struct bpf_link___new {
	enum bpf_attach_type attach_type;
} __attribute__((preserve_access_index));
struct bpf_cgroup_link___old {
	enum bpf_attach_type type;
} __attribute__((preserve_access_index));
struct bpf_netns_link___old {
	enum bpf_attach_type type;
} __attribute__((preserve_access_index));
struct bpf_tracing_link___old {
	enum bpf_attach_type attach_type;
} __attribute__((preserve_access_index));
struct sockmap_link___old {
	enum bpf_attach_type attach_type;
} __attribute__((preserve_access_index));
struct tcx_link___old {
	__u32 location;
} __attribute__((preserve_access_index));

/* Modules and optional parts: their types are there only when built. */
struct netkit_link___bpfscope {
	struct bpf_link link;
	struct net_device *dev;
	__u32 location;
} __attribute__((preserve_access_index));
struct bpf_kprobe_multi_link___bpfscope {
	__u32 cnt;
} __attribute__((preserve_access_index));
static __always_inline __u32 attach_type_of(struct bpf_link *link)
{
	if (bpf_core_field_exists(((struct bpf_link___new *)link)->attach_type))
		return BPF_CORE_READ((struct bpf_link___new *)link, attach_type);
	switch (link->type) {
	case BPF_LINK_TYPE_CGROUP:
		return BPF_CORE_READ((struct bpf_cgroup_link___old *)link, type);
	case BPF_LINK_TYPE_NETNS:
		return BPF_CORE_READ((struct bpf_netns_link___old *)link, type);
	case BPF_LINK_TYPE_TRACING:
		return BPF_CORE_READ((struct bpf_tracing_link___old *)link, attach_type);
	case BPF_LINK_TYPE_SOCKMAP:
		return BPF_CORE_READ((struct sockmap_link___old *)link, attach_type);
	case BPF_LINK_TYPE_TCX:
		return BPF_CORE_READ((struct tcx_link___old *)link, location);
	case BPF_LINK_TYPE_NETKIT:
		return BPF_CORE_READ((struct netkit_link___bpfscope *)link, location);
	default:
		return NO_ATTACH_TYPE;
	}
}

static __always_inline void device(struct link_record *rec, struct net_device *dev)
{
	/* A link whose device went away keeps none: ifindex 0 says so. */
	if (!dev)
		return;
	rec->ifindex = BPF_CORE_READ(dev, ifindex);
	rec->netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	BPF_CORE_READ_STR_INTO(&rec->text, dev, name);
}

/* The file of a uprobe_multi link: up to PATH_PARTS names, leaf first,
 * within its own filesystem. */
static __always_inline void path_parts(struct link_record *rec, struct dentry *dentry)
{
	__u32 i;

	for (i = 0; i < PATH_PARTS; i++) {
		struct dentry *parent;

		if (!dentry)
			break;
		parent = BPF_CORE_READ(dentry, d_parent);
		if (parent == dentry)
			break; /* the root: no name of its own */
		bpf_probe_read_kernel_str(&rec->text[i * PART_LEN], PART_LEN,
					  BPF_CORE_READ(dentry, d_name.name));
		rec->parts = i + 1;
		dentry = parent;
	}
}

SEC("iter/bpf_link")
int dump_link(struct bpf_iter__bpf_link *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_link *link = ctx->link;
	struct link_record *rec;
	struct bpf_prog *target;
	struct task_struct *task;
	__u32 zero = 0;

	if (!link)
		return 0;
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->id = link->id;
	rec->prog_id = BPF_CORE_READ(link, prog, aux, id);
	rec->type = link->type;
	rec->attach_type = attach_type_of(link);

	switch (link->type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
		bpf_probe_read_kernel_str(rec->text, sizeof(rec->text),
					  BPF_CORE_READ((struct bpf_raw_tp_link *)link, btp, tp, name));
		break;
	case BPF_LINK_TYPE_TRACING:
		bpf_probe_read_kernel_str(rec->text, sizeof(rec->text),
					  BPF_CORE_READ(link, prog, aux, attach_func_name));
		target = BPF_CORE_READ((struct bpf_tracing_link *)link, tgt_prog);
		if (target)
			rec->a = BPF_CORE_READ(target, aux, id);
		break;
	case BPF_LINK_TYPE_CGROUP:
		rec->num = BPF_CORE_READ((struct bpf_cgroup_link *)link, cgroup, kn, id);
		break;
	case BPF_LINK_TYPE_ITER:
		bpf_probe_read_kernel_str(rec->text, sizeof(rec->text),
					  BPF_CORE_READ((struct bpf_iter_link *)link, tinfo, reg_info, target));
		break;
	case BPF_LINK_TYPE_NETNS:
		rec->netns_ino = BPF_CORE_READ((struct bpf_netns_link *)link, net, ns.inum);
		break;
	case BPF_LINK_TYPE_XDP:
		device(rec, BPF_CORE_READ((struct bpf_xdp_link *)link, dev));
		break;
	case BPF_LINK_TYPE_TCX:
		if (bpf_core_type_exists(struct tcx_link))
			device(rec, BPF_CORE_READ((struct tcx_link *)link, dev));
		break;
	case BPF_LINK_TYPE_NETKIT:
		if (bpf_core_type_exists(struct netkit_link___bpfscope))
			device(rec, BPF_CORE_READ((struct netkit_link___bpfscope *)link, dev));
		break;
	case BPF_LINK_TYPE_PERF_EVENT: {
		struct file *file = BPF_CORE_READ((struct bpf_perf_link *)link, perf_file);

		describe_perf_event(BPF_CORE_READ(file, private_data),
				    BPF_CORE_READ(link, prog, type), &rec->a, &rec->b, &rec->num,
				    rec->text);
		break;
	}
	case BPF_LINK_TYPE_KPROBE_MULTI:
		if (bpf_core_type_exists(struct bpf_kprobe_multi_link___bpfscope))
			rec->num = BPF_CORE_READ((struct bpf_kprobe_multi_link___bpfscope *)link, cnt);
		break;
	case BPF_LINK_TYPE_STRUCT_OPS:
		rec->num = BPF_CORE_READ((struct bpf_struct_ops_link *)link, map, id);
		break;
	case BPF_LINK_TYPE_NETFILTER:
		if (bpf_core_type_exists(struct bpf_nf_link)) {
			rec->a = BPF_CORE_READ((struct bpf_nf_link *)link, hook_ops.pf);
			rec->b = BPF_CORE_READ((struct bpf_nf_link *)link, hook_ops.hooknum);
			rec->c = BPF_CORE_READ((struct bpf_nf_link *)link, hook_ops.priority);
		}
		break;
	case BPF_LINK_TYPE_UPROBE_MULTI:
		if (bpf_core_type_exists(struct bpf_uprobe_multi_link)) {
			struct bpf_uprobe_multi_link *um = (void *)link -
				bpf_core_field_offset(struct bpf_uprobe_multi_link, link);

			rec->num = BPF_CORE_READ(um, cnt);
			task = BPF_CORE_READ(um, task);
			if (task)
				rec->a = BPF_CORE_READ(task, tgid);
			path_parts(rec, BPF_CORE_READ(um, path.dentry));
		}
		break;
	case BPF_LINK_TYPE_SOCKMAP:
		if (bpf_core_type_exists(struct sockmap_link))
			rec->num = BPF_CORE_READ((struct sockmap_link *)link, map, id);
		break;
	default:
		break;
	}
	bpf_seq_write(seq, rec, sizeof(*rec));
	return 0;
}
