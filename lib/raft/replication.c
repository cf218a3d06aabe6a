/* Log replication (§5.3): appends batched per follower and pipelined in
 * replicate state up to inflight_max messages, one probe at a time in probe
 * state, fast back-off on conflicts (the follower's hint skips a whole
 * term), heartbeats, and the commit rule: only an entry of the current term
 * is committed by counting replicas (§5.4.2). */
#include "raft_int.h"

bool repl_send_append(struct aeg_raft *r, struct aeg_raft_progress *pr, bool send_empty)
{
	if (pr->id == r->id || progress_paused(r, pr))
		return false;
	if (pr->next > r->last + 1)
		pr->next = r->last + 1;
	uint64_t prev = pr->next - 1;
	uint64_t prev_term;
	if (!log_term(r, prev, &prev_term))
		return snapshot_send(r, pr);
	uint32_t n = log_batch(r, pr->next);
	if (n == 0 && !send_empty)
		return false;
	struct aeg_raft_msg *m = outbox_push(r, pr->id, AEG_RAFT_MSG_APPEND, true);
	if (m == NULL)
		return false;
	m->index = prev;
	m->log_term = prev_term;
	m->commit = r->commit;
	m->n_entries = n;
	m->entries = n > 0 ? log_slot(r, pr->next) : NULL;
	if (pr->state == AEG_RAFT_REPLICATE && n > 0) {
		pr->next += n;  /* optimistic: pipeline the next batch */
		progress_infl_add(r, pr, pr->next - 1);
	} else if (pr->state == AEG_RAFT_PROBE) {
		pr->probe_sent = true;
	}
	return true;
}

void repl_bcast_append(struct aeg_raft *r, bool send_empty)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct aeg_raft_progress *pr = &r->prs[i];
		/* All that is new leaves now, batch after batch while the window
		 * allows: one batch per call left the rest of a large proposal
		 * waiting for the next ack, a round trip later. */
		if (repl_send_append(r, pr, send_empty))
			while (pr->state == AEG_RAFT_REPLICATE && repl_send_append(r, pr, false))
				;
	}
}

void repl_bcast_heartbeat(struct aeg_raft *r, uint64_t ctx)
{
	for (uint32_t i = 0; i < r->n_prs; i++) {
		struct aeg_raft_progress *pr = &r->prs[i];
		if (pr->id == r->id)
			continue;
		struct aeg_raft_msg *m = outbox_push(r, pr->id, AEG_RAFT_MSG_HEARTBEAT, true);
		if (m == NULL)
			continue;
		/* Never tell a follower to commit past what it is known to hold. */
		m->commit = pr->match < r->commit ? pr->match : r->commit;
		m->ctx = ctx;
	}
}

bool repl_maybe_commit(struct aeg_raft *r)
{
	uint64_t c = progress_committed(r);
	if (c <= r->commit)
		return false;
	uint64_t t;
	if (!log_term(r, c, &t))
		return false;
#ifndef AEG_RAFT_BUG_COMMIT_OLD_TERM
	if (t != r->term)
		return false;  /* §5.4.2: Figure 8 */
#endif
	r->commit = c;
	return true;
}

void repl_on_commit(struct aeg_raft *r)
{
	repl_bcast_append(r, true);
	membership_on_commit(r);
}

static void append_reject(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	struct aeg_raft_msg *resp = outbox_push(r, m->from, AEG_RAFT_MSG_APPEND_RESP, false);
	if (resp == NULL)
		return;
	/* Fast back-off: the last index that can match, skipping every entry
	 * whose term is above the leader's prev term. */
	uint64_t hint = m->index < r->last ? m->index : r->last;
	hint = log_find_conflict_by_term(r, hint, m->log_term);
	uint64_t hint_term = 0;
	bool ok = log_term(r, hint, &hint_term);
	(void)ok;
	resp->reject = true;
	resp->index = m->index;
	resp->hint = hint;
	resp->log_term = hint_term;
}

