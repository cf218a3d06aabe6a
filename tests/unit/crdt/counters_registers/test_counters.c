/* G-Counter and PN-Counter: error paths, overflow, codec edge cases, and
 * the property harness with a reference model (the value equals the sum of
 * the increments minus the decrements a replica has seen). */
#include "harness.h"

#include "aegis/crdt_counter.h"

#define REPLICAS_CAP 8

/* ---- reference model ----------------------------------------------------- */

struct cnt_model {
	uint32_t replicas;
	uint32_t ids[H_REPLICAS_MAX]; /* sparse random replica ids */
	uint32_t origin[H_OPS_MAX];
	int64_t amount[H_OPS_MAX];    /* negative: a decrement */
};

static void cnt_model_reset(void *model, uint32_t replicas, struct prng *rng)
{
	struct cnt_model *m = model;
	memset(m, 0, sizeof(*m));
	m->replicas = replicas;
	h_random_ids(rng, m->ids, replicas);
}

/* Sum of the known ops, of one origin replica's only if `origin` != NULL,
 * of the decrements only if negative_only. */
static int64_t cnt_model_sum_of(const struct cnt_model *m, uint64_t known, bool negative_only,
				const uint32_t *origin)
{
	int64_t sum = 0;
	for (uint32_t i = 0; i < H_OPS_MAX; i++) {
		if ((known >> i & 1) && (!negative_only || m->amount[i] < 0) &&
		    (origin == NULL || m->origin[i] == *origin))
			sum += m->amount[i];
	}
	return sum;
}

static int64_t cnt_model_sum(const struct cnt_model *m, uint64_t known, bool negative_only)
{
	return cnt_model_sum_of(m, known, negative_only, NULL);
}

/* ---- G-Counter plug-in --------------------------------------------------- */

static int gc_random_op(void *obj, uint32_t replica, struct prng *rng, void *delta, void *model,
			uint32_t op_id)
{
	struct cnt_model *m = model;
	uint64_t n = 1 + prng_below(rng, 1000);
	m->origin[op_id] = m->ids[replica];
	m->amount[op_id] = (int64_t)n;
	return aeg_gcounter_increment(obj, m->ids[replica], n, delta);
}

/* The value, and each replica's own count. */
static bool gc_check(const void *obj, const void *model, uint64_t known)
{
	const struct cnt_model *m = model;
	uint64_t v;
	bool ok = aeg_gcounter_value(obj, &v) == 0 && (int64_t)v == cnt_model_sum(m, known, false);
	for (uint32_t r = 0; r < m->replicas && ok; r++) {
		int64_t own = cnt_model_sum_of(m, known, false, &m->ids[r]);
		ok = aeg_gcounter_get(obj, m->ids[r]) == (uint64_t)own;
	}
	return ok;
}

H_DEFINE_TYPE(gcounter_type, gcounter, aeg_gcounter_init(o, REPLICAS_CAP),
	      gc_random_op, gc_check, cnt_model_reset);

/* ---- PN-Counter plug-in -------------------------------------------------- */

static int pn_random_op(void *obj, uint32_t replica, struct prng *rng, void *delta, void *model,
			uint32_t op_id)
{
	struct cnt_model *m = model;
	uint64_t n = 1 + prng_below(rng, 1000);
	bool dec = prng_below(rng, 2) == 0;
	m->origin[op_id] = m->ids[replica];
	m->amount[op_id] = dec ? -(int64_t)n : (int64_t)n;
	if (dec)
		return aeg_pncounter_decrement(obj, m->ids[replica], n, delta);
	return aeg_pncounter_increment(obj, m->ids[replica], n, delta);
}

static bool pn_check(const void *obj, const void *model, uint64_t known)
{
	const struct aeg_pncounter *pn = obj;
	int64_t v;
	uint64_t n;
	return aeg_pncounter_value(pn, &v) == 0 && v == cnt_model_sum(model, known, false) &&
	       aeg_gcounter_value(&pn->n, &n) == 0 &&
	       (int64_t)n == -cnt_model_sum(model, known, true);
}

H_DEFINE_TYPE(pncounter_type, pncounter, aeg_pncounter_init(o, REPLICAS_CAP),
	      pn_random_op, pn_check, cnt_model_reset);

static void test_gcounter_properties(void **state)
{
	(void)state;
	struct cnt_model model;
	h_run_scenarios(&gcounter_type, &model, 2000);
}

static void test_pncounter_properties(void **state)
{
	(void)state;
	struct cnt_model model;
	h_run_scenarios(&pncounter_type, &model, 2000);
}

/* ---- G-Counter unit tests ------------------------------------------------ */

