/* 2P-Set: local operations and error paths, "removed stays removed" against
 * a model, and the generic merge/convergence/codec properties. */
#include "sm_harness.h"

#include <errno.h>

#include "aegis/crdt_set.h"

#define SEED 0x2b5e0000ull
#define CAP 1024

SM_TYPE_OPS(twopset, aeg_twopset_init(o, CAP, CAP, TEST_ELEM_BYTES_MAX))

static int t_random_op(void *o, uint32_t replica, void *delta, struct prng *p)
{
	uint8_t e[TEST_ELEM_BYTES_MAX];
	size_t len = test_elem(test_pick(p, TEST_ELEMS), e);
	(void)replica;
	int rc = prng_below(p, 3) ? aeg_twopset_add(o, e, len, delta) :
				    aeg_twopset_remove(o, e, len, delta);
	return rc == -EPERM || rc == -ENOENT ? 1 : rc;
}

/* Converged: live and removed are disjoint, and nothing removed is live. */
static void t_check(const void *o, struct prng *p)
{
	const struct aeg_twopset *s = o;
	for (uint32_t i = 0; i < aeg_twopset_size(s); i++) {
		const uint8_t *e;
		size_t len;
		aeg_twopset_elem(s, i, &e, &len);
		CHECK(p, !aeg_twopset_removed(s, e, len));
	}
}

static const struct sm_type twopset_type = {
	SM_TYPE_FIELDS(twopset), t_random_op, t_check,
};

SM_PROPERTY_TESTS(twopset_type, SEED)

static void test_local(void **state)
{
	(void)state;
	struct aeg_twopset s, d;
	assert_int_equal(aeg_twopset_init(&s, 2, 1, 4), 0);
	assert_int_equal(aeg_twopset_init(&d, 1, 1, 4), 0);
	assert_int_equal(aeg_twopset_remove(&s, "a", 1, NULL), -ENOENT); /* never added */
	assert_int_equal(aeg_twopset_add(&s, "a", 1, &d), 0);
	assert_true(aeg_twopset_contains(&d, "a", 1));
	assert_int_equal(aeg_twopset_add(&s, "b", 1, NULL), 0);
	assert_int_equal(aeg_twopset_add(&s, "c", 1, NULL), -ENOSPC);
	assert_int_equal(aeg_twopset_add(&s, "abcde", 5, NULL), -EMSGSIZE);
	assert_int_equal(aeg_twopset_add(&s, "a", 1, &s), -EINVAL);
	assert_int_equal(aeg_twopset_remove(&s, "a", 1, &d), 0);
	/* The delta of a remove is just the tombstone. */
	assert_int_equal(aeg_twopset_size(&d), 0);
	assert_true(aeg_twopset_removed(&d, "a", 1));
	assert_false(aeg_twopset_contains(&s, "a", 1));
	assert_true(aeg_twopset_removed(&s, "a", 1));
	assert_int_equal(aeg_twopset_size(&s), 1);
	assert_int_equal(aeg_twopset_tombstones(&s), 1);
	/* Never re-added; removing again is a no-op. */
	assert_int_equal(aeg_twopset_add(&s, "a", 1, NULL), -EPERM);
	assert_int_equal(aeg_twopset_remove(&s, "a", 1, NULL), 0);
	/* Tombstone space is full: b cannot be removed, and stays. */
	assert_int_equal(aeg_twopset_remove(&s, "b", 1, NULL), -ENOSPC);
	assert_true(aeg_twopset_contains(&s, "b", 1));
	aeg_twopset_fini(&s);
	aeg_twopset_fini(&d);
}

/* Arguments that point into the set itself (from the accessors). */
static void test_aliasing(void **state)
{
	(void)state;
	struct aeg_twopset s, d;
	const uint8_t *e;
	size_t len;
	assert_int_equal(aeg_twopset_init(&s, 4, 4, 4), 0);
	assert_int_equal(aeg_twopset_init(&d, 1, 1, 4), 0);
	assert_int_equal(aeg_twopset_add(&s, "a", 1, NULL), 0);
	assert_int_equal(aeg_twopset_add(&s, "b", 1, NULL), 0);
	assert_int_equal(aeg_twopset_add(&s, "c", 1, &d), 0);
	aeg_twopset_elem(&s, 0, &e, &len);
	assert_int_equal(aeg_twopset_remove(&s, e, len, NULL), 0);
	assert_true(aeg_twopset_removed(&s, "a", 1));
	assert_false(aeg_twopset_removed(&s, "b", 1));
	assert_true(aeg_twopset_contains(&s, "b", 1));
	/* An element taken from the delta, re-used with the same delta. */
	aeg_twopset_elem(&d, 0, &e, &len);
	assert_int_equal(aeg_twopset_remove(&s, e, len, &d), 0);
	assert_true(aeg_twopset_removed(&s, "c", 1) && aeg_twopset_removed(&d, "c", 1));
	aeg_twopset_fini(&s);
	aeg_twopset_fini(&d);
}

