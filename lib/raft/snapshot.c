/* Snapshots (Raft thesis ch. 5): the state machine's snapshot is opaque
 * bytes owned by the caller (aeg_raft_snapshot_set), with the index, term
 * and configuration it covers. The log may then be compacted up to it. A
 * follower whose next entry was compacted away gets the snapshot in chunks
 * of snapshot_chunk_bytes, one chunk in flight (stop and wait): it answers
 * each chunk with the bytes it holds (an APPEND_RESP reject whose hint is
 * that count), which also repairs lost or duplicated chunks; once complete
 * the snapshot comes out in a ready, the follower's log restarts at it and
 * its ack (an accepting APPEND_RESP at the snapshot index) moves the leader
 * back to probing. The receive buffer is the group's own or a slot shared
 * by the groups of a worker (struct aeg_raft_snap_slot): one snapshot is
 * received at a time per worker, the others are retried by their leaders. */
#include "raft_int.h"

/* A follower part way through receiving our snapshot at index. */
static bool streaming(const struct aeg_raft *r, uint64_t index)
{
	if (r->role != AEG_RAFT_LEADER || index == 0)
		return false;
	for (uint32_t i = 0; i < r->n_prs; i++) {
		const struct aeg_raft_progress *pr = &r->prs[i];
		if (pr->state == AEG_RAFT_SNAPSHOTTING && pr->snap_index == index && pr->snap_offset > 0)
			return true;
	}
	return false;
}

uint64_t aeg_raft_snapshot_kept(struct aeg_raft *r)
{
	if (r->kept_index != 0 && !streaming(r, r->kept_index)) {
		r->kept_index = 0;
		r->kept_data = NULL;
		r->kept_len = 0;
	}
	return r->kept_index;
}

int aeg_raft_snapshot_set_at(struct aeg_raft *r, uint64_t index, uint64_t term, const struct aeg_raft_conf *conf,
			     const void *data, uint32_t len)
{
	uint64_t t;
	if (index == 0 || index > r->applied || index < r->own_snap_index || (data == NULL && len > 0) ||
	    conf == NULL || conf->n == 0 || conf->n > r->cfg.peers_max || (log_term(r, index, &t) && t != term))
		return -EINVAL;
	if (r->cfg.snapshot_keep_streams && r->own_snap_index != index && streaming(r, r->own_snap_index)) {
		r->kept_index = r->own_snap_index;
		r->kept_term = r->own_snap_term;
		r->kept_data = r->snap_data;
		r->kept_len = r->snap_len;
		r->kept_conf = r->snap_conf;
	}
	r->snap_data = data;
	r->snap_len = len;
	r->snap_conf = *conf;
	r->own_snap_index = index;
	r->own_snap_term = term;
	return 0;
}

int aeg_raft_snapshot_set(struct aeg_raft *r, uint64_t index, const void *data, uint32_t len)
{
	uint64_t term;
	if (index == 0 || index > r->applied || !log_term(r, index, &term))
		return -EINVAL;
	struct aeg_raft_conf conf;
	membership_conf_at(r, index, &conf);
	return aeg_raft_snapshot_set_at(r, index, term, &conf, data, len);
}

/* The bytes of the snapshot pr receives: ours, or the kept older one it
 * started. false: neither (it must start over with ours). */
static bool source(const struct aeg_raft *r, const struct aeg_raft_progress *pr, uint64_t *term,
		   const uint8_t **data, uint32_t *len, const struct aeg_raft_conf **conf)
{
	if (pr->snap_index != 0 && pr->snap_index == r->own_snap_index) {
		*term = r->own_snap_term;
		*data = r->snap_data;
		*len = r->snap_len;
		*conf = &r->snap_conf;
		return true;
	}
	if (pr->snap_index != 0 && pr->snap_index == r->kept_index) {
		*term = r->kept_term;
		*data = r->kept_data;
		*len = r->kept_len;
		*conf = &r->kept_conf;
		return true;
	}
	return false;
}

static void send_chunk(struct aeg_raft *r, struct aeg_raft_progress *pr)
{
	uint64_t term;
	const uint8_t *data;
	uint32_t len;
	const struct aeg_raft_conf *conf;
	if (!source(r, pr, &term, &data, &len, &conf))
		return;
	struct aeg_raft_msg *m = outbox_push(r, pr->id, AEG_RAFT_MSG_SNAPSHOT, true);
	if (m == NULL)
		return;
	uint64_t off = pr->snap_offset;
	assert(off <= len);
	uint64_t left = len - off;
	uint32_t n = left < r->cfg.snapshot_chunk_bytes ? (uint32_t)left : r->cfg.snapshot_chunk_bytes;
	m->snap_index = pr->snap_index;
	m->snap_term = term;
	m->snap_total = len;
	m->snap_offset = off;
	m->snap_len = n;
	m->snap_data = n > 0 ? data + off : NULL;
	m->snap_conf = conf;
	m->commit = r->commit;
}

