// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: which processes hold which BPF programs.
 *
 * Walks every open file of every process (threads sharing a file table are
 * visited once) and emits a `struct owner_record` (mirrored by `OwnerRecord`
 * in src/sampler/owners.rs) for each file that is a BPF program ("bpf-prog")
 * or a BPF link ("bpf_link", whose program is what the process keeps
 * running), and for each perf event ("[perf_event]") that runs a program
 * set with PERF_EVENT_IOC_SET_BPF — how bpftrace, BCC and older libbpf
 * attach tracepoints, kprobes and uprobes, with no BPF link — a record
 * followed by a `struct perf_block` saying what the event is attached to.
 *
 * Files are recognised by the name of their anonymous-inode dentry rather
 * than by comparing f_op with &bpf_prog_fops: that needs the kernel data
 * symbol to resolve through kallsyms, which kernels built without
 * CONFIG_KALLSYMS_ALL do not allow. Before any name is read, the file's
 * inode must live on the anonymous-inode filesystem, which only the kernel
 * creates files on, and its name must be exactly eight (or, for a perf
 * event, twelve) bytes long: an ordinary file costs two loads, and a FIFO
 * or a regular file that a user named "bpf-prog" is never read as a
 * program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "perf_target.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/uapi/linux/magic.h */
#define ANON_INODE_FS_MAGIC 0x09041934

/* What the record's process has (owner_record.kind). */
enum owner_kind {
	HOLDS_PROGRAM = 0, /* the program itself or a link to it */
	PERF_EVENT_RUNS = 1, /* a perf event running it; a perf_block follows */
};

struct owner_record {
	__u32 prog_id;
	__u32 pid;
	char comm[16];
	__u32 kind;
	__u32 fd;
};

struct perf_block {
	__u32 kind; /* enum perf_kind */
	__u32 type; /* a plain perf event's perf type */
	__u64 num;  /* probe offset or event config */
	char text[TEXT_LEN];
};

struct owner_out {
	struct owner_record rec;
	struct perf_block perf;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct owner_out);
} scratch SEC(".maps");

static __always_inline void fill_owner(struct owner_record *rec, struct task_struct *task,
				       struct bpf_prog *prog, __u32 kind, __u32 fd)
{
	rec->prog_id = BPF_CORE_READ(prog, aux, id);
	rec->pid = BPF_CORE_READ(task, tgid);
	bpf_core_read_str(&rec->comm, sizeof(rec->comm), &task->group_leader->comm);
	rec->kind = kind;
	rec->fd = fd;
}

/* A perf event file: emits a record and its perf_block if a program runs
 * on the event. */
static __always_inline int perf_event_file(struct seq_file *seq, struct task_struct *task,
					   struct file *file, __u32 fd)
{
	struct perf_event *event = BPF_CORE_READ(file, private_data);
	struct bpf_prog *prog;
	struct owner_out *out;
	__u32 zero = 0;

	if (!event)
		return 0;
	prog = BPF_CORE_READ(event, prog);
	if (!prog)
		return 0;
	out = bpf_map_lookup_elem(&scratch, &zero);
	if (!out)
		return 0;
	__builtin_memset(out, 0, sizeof(*out));
	fill_owner(&out->rec, task, prog, PERF_EVENT_RUNS, fd);
	describe_perf_event(event, BPF_CORE_READ(prog, type), &out->perf.kind, &out->perf.type,
			    &out->perf.num, out->perf.text);
	bpf_seq_write(seq, out, sizeof(*out));
	return 0;
}

SEC("iter/task_file")
int dump_owner(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owner_record rec = {};
	struct bpf_prog *prog = NULL;
	const unsigned char *dname;
	char name[13] = {};
	__u32 len;

	if (!task || !file)
		return 0;

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != ANON_INODE_FS_MAGIC)
		return 0;
	/* "bpf-prog" and "bpf_link" are both eight characters long,
	 * "[perf_event]" twelve. */
	len = BPF_CORE_READ(file, f_path.dentry, d_name.len);
	if (len != 8 && len != 12)
		return 0;

	dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(name, sizeof(name), dname) < 0)
		return 0;

	if (len == 12) {
		if (name[0] == '[' && name[1] == 'p' && name[2] == 'e' && name[3] == 'r' &&
		    name[4] == 'f' && name[5] == '_' && name[6] == 'e' && name[7] == 'v' &&
		    name[8] == 'e' && name[9] == 'n' && name[10] == 't' && name[11] == ']')
			return perf_event_file(seq, task, file, ctx->fd);
		return 0;
	}
	if (name[0] != 'b' || name[1] != 'p' || name[2] != 'f')
		return 0;
	if (name[3] == '-' && name[4] == 'p' && name[5] == 'r' && name[6] == 'o' && name[7] == 'g') {
		prog = BPF_CORE_READ(file, private_data);
	} else if (name[3] == '_' && name[4] == 'l' && name[5] == 'i' && name[6] == 'n' &&
		   name[7] == 'k') {
		struct bpf_link *link = BPF_CORE_READ(file, private_data);

		prog = BPF_CORE_READ(link, prog);
	} else {
		return 0;
	}
	if (!prog)
		return 0;

	fill_owner(&rec, task, prog, HOLDS_PROGRAM, ctx->fd);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