static void test_gcounter_basic(void **state)
{
	(void)state;
	struct aeg_gcounter gc, delta;
	assert_int_equal(aeg_gcounter_init(&gc, 0), -EINVAL);
	assert_int_equal(aeg_gcounter_init(&gc, 3), 0);
	assert_int_equal(aeg_gcounter_init(&delta, 1), 0);
	assert_int_equal(aeg_gcounter_increment(&gc, 9, 0, NULL), -EINVAL);
	assert_int_equal(aeg_gcounter_increment(&gc, 9, 5, &delta), 0);
	assert_int_equal(aeg_gcounter_increment(&gc, 2, 1, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&gc, 9, 2, &delta), 0);
	/* The delta is the one changed entry with its new count. */
	assert_int_equal(delta.len, 1);
	assert_int_equal(delta.entries[0].replica, 9);
	assert_int_equal(delta.entries[0].count, 7);
	assert_int_equal(aeg_gcounter_increment(&gc, 5, 1, NULL), 0);
	assert_int_equal(gc.entries[0].replica, 2);
	assert_int_equal(gc.entries[1].replica, 5);
	assert_int_equal(gc.entries[2].replica, 9);
	/* Full: a fourth replica is refused and nothing changes. */
	assert_int_equal(aeg_gcounter_increment(&gc, 7, 1, &delta), -ENOSPC);
	assert_int_equal(gc.len, 3);
	assert_int_equal(aeg_gcounter_get(&gc, 7), 0);
	assert_int_equal(aeg_gcounter_get(&gc, 9), 7);
	uint64_t v;
	assert_int_equal(aeg_gcounter_value(&gc, &v), 0);
	assert_int_equal(v, 9);
	aeg_gcounter_fini(&gc);
	aeg_gcounter_fini(&delta);
}

static void test_gcounter_overflow(void **state)
{
	(void)state;
	struct aeg_gcounter gc;
	uint64_t v;
	assert_int_equal(aeg_gcounter_init(&gc, 2), 0);
	assert_int_equal(aeg_gcounter_increment(&gc, 1, UINT64_MAX - 1, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&gc, 1, 2, NULL), -EOVERFLOW);
	assert_int_equal(aeg_gcounter_get(&gc, 1), UINT64_MAX - 1);
	assert_int_equal(aeg_gcounter_increment(&gc, 1, 1, NULL), 0);
	assert_int_equal(aeg_gcounter_value(&gc, &v), 0);
	assert_true(v == UINT64_MAX);
	/* The sum no longer fits: an error, not a saturated value. */
	assert_int_equal(aeg_gcounter_increment(&gc, 2, 1, NULL), 0);
	v = 42;
	assert_int_equal(aeg_gcounter_value(&gc, &v), -EOVERFLOW);
	assert_int_equal(v, 42);
	aeg_gcounter_fini(&gc);
}

static void test_gcounter_merge(void **state)
{
	(void)state;
	struct aeg_gcounter a, b, small;
	assert_int_equal(aeg_gcounter_init(&a, 4), 0);
	assert_int_equal(aeg_gcounter_init(&b, 4), 0);
	assert_int_equal(aeg_gcounter_init(&small, 2), 0);
	assert_int_equal(aeg_gcounter_increment(&a, 1, 10, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&a, 3, 1, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&b, 2, 4, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&b, 3, 6, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&b, 4, 1, NULL), 0);
	assert_int_equal(aeg_gcounter_increment(&small, 3, 2, NULL), 0);
	/* Pointwise max, not sum. */
	assert_int_equal(aeg_gcounter_merge(&a, &b), 0);
	assert_int_equal(a.len, 4);
	assert_int_equal(aeg_gcounter_get(&a, 1), 10);
	assert_int_equal(aeg_gcounter_get(&a, 2), 4);
	assert_int_equal(aeg_gcounter_get(&a, 3), 6);
	assert_int_equal(aeg_gcounter_get(&a, 4), 1);
	/* Union larger than the capacity: refused, dst unchanged. */
	assert_int_equal(aeg_gcounter_merge(&small, &a), -ENOSPC);
	assert_int_equal(small.len, 1);
	assert_int_equal(aeg_gcounter_get(&small, 3), 2);
	assert_int_equal(aeg_gcounter_merge(NULL, &a), -EINVAL);
	aeg_gcounter_fini(&a);
	aeg_gcounter_fini(&b);
	aeg_gcounter_fini(&small);
}

