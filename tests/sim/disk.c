/* Simulated log of one node, behind the group driver's aeg_gd_io: every
 * record the driver hands over (hard state, entries, installed snapshot of
 * any group) joins the open batch and gets its ticket; the node's loop
 * submits the batch, which becomes durable after a latency, in order. The
 * log may take fewer entries than offered or none (-EAGAIN) in mixes with
 * log_room / log_inflight. A crash loses every batch not yet durable; a
 * torn crash lets a prefix of the oldest one's records land, as a torn WAL
 * tail. */
#include "sim.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void dentry_free(struct sim_dentry *e)
{
	free(e->data);
	e->data = NULL;
}

static void rec_free(struct sim_rec *r)
{
	if (r->kind == REC_ENTS) {
		for (uint64_t i = r->lo; i <= r->hi; i++)
			dentry_free(&r->ents[i - r->lo]);
		free(r->ents);
	}
	free(r);
}

static void batch_free(struct sim_batch *b)
{
	while (b->head != NULL) {
		struct sim_rec *r = b->head;
		b->head = r->next;
		rec_free(r);
	}
	free(b);
}

void disk_free(struct sim_gdisk *d)
{
	for (uint64_t i = d->snap.index + 1; i <= d->last; i++)
		dentry_free(&d->log[i]);
	d->last = 0;
	d->snap.index = 0;
}

static struct sim_batch *open_batch(struct sim *s, struct sim_node *nd)
{
	if (nd->open == NULL) {
		nd->open = calloc(1, sizeof(*nd->open));
		if (nd->open == NULL)
			abort();
		nd->open->ticket = ++s->ticket_seq;
	}
	return nd->open;
}

static struct sim_rec *add_rec(struct sim *s, struct sim_node *nd, uint32_t kind, uint32_t g)
{
	struct sim_batch *b = open_batch(s, nd);
	struct sim_rec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		abort();
	r->kind = kind;
	r->group = g;
	if (b->tail != NULL)
		b->tail->next = r;
	else
		b->head = r;
	b->tail = r;
	return r;
}

int disk_log_hard_state(void *ctx, uint32_t group, const struct aeg_raft_hard_state *hs,
			uint64_t *ticket)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	assert(group >= 1 && group <= s->groups);
	struct sim_rec *r = add_rec(s, nd, REC_HS, group - 1);
	r->hs = *hs;
	*ticket = nd->open->ticket;
	return 0;
}

int disk_log_entries(void *ctx, uint32_t group, const struct aeg_raft_entry *ents, uint32_t n,
		     uint32_t *taken, uint64_t *ticket)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	assert(group >= 1 && group <= s->groups && n > 0);
	struct sim_rep *rp = sim_rep(s, nd->id, group - 1);
	const struct sim_mix *mix = s->mix;
	uint32_t k = n;
	if (mix->log_room != 0) {
		uint32_t used = nd->open != NULL ? nd->open->n_ents : 0;
		uint32_t room = used < mix->log_room ? mix->log_room - used : 0;
		k = n < room ? n : room;
	}
	/* The mirror follows what the log took; the rest is re-read from
	 * Raft's memory after process() (node.c) until the log takes it. */
	struct aeg_raft *r = sim_raft(s, nd->id, group - 1);
	uint64_t last = aeg_raft_last_index(r);
	rp->lag_lo = k < n ? ents[k].index : ents[n - 1].index < last ? ents[n - 1].index + 1 : 0;
	rp->mlast = ents[0].index - 1;
	if (k == 0) {
		s->log_full++;
		return -EAGAIN;
	}
	struct sim_rec *rec = add_rec(s, nd, REC_ENTS, group - 1);
	rec->lo = ents[0].index;
	rec->hi = ents[k - 1].index;
	rec->ents = calloc(k, sizeof(*rec->ents));
	if (rec->ents == NULL)
		abort();
	for (uint32_t i = 0; i < k; i++) {
		const struct aeg_raft_entry *e = &ents[i];
		struct sim_dentry *de = &rec->ents[i];
		assert(e->index == rec->lo + i);
		de->term = e->term;
		de->type = e->type;
		de->len = e->len;
		if (e->len > 0) {
			de->data = malloc(e->len);
			if (de->data == NULL)
				abort();
			memcpy(de->data, e->data, e->len);
		}
		node_mirror(s, rp, e);
	}
	nd->open->n_ents += k;
	*taken = k;
	*ticket = nd->open->ticket;
	return 0;
}

void disk_log_snapshot(struct sim *s, struct sim_node *nd, uint32_t g, const struct sim_snap *sn,
		       uint64_t *ticket)
{
	struct sim_rec *r = add_rec(s, nd, REC_SNAP, g);
	r->snap = *sn;
	*ticket = nd->open->ticket;
}

