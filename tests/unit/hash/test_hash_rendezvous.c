/* Unit tests for rendezvous hashing (lib/hash/rendezvous.c, hrw_score.c). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/hash.h"
#include "hash/hrw_score.h"
#include "hash_test.h"

#define NODES 10u

static const uint32_t weights_mixed[NODES] = { 2000, 1500, 1000, 1000, 1000,
					       1000, 1000, 1000, 1000, 1000 };
static const uint32_t weights_equal[NODES] = { 1000, 1000, 1000, 1000, 1000,
					       1000, 1000, 1000, 1000, 1000 };

/* Nodes 1..count with weights[id - 1]. */
static void hrw_of(struct aeg_hrw *h, uint32_t count, const uint32_t *weights)
{
	assert_int_equal(aeg_hrw_init(h, 64), 0);
	for (uint32_t id = 1; id <= count; id++)
		assert_int_equal(aeg_hrw_add(h, id, weights[id - 1]), 0);
}

static int hrw_lookup(const void *h, uint64_t key_hash, uint32_t *out, uint32_t n)
{
	return aeg_hrw_get_nodes(h, key_hash, out, n);
}

static void test_errors(void **state)
{
	(void)state;
	struct aeg_hrw h;
	uint32_t out[AEG_HRW_N_MAX + 1];

	assert_int_equal(aeg_hrw_init(&h, 0), -EINVAL);
	assert_int_equal(aeg_hrw_init(&h, (uint32_t)INT32_MAX + 1), -EINVAL);
	assert_int_equal(aeg_hrw_init(&h, AEG_HRW_N_MAX + 2), 0);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, 1), -ENOENT);
	assert_int_equal(aeg_hrw_remove(&h, 1), -ENOENT);
	assert_int_equal(aeg_hrw_add(&h, 1, 0), -EINVAL);
	assert_int_equal(aeg_hrw_add(&h, 1, 1), 0);
	assert_int_equal(aeg_hrw_add(&h, 1, 1000), -EEXIST);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, 0), -EINVAL);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, 2), -ERANGE);
	for (uint32_t id = 2; id <= AEG_HRW_N_MAX + 2; id++)
		assert_int_equal(aeg_hrw_add(&h, id, 1000), 0);
	assert_int_equal(aeg_hrw_add(&h, 99, 1000), -ENOSPC);
	assert_int_equal(h.nodes_len, AEG_HRW_N_MAX + 2);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, AEG_HRW_N_MAX + 1), -EINVAL);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, AEG_HRW_N_MAX), 0);
	assert_int_equal(aeg_hrw_remove(&h, 99), -ENOENT);
	for (uint32_t id = 1; id <= AEG_HRW_N_MAX + 2; id++)
		assert_int_equal(aeg_hrw_remove(&h, id), 0);
	assert_int_equal(aeg_hrw_get_nodes(&h, 1, out, 1), -ENOENT);
	aeg_hrw_fini(&h);
}

/* Computed once from this implementation: nodes 1..10, equal weights and
 * then weights_mixed, key hash aeg_hash_key("key-<i>", seed 0), n = 3. */
static const uint32_t golden_equal[8][3] = {
	{ 1, 10, 9 }, { 9, 5, 7 }, { 3, 5, 8 }, { 10, 6, 8 },
	{ 5, 7, 10 }, { 5, 6, 1 }, { 7, 4, 9 }, { 2, 7, 8 },
};
static const uint32_t golden_mixed[8][3] = {
	{ 1, 10, 9 }, { 9, 5, 7 }, { 3, 5, 1 }, { 10, 6, 8 },
	{ 5, 7, 10 }, { 5, 1, 6 }, { 7, 1, 4 }, { 2, 7, 8 },
};

static void check_golden(const char *what, const uint32_t *weights,
			 const uint32_t (*golden)[3])
{
	struct aeg_hrw h;
	hrw_of(&h, NODES, weights);
	ht_check_golden(what, &h, hrw_lookup, golden);
	aeg_hrw_fini(&h);
}

