// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpfscope: programs' fixed facts and every map, without opening either.
 *
 * BPF_PROG_GET_FD_BY_ID and BPF_MAP_GET_FD_BY_ID need CAP_SYS_ADMIN. These
 * iterators read what BPF_OBJ_GET_INFO_BY_FD would tell from the kernel's
 * own objects, so the helper can describe new programs after it has given
 * CAP_SYS_ADMIN up:
 *
 * - `dump_facts` emits a `struct facts_record` (mirrored in
 *   src/sampler/facts/records.rs) for each program whose id is at least
 *   `wanted[0]`: new programs almost always have the highest ids, so a pass
 *   that finds a few new programs writes a few records.
 * - `dump_map` emits a `struct map_record` for every map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_MAPS 64 /* MAX_USED_MAPS in the kernel */
#define NAME_LEN 128

struct facts_record {
	__u32 id;
	__u32 uid;
	__u64 load_time_ns;
	__u32 flags; /* bit 0: GPL compatible, bit 1: JITed */
	__u32 xlated_bytes;
	__u32 jited_bytes;
	__u32 verified_insns;
	__u32 pages; /* memlock, in pages */
	__u32 btf_id;
	__u32 nr_maps; /* as the kernel counts them; at most MAX_MAPS in map_ids */
	__u32 has_name;
	__u32 map_ids[MAX_MAPS];
	char name[NAME_LEN]; /* the BTF name of the program's function */
};

struct map_record {
	__u32 id;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 pad;
	char name[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wanted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct facts_record);
} scratch SEC(".maps");

struct jited_ctx {
	struct bpf_prog **func;
	__u32 total;
};

static long add_jited(__u32 i, struct jited_ctx *ctx)
{
	struct bpf_prog *func = NULL;

	bpf_probe_read_kernel(&func, sizeof(func), &ctx->func[i]);
	if (func)
		ctx->total += BPF_CORE_READ(func, jited_len);
	return 0;
}

/* The name of type `type_id` in program BTF `btf`, as btf_type_by_id()
 * and btf_name_by_offset() find it; false when it is not in `btf` itself. */
static __always_inline bool btf_name(struct btf *btf, __u32 type_id, char *out)
{
	__u32 start_id = BPF_CORE_READ(btf, start_id);
	__u32 start_str = BPF_CORE_READ(btf, start_str_off);
	struct btf_type **types = BPF_CORE_READ(btf, types);
	struct btf_type *type = NULL;
	const char *strings;
	__u32 name_off;

	if (type_id < start_id || type_id - start_id >= BPF_CORE_READ(btf, nr_types))
		return false;
	bpf_probe_read_kernel(&type, sizeof(type), &types[type_id - start_id]);
	if (!type)
		return false;
	name_off = BPF_CORE_READ(type, name_off);
	if (name_off < start_str)
		return false;
	strings = BPF_CORE_READ(btf, strings);
	return bpf_probe_read_kernel_str(out, NAME_LEN, strings + (name_off - start_str)) > 1;
}

SEC("iter/bpf_prog")
int dump_facts(struct bpf_iter__bpf_prog *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_prog *prog = ctx->prog;
	struct bpf_prog_aux *aux;
	struct facts_record *rec;
	struct bpf_map **used;
	struct btf *btf;
	__u32 zero = 0, *from, i, cnt, func_cnt;

	if (!prog)
		return 0;
	aux = prog->aux;
	from = bpf_map_lookup_elem(&wanted, &zero);
	if (!from || aux->id < *from)
		return 0;
	rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	__builtin_memset(rec, 0, sizeof(*rec));

	rec->id = aux->id;
	rec->uid = BPF_CORE_READ(aux, user, uid.val);
	rec->load_time_ns = aux->load_time;
	if (BPF_CORE_READ_BITFIELD_PROBED(prog, gpl_compatible))
		rec->flags |= 1;
	if (BPF_CORE_READ_BITFIELD_PROBED(prog, jited))
		rec->flags |= 2;
	rec->xlated_bytes = prog->len * sizeof(struct bpf_insn);
	func_cnt = aux->func_cnt;
	if (func_cnt) {
		struct jited_ctx jc = { .func = aux->func };

		bpf_loop(func_cnt, add_jited, &jc, 0);
		rec->jited_bytes = jc.total;
	} else {
		rec->jited_bytes = prog->jited_len;
	}
	rec->verified_insns = aux->verified_insns;
	rec->pages = prog->pages;

	cnt = aux->used_map_cnt;
	rec->nr_maps = cnt;
	used = aux->used_maps;
	for (i = 0; i < MAX_MAPS && i < cnt; i++) {
		struct bpf_map *map = NULL;

		bpf_probe_read_kernel(&map, sizeof(map), &used[i]);
		if (map)
			rec->map_ids[i] = BPF_CORE_READ(map, id);
	}

	btf = aux->btf;
	if (btf) {
		rec->btf_id = BPF_CORE_READ(btf, id);
		if (aux->func_info_cnt > 0 && aux->func_info) {
			__u32 type_id = BPF_CORE_READ(aux, func_info, type_id);

			rec->has_name = btf_name(btf, type_id, rec->name);
		}
	}
	bpf_seq_write(seq, rec, sizeof(*rec));
	return 0;
}

SEC("iter/bpf_map")
int dump_map(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map *map = ctx->map;
	struct map_record rec = {};

	if (!map)
		return 0;
	rec.id = map->id;
	rec.type = map->map_type;
	rec.key_size = map->key_size;
	rec.value_size = map->value_size;
	rec.max_entries = map->max_entries;
	__builtin_memcpy(rec.name, map->name, sizeof(rec.name));
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
