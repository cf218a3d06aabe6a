/* A simulated node: a raft group restored from its simulated disk, its
 * ready loop (send, write, hold acks until durable, apply to the kv state
 * machine), and a mirror of its log (term and chained hash per index) that
 * the invariant checks compare across nodes in O(1). */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

uint64_t chain_hash(uint64_t prev, uint64_t term, uint32_t type, const uint8_t *data, uint32_t len)
{
	uint64_t h = prev ^ 0xcbf29ce484222325ull;
	h = (h ^ term) * 0x100000001b3ull;
	h = (h ^ type) * 0x100000001b3ull;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h ^ (h >> 31);
}

static void mirror_set(struct sim_node *nd, uint64_t i, uint64_t term, uint32_t type,
		       const uint8_t *data, uint32_t len)
{
	nd->mterm[i] = term;
	nd->mchain[i] = chain_hash(nd->mchain[i - 1], term, type, data, len);
}

static void snap_encode(const struct sim_node *nd, struct sim_snap *sn, uint64_t index)
{
	memcpy(sn->data, nd->kv, SIM_KEYS * 8);
	memcpy(sn->data + SIM_KEYS * 8, &nd->mchain[index], 8);
	memcpy(sn->data + SIM_KEYS * 8 + 8, &index, 8);
	sn->len = SIM_SNAP_BYTES;
}

/* Loads a snapshot into the state machine and the log mirror. */
static void snap_load(struct sim *s, struct sim_node *nd, uint64_t index, uint64_t term,
		      const uint8_t *data, uint32_t len)
{
	uint64_t chain, at;
	if (len != SIM_SNAP_BYTES) {
		sim_fail(s, "n%u: snapshot of %u bytes, expected %u", nd->id, len, SIM_SNAP_BYTES);
		return;
	}
	memcpy(nd->kv, data, SIM_KEYS * 8);
	memcpy(&chain, data + SIM_KEYS * 8, 8);
	memcpy(&at, data + SIM_KEYS * 8 + 8, 8);
	if (at != index || index > s->gcommit || chain != s->gchain[index]) {
		sim_fail(s, "state machine safety: n%u loads a snapshot at %llu that is not the committed state",
			 nd->id, (unsigned long long)index);
		return;
	}
	nd->applied = index;
	nd->mbase = index;
	nd->mterm[index] = term;
	nd->mchain[index] = chain;
}

void node_initial_conf(const struct sim *s, struct aeg_raft_conf *c)
{
	uint32_t voters = s->mix->initial_voters && s->mix->initial_voters < s->n
			  ? s->mix->initial_voters : s->n;
	memset(c, 0, sizeof(*c));
	c->n = voters;
	for (uint32_t i = 0; i < voters; i++) {
		c->ids[i] = i + 1;
		c->roles[i] = AEG_RAFT_MEMBER_VOTER;
	}
}

static void *payload_alloc(void *ctx, uint32_t len)
{
	struct sim_node *nd = ctx;
	nd->payload_allocs++;
	nd->payload_bytes += len;
	return malloc(len);
}

static void payload_free(void *ctx, void *p, uint32_t len)
{
	struct sim_node *nd = ctx;
	nd->payload_allocs--;
	nd->payload_bytes -= len;
	free(p);
}

/* The storage modes of a worker with many groups (see sim.h). */
static void node_storage(struct sim *s, struct sim_node *nd, struct aeg_raft_config *cfg)
{
	if (s->seed & 1) {
		memset(&nd->slot, 0, sizeof(nd->slot));
		nd->slot.buf = nd->slot_buf;
		nd->slot.cap = sizeof(nd->slot_buf);
		cfg->snap_slot = &nd->slot;
	}
	if (s->seed & 2) {
		cfg->payload_alloc = payload_alloc;
		cfg->payload_free = payload_free;
		cfg->payload_ctx = nd;
	}
}

