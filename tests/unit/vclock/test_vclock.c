/* Vector clock operations: unit cases, algebraic properties on random
 * clocks, and happens-before against a reference model of random
 * distributed executions. */
#include "vclock_test_util.h"

#include <errno.h>

/* ---- reference: a clock as a dense array over test_nodes ---------------- */

static void to_dense(const struct aeg_vclock *vc, uint64_t out[TEST_NODES])
{
	for (int i = 0; i < TEST_NODES; i++)
		out[i] = aeg_vclock_get(vc, test_nodes[i]);
}

static enum aeg_order dense_compare(const uint64_t a[TEST_NODES], const uint64_t b[TEST_NODES])
{
	bool a_less = false, b_less = false;
	for (int i = 0; i < TEST_NODES; i++) {
		a_less |= a[i] < b[i];
		b_less |= a[i] > b[i];
	}
	if (a_less && b_less)
		return AEG_ORDER_CONCURRENT;
	return a_less ? AEG_ORDER_BEFORE : b_less ? AEG_ORDER_AFTER : AEG_ORDER_EQUAL;
}

static enum aeg_order mirror(enum aeg_order o)
{
	if (o == AEG_ORDER_BEFORE)
		return AEG_ORDER_AFTER;
	if (o == AEG_ORDER_AFTER)
		return AEG_ORDER_BEFORE;
	return o;
}

/* ---- unit cases ---------------------------------------------------------- */

