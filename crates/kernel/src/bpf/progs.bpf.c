// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: one pass over every loaded BPF program.
 *
 * For each program this iterator emits a fixed-size `struct prog_record`
 * (mirrored by `ProgRecord` in src/sampler/iter.rs) with the run-time
 * statistics summed over all possible CPUs. One read() of the iterator
 * replaces the four syscalls per program of the GET_NEXT_ID / GET_FD_BY_ID /
 * GET_INFO_BY_FD path.
 *
 * `prog->stats` is a per-CPU pointer. bpf_per_cpu_ptr() cannot be used on it
 * when the kernel's BTF lacks the percpu type tag (GCC-built kernels), so the
 * per-CPU offsets are learned from a per-CPU array map of our own: the address
 * bpf_map_lookup_percpu_elem() returns for a CPU, minus the map's per-CPU base
 * pointer, is that CPU's per-CPU offset.
 *
 * A program whose summed counters changed since this iterator last wrote
 * its per-CPU counters (or that it never wrote) is followed by one
 * `struct cpu_record` per CPU that ever ran it: cumulative counters, which
 * the sampler turns into per-CPU deltas. An unchanged program writes none,
 * so a pass over thousands of idle programs on 128 CPUs stays small.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_CPUS 4096

struct prog_record {
	__u32 id;
	__u32 type;
	__u64 run_time_ns;
	__u64 run_cnt;
	__u64 recursion_misses;
	__u64 load_time_ns;
	__u8 tag[8];
	char name[16];
	__u32 prog_array_refs; /* program arrays it is in (tail calls) */
	__u32 flags;           /* FLAG_* */
	__u32 cpu_records;     /* struct cpu_record that follow */
	__u32 nr_cpus;         /* possible CPUs read */
};

#define FLAG_EXTENDED 1    /* an extension (freplace) replaces it */
#define FLAG_PER_CPU 2     /* per-CPU records follow (counters changed) */
#define FLAG_TOO_MANY 4    /* ran on more CPUs than one record can carry */

struct cpu_record {
	__u32 cpu;
	__u32 pad;
	__u64 run_cnt;
	__u64 run_time_ns;
};

/* One object's output must fit the iterator's seq buffer (8 pages). */
#define MAX_CPU_RECORDS 1024

/* The counters last written per CPU, by program id. An entry evicted (or
 * of an id reused by a new program) only makes the program write again. */
struct written {
	__u64 load_time_ns;
	__u64 run_cnt;
	__u64 run_time_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct written);
} per_cpu_written SEC(".maps");

/* Scratch for one program's per-CPU records. Only the sampler's thread
 * reads this iterator, one instance at a time. Twice the records used, so
 * that a count masked to its bits is a size the verifier sees fits. */
static struct cpu_record cpu_records[2 * MAX_CPU_RECORDS];

