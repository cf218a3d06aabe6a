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
 * At the end: liveness after healing and linearizability of the history. */
#include "sim.h"

#include <string.h>

/* Newly committed index i: remember it if it is a config entry. Entries
 * above every node's commit are never compacted, so the first node to
 * commit i still holds it. */
static void record_conf(struct sim *s, struct sim_node *nd, uint64_t i)
{
	const struct aeg_raft_entry *e = aeg_raft_entry_at(nd->r, i);
	if (e == NULL) {
		sim_fail(s, "n%u: committed entry %llu not in its log", nd->id, (unsigned long long)i);
		return;
	}
	if (e->type != AEG_RAFT_ENTRY_CONF)
		return;
	if (s->n_gconfs == SIM_CONFS_MAX) {
		sim_fail(s, "more than %u committed config entries", SIM_CONFS_MAX);
		return;
	}
	struct sim_gconf *g = &s->gconfs[s->n_gconfs];
	if (aeg_raft_conf_decode(&g->conf, e->data, e->len) != 0) {
		sim_fail(s, "n%u: committed config entry %llu does not decode", nd->id,
			 (unsigned long long)i);
		return;
	}
	g->index = i;
	s->n_gconfs++;
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

void check_snapshot_conf(struct sim *s, const struct sim_node *nd, uint64_t index,
			 const struct aeg_raft_conf *c, const char *why)
{
	struct aeg_raft_conf want;
	node_initial_conf(s, &want);
	for (uint32_t k = 0; k < s->n_gconfs && s->gconfs[k].index <= index; k++)
		want = s->gconfs[k].conf;
	if (index > s->gcommit || !conf_equal(c, &want))
		sim_fail(s, "snapshot config: n%u's %s snapshot at %llu carries a config (%u members) that is not the one in force there (%u members)",
			 nd->id, why, (unsigned long long)index, c->n, want.n);
}

void check_commit(struct sim *s, struct sim_node *nd)
{
	uint64_t c = aeg_raft_commit(nd->r);
	if (c > nd->mlast) {
		sim_fail(s, "n%u: commit %llu beyond its log %llu", nd->id,
			 (unsigned long long)c, (unsigned long long)nd->mlast);
		return;
	}
	if (c < nd->max_commit) {
		sim_fail(s, "n%u: commit went back from %llu to %llu", nd->id,
			 (unsigned long long)nd->max_commit, (unsigned long long)c);
		return;
	}
	nd->max_commit = c;
	uint64_t common = c < s->gcommit ? c : s->gcommit;
	if (common > 0 && nd->mchain[common] != s->gchain[common]) {
		sim_fail(s, "committed entry changed: n%u's log differs at committed index %llu (term %llu there, %llu committed)",
			 nd->id, (unsigned long long)common, (unsigned long long)nd->mterm[common],
			 (unsigned long long)s->gterm[common]);
		return;
	}
	for (uint64_t i = s->gcommit + 1; i <= c; i++) {
		if (i < nd->mbase) {
			sim_fail(s, "n%u: snapshot at %llu beyond anything committed", nd->id,
				 (unsigned long long)nd->mbase);
			return;
		}
		s->gchain[i] = nd->mchain[i];
		s->gterm[i] = nd->mterm[i];
		s->gcterm[i] = aeg_raft_term(nd->r);
		record_conf(s, nd, i);
	}
	if (c > s->gcommit)
		s->gcommit = c;
}

static void check_log_matching(struct sim *s, const struct sim_node *a)
{
	for (uint32_t j = 1; j <= s->n; j++) {
		const struct sim_node *b = &s->nodes[j];
		if (b == a || !b->up)
			continue;
		uint64_t i = a->mlast < b->mlast ? a->mlast : b->mlast;
		uint64_t lo = a->mbase > b->mbase ? a->mbase : b->mbase;
		while (i > lo && a->mterm[i] != b->mterm[i])
			i--;
		if (i >= lo && i > 0 && a->mterm[i] == b->mterm[i] && a->mchain[i] != b->mchain[i]) {
			sim_fail(s, "log matching: n%u and n%u both have term %llu at index %llu but differ below",
				 a->id, b->id, (unsigned long long)a->mterm[i], (unsigned long long)i);
			return;
		}
	}
}

/* Election safety, as the world sees it: a leadership counts once it acts
 * (a leader's message leaves) or once its term is durable. A sole voter
 * that wins and crashes before either leaves no trace, and the same term
 * may then be won again. */
void check_leader_of_term(struct sim *s, uint32_t id, uint64_t term)
{
	if (term >= SIM_TERMS_MAX) {
		sim_fail(s, "term %llu beyond the simulator's table", (unsigned long long)term);
		return;
	}
	if (s->leader_of_term[term] != 0 && s->leader_of_term[term] != id) {
		sim_fail(s, "election safety: n%u and n%u both lead term %llu",
			 s->leader_of_term[term], id, (unsigned long long)term);
		return;
	}
	s->leader_of_term[term] = id;
}

static void check_new_leader(struct sim *s, struct sim_node *nd)
{
	uint64_t term = aeg_raft_term(nd->r);
	s->elections++;
	/* Everything committed in an earlier term must be in its log. */
	uint64_t k = s->gcommit;
	while (k > 0 && s->gcterm[k] >= term)
		k--;
	if (k < nd->mbase)
		k = nd->mbase;  /* older ones are inside its snapshot */
	if (k > 0 && (nd->mlast < k || nd->mchain[k] != s->gchain[k]))
		sim_fail(s, "leader completeness: n%u leads term %llu without committed index %llu",
			 nd->id, (unsigned long long)term, (unsigned long long)k);
	sim_trace(s, "n%u is leader of term %llu (log %llu, commit %llu)", nd->id,
		  (unsigned long long)term, (unsigned long long)nd->mlast,
		  (unsigned long long)aeg_raft_commit(nd->r));
}

void check_all(struct sim *s, uint32_t touched)
{
	for (uint32_t id = 1; id <= s->n && s->failure[0] == '\0'; id++) {
		struct sim_node *nd = &s->nodes[id];
		if (!nd->up)
			continue;
		bool leader = aeg_raft_role(nd->r) == AEG_RAFT_LEADER;
		if (leader && (nd->prev_role != AEG_RAFT_LEADER || nd->prev_term != aeg_raft_term(nd->r)))
			check_new_leader(s, nd);
		if (leader && nd->disk.hs.term >= aeg_raft_term(nd->r))
			check_leader_of_term(s, nd->id, aeg_raft_term(nd->r));
		nd->prev_role = aeg_raft_role(nd->r);
		nd->prev_term = aeg_raft_term(nd->r);
	}
	if (touched != 0 && s->nodes[touched].up && s->failure[0] == '\0')
		check_log_matching(s, &s->nodes[touched]);
}

void check_end(struct sim *s)
{
	if (s->failure[0] != '\0')
		return;
	for (uint32_t i = 0; i < s->n_ops; i++) {
		const struct sim_op *op = &s->ops[i];
		if (op->kind != OP_PUT || !op->ok)
			continue;
		if (op->index > s->gcommit || s->gterm[op->index] != op->term) {
			sim_fail(s, "acknowledged put (op %u, index %llu) is not committed", i,
				 (unsigned long long)op->index);
			return;
		}
	}
	if (s->live_t == 0 || s->live_t - s->healed_t > s->liveness_bound_us) {
		sim_fail(s, "liveness: no put committed within %llu ms after healing at %llu ms",
			 (unsigned long long)(s->liveness_bound_us / 1000),
			 (unsigned long long)(s->healed_t / 1000));
		return;
	}
	/* Stale reads may be old, never invented: the value was put (or 0). */
	for (uint32_t i = 0; i < s->n_ops; i++) {
		const struct sim_op *op = &s->ops[i];
		if (op->kind != OP_GET_STALE || op->value == 0)
			continue;
		bool written = false;
		for (uint32_t j = 0; j < s->n_ops && !written; j++)
			written = s->ops[j].kind == OP_PUT && s->ops[j].key == op->key &&
				  s->ops[j].value == op->value && !s->ops[j].failed;
		if (!written) {
			sim_fail(s, "stale read (op %u) returned %llu, which nobody put", i,
				 (unsigned long long)op->value);
			return;
		}
	}
	for (uint32_t key = 0; key < SIM_KEYS; key++) {
		uint64_t steps = 0;
		int rc = lin_check_key(s->ops, s->n_ops, key, 2000000, &steps);
		s->lin_steps += steps;
		if (rc == 0) {
			sim_fail(s, "history of key %u is not linearizable", key);
			return;
		}
		if (rc < 0)
			s->lin_gaveup++;
	}
}