static void test_gcounter_decode_errors(void **state)
{
	(void)state;
	struct aeg_gcounter gc;
	assert_int_equal(aeg_gcounter_init(&gc, 2), 0);
	const uint8_t ok[] = { AEG_CRDT_TAG_GCOUNTER, 1, 2, 5, 1, 1, 7 };
	assert_int_equal(aeg_gcounter_decode(&gc, ok, sizeof(ok)), sizeof(ok));
	assert_int_equal(aeg_gcounter_get(&gc, 5), 1);
	assert_int_equal(aeg_gcounter_get(&gc, 6), 7);
	const uint8_t tag[] = { AEG_CRDT_TAG_PNCOUNTER, 1, 0, 0 };
	assert_int_equal(aeg_gcounter_decode(&gc, tag, sizeof(tag)), -EINVAL);
	assert_int_equal(gc.len, 0);
	const uint8_t format[] = { AEG_CRDT_TAG_GCOUNTER, 2, 0 };
	assert_int_equal(aeg_gcounter_decode(&gc, format, sizeof(format)), -EINVAL);
	const uint8_t too_many[] = { AEG_CRDT_TAG_GCOUNTER, 1, 3, 1, 1, 1, 1, 1, 1 };
	assert_int_equal(aeg_gcounter_decode(&gc, too_many, sizeof(too_many)), -ENOSPC);
	const uint8_t zero_count[] = { AEG_CRDT_TAG_GCOUNTER, 1, 1, 1, 0 };
	assert_int_equal(aeg_gcounter_decode(&gc, zero_count, sizeof(zero_count)), -EINVAL);
	const uint8_t non_minimal[] = { AEG_CRDT_TAG_GCOUNTER, 1, 1, 0x81, 0x00, 1 };
	assert_int_equal(aeg_gcounter_decode(&gc, non_minimal, sizeof(non_minimal)), -EINVAL);
	/* Second replica = 0xffffffff + 1 does not fit 32 bits. */
	const uint8_t wrap[] = { AEG_CRDT_TAG_GCOUNTER, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1, 1 };
	assert_int_equal(aeg_gcounter_decode(&gc, wrap, sizeof(wrap)), -EINVAL);
	const uint8_t dup[] = { AEG_CRDT_TAG_GCOUNTER, 1, 2, 4, 1, 0, 1 };
	assert_int_equal(aeg_gcounter_decode(&gc, dup, sizeof(dup)), -EINVAL);
	assert_int_equal(aeg_gcounter_decode(&gc, wrap, sizeof(wrap)), -EINVAL);
	assert_int_equal(gc.len, 0);
	assert_int_equal(aeg_gcounter_decode(&gc, NULL, 0), -EMSGSIZE);
	aeg_gcounter_fini(&gc);
}

/* ---- PN-Counter unit tests ----------------------------------------------- */

static void test_pncounter_value_bounds(void **state)
{
	(void)state;
	struct aeg_pncounter pn, delta;
	int64_t v;
	assert_int_equal(aeg_pncounter_init(&pn, 2), 0);
	assert_int_equal(aeg_pncounter_init(&delta, 1), 0);
	assert_int_equal(aeg_pncounter_increment(&pn, 1, 5, &delta), 0);
	assert_int_equal(aeg_pncounter_decrement(&pn, 1, 8, &delta), 0);
	/* A decrement's delta carries only N. */
	assert_int_equal(delta.p.len, 0);
	assert_int_equal(delta.n.len, 1);
	assert_int_equal(aeg_pncounter_value(&pn, &v), 0);
	assert_int_equal(v, -3);
	/* Exactly INT64_MIN fits. */
	assert_int_equal(aeg_pncounter_decrement(&pn, 2, (1ull << 63) - 3, NULL), 0);
	assert_int_equal(aeg_pncounter_value(&pn, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(aeg_pncounter_decrement(&pn, 2, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_value(&pn, &v), -EOVERFLOW);
	aeg_pncounter_clear(&pn);
	assert_int_equal(aeg_pncounter_increment(&pn, 2, INT64_MAX, NULL), 0);
	assert_int_equal(aeg_pncounter_value(&pn, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(aeg_pncounter_increment(&pn, 1, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_value(&pn, &v), -EOVERFLOW);
	aeg_pncounter_fini(&pn);
	aeg_pncounter_fini(&delta);
}

static void test_pncounter_merge_atomic(void **state)
{
	(void)state;
	struct aeg_pncounter a, b;
	assert_int_equal(aeg_pncounter_init(&a, 2), 0);
	assert_int_equal(aeg_pncounter_init(&b, 3), 0);
	assert_int_equal(aeg_pncounter_increment(&a, 1, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_decrement(&a, 1, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_decrement(&a, 2, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_increment(&b, 1, 9, NULL), 0);
	assert_int_equal(aeg_pncounter_decrement(&b, 3, 1, NULL), 0);
	/* P would fit, N would not: neither side changes. */
	assert_int_equal(aeg_pncounter_merge(&a, &b), -ENOSPC);
	assert_int_equal(aeg_gcounter_get(&a.p, 1), 1);
	assert_int_equal(a.n.len, 2);
	const uint8_t gc_bytes[] = { AEG_CRDT_TAG_GCOUNTER, 1, 0 };
	assert_int_equal(aeg_pncounter_decode(&a, gc_bytes, sizeof(gc_bytes)), -EINVAL);
	assert_int_equal(a.p.len + a.n.len, 0);
	aeg_pncounter_fini(&a);
	aeg_pncounter_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcounter_basic),
		cmocka_unit_test(test_gcounter_overflow),
		cmocka_unit_test(test_gcounter_merge),
		cmocka_unit_test(test_gcounter_decode_errors),
		cmocka_unit_test(test_gcounter_properties),
		cmocka_unit_test(test_pncounter_value_bounds),
		cmocka_unit_test(test_pncounter_merge_atomic),
		cmocka_unit_test(test_pncounter_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
