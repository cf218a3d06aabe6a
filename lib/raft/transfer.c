/* Leadership transfer (Raft thesis §3.10): the leader stops accepting
 * proposals, brings the target up to date, then tells it to campaign at
 * once (TimeoutNow); the target's vote requests override the followers'
 * leader lease. A transfer that has not finished within an election
 * timeout is abandoned. */
#include "raft_int.h"

void transfer_send_timeout_now(struct aeg_raft *r, uint32_t to)
{
	struct aeg_raft_msg *m = outbox_push(r, to, AEG_RAFT_MSG_TIMEOUT_NOW, true);
	(void)m;  /* lost: the transfer times out and the caller may retry */
}

void transfer_tick(struct aeg_raft *r)
{
	r->transferee = AEG_RAFT_NONE;
}

int aeg_raft_transfer_leader(struct aeg_raft *r, uint32_t to)
{
	if (r->role != AEG_RAFT_LEADER)
		return -EPERM;
	struct aeg_raft_progress *pr = progress_get(r, to);
	if (to == r->id || pr == NULL || !progress_is_voter(pr))
		return -EINVAL;
	if (r->transferee == to)
		return 0;
	aeg_raft_wake(r);
	r->transferee = to;
	r->election_elapsed = 0;  /* the transfer has one election timeout */
	if (pr->match == r->last)
		transfer_send_timeout_now(r, to);
	else
		repl_send_append(r, pr, true);
	return 0;
}
