/* WAL writer: batches, group commit on io_uring, completions and errors.
 *
 * Batches live in a ring of batches_inflight_max + 1 aligned, registered
 * buffers. Sequence numbers only grow:
 *   [done_seq, submit_seq)  submitted: write + fdatasync linked, in flight
 *   [submit_seq, fill_seq)  closed, waiting for a free in-flight slot
 *   fill_seq                the batch being filled (or not started)
 * A batch's ticket (lsn) is its seq + 1; durable_lsn is done_seq. Batches are
 * reported in order, so nothing is acknowledged behind a gap. Every batch
 * starts and ends on a block boundary (PAD records fill the tail), which is
 * what O_DIRECT needs and keeps a torn write inside unacknowledged blocks. */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void wal_log(const struct aeg_wal *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "aegis-wal[worker %u, %s]: ", w->cfg.worker_id, w->dir);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *wal_seg_path(const struct aeg_wal *w, uint32_t slot, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/seg-%06u.wal", w->dir, slot);
	return buf;
}

void wal_fail(struct aeg_wal *w, int err, const char *what, int seg, uint64_t off)
{
	assert(err < 0);
	if (w->stats.failed != 0)
		return;
	w->stats.failed = err;
	w->stats.io_errors++;
	char path[4096] = "-";
	if (seg >= 0)
		wal_seg_path(w, (uint32_t)seg, path, sizeof(path));
	wal_log(w, "%s failed on %s at offset %llu: %s; the log stops accepting writes "
		   "(records already reported durable are safe)",
		what, path, (unsigned long long)off, strerror(-err));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct wal_batch *batch_at(struct aeg_wal *w, uint64_t seq)
{
	return &w->batches[seq % w->nbatches];
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Encodes one record into b and updates the in-memory state exactly as
 * replay would. mark: report this group when the batch is durable. */
void wal_batch_put(struct aeg_wal *w, struct wal_batch *b, const struct aeg_wal_rec *r, int gslot, bool mark)
{
	struct wal_segment *s = &w->segs[b->seg];
	int n = aeg_wal_rec_encode(b->buf + b->len, b->cap - b->len, s->seq, r);
	assert(n > 0); /* room was checked by the caller */
	b->len += (uint32_t)n;
	w->stats.records++;
	w->stats.payload_bytes += r->len;
	wal_group_apply(w, b->seg, r);
	if (!mark || gslot < 0)
		return;
	struct wal_group *g = &w->groups[gslot];
	if (g->mark_batch != w->fill_seq + 1) {
		assert(b->marks_n < w->cfg.groups_max);
		g->mark_batch = w->fill_seq + 1;
		g->mark_pos = b->marks_n++;
		b->marks[g->mark_pos] = (struct wal_mark){ .gslot = (uint32_t)gslot };
	}
	struct wal_mark *m = &b->marks[g->mark_pos];
	if (r->type == AEG_WAL_HARD_STATE) {
		m->hard_state = true;
	} else if (r->type == AEG_WAL_ENTRY || r->type == AEG_WAL_SNAPSHOT) {
		m->index = r->index;
		m->term = r->term;
	}
}

/* Bytes of records a batch at off may take: it stays within batch_bytes_max
 * and leaves the segment's last block free for a SEAL, and room for its own
 * PAD and SEAL. Negative when the segment has no room left. */
static int64_t records_limit(const struct aeg_wal *w, uint64_t off, bool entries)
{
	uint64_t room = w->cfg.segment_bytes - WAL_BLOCK_BYTES - off;
	if (entries)
		room = room > w->meta_reserve ? room - w->meta_reserve : 0;
	if (room > w->cfg.batch_bytes_max)
		room = w->cfg.batch_bytes_max;
	return (int64_t)room - (int64_t)WAL_BATCH_RESERVE;
}

/* Starts the batch at fill_seq: in the current segment, or at the head of a
 * new one with its header (its checkpoint then starts). Either way the
 * batch carries its share of the checkpoint. */
static int batch_start(struct aeg_wal *w, struct wal_batch *b)
{
	uint64_t seg_bytes = w->cfg.segment_bytes;
	if (w->cur < 0 || w->segs[w->cur].write_off == seg_bytes) {
		uint32_t slot;
		int rc = wal_segment_start(w, &slot);
		if (rc < 0)
			return rc;
		w->cur = (int32_t)slot;
		w->ckpt_cursor = 0;
		w->ckpt_end = w->groups_n;
	}
	struct wal_segment *s = &w->segs[w->cur];
	assert(s->write_off + WAL_BLOCK_BYTES <= seg_bytes);
	*b = (struct wal_batch){ .buf = b->buf, .marks = b->marks, .state = WAL_BATCH_FILLING,
				 .seg = (uint32_t)w->cur, .off = s->write_off, .start_ns = mono_ns() };
	uint64_t cap = seg_bytes - s->write_off;
	b->cap = (uint32_t)(cap < w->cfg.batch_bytes_max ? cap : w->cfg.batch_bytes_max);
	b->limit = records_limit(w, s->write_off, false);
	if (s->write_off == 0) {
		struct aeg_wal_seg_hdr h = { .version = AEG_WAL_VERSION, .worker_id = w->cfg.worker_id,
					     .seq = s->seq, .log_start_seq = s->hdr_log_start,
					     .segment_bytes = seg_bytes, .block_bytes = WAL_BLOCK_BYTES,
					     .torn_window_bytes = w->cfg.batches_inflight_max * w->cfg.batch_bytes_max };
		int n = aeg_wal_seg_hdr_encode(&h, b->buf, b->cap);
		assert(n == AEG_WAL_SEG_HDR_BYTES);
		b->len = (uint32_t)n;
	}
	wal_ckpt_batch(w, b);
	wal_release(w);
	return 0;
}

/* Ends the filling batch on a block boundary, sealing its segment if asked. */
static void batch_close(struct aeg_wal *w, struct wal_batch *b, bool seal)
{
	struct wal_segment *s = &w->segs[b->seg];
	assert(b->state == WAL_BATCH_FILLING);
	if (seal) {
		assert(wal_ckpt_pending_bytes(w) == 0);
		struct aeg_wal_rec r = { .type = AEG_WAL_SEAL, .index = s->seq + 1, .term = AEG_WAL_SEAL_CHECKPOINTED };
		wal_batch_put(w, b, &r, -1, false);
	}
	uint32_t gap = (uint32_t)(align_up(b->len, WAL_BLOCK_BYTES) - b->len);
	if (gap != 0 && gap < AEG_WAL_REC_HDR_BYTES)
		gap += WAL_BLOCK_BYTES;
	if (gap != 0) {
		int n = aeg_wal_pad_encode(b->buf + b->len, gap, s->seq);
		assert(n == (int)gap);
		b->len += gap;
	}
	assert(b->len % WAL_BLOCK_BYTES == 0 && b->len <= b->cap);
	w->stats.bytes_written += b->len;
	s->write_off = seal ? w->cfg.segment_bytes : b->off + b->len;
	assert(seal || s->write_off + WAL_BLOCK_BYTES <= w->cfg.segment_bytes);
	b->seals = seal;
	b->state = WAL_BATCH_INFLIGHT; /* closed; in flight once submitted */
	w->fill_seq++;
}

/* Returns the filling batch with room for need more bytes of records. */
static int batch_room(struct aeg_wal *w, size_t need, bool entry, struct wal_batch **out)
{
	if (w->stats.failed != 0)
		return w->stats.failed;
	/* Bounded: each round takes the record, closes a batch (after nbatches
	 * of them every buffer is busy) or fails. */
	for (uint32_t attempt = 0; attempt <= w->nbatches + 1; attempt++) {
		struct wal_batch *b = batch_at(w, w->fill_seq);
		if (b->state == WAL_BATCH_FREE) {
			int rc = batch_start(w, b);
			if (rc < 0)
				return rc;
		}
		if ((int64_t)(b->len + need) <= (entry ? b->limit_entries : b->limit)) {
			*out = b;
			return 0;
		}
		if (w->fill_seq + 1 - w->done_seq >= w->nbatches)
			return -EAGAIN; /* every buffer busy: poll first */
		/* Seal when a fresh batch after this one could not take the record,
		 * never before the segment's checkpoint is complete (room for it is
		 * held back: the next batches carry it). */
		uint64_t fresh_off = align_up(b->off + b->len + AEG_WAL_REC_HDR_BYTES, WAL_BLOCK_BYTES);
		bool seal = wal_ckpt_pending_bytes(w) == 0 && (int64_t)need > records_limit(w, fresh_off, entry);
		/* No segment to go on with: keep this one's room (for hard states
		 * and markers) rather than sealing it. */
		if (seal && !wal_segment_available(w))
			return -ENOSPC;
		batch_close(w, b, seal);
	}
	return -EAGAIN;
}

int wal_append_rec(struct aeg_wal *w, const struct aeg_wal_rec *r, uint64_t *lsn)
{
	int gslot = wal_group_slot(w, r->group, true);
	if (gslot < 0)
		return gslot;
	if (r->len > AEG_WAL_PAYLOAD_MAX || aeg_wal_rec_size(r->len) > w->rec_bytes_max)
		return -EMSGSIZE;
	struct wal_batch *b = NULL;
	int rc = batch_room(w, aeg_wal_rec_size(r->len), r->type == AEG_WAL_ENTRY, &b);
	if (rc < 0)
		return rc;
	wal_batch_put(w, b, r, gslot, true);
	if (lsn != NULL)
		*lsn = w->fill_seq + 1;
	return 0;
}

int aeg_wal_append_entries(struct aeg_wal *w, uint64_t group, const struct aeg_wal_entry *ents, size_t n,
			   uint64_t *lsn)
{
	size_t i;
	for (i = 0; i < n && i < INT32_MAX; i++) {
		struct aeg_wal_rec r = { .type = AEG_WAL_ENTRY, .entry_type = ents[i].type, .group = group,
					 .term = ents[i].term, .index = ents[i].index, .len = ents[i].len,
					 .payload = ents[i].data };
		if (ents[i].type > AEG_WAL_ENTRY_TYPE_MAX)
			return i == 0 ? -EINVAL : (int)i;
		int rc = wal_append_rec(w, &r, lsn);
		/* Entries already taken stay taken: report them; the caller
		 * meets the error on its next call. */
		if (rc < 0)
			return i == 0 ? rc : (int)i;
	}
	return (int)i;
}

int aeg_wal_set_hard_state(struct aeg_wal *w, uint64_t group, uint64_t term, uint64_t vote, uint64_t commit,
			   uint64_t *lsn)
{
	uint8_t hs[AEG_WAL_HARD_STATE_BYTES];
	int n = aeg_wal_hard_state_encode(hs, vote, commit);
	assert(n == AEG_WAL_HARD_STATE_BYTES);
	struct aeg_wal_rec r = { .type = AEG_WAL_HARD_STATE, .group = group, .term = term,
				 .len = sizeof(hs), .payload = hs };
	return wal_append_rec(w, &r, lsn);
}

int aeg_wal_truncate(struct aeg_wal *w, uint64_t group, uint64_t index_from, uint64_t *lsn)
{
	if (index_from == 0)
		return -EINVAL;
	struct aeg_wal_rec r = { .type = AEG_WAL_TRUNCATE, .group = group, .index = index_from };
	return wal_append_rec(w, &r, lsn);
}

/* One write and no sync at all (cfg.no_sync, not durable). */
static bool write_only(const struct aeg_wal *w)
{
	return w->cfg.dsync || w->cfg.no_sync;
}

/* Write (from what is not yet written) linked to fdatasync, or one
 * RWF_DSYNC write (cfg.dsync), or a plain write (cfg.no_sync). */
static int batch_prep(struct aeg_wal *w, uint64_t seq)
{
	struct wal_batch *b = batch_at(w, seq);
	unsigned sqes = write_only(w) ? 1 : 2;
	if (io_uring_sq_space_left(&w->ring) < sqes)
		return -EBUSY;
	struct io_uring_sqe *wr = io_uring_get_sqe(&w->ring);
	assert(wr != NULL);
	io_uring_prep_write_fixed(wr, (int)b->seg, b->buf + b->written, b->len - b->written,
				  b->off + b->written, (int)(seq % w->nbatches));
	wr->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(wr, seq << 1);
	w->cqes_pending += sqes;
	if (write_only(w)) {
		wr->rw_flags = w->cfg.no_sync ? 0 : RWF_DSYNC;
		return 0;
	}
	wr->flags |= IOSQE_IO_LINK;
	struct io_uring_sqe *fs = io_uring_get_sqe(&w->ring);
	assert(fs != NULL);
	io_uring_prep_fsync(fs, (int)b->seg, IORING_FSYNC_DATASYNC);
	fs->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(fs, seq << 1 | 1);
	return 0;
}

static int ring_submit(struct aeg_wal *w)
{
	int rc = io_uring_submit(&w->ring);
	if (rc < 0)
		wal_fail(w, rc, "io_uring_submit", -1, 0);
	return rc < 0 ? rc : 0;
}

int aeg_wal_submit(struct aeg_wal *w)
{
	if (w->stats.failed != 0)
		return w->stats.failed;
	int submitted = 0;
	while (w->submit_seq - w->done_seq < w->cfg.batches_inflight_max) {
		if (w->submit_seq == w->fill_seq) {
			struct wal_batch *f = batch_at(w, w->fill_seq);
			if (f->state != WAL_BATCH_FILLING || f->len == 0)
				break;
			batch_close(w, f, false);
		}
		struct wal_batch *b = batch_at(w, w->submit_seq);
		/* A new segment is written only once the previous one, sealed, is
		 * durable: recovery can then demand a seal on every segment but the last. */
		if (w->submit_seq > w->done_seq && batch_at(w, w->done_seq)->seg != b->seg)
			break;
		int rc = batch_prep(w, w->submit_seq);
		if (rc < 0)
			break;
		b->submit_ns = mono_ns();
		w->stats.fill_ns += b->submit_ns - b->start_ns;
		w->submit_seq++;
		w->stats.batches++;
		submitted = 1;
	}
	if (submitted) {
		int rc = ring_submit(w);
		if (rc < 0)
			return rc;
	}
	return submitted;
}

static void on_cqe(struct aeg_wal *w, const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	uint64_t seq = data >> 1;
	struct wal_batch *b = batch_at(w, seq);
	assert(w->cqes_pending > 0);
	w->cqes_pending--;
	assert(seq >= w->done_seq && seq < w->submit_seq && b->state == WAL_BATCH_INFLIGHT);
	if ((data & 1) == 0) {
		if (cqe->res < 0) {
			wal_fail(w, cqe->res, "write", (int)b->seg, b->off + b->written);
		} else {
			b->written += (uint32_t)cqe->res;
			if (b->written < b->len) {
				w->stats.short_writes++;
				b->resubmit = true; /* the linked fdatasync is cancelled */
			}
		}
		if (!write_only(w) || w->stats.failed != 0)
			return;
		/* RWF_DSYNC: the write's completion is the sync's (no_sync: no sync). */
	}
	if (w->stats.failed != 0)
		return;
	if (cqe->res < 0 && !(cqe->res == -ECANCELED && b->resubmit)) {
		wal_fail(w, cqe->res, "fdatasync", (int)b->seg, b->off);
		return;
	}
	if (b->written < b->len) {
		b->resubmit = false;
		if (batch_prep(w, seq) < 0 || ring_submit(w) < 0)
			wal_fail(w, -EIO, "resubmitting a short write", (int)b->seg, b->off + b->written);
		return;
	}
	w->stats.syncs++;
	w->stats.sync_ns += mono_ns() - b->submit_ns;
	b->state = WAL_BATCH_DONE;
}

/* Reports completed batches in order and frees their buffers. */
static int report_done(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx)
{
	int n = 0;
	while (w->done_seq < w->submit_seq && batch_at(w, w->done_seq)->state == WAL_BATCH_DONE) {
		struct wal_batch *b = batch_at(w, w->done_seq);
		struct wal_segment *s = &w->segs[b->seg];
		s->durable_end = b->off + b->len;
		w->durable_log_start = s->hdr_log_start;
		for (uint32_t i = 0; i < b->marks_n && fn != NULL; i++) {
			const struct wal_mark *m = &b->marks[i];
			struct aeg_wal_durable d = { .lsn = w->done_seq + 1, .group = w->groups[m->gslot].id,
						     .index = m->index, .term = m->term,
						     .hard_state = m->hard_state };
			fn(ctx, &d);
		}
		w->stats.report_ns += mono_ns() - b->submit_ns;
		b->state = WAL_BATCH_FREE;
		b->marks_n = 0;
		w->done_seq++;
		n++;
	}
	return n;
}

int aeg_wal_poll(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx)
{
	struct io_uring_cqe *cqes[32];
	unsigned got;
	/* Bounded: at most 2 CQEs per batch in flight, plus resubmissions. */
	while ((got = io_uring_peek_batch_cqe(&w->ring, cqes, 32)) != 0) {
		for (unsigned i = 0; i < got; i++)
			on_cqe(w, cqes[i]);
		io_uring_cq_advance(&w->ring, got);
	}
	int n = report_done(w, fn, ctx);
	return w->stats.failed != 0 && n == 0 ? w->stats.failed : n;
}

int aeg_wal_wait(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx)
{
	if (w->cqes_pending > 0) {
		struct io_uring_cqe *cqe;
		int rc;
		do
			rc = io_uring_wait_cqe(&w->ring, &cqe);
		while (rc == -EINTR);
		if (rc < 0)
			wal_fail(w, rc, "io_uring_wait_cqe", -1, 0);
	}
	return aeg_wal_poll(w, fn, ctx);
}

int aeg_wal_flush(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx)
{
	for (;;) {
		int rc = aeg_wal_submit(w);
		if (rc < 0)
			return rc;
		struct wal_batch *f = batch_at(w, w->fill_seq);
		bool filling = f->state == WAL_BATCH_FILLING && f->len != 0;
		if (w->done_seq == w->fill_seq && !filling)
			return 0;
		rc = aeg_wal_wait(w, fn, ctx);
		if (rc < 0)
			return rc;
	}
}

int aeg_wal_wait_fd(const struct aeg_wal *w)
{
	return w->ring.ring_fd;
}

uint64_t aeg_wal_durable_lsn(const struct aeg_wal *w)
{
	return w->done_seq;
}

const struct aeg_wal_stats *aeg_wal_get_stats(const struct aeg_wal *w)
{
	return &w->stats;
}
