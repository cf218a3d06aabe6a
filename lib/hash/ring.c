/* Consistent-hash ring with weighted virtual nodes (see aegis/hash.h).
 * Lookups are the hot path; add and remove are control-plane operations
 * that rewrite the sorted point array in O(points). */
#include "aegis/hash.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash/ring_points.h"

int aeg_ring_init(struct aeg_ring *r, uint32_t nodes_max, uint32_t points_max,
		  uint32_t vnodes)
{
	memset(r, 0, sizeof(*r));
	/* Slots are found as int indexes. */
	if (nodes_max == 0 || nodes_max > INT32_MAX || points_max == 0)
		return -EINVAL;
	r->nodes = calloc(nodes_max, sizeof(*r->nodes));
	r->points = calloc(points_max, sizeof(*r->points));
	r->scratch = calloc(points_max, sizeof(*r->scratch));
	if (r->nodes == NULL || r->points == NULL || r->scratch == NULL) {
		aeg_ring_fini(r);
		return -ENOMEM;
	}
	r->nodes_max = nodes_max;
	r->points_max = points_max;
	r->vnodes = vnodes == 0 ? AEG_RING_VNODES_DEFAULT : vnodes;
	return 0;
}

void aeg_ring_fini(struct aeg_ring *r)
{
	free(r->nodes);
	free(r->points);
	free(r->scratch);
	memset(r, 0, sizeof(*r));
}

static int ring_find(const struct aeg_ring *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->nodes_len; i++) {
		if (r->nodes[i].id == id)
			return (int)i;
	}
	return -ENOENT;
}

/* round(vnodes * weight / 1000), half up; 64-bit so it cannot overflow. */
static uint64_t ring_points_for(uint32_t vnodes, uint32_t weight)
{
	return ((uint64_t)vnodes * weight + AEG_HASH_WEIGHT_ONE / 2) /
	       AEG_HASH_WEIGHT_ONE;
}

int aeg_ring_add(struct aeg_ring *r, uint32_t id, uint32_t weight)
{
	if (ring_find(r, id) >= 0)
		return -EEXIST;
	uint64_t points = ring_points_for(r->vnodes, weight);
	if (points == 0)
		return -EINVAL;
	if (r->nodes_len == r->nodes_max ||
	    points > (uint64_t)(r->points_max - r->points_len))
		return -ENOSPC;

	for (uint32_t v = 0; v < points; v++) {
		r->scratch[v] = (struct aeg_ring_point){
			.hash = aeg_ring_point_hash(id, v),
			.node = id,
			.vnode = v,
		};
	}
	aeg_ring_points_sort(r->scratch, (uint32_t)points);
	aeg_ring_points_merge(r, r->scratch, (uint32_t)points);
	r->nodes[r->nodes_len++] = (struct aeg_ring_node){
		.id = id,
		.weight = weight,
		.points = (uint32_t)points,
	};
	return 0;
}

int aeg_ring_remove(struct aeg_ring *r, uint32_t id)
{
	int slot = ring_find(r, id);
	if (slot < 0)
		return slot;

	/* Filtering keeps the remaining points sorted: no re-sort needed. */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < r->points_len; i++) {
		if (r->points[i].node != id)
			r->points[kept++] = r->points[i];
	}
	assert(r->points_len - kept == r->nodes[slot].points);
	r->points_len = kept;
	r->nodes[slot] = r->nodes[--r->nodes_len];
	return 0;
}

static bool ids_contain(const uint32_t *ids, uint32_t len, uint32_t id)
{
	for (uint32_t i = 0; i < len; i++) {
		if (ids[i] == id)
			return true;
	}
	return false;
}

int aeg_ring_get_nodes(const struct aeg_ring *r, uint64_t key_hash,
		       uint32_t *out, uint32_t n)
{
	if (n == 0)
		return -EINVAL;
	if (r->nodes_len == 0)
		return -ENOENT;
	if (n > r->nodes_len)
		return -ERANGE;

	uint32_t i = aeg_ring_points_lower_bound(r->points, r->points_len, key_hash);
	uint32_t found = 0;
	/* Every node owns >= 1 point, so one lap finds n <= nodes_len of them. */
	for (uint32_t step = 0; found < n; step++) {
		assert(step < r->points_len);
		if (i == r->points_len)
			i = 0;
		uint32_t id = r->points[i++].node;
		if (!ids_contain(out, found, id))
			out[found++] = id;
	}
	return 0;
}
