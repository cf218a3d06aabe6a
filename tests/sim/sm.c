/* The state machine of each group (a register per key), behind the group
 * driver's io.apply / io.read_ready / io.install_snapshot, and its
 * snapshots: taken every snap_every applied entries with the config as of
 * their index, made the group's log base and compacting the Raft log. */
#include "sim.h"

#include <string.h>

static void snap_encode(const struct sim_rep *rp, struct sim_snap *sn, uint64_t index)
{
	memcpy(sn->data, rp->kv, SIM_KEYS * 8);
	memcpy(sn->data + SIM_KEYS * 8, &rp->mchain[index], 8);
	memcpy(sn->data + SIM_KEYS * 8 + 8, &index, 8);
	sn->len = SIM_SNAP_BYTES;
}

/* Loads a snapshot into the state machine and the log mirror. */
/* The mirror (what Raft's log is) restarts at the snapshot. */
static void snap_mirror(struct sim *s, struct sim_rep *rp, uint64_t index, uint64_t term, const uint8_t *data,
			uint32_t len)
{
	const struct sim_group *gr = &s->grp[rp->g];
	uint64_t chain, at;
	if (len != SIM_SNAP_BYTES) {
		sim_fail(s, "n%u g%u: snapshot of %u bytes, expected %u", rp->node, rp->g, len,
			 SIM_SNAP_BYTES);
		return;
	}
	memcpy(&chain, data + SIM_KEYS * 8, 8);
	memcpy(&at, data + SIM_KEYS * 8 + 8, 8);
	if (at != index || index > gr->gcommit || chain != gr->gchain[index]) {
		sim_fail(s, "state machine safety: n%u g%u loads a snapshot at %llu that is not the committed state",
			 rp->node, rp->g, (unsigned long long)index);
		return;
	}
	rp->mbase = index;
	rp->mlast = index;
	rp->mterm[index] = term;
	rp->mchain[index] = chain;
}

void sm_snap_load(struct sim *s, struct sim_rep *rp, uint64_t index, uint64_t term,
		      const uint8_t *data, uint32_t len)
{
	snap_mirror(s, rp, index, term, data, len);
	if (s->failure[0] != '\0')
		return;
	memcpy(rp->kv, data, SIM_KEYS * 8);
	rp->applied = index;
}

/* Commit moved: global knowledge, and the Figure 8 adversary. */
void sm_commit_check(struct sim *s, struct sim_rep *rp)
{
	struct aeg_raft *r = sim_raft(s, rp->node, rp->g);
	uint64_t before = s->grp[rp->g].gcommit;
	check_commit(s, rp);
	if (aeg_raft_role(r) == AEG_RAFT_LEADER && s->grp[rp->g].gcommit > before)
		node_maybe_crash_within(s, &s->nodes[rp->node], sim_crash_after_commit_pct(s),
					"commit moved", 0, s->fig8 ? FIG8_COMMIT_US : 3000);
}

void sm_apply(void *ctx, uint32_t group, const struct aeg_raft_entry *e)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	struct sim_rep *rp = &nd->reps[group - 1];
	const struct sim_group *gr = &s->grp[rp->g];
	uint64_t i = e->index;
	if (s->failure[0] != '\0')
		return;
	sm_commit_check(s, rp);
	if (i != rp->applied + 1 || i > gr->gcommit || i > rp->mlast || rp->mchain[i] != gr->gchain[i]) {
		sim_fail(s, "state machine safety: n%u g%u applies index %llu that differs from the committed one",
			 nd->id, rp->g, (unsigned long long)i);
		return;
	}
	rp->applied = i;
	rp->applied_bytes += e->len;
	if (e->type == AEG_RAFT_ENTRY_NORMAL && e->len >= 13) {
		uint32_t key = e->data[0] % SIM_KEYS;
		uint64_t value;
		memcpy(&value, e->data + 5, sizeof(value));
		rp->kv[key] = value;
	}
	client_applied(s, rp, e);
}

void sm_read_ready(void *ctx, uint32_t group, uint64_t read_ctx, uint64_t index)
{
	struct sim_node *nd = ctx;
	client_read_ready(nd->sim, &nd->reps[group - 1], read_ctx, index);
}

