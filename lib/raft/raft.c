/* One Raft group: restore, the step dispatcher (term rules of §5.1 and
 * the pre-vote/lease exceptions of §9.6), tick, propose, the outbox and the
 * ready/advance hand-off. */
#include "raft_int.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void raft_reset_timeout(struct aeg_raft *r)
{
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	uint32_t span = r->cfg.election_ticks_max - r->cfg.election_ticks_min;
	r->randomized_timeout = r->cfg.election_ticks_min + (uint32_t)(splitmix64(&r->rng) % span);
}

int aeg_raft_restore_hard_state(struct aeg_raft *r, const struct aeg_raft_hard_state *hs)
{
	if (r->term != 0 || r->last != r->snap_index)
		return -EINVAL;
	r->term = hs->term;
	r->vote = hs->vote;
	r->restore_commit = hs->commit;  /* applied as entries come back */
	return 0;
}

int aeg_raft_restore_entry(struct aeg_raft *r, uint64_t term, uint64_t index,
			   uint32_t type, const void *data, uint32_t len)
{
	if (index != r->last + 1 || term > r->term || term < log_last_term(r))
		return -EINVAL;
	int rc = log_append(r, term, type, data, len);
	if (rc != 0)
		return rc;
	r->persisted = r->last;
	r->unstable = r->last + 1;
	/* A torn tail may have lost entries below the stored commit index. */
	uint64_t c = r->restore_commit < r->last ? r->restore_commit : r->last;
	if (c > r->commit)
		r->commit = c;
	return 0;
}

void raft_become_follower(struct aeg_raft *r, uint64_t term, uint32_t lead)
{
	if (term != r->term) {
		r->term = term;
		r->vote = AEG_RAFT_NONE;
		r->hs_dirty = true;
	}
	r->role = AEG_RAFT_FOLLOWER;
	r->lead = lead;
	r->transferee = AEG_RAFT_NONE;
	r->n_reads = 0;
	raft_reset_timeout(r);
}

void raft_set_commit(struct aeg_raft *r, uint64_t commit)
{
	if (commit > r->commit) {
		assert(commit <= r->last);
		r->commit = commit;
	}
}

/* Checks what a decoder cannot: a message's shape. */
static int msg_check(const struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	if (m == NULL || m->type == 0 || m->type > AEG_RAFT_MSG_TYPE_MAX ||
	    m->from == AEG_RAFT_NONE || m->from == r->id || m->to != r->id || m->term == 0)
		return -EINVAL;
	if (m->n_entries > 0 && (m->entries == NULL || m->type != AEG_RAFT_MSG_APPEND))
		return -EINVAL;
	if ((m->flags & ~AEG_RAFT_MSG_FLAG_QUIESCE) != 0)
		return -EINVAL;
	if (m->type == AEG_RAFT_MSG_SNAPSHOT &&
	    (m->snap_index == 0 || m->snap_conf == NULL || m->snap_conf->n > AEG_RAFT_CONF_MAX ||
	     (m->snap_len > 0 && m->snap_data == NULL) || m->snap_offset > m->snap_total ||
	     m->snap_len > m->snap_total - m->snap_offset))
		return -EINVAL;
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct aeg_raft_entry *e = &m->entries[i];
		if (e->index != m->index + 1 + i || e->term > m->term ||
		    (i > 0 && e->term < m->entries[i - 1].term) ||
		    (e->len > 0 && e->data == NULL))
			return -EINVAL;
	}
	return 0;
}

static bool from_leader(uint32_t type)
{
	return type == AEG_RAFT_MSG_APPEND || type == AEG_RAFT_MSG_HEARTBEAT ||
	       type == AEG_RAFT_MSG_SNAPSHOT;
}