static void test_golden(void **state)
{
	(void)state;
	check_golden("hrw equal weights", weights_equal, golden_equal);
	check_golden("hrw mixed weights", weights_mixed, golden_mixed);
	/* The node seed and the weighted score, as numbers. */
	assert_int_equal(aeg_hrw_mix(0, 0), 0);
	assert_int_equal(aeg_hrw_mix(1, 0), 0x5692161d100b05e5ull);
	/* splitmix64 seeded with 0: its first output is this (Vigna's code). */
	assert_int_equal(aeg_hrw_mix(0x9e3779b97f4a7c15ull, 0), 0xe220a8397b1dcdafull);
	/* u = 0.5 + 2^-53: 1000 / ln 2 = 1442.695..., as double bits. */
	assert_int_equal(aeg_hrw_weighted_score(1ull << 63, 1000), 0x40968ac7b8cc7deeull);
}

/* The portable ln against libm's, over the whole range the scores use. */
static void test_ln_accuracy(void **state)
{
	(void)state;
	struct prng rng;
	prng_init_seed(&rng, ht_seed("hrw ln"));
	double worst = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		uint64_t r = prng_next(&rng);
		double u = i < 100000 ? ((double)(r >> 12) + 0.5) * 0x1p-52
				      : ldexp(1.0 + (double)(r >> 12) * 0x1p-52, -(int)(i % 60));
		double want = log(u), got = aeg_hrw_ln(u);
		double err = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
		if (err > worst)
			worst = err;
	}
	print_message("hrw ln: worst relative error %.3g\n", worst);
	assert_true(worst <= 1e-15); /* ~4.5 ulp */
	assert_true(aeg_hrw_ln(1.0) == 0.0);
	assert_true(fabs(aeg_hrw_ln(0x1p-53) - log(0x1p-53)) < 1e-14);
}

/* Adds in any order, and removes of nodes that were never meant to stay,
 * give the same lookups: node slots are not part of the answer. */
static void test_add_order_irrelevant(void **state)
{
	(void)state;
	struct prng rng;
	prng_init_seed(&rng, ht_seed("hrw add order"));
	struct aeg_hrw ref, h;
	hrw_of(&ref, NODES, weights_mixed);
	for (uint32_t order = 0; order < 6; order++) {
		uint32_t perm[NODES];
		for (uint32_t i = 0; i < NODES; i++)
			perm[i] = i + 1;
		ht_shuffle(perm, NODES, &rng);
		assert_int_equal(aeg_hrw_init(&h, NODES + 1), 0);
		for (uint32_t i = 0; i < NODES; i++) {
			if (i == order)
				assert_int_equal(aeg_hrw_add(&h, 1000 + order, 3000), 0);
			assert_int_equal(aeg_hrw_add(&h, perm[i], weights_mixed[perm[i] - 1]), 0);
		}
		assert_int_equal(aeg_hrw_remove(&h, 1000 + order), 0);
		ht_check_same(&ref, &h, hrw_lookup, 20000, 4, &rng);
		aeg_hrw_fini(&h);
	}
	aeg_hrw_fini(&ref);
}

/* get_nodes(k, m) is a prefix of get_nodes(k, 16) and its ids are distinct
 * members, for equal and for mixed weights. */
static void test_get_nodes_distinct_prefix(void **state)
{
	(void)state;
	struct prng rng;
	prng_init_seed(&rng, ht_seed("hrw get_nodes"));
	struct aeg_hrw h;
	assert_int_equal(aeg_hrw_init(&h, 20), 0);
	for (uint32_t id = 1; id <= 20; id++)
		assert_int_equal(aeg_hrw_add(&h, id, 1000), 0);
	for (uint32_t round = 0; round < 2; round++) {
		for (uint32_t k = 0; k < 20000; k++) {
			uint64_t key = prng_next(&rng);
			uint32_t all[AEG_HRW_N_MAX], some[AEG_HRW_N_MAX], seen = 0;
			assert_int_equal(aeg_hrw_get_nodes(&h, key, all, AEG_HRW_N_MAX), 0);
			for (uint32_t i = 0; i < AEG_HRW_N_MAX; i++) {
				assert_true(all[i] >= 1 && all[i] <= 20);
				assert_true((seen & (1u << all[i])) == 0);
				seen |= 1u << all[i];
			}
			uint32_t n = 1 + (uint32_t)prng_below(&rng, AEG_HRW_N_MAX);
			assert_int_equal(aeg_hrw_get_nodes(&h, key, some, n), 0);
			assert_memory_equal(some, all, n * sizeof(*some));
		}
		/* Second round with unequal weights (the floating-point path). */
		assert_int_equal(aeg_hrw_remove(&h, 7), 0);
		assert_int_equal(aeg_hrw_add(&h, 7, 2500), 0);
		assert_int_equal(h.uniform, 0);
	}
	aeg_hrw_fini(&h);
}

