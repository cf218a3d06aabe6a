/* The ready loop of the group driver: one ready per dirty group, the log
 * write cursor that survives a full log, persist reports and held
 * messages released in ticket order. */
#include "driver_int.h"

#include "aegis/msg.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define WRITE_CHUNK 64      /* entries per log call */
#define READIES_PER_GROUP 8 /* per process(): bounds one group's share */

enum flush_result { FLUSH_DONE, FLUSH_BLOCKED, FLUSH_FAILED };

static enum flush_result log_failed(struct aeg_gd *gd, struct gd_group *g, int rc)
{
	if (rc == -EAGAIN || rc == -ENOSPC) {
		gd->st.log_retries++;
		return FLUSH_BLOCKED;
	}
	g->error = rc;
	gd->st.group_errors++;
	return FLUSH_FAILED;
}

/* Hands the group's pending hard state and entries to the log. */
static enum flush_result flush_cursor(struct aeg_gd *gd, struct gd_group *g)
{
	uint64_t t = 0;
	if (g->hs_pending) {
		if (gd->pend.head - gd->pend.tail >= gd->pend.cap) {
			gd->st.log_retries++;
			return FLUSH_BLOCKED;
		}
		int rc = gd->io.log_hard_state(gd->io.ctx, g->id, &g->hs, &t);
		if (rc != 0)
			return log_failed(gd, g, rc);
		g->hs_pending = false;
		if (t > g->last_ticket)
			g->last_ticket = t;
		struct pend_rec pr = { .ticket = t, .term = g->hs.term, .group = g->id, .hard_state = true };
		if (!pend_push(&gd->pend, &pr))
			gd->st.log_retries++;  /* only delays heartbeat answers */
	}
	struct aeg_raft_entry chunk[WRITE_CHUNK];
	for (uint32_t guard = 0; g->wr_lo <= g->wr_hi; guard++) {
		assert(guard < (1u << 24));
		if (gd->pend.head - gd->pend.tail >= gd->pend.cap) {
			gd->st.log_retries++;
			return FLUSH_BLOCKED;
		}
		uint32_t n = 0;
		for (uint64_t i = g->wr_lo; i <= g->wr_hi && n < WRITE_CHUNK; i++) {
			const struct aeg_raft_entry *e = aeg_raft_entry_at(g->r, i);
			assert(e != NULL);  /* unpersisted entries are never compacted */
			chunk[n++] = *e;
		}
		uint32_t taken = 0;
		int rc = gd->io.log_entries(gd->io.ctx, g->id, chunk, n, &taken, &t);
		if (rc != 0 || taken == 0)
			return log_failed(gd, g, rc != 0 ? rc : -EAGAIN);
		assert(taken <= n);
		struct pend_rec pr = {
			.ticket = t, .index = chunk[taken - 1].index, .term = chunk[taken - 1].term,
			.group = g->id,
		};
		bool ok = pend_push(&gd->pend, &pr);
		assert(ok);
		(void)ok;
		g->wr_lo += taken;
		gd->st.entries_logged += taken;
		if (t > g->last_ticket)
			g->last_ticket = t;
	}
	if (g->msgs_unissued) {
		held_issue(&gd->held, g->id, g->last_ticket > 0 ? g->last_ticket : 1);
		g->msgs_unissued = false;
	}
	return FLUSH_DONE;
}

static bool cursor_pending(const struct gd_group *g)
{
	return g->hs_pending || g->wr_lo <= g->wr_hi;
}

/* The installed snapshot is the group's log base once ticket is durable. */
static void install_landed(struct aeg_gd *gd, struct gd_group *g, uint64_t index, uint64_t term, uint64_t t)
{
	if (t > g->last_ticket)
		g->last_ticket = t;
	/* The snapshot replaces everything the cursor still had to write. */
	if (g->wr_lo <= index)
		g->wr_lo = index + 1;
	struct pend_rec pr = { .ticket = t, .index = index, .term = term, .group = g->id };
	if (!pend_push(&gd->pend, &pr))
		log_failed(gd, g, -ENOBUFS);
}

