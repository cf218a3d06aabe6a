/* WAL writer: what keeps a segment live, and its release.
 *
 * A segment may go once (1) no group has an entry in it above the group's
 * compaction point (its `pins` count is zero) and (2) a newer segment has a
 * complete checkpoint, so that every hard state and snapshot marker whose
 * latest record is in it has a copy further on. Checkpoints are spread over
 * the batches of each segment (a quarter of a batch at most, more only when
 * the segment's end comes close), skip groups that logged their own hard
 * state or marker in this segment already, and room is held back so that a
 * segment is never sealed before its checkpoint is complete. The cost per
 * batch is bounded and independent of how many groups are idle; the cost per
 * segment is one record per idle group's hard state and snapshot marker.
 *
 * Entries are not copied forward: a group that keeps old entries (no
 * snapshot, never compacted) pins the oldest segment. aeg_wal_pinning_groups
 * names such groups once the log is filling up, so that the node snapshots
 * and compacts them (it knows what their entries mean; the log does not,
 * and copying a never-compacted log forward would not bound the disk). */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>

void wal_live_entry(struct aeg_wal *w, uint32_t seg, uint32_t gslot, uint64_t index)
{
	struct wal_segment *s = &w->segs[seg];
	uint64_t compacted = w->groups[gslot].compacted;
	bool pinned = s->max_index[gslot] > compacted;
	if (s->min_index[gslot] == 0 || index < s->min_index[gslot])
		s->min_index[gslot] = index;
	if (index > s->max_index[gslot])
		s->max_index[gslot] = index;
	if (!pinned && s->max_index[gslot] > compacted)
		s->pins++;
}

/* The group's compaction point moves up to index: segments whose entries of
 * it are all covered now lose its pin. O(segments). */
void wal_live_compact(struct aeg_wal *w, uint32_t gslot, uint64_t index)
{
	struct wal_group *g = &w->groups[gslot];
	uint64_t old = g->compacted;
	if (index <= old)
		return;
	g->compacted = index;
	for (uint32_t i = 0; i < w->segs_n; i++) {
		struct wal_segment *s = &w->segs[i];
		uint64_t m = s->max_index[gslot];
		if (s->state == WAL_SEG_LIVE && m > old && m <= index) {
			assert(s->pins > 0);
			s->pins--;
		}
	}
}

/* Entries >= index_from are void: they pin nothing (an idle group whose
 * uncommitted tail was cut would otherwise hold segments until its log grew
 * past the old tail). The ranges shrink to what is still live. */
void wal_live_truncate(struct aeg_wal *w, uint32_t gslot, uint64_t index_from)
{
	uint64_t compacted = w->groups[gslot].compacted;
	assert(index_from > 0);
	for (uint32_t i = 0; i < w->segs_n; i++) {
		struct wal_segment *s = &w->segs[i];
		if (s->state != WAL_SEG_LIVE || s->max_index[gslot] < index_from)
			continue;
		bool pinned = s->max_index[gslot] > compacted;
		if (s->min_index[gslot] >= index_from)
			s->min_index[gslot] = s->max_index[gslot] = 0;
		else
			s->max_index[gslot] = index_from - 1;
		if (pinned && s->max_index[gslot] <= compacted) {
			assert(s->pins > 0);
			s->pins--;
		}
	}
}

/* A removed group: its entries pin nothing any more and its slot starts
 * clean when reused. */
void wal_live_forget(struct aeg_wal *w, uint32_t gslot)
{
	uint64_t compacted = w->groups[gslot].compacted;
	for (uint32_t i = 0; i < w->segs_n; i++) {
		struct wal_segment *s = &w->segs[i];
		if (s->state == WAL_SEG_LIVE && s->max_index[gslot] > compacted) {
			assert(s->pins > 0);
			s->pins--;
		}
		s->min_index[gslot] = 0;
		s->max_index[gslot] = 0;
	}
}

int aeg_wal_compact(struct aeg_wal *w, uint64_t group, uint64_t index)
{
	int gs = wal_group_slot(w, group, false);
	if (gs < 0)
		return gs;
	wal_live_compact(w, (uint32_t)gs, index);
	return wal_release(w);
}

/* Bytes the rest of the current segment's checkpoint may take. */
uint64_t wal_ckpt_pending_bytes(const struct aeg_wal *w)
{
	if (w->cur < 0 || w->ckpt_done_seq >= w->segs[w->cur].seq)
		return 0;
	assert(w->ckpt_cursor <= w->ckpt_end);
	return (uint64_t)(w->ckpt_end - w->ckpt_cursor) * WAL_CKPT_GROUP_BYTES;
}

/* Copies forward, into batch b, the hard state and snapshot marker of the
 * next groups whose latest ones sit in an older segment, up to budget bytes
 * of records. Marks the checkpoint complete when every group was seen. */