bool snapshot_send(struct aeg_raft *r, struct aeg_raft_progress *pr)
{
	/* Usable only if it covers what the log no longer has. */
	if (r->own_snap_index == 0 || r->own_snap_index + 1 < r->first || !pr->recent_active)
		return false;
	pr->state = AEG_RAFT_SNAPSHOTTING;
	pr->snap_index = r->own_snap_index;
	pr->snap_offset = 0;
	pr->infl_count = 0;
	send_chunk(r, pr);
	return true;
}

void snapshot_resend(struct aeg_raft *r, struct aeg_raft_progress *pr)
{
	if (pr->snap_index != r->own_snap_index && pr->snap_index != r->kept_index) {
		/* We took a newer snapshot meanwhile and did not keep this one
		 * (not started, or another stream took the kept place): start
		 * the newest over. */
		pr->snap_index = r->own_snap_index;
		pr->snap_offset = 0;
	}
	send_chunk(r, pr);
}

void snapshot_handle_reject(struct aeg_raft *r, struct aeg_raft_progress *pr,
			    const struct aeg_raft_msg *m)
{
	/* Rejections of appends sent before, or about another snapshot, are
	 * stale; a lost transfer is resumed by the heartbeat (resend). */
	uint64_t term;
	const uint8_t *data;
	uint32_t len;
	const struct aeg_raft_conf *conf;
	if (m->index != pr->snap_index || !source(r, pr, &term, &data, &len, &conf) || m->hint > len)
		return;
	/* Only progress sends the next chunk: duplicates would otherwise
	 * start a second stream. A lower count (the follower restarted) just
	 * moves the offset back for the next resend. */
	bool progress = m->hint > pr->snap_offset;
	pr->snap_offset = m->hint;
	if (progress && m->hint < len)
		send_chunk(r, pr);
}

static void chunk_reply(struct aeg_raft *r, const struct aeg_raft_msg *m, bool done)
{
	struct aeg_raft_msg *resp = outbox_push(r, m->from, AEG_RAFT_MSG_APPEND_RESP, false);
	if (resp == NULL)
		return;
	resp->reject = !done;
	resp->index = done ? r->commit : m->snap_index;
	resp->hint = r->recv_index == m->snap_index ? r->recv_len : 0;
}

static bool slot_held(const struct aeg_raft *r)
{
	return r->cfg.snap_slot == NULL || r->cfg.snap_slot->owner == r;
}

void snapshot_slot_release(struct aeg_raft *r)
{
	struct aeg_raft_snap_slot *s = r->cfg.snap_slot;
	r->slot_release = false;
	if (s == NULL || s->owner != r)
		return;
	s->owner = NULL;
	s->owner_index = 0;
	s->handed_out = false;
	s->stamp++;
	r->recv_buf = NULL;
	r->recv_index = 0;
	r->recv_term = 0;
	r->recv_len = 0;
	r->recv_ready = false;
}

/* Chunk 0 of a new snapshot: the shared slot is ours if free, or if its
 * holder has not received a chunk for snap_slot_idle_ticks of our ticks
 * (its leader died or moved on: it must not pin the slot forever). */
static bool slot_claim(struct aeg_raft *r, uint64_t index)
{
	struct aeg_raft_snap_slot *s = r->cfg.snap_slot;
	if (s == NULL)
		return true;
	if (s->owner != NULL && s->owner != r) {
		if (s->handed_out)
			return false;  /* its caller is reading the bytes */
		if (s->stamp != r->slot_seen_stamp) {
			r->slot_seen_stamp = s->stamp;
			r->slot_seen_tick = r->ticks;
			return false;
		}
		if (r->ticks - r->slot_seen_tick < r->cfg.snap_slot_idle_ticks)
			return false;
	}
	s->owner = r;
	s->owner_index = index;
	s->handed_out = false;
	s->stamp++;
	r->recv_buf = s->buf;
	return true;
}

