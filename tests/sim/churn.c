/* The "churn" mix: membership changes carried out the way aegisd's control
 * plane carries them out, amid the mix's faults. Nodes 1..3 start as the
 * members holding every group's voters; churn events make a node outside
 * join, a member drain (only while 3 members that are not leaving remain),
 * or a member fail (stopped until the heal; one at a time). Every 50 ms,
 * when no move runs, the planner (lib/shard's aeg_plan_moves, which the
 * meta leader's node runs) takes each group's voters as its leader sees
 * them and the nodes that may hold replicas (members, not leaving, not down
 * for 300 ms: aegisd's rereplicate_ms) and the sim starts up to two of its
 * moves (moves.c: learner, catch-up, joint change, as aegisd's leaders).
 *
 * Checked: the usual invariants (no acknowledged write lost, one leader per
 * term, linearizable reads), no config below 3 voters (moves.c), and after
 * healing the placement converges within the liveness bound: the planner
 * has nothing left to move and every group's voters are on members that
 * may hold them (none on a drained node). */
#include "sim.h"

#include <errno.h>

#include "aegis/shard_plan.h"

#define PLAN_EVERY_US 50000
#define DOWN_US 300000
#define CHURN_RF 3
#define CHURN_MOVES_AT_ONCE 2
#define CHURN_TOLERANCE_PCT 10   /* aegisd's rebalance.tolerance_pct default */

void churn_init(struct sim *s)
{
	for (uint32_t id = 1; id <= s->n; id++)
		s->churn.member[id] = id <= s->moves_voters ? SIM_MEMBER_IN : SIM_MEMBER_OUT;
	sim_push(s, 100000, EV_PLAN, 0, 0, NULL);
}

static uint32_t pick(struct sim *s, const uint32_t *ids, uint32_t n)
{
	return n == 0 ? 0 : ids[rng_below(&s->rng, n)];
}

void churn_event(struct sim *s)
{
	uint32_t out[SIM_NODES_MAX], in[SIM_NODES_MAX], up_in[SIM_NODES_MAX], n_out = 0, n_in = 0, n_up = 0;
	bool one_failed = false;
	for (uint32_t id = 1; id <= s->n; id++) {
		uint8_t m = s->churn.member[id];
		if (m == SIM_MEMBER_OUT)
			out[n_out++] = id;
		if (m == SIM_MEMBER_IN)
			in[n_in++] = id;
		if (m == SIM_MEMBER_IN && s->nodes[id].up)
			up_in[n_up++] = id;
		one_failed |= m != SIM_MEMBER_OUT && s->churn.down_since[id] != 0;
	}
	uint32_t id, kind = (uint32_t)rng_below(&s->rng, 3);
	/* Joins first while nodes are outside, else drains while they can. */
	if (n_out > 0 && rng_pct(&s->rng, 50))
		kind = 0;
	else if (n_in > CHURN_RF && rng_pct(&s->rng, 50))
		kind = 1;
	switch (kind) {
	case 0:
		if ((id = pick(s, out, n_out)) == 0)
			return;
		s->churn.member[id] = SIM_MEMBER_IN;
		s->churn.joins++;
		sim_trace(s, "churn: n%u joins", id);
		break;
	case 1:
		if (n_in <= CHURN_RF || (id = pick(s, in, n_in)) == 0)
			return;
		s->churn.member[id] = SIM_MEMBER_LEAVING;
		s->churn.drains++;
		sim_trace(s, "churn: n%u drains", id);
		break;
	default:
		if (one_failed || (id = pick(s, up_in, n_up)) == 0)
			return;
		/* Down until the heal: long enough to count as DOWN. */
		node_stop(s, id);
		s->churn.down_since[id] = s->now;
		s->churn.failures++;
		s->crashes++;
		sim_trace(s, "churn: n%u fails (down until the heal)", id);
		break;
	}
}

static bool may_hold(const struct sim *s, uint32_t id)
{
	return s->churn.member[id] == SIM_MEMBER_IN &&
	       (s->churn.down_since[id] == 0 || s->now - s->churn.down_since[id] < DOWN_US);
}

/* Each group's voters as its leader sees them: false while a group has no
 * leader or a change is under way (not exactly CHURN_RF plain voters). */