static void test_set_get_increment(void **state)
{
	(void)state;
	struct aeg_vclock vc;
	uint64_t c = 0;

	aeg_vclock_init(&vc);
	assert_int_equal(aeg_vclock_get(&vc, 7), 0);
	assert_int_equal(aeg_vclock_increment(&vc, 7, &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(aeg_vclock_increment(&vc, 3, NULL), 0);
	assert_int_equal(aeg_vclock_set(&vc, 5, 9), 0);
	assert_int_equal(vc.len, 3);
	assert_int_equal(vc.entries[0].node, 3);
	assert_int_equal(vc.entries[1].node, 5);
	assert_int_equal(vc.entries[2].node, 7);
	assert_int_equal(aeg_vclock_get(&vc, 5), 9);
	/* Setting 0 removes the entry: one representation per clock. */
	assert_int_equal(aeg_vclock_set(&vc, 5, 0), 0);
	assert_int_equal(vc.len, 2);
	assert_int_equal(aeg_vclock_get(&vc, 5), 0);
	assert_int_equal(aeg_vclock_set(&vc, 99, 0), 0);
	assert_int_equal(vc.len, 2);
	assert_true(aeg_vclock_valid(&vc));
}

static void test_full_and_overflow(void **state)
{
	(void)state;
	struct aeg_vclock vc, copy;

	aeg_vclock_init(&vc);
	for (uint32_t i = 0; i < AEG_VCLOCK_NODES_MAX; i++)
		assert_int_equal(aeg_vclock_increment(&vc, 1000 - i, NULL), 0);
	assert_true(aeg_vclock_valid(&vc));
	copy = vc;
	assert_int_equal(aeg_vclock_increment(&vc, 5, NULL), -ENOSPC);
	assert_int_equal(aeg_vclock_set(&vc, 5, 1), -ENOSPC);
	assert_memory_equal(&vc, &copy, sizeof(vc));
	/* Existing nodes still work when full. */
	assert_int_equal(aeg_vclock_increment(&vc, 1000, NULL), 0);
	assert_int_equal(aeg_vclock_get(&vc, 1000), 2);

	assert_int_equal(aeg_vclock_set(&vc, 1000, UINT64_MAX), 0);
	copy = vc;
	uint64_t c = 42;
	assert_int_equal(aeg_vclock_increment(&vc, 1000, &c), -EOVERFLOW);
	assert_int_equal(c, 42);
	assert_memory_equal(&vc, &copy, sizeof(vc));
}

static void test_merge_enospc_leaves_dst(void **state)
{
	(void)state;
	struct aeg_vclock a, b, copy;

	aeg_vclock_init(&a);
	aeg_vclock_init(&b);
	for (uint32_t i = 0; i < AEG_VCLOCK_NODES_MAX; i++)
		assert_int_equal(aeg_vclock_set(&a, 2 * i, i + 1), 0);
	/* b's nodes overlap a's except one: the union is 33. */
	assert_int_equal(aeg_vclock_set(&b, 0, 100), 0);
	assert_int_equal(aeg_vclock_set(&b, 7, 1), 0);
	copy = a;
	assert_int_equal(aeg_vclock_merge(&a, &b), -ENOSPC);
	assert_memory_equal(&a, &copy, sizeof(a));
	/* A union of exactly 32 fits. */
	assert_int_equal(aeg_vclock_set(&b, 7, 0), 0);
	assert_int_equal(aeg_vclock_merge(&a, &b), 0);
	assert_int_equal(a.len, AEG_VCLOCK_NODES_MAX);
	assert_int_equal(aeg_vclock_get(&a, 0), 100);
	assert_true(aeg_vclock_valid(&a));
}

static void test_compare_basic(void **state)
{
	(void)state;
	struct aeg_vclock a, b;

	aeg_vclock_init(&a);
	aeg_vclock_init(&b);
	assert_int_equal(aeg_vclock_compare(&a, &b), AEG_ORDER_EQUAL);
	assert_int_equal(aeg_vclock_increment(&b, 1, NULL), 0);
	assert_int_equal(aeg_vclock_compare(&a, &b), AEG_ORDER_BEFORE);
	assert_int_equal(aeg_vclock_compare(&b, &a), AEG_ORDER_AFTER);
	assert_int_equal(aeg_vclock_increment(&a, 2, NULL), 0);
	assert_int_equal(aeg_vclock_compare(&a, &b), AEG_ORDER_CONCURRENT);
	assert_false(aeg_vclock_descends(&a, &b));
	assert_int_equal(aeg_vclock_merge(&a, &b), 0);
	assert_true(aeg_vclock_descends(&a, &b));
	assert_false(aeg_vclock_equal(&a, &b));
	assert_int_equal(aeg_vclock_compare(&a, &b), AEG_ORDER_AFTER);
}

/* ---- properties on random clocks ---------------------------------------- */

#define RANDOM_ROUNDS 20000

static void test_compare_matches_reference(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_vclock a, b;
	uint64_t da[TEST_NODES], db[TEST_NODES];

	prng_init(&p, 0xc0ffee01);
	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		random_vclock(&p, &a);
		b = a;
		/* Half the time b is a small edit of a, so that BEFORE/AFTER/EQUAL
		 * are common, not only CONCURRENT. */
		if (prng_below(&p, 2) == 0)
			random_vclock(&p, &b);
		else if (prng_below(&p, 3) != 0)
			CHECK(&p, aeg_vclock_set(&b, test_nodes[prng_below(&p, TEST_NODES)],
						 prng_below(&p, 6)) == 0);
		to_dense(&a, da);
		to_dense(&b, db);
		enum aeg_order ab = aeg_vclock_compare(&a, &b), ba = aeg_vclock_compare(&b, &a);
		CHECK(&p, ab == dense_compare(da, db));
		/* Antisymmetry: BEFORE iff the mirror is AFTER; the others symmetric. */
		CHECK(&p, ba == mirror(ab));
		CHECK(&p, aeg_vclock_equal(&a, &b) == (ab == AEG_ORDER_EQUAL));
		CHECK(&p, aeg_vclock_descends(&a, &b) == (ab == AEG_ORDER_AFTER || ab == AEG_ORDER_EQUAL));
	}
}

/* c descends from a and from b: a random upper bound of both. */
static void random_upper_bound(struct prng *p, const struct aeg_vclock *a,
			       const struct aeg_vclock *b, struct aeg_vclock *c)
{
	*c = *a;
	assert_int_equal(aeg_vclock_merge(c, b), 0);
	for (int k = (int)prng_below(p, 3); k > 0; k--) {
		uint32_t node = test_nodes[prng_below(p, TEST_NODES)];
		uint64_t v = aeg_vclock_get(c, node);
		if (v < UINT64_MAX)
			assert_int_equal(aeg_vclock_set(c, node, v + 1), 0);
	}
}

static void test_merge_is_least_upper_bound(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_vclock a, b, c, m, m2, t;

	prng_init(&p, 0xc0ffee02);
	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		random_vclock(&p, &a);
		random_vclock(&p, &b);
		random_vclock(&p, &c);
		m = a;
		CHECK(&p, aeg_vclock_merge(&m, &b) == 0);
		CHECK(&p, aeg_vclock_valid(&m));
		CHECK(&p, aeg_vclock_descends(&m, &a) && aeg_vclock_descends(&m, &b));
		for (int i = 0; i < TEST_NODES; i++) {
			uint64_t va = aeg_vclock_get(&a, test_nodes[i]);
			uint64_t vb = aeg_vclock_get(&b, test_nodes[i]);
			CHECK(&p, aeg_vclock_get(&m, test_nodes[i]) == (va > vb ? va : vb));
		}
		/* Least: whatever descends from both descends from the merge, and
		 * (checked on a random c too) nothing else does. */
		random_upper_bound(&p, &a, &b, &t);
		CHECK(&p, aeg_vclock_descends(&t, &m));
		CHECK(&p, aeg_vclock_descends(&c, &m) ==
			  (aeg_vclock_descends(&c, &a) && aeg_vclock_descends(&c, &b)));
		/* Commutative, associative, idempotent. */
		m2 = b;
		CHECK(&p, aeg_vclock_merge(&m2, &a) == 0);
		CHECK(&p, aeg_vclock_equal(&m, &m2));
		CHECK(&p, aeg_vclock_merge(&m2, &c) == 0); /* (b + a) + c */
		t = b;
		CHECK(&p, aeg_vclock_merge(&t, &c) == 0);
		CHECK(&p, aeg_vclock_merge(&t, &a) == 0); /* (b + c) + a */
		CHECK(&p, aeg_vclock_equal(&m2, &t));
		t = m;
		CHECK(&p, aeg_vclock_merge(&t, &m) == 0);
		CHECK(&p, aeg_vclock_equal(&t, &m));
		CHECK(&p, aeg_vclock_merge(&t, &a) == 0);
		CHECK(&p, aeg_vclock_equal(&t, &m));
	}
}