static void test_merge_and_decode_errors(void **state)
{
	(void)state;
	struct aeg_twopset a, b;
	assert_int_equal(aeg_twopset_init(&a, 4, 1, 4), 0);
	assert_int_equal(aeg_twopset_init(&b, 4, 4, 4), 0);
	assert_int_equal(aeg_twopset_add(&a, "x", 1, NULL), 0);
	assert_int_equal(aeg_twopset_add(&b, "y", 1, NULL), 0);
	assert_int_equal(aeg_twopset_add(&b, "z", 1, NULL), 0);
	assert_int_equal(aeg_twopset_remove(&b, "y", 1, NULL), 0);
	assert_int_equal(aeg_twopset_remove(&b, "z", 1, NULL), 0);
	/* Two tombstones do not fit a: unchanged. */
	assert_int_equal(aeg_twopset_merge(&a, &b), -ENOSPC);
	assert_true(aeg_twopset_contains(&a, "x", 1));
	assert_int_equal(aeg_twopset_tombstones(&a), 0);
	/* A remove delta without the add still removes: tombstone wins. */
	assert_int_equal(aeg_twopset_merge(&b, &a), 0);
	assert_true(aeg_twopset_contains(&b, "x", 1));

	/* An element both live and removed is not a valid state. */
	const uint8_t both[] = { AEG_CRDT_TAG_TWOPSET, 1, 1, 1, 'q', 1, 1, 'q' };
	const uint8_t gset_bytes[] = { AEG_CRDT_TAG_GSET, 1, 0, 0 };
	assert_int_equal(aeg_twopset_decode(&b, both, sizeof(both)), -EINVAL);
	assert_int_equal(aeg_twopset_size(&b), 0);
	assert_int_equal(aeg_twopset_tombstones(&b), 0);
	assert_int_equal(aeg_twopset_decode(&b, gset_bytes, sizeof(gset_bytes)), -EINVAL);
	aeg_twopset_fini(&a);
	aeg_twopset_fini(&b);
}

/* Model: per replica the sets A (adds seen) and R (removes seen); an
 * element is present iff in A \ R, and once in R it is never present
 * again, whatever is merged in whatever order. */
static void test_semantics(void **state)
{
	(void)state;
	for (int round = 0; round < 60; round++) {
		struct prng p;
		struct aeg_twopset s[3];
		uint32_t added[3] = { 0 }, removed[3] = { 0 };
		prng_init_seed(&p, test_seed(0x2b5e7) + (uint64_t)round);
		for (int r = 0; r < 3; r++)
			assert_int_equal(aeg_twopset_init(&s[r], CAP, CAP, TEST_ELEM_BYTES_MAX), 0);
		for (int step = 0; step < 80; step++) {
			unsigned r = (unsigned)prng_below(&p, 3), k = (unsigned)prng_below(&p, TEST_ELEMS);
			uint8_t e[TEST_ELEM_BYTES_MAX];
			size_t len = test_elem(k, e);
			uint32_t bit = 1u << k;
			switch (prng_below(&p, 3)) {
			case 0: {
				int rc = aeg_twopset_add(&s[r], e, len, NULL);
				CHECK(&p, rc == ((removed[r] & bit) ? -EPERM : 0));
				if (rc == 0)
					added[r] |= bit;
				break;
			}
			case 1: {
				int rc = aeg_twopset_remove(&s[r], e, len, NULL);
				CHECK(&p, rc == (((added[r] | removed[r]) & bit) ? 0 : -ENOENT));
				if (rc == 0)
					removed[r] |= bit;
				break;
			}
			default: {
				unsigned from = (unsigned)prng_below(&p, 3);
				CHECK(&p, aeg_twopset_merge(&s[r], &s[from]) == 0);
				added[r] |= added[from];
				removed[r] |= removed[from];
				break;
			}
			}
			for (unsigned q = 0; q < 3; q++) {
				for (unsigned j = 0; j < TEST_ELEMS; j++) {
					len = test_elem(j, e);
					bool want = ((added[q] & ~removed[q]) >> j) & 1;
					CHECK(&p, aeg_twopset_contains(&s[q], e, len) == want);
					CHECK(&p, aeg_twopset_removed(&s[q], e, len) ==
						  ((removed[q] >> j) & 1));
				}
			}
		}
		for (int r = 0; r < 3; r++)
			aeg_twopset_fini(&s[r]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_aliasing),
		cmocka_unit_test(test_merge_and_decode_errors),
		cmocka_unit_test(test_semantics),
		SM_PROPERTY_TEST_LIST,
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