/* Balance, 10 equal nodes, 10^6 keys: each count is Binomial(10^6, 1/10)
 * if the scores are independent, so max/mean <= 1 + 5 * sqrt(9/10^6) =
 * 1.015 (k = HT_SIGMAS = 5). */
static void test_balance(void **state)
{
	(void)state;
	struct aeg_hrw h;
	hrw_of(&h, NODES, weights_equal);
	ht_check_spread("hrw balance", &h, hrw_lookup, weights_equal, NODES, 0);
	aeg_hrw_fini(&h);
}

/* Weights 2.0, 1.5 and eight 1.0: weighted HRW gives node i the share
 * w_i / 11.5 exactly, so counts are binomial: the weight-2 node gets
 * 0.1739 +- 5 * sqrt(0.1739 * 0.8261 / 10^6) = +- 0.0019, i.e. 1.98x to
 * 2.02x a weight-1 node. A score that ignored the log (w * u) would fail. */
static void test_weights(void **state)
{
	(void)state;
	struct aeg_hrw h;
	hrw_of(&h, NODES, weights_mixed);
	ht_check_spread("hrw weights", &h, hrw_lookup, weights_mixed, NODES, 0);
	aeg_hrw_fini(&h);
}

/* Adding an 11th node moves keys only to it: 1/11 +- 0.0014 of them for
 * weight 1; 2/12 +- 0.0019 for weight 2, which also switches every score
 * to the weighted formula. Removing it restores every lookup; removing
 * node 4 (weight 1 of 11.5) moves only node 4's keys, 1/11.5 +- 0.0014.
 * Replica lists (n = 3) change only by the added or removed node. */
static void check_add(uint32_t weight)
{
	uint32_t weights[NODES + 1];
	memcpy(weights, weights_equal, sizeof(weights_equal));
	weights[NODES] = weight;
	struct aeg_hrw h10, h11;
	hrw_of(&h10, NODES, weights);
	hrw_of(&h11, NODES + 1, weights);
	double p = (double)weight / (weight + NODES * 1000.0);
	ht_check_change("hrw add", &h10, &h11, hrw_lookup, 3, NODES + 1, 0, p, 0);
	struct prng rng;
	prng_init_seed(&rng, ht_seed("hrw remove added"));
	assert_int_equal(aeg_hrw_remove(&h11, NODES + 1), 0);
	ht_check_same(&h10, &h11, hrw_lookup, 20000, 3, &rng);
	aeg_hrw_fini(&h10);
	aeg_hrw_fini(&h11);
}

static void test_minimal_disruption(void **state)
{
	(void)state;
	check_add(1000);
	check_add(2000);

	struct aeg_hrw h, without;
	hrw_of(&h, NODES, weights_mixed);
	hrw_of(&without, NODES, weights_mixed);
	assert_int_equal(aeg_hrw_remove(&without, 4), 0);
	ht_check_change("hrw remove", &h, &without, hrw_lookup, 3, 0, 4, 1000 / 11500.0, 0);
	aeg_hrw_fini(&h);
	aeg_hrw_fini(&without);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_ln_accuracy),
		cmocka_unit_test(test_add_order_irrelevant),
		cmocka_unit_test(test_get_nodes_distinct_prefix),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_minimal_disruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