void node_free_raft(struct sim *s, struct sim_node *nd)
{
	aeg_raft_free(nd->r);
	nd->r = NULL;
	if (nd->payload_allocs != 0 || nd->payload_bytes != 0)
		sim_fail(s, "n%u: %llu payloads (%llu bytes) not given back", nd->id,
			 (unsigned long long)nd->payload_allocs,
			 (unsigned long long)nd->payload_bytes);
}

int node_start(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	struct aeg_raft_config *cfg = &nd->cfg;
	aeg_raft_config_default(cfg, id, s->seed * 31 + id * 7 + nd->incarnation, 10);
	cfg->peers_max = SIM_NODES_MAX;
	cfg->log_entries_max = SIM_LOG_MAX;
	cfg->batch_entries_max = s->mix->batch_entries ? s->mix->batch_entries : 64;
	cfg->inflight_max = 8;
	cfg->lease_read = s->mix->lease_read;
	cfg->snapshot_chunk_bytes = 16;  /* several chunks per snapshot */
	cfg->snapshot_bytes_max = 64;
	cfg->quiesce_ticks = s->mix->quiesce_ticks;
	cfg->pre_vote = !s->mix->no_prevote;
	cfg->check_quorum = !s->mix->no_check_quorum;
	node_storage(s, nd, cfg);
	struct aeg_raft_conf conf;
	node_initial_conf(s, &conf);
	int rc = aeg_raft_new(&nd->r, cfg, &conf);
	if (rc != 0)
		return rc;
	rc = aeg_raft_restore_hard_state(nd->r, &nd->disk.hs);
	memset(nd->kv, 0, sizeof(nd->kv));
	nd->applied = 0;
	nd->mbase = 0;
	const struct sim_snap *sn = &nd->disk.snap;
	if (rc == 0 && sn->index > 0) {
		check_snapshot_conf(s, nd, sn->index, &sn->conf, "stored");
		rc = aeg_raft_restore_snapshot(nd->r, sn->index, sn->term, &sn->conf);
		snap_load(s, nd, sn->index, sn->term, sn->data, sn->len);
		nd->own_snap = *sn;
		if (rc == 0)
			rc = aeg_raft_snapshot_set(nd->r, sn->index, nd->own_snap.data, nd->own_snap.len);
	}
	for (uint64_t i = sn->index + 1; rc == 0 && i <= nd->disk.last; i++) {
		const struct sim_dentry *e = &nd->disk.log[i];
		rc = aeg_raft_restore_entry(nd->r, e->term, i, e->type, e->data, e->len);
		mirror_set(nd, i, e->term, e->type, e->data, e->len);
	}
	if (rc != 0) {
		sim_fail(s, "n%u: restore from disk failed: %d", id, rc);
		return rc;
	}
	nd->mlast = nd->disk.last;
	nd->up = true;
	nd->incarnation++;
	nd->max_commit = aeg_raft_commit(nd->r);
	nd->n_pend = 0;
	sim_push(s, s->now + rng_below(&s->rng, nd->tick_us), EV_TICK, id, nd->incarnation, NULL);
	return 0;
}

void node_stop(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	client_node_lost(s, nd);
	nd->crashed_t = s->now;
	disk_crash(s, nd);
	net_drop_held(s, id);
	node_free_raft(s, nd);
	nd->up = false;
}

/* The node-level failure detector of a real deployment: a quiet group's
 * follower is woken when its leader's node is down or cut off. */
static void failure_detector(struct sim *s, struct sim_node *nd)
{
	uint32_t lead = aeg_raft_lead(nd->r);
	if (!aeg_raft_quiescent(nd->r) || aeg_raft_role(nd->r) == AEG_RAFT_LEADER)
		return;
	if (lead == 0 || !s->nodes[lead].up || s->cut[lead][nd->id] || s->cut[nd->id][lead]) {
		sim_trace(s, "n%u: detector wakes the group (leader n%u unreachable)", nd->id, lead);
		aeg_raft_wake(nd->r);
		s->wakes++;
	}
}

