/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpfscope: what a perf event that runs a BPF program is attached to, read
 * from the kernel's own objects: the tracepoint, the kprobe's function and
 * offset, the uprobe's file and offset, or the perf event's type and
 * config. Shared by links.bpf.c (perf-event links) and owners.bpf.c (perf
 * events that run a program set with PERF_EVENT_IOC_SET_BPF, no link).
 */
#ifndef BPFSCOPE_PERF_TARGET_H
#define BPFSCOPE_PERF_TARGET_H

#define TEXT_LEN 256

/* What a perf event is. */
enum perf_kind {
	PERF_UNKNOWN = 0,
	PERF_TRACEPOINT = 1,
	PERF_KPROBE = 2,
	PERF_KRETPROBE = 3,
	PERF_UPROBE = 4,
	PERF_URETPROBE = 5,
	PERF_EVENT = 6,
};

/* kprobes are optional: their types are there only when built. */
struct kprobe___bpfscope {
	unsigned int offset;
} __attribute__((preserve_access_index));
struct kretprobe___bpfscope {
	struct kprobe___bpfscope kp;
	void *handler;
} __attribute__((preserve_access_index));
struct trace_kprobe___bpfscope {
	struct kretprobe___bpfscope rp;
	const char *symbol;
	struct trace_probe tp;
} __attribute__((preserve_access_index));

/* The first probe of a dynamic (k/u)probe event: what the kernel's
 * trace_probe_primary_from_call() returns. */
static __always_inline struct trace_probe *primary_probe(struct trace_event_call *call)
{
	struct trace_probe_event *tpe;
	struct list_head *first;

	tpe = (void *)call - bpf_core_field_offset(struct trace_probe_event, call);
	first = BPF_CORE_READ(tpe, probes.next);
	if (!first || first == (void *)tpe + bpf_core_field_offset(struct trace_probe_event, probes))
		return NULL;
	return (void *)first - bpf_core_field_offset(struct trace_probe, list);
}

/* What bpf_get_perf_event_info() tells BPF_OBJ_GET_INFO_BY_FD about the
 * perf event `event` that runs a program of type `prog_type`: its kind
 * (enum perf_kind), the perf type of a plain perf event, the probe offset or
 * event config, and the tracepoint, function or file name (TEXT_LEN bytes). */
static __always_inline void describe_perf_event(struct perf_event *event, __u32 prog_type,
						__u32 *kind, __u32 *type, __u64 *num, char *text)
{
	struct trace_event_call *call;
	struct trace_probe *tp;
	int flags;

	if (!event)
		return;
	if (prog_type == BPF_PROG_TYPE_PERF_EVENT) {
		*kind = PERF_EVENT;
		*type = BPF_CORE_READ(event, attr.type);
		*num = BPF_CORE_READ(event, attr.config);
		return;
	}
	call = BPF_CORE_READ(event, tp_event);
	if (!call)
		return;
	flags = BPF_CORE_READ(call, flags);
	if (flags & TRACE_EVENT_FL_UPROBE) {
		struct trace_uprobe *tu;

		tp = primary_probe(call);
		if (!tp)
			return;
		tu = (void *)tp - bpf_core_field_offset(struct trace_uprobe, tp);
		*kind = BPF_CORE_READ(tu, consumer.ret_handler) ? PERF_URETPROBE : PERF_UPROBE;
		*num = BPF_CORE_READ(tu, offset);
		bpf_probe_read_kernel_str(text, TEXT_LEN, BPF_CORE_READ(tu, filename));
	} else if (flags & TRACE_EVENT_FL_KPROBE) {
		struct trace_kprobe___bpfscope *tk;

		if (!bpf_core_type_exists(struct trace_kprobe___bpfscope))
			return;
		tp = primary_probe(call);
		if (!tp)
			return;
		tk = (void *)tp - bpf_core_field_offset(struct trace_kprobe___bpfscope, tp);
		*kind = BPF_CORE_READ(tk, rp.handler) ? PERF_KRETPROBE : PERF_KPROBE;
		*num = BPF_CORE_READ(tk, rp.kp.offset);
		bpf_probe_read_kernel_str(text, TEXT_LEN, BPF_CORE_READ(tk, symbol));
	} else if (flags & TRACE_EVENT_FL_TRACEPOINT) {
		*kind = PERF_TRACEPOINT;
		bpf_probe_read_kernel_str(text, TEXT_LEN, BPF_CORE_READ(call, tp, name));
	} else {
		/* Syscall tracepoints are events of their own, named directly. */
		*kind = PERF_TRACEPOINT;
		bpf_probe_read_kernel_str(text, TEXT_LEN, BPF_CORE_READ(call, name));
	}
}

#endif