int sm_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			       const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len,
			       uint64_t *ticket)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	struct sim_rep *rp = &nd->reps[group - 1];
	s->snap_installs++;
	struct sim_snap *sn = &rp->inst_snap;
	sn->index = index;
	sn->term = term;
	sn->conf = *conf;
	sn->len = len <= sizeof(sn->data) ? len : sizeof(sn->data);
	memcpy(sn->data, data, sn->len);
	check_snapshot_conf(s, rp, index, conf, "installed");
	/* Raft's log after the snapshot is re-read into the mirror. */
	rp->lag_lo = index + 1;
	if (s->seed & 4) {
		/* aegisd's way: the state machine loads and the file is written
		 * off the loop; the group waits, the others go on. */
		sim_trace(s, "n%u g%u installs snapshot at %llu (finishing later)", nd->id, rp->g,
			  (unsigned long long)index);
		snap_mirror(s, rp, index, term, data, len);
		rp->install_pending = true;
		sim_push(s, s->now + rng_below(&s->rng, 4000), EV_INSTALL_DONE, nd->id, nd->incarnation, rp);
		return AEG_GD_INSTALL_LATER;
	}
	sim_trace(s, "n%u g%u installs snapshot at %llu", nd->id, rp->g, (unsigned long long)index);
	sm_snap_load(s, rp, index, term, data, len);
	rp->installed = true;
	disk_log_snapshot(s, nd, rp->g, sn, ticket);
	return 0;
}

void sm_install_done(struct sim *s, struct sim_node *nd, struct sim_rep *rp)
{
	if (!rp->install_pending || s->failure[0] != '\0')
		return;
	rp->install_pending = false;
	const struct sim_snap *sn = &rp->inst_snap;
	memcpy(rp->kv, sn->data, SIM_KEYS * 8);
	rp->applied = sn->index;
	rp->installed = true;
	uint64_t ticket;
	disk_log_snapshot(s, nd, rp->g, sn, &ticket);
	sim_trace(s, "n%u g%u: snapshot at %llu installed", nd->id, rp->g, (unsigned long long)sn->index);
	int rc = aeg_gd_install_done(nd->gd, rp->g + 1, sn->index, 0, ticket);
	if (rc != 0)
		sim_fail(s, "n%u g%u: install_done(%llu): %d", nd->id, rp->g, (unsigned long long)sn->index, rc);
	node_loop(s, nd->id);
}

/* Every snap_every applied entries: snapshot the kv state, make it the
 * group's log base and compact the raft log, keeping a few entries so
 * that both catch-up paths (appends and snapshots) get used. */
void sm_maybe_snapshot(struct sim *s, struct sim_rep *rp)
{
	uint32_t every = s->mix->snap_every;
	/* (or once the log holds a few large values) */
	if (every == 0 || (rp->applied < rp->own_snap.index + every && rp->applied_bytes < (1u << 20)))
		return;
	struct aeg_raft *r = rp->r;
	const struct aeg_raft_entry *e = aeg_raft_entry_at(r, rp->applied);
	struct aeg_raft_status st;
	aeg_raft_status(r, &st);
	if (rp->applied != st.applied || e == NULL || s->failure[0] != '\0')
		return;
	struct sim_snap *sn = &rp->own_snap;
	sn->index = rp->applied;
	sn->term = e->term;
#ifdef AEG_SIM_BUG_SNAP_CURRENT_CONF
	/* BUG variant: the config in force now, possibly newer than the snapshot */
	aeg_raft_conf_get(r, &sn->conf);
#else
	/* The config as of the snapshot's index: a later (maybe uncommitted)
	 * one would outlive its entry's truncation in the snapshot. */
	if (aeg_raft_conf_at(r, sn->index, &sn->conf) != 0) {
		sim_fail(s, "n%u g%u: conf_at(%llu) refused", rp->node, rp->g,
			 (unsigned long long)sn->index);
		return;
	}
#endif
	check_snapshot_conf(s, rp, sn->index, &sn->conf, "own");
	snap_encode(rp, sn, sn->index);
	if (aeg_raft_snapshot_set(r, sn->index, sn->data, sn->len) != 0) {
		sim_fail(s, "n%u g%u: snapshot_set refused", rp->node, rp->g);
		return;
	}
	disk_set_snapshot(&rp->disk, sn);
	rp->applied_bytes = 0;
	uint64_t keep = 4;
	if (sn->index > keep && aeg_raft_compact(r, sn->index - keep) != 0)
		sim_fail(s, "n%u g%u: compact refused", rp->node, rp->g);
	s->snaps_taken++;
}