/* Kernels before 6.13 do not count program-array memberships. */
struct bpf_prog_aux___members {
	__u64 prog_array_member_cnt;
	bool is_extended;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_probe SEC(".maps");

/* Old kernels (< 5.12) have no `misses` counter. */
struct bpf_prog_stats___old {
	u64_stats_t cnt;
	u64_stats_t nsecs;
} __attribute__((preserve_access_index));

/* Per-CPU offsets, learned once per pass (at the first program). */
_Static_assert((MAX_CPUS & (MAX_CPUS - 1)) == 0, "MAX_CPUS is a power of two");

/* An index the verifier can see is inside cpu_offset[]. */
static __always_inline __u32 cpu_slot(__u32 cpu)
{
	barrier_var(cpu);
	return cpu & (MAX_CPUS - 1);
}

static __u64 cpu_offset[MAX_CPUS];
static __u32 nr_cpus;

static __always_inline __u64 as_scalar(const void *ptr)
{
	__u64 value = 0;

	/* Copy the pointer's bits through the stack so the verifier treats the
	 * result as a plain number: it is only ever used as an address for
	 * bpf_probe_read_kernel(), never dereferenced directly. */
	bpf_probe_read_kernel(&value, sizeof(value), &ptr);
	return value;
}

struct scope_offset_ctx {
	__u64 probe_base;
};

static long learn_one_offset(__u32 cpu, struct scope_offset_ctx *ctx)
{
	__u32 zero = 0;
	void *slot;

	if (cpu >= MAX_CPUS)
		return 1;
	slot = bpf_map_lookup_percpu_elem(&cpu_probe, &zero, cpu);
	if (!slot)
		return 1; /* past nr_cpu_ids */
	cpu_offset[cpu_slot(cpu)] = as_scalar(slot) - ctx->probe_base;
	nr_cpus = cpu + 1;
	return 0;
}

static __always_inline void learn_cpu_offsets(void)
{
	struct scope_offset_ctx ctx = {};

	nr_cpus = 0;
	bpf_probe_read_kernel(&ctx.probe_base, sizeof(ctx.probe_base),
			      (void *)(as_scalar(&cpu_probe) +
				       bpf_core_field_offset(struct bpf_array, pptrs)));
	if (ctx.probe_base)
		bpf_loop(MAX_CPUS, learn_one_offset, &ctx, 0);
}

struct scope_sum_ctx {
	__u64 stats_base;
	__u64 run_cnt;
	__u64 run_time_ns;
	__u64 recursion_misses;
	__u32 records;
	__u32 too_many;
};

static __always_inline void keep_cpu(struct scope_sum_ctx *ctx, __u32 cpu, __u64 cnt,
				     __u64 nsecs)
{
	__u32 at = ctx->records;

	if (!cnt && !nsecs)
		return;
	if (at >= MAX_CPU_RECORDS) {
		ctx->too_many = 1;
		return;
	}
	barrier_var(at);
	at &= MAX_CPU_RECORDS - 1;
	cpu_records[at].cpu = cpu;
	cpu_records[at].pad = 0;
	cpu_records[at].run_cnt = cnt;
	cpu_records[at].run_time_ns = nsecs;
	ctx->records = at + 1;
}

static long add_one_cpu(__u32 cpu, struct scope_sum_ctx *ctx)
{
	__u64 addr;

	if (cpu >= MAX_CPUS)
		return 1;
	addr = ctx->stats_base + cpu_offset[cpu_slot(cpu)];
	if (bpf_core_field_exists(struct bpf_prog_stats, misses)) {
		struct bpf_prog_stats s;

		if (bpf_probe_read_kernel(&s, sizeof(s), (void *)addr))
			return 0;
		ctx->run_cnt += s.cnt.v.a.a.counter;
		ctx->run_time_ns += s.nsecs.v.a.a.counter;
		ctx->recursion_misses += s.misses.v.a.a.counter;
		keep_cpu(ctx, cpu, s.cnt.v.a.a.counter, s.nsecs.v.a.a.counter);
	} else {
		struct bpf_prog_stats___old s;

		if (bpf_probe_read_kernel(&s, sizeof(s), (void *)addr))
			return 0;
		ctx->run_cnt += s.cnt.v.a.a.counter;
		ctx->run_time_ns += s.nsecs.v.a.a.counter;
		keep_cpu(ctx, cpu, s.cnt.v.a.a.counter, s.nsecs.v.a.a.counter);
	}
	return 0;
}

SEC("iter/bpf_prog")
int dump_prog(struct bpf_iter__bpf_prog *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_prog *prog = ctx->prog;
	struct prog_record rec = {};
	struct scope_sum_ctx sum = {};
	struct written *last, now = {};
	__u32 bytes;

	if (!prog)
		return 0;
	if (ctx->meta->seq_num == 0)
		learn_cpu_offsets();

	/* Direct (BTF) loads: no helper call per field. */
	rec.id = prog->aux->id;
	rec.type = prog->type;
	rec.load_time_ns = prog->aux->load_time;
	__builtin_memcpy(rec.tag, prog->tag, sizeof(rec.tag));
	__builtin_memcpy(rec.name, prog->aux->name, sizeof(rec.name));
	/* Direct (BTF) loads, relocated by CO-RE: a helper call here would cost
	 * more than the rest of the record. */
	if (bpf_core_field_exists(((struct bpf_prog_aux___members *)0)->prog_array_member_cnt))
		rec.prog_array_refs =
			((struct bpf_prog_aux___members *)prog->aux)->prog_array_member_cnt;
	if (bpf_core_field_exists(((struct bpf_prog_aux___members *)0)->is_extended) &&
	    ((struct bpf_prog_aux___members *)prog->aux)->is_extended)
		rec.flags |= FLAG_EXTENDED;

	sum.stats_base = as_scalar(prog->stats);
	if (sum.stats_base && nr_cpus)
		bpf_loop(nr_cpus, add_one_cpu, &sum, 0);
	rec.run_cnt = sum.run_cnt;
	rec.run_time_ns = sum.run_time_ns;
	rec.recursion_misses = sum.recursion_misses;
	rec.nr_cpus = nr_cpus;

	now.load_time_ns = rec.load_time_ns;
	now.run_cnt = rec.run_cnt;
	now.run_time_ns = rec.run_time_ns;
	/* A program that never ran has nothing per CPU: no lookup at all. */
	last = (rec.run_cnt || rec.run_time_ns) ? bpf_map_lookup_elem(&per_cpu_written, &rec.id)
						: NULL;
	if ((rec.run_cnt || rec.run_time_ns) &&
	    (!last || last->load_time_ns != now.load_time_ns || last->run_cnt != now.run_cnt ||
	     last->run_time_ns != now.run_time_ns)) {
		rec.flags |= FLAG_PER_CPU;
		if (sum.too_many)
			rec.flags |= FLAG_TOO_MANY;
		else
			rec.cpu_records = sum.records;
	}
	bytes = (rec.cpu_records & (2 * MAX_CPU_RECORDS - 1)) * sizeof(struct cpu_record);

	/* Written only when the whole object was: an object that does not fit
	 * the buffer is shown again by the next read, and must write again. */
	if (bpf_seq_write(seq, &rec, sizeof(rec)))
		return 0;
	if (bytes && bpf_seq_write(seq, cpu_records, bytes))
		return 0;
	if (rec.flags & FLAG_PER_CPU)
		bpf_map_update_elem(&per_cpu_written, &rec.id, &now, BPF_ANY);
	return 0;
}
