/* G-Set: local operations, error paths, union semantics against a model,
 * and the generic merge/convergence/codec properties. */
#include "sm_harness.h"

#include <errno.h>

#include "aegis/crdt_set.h"

#define SEED 0x65e70000ull
#define CAP 1024

SM_TYPE_OPS(gset, aeg_gset_init(o, CAP, TEST_ELEM_BYTES_MAX))

static int t_random_op(void *o, uint32_t replica, void *delta, struct prng *p)
{
	uint8_t e[TEST_ELEM_BYTES_MAX];
	size_t len = test_elem(test_pick(p, TEST_ELEMS), e);
	(void)replica;
	return aeg_gset_add(o, e, len, delta);
}

static const struct sm_type gset_type = {
	SM_TYPE_FIELDS(gset), t_random_op, NULL,
};

SM_PROPERTY_TESTS(gset_type, SEED)

static void test_local(void **state)
{
	(void)state;
	struct aeg_gset s, d;
	uint8_t e[TEST_ELEM_BYTES_MAX];
	assert_int_equal(aeg_gset_init(&s, 3, 4), 0);
	assert_int_equal(aeg_gset_init(&d, 1, 4), 0);
	assert_false(aeg_gset_contains(&s, "", 0));
	assert_int_equal(aeg_gset_add(&s, "bb", 2, &d), 0);
	assert_int_equal(aeg_gset_add(&s, "a", 1, NULL), 0);
	assert_int_equal(aeg_gset_add(&s, "a", 1, NULL), 0); /* idempotent */
	assert_int_equal(aeg_gset_size(&s), 2);
	assert_true(aeg_gset_contains(&s, "bb", 2));
	assert_false(aeg_gset_contains(&s, "b", 1));
	assert_false(aeg_gset_contains(&s, NULL, 1));
	/* The delta holds just the added element. */
	assert_int_equal(aeg_gset_size(&d), 1);
	assert_true(aeg_gset_contains(&d, "bb", 2));
	/* Canonical order: shorter first. */
	const uint8_t *x;
	size_t len;
	aeg_gset_elem(&s, 0, &x, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(x, "a", 1);

	assert_int_equal(aeg_gset_add(&s, "abcde", 5, NULL), -EMSGSIZE);
	assert_int_equal(aeg_gset_add(&s, NULL, 1, NULL), -EINVAL);
	assert_int_equal(aeg_gset_add(&s, "x", 1, &s), -EINVAL);
	assert_int_equal(aeg_gset_add(&s, "", 0, NULL), 0);
	assert_int_equal(aeg_gset_add(&s, "c", 1, &d), -ENOSPC);
	assert_int_equal(aeg_gset_size(&s), 3);
	assert_true(aeg_gset_contains(&d, "bb", 2)); /* delta untouched on error */
	assert_int_equal(aeg_gset_size(&d), 1);
	(void)e;
	aeg_gset_fini(&s);
	aeg_gset_fini(&d);

	struct aeg_gset big;
	assert_int_equal(aeg_gset_init(&big, 1, AEG_CRDT_ELEM_BYTES_MAX + 1), -EINVAL);
	assert_int_equal(aeg_gset_init(&big, 0, 4), -EINVAL);
}

/* A prefix of an element already in the set, passed by pointer into it. */
static void test_aliasing(void **state)
{
	(void)state;
	struct aeg_gset s;
	const uint8_t *e;
	size_t len;
	assert_int_equal(aeg_gset_init(&s, 4, 4), 0);
	assert_int_equal(aeg_gset_add(&s, "b", 1, NULL), 0);
	assert_int_equal(aeg_gset_add(&s, "abc", 3, NULL), 0);
	assert_int_equal(aeg_gset_add(&s, "xyz", 3, NULL), 0);
	aeg_gset_elem(&s, 2, &e, &len);
	/* "xy" goes before "abc" and "xyz", which move under the pointer. */
	assert_int_equal(aeg_gset_add(&s, e, 2, NULL), 0);
	assert_true(aeg_gset_contains(&s, "xy", 2) && aeg_gset_contains(&s, "xyz", 3));
	assert_false(aeg_gset_contains(&s, "ab", 2));
	assert_int_equal(aeg_gset_size(&s), 4);
	aeg_gset_fini(&s);
}

static void test_merge_errors(void **state)
{
	(void)state;
	struct aeg_gset a, b, small, narrow;
	assert_int_equal(aeg_gset_init(&a, 8, 8), 0);
	assert_int_equal(aeg_gset_init(&b, 8, 8), 0);
	assert_int_equal(aeg_gset_init(&small, 2, 8), 0);
	assert_int_equal(aeg_gset_init(&narrow, 8, 2), 0);
	assert_int_equal(aeg_gset_add(&a, "a", 1, NULL), 0);
	assert_int_equal(aeg_gset_add(&a, "b", 1, NULL), 0);
	assert_int_equal(aeg_gset_add(&b, "long", 4, NULL), 0);
	assert_int_equal(aeg_gset_add(&small, "c", 1, NULL), 0);
	/* Full: unchanged. */
	assert_int_equal(aeg_gset_merge(&small, &a), -ENOSPC);
	assert_int_equal(aeg_gset_size(&small), 1);
	/* Element too long for the destination: unchanged. */
	assert_int_equal(aeg_gset_merge(&narrow, &a), 0);
	assert_int_equal(aeg_gset_merge(&narrow, &b), -EMSGSIZE);
	assert_int_equal(aeg_gset_size(&narrow), 2);
	/* Different slot sizes still merge and compare by content. */
	assert_int_equal(aeg_gset_merge(&b, &narrow), 0);
	assert_int_equal(aeg_gset_merge(&a, &b), 0);
	assert_true(aeg_gset_equal(&a, &b));
	assert_int_equal(aeg_gset_size(&a), 3);
	aeg_gset_fini(&a);
	aeg_gset_fini(&b);
	aeg_gset_fini(&small);
	aeg_gset_fini(&narrow);
}

static void test_decode_errors(void **state)
{
	(void)state;
	struct aeg_gset s;
	assert_int_equal(aeg_gset_init(&s, 2, 4), 0);
	const uint8_t unsorted[] = { AEG_CRDT_TAG_GSET, 1, 2, 1, 'b', 1, 'a' };
	const uint8_t dup[] = { AEG_CRDT_TAG_GSET, 1, 2, 1, 'a', 1, 'a' };
	const uint8_t too_many[] = { AEG_CRDT_TAG_GSET, 1, 3, 0, 1, 'a', 1, 'b' };
	const uint8_t too_long[] = { AEG_CRDT_TAG_GSET, 1, 1, 5, 'a', 'b', 'c', 'd', 'e' };
	const uint8_t bad_varint[] = { AEG_CRDT_TAG_GSET, 1, 0x81, 0x00 };
	const uint8_t ok[] = { AEG_CRDT_TAG_GSET, 1, 2, 0, 1, 'a', 0xff };
	assert_int_equal(aeg_gset_decode(&s, unsorted, sizeof(unsorted)), -EINVAL);
	assert_int_equal(aeg_gset_decode(&s, dup, sizeof(dup)), -EINVAL);
	assert_int_equal(aeg_gset_decode(&s, too_many, sizeof(too_many)), -ENOSPC);
	assert_int_equal(aeg_gset_decode(&s, too_long, sizeof(too_long)), -EMSGSIZE);
	assert_true(aeg_gset_decode(&s, bad_varint, sizeof(bad_varint)) < 0);
	assert_int_equal(aeg_gset_size(&s), 0);
	assert_int_equal(aeg_gset_decode(&s, ok, sizeof(ok)), (int)sizeof(ok) - 1);
	assert_true(aeg_gset_contains(&s, "", 0) && aeg_gset_contains(&s, "a", 1));
	assert_int_equal(aeg_gset_decode(&s, NULL, 0), -EMSGSIZE);
	aeg_gset_fini(&s);
}

/* Union semantics: at every step each replica holds exactly the elements
 * added at replicas whose history it has merged. */
static void test_semantics(void **state)
{
	(void)state;
	for (int round = 0; round < 40; round++) {
		struct prng p;
		struct aeg_gset s[3];
		uint32_t model[3] = { 0, 0, 0 };
		prng_init_seed(&p, test_seed(0x6e7001) + (uint64_t)round);
		for (int r = 0; r < 3; r++)
			assert_int_equal(aeg_gset_init(&s[r], CAP, TEST_ELEM_BYTES_MAX), 0);
		for (int step = 0; step < 60; step++) {
			unsigned r = (unsigned)prng_below(&p, 3), k = (unsigned)prng_below(&p, TEST_ELEMS);
			uint8_t e[TEST_ELEM_BYTES_MAX];
			if (prng_below(&p, 2)) {
				CHECK(&p, aeg_gset_add(&s[r], e, test_elem(k, e), NULL) == 0);
				model[r] |= 1u << k;
			} else {
				unsigned from = (unsigned)prng_below(&p, 3);
				CHECK(&p, aeg_gset_merge(&s[r], &s[from]) == 0);
				model[r] |= model[from];
			}
			for (unsigned q = 0; q < 3; q++)
				for (unsigned j = 0; j < TEST_ELEMS; j++)
					CHECK(&p, aeg_gset_contains(&s[q], e, test_elem(j, e)) ==
						  ((model[q] >> j) & 1));
		}
		for (int r = 0; r < 3; r++)
			aeg_gset_fini(&s[r]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_aliasing),
		cmocka_unit_test(test_merge_errors),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_semantics),
		SM_PROPERTY_TEST_LIST,
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
