/* aegis/hash.h — key hashing and consistent hashing: a ring with virtual
 * nodes, jump consistent hash, and rendezvous (highest random weight).
 * Pure: no clock, no syscalls; memory is allocated at init only.
 *
 * All three map a 64-bit key hash (aeg_hash_key of the key bytes) to nodes.
 * Node ids are uint32_t chosen by the caller. Weights are fixed point in
 * thousandths: AEG_HASH_WEIGHT_ONE (1000) is weight 1.0, 1500 is 1.5.
 *
 * Errors (negative errno): -EINVAL bad argument (n == 0, zero weight, zero
 * buckets ...), -EEXIST duplicate node, -ENOENT unknown node or no nodes at
 * all, -ERANGE n larger than the number of nodes, -ENOSPC capacity full,
 * -ENOMEM at init only. A failed call leaves the object unchanged. */
#ifndef AEGIS_HASH_H
#define AEGIS_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

/* XXH3-64 of the key with a seed. The same key and seed give the same hash
 * on every machine and every run. */
uint64_t aeg_hash_key(const void *key, size_t len, uint64_t seed);

#define AEG_HASH_WEIGHT_ONE 1000u

/* ---- Ring with virtual nodes ------------------------------------------
 *
 * A node of weight w owns round(vnodes * w / 1000) points (half rounds up);
 * a weight that rounds to 0 points is -EINVAL. Point v of node id is
 * XXH3(le32(id) || le32(v), AEG_RING_POINT_SEED): the ring depends only on
 * its set of (id, weight), never on the order of adds and removes, and is the
 * same on every machine. Points are kept sorted by (hash, node id, vnode), so
 * equal point hashes resolve to the lower node id.
 *
 * A key belongs to the first point with hash >= key hash (wrapping), and its
 * replicas are the next distinct nodes walking clockwise.
 *
 * Sizes: 12 bytes per node slot and 32 bytes per point slot (the sorted
 * array plus a merge buffer of the same size), fixed at init. Add and remove
 * are O(points) (control plane); lookup is a binary search, O(log points),
 * plus a short walk for n > 1, and never allocates. */
#define AEG_RING_VNODES_DEFAULT 150u
#define AEG_RING_POINT_SEED 0x6165676973726e67ull /* "aegisrng" */

struct aeg_ring_node {
	uint32_t id;
	uint32_t weight;
	uint32_t points;
};

struct aeg_ring_point {
	uint64_t hash;
	uint32_t node;
	uint32_t vnode;
};

struct aeg_ring {
	struct aeg_ring_node *nodes; /* unordered, nodes_len used */
	struct aeg_ring_point *points; /* sorted, points_len used */
	struct aeg_ring_point *scratch; /* merge buffer, points_max */
	uint32_t nodes_len;
	uint32_t nodes_max;
	uint32_t points_len;
	uint32_t points_max;
	uint32_t vnodes; /* points of a node of weight 1.0 */
};

/* vnodes == 0 means AEG_RING_VNODES_DEFAULT. 0 < nodes_max <= INT32_MAX,
 * 0 < points_max. -ENOMEM if allocation fails. */
int aeg_ring_init(struct aeg_ring *r, uint32_t nodes_max, uint32_t points_max,
		  uint32_t vnodes);
void aeg_ring_fini(struct aeg_ring *r);

/* -EEXIST, -EINVAL (weight rounds to 0 points), -ENOSPC (nodes or points). */
int aeg_ring_add(struct aeg_ring *r, uint32_t id, uint32_t weight);
/* -ENOENT if id is not on the ring. */
int aeg_ring_remove(struct aeg_ring *r, uint32_t id);

/* Writes n distinct node ids to out, primary first. Returns 0, -EINVAL
 * (n == 0), -ENOENT (empty ring) or -ERANGE (n > nodes). */
int aeg_ring_get_nodes(const struct aeg_ring *r, uint64_t key_hash,
		       uint32_t *out, uint32_t n);

/* ---- Jump consistent hash (Lamping & Veach 2014) -----------------------
 *
 * Bucket in [0, buckets) for the key hash, or -EINVAL if buckets <= 0.
 * Growing from b to b + 1 buckets moves only keys into bucket b; buckets can
 * only be added or removed at the end. No memory, O(ln buckets). */
int32_t aeg_jump_hash(uint64_t key_hash, int32_t buckets);

/* ---- Rendezvous (highest random weight) --------------------------------
 *
 * Node i scores the key by h_i = mix(key_hash ^ XXH3(le32(id), seed)) mapped
 * to u_i in (0, 1), and score_i = -w_i / ln(u_i) (weighted HRW, Resch
 * "Weighted distributed hash tables"): node i wins with probability
 * w_i / sum(w). The top n scores are the replicas, best first; equal scores
 * resolve to the lower id. When every weight is equal the hashes are
 * compared as integers (no floating point at all); otherwise ln is computed
 * by lib/hash (not libm) in plain IEEE double operations with contraction
 * into FMA disabled, so every machine that evaluates doubles in double
 * precision (FLT_EVAL_METHOD 0: x86-64, arm64; not x87) gets the same bits.
 *
 * Sizes: 16 bytes per node slot, fixed at init. Lookup is O(nodes * n) with
 * n <= AEG_HRW_N_MAX, no allocation. */
#define AEG_HRW_N_MAX 16u
#define AEG_HRW_NODE_SEED 0x6165676973687277ull /* "aegishrw" */

struct aeg_hrw_node {
	uint64_t hash; /* XXH3 of the id: the node's seed for scoring */
	uint32_t id;
	uint32_t weight;
};

struct aeg_hrw {
	struct aeg_hrw_node *nodes; /* unordered, nodes_len used */
	uint32_t nodes_len;
	uint32_t nodes_max;
	int uniform; /* every weight equal: integer scores */
};

/* 0 < nodes_max <= INT32_MAX, else -EINVAL; -ENOMEM. */
int aeg_hrw_init(struct aeg_hrw *h, uint32_t nodes_max);
void aeg_hrw_fini(struct aeg_hrw *h);
/* -EEXIST, -EINVAL (weight 0), -ENOSPC. */
int aeg_hrw_add(struct aeg_hrw *h, uint32_t id, uint32_t weight);
/* -ENOENT. */
int aeg_hrw_remove(struct aeg_hrw *h, uint32_t id);
/* Writes n distinct node ids to out, best first. Returns 0, -EINVAL (n == 0
 * or n > AEG_HRW_N_MAX), -ENOENT (no nodes) or -ERANGE (n > nodes). */
int aeg_hrw_get_nodes(const struct aeg_hrw *h, uint64_t key_hash,
		      uint32_t *out, uint32_t n);

AEG_API_END

#endif
