/* Leader election: randomized timeouts, pre-vote (Raft thesis §9.6), votes
 * (§3.4, with the up-to-date rule of §5.4.1) and becoming leader. */
#include "raft_int.h"

bool election_promotable(const struct aeg_raft *r)
{
	const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, r->id);
	if (pr != NULL && progress_is_voter(pr))
		return true;
	/* Removed by a config that is not committed yet: we may hold its only
	 * copy, so we must still be able to lead until it commits (§4.2.2);
	 * our own vote does not count in it. */
	if (r->conf_index <= r->commit)
		return false;
	struct aeg_raft_conf c;
	membership_conf_at(r, r->commit, &c);
	return conf_has_voter(&c, r->id);
}

void election_become_leader(struct aeg_raft *r, bool alone)
{
	assert(r->role == AEG_RAFT_CANDIDATE);
	r->role = AEG_RAFT_LEADER;
	r->lead = r->id;
	r->transferee = AEG_RAFT_NONE;
	raft_reset_timeout(r);
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct aeg_raft_progress *pr = &r->prs[i];
		progress_reset(r, pr, r->last + 1);
		if (pr->id == r->id) {
			/* The leader counts itself only for what is on its disk. */
			pr->match = r->persisted;
			pr->recent_active = true;
			pr->state = AEG_RAFT_REPLICATE;
		}
	}
	r->pending_conf = r->last;  /* a conf change may sit uncommitted below */
	/* An entry of our term: only it can commit earlier terms (§5.4.2). If
	 * the window is full we still lead; commit waits for compaction. */
	int rc = log_append(r, r->term, AEG_RAFT_ENTRY_NOOP, NULL, 0);
	(void)rc;
	/* Won alone: no vote request waited for our term and vote to be
	 * durable, so nothing of this term may leave before they are (else a
	 * crash could let us lead the same term twice with different
	 * entries). The noop's write carries them. */
	r->leader_safe_from = alone ? r->last : 0;
	repl_bcast_append(r, true);
}

void election_campaign(struct aeg_raft *r, bool pre_vote, bool transfer)
{
	if (!election_promotable(r))
		return;
	if (pre_vote) {
		r->role = AEG_RAFT_PRE_CANDIDATE;
	} else {
		r->role = AEG_RAFT_CANDIDATE;
		r->term++;
		r->vote = r->id;
		r->hs_dirty = true;
	}
	r->lead = AEG_RAFT_NONE;
	raft_reset_timeout(r);
	for (uint32_t i = 0; i < r->n_prs; i++)
		r->prs[i].vote = r->prs[i].id == r->id ? 1 : 0;
	if (progress_tally(r) == VOTE_WON) {
		if (pre_vote) {
			election_campaign(r, false, transfer);
			return;
		}
		election_become_leader(r, true);
		return;
	}
	uint64_t last_term = log_last_term(r);
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct aeg_raft_progress *pr = &r->prs[i];
		if (pr->id == r->id || !progress_is_voter(pr))
			continue;
		/* A real vote request is sent only once our own vote is on disk
		 * (late outbox): counting ourselves is then safe. */
		struct aeg_raft_msg *m = outbox_push(r, pr->id,
			pre_vote ? AEG_RAFT_MSG_PRE_VOTE : AEG_RAFT_MSG_VOTE, pre_vote);
		if (m == NULL)
			continue;
		m->term = pre_vote ? r->term + 1 : r->term;
		m->index = r->last;
		m->log_term = last_term;
		m->ctx = transfer ? 1 : 0;
	}
}

void election_handle_vote(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	bool pre = m->type == AEG_RAFT_MSG_PRE_VOTE;
#ifdef AEG_RAFT_BUG_DOUBLE_VOTE
	bool can = true;  /* BUG variant: grants a second vote in the same term */
#else
	bool can = r->vote == m->from ||
		   (r->vote == AEG_RAFT_NONE && r->lead == AEG_RAFT_NONE) ||
		   (pre && m->term > r->term);
#endif
	struct aeg_raft_msg *resp = outbox_push(r, m->from,
		pre ? AEG_RAFT_MSG_PRE_VOTE_RESP : AEG_RAFT_MSG_VOTE_RESP, false);
	if (can && log_up_to_date(r, m->index, m->log_term)) {
		if (resp != NULL)
			resp->term = m->term;
		if (!pre) {
			r->election_elapsed = 0;
			r->vote = m->from;
			r->hs_dirty = true;
		}
	} else if (resp != NULL) {
		resp->reject = true;
	}
}

void election_handle_vote_resp(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	bool pre = r->role == AEG_RAFT_PRE_CANDIDATE;
	if (m->type != (pre ? AEG_RAFT_MSG_PRE_VOTE_RESP : AEG_RAFT_MSG_VOTE_RESP))
		return;
	struct aeg_raft_progress *pr = progress_get(r, m->from);
	if (pr == NULL)
		return;
	if (pr->vote == 0)
		pr->vote = m->reject ? 2 : 1;
	switch (progress_tally(r)) {
	case VOTE_WON:
		if (pre)
			election_campaign(r, false, false);
		else
			election_become_leader(r, false);
		break;
	case VOTE_LOST:
		raft_become_follower(r, r->term, AEG_RAFT_NONE);
		break;
	default:
		break;
	}
}

void election_tick(struct aeg_raft *r)
{
	if (r->election_elapsed < UINT32_MAX)
		r->election_elapsed++;
	if (r->election_elapsed >= r->randomized_timeout && election_promotable(r))
		election_campaign(r, r->cfg.pre_vote, false);
}
