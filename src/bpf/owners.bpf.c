// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: which processes hold which BPF programs.
 *
 * Walks every open file of every process (threads sharing a file table are
 * visited once) and emits a `struct owner_record` (mirrored by `OwnerRecord`
 * in src/sampler/owners.rs) for each file that is a BPF program ("bpf-prog")
 * or a BPF link ("bpf_link", whose program is what the process keeps
 * running).
 *
 * Files are recognised by the name of their anonymous-inode dentry rather
 * than by comparing f_op with &bpf_prog_fops: that needs the kernel data
 * symbol to resolve through kallsyms, which kernels built without
 * CONFIG_KALLSYMS_ALL do not allow. Before any name is read, the file's
 * inode must live on the anonymous-inode filesystem, which only the kernel
 * creates files on, and its name must be exactly eight bytes long: an
 * ordinary file costs two loads, and a FIFO or a regular file that a user
 * named "bpf-prog" is never read as a program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/uapi/linux/magic.h */
#define ANON_INODE_FS_MAGIC 0x09041934

struct owner_record {
	__u32 prog_id;
	__u32 pid;
	char comm[16];
};

SEC("iter/task_file")
int dump_owner(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owner_record rec = {};
	struct bpf_prog *prog = NULL;
	const unsigned char *dname;
	char name[9] = {};

	if (!task || !file)
		return 0;

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != ANON_INODE_FS_MAGIC)
		return 0;
	/* "bpf-prog" and "bpf_link" are both eight characters long. */
	if (BPF_CORE_READ(file, f_path.dentry, d_name.len) != 8)
		return 0;

	dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(name, sizeof(name), dname) < 0)
		return 0;

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

	rec.prog_id = BPF_CORE_READ(prog, aux, id);
	rec.pid = BPF_CORE_READ(task, tgid);
	bpf_core_read_str(&rec.comm, sizeof(rec.comm), &task->group_leader->comm);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
