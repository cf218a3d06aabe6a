/* Invariants, checked after every event (Raft paper Figure 3):
 *   election safety     at most one leader per term (that acted or whose
 *                       term is durable, see check_leader_of_term);
 *   log matching        two logs with the same term at an index agree up
 *                       to it (compared by chained hash);
 *   leader completeness a new leader holds every entry committed in an
 *                       earlier term;
 *   state machine safety an applied entry is the committed one (node.c);
 *   commit monotonic    a node's commit index never goes back;
 *   no lost write       committed entries never change; at the end every
 *                       acknowledged put is in the committed log;
 *   snapshot config     a snapshot carries the config in force at its index
 *                       in the committed log (not a later, maybe uncommitted
 *                       one: after a restart that one would be believed).
 * Every check runs per group. At the end: liveness after healing and
 * linearizability of each group's history. */
#include "sim.h"

#include <string.h>

/* Newly committed index i: remember it if it is a config entry. Entries
 * above every node's commit are never compacted, so the first node to
 * commit i still holds it. */
static void record_conf(struct sim *s, struct sim_rep *rp, uint64_t i)
{
	struct sim_group *gr = &s->grp[rp->g];
	const struct aeg_raft_entry *e = aeg_raft_entry_at(sim_raft(s, rp->node, rp->g), i);
	if (e == NULL) {
		sim_fail(s, "n%u g%u: committed entry %llu not in its log", rp->node, rp->g,
			 (unsigned long long)i);
		return;
	}
	if (e->type != AEG_RAFT_ENTRY_CONF)
		return;
	if (gr->n_gconfs == SIM_CONFS_MAX) {
		sim_fail(s, "more than %u committed config entries", SIM_CONFS_MAX);
		return;
	}
	struct sim_gconf *c = &gr->gconfs[gr->n_gconfs];
	if (aeg_raft_conf_decode(&c->conf, e->data, e->len) != 0) {
		sim_fail(s, "n%u g%u: committed config entry %llu does not decode", rp->node, rp->g,
			 (unsigned long long)i);
		return;
	}
	c->index = i;
	gr->n_gconfs++;
}

static bool conf_equal(const struct aeg_raft_conf *a, const struct aeg_raft_conf *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->ids[i] != b->ids[i] || a->roles[i] != b->roles[i])
			return false;
	return true;
}

void check_snapshot_conf(struct sim *s, const struct sim_rep *rp, uint64_t index,
			 const struct aeg_raft_conf *c, const char *why)
{
	const struct sim_group *gr = &s->grp[rp->g];
	struct aeg_raft_conf want;
	node_initial_conf(s, &want);
	for (uint32_t k = 0; k < gr->n_gconfs && gr->gconfs[k].index <= index; k++)
		want = gr->gconfs[k].conf;
	if (index > gr->gcommit || !conf_equal(c, &want))
		sim_fail(s, "snapshot config: n%u g%u's %s snapshot at %llu carries a config (%u members) that is not the one in force there (%u members)",
			 rp->node, rp->g, why, (unsigned long long)index, c->n, want.n);
}

/* The mirror covers (mbase, mlast]: what the log took, and what Raft holds
 * beyond it once re-read after process(); a commit index beyond it is
 * recorded when the mirror gets there. */
void check_commit(struct sim *s, struct sim_rep *rp)
{
	struct sim_group *gr = &s->grp[rp->g];
	struct aeg_raft *r = sim_raft(s, rp->node, rp->g);
	uint64_t c = aeg_raft_commit(r);
	if (c > aeg_raft_last_index(r)) {
		sim_fail(s, "n%u g%u: commit %llu beyond its log %llu", rp->node, rp->g,
			 (unsigned long long)c, (unsigned long long)aeg_raft_last_index(r));
		return;
	}
	if (c < rp->max_commit) {
		sim_fail(s, "n%u g%u: commit went back from %llu to %llu", rp->node, rp->g,
			 (unsigned long long)rp->max_commit, (unsigned long long)c);
		return;
	}
	rp->max_commit = c;
	if (c > rp->mlast)
		c = rp->mlast;
	uint64_t common = c < gr->gcommit ? c : gr->gcommit;
	if (common > 0 && common >= rp->mbase && rp->mchain[common] != gr->gchain[common]) {
		sim_fail(s, "committed entry changed: n%u g%u's log differs at committed index %llu (term %llu there, %llu committed)",
			 rp->node, rp->g, (unsigned long long)common, (unsigned long long)rp->mterm[common],
			 (unsigned long long)gr->gterm[common]);
		return;
	}
	for (uint64_t i = gr->gcommit + 1; i <= c; i++) {
		if (i < rp->mbase) {
			sim_fail(s, "n%u g%u: snapshot at %llu beyond anything committed", rp->node, rp->g,
				 (unsigned long long)rp->mbase);
			return;
		}
		gr->gchain[i] = rp->mchain[i];
		gr->gterm[i] = rp->mterm[i];
		gr->gcterm[i] = aeg_raft_term(r);
		record_conf(s, rp, i);
	}
	if (c > gr->gcommit)
		gr->gcommit = c;
}

static void check_log_matching(struct sim *s, const struct sim_rep *a)
{
	for (uint32_t j = 1; j <= s->n; j++) {
		const struct sim_rep *b = sim_rep(s, j, a->g);
		if (b == a || !s->nodes[j].up)
			continue;
		uint64_t i = a->mlast < b->mlast ? a->mlast : b->mlast;
		uint64_t lo = a->mbase > b->mbase ? a->mbase : b->mbase;
		while (i > lo && a->mterm[i] != b->mterm[i])
			i--;
		if (i >= lo && i > 0 && a->mterm[i] == b->mterm[i] && a->mchain[i] != b->mchain[i]) {
			sim_fail(s, "log matching: n%u and n%u of g%u both have term %llu at index %llu but differ below",
				 a->node, b->node, a->g, (unsigned long long)a->mterm[i], (unsigned long long)i);
			return;
		}
	}
}

