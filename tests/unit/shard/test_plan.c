/* The rebalance planner (aegis/shard_plan.h): placements after the moves
 * are checked from scratch (rf distinct eligible replicas per shard, every
 * node within its bounds, zones spread), and the move counts against the
 * least any plan could do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aegis/shard_plan.h"

#define SHARDS 48
#define RF 3
#define NODES_T 8

static struct aeg_plan_node nodes[NODES_T];
static uint32_t rep[SHARDS * RF];
static struct aeg_plan_move mv[SHARDS * RF * 2];

static struct aeg_plan_input input(uint32_t n, uint32_t tol)
{
	return (struct aeg_plan_input){ .nodes = nodes, .n_nodes = n, .shard_count = SHARDS, .rf = RF,
					 .tolerance_pct = tol };
}

/* Round-robin placement on nodes 1..n. */
static void place_rr(uint32_t n)
{
	for (uint32_t s = 0; s < SHARDS; s++)
		for (uint32_t k = 0; k < RF; k++)
			rep[s * RF + k] = (s + k) % n + 1;
}

static void set_nodes(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		nodes[i] = (struct aeg_plan_node){ .id = i + 1, .weight = 1, .eligible = true };
}

/* Checks the placement; returns the replica count of node index i in *count. */
static void check_placement(const struct aeg_plan_input *in, bool zones_spread)
{
	uint32_t count[NODES_T] = { 0 };
	for (uint32_t s = 0; s < in->shard_count; s++) {
		for (uint32_t k = 0; k < in->rf; k++) {
			uint32_t id = rep[s * RF + k];
			int idx = -1;
			for (uint32_t i = 0; i < in->n_nodes; i++)
				if (nodes[i].id == id)
					idx = (int)i;
			if (idx < 0 || !nodes[idx].eligible)
				fail_msg("shard %u slot %u on node %u: not eligible", s, k, id);
			count[idx]++;
			for (uint32_t j = 0; j < k; j++) {
				if (rep[s * RF + j] == id)
					fail_msg("shard %u: two replicas on node %u", s, id);
				for (uint32_t i = 0; zones_spread && i < in->n_nodes; i++)
					if (nodes[i].id == rep[s * RF + j] && nodes[i].zone == nodes[idx].zone)
						fail_msg("shard %u: two replicas in zone %u", s, nodes[idx].zone);
			}
		}
	}
	for (uint32_t i = 0; i < in->n_nodes; i++) {
		uint32_t lo, hi;
		aeg_plan_bounds(in, i, &lo, &hi);
		if (count[i] < lo || count[i] > hi)
			fail_msg("node %u holds %u replicas, bounds [%u, %u]", nodes[i].id, count[i], lo, hi);
	}
}

static void test_balanced_needs_nothing(void **state)
{
	(void)state;
	set_nodes(3);
	place_rr(3);
	struct aeg_plan_input in = input(3, 10);
	uint32_t n = 99;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	assert_int_equal(n, 0);
	check_placement(&in, false);
}

/* 3 -> 5 nodes: the new ones get their share, each move fills one of their
 * missing replicas (no move between old nodes). */
static void test_join_two_nodes(void **state)
{
	(void)state;
	set_nodes(5);
	place_rr(3);
	struct aeg_plan_input in = input(5, 10);
	uint32_t n = 0;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	check_placement(&in, false);
	uint32_t need = 0;
	for (uint32_t i = 3; i < 5; i++) {
		uint32_t lo, hi;
		aeg_plan_bounds(&in, i, &lo, &hi);
		need += lo;
	}
	for (uint32_t m = 0; m < n; m++)
		assert_true(mv[m].to == 4 || mv[m].to == 5);
	print_message("join: %u moves (the new nodes' lower bounds: %u)\n", n, need);
	assert_true(n >= need && n <= need + 2);
}

/* Node 2 of 4 is down: its replicas move to the others, nothing else. */
static void test_node_down_rereplicates(void **state)
{
	(void)state;
	set_nodes(4);
	place_rr(4);
	nodes[1].eligible = false;
	struct aeg_plan_input in = input(4, 10);
	uint32_t before = 0;
	for (uint32_t x = 0; x < SHARDS * RF; x++)
		before += rep[x] == 2;
	uint32_t n = 0;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	check_placement(&in, false);
	assert_int_equal(n, before);
	for (uint32_t m = 0; m < n; m++)
		assert_int_equal(mv[m].from, 2);
}

/* Zones: 6 nodes in 3 zones, a placement that puts replicas of a shard in
 * one zone: after the plan every shard spans 3 zones. */
static void test_zones_spread(void **state)
{
	(void)state;
	set_nodes(6);
	for (uint32_t i = 0; i < 6; i++)
		nodes[i].zone = i / 2 + 1; /* nodes 1,2 zone 1; 3,4 zone 2; 5,6 zone 3 */
	for (uint32_t s = 0; s < SHARDS; s++) /* 1,2,3 / 2,3,4 / ...: two in a zone often */
		for (uint32_t k = 0; k < RF; k++)
			rep[s * RF + k] = (s + k) % 6 + 1;
	struct aeg_plan_input in = input(6, 10);
	uint32_t n = 0;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	print_message("zones: %u moves\n", n);
	check_placement(&in, true);
}

