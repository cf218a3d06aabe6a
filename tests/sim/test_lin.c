/* The linearizability checker must accept linearizable histories and
 * reject the others; each case is a small history of one register. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define NONE UINT64_MAX

static struct sim_op put(uint64_t v, uint64_t t0, uint64_t t1)
{
	return (struct sim_op){ .kind = OP_PUT, .value = v, .invoke_t = t0,
				.return_t = t1, .ok = t1 != NONE };
}

static struct sim_op get(uint64_t v, uint64_t t0, uint64_t t1)
{
	return (struct sim_op){ .kind = OP_GET, .value = v, .invoke_t = t0, .return_t = t1, .ok = true };
}

static int check(const struct sim_op *ops, uint32_t n)
{
	uint64_t steps = 0;
	return lin_check_key(ops, n, 0, 10000000, &steps);
}

static void test_sequential(void **state)
{
	(void)state;
	struct sim_op h[] = { put(1, 0, 1), get(1, 2, 3), put(2, 4, 5), get(2, 6, 7) };
	assert_int_equal(check(h, 4), 1);
}

static void test_stale_read_rejected(void **state)
{
	(void)state;
	/* put(2) finished before the get began: reading 1 is stale. */
	struct sim_op h[] = { put(1, 0, 1), put(2, 2, 3), get(1, 4, 5) };
	assert_int_equal(check(h, 3), 0);
}

static void test_concurrent_either_order(void **state)
{
	(void)state;
	struct sim_op a[] = { put(1, 0, 10), get(0, 1, 2), get(1, 3, 4) };
	assert_int_equal(check(a, 3), 1);
	/* ...but not back and forth. */
	struct sim_op b[] = { put(1, 0, 10), get(1, 1, 2), get(0, 3, 4) };
	assert_int_equal(check(b, 3), 0);
}

static void test_unanswered_put_may_or_may_not_happen(void **state)
{
	(void)state;
	struct sim_op seen[] = { put(1, 0, NONE), get(1, 5, 6) };
	assert_int_equal(check(seen, 2), 1);
	struct sim_op unseen[] = { put(1, 0, NONE), get(0, 5, 6) };
	assert_int_equal(check(unseen, 2), 1);
	struct sim_op never[] = { put(1, 0, 1), get(7, 5, 6) };
	assert_int_equal(check(never, 2), 0);
}

static void test_failed_put_left_out(void **state)
{
	(void)state;
	struct sim_op h[] = { put(1, 0, 1), put(2, 2, 3), get(1, 4, 5) };
	h[1].failed = true;
	assert_int_equal(check(h, 3), 1);
}

static void test_many_concurrent_ops(void **state)
{
	(void)state;
	/* 14 overlapping puts (unanswered ones overlap everything after them)
	 * and a final read of one of them: the cache bounds the search by the
	 * 2^14 subsets instead of 14! orders. */
	struct sim_op h[15];
	for (int i = 0; i < 14; i++)
		h[i] = put((uint64_t)i + 1, (uint64_t)i, i % 2 ? NONE : 1000 + (uint64_t)i);
	h[14] = get(5, 2000, 2001);
	assert_int_equal(check(h, 15), 1);
	h[14] = get(99, 2000, 2001);
	assert_int_equal(check(h, 15), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_stale_read_rejected),
		cmocka_unit_test(test_concurrent_either_order),
		cmocka_unit_test(test_unanswered_put_may_or_may_not_happen),
		cmocka_unit_test(test_failed_put_left_out),
		cmocka_unit_test(test_many_concurrent_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