/* Election safety, as the world sees it: a leadership counts once it acts
 * (a leader's message leaves) or once its term is durable. A sole voter
 * that wins and crashes before either leaves no trace, and the same term
 * may then be won again. */
void check_leader_of_term(struct sim *s, uint32_t g, uint32_t id, uint64_t term)
{
	struct sim_group *gr = &s->grp[g];
	if (term >= SIM_TERMS_MAX) {
		sim_fail(s, "term %llu beyond the simulator's table", (unsigned long long)term);
		return;
	}
	if (gr->leader_of_term[term] != 0 && gr->leader_of_term[term] != id) {
		sim_fail(s, "election safety: n%u and n%u both lead term %llu of g%u",
			 gr->leader_of_term[term], id, (unsigned long long)term, g);
		return;
	}
	gr->leader_of_term[term] = id;
}

static void check_new_leader(struct sim *s, struct sim_rep *rp, struct aeg_raft *r)
{
	const struct sim_group *gr = &s->grp[rp->g];
	uint64_t term = aeg_raft_term(r);
	s->elections++;
	/* Everything committed in an earlier term must be in its log. */
	uint64_t k = gr->gcommit;
	while (k > 0 && gr->gcterm[k] >= term)
		k--;
	if (k < rp->mbase)
		k = rp->mbase;  /* older ones are inside its snapshot */
	if (k > 0 && (rp->mlast < k || rp->mchain[k] != gr->gchain[k]))
		sim_fail(s, "leader completeness: n%u leads term %llu of g%u without committed index %llu",
			 rp->node, (unsigned long long)term, rp->g, (unsigned long long)k);
	sim_trace(s, "n%u is leader of g%u term %llu (log %llu, commit %llu)", rp->node, rp->g,
		  (unsigned long long)term, (unsigned long long)rp->mlast,
		  (unsigned long long)aeg_raft_commit(r));
	/* Figure 8: a leader gone before its first entry spread */
	node_maybe_crash_within(s, &s->nodes[rp->node], sim_crash_after_elect_pct(s), "elected", 0,
				FIG8_ELECT_US);
}

/* touched: the node the event was for (only it can have changed), or 0. */
void check_all(struct sim *s, uint32_t touched)
{
	for (uint32_t id = 1; id <= s->n && s->failure[0] == '\0'; id++) {
		if (!s->nodes[id].up || (touched != 0 && id != touched))
			continue;
		for (uint32_t g = 0; g < s->groups && s->failure[0] == '\0'; g++) {
			struct sim_rep *rp = sim_rep(s, id, g);
			struct aeg_raft *r = sim_raft(s, id, g);
			uint64_t term = aeg_raft_term(r);
			bool leader = aeg_raft_role(r) == AEG_RAFT_LEADER;
			if (leader && (rp->prev_role != AEG_RAFT_LEADER || rp->prev_term != term))
				check_new_leader(s, rp, r);
			if (leader && rp->disk.hs.term >= term)
				check_leader_of_term(s, g, id, term);
			rp->prev_role = aeg_raft_role(r);
			rp->prev_term = term;
		}
	}
	if (touched == 0 || !s->nodes[touched].up)
		return;
	for (uint32_t g = 0; g < s->groups && s->failure[0] == '\0'; g++)
		check_log_matching(s, sim_rep(s, touched, g));
}

static void check_group_end(struct sim *s, uint32_t g)
{
	const struct sim_group *gr = &s->grp[g];
	for (uint32_t i = 0; i < gr->n_ops; i++) {
		const struct sim_op *op = &gr->ops[i];
		if (op->kind != OP_PUT || !op->ok)
			continue;
		if (op->index > gr->gcommit || gr->gterm[op->index] != op->term) {
			sim_fail(s, "acknowledged put (g%u op %u, index %llu) is not committed", g, i,
				 (unsigned long long)op->index);
			return;
		}
	}
	if (gr->live_t == 0 || gr->live_t - s->healed_t > s->liveness_bound_us) {
		sim_fail(s, "liveness: no put of g%u committed within %llu ms after healing at %llu ms", g,
			 (unsigned long long)(s->liveness_bound_us / 1000),
			 (unsigned long long)(s->healed_t / 1000));
		return;
	}
	/* Stale reads may be old, never invented: the value was put (or 0). */
	for (uint32_t i = 0; i < gr->n_ops; i++) {
		const struct sim_op *op = &gr->ops[i];
		if (op->kind != OP_GET_STALE || op->value == 0)
			continue;
		bool written = false;
		for (uint32_t j = 0; j < gr->n_ops && !written; j++)
			written = gr->ops[j].kind == OP_PUT && gr->ops[j].key == op->key &&
				  gr->ops[j].value == op->value && !gr->ops[j].failed;
		if (!written) {
			sim_fail(s, "stale read (g%u op %u) returned %llu, which nobody put", g, i,
				 (unsigned long long)op->value);
			return;
		}
	}
	for (uint32_t key = 0; key < SIM_KEYS; key++) {
		uint64_t steps = 0;
		int rc = lin_check_key(gr->ops, gr->n_ops, key, 2000000, &steps);
		s->lin_steps += steps;
		if (rc == 0) {
			sim_fail(s, "history of key %u of g%u is not linearizable", key, g);
			return;
		}
		if (rc < 0)
			s->lin_gaveup++;
	}
}

void check_end(struct sim *s)
{
	for (uint32_t g = 0; g < s->groups && s->failure[0] == '\0'; g++)
		check_group_end(s, g);
}