void wal_ckpt_step(struct aeg_wal *w, struct wal_batch *b, uint64_t budget)
{
	uint64_t seq = w->segs[b->seg].seq;
	assert((int32_t)b->seg == w->cur);
	uint64_t used = 0;
	/* Bounded by ckpt_end: the cursor only moves on. Groups that need no
	 * copy cost a look each, once per segment. */
	while (w->ckpt_cursor < w->ckpt_end && used + WAL_CKPT_GROUP_BYTES <= budget) {
		uint32_t gs = w->ckpt_cursor++;
		struct wal_group *g = &w->groups[gs];
		if (!g->used)
			continue;
		if (g->has_hs && g->hs_seq < seq) {
			uint8_t hs[AEG_WAL_HARD_STATE_BYTES];
			int rc = aeg_wal_hard_state_encode(hs, g->hs_vote, g->hs_commit);
			assert(rc == AEG_WAL_HARD_STATE_BYTES);
			struct aeg_wal_rec r = { .type = AEG_WAL_HARD_STATE, .group = g->id, .term = g->hs_term,
						 .len = sizeof(hs), .payload = hs };
			wal_batch_put(w, b, &r, (int)gs, false);
			used += aeg_wal_rec_size(sizeof(hs));
			w->stats.checkpoint_records++;
		}
		if (g->snap_index != 0 && g->snap_seq < seq) {
			struct aeg_wal_rec r = { .type = AEG_WAL_SNAPSHOT, .group = g->id, .term = g->snap_term,
						 .index = g->snap_index };
			wal_batch_put(w, b, &r, (int)gs, false);
			used += aeg_wal_rec_size(0);
			w->stats.checkpoint_records++;
		}
	}
	if (w->ckpt_cursor == w->ckpt_end && w->ckpt_done_seq < seq)
		w->ckpt_done_seq = seq;
}

/* Releases the oldest segments while they may go (oldest first, so the live
 * segments stay one contiguous run). Returns how many. O(segments). */
int wal_release(struct aeg_wal *w)
{
	int released = 0;
	for (;;) {
		uint64_t oldest = wal_log_start(w);
		int slot = wal_seg_by_seq(w, oldest);
		if (slot < 0 || slot == w->cur || w->segs[slot].pins != 0 || oldest >= w->ckpt_done_seq)
			break;
		w->segs[slot].state = WAL_SEG_FREE;
		w->stats.segments_released++;
		released++;
	}
	return released;
}

/* The checkpoint's share of batch b, then the limit for everything else:
 * what stays in the segment after b must hold the rest of the checkpoint. */
void wal_ckpt_batch(struct aeg_wal *w, struct wal_batch *b)
{
	uint64_t seg_room = w->cfg.segment_bytes - WAL_BLOCK_BYTES - b->off; /* last block: SEAL */
	uint64_t pending = wal_ckpt_pending_bytes(w);
	if (pending != 0) {
		uint64_t avail = b->limit > (int64_t)b->len ? (uint64_t)(b->limit - b->len) : 0;
		uint64_t after = seg_room > b->cap ? seg_room - b->cap : 0;
		/* A quarter of the batch, or all of it once the segment's end is near. */
		wal_ckpt_step(w, b, wal_ckpt_reserve(w->cfg.batch_bytes_max, pending) >= after ? avail : avail / 4);
	}
	uint64_t held = wal_ckpt_reserve(w->cfg.batch_bytes_max, wal_ckpt_pending_bytes(w));
	int64_t max = (int64_t)seg_room - (int64_t)held - (int64_t)WAL_BATCH_RESERVE;
	if (max < b->limit)
		b->limit = max;
	b->limit_entries = b->limit;
	if (max - (int64_t)w->meta_reserve < b->limit_entries)
		b->limit_entries = max - (int64_t)w->meta_reserve;
}

/* Whether a new segment may start now. A released segment is reused only
 * once a newer header (whose log start is past it) is durable, and only a
 * new segment writes a header: so the last free slot is kept for the start
 * that makes released segments reusable, else a full log could never come
 * back. Returns the slot to take (-1: none, or not now). */
int wal_seg_pick(const struct aeg_wal *w)
{
	int pick = -1;
	uint32_t avail = w->cfg.segments_max - w->segs_n, waiting = 0;
	for (uint32_t i = 0; i < w->segs_n; i++) {
		const struct wal_segment *s = &w->segs[i];
		bool reusable = s->state == WAL_SEG_UNUSED || (s->state == WAL_SEG_FREE && s->seq < w->durable_log_start);
		if (reusable && pick < 0)
			pick = (int)i;
		avail += reusable;
		waiting += s->state == WAL_SEG_FREE && !reusable;
	}
	if (avail == 0 || (avail == 1 && waiting == 0))
		return -1;
	return pick >= 0 ? pick : (int)w->segs_n; /* segs_n: a new file */
}

void wal_log_full(struct aeg_wal *w)
{
	if (w->stats.log_full++ == 0)
		wal_log(w, "all %u segments hold live records (one is kept to move the log start on): "
			   "appends wait for compaction (aeg_wal_pinning_groups names the groups holding the oldest)",
			w->cfg.segments_max);
}

/* Whether a new segment may start now; counts a full log if not. */
bool wal_segment_available(struct aeg_wal *w)
{
	wal_release(w);
	if (wal_seg_pick(w) >= 0)
		return true;
	wal_log_full(w);
	return false;
}

int aeg_wal_pinning_groups(struct aeg_wal *w, uint64_t *groups, size_t max)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i < w->segs_n; i++)
		live += w->segs[i].state == WAL_SEG_LIVE;
	if ((uint64_t)live * 100 < (uint64_t)w->cfg.segments_max * w->cfg.pinning_fill_pct)
		return 0;
	int slot = wal_seg_by_seq(w, wal_log_start(w));
	if (slot < 0 || slot == w->cur || w->segs[slot].pins == 0)
		return 0;
	const struct wal_segment *s = &w->segs[slot];
	size_t n = 0;
	for (uint32_t gs = 0; gs < w->groups_n; gs++) {
		const struct wal_group *g = &w->groups[gs];
		if (!g->used || s->max_index[gs] <= g->compacted)
			continue;
		if (n < max)
			groups[n] = g->id;
		n++;
	}
	assert(n == s->pins);
	return (int)n;
}
