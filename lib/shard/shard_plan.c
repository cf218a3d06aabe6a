/* The rebalance planner (aegis/shard_plan.h): re-replication, zones, then
 * balance, greedy, deterministic. Loads are compared as count x weight
 * cross products (no floating point, the same on every node).
 *
 * Cost: each balance move scans the nodes in load order and the donor's
 * shards; O(moves x nodes x shards x rf) at worst, fine for the maps of a
 * control plane (tens of nodes, thousands of shards), not a hot path. */
#include "aegis/shard_plan.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

struct plan {
	const struct aeg_plan_input *in;
	uint32_t *rep;                          /* shard_count x rf */
	uint32_t count[AEG_PLAN_NODES_MAX];     /* replicas per node index */
	uint32_t lower[AEG_PLAN_NODES_MAX], upper[AEG_PLAN_NODES_MAX];
	uint32_t order[AEG_PLAN_NODES_MAX];     /* node indexes, by load */
	bool zones;                             /* two or more zones among eligible nodes */
	struct aeg_plan_move *moves;
	uint32_t moves_max, n_moves;
};

static int index_of(const struct aeg_plan_input *in, uint32_t id)
{
	for (uint32_t i = 0; id != 0 && i < in->n_nodes; i++)
		if (in->nodes[i].id == id)
			return (int)i;
	return -1;
}

static bool usable(const struct aeg_plan_input *in, uint32_t id)
{
	int i = index_of(in, id);
	return i >= 0 && in->nodes[i].eligible;
}

/* load(a) < load(b), ties by id: count_a / w_a < count_b / w_b. */
static bool lighter(const struct plan *p, uint32_t a, uint32_t b)
{
	const struct aeg_plan_node *na = &p->in->nodes[a], *nb = &p->in->nodes[b];
	uint64_t la = (uint64_t)p->count[a] * nb->weight, lb = (uint64_t)p->count[b] * na->weight;
	return la != lb ? la < lb : na->id < nb->id;
}

static void sort_by_load(struct plan *p)
{
	uint32_t n = p->in->n_nodes;
	for (uint32_t i = 0; i < n; i++)
		p->order[i] = i;
	for (uint32_t i = 1; i < n; i++) { /* insertion sort: n is small, mostly sorted */
		uint32_t x = p->order[i], j = i;
		for (; j > 0 && lighter(p, x, p->order[j - 1]); j--)
			p->order[j] = p->order[j - 1];
		p->order[j] = x;
	}
}

static uint32_t *slots(struct plan *p, uint32_t shard)
{
	return p->rep + (size_t)shard * p->in->rf;
}

static bool holds(struct plan *p, uint32_t shard, uint32_t id)
{
	const uint32_t *r = slots(p, shard);
	for (uint32_t k = 0; k < p->in->rf; k++)
		if (r[k] == id)
			return true;
	return false;
}

/* Node index i may take shard's slot `slot` as far as zones go: no other
 * replica of the shard in its zone. */
static bool zone_ok(struct plan *p, uint32_t shard, uint32_t slot, uint32_t i)
{
	uint32_t z = p->in->nodes[i].zone;
#ifdef AEG_PLAN_BUG_IGNORE_ZONES
	z = 0; /* BUG variant: a rebalance that ignores zones */
#endif
	if (!p->zones || z == 0)
		return true;
	const uint32_t *r = slots(p, shard);
	for (uint32_t k = 0; k < p->in->rf; k++) {
		int j = k == slot ? -1 : index_of(p->in, r[k]);
		if (j >= 0 && p->in->nodes[j].zone == z)
			return false;
	}
	return true;
}

static int move(struct plan *p, uint32_t shard, uint32_t slot, uint32_t to)
{
	if (p->n_moves == p->moves_max)
		return -EAGAIN;
	uint32_t *r = slots(p, shard);
	int from = index_of(p->in, r[slot]);
	if (from >= 0 && p->in->nodes[from].eligible) {
		assert(p->count[from] > 0);
		p->count[from]--;
	}
	p->moves[p->n_moves++] = (struct aeg_plan_move){ .shard = shard, .slot = slot, .from = r[slot],
							 .to = p->in->nodes[to].id };
	r[slot] = p->in->nodes[to].id;
	p->count[to]++;
	return 0;
}

/* The least loaded eligible node that may take shard's slot, with its zone
 * rule if zone_strict; -1 if none. */
static int best_taker(struct plan *p, uint32_t shard, uint32_t slot, bool zone_strict, bool under_upper)
{
	sort_by_load(p);
	for (uint32_t k = 0; k < p->in->n_nodes; k++) {
		uint32_t i = p->order[k];
		const struct aeg_plan_node *nd = &p->in->nodes[i];
		if (!nd->eligible || holds(p, shard, nd->id) || (under_upper && p->count[i] >= p->upper[i]))
			continue;
		if (zone_strict && !zone_ok(p, shard, slot, i))
			continue;
		return (int)i;
	}
	return -1;
}

