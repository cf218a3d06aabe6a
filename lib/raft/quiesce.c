/* Quiescence and heartbeat coalescing for multi-raft (CockroachDB's
 * quiesced ranges, TiKV's hibernate regions). A leader whose group has been
 * idle for quiesce_ticks (everything committed, every follower caught up
 * and replicating, no reads, transfers or config changes under way) sends
 * one last heartbeat flagged QUIESCE and stops ticking; followers that hold
 * the whole log stop their election timer. Any input that needs the group
 * (a proposal, a read, a message that is not such a heartbeat) wakes it.
 * While quiet, nobody watches the leader: the caller's node-level failure
 * detector must call aeg_raft_wake() on the groups of a node it suspects.
 *
 * Heartbeats that do flow are small and the same for every group; the
 * caller packs those of all groups between two nodes into one frame
 * (aeg_raft_hb_batch_encode/decode) instead of one packet per group. */
#include "raft_int.h"

#include "common/codec.h"

static bool group_idle(const struct aeg_raft *r)
{
	if (r->commit != r->last || r->n_reads > 0 || r->transferee != AEG_RAFT_NONE ||
	    r->pending_conf > r->commit || r->persisted != r->last)
		return false;
	for (uint32_t i = 0; i < r->n_prs; i++) {
		const struct aeg_raft_progress *pr = &r->prs[i];
		if (pr->id != r->id && (pr->match != r->last || pr->state != AEG_RAFT_REPLICATE))
			return false;
	}
	return true;
}

/* Leader, at a heartbeat: returns true if it went quiet (and sent the
 * flagged heartbeats instead of ordinary ones). */
bool quiesce_leader_tick(struct aeg_raft *r)
{
	if (r->cfg.quiesce_ticks == 0)
		return false;
	if (!group_idle(r)) {
		r->idle_ticks = 0;
		return false;
	}
	if (r->idle_ticks < r->cfg.quiesce_ticks)
		return false;
	r->quiescent = true;
	for (uint32_t i = 0; i < r->n_prs; i++) {
		const struct aeg_raft_progress *pr = &r->prs[i];
		if (pr->id == r->id)
			continue;
		struct aeg_raft_msg *m = outbox_push(r, pr->id, AEG_RAFT_MSG_HEARTBEAT, true);
		if (m == NULL)
			continue;
		m->commit = r->commit;
		m->flags = AEG_RAFT_MSG_FLAG_QUIESCE;
	}
	return true;
}

void quiesce_follower_heartbeat(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	/* Quiet only with the whole log: otherwise keep the timer running. */
	if ((m->flags & AEG_RAFT_MSG_FLAG_QUIESCE) && r->commit == r->last && m->commit == r->last)
		r->quiescent = true;
}

void aeg_raft_wake(struct aeg_raft *r)
{
	r->idle_ticks = 0;
	if (!r->quiescent)
		return;
	r->quiescent = false;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	if (r->role == AEG_RAFT_LEADER) {
		/* Nobody was watching: do not count silence as lost followers. */
		for (uint32_t i = 0; i < r->n_prs; i++)
			r->prs[i].recent_active = true;
		read_heartbeat_round(r);
	}
}

bool aeg_raft_quiescent(const struct aeg_raft *r)
{
	return r->quiescent;
}

#define HB_VERSION 1

int aeg_raft_hb_batch_encode(const struct aeg_raft_hb *hbs, uint32_t n, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u8(&w, HB_VERSION);
	aeg_put_varint(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct aeg_raft_hb *h = &hbs[i];
		aeg_put_varint(&w, h->group);
		aeg_put_u8(&w, (uint8_t)h->type);
		aeg_put_u8(&w, (uint8_t)h->flags);
		aeg_put_varint(&w, h->from);
		aeg_put_varint(&w, h->to);
		aeg_put_varint(&w, h->term);
		aeg_put_varint(&w, h->commit);
		aeg_put_varint(&w, h->ctx);
	}
	return w.error ? -ENOBUFS : (int)w.len;
}

int aeg_raft_hb_batch_decode(struct aeg_raft_hb *hbs, uint32_t max, uint32_t *n_out,
			     const uint8_t *buf, size_t len)
{
	struct aeg_reader rd;
	aeg_reader_init(&rd, buf, len);
	uint8_t version = aeg_get_u8(&rd);
	uint64_t n = aeg_get_varint(&rd);
	if (rd.error)
		return -EMSGSIZE;
	if (version != HB_VERSION)
		return -EINVAL;
	if (n > max)
		return -ENOBUFS;
	for (uint32_t i = 0; i < n; i++) {
		struct aeg_raft_hb *h = &hbs[i];
		h->group = aeg_get_varint(&rd);
		h->type = aeg_get_u8(&rd);
		h->flags = aeg_get_u8(&rd);
		h->from = aeg_get_varint32(&rd);
		h->to = aeg_get_varint32(&rd);
		h->term = aeg_get_varint(&rd);
		h->commit = aeg_get_varint(&rd);
		h->ctx = aeg_get_varint(&rd);
		if (rd.error)
			return -EMSGSIZE;
		if ((h->type != AEG_RAFT_MSG_HEARTBEAT && h->type != AEG_RAFT_MSG_HEARTBEAT_RESP) ||
		    (h->flags & ~AEG_RAFT_MSG_FLAG_QUIESCE) != 0 || h->from == AEG_RAFT_NONE ||
		    h->to == AEG_RAFT_NONE || h->term == 0)
			return -EINVAL;
	}
	if (aeg_reader_left(&rd) != 0)
		return -EINVAL;
	*n_out = (uint32_t)n;
	return 0;
}

bool aeg_raft_hb_from_msg(const struct aeg_raft_msg *m, uint64_t group, struct aeg_raft_hb *h)
{
	if (m->type != AEG_RAFT_MSG_HEARTBEAT && m->type != AEG_RAFT_MSG_HEARTBEAT_RESP)
		return false;
	h->group = group;
	h->type = m->type;
	h->flags = m->flags;
	h->from = m->from;
	h->to = m->to;
	h->term = m->term;
	h->commit = m->commit;
	h->ctx = m->ctx;
	return true;
}

void aeg_raft_hb_to_msg(const struct aeg_raft_hb *h, struct aeg_raft_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = h->type;
	m->flags = h->flags;
	m->from = h->from;
	m->to = h->to;
	m->term = h->term;
	m->commit = h->commit;
	m->ctx = h->ctx;
}