static bool placement(struct sim *s, uint32_t *replicas)
{
	for (uint32_t g = 0; g < s->groups; g++) {
		uint32_t lead = sim_leader(s, g);
		if (lead == 0)
			return false;
		struct aeg_raft_conf c;
		aeg_raft_conf_get(sim_raft(s, lead, g), &c);
		uint32_t n = 0;
		for (uint32_t i = 0; i < c.n; i++) {
			if (c.roles[i] & AEG_RAFT_MEMBER_VOTER_OUT)
				return false;
			if (c.roles[i] & AEG_RAFT_MEMBER_VOTER) {
				if (n == CHURN_RF)
					return false;
				replicas[g * CHURN_RF + n++] = c.ids[i];
			}
		}
		if (n != CHURN_RF)
			return false;
	}
	return true;
}

/* The planner over the current placement: its return code, the moves. */
static int plan(struct sim *s, uint32_t *replicas, struct aeg_plan_move *moves, uint32_t max, uint32_t *n)
{
	struct aeg_plan_node nodes[SIM_NODES_MAX];
	for (uint32_t id = 1; id <= s->n; id++)
		nodes[id - 1] = (struct aeg_plan_node){ .id = id, .weight = 1, .eligible = may_hold(s, id) };
	struct aeg_plan_input in = { .nodes = nodes, .n_nodes = s->n, .shard_count = s->groups, .rf = CHURN_RF,
				     .tolerance_pct = CHURN_TOLERANCE_PCT };
	return aeg_plan_moves(&in, replicas, moves, max, n);
}

void churn_plan(struct sim *s)
{
	sim_push(s, s->now + PLAN_EVERY_US, EV_PLAN, 0, 0, NULL);
	for (uint32_t id = 1; id <= s->n; id++)
		if (s->nodes[id].up)
			s->churn.down_since[id] = 0;
		else if (s->churn.down_since[id] == 0)
			s->churn.down_since[id] = s->now;
	uint32_t replicas[SIM_GROUPS_MAX * CHURN_RF];
	if (!moves_idle(s) || !placement(s, replicas))
		return;
	struct aeg_plan_move moves[8];
	uint32_t n = 0;
	int rc = plan(s, replicas, moves, 8, &n);
	s->churn.plans++;
	uint32_t started = 0;
	for (uint32_t i = 0; i < n && started < CHURN_MOVES_AT_ONCE; i++) {
		const struct aeg_plan_move *m = &moves[i];
		if (m->from == 0 || s->moves[m->shard].active)
			continue;
		sim_trace(s, "plan (%d): g%u n%u -> n%u", rc, m->shard, m->from, m->to);
		moves_begin(s, m->shard, m->from, m->to);
		s->churn.planned_moves++;
		started++;
	}
}

bool churn_settled(struct sim *s)
{
	if (s->mix->churn_every_ms == 0)
		return true;
	uint32_t replicas[SIM_GROUPS_MAX * CHURN_RF];
	struct aeg_plan_move moves[1];
	uint32_t n = 0;
	return moves_idle(s) && placement(s, replicas) && plan(s, replicas, moves, 1, &n) == 0 && n == 0;
}

void churn_check_end(struct sim *s)
{
	if (s->mix->churn_every_ms == 0 || s->failure[0] != '\0')
		return;
	uint32_t replicas[SIM_GROUPS_MAX * CHURN_RF];
	if (!placement(s, replicas)) {
		sim_fail(s, "liveness: a group without a leader or mid-change %llu ms after healing",
			 (unsigned long long)((s->now - s->healed_t) / 1000));
		return;
	}
	for (uint32_t i = 0; i < s->groups * CHURN_RF; i++)
		if (!may_hold(s, replicas[i])) {
			sim_fail(s, "g%u has a voter on n%u, which may not hold replicas (%s), %llu ms after healing",
				 i / CHURN_RF, replicas[i],
				 s->churn.member[replicas[i]] == SIM_MEMBER_LEAVING ? "drained" : "not a member",
				 (unsigned long long)((s->now - s->healed_t) / 1000));
			return;
		}
	if (!churn_settled(s))
		sim_fail(s, "liveness: the planner still has moves %llu ms after healing",
			 (unsigned long long)((s->now - s->healed_t) / 1000));
}
