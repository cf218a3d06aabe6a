/* The ring's sorted point array: derivation, order, merge, search. */
#include "hash/ring_points.h"

#include <assert.h>

#include "common/codec.h"

uint64_t aeg_ring_point_hash(uint32_t id, uint32_t vnode)
{
	/* Explicit little-endian bytes: the same points on every machine. */
	uint8_t buf[8];
	struct aeg_writer w;

	aeg_writer_init(&w, buf, sizeof(buf));
	aeg_put_u32(&w, id);
	aeg_put_u32(&w, vnode);
	assert(!w.error && w.len == sizeof(buf));
	return aeg_hash_key(buf, w.len, AEG_RING_POINT_SEED);
}

bool aeg_ring_point_less(const struct aeg_ring_point *a,
			 const struct aeg_ring_point *b)
{
	if (a->hash != b->hash)
		return a->hash < b->hash;
	if (a->node != b->node)
		return a->node < b->node;
	return a->vnode < b->vnode;
}

static void sift_down(struct aeg_ring_point *p, uint32_t root, uint32_t len)
{
	for (;;) {
		uint32_t child = 2 * root + 1;
		if (child >= len)
			return;
		if (child + 1 < len && aeg_ring_point_less(&p[child], &p[child + 1]))
			child++;
		if (!aeg_ring_point_less(&p[root], &p[child]))
			return;
		struct aeg_ring_point t = p[root];
		p[root] = p[child];
		p[child] = t;
		root = child;
	}
}

void aeg_ring_points_sort(struct aeg_ring_point *p, uint32_t len)
{
	for (uint32_t i = len / 2; i-- > 0;)
		sift_down(p, i, len);
	for (uint32_t end = len; end > 1; end--) {
		struct aeg_ring_point t = p[0];
		p[0] = p[end - 1];
		p[end - 1] = t;
		sift_down(p, 0, end - 1);
	}
}

void aeg_ring_points_merge(struct aeg_ring *r, const struct aeg_ring_point *add,
			   uint32_t add_len)
{
	assert(add_len <= r->points_max - r->points_len);
	/* Backwards, so the existing points are moved at most once each. */
	uint32_t i = r->points_len, j = add_len, dst = r->points_len + add_len;
	while (j > 0) {
		if (i > 0 && aeg_ring_point_less(&add[j - 1], &r->points[i - 1]))
			r->points[--dst] = r->points[--i];
		else
			r->points[--dst] = add[--j];
	}
	assert(dst == i);
	r->points_len += add_len;
}

uint32_t aeg_ring_points_lower_bound(const struct aeg_ring_point *p, uint32_t len,
				     uint64_t key_hash)
{
	if (len == 0)
		return 0;
	/* Branch-free halving: the compiler emits a conditional move. */
	const struct aeg_ring_point *base = p;
	uint32_t n = len;
	while (n > 1) {
		uint32_t half = n / 2;
		base = base[half - 1].hash < key_hash ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - p) + (base->hash < key_hash);
}
