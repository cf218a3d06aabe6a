/* Helpers shared by the hash unit tests (see hash_test.h). */
#include "hash_test.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/hash.h"

uint64_t ht_seed(const char *test_name)
{
	uint64_t seed = test_seed(AEGIS_TEST_SEED_DEFAULT);
	test_seed_print(test_name, seed);
	return seed;
}

uint64_t *ht_key_hashes(size_t n, uint64_t seed)
{
	uint64_t *keys = malloc(n * sizeof(*keys));
	assert_non_null(keys);
	struct prng rng;
	prng_init_seed(&rng, seed);
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes[2] = { prng_next(&rng), prng_next(&rng) };
		keys[i] = aeg_hash_key(bytes, sizeof(bytes), 0);
	}
	return keys;
}

void ht_shuffle(uint32_t *ids, uint32_t len, struct prng *rng)
{
	for (uint32_t i = len; i > 1; i--) {
		uint32_t j = (uint32_t)prng_below(rng, i);
		uint32_t t = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = t;
	}
}

double ht_share_tolerance(double p, uint32_t points, uint32_t keys)
{
	double var = p * (1 - p) / keys;
	if (points != 0)
		var += p * (1 - p) / ((double)points + 1);
	return HT_SIGMAS * sqrt(var);
}

void ht_check_golden(const char *what, const void *scheme, ht_lookup_fn lookup,
		     const uint32_t (*golden)[3])
{
	uint32_t got[8][3];
	for (uint32_t i = 0; i < 8; i++) {
		char key[16];
		int len = snprintf(key, sizeof(key), "key-%u", i);
		assert_int_equal(lookup(scheme, aeg_hash_key(key, (size_t)len, 0), got[i], 3), 0);
	}
	if (memcmp(got, golden, sizeof(got)) == 0)
		return;
	for (uint32_t i = 0; i < 8; i++)
		print_message("\t{ %u, %u, %u },\n", got[i][0], got[i][1], got[i][2]);
	fail_msg("%s: lookups differ from the golden table (actual printed above)", what);
}

void ht_check_same(const void *a, const void *b, ht_lookup_fn lookup,
		   uint32_t count, uint32_t n, struct prng *rng)
{
	assert_true(n <= 16);
	for (uint32_t k = 0; k < count; k++) {
		uint64_t key = prng_next(rng);
		uint32_t out_a[16], out_b[16];
		assert_int_equal(lookup(a, key, out_a, n), 0);
		assert_int_equal(lookup(b, key, out_b, n), 0);
		assert_memory_equal(out_a, out_b, n * sizeof(*out_a));
	}
}

void ht_check_spread(const char *what, const void *scheme, ht_lookup_fn lookup,
		     const uint32_t *weights, uint32_t len, uint32_t points)
{
	uint64_t *keys = ht_key_hashes(HT_KEYS, ht_seed(what));
	uint32_t counts[HT_IDS_MAX] = { 0 };
	assert_true(len <= HT_IDS_MAX);
	for (uint32_t k = 0; k < HT_KEYS; k++) {
		uint32_t id = 0;
		assert_int_equal(lookup(scheme, keys[k], &id, 1), 0);
		assert_true(id >= 1 && id <= len);
		counts[id - 1]++;
	}
	free(keys);

	double weight_sum = 0, mean = (double)HT_KEYS / len, max = 0, sq = 0;
	int equal = 1;
	for (uint32_t i = 0; i < len; i++) {
		weight_sum += weights[i];
		equal &= weights[i] == weights[0];
		max = counts[i] > max ? counts[i] : max;
		sq += (counts[i] - mean) * (counts[i] - mean);
	}
	double bound = 1 + len * ht_share_tolerance(1.0 / len, points, HT_KEYS);
	if (equal)
		print_message("%s: max/mean %.4f (bound %.4f), stddev/mean %.4f\n", what,
			      max / mean, bound, sqrt(sq / len) / mean);
	else
		print_message("%s: node 1 share %.5f (expected %.5f)\n", what,
			      (double)counts[0] / HT_KEYS, weights[0] / weight_sum);
	if (equal && max / mean > bound)
		fail_msg("%s: max/mean %.4f > %.4f", what, max / mean, bound);
	for (uint32_t i = 0; i < len; i++) {
		double p = weights[i] / weight_sum;
		double share = (double)counts[i] / HT_KEYS;
		double tol = ht_share_tolerance(p, points, HT_KEYS);
		if (fabs(share - p) > tol)
			fail_msg("%s: node %u has share %.5f, expected %.5f +- %.5f",
				 what, i + 1, share, p, tol);
	}
}

static uint32_t drop_id(const uint32_t *in, uint32_t n, uint32_t id, uint32_t *out)
{
	uint32_t len = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (id == 0 || in[i] != id)
			out[len++] = in[i];
	}
	return len;
}

uint32_t ht_check_change(const char *what, const void *before, const void *after,
			 ht_lookup_fn lookup, uint32_t n, uint32_t added,
			 uint32_t removed, double expect_share, uint32_t points)
{
	uint64_t *keys = ht_key_hashes(HT_KEYS, ht_seed(what));
	uint32_t moved = 0;
	assert_true(n <= 16);
	for (uint32_t k = 0; k < HT_KEYS; k++) {
		uint32_t old_ids[16], new_ids[16], a[16], b[16];
		assert_int_equal(lookup(before, keys[k], old_ids, n), 0);
		assert_int_equal(lookup(after, keys[k], new_ids, n), 0);
		uint32_t a_len = drop_id(old_ids, n, removed, a);
		uint32_t b_len = drop_id(new_ids, n, added, b);
		uint32_t common = a_len < b_len ? a_len : b_len;
		if (memcmp(a, b, common * sizeof(*a)) != 0)
			fail_msg("%s: key #%u: replicas %u,... -> %u,... after +%u -%u",
				 what, k, old_ids[0], new_ids[0], added, removed);
		moved += old_ids[0] != new_ids[0];
	}
	free(keys);
	double frac = (double)moved / HT_KEYS;
	if (expect_share > 0) {
		double tol = ht_share_tolerance(expect_share, points, HT_KEYS);
		print_message("%s: moved %.5f of keys (expected %.5f +- %.5f)\n",
			      what, frac, expect_share, tol);
		if (fabs(frac - expect_share) > tol)
			fail_msg("%s: moved %.5f, expected %.5f +- %.5f", what, frac,
				 expect_share, tol);
	} else {
		print_message("%s: moved %.5f of keys\n", what, frac);
	}
	return moved;
}
