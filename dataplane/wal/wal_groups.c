/* WAL writer: the groups of one worker, per-segment index ranges, compaction
 * (release of segments every group has moved past) and read back. */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int wal_groups_init(struct aeg_wal *w)
{
	uint32_t cap = 2;
	while (cap < 2 * w->cfg.groups_max)
		cap *= 2;
	w->gindex_mask = cap - 1;
	w->gindex = calloc(cap, sizeof(uint32_t));
	w->groups = calloc(w->cfg.groups_max, sizeof(struct wal_group));
	w->free_slots = calloc(w->cfg.groups_max, sizeof(uint32_t));
	if (w->gindex == NULL || w->groups == NULL || w->free_slots == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < w->cfg.segments_max; i++) {
		w->segs[i].min_index = calloc(w->cfg.groups_max, sizeof(uint64_t));
		w->segs[i].max_index = calloc(w->cfg.groups_max, sizeof(uint64_t));
		if (w->segs[i].min_index == NULL || w->segs[i].max_index == NULL)
			return -ENOMEM;
	}
	return 0;
}

void wal_groups_fini(struct aeg_wal *w)
{
	for (uint32_t i = 0; w->segs != NULL && i < w->cfg.segments_max; i++) {
		free(w->segs[i].min_index);
		free(w->segs[i].max_index);
	}
	free(w->gindex);
	free(w->groups);
	free(w->free_slots);
}

static uint32_t gindex_home(const struct aeg_wal *w, uint64_t group)
{
	return (uint32_t)((group * 0x9e3779b97f4a7c15ull) >> 32) & w->gindex_mask;
}

/* A slot for a new group: a removed group's slot once its removal is durable
 * (its marks may still be reported until then), else a fresh one. */
static int slot_alloc(struct aeg_wal *w)
{
	if (w->free_n > 0) {
		uint32_t slot = w->free_slots[w->free_head];
		if (w->groups[slot].free_lsn <= w->done_seq) {
			w->free_head = (w->free_head + 1) % w->cfg.groups_max;
			w->free_n--;
			return (int)slot;
		}
	}
	if (w->groups_n < w->cfg.groups_max)
		return (int)w->groups_n++;
	return w->free_n > 0 ? -EAGAIN : -ENOBUFS;
}

/* Slot of group (created if asked and there is room): -ENOENT, -ENOBUFS,
 * -EAGAIN (the only free slot waits for its removal to be durable). */
int wal_group_slot(struct aeg_wal *w, uint64_t group, bool create)
{
	uint32_t h = gindex_home(w, group);
	/* Bounded: the table is at most half full. */
	for (uint32_t probe = 0; probe <= w->gindex_mask; probe++, h = (h + 1) & w->gindex_mask) {
		uint32_t v = w->gindex[h];
		if (v != 0 && w->groups[v - 1].id == group)
			return (int)(v - 1);
		if (v != 0)
			continue;
		if (!create)
			return -ENOENT;
		int slot = slot_alloc(w);
		if (slot < 0)
			return slot;
		w->groups[slot] = (struct wal_group){ .id = group, .used = true };
		w->gindex[h] = (uint32_t)slot + 1;
		w->groups_live++;
		return slot;
	}
	return -ENOBUFS;
}

/* Takes group out of the hash index (backward-shift deletion keeps every
 * probe chain unbroken without tombstones). */
static void gindex_delete(struct aeg_wal *w, uint32_t gslot)
{
	uint32_t mask = w->gindex_mask;
	uint32_t i = gindex_home(w, w->groups[gslot].id);
	while (w->gindex[i] != gslot + 1)
		i = (i + 1) & mask;
	for (uint32_t j = (i + 1) & mask; w->gindex[j] != 0; j = (j + 1) & mask) {
		uint32_t k = gindex_home(w, w->groups[w->gindex[j] - 1].id);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		bool home_between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (!home_between) {
			w->gindex[i] = w->gindex[j];
			i = j;
		}
	}
	w->gindex[i] = 0;
}

static void group_free(struct aeg_wal *w, uint32_t gslot)
{
	struct wal_group *g = &w->groups[gslot];
	wal_live_forget(w, gslot);
	gindex_delete(w, gslot);
	g->used = false;
	/* Replay has no batches: the slot is free at once. Otherwise once the
	 * batch with the REMOVE record is durable and reported. */
	g->free_lsn = w->replaying ? 0 : w->fill_seq + 1;
	w->free_slots[(w->free_head + w->free_n) % w->cfg.groups_max] = gslot;
	w->free_n++;
	w->groups_live--;
}

/* The effect of one record on the in-memory state; the same on append and
 * on replay, so both agree (but for replay taking a snapshot marker as the
 * compaction point: the node's own compaction calls are not in the log). */
