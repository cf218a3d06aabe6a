/* SPSC control ring: see ctl_ring.h.
 *
 * head and tail run freely (uint32_t, wrapping); head - tail is the count
 * and slot i lives at slots[i & mask]. The producer writes the slot, then
 * publishes head with a release store; the consumer's acquire load of head
 * makes the slot's contents visible. The other direction is the same with
 * tail: the consumer has finished reading a slot before it releases tail,
 * so the producer never overwrites a slot still being read. */
#include "ctl_ring.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64

struct aeg_ctl_ring {
	/* Written by the producer only. */
	alignas(CACHE_LINE) _Atomic uint32_t head;
	uint32_t tail_cached; /* the producer's last view of tail */
	/* Written by the consumer only. */
	alignas(CACHE_LINE) _Atomic uint32_t tail;
	uint32_t head_cached; /* the consumer's last view of head */
	/* Read-only after init. */
	alignas(CACHE_LINE) uint32_t mask;
	uint32_t capacity;
	alignas(CACHE_LINE) struct aeg_ctl_msg slots[];
};

int aeg_ctl_ring_init(struct aeg_ctl_ring **r, uint32_t capacity)
{
	if (r == NULL || capacity == 0 || capacity > AEG_CTL_RING_CAPACITY_MAX ||
	    (capacity & (capacity - 1)) != 0)
		return -EINVAL;
	size_t bytes = sizeof(struct aeg_ctl_ring) + (size_t)capacity * sizeof(struct aeg_ctl_msg);
	_Static_assert(sizeof(struct aeg_ctl_ring) % CACHE_LINE == 0, "aligned_alloc needs a multiple");
	struct aeg_ctl_ring *ring = aligned_alloc(CACHE_LINE, bytes);
	if (ring == NULL)
		return -ENOMEM;
	memset(ring, 0, sizeof(*ring));
	atomic_init(&ring->head, 0);
	atomic_init(&ring->tail, 0);
	ring->mask = capacity - 1;
	ring->capacity = capacity;
	*r = ring;
	return 0;
}

void aeg_ctl_ring_fini(struct aeg_ctl_ring *r)
{
	free(r);
}

bool aeg_ctl_ring_push(struct aeg_ctl_ring *r, const struct aeg_ctl_msg *m)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (head - r->tail_cached == r->capacity) {
		r->tail_cached = atomic_load_explicit(&r->tail, memory_order_acquire);
		assert(head - r->tail_cached <= r->capacity);
		if (head - r->tail_cached == r->capacity)
			return false;
	}
	r->slots[head & r->mask] = *m;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

uint32_t aeg_ctl_ring_pop_burst(struct aeg_ctl_ring *r, struct aeg_ctl_msg *out, uint32_t n)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t avail = r->head_cached - tail;
	if (avail < n) {
		r->head_cached = atomic_load_explicit(&r->head, memory_order_acquire);
		avail = r->head_cached - tail;
		assert(avail <= r->capacity);
	}
	uint32_t k = avail < n ? avail : n;
	for (uint32_t i = 0; i < k; i++)
		out[i] = r->slots[(tail + i) & r->mask];
	if (k > 0)
		atomic_store_explicit(&r->tail, tail + k, memory_order_release);
	return k;
}

uint32_t aeg_ctl_ring_drain(struct aeg_ctl_ring *r, aeg_ctl_fn fn, void *arg, uint32_t max)
{
	struct aeg_ctl_msg burst[8]; /* 512 bytes of stack */
	uint32_t done = 0;
	while (done < max) {
		uint32_t want = max - done < 8 ? max - done : 8;
		uint32_t got = aeg_ctl_ring_pop_burst(r, burst, want);
		for (uint32_t i = 0; i < got; i++)
			fn(arg, &burst[i]);
		done += got;
		if (got < want)
			break;
	}
	return done;
}

uint32_t aeg_ctl_ring_count(const struct aeg_ctl_ring *r)
{
	/* tail first, so head - tail never wraps below zero; if both sides
	 * moved between the loads it may exceed the capacity: clamp it. */
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t count = head - tail;
	return count > r->capacity ? r->capacity : count;
}

bool aeg_ctl_ring_empty(const struct aeg_ctl_ring *r)
{
	return aeg_ctl_ring_count(r) == 0;
}

uint32_t aeg_ctl_ring_capacity(const struct aeg_ctl_ring *r)
{
	return r->capacity;
}