void repl_handle_append(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	if (m->index < r->commit) {
		struct aeg_raft_msg *resp = outbox_push(r, m->from, AEG_RAFT_MSG_APPEND_RESP, false);
		if (resp != NULL)
			resp->index = r->commit;
		return;
	}
	if (!log_match_term(r, m->index, m->log_term)) {
		append_reject(r, m);
		return;
	}
	uint32_t i = 0;
	while (i < m->n_entries && log_match_term(r, m->entries[i].index, m->entries[i].term))
		i++;
	if (i < m->n_entries) {
		uint64_t conflict = m->entries[i].index;
		if (conflict <= r->commit)
			return;  /* only a broken leader asks this: refuse */
		log_truncate(r, conflict);
		for (; i < m->n_entries; i++) {
			const struct aeg_raft_entry *e = &m->entries[i];
			if (log_append(r, e->term, e->type, e->data, e->len) != 0)
				break;  /* window full: keep the prefix, ack what we hold */
		}
	}
	uint64_t last_new = m->index + i;
	raft_set_commit(r, m->commit < last_new ? m->commit : last_new);
	struct aeg_raft_msg *resp = outbox_push(r, m->from, AEG_RAFT_MSG_APPEND_RESP, false);
	if (resp != NULL)
		resp->index = last_new;
}

static void leader_acked(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t index)
{
	bool probe_caught_up = pr->state == AEG_RAFT_PROBE && pr->match == index;
	if (!progress_maybe_update(pr, index) && !probe_caught_up)
		return;
	if (pr->state == AEG_RAFT_PROBE) {
		progress_become_replicate(pr);
	} else if (pr->state == AEG_RAFT_SNAPSHOTTING) {
		if (pr->match >= pr->snap_index) {
			progress_become_probe(pr);
			progress_become_replicate(pr);
		}
	} else {
		progress_infl_free_to(r, pr, index);
	}
	if (repl_maybe_commit(r))
		repl_on_commit(r);
	if (r->role != AEG_RAFT_LEADER)
		return;  /* stepped down: removed from the config */
	while (repl_send_append(r, pr, false))
		;
	if (pr->id == r->transferee && pr->match == r->last)
		transfer_send_timeout_now(r, pr->id);
}

void repl_handle_append_resp(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	struct aeg_raft_progress *pr = progress_get(r, m->from);
	if (pr == NULL)
		return;
	pr->recent_active = true;
	if (!m->reject) {
		leader_acked(r, pr, m->index);
		return;
	}
	if (pr->state == AEG_RAFT_SNAPSHOTTING) {
		snapshot_handle_reject(r, pr, m);
		return;
	}
	uint64_t hint = m->hint;
	if (m->log_term > 0)
		hint = log_find_conflict_by_term(r, hint, m->log_term);
	if (progress_maybe_decr(pr, m->index, hint)) {
		if (pr->state == AEG_RAFT_REPLICATE)
			progress_become_probe(pr);
		repl_send_append(r, pr, true);
	}
}

void repl_handle_heartbeat(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	raft_set_commit(r, m->commit < r->last ? m->commit : r->last);
	struct aeg_raft_msg *resp = outbox_push(r, m->from, AEG_RAFT_MSG_HEARTBEAT_RESP, false);
	if (resp != NULL)
		resp->ctx = m->ctx;
}

void repl_handle_heartbeat_resp(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	struct aeg_raft_progress *pr = progress_get(r, m->from);
	if (pr == NULL)
		return;
	pr->recent_active = true;
	pr->probe_sent = false;
	if (m->ctx != 0)
		read_handle_ack(r, pr, m->ctx);
	if (pr->state == AEG_RAFT_SNAPSHOTTING) {
		snapshot_resend(r, pr);
		return;
	}
	/* A full window with a live follower means appends were lost: go
	 * back to probing from what it acknowledged. */
	if (pr->state == AEG_RAFT_REPLICATE && progress_paused(r, pr))
		progress_become_probe(pr);
	if (pr->match < r->last)
		repl_send_append(r, pr, true);
}
