/* lib/shard internals: the map's arrays and the checks build and decode
 * share. */
#ifndef AEGIS_SHARD_INT_H
#define AEGIS_SHARD_INT_H

#include "aegis/shard.h"
#include "common/key_order.h"

struct aeg_shard_map {
	uint64_t epoch;
	uint32_t node_count;
	uint32_t shard_count;
	uint32_t rf;
	uint32_t workers;
	enum aeg_shard_strategy strategy;
	struct aeg_shard_node *nodes; /* node_count, ascending id */
	uint32_t *replicas;           /* shard_count * rf node ids, preferred leader first */
	/* range: n_ranges ranges in key order; range k on range_shard[k], from
	 * bound k = bound_data[bound_off[k] .. bound_off[k+1]) (bound 0 empty:
	 * -inf) to bound k+1; range_of[shard] its range, UINT32_MAX: spare */
	uint32_t n_ranges;
	uint32_t *range_shard;
	uint32_t *range_of;
	uint32_t *bound_off;
	uint8_t *bound_data;
	/* The meta group's voters: fixed when the cluster was formed (from the
	 * nodes the map was built from), kept by aeg_shard_map_placed when
	 * nodes join; a decoded map computes them from its nodes. */
	uint32_t meta[AEG_SHARD_META_VOTERS_MAX];
	uint32_t meta_n;
	/* list: assignments sorted by (key, exact before prefix), their keys
	 * back to back, the distinct prefix lengths longest first */
	struct shard_assign *assign;
	uint8_t *assign_data;
	uint32_t assign_count, assign_bytes;
	uint32_t *plens;
	uint32_t n_plens;
	uint64_t time_bucket;         /* time: keys' time units per bucket */
};

struct shard_assign {
	uint32_t off, len, shard;
	uint8_t prefix;
};

/* The list's assignments (sorted, checked: lengths, shards < shard_count,
 * no key twice): 0, -EINVAL, -ENOMEM. Free with shard_assign_free. */
int shard_assign_set(struct aeg_shard_map *m, const struct aeg_shard_assign *a, uint32_t n);
/* to gets from's assignments and time bucket. 0 or -ENOMEM. */
int shard_assign_copy(struct aeg_shard_map *to, const struct aeg_shard_map *from);
void shard_assign_free(struct aeg_shard_map *m);

/* The meta voters of a map's sorted node list (the rule of aegis/shard.h). */
void shard_meta_voters_set(struct aeg_shard_map *m);

/* A map with its arrays allocated (contents zero). NULL on -ENOMEM. */
struct aeg_shard_map *shard_map_alloc(uint32_t node_count, uint32_t shard_count, uint32_t rf);

/* shard_ranges.c: the range table (checked: n in 1..shard_count, bound 0
 * empty, bounds ascending, shards distinct and < shard_count): 0, -EINVAL,
 * -ENOMEM; a copy of from's; the range a key falls in; free. */
int shard_ranges_set(struct aeg_shard_map *m, const struct aeg_shard_range *r, uint32_t n);
int shard_ranges_copy(struct aeg_shard_map *to, const struct aeg_shard_map *from);
uint32_t shard_range_find(const struct aeg_shard_map *m, const void *key, size_t len);
void shard_ranges_free(struct aeg_shard_map *m);

/* Rules of aegis/shard.h on the scalar fields and on one node. */
bool shard_params_ok(uint32_t node_count, uint32_t shard_count, uint32_t rf, uint32_t workers,
		     uint32_t strategy);
bool shard_node_ok(const struct aeg_shard_node *n, uint32_t workers);
/* Index of the node with this id in m->nodes, or -1. */
int shard_node_index(const struct aeg_shard_map *m, uint32_t id);

#endif