/* Messages of another term (§5.1): returns false if m is consumed. */
static bool step_term(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	bool vote_req = m->type == AEG_RAFT_MSG_VOTE || m->type == AEG_RAFT_MSG_PRE_VOTE;
	if (m->term > r->term) {
		/* A follower that heard from a leader within the minimum timeout
		 * does not help to depose it (§4.2.3), unless asked by transfer. */
		bool in_lease = r->cfg.check_quorum && (r->role == AEG_RAFT_LEADER ||
				r->since_leader < r->cfg.election_ticks_min);
		if (vote_req && m->ctx == 0 && in_lease)
			return false;
		if (m->type == AEG_RAFT_MSG_PRE_VOTE ||
		    (m->type == AEG_RAFT_MSG_PRE_VOTE_RESP && !m->reject))
			return true;  /* pre-vote never moves terms */
		/* Only a leader or a granted vote resets the election timer
		 * (§5.2): otherwise candidates with stale logs, bumping terms
		 * over and over, keep the up-to-date nodes from ever running
		 * (a livelock the simulator found without pre-vote). */
		uint32_t elapsed = r->election_elapsed;
		uint32_t lead = from_leader(m->type) ? m->from : AEG_RAFT_NONE;
		raft_become_follower(r, m->term, lead);
		if (lead == AEG_RAFT_NONE)
			r->election_elapsed = elapsed;
		return true;
	}
	if (m->term < r->term) {
		if ((r->cfg.check_quorum || r->cfg.pre_vote) &&
		    (m->type == AEG_RAFT_MSG_APPEND || m->type == AEG_RAFT_MSG_HEARTBEAT)) {
			/* Tell a stale leader our term, or it would never learn it
			 * since pre-vote keeps us from bumping terms on it. */
			outbox_push(r, m->from, AEG_RAFT_MSG_APPEND_RESP, false);
		} else if (m->type == AEG_RAFT_MSG_PRE_VOTE) {
			struct aeg_raft_msg *resp = outbox_push(r, m->from,
				AEG_RAFT_MSG_PRE_VOTE_RESP, false);
			if (resp != NULL)
				resp->reject = true;
		}
		return false;
	}
	return true;
}

static void step_leader(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	switch (m->type) {
	case AEG_RAFT_MSG_APPEND_RESP:
		repl_handle_append_resp(r, m);
		break;
	case AEG_RAFT_MSG_HEARTBEAT_RESP:
		repl_handle_heartbeat_resp(r, m);
		break;
	default:
		break;  /* vote responses after winning, or a broken peer */
	}
}

static void step_follower(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	if (from_leader(m->type)) {
		if (r->role != AEG_RAFT_FOLLOWER)
			raft_become_follower(r, m->term, m->from);
		r->election_elapsed = 0;
		r->since_leader = 0;
		r->lead = m->from;
	}
	switch (m->type) {
	case AEG_RAFT_MSG_APPEND:
		repl_handle_append(r, m);
		break;
	case AEG_RAFT_MSG_HEARTBEAT:
		repl_handle_heartbeat(r, m);
		quiesce_follower_heartbeat(r, m);
		break;
	case AEG_RAFT_MSG_SNAPSHOT:
		snapshot_handle_chunk(r, m);
		break;
	case AEG_RAFT_MSG_VOTE_RESP:
	case AEG_RAFT_MSG_PRE_VOTE_RESP:
		if (r->role != AEG_RAFT_FOLLOWER)
			election_handle_vote_resp(r, m);
		break;
	case AEG_RAFT_MSG_TIMEOUT_NOW:
		if (r->role == AEG_RAFT_FOLLOWER)
			election_campaign(r, false, true);
		break;
	default:
		break;
	}
}

int aeg_raft_step(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	int rc = msg_check(r, m);
	if (rc != 0)
		return rc;
	/* Anything but the quiet heartbeat and its answers needs the group. */
	if (r->quiescent && m->type != AEG_RAFT_MSG_HEARTBEAT_RESP &&
	    !(m->type == AEG_RAFT_MSG_HEARTBEAT && (m->flags & AEG_RAFT_MSG_FLAG_QUIESCE)))
		aeg_raft_wake(r);
	if (!step_term(r, m))
		return 0;
	if (m->type == AEG_RAFT_MSG_VOTE || m->type == AEG_RAFT_MSG_PRE_VOTE)
		election_handle_vote(r, m);
	else if (r->role == AEG_RAFT_LEADER)
		step_leader(r, m);
	else
		step_follower(r, m);
	return 0;
}

