/* Snapshot pacing of the group driver (pace.h). */
#include "pace.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gd_pace_init(struct gd_pace *p, uint64_t rate, uint32_t n_slots, uint32_t slot_bytes)
{
	memset(p, 0, sizeof(*p));
	if (rate == 0)
		return 0;
	assert(n_slots > 0 && slot_bytes > 0);
	p->rate = rate;
	p->n_slots = n_slots;
	p->slot_bytes = slot_bytes;
	/* A tenth of a second's worth, at least one chunk: short bursts
	 * pass, the average holds. */
	p->burst = (int64_t)(rate / 10 > slot_bytes ? rate / 10 : slot_bytes);
	p->tokens = p->burst;
	p->slots = calloc(n_slots, sizeof(*p->slots));
	p->mem = malloc((size_t)n_slots * slot_bytes);
	if (p->slots == NULL || p->mem == NULL) {
		gd_pace_fini(p);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n_slots; i++)
		p->slots[i].buf = p->mem + (size_t)i * slot_bytes;
	return 0;
}

void gd_pace_fini(struct gd_pace *p)
{
	free(p->slots);
	free(p->mem);
	memset(p, 0, sizeof(*p));
}

void gd_pace_refill(struct gd_pace *p, uint64_t now_ms)
{
	if (p->rate == 0)
		return;
	if (p->last_ms == 0 || now_ms < p->last_ms) {
		p->last_ms = now_ms;
		return;
	}
	uint64_t dt = now_ms - p->last_ms;
	if (dt == 0)
		return;
	p->last_ms = now_ms;
	uint64_t add = dt >= 1000 ? (uint64_t)p->burst : p->rate * dt / 1000;
	int64_t t = p->tokens + (int64_t)(add < (uint64_t)p->burst ? add : (uint64_t)p->burst);
	p->tokens = t < p->burst ? t : p->burst;
}

int gd_pace_admit(struct gd_pace *p, uint32_t to, uint32_t group, const uint8_t *body, uint32_t len)
{
	if (p->rate == 0)
		return GD_PACE_SEND;
	struct gd_pace_slot *same = NULL, *free_slot = NULL;
	bool waiting = false;
	for (uint32_t i = 0; i < p->n_slots; i++) {
		struct gd_pace_slot *s = &p->slots[i];
		if (s->used && s->to == to && s->group == group)
			same = s;
		else if (!s->used && free_slot == NULL)
			free_slot = s;
		waiting |= s->used;
	}
	if (len > p->slot_bytes || (!waiting && p->tokens > 0)) {
		p->tokens -= len;
		if (same != NULL)
			same->used = false;  /* this newer chunk supersedes it */
		return GD_PACE_SEND;
	}
	struct gd_pace_slot *s = same != NULL ? same : free_slot;
	if (s == NULL)
		return GD_PACE_DROPPED;
	memcpy(s->buf, body, len);
	s->to = to;
	s->group = group;
	s->len = len;
	if (!s->used)
		s->seq = ++p->seq;  /* a replaced chunk keeps its place in line */
	s->used = true;
	return GD_PACE_QUEUED;
}

struct gd_pace_slot *gd_pace_next(struct gd_pace *p)
{
	if (p->rate == 0 || p->tokens <= 0)
		return NULL;
	struct gd_pace_slot *oldest = NULL;
	for (uint32_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].used && (oldest == NULL || p->slots[i].seq < oldest->seq))
			oldest = &p->slots[i];
	if (oldest != NULL)
		p->tokens -= oldest->len;
	return oldest;
}

void gd_pace_done(struct gd_pace *p, struct gd_pace_slot *s)
{
	(void)p;
	assert(s->used);
	s->used = false;
}

uint32_t gd_pace_waiting(const struct gd_pace *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->n_slots; i++)
		n += p->slots[i].used;
	return n;
}