static int rereplicate(struct plan *p)
{
	for (uint32_t s = 0; s < p->in->shard_count; s++) {
		for (uint32_t k = 0; k < p->in->rf; k++) {
			uint32_t *r = slots(p, s);
			bool dup = false;
			for (uint32_t j = 0; j < k; j++)
				dup |= r[j] != 0 && r[j] == r[k];
			if (r[k] != 0 && usable(p->in, r[k]) && !dup)
				continue;
			if (dup)
				r[k] = 0; /* a second replica on one node is no replica */
			int to = best_taker(p, s, k, true, false);
			if (to < 0)
				to = best_taker(p, s, k, false, false);
			if (to < 0)
				return -ENOSPC;
			int rc = move(p, s, k, (uint32_t)to);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int spread_zones(struct plan *p)
{
	if (!p->zones)
		return 0;
	for (uint32_t s = 0; s < p->in->shard_count; s++) {
		for (uint32_t k = 0; k < p->in->rf; k++) {
			int i = index_of(p->in, slots(p, s)[k]);
			assert(i >= 0);
			if (zone_ok(p, s, k, (uint32_t)i))
				continue;
			int to = best_taker(p, s, k, true, false);
			if (to < 0)
				continue; /* fewer zones than replicas: nothing better */
			int rc = move(p, s, k, (uint32_t)to);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* One move from a node that must or may give to one that must or may
 * take, which fixes a bound; 1 if moved, 0 if balanced, < 0 on error. */
static int balance_step(struct plan *p)
{
	uint32_t n = p->in->n_nodes;
	bool over = false, under = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!p->in->nodes[i].eligible)
			continue;
		over |= p->count[i] > p->upper[i];
		under |= p->count[i] < p->lower[i];
	}
	if (!over && !under)
		return 0;
	sort_by_load(p);
	/* Donors from the most loaded, takers from the least. */
	for (uint32_t a = n; a-- > 0;) {
		uint32_t d = p->order[a];
		if (!p->in->nodes[d].eligible || p->count[d] == 0)
			continue;
		bool d_over = p->count[d] > p->upper[d];
		if (over ? !d_over : p->count[d] <= p->lower[d])
			continue;
		for (uint32_t b = 0; b < n; b++) {
			uint32_t t = p->order[b];
			if (t == d || !p->in->nodes[t].eligible || p->count[t] >= p->upper[t])
				continue;
			if (!d_over && p->count[t] >= p->lower[t])
				continue; /* neither side out of bounds: no gain */
			for (uint32_t s = 0; s < p->in->shard_count; s++) {
				uint32_t *r = slots(p, s);
				for (uint32_t k = 0; k < p->in->rf; k++) {
					if (r[k] != p->in->nodes[d].id || holds(p, s, p->in->nodes[t].id) ||
					    !zone_ok(p, s, k, t))
						continue;
					int rc = move(p, s, k, t);
					return rc != 0 ? rc : 1;
				}
			}
		}
	}
	return -ENOSPC;
}

/* A node holds at most one replica per shard: a node whose weighted share
 * is more than that is capped at shard_count, and the replicas it cannot
 * hold are shared by the others by weight (water-filling: each round caps
 * at least one more node, so at most n rounds). capped[i] says which. */
static void cap_nodes(const struct aeg_plan_input *in, bool *capped, uint64_t *w_rest, uint64_t *r_rest)
{
	for (uint32_t round = 0; round <= in->n_nodes; round++) {
		uint64_t w = 0, r = (uint64_t)in->shard_count * in->rf;
		for (uint32_t j = 0; j < in->n_nodes; j++) {
			if (!in->nodes[j].eligible)
				continue;
			if (capped[j])
				r -= in->shard_count;
			else
				w += in->nodes[j].weight;
		}
		*w_rest = w, *r_rest = r;
		bool more = false;
		for (uint32_t j = 0; j < in->n_nodes && w > 0; j++) {
			if (in->nodes[j].eligible && !capped[j] && r * in->nodes[j].weight > (uint64_t)in->shard_count * w) {
				capped[j] = true;
				more = true;
			}
		}
		if (!more)
			return;
	}
	assert(!"water-filling did not settle");
}

static void bounds_of(const struct aeg_plan_input *in, uint32_t i, const bool *capped, uint64_t w_rest,
		      uint64_t r_rest, uint32_t *lower, uint32_t *upper)
{
	if (!in->nodes[i].eligible || (!capped[i] && w_rest == 0)) {
		*lower = *upper = 0;
		return;
	}
	if (capped[i]) {
		*lower = *upper = in->shard_count;
		return;
	}
	uint64_t num = r_rest * in->nodes[i].weight, den = w_rest * 100;
	uint64_t lo = num * (100 - in->tolerance_pct) / den;
	uint64_t hi = (num * (100 + in->tolerance_pct) + den - 1) / den;
	*lower = (uint32_t)(lo < in->shard_count ? lo : in->shard_count);
	*upper = (uint32_t)(hi < in->shard_count ? hi : in->shard_count);
}

void aeg_plan_bounds(const struct aeg_plan_input *in, uint32_t i, uint32_t *lower, uint32_t *upper)
{
	bool capped[AEG_PLAN_NODES_MAX] = { false };
	uint64_t w_rest, r_rest;
	cap_nodes(in, capped, &w_rest, &r_rest);
	bounds_of(in, i, capped, w_rest, r_rest, lower, upper);
}

static int check_input(const struct aeg_plan_input *in, const uint32_t *replicas)
{
	if (in == NULL || replicas == NULL || in->nodes == NULL || in->n_nodes == 0 ||
	    in->n_nodes > AEG_PLAN_NODES_MAX || in->shard_count == 0 || in->rf == 0 ||
	    in->rf > AEG_PLAN_RF_MAX || in->tolerance_pct > 100)
		return -EINVAL;
	uint32_t eligible = 0;
	for (uint32_t i = 0; i < in->n_nodes; i++) {
		const struct aeg_plan_node *nd = &in->nodes[i];
		if (nd->id == 0 || nd->weight == 0 || index_of(in, nd->id) != (int)i)
			return -EINVAL;
		eligible += nd->eligible;
	}
	return eligible >= in->rf ? 0 : -ENOSPC;
}

int aeg_plan_moves(const struct aeg_plan_input *in, uint32_t *replicas, struct aeg_plan_move *moves,
		   uint32_t moves_max, uint32_t *n_moves)
{
	struct plan p; /* ~16 KiB of stack: a control-plane call, not a worker's */
	*n_moves = 0;
	int rc = check_input(in, replicas);
	if (rc != 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.in = in, p.rep = replicas, p.moves = moves, p.moves_max = moves_max;
	uint32_t zone_seen = 0;
	bool capped[AEG_PLAN_NODES_MAX] = { false };
	uint64_t w_rest, r_rest;
	cap_nodes(in, capped, &w_rest, &r_rest);
	for (uint32_t i = 0; i < in->n_nodes; i++) {
		bounds_of(in, i, capped, w_rest, r_rest, &p.lower[i], &p.upper[i]);
		const struct aeg_plan_node *nd = &in->nodes[i];
		if (nd->eligible && nd->zone != 0 && zone_seen != nd->zone)
			p.zones |= zone_seen != 0, zone_seen = nd->zone;
	}
	for (uint64_t x = 0; x < (uint64_t)in->shard_count * in->rf; x++) {
		int i = index_of(in, replicas[x]);
		if (i >= 0 && in->nodes[i].eligible)
			p.count[i]++;
	}
	rc = rereplicate(&p);
	if (rc == 0)
		rc = spread_zones(&p);
	/* Each step moves one replica out of an over-full node or into an
	 * under-full one: at most every replica once per side. */
	uint64_t guard = 2 * (uint64_t)in->shard_count * in->rf + 1;
	while (rc == 0 && guard-- > 0) {
		int step = balance_step(&p);
		if (step <= 0) {
			rc = step;
			break;
		}
	}
	assert(guard != UINT64_MAX || rc != 0);
	*n_moves = p.n_moves;
	return rc;
}

int aeg_plan_preferred(const struct aeg_plan_input *in, const uint32_t *replicas, const bool *skip,
		       uint32_t *shard, uint32_t *slot)
{
	if (in->n_nodes == 0 || in->n_nodes > AEG_PLAN_NODES_MAX || in->rf == 0 || in->rf > AEG_PLAN_RF_MAX)
		return -EINVAL;
	uint32_t prefs[AEG_PLAN_NODES_MAX] = { 0 };
	for (uint32_t s = 0; s < in->shard_count; s++) {
		int i = index_of(in, replicas[(size_t)s * in->rf]);
		if (i >= 0)
			prefs[i]++;
	}
	for (uint32_t s = 0; s < in->shard_count; s++) {
		const uint32_t *v = replicas + (size_t)s * in->rf;
		int p = index_of(in, v[0]), best = -1;
		uint32_t best_k = 0;
		if (p < 0 || (skip != NULL && skip[s]))
			continue;
		for (uint32_t k = 1; k < in->rf; k++) {
			int i = index_of(in, v[k]);
			if (i >= 0 && in->nodes[i].eligible && (best < 0 || prefs[i] < prefs[best])) {
				best = i;
				best_k = k;
			}
		}
		if (best >= 0 && prefs[p] >= prefs[best] + 2) {
			*shard = s;
			*slot = best_k;
			return 1;
		}
	}
	return 0;
}
