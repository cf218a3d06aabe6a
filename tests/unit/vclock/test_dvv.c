/* Dotted version vectors: the write scenarios DVVs exist for, error paths,
 * and compare/join against a reference model of explicit event sets. */
#include "vclock_test_util.h"

#include <errno.h>

static void test_dot_in(void **state)
{
	(void)state;
	struct aeg_vclock vc;
	struct aeg_dot dot = { 4, 3 };

	aeg_vclock_init(&vc);
	assert_false(aeg_dot_in(&dot, &vc));
	assert_int_equal(aeg_vclock_set(&vc, 4, 2), 0);
	assert_false(aeg_dot_in(&dot, &vc));
	assert_int_equal(aeg_vclock_set(&vc, 4, 3), 0);
	assert_true(aeg_dot_in(&dot, &vc));
}

/* Two clients read the same version and write concurrently at one replica:
 * the two versions must stay concurrent (a plain version vector would say
 * the second obsoletes the first). A write whose context saw both
 * obsoletes both. */
static void test_concurrent_writes_same_context(void **state)
{
	(void)state;
	struct aeg_vclock node_clock, ctx, joined;
	struct aeg_dvv first, v1, v2, v3, v4;
	const uint32_t a = 10, b = 20;

	aeg_vclock_init(&node_clock);
	aeg_vclock_init(&ctx);
	assert_int_equal(aeg_dvv_event(&first, &node_clock, &ctx, a), 0);
	assert_int_equal(aeg_dvv_join(&first, &ctx), 0); /* both clients read this */

	assert_int_equal(aeg_dvv_event(&v1, &node_clock, &ctx, a), 0);
	assert_int_equal(aeg_dvv_event(&v2, &node_clock, &ctx, a), 0);
	assert_int_equal(v1.dot.node, a);
	assert_int_equal(v1.dot.counter, 2);
	assert_int_equal(v2.dot.counter, 3);
	assert_true(aeg_vclock_equal(&v1.past, &ctx) && aeg_vclock_equal(&v2.past, &ctx));
	assert_int_equal(aeg_dvv_compare(&v1, &v2), AEG_ORDER_CONCURRENT);
	assert_int_equal(aeg_dvv_compare(&v2, &v1), AEG_ORDER_CONCURRENT);
	assert_int_equal(aeg_dvv_compare(&first, &v1), AEG_ORDER_BEFORE);
	assert_int_equal(aeg_dvv_compare(&v2, &first), AEG_ORDER_AFTER);
	assert_int_equal(aeg_dvv_compare(&v2, &v2), AEG_ORDER_EQUAL);
	assert_int_equal(aeg_vclock_get(&node_clock, a), 3);

	/* A client that read both writes, at another replica. */
	struct aeg_vclock other_clock;
	aeg_vclock_init(&other_clock);
	assert_int_equal(aeg_dvv_join(&v1, &ctx), 0);
	assert_int_equal(aeg_dvv_join(&v2, &joined), 0);
	assert_int_equal(aeg_vclock_merge(&ctx, &joined), 0);
	assert_int_equal(aeg_dvv_event(&v3, &other_clock, &ctx, b), 0);
	assert_int_equal(aeg_dvv_compare(&v1, &v3), AEG_ORDER_BEFORE);
	assert_int_equal(aeg_dvv_compare(&v2, &v3), AEG_ORDER_BEFORE);
	assert_int_equal(aeg_dvv_compare(&v3, &v1), AEG_ORDER_AFTER);

	/* Why a context joins every sibling: v2 alone, folded, covers a2 (v1's
	 * dot) too, so a write with that context claims to obsolete v1. */
	struct aeg_dvv v5;
	struct aeg_vclock scratch_clock;
	aeg_vclock_init(&scratch_clock);
	assert_int_equal(aeg_dvv_event(&v5, &scratch_clock, &joined, b), 0);
	assert_int_equal(aeg_dvv_compare(&v1, &v5), AEG_ORDER_BEFORE);

	/* A client that saw only v1 writes at b: concurrent with v2, after v1. */
	assert_int_equal(aeg_dvv_join(&v1, &ctx), 0);
	assert_int_equal(aeg_dvv_event(&v4, &other_clock, &ctx, b), 0);
	assert_int_equal(v4.dot.counter, 2);
	assert_int_equal(aeg_dvv_compare(&v1, &v4), AEG_ORDER_BEFORE);
	assert_int_equal(aeg_dvv_compare(&v2, &v4), AEG_ORDER_CONCURRENT);
	assert_int_equal(aeg_dvv_compare(&v3, &v4), AEG_ORDER_CONCURRENT);
}

/* A context ahead of the replica's own clock (e.g. the replica lost state)
 * must not make the new dot collide with an event the client has seen. */
static void test_event_context_ahead_of_replica(void **state)
{
	(void)state;
	struct aeg_vclock node_clock, ctx;
	struct aeg_dvv d;

	aeg_vclock_init(&node_clock);
	aeg_vclock_init(&ctx);
	assert_int_equal(aeg_vclock_set(&ctx, 1, 5), 0);
	assert_int_equal(aeg_vclock_set(&ctx, 2, 7), 0);
	assert_int_equal(aeg_dvv_event(&d, &node_clock, &ctx, 1), 0);
	assert_int_equal(d.dot.counter, 6);
	assert_true(aeg_dvv_valid(&d));
	assert_int_equal(aeg_vclock_get(&node_clock, 1), 6);
	assert_int_equal(aeg_vclock_get(&node_clock, 2), 7);
	/* ctx may be out's own past. */
	assert_int_equal(aeg_dvv_event(&d, &node_clock, &d.past, 1), 0);
	assert_int_equal(d.dot.counter, 7);
	assert_int_equal(aeg_vclock_get(&d.past, 1), 5);
}