void node_tick(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	failure_detector(s, nd);
	aeg_raft_tick(nd->r);
	node_ready(s, id);
	sim_push(s, s->now + nd->tick_us, EV_TICK, id, nd->incarnation, NULL);
}

static void mirror_update(struct sim *s, struct sim_node *nd, const struct aeg_raft_ready *rd)
{
	for (uint64_t i = rd->persist_lo; i <= rd->persist_hi; i++) {
		const struct aeg_raft_entry *e = aeg_raft_entry_at(nd->r, i);
		if (i > SIM_LOG_MAX) {
			sim_fail(s, "n%u: log longer than the simulator's mirror", nd->id);
			return;
		}
		mirror_set(nd, i, e->term, e->type, e->data, e->len);
	}
	nd->mlast = aeg_raft_last_index(nd->r);
}

static void apply_entry(struct sim *s, struct sim_node *nd, uint64_t i)
{
	const struct aeg_raft_entry *e = aeg_raft_entry_at(nd->r, i);
	if (i > s->gcommit || nd->mchain[i] != s->gchain[i]) {
		sim_fail(s, "state machine safety: n%u applies index %llu that differs from the committed one",
			 nd->id, (unsigned long long)i);
		return;
	}
	nd->applied = i;
	if (e->type == AEG_RAFT_ENTRY_NORMAL && e->len >= 13) {
		uint32_t key = e->data[0] % SIM_KEYS;
		uint64_t value;
		memcpy(&value, e->data + 5, sizeof(value));
		nd->kv[key] = value;
	}
	client_applied(s, nd, e);
}

/* Adversary: crash a node a moment after something interesting. */
void node_maybe_crash_soon(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why)
{
	if (s->healed_t != 0 || !rng_pct(&s->rng, pct))
		return;
	uint64_t at = s->now + rng_below(&s->rng, 3000);
	sim_trace(s, "adversary: crash n%u at %.3f ms (%s)", nd->id, (double)at / 1000.0, why);
	sim_push(s, at, EV_CRASH, nd->id, nd->incarnation, NULL);
}

/* Every snap_every applied entries: snapshot the kv state, make it the
 * disk's base and compact the raft log, keeping a few entries so that both
 * catch-up paths (appends and snapshots) get used. */
static void maybe_snapshot(struct sim *s, struct sim_node *nd)
{
	uint32_t every = s->mix->snap_every;
	const struct aeg_raft_entry *e = aeg_raft_entry_at(nd->r, nd->applied);
	struct aeg_raft_status st;
	aeg_raft_status(nd->r, &st);
	if (every == 0 || nd->applied < nd->own_snap.index + every ||
	    nd->applied != st.applied || e == NULL || s->failure[0] != '\0')
		return;
	struct sim_snap *sn = &nd->own_snap;
	sn->index = nd->applied;
	sn->term = e->term;
#ifdef AEG_SIM_BUG_SNAP_CURRENT_CONF
	/* BUG variant: the config in force now, possibly newer than the snapshot */
	aeg_raft_conf_get(nd->r, &sn->conf);
#else
	/* The config as of the snapshot's index: a later (maybe uncommitted)
	 * one would outlive its entry's truncation in the snapshot. */
	if (aeg_raft_conf_at(nd->r, sn->index, &sn->conf) != 0) {
		sim_fail(s, "n%u: conf_at(%llu) refused", nd->id, (unsigned long long)sn->index);
		return;
	}
#endif
	check_snapshot_conf(s, nd, sn->index, &sn->conf, "own");
	snap_encode(nd, sn, sn->index);
	if (aeg_raft_snapshot_set(nd->r, sn->index, sn->data, sn->len) != 0) {
		sim_fail(s, "n%u: snapshot_set refused", nd->id);
		return;
	}
	disk_set_snapshot(&nd->disk, sn);
	uint64_t keep = 4;
	if (sn->index > keep && aeg_raft_compact(nd->r, sn->index - keep) != 0)
		sim_fail(s, "n%u: compact refused", nd->id);
	s->snaps_taken++;
}

