/* One group's memory: config defaults and checks, and the single block
 * aeg_raft_new() allocates (the struct and every array it points at, laid
 * out by layout_of so that aeg_raft_memory_bytes() tells a caller the
 * exact cost of a group before creating thousands of them). */
#include "raft_int.h"

#include <stdlib.h>

void aeg_raft_config_default(struct aeg_raft_config *cfg, uint32_t id,
			     uint64_t seed, uint32_t tick_ms)
{
	if (tick_ms == 0)
		tick_ms = 10;
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = id;
	cfg->seed = seed;
	cfg->election_ticks_min = (150 + tick_ms - 1) / tick_ms;
	cfg->election_ticks_max = (300 + tick_ms - 1) / tick_ms;
	cfg->heartbeat_ticks = (50 + tick_ms - 1) / tick_ms;
	cfg->peers_max = 5;
	cfg->log_entries_max = 4096;
	cfg->log_bytes_max = 1u << 20;
	cfg->outbox_max = 256;
	cfg->inflight_max = 64;
	cfg->batch_entries_max = 256;
	cfg->batch_bytes_max = 64 * 1024;
	cfg->reads_max = 64;
	cfg->snapshot_bytes_max = 1u << 20;
	cfg->snapshot_chunk_bytes = 16 * 1024;
	cfg->pre_vote = true;
	cfg->check_quorum = true;
	cfg->lease_read = false;
	cfg->snap_slot_idle_ticks = 4 * cfg->election_ticks_max;
}

void aeg_raft_config_many_groups(struct aeg_raft_config *cfg)
{
	cfg->peers_max = 5;
	cfg->log_entries_max = 512;
	cfg->outbox_max = 32;
	cfg->inflight_max = 8;
	cfg->batch_entries_max = 64;
	cfg->reads_max = 8;
}

static int config_check(const struct aeg_raft_config *c)
{
	if (c->id == AEG_RAFT_NONE || c->election_ticks_min == 0 ||
	    c->election_ticks_max <= c->election_ticks_min || c->heartbeat_ticks == 0 ||
	    c->heartbeat_ticks >= c->election_ticks_min)
		return -EINVAL;
	if (c->peers_max == 0 || c->peers_max > AEG_RAFT_CONF_MAX ||
	    c->log_entries_max < 2 || (c->log_entries_max & (c->log_entries_max - 1)) != 0 ||
	    c->log_bytes_max == 0 || c->outbox_max == 0 || c->inflight_max == 0 ||
	    c->batch_entries_max == 0 || c->batch_bytes_max == 0 || c->reads_max == 0 ||
	    c->snapshot_chunk_bytes == 0)
		return -EINVAL;
	if (c->lease_read && !c->check_quorum)
		return -EINVAL;
	if ((c->payload_alloc == NULL) != (c->payload_free == NULL))
		return -EINVAL;
	if (c->snap_slot != NULL && (c->snap_slot->buf == NULL || c->snap_slot->cap == 0 ||
				     c->snap_slot_idle_ticks == 0))
		return -EINVAL;
	return 0;
}

/* Where each array lives in the group's one block (byte offsets). */
struct layout {
	size_t ring, ring_pos, arena, prs, infl, scratch;
	size_t out_now, out_late, reads, read_states, recv_buf, total;
};

static size_t layout_add(size_t *at, size_t n, size_t size)
{
	const size_t align = 16;
	size_t off = *at;
	*at = (off + n * size + align - 1) & ~(align - 1);
	return off;
}

static void layout_of(const struct aeg_raft_config *c, struct layout *l)
{
	bool own_payloads = c->payload_alloc == NULL;
	size_t peers = (size_t)c->peers_max + 1;  /* + ourselves when not a member */
	size_t at = 0;
	layout_add(&at, 1, sizeof(struct aeg_raft));
	l->ring = layout_add(&at, c->log_entries_max, sizeof(struct aeg_raft_entry));
	l->ring_pos = layout_add(&at, own_payloads ? c->log_entries_max : 0, sizeof(uint64_t));
	l->prs = layout_add(&at, peers, sizeof(struct aeg_raft_progress));
	l->infl = layout_add(&at, peers * c->inflight_max, sizeof(uint64_t));
	l->scratch = layout_add(&at, peers, sizeof(uint64_t));
	l->out_now = layout_add(&at, c->outbox_max, sizeof(struct aeg_raft_msg));
	l->out_late = layout_add(&at, c->outbox_max, sizeof(struct aeg_raft_msg));
	l->reads = layout_add(&at, c->reads_max, sizeof(struct aeg_raft_pending_read));
	l->read_states = layout_add(&at, c->reads_max, sizeof(struct aeg_raft_read_state));
	l->recv_buf = layout_add(&at, c->snap_slot == NULL ? c->snapshot_bytes_max : 0, 1);
	l->arena = layout_add(&at, own_payloads ? (size_t)c->log_bytes_max : 0, 1);
	l->total = at;
}

size_t aeg_raft_memory_bytes(const struct aeg_raft_config *cfg)
{
	struct layout l;
	layout_of(cfg, &l);
	return l.total;
}

int aeg_raft_new(struct aeg_raft **out, const struct aeg_raft_config *cfg,
		 const struct aeg_raft_conf *initial)
{
	if (out == NULL || cfg == NULL)
		return -EINVAL;
	*out = NULL;
	int rc = config_check(cfg);
	if (rc != 0)
		return rc;
	if (initial == NULL || initial->n > cfg->peers_max)
		return -EINVAL;
	struct layout l;
	layout_of(cfg, &l);
	uint8_t *block = calloc(1, l.total);
	if (block == NULL)
		return -ENOMEM;
	struct aeg_raft *r = (struct aeg_raft *)block;
	r->cfg = *cfg;
	r->id = cfg->id;
	r->rng = cfg->seed ^ ((uint64_t)cfg->id << 32);
	r->conf = *initial;
	r->base_conf = *initial;
	r->ring = (struct aeg_raft_entry *)(block + l.ring);
	r->ring_pos = cfg->payload_alloc == NULL ? (uint64_t *)(block + l.ring_pos) : NULL;
	r->arena = cfg->payload_alloc == NULL ? block + l.arena : NULL;
	r->prs = (struct aeg_raft_progress *)(block + l.prs);
	r->scratch = (uint64_t *)(block + l.scratch);
	r->out_now = (struct aeg_raft_msg *)(block + l.out_now);
	r->out_late = (struct aeg_raft_msg *)(block + l.out_late);
	r->reads = (struct aeg_raft_pending_read *)(block + l.reads);
	r->read_states = (struct aeg_raft_read_state *)(block + l.read_states);
	r->recv_buf = cfg->snap_slot == NULL ? block + l.recv_buf : NULL;
	log_init(r);
	progress_init(r, (uint64_t *)(block + l.infl));
	r->unstable = 1;
	/* With lease reads a booting node may have promised a leader, before
	 * crashing, not to vote for a while: it keeps that promise. */
	r->since_leader = cfg->lease_read ? 0 : UINT32_MAX;
	progress_apply_conf(r);
	raft_become_follower(r, 0, AEG_RAFT_NONE);
	*out = r;
	return 0;
}

void aeg_raft_free(struct aeg_raft *r)
{
	if (r == NULL)
		return;
	snapshot_slot_release(r);
	log_fini(r);
	free(r);
}

