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
};

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

static __always_inline __u64 as_scalar(const void *ptr)
{
	__u64 value = 0;

	/* Copy the pointer's bits through the stack so the verifier treats the
	 * result as a plain number: it is only ever used as an address for
	 * bpf_probe_read_kernel(), never dereferenced directly. */
	bpf_probe_read_kernel(&value, sizeof(value), &ptr);
	return value;
}

SEC("iter/bpf_prog")
int dump_prog(struct bpf_iter__bpf_prog *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_prog *prog = ctx->prog;
	struct prog_record rec = {};
	__u64 stats_base, probe_base;
	__u32 zero = 0;
	int cpu;

	if (!prog)
		return 0;

	rec.id = BPF_CORE_READ(prog, aux, id);
	rec.type = BPF_CORE_READ(prog, type);
	rec.load_time_ns = BPF_CORE_READ(prog, aux, load_time);
	bpf_core_read(&rec.tag, sizeof(rec.tag), &prog->tag);
	bpf_core_read(&rec.name, sizeof(rec.name), &prog->aux->name);

	stats_base = as_scalar(BPF_CORE_READ(prog, stats));
	probe_base = 0;
	bpf_probe_read_kernel(&probe_base, sizeof(probe_base),
			      (void *)(as_scalar(&cpu_probe) +
				       bpf_core_field_offset(struct bpf_array, pptrs)));

	if (stats_base && probe_base) {
		for (cpu = 0; cpu < MAX_CPUS; cpu++) {
			void *slot = bpf_map_lookup_percpu_elem(&cpu_probe, &zero, cpu);
			__u64 addr;

			if (!slot)
				break; /* past nr_cpu_ids */
			addr = stats_base + (as_scalar(slot) - probe_base);

			if (bpf_core_field_exists(struct bpf_prog_stats, misses)) {
				struct bpf_prog_stats s = {};

				bpf_probe_read_kernel(&s, sizeof(s), (void *)addr);
				rec.run_cnt += s.cnt.v.a.a.counter;
				rec.run_time_ns += s.nsecs.v.a.a.counter;
				rec.recursion_misses += s.misses.v.a.a.counter;
			} else {
				struct bpf_prog_stats___old s = {};

				bpf_probe_read_kernel(&s, sizeof(s), (void *)addr);
				rec.run_cnt += s.cnt.v.a.a.counter;
				rec.run_time_ns += s.nsecs.v.a.a.counter;
			}
		}
	}

	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