static void trace_conf(struct sim *s, struct sim_node *nd, const struct aeg_raft_conf *c)
{
	char buf[128];
	int len = 0;
	for (uint32_t i = 0; i < c->n && len < 100; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, " %u:%s%s%s", c->ids[i],
				c->roles[i] & AEG_RAFT_MEMBER_VOTER ? "V" : "",
				c->roles[i] & AEG_RAFT_MEMBER_VOTER_OUT ? "O" : "",
				c->roles[i] & AEG_RAFT_MEMBER_LEARNER ? "L" : "");
	sim_trace(s, "n%u config now%s (applied %llu)", nd->id, len ? buf : " empty",
		  (unsigned long long)nd->applied);
}

void node_ready(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	for (int guard = 0; nd->up && aeg_raft_has_ready(nd->r) && guard < 64; guard++) {
		struct aeg_raft_ready rd;
		struct aeg_raft_conf before, after;
		aeg_raft_conf_get(nd->r, &before);
		aeg_raft_ready(nd->r, &rd);
		aeg_raft_conf_get(nd->r, &after);
		if (s->trace && memcmp(&before, &after, sizeof(before)) != 0)
			trace_conf(s, nd, &after);
		for (uint32_t i = 0; i < rd.n_msgs_now; i++)
			net_send(s, &rd.msgs_now[i], 0);
		if (rd.snap_install) {
			s->snap_installs++;
			sim_trace(s, "n%u installs snapshot at %llu", nd->id,
				  (unsigned long long)rd.snap_index);
			snap_load(s, nd, rd.snap_index, rd.snap_term, rd.snap_data, rd.snap_len);
			check_snapshot_conf(s, nd, rd.snap_index, rd.snap_conf, "installed");
			if (rd.snap_len <= sizeof(nd->inst_snap.data)) {
				nd->inst_snap.index = rd.snap_index;
				nd->inst_snap.len = rd.snap_len;
				memcpy(nd->inst_snap.data, rd.snap_data, rd.snap_len);
			}
		}
		mirror_update(s, nd, &rd);
		uint64_t commit_before = s->gcommit;
		check_commit(s, nd);
		if (aeg_raft_role(nd->r) == AEG_RAFT_LEADER && s->gcommit > commit_before)
			node_maybe_crash_soon(s, nd, s->mix->crash_after_commit_pct, "commit moved");
		disk_write(s, nd, &rd);
		struct sim_disk *d = &nd->disk;
		uint64_t held = d->write_seq > d->done_seq ? d->write_seq : 0;
		for (uint32_t i = 0; i < rd.n_msgs; i++) {
			net_send(s, &rd.msgs[i], held);
			if (rd.msgs[i].type == AEG_RAFT_MSG_VOTE_RESP && !rd.msgs[i].reject)
				node_maybe_crash_soon(s, nd, s->mix->crash_after_vote_pct, "granted a vote");
		}
		for (uint64_t i = rd.apply_lo; i <= rd.apply_hi && s->failure[0] == '\0'; i++)
			apply_entry(s, nd, i);
		for (uint32_t i = 0; i < rd.n_reads; i++)
			client_read_state(s, nd, &rd.reads[i]);
		aeg_raft_advance(nd->r, &rd);
		/* The slot went back at advance: serve our copy from now on. */
		if (rd.snap_install && nd->cfg.snap_slot != NULL &&
		    aeg_raft_snapshot_set(nd->r, nd->inst_snap.index, nd->inst_snap.data,
					  nd->inst_snap.len) != 0)
			sim_fail(s, "n%u: snapshot_set after an install refused", nd->id);
		maybe_snapshot(s, nd);
	}
}
