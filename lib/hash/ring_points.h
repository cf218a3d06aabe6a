/* Internal: the ring's sorted point array — deriving points, ordering,
 * merging a node's points in, and the binary search used by lookups.
 * Exposed to tests so that point-hash collisions can be forced. */
#ifndef AEGIS_HASH_RING_POINTS_H
#define AEGIS_HASH_RING_POINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/hash.h"

/* Hash of point vnode of node id (see aegis/hash.h). */
uint64_t aeg_ring_point_hash(uint32_t id, uint32_t vnode);

/* The ring's total order: hash, then node id, then vnode. */
bool aeg_ring_point_less(const struct aeg_ring_point *a,
			 const struct aeg_ring_point *b);

/* Heapsort: in place, no allocation. */
void aeg_ring_points_sort(struct aeg_ring_point *p, uint32_t len);

/* Merges sorted add[0..add_len) into sorted r->points; the caller has
 * checked capacity. add may be r->scratch. */
void aeg_ring_points_merge(struct aeg_ring *r, const struct aeg_ring_point *add,
			   uint32_t add_len);

/* Index of the first point with hash >= key_hash, or len if there is none. */
uint32_t aeg_ring_points_lower_bound(const struct aeg_ring_point *p, uint32_t len,
				     uint64_t key_hash);

#endif