static void take_snapshot(struct aeg_gd *gd, struct gd_group *g, const struct aeg_raft_ready *rd)
{
	uint64_t t = 0;
	int rc = gd->io.install_snapshot(gd->io.ctx, g->id, rd->snap_index, rd->snap_term, rd->snap_conf,
					 rd->snap_data, rd->snap_len, &t);
	if (rc == AEG_GD_INSTALL_LATER) {
		g->installing = true;
		g->install_index = rd->snap_index;
		g->install_term = rd->snap_term;
		g->n_stash = 0;
		gd->st.installs_later++;
		return;
	}
	if (rc != 0) {
		log_failed(gd, g, rc == -EAGAIN ? -EIO : rc);
		return;
	}
	install_landed(gd, g, rd->snap_index, rd->snap_term, t);
}

/* A message of an install's ready that must wait for the install: kept by
 * value (answers carry no entries or snapshot bytes), else dropped. */
static void stash(struct aeg_gd *gd, struct gd_group *g, const struct aeg_raft_msg *m)
{
	if (g->n_stash < GD_INSTALL_STASH && m->n_entries == 0 && m->snap_len == 0 && m->snap_conf == NULL) {
		g->stash[g->n_stash++] = *m;
		return;
	}
	gd->st.install_msgs_dropped++;
}

int aeg_gd_install_done(struct aeg_gd *gd, uint32_t group, uint64_t index, int rc, uint64_t ticket)
{
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL || !g->installing || g->install_index != index)
		return -ENOENT;
	g->installing = false;
	if (rc != 0) {
		g->error = rc < 0 ? rc : -EIO;
		gd->st.group_errors++;
		g->n_stash = 0;
		return 0;
	}
	install_landed(gd, g, index, g->install_term, ticket);
	for (uint32_t i = 0; i < g->n_stash && g->error == 0; i++) {
		if (g->last_ticket <= gd->durable)
			gd_send(gd, g->id, &g->stash[i]);
		else
			gd_hold(gd, g->id, &g->stash[i], g->last_ticket);
	}
	g->n_stash = 0;
	gd_mark(gd, g);
	aeg_gd_durable(gd, gd->durable);  /* the install's report, if its ticket is durable */
	return 0;
}

/* A heartbeat answer promises no entry, only that we are at its term: it
 * need not wait for our log writes once that term is durable, so a
 * follower's slow disk does not make its leader lose the quorum check. */
static bool hb_answer_now(const struct gd_group *g, const struct aeg_raft_msg *m)
{
	return m->type == AEG_RAFT_MSG_HEARTBEAT_RESP && m->term <= g->durable_term;
}

static void one_ready(struct aeg_gd *gd, struct gd_group *g)
{
	struct aeg_raft_ready rd;
	aeg_raft_ready(g->r, &rd);
	gd->st.readies++;
	for (uint32_t i = 0; i < rd.n_msgs_now; i++)
		gd_send(gd, g->id, &rd.msgs_now[i]);
	if (rd.snap_install)
		take_snapshot(gd, g, &rd);
	/* The commit index rides along with the hard state (Raft marks only
	 * term and vote changes): a restart then knows what it may apply
	 * straight from the log, even past the Raft window. */
	if (rd.hs_changed || rd.hs.commit > g->hs.commit) {
		g->hs = rd.hs;
		g->hs_pending = true;
	}
	if (rd.persist_lo <= rd.persist_hi) {
		if (g->wr_lo > g->wr_hi || rd.persist_lo < g->wr_lo)
			g->wr_lo = rd.persist_lo;
		g->wr_hi = rd.persist_hi;
	}
	/* An install finishing later: nothing of this group reaches the log
	 * before it (a restart must find the snapshot under later entries). */
	enum flush_result fr = g->error != 0 ? FLUSH_FAILED : g->installing ? FLUSH_BLOCKED : flush_cursor(gd, g);
	for (uint32_t i = 0; i < rd.n_msgs && fr != FLUSH_FAILED; i++) {
		if (hb_answer_now(g, &rd.msgs[i])) {
			gd_send(gd, g->id, &rd.msgs[i]);
		} else if (g->installing) {
			stash(gd, g, &rd.msgs[i]);
		} else if (fr == FLUSH_BLOCKED) {
			gd_hold(gd, g->id, &rd.msgs[i], HELD_TICKET_UNISSUED);
			g->msgs_unissued = true;
#ifdef AEG_GD_BUG_ACK_BEFORE_DURABLE
		} else if (true) {  /* BUG variant: acks leave before the write is durable */
#else
		} else if (g->last_ticket <= gd->durable) {
#endif
			gd_send(gd, g->id, &rd.msgs[i]);
		} else {
			gd_hold(gd, g->id, &rd.msgs[i], g->last_ticket);
		}
	}
	/* A snapshot's ready applies nothing (Raft's applied is its index). */
	assert(!g->installing || rd.apply_lo > rd.apply_hi);
	for (uint64_t i = rd.apply_lo; i <= rd.apply_hi; i++) {
		for (uint32_t s = 1; gd->io.prefetch != NULL && s <= AEG_GD_PREFETCH_STEPS; s++) {
			uint32_t ahead = s * AEG_GD_PREFETCH_STEP;
			/* The first entries of the batch get their earlier stages now. */
			if (i + ahead <= rd.apply_hi)
				gd->io.prefetch(gd->io.ctx, g->id, aeg_raft_entry_at(g->r, i + ahead), ahead);
		}
		const struct aeg_raft_entry *e = aeg_raft_entry_at(g->r, i);
		assert(e != NULL);
		gd->io.apply(gd->io.ctx, g->id, e);
		gd->st.entries_applied++;
	}
	for (uint32_t i = 0; i < rd.n_reads && gd->io.read_ready != NULL; i++)
		gd->io.read_ready(gd->io.ctx, g->id, rd.reads[i].ctx, rd.reads[i].index);
	aeg_raft_advance(g->r, &rd);
}

