/* A simulated node: one group driver (lib/multiraft, as aegisd's worker)
 * with the node's groups, rebuilt from the simulated log at every start;
 * its loop (process, snapshots, submit the log batch, coalesced
 * heartbeats); and per group a mirror of the log as handed to the log
 * (term and chained hash per index) that the invariant checks compare
 * across nodes in O(1). The state machine is sm.c's. */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t chain_hash(uint64_t prev, uint64_t term, uint32_t type, const uint8_t *data, uint32_t len)
{
	uint64_t h = prev ^ 0xcbf29ce484222325ull;
	h = (h ^ term) * 0x100000001b3ull;
	h = (h ^ type) * 0x100000001b3ull;
	h = (h ^ len) * 0x100000001b3ull;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {  /* a word at a time: values reach 1 MiB */
		uint64_t w;
		memcpy(&w, data + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h ^ (h >> 31);
}

static void mirror_set(struct sim *s, struct sim_rep *rp, uint64_t i, uint64_t term, uint32_t type,
		       const uint8_t *data, uint32_t len)
{
	if (i > SIM_LOG_MAX || i <= rp->mbase) {
		sim_fail(s, "n%u g%u: entry %llu outside the mirror (base %llu)", rp->node, rp->g,
			 (unsigned long long)i, (unsigned long long)rp->mbase);
		return;
	}
	rp->mterm[i] = term;
	rp->mchain[i] = chain_hash(rp->mchain[i - 1], term, type, data, len);
	rp->mlast = i;
}

void node_mirror(struct sim *s, struct sim_rep *rp, const struct aeg_raft_entry *e)
{
	mirror_set(s, rp, e->index, e->term, e->type, e->data, e->len);
}

struct aeg_raft *sim_raft(const struct sim *s, uint32_t id, uint32_t g)
{
	return s->nodes[id].reps[g].r;
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
	struct sim_rep *rp = ctx;
	rp->payload_allocs++;
	rp->payload_bytes += len;
	return malloc(len);
}

static void payload_free(void *ctx, void *p, uint32_t len)
{
	struct sim_rep *rp = ctx;
	rp->payload_allocs--;
	rp->payload_bytes -= len;
	free(p);
}

/* ---- start and stop ---- */

static void group_config(struct sim *s, struct sim_node *nd, uint32_t g, struct aeg_raft_config *cfg)
{
	aeg_raft_config_default(cfg, nd->id, s->seed * 31 + nd->id * 7 + nd->incarnation + g * 1000003u, 10);
	cfg->peers_max = SIM_NODES_MAX;
	cfg->log_entries_max = SIM_LOG_MAX;
	cfg->batch_entries_max = sim_batch_entries(s);
	cfg->inflight_max = 8;
	cfg->lease_read = s->mix->lease_read;
	cfg->snapshot_chunk_bytes = 16;  /* several chunks per snapshot */
	cfg->snapshot_bytes_max = 64;
	cfg->quiesce_ticks = s->mix->quiesce_ticks;
	cfg->pre_vote = !s->mix->no_prevote;
	cfg->check_quorum = !s->mix->no_check_quorum;
	cfg->log_bytes_max = 128u << 10;  /* 13-byte puts: a small arena */
	if (s->mix->value_bytes_max > 0) {
		/* as dataplane/replica: appends near one 64 KiB message, room
		 * for a few of the largest values */
		cfg->batch_bytes_max = 60 * 1024;
		cfg->log_bytes_max = 4ull * (s->mix->value_bytes_max + 4096);
	}
	/* The storage modes of a worker with many groups (see sim.h). */
	if (s->seed & 1)
		cfg->snap_slot = &nd->slot;
	if ((s->seed & 2) || s->mix->value_bytes_max > 0) {  /* large values: a pool */
		cfg->payload_alloc = payload_alloc;
		cfg->payload_free = payload_free;
		cfg->payload_ctx = &nd->reps[g];
	}
}

static int group_restore(struct sim *s, struct sim_node *nd, uint32_t g)
{
	struct sim_rep *rp = &nd->reps[g];
	struct aeg_raft_conf conf;
	node_initial_conf(s, &conf);
	group_config(s, nd, g, &nd->cfg);
	int rc = aeg_gd_group_add(nd->gd, g + 1, &nd->cfg, &conf);
	if (rc != 0)
		return rc;
	struct aeg_raft *r = aeg_gd_raft(nd->gd, g + 1);
	rp->r = r;
	rc = aeg_raft_restore_hard_state(r, &rp->disk.hs);
	memset(rp->kv, 0, sizeof(rp->kv));
	rp->applied = 0;
	rp->applied_bytes = 0;
	rp->mbase = 0;
	rp->mlast = 0;
	rp->lag_lo = 0;
	rp->installed = false;
	rp->install_pending = false;
	const struct sim_snap *sn = &rp->disk.snap;
	if (rc == 0 && sn->index > 0) {
		check_snapshot_conf(s, rp, sn->index, &sn->conf, "stored");
		rc = aeg_raft_restore_snapshot(r, sn->index, sn->term, &sn->conf);
		sm_snap_load(s, rp, sn->index, sn->term, sn->data, sn->len);
		rp->own_snap = *sn;
		if (rc == 0)
			rc = aeg_raft_snapshot_set(r, sn->index, rp->own_snap.data, rp->own_snap.len);
	}
	for (uint64_t i = sn->index + 1; rc == 0 && i <= rp->disk.last; i++) {
		const struct sim_dentry *e = &rp->disk.log[i];
		rc = aeg_raft_restore_entry(r, e->term, i, e->type, e->data, e->len);
		mirror_set(s, rp, i, e->term, e->type, e->data, e->len);
	}
	rp->max_commit = aeg_raft_commit(r);
	rp->n_pend = 0;
	return rc;
}

int node_start(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	struct aeg_gd_config gc;
	aeg_gd_config_default(&gc, id);
	gc.groups_max = s->groups + 1;
	gc.peers_max = SIM_NODES_MAX;
	gc.held_bytes = 256u << 10;   /* votes and acks: small */
	gc.pending_max = 1024;
	/* Over the transport's limit (checked in net.c with a clear message). */
	gc.msg_bytes_max = s->mix->value_bytes_max > 0 ? 2u << 20 : 256u << 10;
	struct aeg_gd_io io = {
		.log_entries = disk_log_entries, .log_hard_state = disk_log_hard_state,
		.install_snapshot = sm_install_snapshot, .send = net_send, .apply = sm_apply,
		.read_ready = sm_read_ready, .ctx = nd,
	};
	int rc = aeg_gd_new(&nd->gd, &gc, &io);
	if (rc != 0) {
		sim_fail(s, "n%u: aeg_gd_new: %d", id, rc);
		return rc;
	}
	memset(&nd->slot, 0, sizeof(nd->slot));
	nd->slot.buf = nd->slot_buf;
	nd->slot.cap = sizeof(nd->slot_buf);
	nd->up = true;
	nd->incarnation++;
	nd->bad_msgs = 0;
	for (uint32_t g = 0; g < s->groups && rc == 0; g++)
		rc = group_restore(s, nd, g);
	if (rc != 0) {
		sim_fail(s, "n%u: restore from the log failed: %d", id, rc);
		return rc;
	}
	nd->clock_ms = 1000;
	aeg_gd_tick(nd->gd, nd->clock_ms, 10);  /* the driver's clock starts */
	sim_push(s, s->now + rng_below(&s->rng, nd->tick_us), EV_TICK, id, nd->incarnation, NULL);
	return 0;
}

void node_stop(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	for (uint32_t g = 0; g < s->groups; g++)
		client_node_lost(s, &nd->reps[g]);
	nd->crashed_t = s->now;
	disk_crash(s, nd);
	aeg_gd_free(nd->gd);
	nd->gd = NULL;
	for (uint32_t g = 0; g < s->groups; g++)
		nd->reps[g].r = NULL;
	nd->up = false;
	for (uint32_t g = 0; g < s->groups; g++) {
		struct sim_rep *rp = &nd->reps[g];
		if (rp->payload_allocs != 0 || rp->payload_bytes != 0)
			sim_fail(s, "n%u g%u: %llu payloads (%llu bytes) not given back", id, g,
				 (unsigned long long)rp->payload_allocs,
				 (unsigned long long)rp->payload_bytes);
	}
}

/* ---- the loop ---- */

/* The node-level failure detector of a real deployment: quiet groups led
 * by a node that is down or cut off are woken. */
static void failure_detector(struct sim *s, struct sim_node *nd)
{
	for (uint32_t j = 1; j <= s->n; j++) {
		if (j == nd->id || (s->nodes[j].up && !s->cut[j][nd->id] && !s->cut[nd->id][j]))
			continue;
		uint32_t quiet = 0, after = 0;
		for (uint32_t g = 0; g < s->groups; g++)
			quiet += aeg_raft_quiescent(sim_raft(s, nd->id, g));
		if (quiet == 0)
			return;
		aeg_gd_node_down(nd->gd, j);
		for (uint32_t g = 0; g < s->groups; g++)
			after += aeg_raft_quiescent(sim_raft(s, nd->id, g));
		if (after < quiet)
			sim_trace(s, "n%u: detector wakes %u groups (n%u unreachable)", nd->id,
				  quiet - after, j);
		s->wakes += quiet - after;
	}
}

void node_tick(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	failure_detector(s, nd);
	nd->clock_ms += 10;
	aeg_gd_tick(nd->gd, nd->clock_ms, 10);
	node_loop(s, id);
	sim_push(s, s->now + nd->tick_us, EV_TICK, id, nd->incarnation, NULL);
}

/* Adversary: crash a node a moment after something interesting. */
void node_maybe_crash_soon(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why)
{
	node_maybe_crash_within(s, nd, pct, why, 0, 3000);
}

/* In [lo_us, hi_us) from now; within 1 ms, what it just sent dies too. */
void node_maybe_crash_within(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why,
			     uint64_t lo_us, uint64_t hi_us)
{
	if (s->healed_t != 0 || !rng_pct(&s->rng, pct))
		return;
	uint64_t at = s->now + lo_us + rng_below(&s->rng, hi_us - lo_us);
	sim_trace(s, "adversary: crash n%u at %.3f ms (%s)", nd->id, (double)at / 1000.0, why);
	sim_push(s, at, EV_CRASH, nd->id, nd->incarnation, NULL);
}

/* After process(): the entries the log has not taken yet are Raft's
 * current ones; the mirror re-reads them from its memory. */
static void after_process(struct sim *s, struct sim_node *nd, struct sim_rep *rp)
{
	struct aeg_raft *r = rp->r;
	if (rp->lag_lo != 0) {
		uint64_t last = aeg_raft_last_index(r);
		for (uint64_t i = rp->lag_lo; i <= last && s->failure[0] == '\0'; i++) {
			const struct aeg_raft_entry *e = aeg_raft_entry_at(r, i);
			if (e == NULL) {
				sim_fail(s, "n%u g%u: unwritten entry %llu not in the log", nd->id, rp->g,
					 (unsigned long long)i);
				return;
			}
			node_mirror(s, rp, e);
		}
		rp->mlast = last;
	}
	/* The slot went back at the install's advance: serve our copy. */
	if (rp->installed && nd->cfg.snap_slot != NULL &&
	    aeg_raft_snapshot_set(r, rp->inst_snap.index, rp->inst_snap.data, rp->inst_snap.len) != 0)
		sim_fail(s, "n%u g%u: snapshot_set after an install refused", nd->id, rp->g);
	rp->installed = false;
	sm_commit_check(s, rp);
	sm_maybe_snapshot(s, rp);
}

void node_loop(struct sim *s, uint32_t id)
{
	struct sim_node *nd = &s->nodes[id];
	if (!nd->up || s->failure[0] != '\0')
		return;
	disk_submit(s, nd);
	for (int guard = 0; guard < 64 && nd->up && s->failure[0] == '\0'; guard++) {
		uint32_t did = aeg_gd_process(nd->gd);
		for (uint32_t g = 0; g < s->groups && nd->up && s->failure[0] == '\0'; g++)
			after_process(s, nd, &nd->reps[g]);
		if (did == 0)
			break;
	}
	if (!nd->up)
		return;
	disk_submit(s, nd);
	aeg_gd_flush(nd->gd);
	struct aeg_gd_stats st;
	aeg_gd_stats_get(nd->gd, &st);
	if (st.bad_msgs != 0 || st.unknown_group != 0 || st.send_errors != 0 || st.group_errors != 0)
		sim_fail(s, "n%u: driver counts %llu bad messages, %llu for unknown groups, %llu send errors, %llu group errors",
			 id, (unsigned long long)st.bad_msgs, (unsigned long long)st.unknown_group,
			 (unsigned long long)st.send_errors, (unsigned long long)st.group_errors);
}
