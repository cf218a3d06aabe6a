/* Datagram ring: see dgram_ring.h.
 *
 * head (producer) and tail (consumer) are free-running byte positions;
 * head - tail bytes are in use and position p lives at buf[p & mask].
 * Every record starts on an 8-byte boundary with a header {len, magic};
 * len == WRAP means "the rest of the buffer is empty, go to its start".
 * The producer writes the record, then publishes head with a release
 * store; the consumer's acquire load of head makes it visible, and the
 * same holds for tail in the other direction, so bytes still being read
 * are never overwritten. */
#include "dgram_ring.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64
#define HDR_BYTES 8u
#define WRAP UINT32_MAX
#define HDR_MAGIC 0x44475231u /* "DGR1": a torn or misplaced header asserts */

struct aeg_dgram_ring {
	alignas(CACHE_LINE) _Atomic uint64_t head;
	uint64_t tail_cached;
	alignas(CACHE_LINE) _Atomic uint64_t tail;
	uint64_t head_cached;
	uint32_t peeked; /* bytes the peeked record takes, 0 if none */
	alignas(CACHE_LINE) uint32_t mask;
	uint32_t bytes;
	uint8_t *buf;
};

struct hdr {
	uint32_t len;
	uint32_t magic;
};

static uint32_t footprint(uint32_t len)
{
	return HDR_BYTES + ((len + 7u) & ~7u);
}

int aeg_dgram_ring_init(struct aeg_dgram_ring **r, uint32_t bytes)
{
	if (r == NULL || bytes < AEG_DGRAM_RING_BYTES_MIN || bytes > AEG_DGRAM_RING_BYTES_MAX ||
	    (bytes & (bytes - 1)) != 0)
		return -EINVAL;
	_Static_assert(sizeof(struct aeg_dgram_ring) % CACHE_LINE == 0, "aligned_alloc needs a multiple");
	struct aeg_dgram_ring *ring = aligned_alloc(CACHE_LINE, sizeof(*ring));
	uint8_t *buf = aligned_alloc(CACHE_LINE, bytes);
	if (ring == NULL || buf == NULL) {
		free(ring);
		free(buf);
		return -ENOMEM;
	}
	memset(ring, 0, sizeof(*ring));
	atomic_init(&ring->head, 0);
	atomic_init(&ring->tail, 0);
	ring->mask = bytes - 1;
	ring->bytes = bytes;
	ring->buf = buf;
	*r = ring;
	return 0;
}

void aeg_dgram_ring_fini(struct aeg_dgram_ring *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

static void put_hdr(struct aeg_dgram_ring *r, uint64_t pos, uint32_t len)
{
	struct hdr h = { .len = len, .magic = HDR_MAGIC };
	memcpy(r->buf + (pos & r->mask), &h, sizeof(h));
}

int aeg_dgram_ring_push(struct aeg_dgram_ring *r, const void *data, uint32_t len)
{
	if (len == 0 || len > r->bytes / 4)
		return -EMSGSIZE;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t need = footprint(len);
	uint32_t to_end = r->bytes - (uint32_t)(head & r->mask);
	uint32_t total = need <= to_end ? need : to_end + need;
	if (head + total - r->tail_cached > r->bytes) {
		r->tail_cached = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + total - r->tail_cached > r->bytes)
			return -ENOBUFS;
	}
	if (need > to_end) {
		put_hdr(r, head, WRAP); /* to_end >= 8: positions stay 8-aligned */
		head += to_end;
	}
	assert((head & r->mask) + need <= r->bytes);
	put_hdr(r, head, len);
	memcpy(r->buf + (head & r->mask) + HDR_BYTES, data, len);
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	return 0;
}

bool aeg_dgram_ring_peek(struct aeg_dgram_ring *r, const uint8_t **data, uint32_t *len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (int round = 0; round < 2; round++) {
		if (tail == r->head_cached) {
			r->head_cached = atomic_load_explicit(&r->head, memory_order_acquire);
			if (tail == r->head_cached)
				return false;
		}
		struct hdr h;
		memcpy(&h, r->buf + (tail & r->mask), sizeof(h));
		assert(h.magic == HDR_MAGIC);
		if (h.len != WRAP) {
			assert(h.len > 0 && footprint(h.len) <= r->head_cached - tail);
			*data = r->buf + (tail & r->mask) + HDR_BYTES;
			*len = h.len;
			r->peeked = footprint(h.len);
			return true;
		}
		/* Skip the empty end: the producer gives it back at once. */
		tail += r->bytes - (uint32_t)(tail & r->mask);
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	return false; /* two wrap markers in a row cannot happen */
}

void aeg_dgram_ring_pop(struct aeg_dgram_ring *r)
{
	assert(r->peeked != 0);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tail + r->peeked, memory_order_release);
	r->peeked = 0;
}

uint32_t aeg_dgram_ring_used(const struct aeg_dgram_ring *r)
{
	uint64_t tail = atomic_load_explicit(&((struct aeg_dgram_ring *)r)->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&((struct aeg_dgram_ring *)r)->head, memory_order_acquire);
	return (uint32_t)(head - tail);
}
