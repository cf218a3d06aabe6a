/* The driver's FIFOs that wait on the log (see held.h). */
#include "held.h"

#include <assert.h>
#include <string.h>

#define HDR ((uint32_t)sizeof(struct held_rec))

static uint32_t rec_bytes(uint32_t len)
{
	return (HDR + len + 7u) & ~7u;
}

static struct held_rec *at(struct held_ring *h, uint64_t pos)
{
	return (struct held_rec *)(h->buf + (pos & (h->size - 1)));
}

uint8_t *held_push(struct held_ring *h, uint32_t to, uint32_t group, uint64_t ticket, uint32_t len)
{
	uint64_t need = rec_bytes(len);
	uint64_t off = h->head & (h->size - 1);
	uint64_t to_end = h->size - off;
	uint64_t used = h->head - h->tail;
	assert(used <= h->size);
	/* A record never wraps: if it does not fit before the end, a skip
	 * marker covers the rest and the record starts at offset 0. */
	uint64_t total = need <= to_end ? need : need + to_end;
	if (need > h->size / 2 || used + total > h->size)
		return NULL;
	if (need > to_end) {
		if (to_end >= HDR) {
			struct held_rec *skip = at(h, h->head);
			memset(skip, 0, HDR);
		}
		h->head += to_end;
	}
	struct held_rec *r = at(h, h->head);
	r->bytes = (uint32_t)need;
	r->len = len;
	r->ticket = ticket;
	r->to = to;
	r->group = group;
	h->head += need;
	h->count++;
	return (uint8_t *)r + HDR;
}

static void skip_markers(struct held_ring *h)
{
	while (h->tail < h->head) {
		uint64_t off = h->tail & (h->size - 1);
		uint64_t to_end = h->size - off;
		if (to_end < HDR || at(h, h->tail)->bytes == 0)
			h->tail += to_end;
		else
			return;
	}
}

struct held_rec *held_front(struct held_ring *h)
{
	skip_markers(h);
	return h->tail < h->head ? at(h, h->tail) : NULL;
}

void held_pop(struct held_ring *h)
{
	struct held_rec *r = held_front(h);
	assert(r != NULL && r->bytes >= HDR);
	h->tail += r->bytes;
	h->count--;
	skip_markers(h);
}

static void each(struct held_ring *h, uint32_t group, bool forget, uint64_t ticket)
{
	uint64_t pos = h->tail;
	for (uint32_t guard = 0; pos < h->head && guard <= h->count + 2; guard++) {
		uint64_t off = pos & (h->size - 1);
		uint64_t to_end = h->size - off;
		struct held_rec *r = at(h, pos);
		if (to_end < HDR || r->bytes == 0) {
			pos += to_end;
			continue;
		}
		if (r->group == group) {
			if (forget) {
				r->group = 0;
				r->to = 0;
				r->ticket = 1;
			} else if (r->ticket == HELD_TICKET_UNISSUED) {
				r->ticket = ticket;
			}
		}
		pos += r->bytes;
	}
}

void held_issue(struct held_ring *h, uint32_t group, uint64_t ticket)
{
	assert(ticket != HELD_TICKET_UNISSUED);
	each(h, group, false, ticket);
}

void held_forget(struct held_ring *h, uint32_t group)
{
	each(h, group, true, 0);
}

bool pend_push(struct pend_ring *p, const struct pend_rec *r)
{
	if (p->head - p->tail >= p->cap)
		return false;
	p->recs[p->head & (p->cap - 1)] = *r;
	p->head++;
	return true;
}

struct pend_rec *pend_front(struct pend_ring *p)
{
	return p->tail < p->head ? &p->recs[p->tail & (p->cap - 1)] : NULL;
}

void pend_pop(struct pend_ring *p)
{
	assert(p->tail < p->head);
	p->tail++;
}