void snapshot_handle_chunk(struct aeg_raft *r, const struct aeg_raft_msg *m)
{
	if (m->snap_index <= r->commit) {
		if (r->recv_index <= r->commit && !r->recv_ready && !r->slot_release)
			snapshot_slot_release(r);  /* overtaken by appends */
		chunk_reply(r, m, true);  /* we have all of it already */
		return;
	}
	if (!slot_held(r) && r->recv_index != 0) {
		/* Another group took the slot while we idled: start over. */
		r->recv_index = 0;
		r->recv_len = 0;
		r->recv_ready = false;
	}
	uint32_t cap = r->cfg.snap_slot != NULL ? r->cfg.snap_slot->cap : r->cfg.snapshot_bytes_max;
	bool fits = m->snap_total <= cap && m->snap_conf->n <= r->cfg.peers_max;
	if (fits && m->snap_offset == 0 &&
	    (r->recv_index != m->snap_index || r->recv_term != m->snap_term)) {
		if (!slot_claim(r, m->snap_index)) {
			chunk_reply(r, m, false);  /* "nothing yet": retried later */
			return;
		}
		if (r->snap_data != NULL && r->snap_data == r->recv_buf)
			r->own_snap_index = 0;  /* the buffer is about to be reused */
		r->recv_index = m->snap_index;
		r->recv_term = m->snap_term;
		r->recv_len = 0;
		r->recv_ready = false;
		r->recv_conf = *m->snap_conf;
	}
	if (fits && slot_held(r) && r->recv_index == m->snap_index && r->recv_term == m->snap_term &&
	    m->snap_offset == r->recv_len && !r->recv_ready) {
		assert(r->recv_buf != NULL && r->recv_len + m->snap_len <= cap);
		if (m->snap_len > 0)
			memcpy(r->recv_buf + r->recv_len, m->snap_data, m->snap_len);
		r->recv_len += m->snap_len;
		if (r->cfg.snap_slot != NULL)
			r->cfg.snap_slot->stamp++;  /* progress: others see we are alive */
		if (r->recv_len == m->snap_total) {
			r->recv_ready = true;  /* acked once installed (ready) */
			return;
		}
	}
	chunk_reply(r, m, false);
}

void snapshot_ready(struct aeg_raft *r, struct aeg_raft_ready *rd)
{
	r->recv_ready = false;
	if (r->recv_index <= r->commit || !slot_held(r)) {
		snapshot_slot_release(r);
		return;  /* overtaken by appends meanwhile, or the slot was taken */
	}
	rd->snap_install = true;
	rd->snap_index = r->recv_index;
	rd->snap_term = r->recv_term;
	rd->snap_data = r->recv_buf;
	rd->snap_len = (uint32_t)r->recv_len;
	rd->snap_conf = &r->recv_conf;
	/* Keep a log that already continues the snapshot (§5.3 step 6). */
	if (!log_match_term(r, r->recv_index, r->recv_term) || r->recv_index > r->last) {
		log_reset(r, r->recv_index, r->recv_term);
		/* Nothing of the new log is durable until the caller's write of
		 * the snapshot completes (aeg_raft_persisted(snap_index, term)). */
		r->persisted = 0;
	} else {
		log_compact(r, r->recv_index);
	}
	r->base_conf = r->recv_conf;
	if (r->cfg.snap_slot != NULL) {
		/* The caller reads the bytes until advance, which frees the slot. */
		r->cfg.snap_slot->handed_out = true;
		r->slot_release = true;
	} else {
		/* It is also ours to send on, should we lead before taking one. */
		r->own_snap_index = r->recv_index;
		r->own_snap_term = r->recv_term;
		r->snap_data = r->recv_buf;
		r->snap_len = (uint32_t)r->recv_len;
		r->snap_conf = r->recv_conf;
	}
	r->commit = r->recv_index;
	r->applied = r->recv_index;
	membership_rescan(r);  /* conf entries after the snapshot still count */
	if (r->lead != AEG_RAFT_NONE) {
		struct aeg_raft_msg *ack = outbox_push(r, r->lead, AEG_RAFT_MSG_APPEND_RESP, false);
		if (ack != NULL)
			ack->index = r->recv_index;
	}
}

int aeg_raft_restore_snapshot(struct aeg_raft *r, uint64_t index, uint64_t term,
			      const struct aeg_raft_conf *conf)
{
	if (r->last != 0 || index == 0 || conf == NULL || conf->n > r->cfg.peers_max)
		return -EINVAL;
	log_reset(r, index, term);
	r->commit = index;
	r->applied = index;
	r->base_conf = *conf;
	membership_rescan(r);
	return 0;
}
