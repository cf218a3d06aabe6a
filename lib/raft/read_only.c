/* Linearizable reads without writing to the log (Raft thesis §6.4).
 * ReadIndex: the leader notes its commit index, confirms it is still leader
 * by a heartbeat round acknowledged by a quorum, and hands out the index.
 * Lease reads (lease_read): the same round, acknowledged within the last
 * lease period, stands in for a fresh one. Followers promise not to vote for
 * election_ticks_min ticks after hearing the leader (and after booting), so
 * a quorum's acks of a round sent at tick t mean no other leader before
 * t + election_ticks_min on their clocks; the lease is 3/4 of that so that
 * clocks may drift by up to 25%. Every periodic heartbeat is a round. */
#include "raft_int.h"

#define ROUND_TICKS_N (sizeof(((struct aeg_raft *)0)->round_tick) / sizeof(uint64_t))

static uint64_t lease_ticks(const struct aeg_raft *r)
{
	return r->cfg.election_ticks_min - r->cfg.election_ticks_min / 4;
}

void read_heartbeat_round(struct aeg_raft *r)
{
	r->read_round++;
	r->round_tick[r->read_round % ROUND_TICKS_N] = r->ticks;
	struct aeg_raft_progress *self = progress_get(r, r->id);
	if (self != NULL)
		self->read_round = r->read_round;
	repl_bcast_heartbeat(r, r->read_round);
}

static int read_state_push(struct aeg_raft *r, uint64_t ctx, uint64_t index)
{
	if (r->n_read_states >= r->cfg.reads_max)
		return -ENOBUFS;
	r->read_states[r->n_read_states].ctx = ctx;
	r->read_states[r->n_read_states].index = index;
	r->n_read_states++;
	return 0;
}

/* Highest round acknowledged by a quorum still inside the lease. */
static bool lease_valid(struct aeg_raft *r)
{
	if (!r->cfg.lease_read || r->transferee != AEG_RAFT_NONE)
		return false;
	uint64_t first = r->read_round >= ROUND_TICKS_N ? r->read_round - ROUND_TICKS_N + 1 : 1;
	for (uint64_t k = r->read_round; k >= first && k > 0; k--) {
		if (!progress_quorum_read_acked(r, k))
			continue;
		return r->ticks < r->round_tick[k % ROUND_TICKS_N] + lease_ticks(r);
	}
	return false;
}

int aeg_raft_read_index(struct aeg_raft *r, uint64_t ctx)
{
	if (ctx == 0)
		return -EINVAL;
	if (r->role != AEG_RAFT_LEADER)
		return -EPERM;
	aeg_raft_wake(r);
	uint64_t t = 0;
	if (!log_term(r, r->commit, &t) || t != r->term)
		return -EAGAIN;  /* our commit index is not known yet (§6.4 step 1) */
	struct aeg_raft_progress *self = progress_get(r, r->id);
	self->read_round = r->read_round + 1;
#ifdef AEG_RAFT_BUG_READ_NO_QUORUM
	/* BUG variant: answers reads without confirming leadership */
	return read_state_push(r, ctx, r->commit);
#endif
	if (progress_quorum_read_acked(r, r->read_round + 1) || lease_valid(r))
		return read_state_push(r, ctx, r->commit);
	if (r->n_reads >= r->cfg.reads_max)
		return -ENOBUFS;
	struct aeg_raft_pending_read *p = &r->reads[r->n_reads++];
	p->ctx = ctx;
	p->index = r->commit;
	p->round = r->read_round + 1;
	read_heartbeat_round(r);
	return 0;
}

void read_handle_ack(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t round)
{
	if (round > r->read_round)
		return;  /* not ours (an older term's leader) */
	if (round > pr->read_round)
		pr->read_round = round;
	uint32_t done = 0;
	while (done < r->n_reads && progress_quorum_read_acked(r, r->reads[done].round)) {
		if (read_state_push(r, r->reads[done].ctx, r->reads[done].index) != 0)
			break;
		done++;
	}
	memmove(r->reads, r->reads + done, (r->n_reads - done) * sizeof(*r->reads));
	r->n_reads -= done;
}
