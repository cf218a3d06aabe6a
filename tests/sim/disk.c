/* Simulated disk: in-order writes that become durable after a latency. A
 * write carries the hard state first, then entries (writing index i drops
 * every stored entry >= i). A crash loses every write not yet durable; a
 * torn crash lets a prefix of the oldest one land, as a torn WAL tail. */
#include "sim.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void disk_init(struct sim_disk *d)
{
	memset(d, 0, sizeof(*d));
}

static void dentry_free(struct sim_dentry *e)
{
	free(e->data);
	e->data = NULL;
}

static void write_free(struct sim_write *w)
{
	for (uint64_t i = w->lo; i <= w->hi; i++)
		dentry_free(&w->ents[i - w->lo]);
	free(w->ents);
	free(w);
}

void disk_free(struct sim_disk *d)
{
	for (uint64_t i = d->snap.index + 1; i <= d->last; i++)
		dentry_free(&d->log[i]);
	d->last = 0;
	d->snap.index = 0;
	while (d->head != NULL) {
		struct sim_write *w = d->head;
		d->head = w->next;
		write_free(w);
	}
	d->tail = NULL;
}

void disk_write(struct sim *s, struct sim_node *nd, const struct aeg_raft_ready *rd)
{
	struct sim_disk *d = &nd->disk;
	if (!rd->hs_changed && rd->persist_lo > rd->persist_hi && !rd->snap_install)
		return;
	struct sim_write *w = calloc(1, sizeof(*w));
	w->seq = ++d->write_seq;
	if (rd->snap_install) {
		w->has_snap = true;
		w->snap.index = rd->snap_index;
		w->snap.term = rd->snap_term;
		w->snap.conf = *rd->snap_conf;
		w->snap.len = rd->snap_len <= SIM_SNAP_BYTES ? rd->snap_len : SIM_SNAP_BYTES;
		memcpy(w->snap.data, rd->snap_data, w->snap.len);
	}
	w->has_hs = rd->hs_changed;
	w->hs = rd->hs;
	w->lo = rd->persist_lo;
	w->hi = rd->persist_hi;
	if (w->hi >= w->lo) {
		w->ents = calloc(w->hi - w->lo + 1, sizeof(*w->ents));
		for (uint64_t i = w->lo; i <= w->hi; i++) {
			const struct aeg_raft_entry *e = aeg_raft_entry_at(nd->r, i);
			struct sim_dentry *de = &w->ents[i - w->lo];
			de->term = e->term;
			de->type = e->type;
			de->len = e->len;
			if (e->len > 0) {
				de->data = malloc(e->len);
				memcpy(de->data, e->data, e->len);
			}
		}
	}
	const struct sim_mix *mix = s->mix;
	/* Slow disks are a fault too: after healing, at most 2 ms. */
	uint64_t max = s->healed_t != 0 && mix->disk_us_max > 2000 ? 2000 : mix->disk_us_max;
	uint64_t lat = mix->disk_us_min + rng_below(&s->rng, max - mix->disk_us_min + 1);
	w->done_t = s->now + lat;
	if (d->tail != NULL && d->tail->done_t > w->done_t)
		w->done_t = d->tail->done_t;  /* one queue: in order */
	if (d->tail != NULL)
		d->tail->next = w;
	else
		d->head = w;
	d->tail = w;
	sim_push(s, w->done_t, EV_DISK_DONE, nd->id, w->seq, NULL);
}

void disk_set_snapshot(struct sim_disk *d, const struct sim_snap *snap)
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

/* Lands the write's hard state, snapshot and its first n entries. */
static void land(struct sim_disk *d, struct sim_write *w, uint64_t n)
{
	if (w->has_hs)
		d->hs = w->hs;
	if (w->has_snap)
		disk_set_snapshot(d, &w->snap);
	if (n == 0)
		return;
	/* The caller's contract: a write continues the stored log. */
	assert(w->lo <= d->last + 1 && w->lo > d->snap.index);
	for (uint64_t i = w->lo; i <= d->last; i++)
		dentry_free(&d->log[i]);
	for (uint64_t k = 0; k < n; k++) {
		d->log[w->lo + k] = w->ents[k];
		w->ents[k].data = NULL;  /* moved */
	}
	d->last = w->lo + n - 1;
}

void disk_complete(struct sim *s, struct sim_node *nd, uint64_t seq)
{
	struct sim_disk *d = &nd->disk;
	struct sim_write *w = d->head;
	if (w == NULL || w->seq != seq)
		return;  /* lost in a crash */
	d->head = w->next;
	if (d->head == NULL)
		d->tail = NULL;
	uint64_t n = w->hi >= w->lo ? w->hi - w->lo + 1 : 0;
	land(d, w, n);
	d->done_seq = w->seq;
	uint64_t hi = w->hi, term = n > 0 ? w->ents[n - 1].term : 0;
	if (n == 0 && w->has_snap) {
		hi = w->snap.index;
		term = w->snap.term;
	}
	bool report = n > 0 || w->has_snap;
	write_free(w);
	if (report)
		aeg_raft_persisted(nd->r, hi, term);
	sim_trace(s, "n%u disk write %llu durable (to %llu)", nd->id,
		  (unsigned long long)seq, (unsigned long long)(n > 0 ? hi : 0));
	net_release_held(s, nd->id, d->done_seq);
	node_ready(s, nd->id);
}

void disk_crash(struct sim *s, struct sim_node *nd)
{
	struct sim_disk *d = &nd->disk;
	struct sim_write *w = d->head;
	if (w != NULL && s->mix->torn && rng_pct(&s->rng, 50)) {
		uint64_t n = w->hi >= w->lo ? w->hi - w->lo + 1 : 0;
		uint64_t k = rng_below(&s->rng, n + 1);
		/* Records land in order: the hard state, then entries. */
		if (k > 0 || rng_pct(&s->rng, 50)) {
			land(d, w, k);
			sim_trace(s, "n%u torn write: hs%s and %llu of %llu entries landed", nd->id,
				  w->has_hs ? "" : " (none)", (unsigned long long)k,
				  (unsigned long long)n);
		}
	}
	while (d->head != NULL) {
		w = d->head;
		d->head = w->next;
		write_free(w);
	}
	d->tail = NULL;
	d->done_seq = d->write_seq;
}
