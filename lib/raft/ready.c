/* The hand-off to the caller: the outbox of messages (those that may leave
 * before our write is durable, and those that must wait for it), and the
 * ready/advance batch: hard state and entries to persist, committed entries
 * to apply, read states, a snapshot to install. */
#include "raft_int.h"

struct aeg_raft_msg *outbox_push(struct aeg_raft *r, uint32_t to, uint32_t type, bool now)
{
	if (now && r->role == AEG_RAFT_LEADER && r->persisted < r->leader_safe_from)
		now = false;  /* our term is not durable yet (won without votes) */
	struct aeg_raft_msg *box = now ? r->out_now : r->out_late;
	uint32_t *n = now ? &r->n_out_now : &r->n_out_late;
	if (*n >= r->cfg.outbox_max) {
		r->msgs_dropped++;
		return NULL;
	}
	struct aeg_raft_msg *m = &box[(*n)++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
	return m;
}

void outbox_drop_appends(struct aeg_raft *r)
{
	uint32_t kept = r->taken_now;
	for (uint32_t i = r->taken_now; i < r->n_out_now; i++) {
		if (r->out_now[i].n_entries > 0) {
			r->msgs_dropped++;
			continue;
		}
		r->out_now[kept++] = r->out_now[i];
	}
	r->n_out_now = kept;
}

static uint64_t apply_limit(const struct aeg_raft *r)
{
	/* Apply only what is committed and on our own disk (a snapshot being
	 * written counts once it is: then persisted >= its index). */
	uint64_t lim = r->commit < r->persisted ? r->commit : r->persisted;
	return lim > r->applied ? lim : r->applied;
}

bool aeg_raft_has_ready(const struct aeg_raft *r)
{
	return r->hs_dirty || r->unstable <= r->last || r->n_out_now > r->taken_now ||
	       r->n_out_late > r->taken_late || apply_limit(r) > r->applied ||
	       r->n_read_states > r->taken_read_states || r->recv_ready;
}

void aeg_raft_ready(struct aeg_raft *r, struct aeg_raft_ready *rd)
{
	assert(r->taken_now == 0 && r->taken_late == 0 && r->taken_read_states == 0);
	memset(rd, 0, sizeof(*rd));
	rd->hs.term = r->term;
	rd->hs.vote = r->vote;
#ifdef AEG_RAFT_BUG_VOTE_NOT_PERSISTED
	rd->hs.vote = AEG_RAFT_NONE;  /* BUG variant: the vote never reaches the disk */
#endif
	rd->hs.commit = r->commit;
	rd->hs_changed = r->hs_dirty;
	r->hs_dirty = false;
	if (r->recv_ready)
		snapshot_ready(r, rd);
	rd->persist_lo = r->unstable;
	rd->persist_hi = r->last;
	r->unstable = r->last + 1;
	rd->apply_lo = r->applied + 1;
	rd->apply_hi = apply_limit(r);
	if (rd->apply_hi > r->applied)
		r->applied = rd->apply_hi;
	rd->msgs_now = r->out_now;
	rd->n_msgs_now = r->taken_now = r->n_out_now;
	rd->msgs = r->out_late;
	rd->n_msgs = r->taken_late = r->n_out_late;
	rd->reads = r->read_states;
	rd->n_reads = r->taken_read_states = r->n_read_states;
}

static void shift_out(struct aeg_raft_msg *box, uint32_t *n, uint32_t *taken)
{
	memmove(box, box + *taken, (*n - *taken) * sizeof(*box));
	*n -= *taken;
	*taken = 0;
}

void aeg_raft_advance(struct aeg_raft *r, const struct aeg_raft_ready *rd)
{
	(void)rd;
	shift_out(r->out_now, &r->n_out_now, &r->taken_now);
	shift_out(r->out_late, &r->n_out_late, &r->taken_late);
	memmove(r->read_states, r->read_states + r->taken_read_states,
		(r->n_read_states - r->taken_read_states) * sizeof(*r->read_states));
	r->n_read_states -= r->taken_read_states;
	r->taken_read_states = 0;
	if (r->slot_release)
		snapshot_slot_release(r);  /* the caller is done with rd->snap_data */
}

void aeg_raft_status(const struct aeg_raft *r, struct aeg_raft_status *st)
{
	st->id = r->id;
	st->role = r->role;
	st->lead = r->lead;
	st->term = r->term;
	st->vote = r->vote;
	st->commit = r->commit;
	st->applied = r->applied;
	st->persisted = r->persisted;
	st->first_index = r->first;
	st->last_index = r->last;
	st->msgs_dropped = r->msgs_dropped;
	st->log_bytes = r->arena != NULL ? r->arena_tail - r->arena_head : r->payload_bytes;
}

enum aeg_raft_role aeg_raft_role(const struct aeg_raft *r)
{
	return r->role;
}

uint32_t aeg_raft_id(const struct aeg_raft *r)
{
	return r->id;
}

uint32_t aeg_raft_lead(const struct aeg_raft *r)
{
	return r->lead;
}

uint64_t aeg_raft_term(const struct aeg_raft *r)
{
	return r->term;
}

uint64_t aeg_raft_commit(const struct aeg_raft *r)
{
	return r->commit;
}

uint64_t aeg_raft_last_index(const struct aeg_raft *r)
{
	return r->last;
}
