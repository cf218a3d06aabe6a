/* The "moves" mix: replica moves (aegis/shard_move.h, what aegisd's
 * leaders run) amid the mix's faults. A fault event starts a move in a
 * random group: a random voter's replica goes to a node outside the
 * config. Every 5 ms each move takes its next step from the view of the
 * group's current leader (a new leader picks the move up where the last
 * one left it, as the rebalancer asks again): the learner added, caught
 * up, promoted with the source removed in one joint change, the source
 * "dropped" (a no-op: every node keeps its instance of every group).
 *
 * Checked: no config a move proposes has fewer voters than the group
 * started with (the broken variant AEG_MOVE_BUG_REMOVE_FIRST must fail
 * here), and every move started is done within the liveness bound after
 * healing; the usual checks (election safety, logs, linearizability,
 * acknowledged puts) run throughout. */
#include "sim.h"

#include <string.h>

#include "aegis/shard_move.h"

#define MOVE_STEP_US 5000

static uint32_t voters(const struct aeg_raft_conf *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->n; i++)
		n += (c->roles[i] & AEG_RAFT_MEMBER_VOTER) != 0;
	return n;
}

void moves_start(struct sim *s)
{
	uint32_t g = (uint32_t)rng_below(&s->rng, s->groups);
	struct sim_move *mv = &s->moves[g];
	uint32_t lead = sim_leader(s, g);
	struct aeg_raft *r = lead ? sim_raft(s, lead, g) : NULL;
	if (mv->active || r == NULL)
		return;
	struct aeg_raft_conf c;
	aeg_raft_conf_get(r, &c);
	uint32_t from_c[SIM_NODES_MAX], to_c[SIM_NODES_MAX], nf = 0, nt = 0;
	for (uint32_t id = 1; id <= s->n; id++) {
		uint8_t role = aeg_raft_conf_role(&c, id);
		if (role == AEG_RAFT_MEMBER_VOTER)
			from_c[nf++] = id;
		else if (role == 0)
			to_c[nt++] = id;
	}
	if (nf == 0 || nt == 0 || voters(&c) != c.n)
		return;  /* a change under way, or nowhere to go */
	moves_begin(s, g, from_c[rng_below(&s->rng, nf)], to_c[rng_below(&s->rng, nt)]);
}

void moves_begin(struct sim *s, uint32_t g, uint32_t from, uint32_t to)
{
	struct sim_move *mv = &s->moves[g];
	*mv = (struct sim_move){ .active = true, .from = from, .to = to, .started_t = s->now };
	s->moves_started++;
	sim_trace(s, "move: g%u n%u -> n%u", g, mv->from, mv->to);
	bool pending = false;
	for (uint32_t k = 0; k < s->groups; k++)
		pending |= s->moves[k].active && k != g;
	if (!pending)
		sim_push(s, s->now + MOVE_STEP_US, EV_MOVE, 0, 0, NULL);
}

static void step(struct sim *s, uint32_t g)
{
	struct sim_move *mv = &s->moves[g];
	uint32_t lead = sim_leader(s, g);
	struct aeg_raft *r = lead ? sim_raft(s, lead, g) : NULL;
	if (r == NULL || aeg_raft_role(r) != AEG_RAFT_LEADER)
		return;  /* no leader now: the next one goes on */
	struct aeg_raft_conf c;
	aeg_raft_conf_get(r, &c);
	const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, mv->to);
	struct aeg_move_view v = { .self = lead, .leader = true, .conf = &c, .conf_index = aeg_raft_conf_index(r),
				   .commit = aeg_raft_commit(r),
				   .to_replicating = pr != NULL && pr->state == AEG_RAFT_REPLICATE,
				   .to_match = pr != NULL ? pr->match : 0 };
	struct aeg_move_step st;
	aeg_shard_move_next(&v, mv->from, mv->to, mv->dropped, &st);
	switch (st.action) {
	case AEG_MOVE_ADD_LEARNER:
	case AEG_MOVE_PROMOTE: {
		if (voters(&st.target) < s->moves_voters) {
			sim_fail(s, "move of g%u n%u -> n%u proposes a config of %u voters (the group had %u)", g,
				 mv->from, mv->to, voters(&st.target), s->moves_voters);
			return;
		}
		int rc = aeg_raft_propose_conf(r, &st.target);
		sim_trace(s, "move: g%u n%u -> n%u: %s by n%u (%d)", g, mv->from, mv->to, st.reason, lead, rc);
		aeg_gd_touch(s->nodes[lead].gd, g + 1);
		node_loop(s, lead);
		break;
	}
	case AEG_MOVE_DROP:
		mv->dropped = true;  /* every node keeps every group here */
		break;
	case AEG_MOVE_DONE:
	case AEG_MOVE_FAILED:
		sim_trace(s, "move: g%u n%u -> n%u %s (%s)", g, mv->from, mv->to,
			  st.action == AEG_MOVE_DONE ? "done" : "failed", st.reason);
		mv->active = false;
		if (st.action == AEG_MOVE_DONE)
			s->moves_done++;
		else
			s->moves_failed++;
		break;
	default:
		break;
	}
}

void moves_step(struct sim *s)
{
	bool any = false;
	for (uint32_t g = 0; g < s->groups && s->failure[0] == '\0'; g++) {
		if (!s->moves[g].active)
			continue;
		step(s, g);
		any |= s->moves[g].active;
	}
	if (any)
		sim_push(s, s->now + MOVE_STEP_US, EV_MOVE, 0, 0, NULL);
}

bool moves_idle(const struct sim *s)
{
	for (uint32_t g = 0; g < s->groups; g++)
		if (s->moves[g].active)
			return false;
	return true;
}

void moves_check_end(struct sim *s)
{
	for (uint32_t g = 0; g < s->groups && s->failure[0] == '\0'; g++) {
		const struct sim_move *mv = &s->moves[g];
		if (mv->active)
			sim_fail(s, "liveness: the move of g%u n%u -> n%u (started at %llu ms) is not done %llu ms "
				 "after healing", g, mv->from, mv->to, (unsigned long long)(mv->started_t / 1000),
				 (unsigned long long)((s->now - s->healed_t) / 1000));
	}
}
