/* Unit tests for jump consistent hash (lib/hash/jump.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/hash.h"
#include "hash_test.h"

#define BUCKETS 10

/* The jump "scheme" for the shared checks: bucket b is node id b + 1, the
 * bucket count is behind the pointer. Only n == 1 makes sense. */
static int jump_lookup(const void *buckets, uint64_t key_hash, uint32_t *out, uint32_t n)
{
	assert_int_equal(n, 1);
	int32_t b = aeg_jump_hash(key_hash, *(const int32_t *)buckets);
	if (b < 0)
		return b;
	out[0] = (uint32_t)b + 1;
	return 0;
}

static void test_errors(void **state)
{
	(void)state;
	assert_int_equal(aeg_jump_hash(1, 0), -EINVAL);
	assert_int_equal(aeg_jump_hash(1, -1), -EINVAL);
	assert_int_equal(aeg_jump_hash(1, INT32_MIN), -EINVAL);
	assert_int_equal(aeg_jump_hash(UINT64_MAX, 1), 0);
	int32_t b = aeg_jump_hash(UINT64_MAX, INT32_MAX);
	assert_true(b >= 0 && b < INT32_MAX);
}

/* Computed once from this implementation of the paper's code (key hash
 * aeg_hash_key("key-<i>", seed 0), then raw keys 0 and UINT64_MAX). */
static const struct {
	int32_t buckets;
	int32_t want[10];
} golden_jump[] = {
	{ 10, { 1, 7, 7, 0, 3, 7, 6, 2, 0, 9 } },
	{ 1000, { 535, 555, 197, 475, 579, 264, 162, 887, 0, 313 } },
	{ INT32_MAX, { 1605089823, 329404459, 1305315918, 131705229, 698378967,
		       1856040223, 141601965, 458132493, 0, 699554662 } },
};

static void test_golden(void **state)
{
	(void)state;
	int failed = 0;
	for (size_t g = 0; g < sizeof(golden_jump) / sizeof(golden_jump[0]); g++) {
		int32_t got[10];
		for (uint32_t i = 0; i < 8; i++) {
			char key[16];
			int len = snprintf(key, sizeof(key), "key-%u", i);
			got[i] = aeg_jump_hash(aeg_hash_key(key, (size_t)len, 0),
					       golden_jump[g].buckets);
		}
		got[8] = aeg_jump_hash(0, golden_jump[g].buckets);
		got[9] = aeg_jump_hash(UINT64_MAX, golden_jump[g].buckets);
		if (memcmp(got, golden_jump[g].want, sizeof(got)) == 0)
			continue;
		failed = 1;
		print_message("\t{ %d, { %d, %d, %d, %d, %d, %d, %d, %d, %d, %d } },\n",
			      golden_jump[g].buckets, got[0], got[1], got[2], got[3],
			      got[4], got[5], got[6], got[7], got[8], got[9]);
	}
	if (failed)
		fail_msg("jump differs from the golden table (actual values printed above)");
}

/* Independent vectors: ClickHouse's jumpConsistentHash tests
 * (00580_consistent_hashing_functions), which implement the paper's code. */
static void test_published_vectors(void **state)
{
	(void)state;
	assert_int_equal(aeg_jump_hash(1, 1), 0);
	assert_int_equal(aeg_jump_hash(42, 57), 43);
	assert_int_equal(aeg_jump_hash(256, 1024), 520);
	assert_int_equal(aeg_jump_hash(3735883980ull, 1), 0);
	assert_int_equal(aeg_jump_hash(3735883980ull, 666), 361);
	assert_int_equal(aeg_jump_hash(16045690984833335023ull, 255), 237);
}

/* Going from b to b + 1 buckets, a key either stays or moves to bucket b:
 * checked for every b up to 300 on random keys. */
static void test_grows_only_into_new_bucket(void **state)
{
	(void)state;
	struct prng rng;
	prng_init_seed(&rng, ht_seed("jump growth"));
	for (uint32_t k = 0; k < 3000; k++) {
		uint64_t key = prng_next(&rng);
		int32_t prev = aeg_jump_hash(key, 1);
		assert_int_equal(prev, 0);
		for (int32_t b = 2; b <= 300; b++) {
			int32_t now = aeg_jump_hash(key, b);
			assert_true(now == prev || now == b - 1);
			prev = now;
		}
	}
}

/* Balance, 10 buckets, 10^6 keys: each count is Binomial(10^6, 1/10),
 * relative std sqrt(9/10^6) = 0.003, so with k = HT_SIGMAS = 5,
 * max/mean <= 1 + 5 * 0.003 = 1.015. */
static void test_balance(void **state)
{
	(void)state;
	const uint32_t weights[BUCKETS] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	int32_t buckets = BUCKETS;
	ht_check_spread("jump balance", &buckets, jump_lookup, weights, BUCKETS, 0);
}

/* 10 -> 11 buckets moves keys only into the new bucket, 1/11 of them +-
 * 5 * sqrt((1/11)(10/11)/10^6) = +- 0.0014; 11 -> 10 moves only that
 * bucket's keys (jump can only grow or shrink at the end). */
static void test_grow_and_shrink(void **state)
{
	(void)state;
	int32_t b10 = BUCKETS, b11 = BUCKETS + 1;
	uint32_t grown = ht_check_change("jump grow", &b10, &b11, jump_lookup, 1,
					 BUCKETS + 1, 0, 1.0 / (BUCKETS + 1), 0);
	uint32_t shrunk = ht_check_change("jump shrink", &b11, &b10, jump_lookup, 1,
					  0, BUCKETS + 1, 1.0 / (BUCKETS + 1), 0);
	assert_int_equal(grown, shrunk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_grows_only_into_new_bucket),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_grow_and_shrink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