/* Returns true if the group wants another turn (log full, or more work
 * than its share of this pass). */
static bool process_group(struct aeg_gd *gd, struct gd_group *g, uint32_t *readies)
{
	if (g->error != 0 || g->installing)
		return false;  /* an install's end marks it again */
	if (cursor_pending(g) && flush_cursor(gd, g) != FLUSH_DONE)
		return g->error == 0;
	for (uint32_t k = 0; k < READIES_PER_GROUP; k++) {
		if (!aeg_raft_has_ready(g->r))
			return false;
		one_ready(gd, g);
		(*readies)++;
		if (g->error != 0 || g->installing)
			return false;
		if (cursor_pending(g))
			return true;
	}
	return aeg_raft_has_ready(g->r);
}

uint32_t aeg_gd_process(struct aeg_gd *gd)
{
	uint32_t readies = 0;
	uint32_t n = gd->n_dirty;
	uint32_t *list = gd->dirty;
	gd->dirty = gd->dirty_spare;
	gd->dirty_spare = list;
	gd->n_dirty = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct gd_group *g = gd_group(gd, list[i]);
		if (g == NULL)
			continue;  /* removed meanwhile */
		g->dirty = false;
		if (process_group(gd, g, &readies) && !g->dirty) {
			g->dirty = true;
			gd->dirty[gd->n_dirty++] = g->id;
		}
		if (g->active && aeg_raft_quiescent(g->r)) {
			/* left on the tick list: the next tick drops it */
		} else if (!g->active && !aeg_raft_quiescent(g->r)) {
			gd_mark(gd, g);
		}
	}
	return readies;
}

void aeg_gd_durable(struct aeg_gd *gd, uint64_t ticket)
{
	if (ticket > gd->durable)
		gd->durable = ticket;
	for (struct pend_rec *p = pend_front(&gd->pend); p != NULL && p->ticket <= gd->durable;
	     p = pend_front(&gd->pend)) {
		struct gd_group *g = gd_group(gd, p->group);
		if (g != NULL && p->hard_state) {
			if (p->term > g->durable_term)
				g->durable_term = p->term;
		} else if (g != NULL) {
			aeg_raft_persisted(g->r, p->index, p->term);
			gd_mark(gd, g);
		}
		pend_pop(&gd->pend);
	}
	for (struct held_rec *h = held_front(&gd->held);
	     h != NULL && h->ticket != HELD_TICKET_UNISSUED && h->ticket <= gd->durable;
	     h = held_front(&gd->held)) {
		if (h->group != 0) {
			int rc = gd->io.send(gd->io.ctx, h->to, AEG_MSG_RAFT, h->group,
					     (const uint8_t *)(h + 1), h->len);
			if (rc != 0)
				gd->st.send_errors++;
			else
				gd->st.msgs_sent++;
		}
		held_pop(&gd->held);
	}
}