static void test_event_errors_leave_state(void **state)
{
	(void)state;
	struct aeg_vclock node_clock, ctx, copy;
	struct aeg_dvv d, d_copy;

	aeg_dvv_init(&d);
	d.dot = (struct aeg_dot){ 1, 1 };
	d_copy = d;
	aeg_vclock_init(&node_clock);
	aeg_vclock_init(&ctx);
	for (uint32_t i = 0; i < AEG_VCLOCK_NODES_MAX; i++)
		assert_int_equal(aeg_vclock_set(&ctx, 100 + i, 1), 0);
	assert_int_equal(aeg_vclock_set(&node_clock, 1, 1), 0);
	copy = node_clock;
	/* The merged clock would need 33 nodes. */
	assert_int_equal(aeg_dvv_event(&d, &node_clock, &ctx, 1), -ENOSPC);
	assert_memory_equal(&node_clock, &copy, sizeof(copy));
	assert_memory_equal(&d, &d_copy, sizeof(d));
	/* The counter would wrap. */
	assert_int_equal(aeg_vclock_set(&node_clock, 1, UINT64_MAX), 0);
	aeg_vclock_init(&ctx);
	copy = node_clock;
	assert_int_equal(aeg_dvv_event(&d, &node_clock, &ctx, 1), -EOVERFLOW);
	assert_memory_equal(&node_clock, &copy, sizeof(copy));
	assert_memory_equal(&d, &d_copy, sizeof(d));
	/* join: past full and the dot's node not in it. */
	d.past = copy;
	for (uint32_t i = 0; i < AEG_VCLOCK_NODES_MAX - 1; i++)
		assert_int_equal(aeg_vclock_set(&d.past, 100 + i, 1), 0);
	d.dot = (struct aeg_dot){ 7, 1 };
	assert_int_equal(aeg_dvv_join(&d, &ctx), -ENOSPC);
}

/* ---- reference model: a DVV as an explicit set of events ---------------- */

#define REF_NODES 4
#define REF_COUNTER_MAX 6 /* events (node, 1..6): 4 * 6 bits */

static uint32_t ref_bit(uint32_t node, uint64_t counter)
{
	return 1u << (node * REF_COUNTER_MAX + (uint32_t)counter - 1);
}

static uint32_t ref_events(const struct aeg_dvv *d)
{
	uint32_t set = 0;
	for (uint32_t n = 0; n < REF_NODES; n++) {
		for (uint64_t c = 1; c <= aeg_vclock_get(&d->past, n); c++)
			set |= ref_bit(n, c);
	}
	if (d->dot.counter != 0)
		set |= ref_bit(d->dot.node, d->dot.counter);
	return set;
}

static void random_small_dvv(struct prng *p, struct aeg_dvv *d)
{
	aeg_dvv_init(d);
	for (uint32_t n = 0; n < REF_NODES; n++)
		assert_int_equal(aeg_vclock_set(&d->past, n, prng_below(p, REF_COUNTER_MAX)), 0);
	uint32_t node = (uint32_t)prng_below(p, REF_NODES);
	uint64_t past = aeg_vclock_get(&d->past, node);
	if (prng_below(p, 4) != 0)
		d->dot = (struct aeg_dot){ node, past + 1 + prng_below(p, REF_COUNTER_MAX - past) };
	assert_true(aeg_dvv_valid(d));
}

static void test_compare_matches_event_sets(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_dvv a, b;
	struct aeg_vclock joined;

	prng_init(&p, 0xd0770001);
	for (int round = 0; round < 100000; round++) {
		random_small_dvv(&p, &a);
		if (prng_below(&p, 4) == 0)
			b = a; /* EQUAL must be reached */
		else
			random_small_dvv(&p, &b);
		uint32_t ea = ref_events(&a), eb = ref_events(&b);
		bool a_in_b = (ea & ~eb) == 0, b_in_a = (eb & ~ea) == 0;
		enum aeg_order want = a_in_b && b_in_a ? AEG_ORDER_EQUAL :
				      a_in_b ? AEG_ORDER_BEFORE :
				      b_in_a ? AEG_ORDER_AFTER : AEG_ORDER_CONCURRENT;
		CHECK(&p, aeg_dvv_compare(&a, &b) == want);
		/* join covers exactly past and the dot, plus any gap below it. */
		CHECK(&p, aeg_dvv_join(&a, &joined) == 0);
		CHECK(&p, aeg_vclock_valid(&joined) && aeg_vclock_descends(&joined, &a.past));
		CHECK(&p, a.dot.counter == 0 || aeg_dot_in(&a.dot, &joined));
		for (uint32_t n = 0; n < REF_NODES; n++) {
			uint64_t want_n = aeg_vclock_get(&a.past, n);
			if (a.dot.counter != 0 && a.dot.node == n)
				want_n = a.dot.counter;
			CHECK(&p, aeg_vclock_get(&joined, n) == want_n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot_in),
		cmocka_unit_test(test_concurrent_writes_same_context),
		cmocka_unit_test(test_event_context_ahead_of_replica),
		cmocka_unit_test(test_event_errors_leave_state),
		cmocka_unit_test(test_compare_matches_event_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
