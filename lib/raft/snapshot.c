/* Snapshots: not implemented yet. A follower behind the compaction point
 * cannot be caught up. */
#include "raft_int.h"

bool snapshot_send(struct aeg_raft *r, struct aeg_raft_progress *pr)
{
	(void)r;
	(void)pr;
	return false;
}

void snapshot_handle_chunk(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	(void)r;
	(void)m;
}

void snapshot_handle_reject(struct aeg_raft *r, struct aeg_raft_progress *pr,
			    const struct aeg_raft_msg *m)
{
	(void)r;
	(void)m;
	progress_become_probe(pr);
}

void snapshot_ready(struct aeg_raft *r, struct aeg_raft_ready *rd)
{
	(void)r;
	(void)rd;
}
