// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: programs attached to cgroups with BPF_PROG_ATTACH (no link),
 * what `bpftool cgroup tree` shows, without BPF_PROG_QUERY (which needs
 * CAP_NET_ADMIN).
 *
 * Walks every cgroup below the one the iterator was attached with and
 * emits a `struct cgroup_record` (mirrored in src/sampler/links/cgroups.rs)
 * for each program in each of its attach lists that no link put there,
 * with the uapi attach type and the list's flags (BPF_F_ALLOW_OVERRIDE,
 * BPF_F_ALLOW_MULTI).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NO_ATTACH_TYPE 0xffffffffu
#define ATTACH_TYPES 64 /* bound for MAX_CGROUP_BPF_ATTACH_TYPE */
#define PROGS_PER_LIST 64 /* BPF_CGROUP_MAX_PROGS */

struct cgroup_record {
	__u64 cgroup_id;
	__u32 prog_id;
	__u32 attach_type; /* enum bpf_attach_type */
	__u32 flags;
	__u32 order; /* position in its list */
};

/* The uapi attach type of the kernel's internal cgroup attach type
 * `atype`; the internal numbering differs between kernels, so each is
 * matched by name (CO-RE). */
static __always_inline __u32 uapi_attach_type(__u32 atype)
{
#define MAP(internal, uapi)                                                              \
	if (bpf_core_enum_value_exists(enum cgroup_bpf_attach_type, internal) &&        \
	    atype == bpf_core_enum_value(enum cgroup_bpf_attach_type, internal))          \
		return uapi
	MAP(CGROUP_INET_INGRESS, BPF_CGROUP_INET_INGRESS);
	MAP(CGROUP_INET_EGRESS, BPF_CGROUP_INET_EGRESS);
	MAP(CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET_SOCK_CREATE);
	MAP(CGROUP_SOCK_OPS, BPF_CGROUP_SOCK_OPS);
	MAP(CGROUP_DEVICE, BPF_CGROUP_DEVICE);
	MAP(CGROUP_INET4_BIND, BPF_CGROUP_INET4_BIND);
	MAP(CGROUP_INET6_BIND, BPF_CGROUP_INET6_BIND);
	MAP(CGROUP_INET4_CONNECT, BPF_CGROUP_INET4_CONNECT);
	MAP(CGROUP_INET6_CONNECT, BPF_CGROUP_INET6_CONNECT);
	MAP(CGROUP_UNIX_CONNECT, BPF_CGROUP_UNIX_CONNECT);
	MAP(CGROUP_INET4_POST_BIND, BPF_CGROUP_INET4_POST_BIND);
	MAP(CGROUP_INET6_POST_BIND, BPF_CGROUP_INET6_POST_BIND);
	MAP(CGROUP_UDP4_SENDMSG, BPF_CGROUP_UDP4_SENDMSG);
	MAP(CGROUP_UDP6_SENDMSG, BPF_CGROUP_UDP6_SENDMSG);
	MAP(CGROUP_UNIX_SENDMSG, BPF_CGROUP_UNIX_SENDMSG);
	MAP(CGROUP_SYSCTL, BPF_CGROUP_SYSCTL);
	MAP(CGROUP_UDP4_RECVMSG, BPF_CGROUP_UDP4_RECVMSG);
	MAP(CGROUP_UDP6_RECVMSG, BPF_CGROUP_UDP6_RECVMSG);
	MAP(CGROUP_UNIX_RECVMSG, BPF_CGROUP_UNIX_RECVMSG);
	MAP(CGROUP_GETSOCKOPT, BPF_CGROUP_GETSOCKOPT);
	MAP(CGROUP_SETSOCKOPT, BPF_CGROUP_SETSOCKOPT);
	MAP(CGROUP_INET4_GETPEERNAME, BPF_CGROUP_INET4_GETPEERNAME);
	MAP(CGROUP_INET6_GETPEERNAME, BPF_CGROUP_INET6_GETPEERNAME);
	MAP(CGROUP_UNIX_GETPEERNAME, BPF_CGROUP_UNIX_GETPEERNAME);
	MAP(CGROUP_INET4_GETSOCKNAME, BPF_CGROUP_INET4_GETSOCKNAME);
	MAP(CGROUP_INET6_GETSOCKNAME, BPF_CGROUP_INET6_GETSOCKNAME);
	MAP(CGROUP_UNIX_GETSOCKNAME, BPF_CGROUP_UNIX_GETSOCKNAME);
	MAP(CGROUP_INET_SOCK_RELEASE, BPF_CGROUP_INET_SOCK_RELEASE);
#undef MAP
	if (bpf_core_enum_value_exists(enum cgroup_bpf_attach_type, CGROUP_LSM_START) &&
	    atype >= bpf_core_enum_value(enum cgroup_bpf_attach_type, CGROUP_LSM_START) &&
	    atype <= bpf_core_enum_value(enum cgroup_bpf_attach_type, CGROUP_LSM_END))
		return BPF_LSM_CGROUP;
	return NO_ATTACH_TYPE;
}

static __always_inline __u64 as_scalar(const void *ptr)
{
	__u64 value = 0;

	bpf_probe_read_kernel(&value, sizeof(value), &ptr);
	return value;
}

struct walk_ctx {
	struct seq_file *seq;
	__u64 cgroup_id;
	__u64 bpf; /* address of the cgroup's struct cgroup_bpf */
	__u32 types;
};

static long one_type(__u32 atype, struct walk_ctx *ctx)
{
	struct cgroup_record rec = {};
	struct hlist_node *node = NULL;
	__u8 flags = 0;
	__u32 i;

	if (atype >= ctx->types)
		return 1;
	bpf_probe_read_kernel(&node, sizeof(node),
			      (void *)(ctx->bpf + bpf_core_field_offset(struct cgroup_bpf, progs) +
				       atype * sizeof(struct hlist_head)));
	if (!node)
		return 0;
	bpf_probe_read_kernel(&flags, sizeof(flags),
			      (void *)(ctx->bpf + bpf_core_field_offset(struct cgroup_bpf, flags) +
				       atype));
	rec.cgroup_id = ctx->cgroup_id;
	rec.attach_type = uapi_attach_type(atype);
	rec.flags = flags;
	for (i = 0; i < PROGS_PER_LIST && node; i++) {
		struct bpf_prog_list *pl = (void *)node - bpf_core_field_offset(struct bpf_prog_list, node);
		struct bpf_prog *prog = BPF_CORE_READ(pl, prog);

		/* A link's program is the link's to tell. */
		if (prog && !BPF_CORE_READ(pl, link)) {
			rec.prog_id = BPF_CORE_READ(prog, aux, id);
			rec.order = i;
			bpf_seq_write(ctx->seq, &rec, sizeof(rec));
		}
		node = BPF_CORE_READ(node, next);
	}
	return 0;
}

SEC("iter/cgroup")
int dump_cgroup(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;
	struct walk_ctx walk = {};

	if (!cgrp)
		return 0;
	walk.seq = ctx->meta->seq;
	walk.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	walk.bpf = as_scalar(cgrp) + bpf_core_field_offset(struct cgroup, bpf);
	walk.types = bpf_core_field_size(struct cgroup_bpf, flags); /* one u8 per type */
	bpf_loop(ATTACH_TYPES, one_type, &walk, 0);
	return 0;
}