/* ---- happens-before against explicit reachability ----------------------- */

#define PROCS_MAX 6
#define EVENTS_MAX 96
#define EXECUTIONS 2000
#define WORDS ((EVENTS_MAX + 63) / 64)

struct execution {
	struct aeg_vclock clock[EVENTS_MAX];
	uint64_t past[EVENTS_MAX][WORDS]; /* strict causal past, by reachability */
	int last[PROCS_MAX];              /* last event of each process, -1 if none */
	int in_flight[EVENTS_MAX];        /* send events whose message is undelivered */
	int in_flight_len;
	int len;
};

static void past_add_event_and_past(struct execution *x, int e, int pred)
{
	x->past[e][pred / 64] |= 1ull << (pred % 64);
	for (int w = 0; w < WORDS; w++)
		x->past[e][w] |= x->past[pred][w];
}

static bool in_past(const struct execution *x, int e, int of)
{
	return (x->past[of][e / 64] >> (e % 64)) & 1;
}

/* One event at process `proc` (node id `node`): local, send or receive. */
static void execute_one(struct prng *p, struct execution *x, int proc, uint32_t node)
{
	int e = x->len++;
	int prev = x->last[proc];
	int kind = (int)prng_below(p, 3); /* 0 local, 1 send, 2 receive */

	memset(x->past[e], 0, sizeof(x->past[e]));
	if (prev >= 0) {
		x->clock[e] = x->clock[prev];
		past_add_event_and_past(x, e, prev);
	} else {
		aeg_vclock_init(&x->clock[e]);
	}
	if (kind == 2 && x->in_flight_len > 0) {
		/* Random delivery order: any undelivered message. */
		int k = (int)prng_below(p, (uint64_t)x->in_flight_len);
		int send = x->in_flight[k];
		x->in_flight[k] = x->in_flight[--x->in_flight_len];
		CHECK(p, aeg_vclock_merge(&x->clock[e], &x->clock[send]) == 0);
		past_add_event_and_past(x, e, send);
	}
	CHECK(p, aeg_vclock_increment(&x->clock[e], node, NULL) == 0);
	if (kind == 1)
		x->in_flight[x->in_flight_len++] = e;
	x->last[proc] = e;
}

static void test_happens_before_matches_reachability(void **state)
{
	(void)state;
	static struct execution x;
	struct prng p;
	uint32_t node_of[PROCS_MAX];
	uint64_t seen[4] = { 0 }; /* pairs per expected order */

	prng_init(&p, 0xc0ffee03);
	for (int run = 0; run < EXECUTIONS; run++) {
		int procs = 2 + (int)prng_below(&p, PROCS_MAX - 1);
		int events = 1 + (int)prng_below(&p, EVENTS_MAX);
		x.len = 0;
		x.in_flight_len = 0;
		for (int i = 0; i < procs; i++) {
			x.last[i] = -1;
			/* Distinct node ids in random order (test_nodes are distinct). */
			node_of[i] = test_nodes[(i * 5 + run) % TEST_NODES];
		}
		while (x.len < events) {
			int proc = (int)prng_below(&p, (uint64_t)procs);
			execute_one(&p, &x, proc, node_of[proc]);
		}
		for (int e1 = 0; e1 < x.len; e1++) {
			for (int e2 = 0; e2 < x.len; e2++) {
				enum aeg_order want = e1 == e2 ? AEG_ORDER_EQUAL :
					in_past(&x, e1, e2) ? AEG_ORDER_BEFORE :
					in_past(&x, e2, e1) ? AEG_ORDER_AFTER : AEG_ORDER_CONCURRENT;
				CHECK(&p, aeg_vclock_compare(&x.clock[e1], &x.clock[e2]) == want);
				seen[want]++;
			}
		}
	}
	/* Messages made cross-process orders, not only concurrency. */
	CHECK(&p, seen[AEG_ORDER_BEFORE] > 100000 && seen[AEG_ORDER_CONCURRENT] > 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_increment),
		cmocka_unit_test(test_full_and_overflow),
		cmocka_unit_test(test_merge_enospc_leaves_dst),
		cmocka_unit_test(test_compare_basic),
		cmocka_unit_test(test_compare_matches_reference),
		cmocka_unit_test(test_merge_is_least_upper_bound),
		cmocka_unit_test(test_happens_before_matches_reachability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