static uint32_t replicas_on(uint32_t id)
{
	uint32_t c = 0;
	for (uint32_t x = 0; x < SHARDS * RF; x++)
		c += rep[x] == id;
	return c;
}

/* Weights: node 3 has weight 2 of 6 nodes' 7: it ends with ~2/7 of them. */
static void test_weights(void **state)
{
	(void)state;
	set_nodes(6);
	nodes[2].weight = 2;
	place_rr(6);
	struct aeg_plan_input in = input(6, 5);
	uint32_t n = 0;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	check_placement(&in, false);
	uint32_t c3 = replicas_on(3);
	assert_true(c3 >= 39 && c3 <= 44); /* 144 x 2/7 = 41.1, +-5% */
}

/* A share over one replica per shard: node 3 (weight 2 of 5 = 57.6 of 144
 * replicas) is capped at 48, every shard; the other 96 go to the rest. */
static void test_weight_capped(void **state)
{
	(void)state;
	set_nodes(4);
	nodes[2].weight = 2;
	place_rr(4);
	struct aeg_plan_input in = input(4, 5);
	uint32_t lo, hi, n = 0;
	aeg_plan_bounds(&in, 2, &lo, &hi);
	assert_int_equal(lo, SHARDS);
	assert_int_equal(hi, SHARDS);
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 1000, &n), 0);
	check_placement(&in, false);
	assert_int_equal(replicas_on(3), SHARDS);
	assert_int_equal(replicas_on(1) + replicas_on(2) + replicas_on(4), 96);
}

/* moves_max: the plan stops, says so, and going on from where it stopped
 * ends where one call would have. */
static void test_moves_max_resumes(void **state)
{
	(void)state;
	set_nodes(5);
	place_rr(3);
	struct aeg_plan_input in = input(5, 10);
	uint32_t n = 0, total = 0;
	int rc;
	for (int round = 0; round < 100 && (rc = aeg_plan_moves(&in, rep, mv, 7, &n)) == -EAGAIN; round++) {
		assert_int_equal(n, 7);
		total += n;
	}
	assert_int_equal(rc, 0);
	total += n;
	check_placement(&in, false);
	assert_true(total > 7);
}

static void test_bad_input(void **state)
{
	(void)state;
	set_nodes(3);
	place_rr(3);
	uint32_t n = 0;
	struct aeg_plan_input in = input(3, 10);
	nodes[1].id = 1; /* duplicate id */
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 10, &n), -EINVAL);
	set_nodes(3);
	nodes[0].eligible = false; /* 2 eligible for rf 3 */
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 10, &n), -ENOSPC);
	set_nodes(3);
	in.tolerance_pct = 101;
	assert_int_equal(aeg_plan_moves(&in, rep, mv, 10, &n), -EINVAL);
}

/* Preferred leaders: all on node 1 to begin with; swaps until none is
 * proposed leave every eligible node within 1 of the others, never put an
 * ineligible node first, and leave skipped shards alone. */
static void test_preferred(void **state)
{
	(void)state;
	set_nodes(4);
	nodes[3].eligible = false;
	for (uint32_t s = 0; s < SHARDS; s++) {
		rep[s * RF] = 1;
		rep[s * RF + 1] = 2 + s % 2;
		rep[s * RF + 2] = s % 3 == 0 ? 4 : (s % 2 ? 2 : 3);
		if (rep[s * RF + 2] == rep[s * RF + 1])
			rep[s * RF + 2] = 4;
	}
	bool skip[SHARDS] = { false };
	skip[5] = true;
	struct aeg_plan_input in = input(4, 10);
	uint32_t shard, slot, swaps = 0;
	int rc;
	while ((rc = aeg_plan_preferred(&in, rep, skip, &shard, &slot)) == 1) {
		assert_true(shard < SHARDS && slot > 0 && slot < RF);
		assert_false(skip[shard]);
		assert_int_not_equal(rep[shard * RF + slot], 4);  /* ineligible: never first */
		uint32_t t = rep[shard * RF];
		rep[shard * RF] = rep[shard * RF + slot];
		rep[shard * RF + slot] = t;
		assert_true(++swaps <= SHARDS);
	}
	assert_int_equal(rc, 0);
	uint32_t prefs[5] = { 0 };
	for (uint32_t s = 0; s < SHARDS; s++)
		prefs[rep[s * RF]]++;
	assert_int_equal(prefs[4], 0);
	assert_int_equal(rep[5 * RF], 1);  /* skipped: still first */
	for (uint32_t a = 1; a <= 3; a++)
		for (uint32_t b = 1; b <= 3; b++)
			assert_true(prefs[a] <= prefs[b] + 1);
	print_message("preferred leaders after %u swaps: %u %u %u\n", swaps, prefs[1], prefs[2], prefs[3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preferred),
		cmocka_unit_test(test_balanced_needs_nothing),
		cmocka_unit_test(test_join_two_nodes),
		cmocka_unit_test(test_node_down_rereplicates),
		cmocka_unit_test(test_zones_spread),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_weight_capped),
		cmocka_unit_test(test_moves_max_resumes),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