static void tick_leader(struct aeg_raft *r)
{
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->election_elapsed >= r->cfg.election_ticks_min) {
		r->election_elapsed = 0;
		if (r->cfg.check_quorum) {
			progress_get(r, r->id)->recent_active = true;
			if (!progress_quorum_active(r)) {
				raft_become_follower(r, r->term, AEG_RAFT_NONE);
				return;
			}
			for (uint32_t i = 0; i < r->n_prs; i++)
				r->prs[i].recent_active = r->prs[i].id == r->id;
		}
		transfer_tick(r);
	}
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		if (!quiesce_leader_tick(r))
			read_heartbeat_round(r);
	}
}

void aeg_raft_tick(struct aeg_raft *r)
{
	r->ticks++;
	if (r->quiescent)
		return;  /* asleep: the caller's failure detector watches */
	if (r->since_leader < UINT32_MAX)
		r->since_leader++;
	if (r->idle_ticks < UINT32_MAX)
		r->idle_ticks++;
	if (r->role == AEG_RAFT_LEADER)
		tick_leader(r);
	else
		election_tick(r);
}

void aeg_raft_campaign(struct aeg_raft *r)
{
	if (r->role != AEG_RAFT_LEADER)
		election_campaign(r, r->cfg.pre_vote, false);
}

int aeg_raft_propose(struct aeg_raft *r, const struct aeg_raft_payload *batch,
		     uint32_t n, uint64_t *first_index)
{
	if (batch == NULL || n == 0)
		return -EINVAL;
	if (r->role != AEG_RAFT_LEADER)
		return -EPERM;
	/* A transfer, or our removal on its way to commit: what we took now
	 * would be lost with our leadership. */
	const struct aeg_raft_progress *self = aeg_raft_progress_of(r, r->id);
	if (r->transferee != AEG_RAFT_NONE || self == NULL || !progress_is_voter(self))
		return -EBUSY;
	aeg_raft_wake(r);
	uint64_t first = r->last + 1;
	for (uint32_t i = 0; i < n; i++) {
		int rc = batch[i].type == AEG_RAFT_ENTRY_NORMAL ? 0 : -EINVAL;
		if (rc == 0 && batch[i].len > 0 && batch[i].data == NULL)
			rc = -EINVAL;
		if (rc == 0)
			rc = log_append(r, r->term, AEG_RAFT_ENTRY_NORMAL, batch[i].data, batch[i].len);
		if (rc != 0) {
			log_truncate(r, first);  /* all or nothing; not sent yet */
			return rc;
		}
	}
	if (first_index != NULL)
		*first_index = first;
#ifdef AEG_RAFT_BUG_SELF_UNPERSISTED
	/* BUG variant: the leader counts its own entries before they are durable */
	progress_get(r, r->id)->match = r->last;
#endif
	repl_bcast_append(r, false);
	return 0;
}

int aeg_raft_compact(struct aeg_raft *r, uint64_t index)
{
	if (index > r->applied || index > r->persisted || index > r->last)
		return -EINVAL;
	if (index < r->first)
		return 0;  /* already gone */
	log_compact(r, index);
	return 0;
}

void aeg_raft_persisted(struct aeg_raft *r, uint64_t index, uint64_t term)
{
	if (index <= r->persisted || index > r->last || !log_match_term(r, index, term))
		return;
	r->persisted = index;
	if (r->role != AEG_RAFT_LEADER)
		return;
	struct aeg_raft_progress *self = progress_get(r, r->id);
	if (self != NULL && self->match < index) {
		self->match = index;
		if (repl_maybe_commit(r))
			repl_on_commit(r);
	}
}
