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
	if (w->gindex == NULL || w->groups == NULL)
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
}

/* Slot of group (created if asked and there is room): -ENOENT, -ENOBUFS. */
int wal_group_slot(struct aeg_wal *w, uint64_t group, bool create)
{
	uint32_t h = (uint32_t)((group * 0x9e3779b97f4a7c15ull) >> 32) & w->gindex_mask;
	/* Bounded: the table is at most half full. */
	for (uint32_t probe = 0; probe <= w->gindex_mask; probe++, h = (h + 1) & w->gindex_mask) {
		uint32_t v = w->gindex[h];
		if (v != 0 && w->groups[v - 1].id == group)
			return (int)(v - 1);
		if (v != 0)
			continue;
		if (!create)
			return -ENOENT;
		if (w->groups_n == w->cfg.groups_max)
			return -ENOBUFS;
		uint32_t slot = w->groups_n++;
		w->groups[slot] = (struct wal_group){ .id = group };
		w->gindex[h] = slot + 1;
		return (int)slot;
	}
	return -ENOBUFS;
}

/* The effect of one record on the in-memory state; the same on append and
 * on replay, so both agree. */
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
		if (s->min_index[gs] == 0 || r->index < s->min_index[gs])
			s->min_index[gs] = r->index;
		if (r->index > s->max_index[gs])
			s->max_index[gs] = r->index;
		break;
	case AEG_WAL_HARD_STATE:
		g->has_hs = aeg_wal_hard_state_decode(r, &g->hs_vote, &g->hs_commit) == 0;
		g->hs_term = r->term;
		break;
	case AEG_WAL_TRUNCATE:
		if (g->last_index >= r->index)
			g->last_index = r->index - 1;
		break;
	case AEG_WAL_SNAPSHOT:
		if (g->last_index < r->index) {
			g->last_index = r->index;
			g->last_term = r->term;
		}
		break;
	}
}

uint64_t aeg_wal_last_index(const struct aeg_wal *w, uint64_t group)
{
	int gs = wal_group_slot((struct aeg_wal *)w, group, false);
	return gs < 0 ? 0 : w->groups[gs].last_index;
}

static bool seg_releasable(const struct aeg_wal *w, const struct wal_segment *s)
{
	for (uint32_t i = 0; i < w->groups_n; i++)
		if (s->max_index[i] != 0 && s->max_index[i] > w->groups[i].compacted)
			return false;
	return true;
}

int aeg_wal_compact(struct aeg_wal *w, uint64_t group, uint64_t index)
{
	int gs = wal_group_slot(w, group, false);
	if (gs < 0)
		return gs;
	if (index > w->groups[gs].compacted)
		w->groups[gs].compacted = index;
	/* Oldest first, so the live segments stay one contiguous run. */
	int released = 0;
	for (;;) {
		uint64_t oldest = wal_log_start(w);
		int slot = -1;
		for (uint32_t i = 0; i < w->segs_n; i++)
			if (w->segs[i].state == WAL_SEG_LIVE && w->segs[i].seq == oldest)
				slot = (int)i;
		if (slot < 0 || slot == w->cur || !seg_releasable(w, &w->segs[slot]))
			break;
		w->segs[slot].state = WAL_SEG_FREE;
		w->stats.segments_released++;
		released++;
	}
	return released;
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