void wal_group_apply(struct aeg_wal *w, uint32_t seg, const struct aeg_wal_rec *r)
{
	if (r->type == AEG_WAL_PAD || r->type == AEG_WAL_SEAL)
		return;
	int gs = wal_group_slot(w, r->group, false);
	assert(gs >= 0);
	struct wal_group *g = &w->groups[gs];
	struct wal_segment *s = &w->segs[seg];
	switch (r->type) {
	case AEG_WAL_ENTRY:
		g->last_index = r->index;
		g->last_term = r->term;
		wal_live_entry(w, seg, (uint32_t)gs, r->index);
		break;
	case AEG_WAL_HARD_STATE:
		g->has_hs = aeg_wal_hard_state_decode(r, &g->hs_vote, &g->hs_commit) == 0;
		g->hs_term = r->term;
		g->hs_seq = s->seq;
		break;
	case AEG_WAL_TRUNCATE:
		if (g->last_index >= r->index)
			g->last_index = r->index - 1;
		wal_live_truncate(w, (uint32_t)gs, r->index);
		break;
	case AEG_WAL_SNAPSHOT:
		if (g->last_index < r->index) {
			g->last_index = r->index;
			g->last_term = r->term;
		}
		if (r->index >= g->snap_index) {
			g->snap_index = r->index;
			g->snap_term = r->term;
			g->snap_seq = s->seq;
		}
		if (w->replaying)
			wal_live_compact(w, (uint32_t)gs, r->index);
		break;
	case AEG_WAL_REMOVE:
		group_free(w, (uint32_t)gs);
		break;
	}
}

uint64_t aeg_wal_last_index(const struct aeg_wal *w, uint64_t group)
{
	int gs = wal_group_slot((struct aeg_wal *)w, group, false);
	return gs < 0 ? 0 : w->groups[gs].last_index;
}

int aeg_wal_group_remove(struct aeg_wal *w, uint64_t group, uint64_t *lsn)
{
	int gs = wal_group_slot(w, group, false);
	if (gs < 0)
		return gs;
	struct aeg_wal_rec r = { .type = AEG_WAL_REMOVE, .group = group };
	return wal_append_rec(w, &r, lsn);
}

uint32_t aeg_wal_group_count(const struct aeg_wal *w)
{
	return w->groups_live;
}

/* Finds (group, index) in one segment's durable records, reading it in
 * chunks of batch_bytes_max (no record is longer). Returns the payload length
 * of the last match, -ENOENT, or -EIO. */
static int seg_find(struct aeg_wal *w, const struct wal_segment *s, uint64_t group, uint64_t index, void *buf,
		    uint32_t cap, struct aeg_wal_entry *out)
{
	int found = -ENOENT;
	uint64_t pos = AEG_WAL_SEG_HDR_BYTES;
	while (pos < s->durable_end) {
		uint64_t want = s->durable_end - pos;
		if (want > w->cfg.batch_bytes_max)
			want = w->cfg.batch_bytes_max;
		ssize_t got = pread(s->fd, w->scratch, want, (off_t)pos);
		if (got != (ssize_t)want)
			return -EIO;
		size_t off = 0;
		struct aeg_wal_rec r;
		int rc;
		while ((rc = aeg_wal_rec_decode(&r, w->scratch + off, want - off, s->seq)) > 0) {
			off += (size_t)rc;
			if (r.group != group)
				continue;
			if (r.type == AEG_WAL_TRUNCATE && r.index <= index)
				found = -ENOENT;
			if (r.type != AEG_WAL_ENTRY || r.index != index)
				continue;
			memcpy(buf, r.payload, r.len < cap ? r.len : cap);
			*out = (struct aeg_wal_entry){ .term = r.term, .index = r.index, .data = buf,
						       .len = r.len, .type = r.entry_type };
			found = (int)r.len;
		}
		/* A record cut by the chunk end, or a chunk ending on a record
		 * boundary: go on from there. Anything else ends the records. */
		if (off == 0 || (rc != -EMSGSIZE && off != want))
			break;
		pos += off;
	}
	return found;
}

int aeg_wal_read_entry(struct aeg_wal *w, uint64_t group, uint64_t index, void *buf, uint32_t cap,
		       struct aeg_wal_entry *out)
{
	int gs = wal_group_slot(w, group, false);
	if (gs < 0 || index == 0 || index > w->groups[gs].last_index || index <= w->groups[gs].compacted)
		return -ENOENT;
	/* Newest segment first: a rewrite after a truncation wins. */
	uint64_t newest = w->next_seq;
	for (uint32_t tries = 0; tries < w->segs_n; tries++) {
		int slot = -1;
		for (uint32_t i = 0; i < w->segs_n; i++) {
			const struct wal_segment *s = &w->segs[i];
			if (s->state == WAL_SEG_LIVE && s->seq < newest && (slot < 0 || s->seq > w->segs[slot].seq))
				slot = (int)i;
		}
		if (slot < 0)
			break;
		const struct wal_segment *s = &w->segs[slot];
		newest = s->seq;
		if (s->min_index[gs] == 0 || index < s->min_index[gs] || index > s->max_index[gs])
			continue;
		int rc = seg_find(w, s, group, index, buf, cap, out);
		if (rc != -ENOENT)
			return rc;
	}
	/* Known but not found: it sits in a batch that is not durable yet. */
	const struct wal_batch *f = &w->batches[w->fill_seq % w->nbatches];
	bool pending = w->done_seq < w->fill_seq || (f->state == WAL_BATCH_FILLING && f->len != 0);
	return pending ? -EAGAIN : -ENOENT;
}