void disk_submit(struct sim *s, struct sim_node *nd)
{
	struct sim_batch *b = nd->open;
	const struct sim_mix *mix = s->mix;
	if (b == NULL || (mix->log_inflight != 0 && nd->inflight >= mix->log_inflight))
		return;
	nd->open = NULL;
	/* Slow disks are a fault too: after healing, at most 2 ms. */
	uint64_t max = s->healed_t != 0 && mix->disk_us_max > 2000 ? 2000 : mix->disk_us_max;
	uint64_t lat = mix->disk_us_min + rng_below(&s->rng, max - mix->disk_us_min + 1);
	b->done_t = s->now + lat;
	if (nd->tail != NULL && nd->tail->done_t > b->done_t)
		b->done_t = nd->tail->done_t;  /* one queue: in order */
	if (nd->tail != NULL)
		nd->tail->next = b;
	else
		nd->head = b;
	nd->tail = b;
	nd->inflight++;
	sim_push(s, b->done_t, EV_DISK_DONE, nd->id, b->ticket, NULL);
}

void disk_set_snapshot(struct sim_gdisk *d, const struct sim_snap *snap)
{
	if (snap->index <= d->snap.index)
		return;  /* not newer than the base we have */
	/* Entries after it survive only if they continue it. */
	bool continues = d->last > snap->index && d->log[snap->index].term == snap->term;
	for (uint64_t i = d->snap.index + 1; i <= d->last; i++)
		if (!continues || i <= snap->index)
			dentry_free(&d->log[i]);
	if (!continues || d->last < snap->index)
		d->last = snap->index;
	d->snap = *snap;
}

/* Lands a record (its first n entries). */
static void land(struct sim_node *nd, struct sim_rec *r, uint64_t n)
{
	struct sim_gdisk *d = &nd->reps[r->group].disk;
	if (r->kind == REC_HS) {
		d->hs = r->hs;
		return;
	}
	if (r->kind == REC_SNAP) {
		disk_set_snapshot(d, &r->snap);
		return;
	}
	if (n == 0)
		return;
	/* The driver's contract: a write continues the stored log. */
	assert(r->lo <= d->last + 1 && r->lo > d->snap.index);
	for (uint64_t i = r->lo; i <= d->last; i++)
		dentry_free(&d->log[i]);
	for (uint64_t k = 0; k < n; k++) {
		d->log[r->lo + k] = r->ents[k];
		r->ents[k].data = NULL;  /* moved */
	}
	d->last = r->lo + n - 1;
}

void disk_complete(struct sim *s, struct sim_node *nd, uint64_t ticket)
{
	struct sim_batch *b = nd->head;
	if (b == NULL || b->ticket != ticket)
		return;  /* lost in a crash */
	nd->head = b->next;
	if (nd->head == NULL)
		nd->tail = NULL;
	nd->inflight--;
	for (struct sim_rec *r = b->head; r != NULL; r = r->next)
		land(nd, r, r->kind == REC_ENTS ? r->hi - r->lo + 1 : 0);
	sim_trace(s, "n%u log batch %llu durable (%u entries)", nd->id, (unsigned long long)ticket,
		  b->n_ents);
	batch_free(b);
	aeg_gd_durable(nd->gd, ticket);
	node_loop(s, nd->id);
}

void disk_crash(struct sim *s, struct sim_node *nd)
{
	struct sim_batch *b = nd->head;
	if (b != NULL && s->mix->torn && rng_pct(&s->rng, 50)) {
		/* Records land in order: a prefix of them, the last maybe in part. */
		uint32_t recs = 0, landed = 0;
		for (struct sim_rec *r = b->head; r != NULL; r = r->next)
			recs++;
		uint32_t k = (uint32_t)rng_below(&s->rng, recs + 1);
		struct sim_rec *r = b->head;
		for (; r != NULL && landed < k; r = r->next, landed++)
			land(nd, r, r->kind == REC_ENTS ? r->hi - r->lo + 1 : 0);
		uint64_t part = 0;
		if (r != NULL && r->kind == REC_ENTS) {
			part = rng_below(&s->rng, r->hi - r->lo + 1);
			land(nd, r, part);
		}
		sim_trace(s, "n%u torn batch %llu: %u of %u records and %llu entries landed", nd->id,
			  (unsigned long long)b->ticket, landed, recs, (unsigned long long)part);
	}
	while (nd->head != NULL) {
		b = nd->head;
		nd->head = b->next;
		batch_free(b);
	}
	nd->tail = NULL;
	nd->inflight = 0;
	if (nd->open != NULL) {
		batch_free(nd->open);
		nd->open = NULL;
	}
}
