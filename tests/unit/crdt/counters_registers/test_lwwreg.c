/* LWW-Register: unit cases (ordering, ties, sizes, codec errors) and the
 * property harness against a model that keeps the greatest known write. */
#include "harness.h"

#include "aegis/crdt_register.h"

#define VALUE_CAP 16

struct lww_write {
	struct aeg_hlc_ts ts;
	uint8_t len;
	uint8_t value[VALUE_CAP];
};

struct lww_model {
	uint32_t ids[H_REPLICAS_MAX];
	struct aeg_hlc hlc[H_REPLICAS_MAX];
	uint64_t physical[H_REPLICAS_MAX];
	uint32_t writes;
	struct lww_write w[H_OPS_MAX];
};

static void lww_model_reset(void *model, uint32_t replicas, struct prng *rng)
{
	struct lww_model *m = model;
	memset(m, 0, sizeof(*m));
	h_random_ids(rng, m->ids, replicas);
	for (uint32_t i = 0; i < replicas; i++) {
		aeg_hlc_init(&m->hlc[i], m->ids[i], 0);
		m->physical[i] = 1000 + prng_below(rng, 20); /* skewed clocks */
	}
}

/* The model's own order: wall, logical, node, then bytes as unsigned
 * memcmp with the shorter prefix first. */
static int lww_model_compare(const struct lww_write *a, const struct lww_write *b)
{
	if (a->ts.wall != b->ts.wall)
		return a->ts.wall < b->ts.wall ? -1 : 1;
	if (a->ts.logical != b->ts.logical)
		return a->ts.logical < b->ts.logical ? -1 : 1;
	if (a->ts.node != b->ts.node)
		return a->ts.node < b->ts.node ? -1 : 1;
	for (size_t i = 0; i < a->len && i < b->len; i++) {
		if (a->value[i] != b->value[i])
			return a->value[i] < b->value[i] ? -1 : 1;
	}
	return (a->len > b->len) - (a->len < b->len);
}

/* Mostly HLC timestamps (physical time may stall or jump back); one write
 * in ten reuses an earlier timestamp with other bytes, the tie that only a
 * broken HLC produces. */
static int lww_random_op(void *obj, uint32_t replica, struct prng *rng, void *delta, void *model,
			 uint32_t op_id)
{
	struct lww_model *m = model;
	struct lww_write *w = &m->w[op_id];
	if (op_id > 0 && prng_below(rng, 10) == 0) {
		w->ts = m->w[prng_below(rng, op_id)].ts;
	} else {
		m->physical[replica] += prng_below(rng, 4);
		if (prng_below(rng, 10) == 0)
			m->physical[replica] -= prng_below(rng, 10);
		int rc = aeg_hlc_now(&m->hlc[replica], m->physical[replica], &w->ts);
		if (rc < 0)
			return rc;
	}
	w->len = (uint8_t)prng_below(rng, VALUE_CAP + 1);
	for (uint32_t i = 0; i < w->len; i++)
		w->value[i] = (uint8_t)prng_below(rng, 3);
	m->writes = op_id + 1;
	int rc = aeg_lwwreg_set(obj, w->value, w->len, &w->ts, delta);
	return rc < 0 ? rc : 0;
}

static bool lww_check(const void *obj, const void *model, uint64_t known)
{
	const struct lww_model *m = model;
	const struct lww_write *best = NULL;
	for (uint32_t i = 0; i < m->writes; i++) {
		if ((known >> i & 1) && (best == NULL || lww_model_compare(&m->w[i], best) > 0))
			best = &m->w[i];
	}
	const uint8_t *value;
	size_t len;
	struct aeg_hlc_ts ts;
	if (!aeg_lwwreg_get(obj, &value, &len, &ts))
		return best == NULL;
	return best != NULL && aeg_hlc_ts_compare(&ts, &best->ts) == 0 && len == best->len &&
	       (len == 0 || memcmp(value, best->value, len) == 0);
}

H_DEFINE_TYPE(lwwreg_type, lwwreg, aeg_lwwreg_init(o, VALUE_CAP),
	      lww_random_op, lww_check, lww_model_reset);

static void test_lwwreg_properties(void **state)
{
	(void)state;
	struct lww_model model;
	h_run_scenarios(&lwwreg_type, &model, 2000);
}

static void test_lwwreg_order(void **state)
{
	(void)state;
	struct aeg_lwwreg reg, delta;
	const uint8_t *value;
	size_t len;
	assert_int_equal(aeg_lwwreg_init(&reg, 4), 0);
	assert_int_equal(aeg_lwwreg_init(&delta, 4), 0);
	assert_false(aeg_lwwreg_get(&reg, NULL, NULL, NULL));
	struct aeg_hlc_ts t1 = { 100, 0, 2 }, t2 = { 100, 0, 3 }, t0 = { 99, 7, 9 };
	assert_int_equal(aeg_lwwreg_set(&reg, "a", 1, &t1, &delta), 1);
	assert_true(aeg_lwwreg_get(&delta, NULL, NULL, NULL));
	/* Node id breaks the tie between equal wall and logical. */
	assert_int_equal(aeg_lwwreg_set(&reg, "b", 1, &t2, NULL), 1);
	/* An older write loses and leaves an empty delta. */
	assert_int_equal(aeg_lwwreg_set(&reg, "c", 1, &t0, &delta), 0);
	assert_false(aeg_lwwreg_get(&delta, NULL, NULL, NULL));
	assert_int_equal(aeg_lwwreg_set(&reg, "b", 1, &t2, NULL), 0);
	assert_true(aeg_lwwreg_get(&reg, &value, &len, NULL));
	assert_int_equal(len, 1);
	assert_memory_equal(value, "b", 1);
	assert_int_equal(aeg_lwwreg_set(&reg, "toolong", 7, &t2, NULL), -EMSGSIZE);
	assert_int_equal(aeg_lwwreg_set(&reg, NULL, 1, &t2, NULL), -EINVAL);
	assert_int_equal(aeg_lwwreg_set(&reg, "", 0, NULL, NULL), -EINVAL);
	aeg_lwwreg_fini(&reg);
	aeg_lwwreg_fini(&delta);
}

/* Equal timestamps with different values: the greater bytes win in
 * either merge order, and a proper prefix loses to the longer value. */
static void test_lwwreg_tie(void **state)
{
	(void)state;
	struct aeg_lwwreg a, b, c;
	struct aeg_hlc_ts t = { 5, 1, 1 };
	assert_int_equal(aeg_lwwreg_init(&a, 4), 0);
	assert_int_equal(aeg_lwwreg_init(&b, 4), 0);
	assert_int_equal(aeg_lwwreg_init(&c, 4), 0);
	assert_int_equal(aeg_lwwreg_set(&a, "ab", 2, &t, NULL), 1);
	assert_int_equal(aeg_lwwreg_set(&b, "abc", 3, &t, NULL), 1);
	assert_int_equal(aeg_lwwreg_merge(&c, &a), 0);
	assert_int_equal(aeg_lwwreg_merge(&a, &b), 0);
	assert_int_equal(aeg_lwwreg_merge(&b, &c), 0);
	assert_true(aeg_lwwreg_equal(&a, &b));
	assert_int_equal(a.value_len, 3);
	assert_int_equal(aeg_lwwreg_set(&c, "b", 1, &t, NULL), 1);
	assert_int_equal(aeg_lwwreg_set(&c, "ab", 2, &t, NULL), 0);
	aeg_lwwreg_fini(&a);
	aeg_lwwreg_fini(&b);
	aeg_lwwreg_fini(&c);
}

static void test_lwwreg_sizes_and_decode(void **state)
{
	(void)state;
	struct aeg_lwwreg big, small;
	struct aeg_hlc_ts t = { 1, 0, 0 };
	uint8_t buf[64];
	assert_int_equal(aeg_lwwreg_init(&big, 8), 0);
	assert_int_equal(aeg_lwwreg_init(&small, 2), 0);
	assert_int_equal(aeg_lwwreg_set(&big, "12345", 5, &t, NULL), 1);
	assert_int_equal(aeg_lwwreg_merge(&small, &big), -EMSGSIZE);
	assert_false(aeg_lwwreg_get(&small, NULL, NULL, NULL));
	int n = aeg_lwwreg_encode(&big, buf, sizeof(buf));
	assert_int_equal(n, 3 + 16 + 1 + 5);
	assert_int_equal(aeg_lwwreg_decode(&small, buf, (size_t)n), -EMSGSIZE);
	buf[2] = 2; /* present flag other than 0/1 */
	assert_int_equal(aeg_lwwreg_decode(&big, buf, (size_t)n), -EINVAL);
	assert_false(aeg_lwwreg_get(&big, NULL, NULL, NULL));
	buf[0] = AEG_CRDT_TAG_MVREG;
	buf[2] = 0;
	assert_int_equal(aeg_lwwreg_decode(&big, buf, 3), -EINVAL);
	/* A zero-capacity register holds only the empty value. */
	struct aeg_lwwreg zero;
	assert_int_equal(aeg_lwwreg_init(&zero, 0), 0);
	assert_int_equal(aeg_lwwreg_set(&zero, "", 0, &t, NULL), 1);
	assert_int_equal(aeg_lwwreg_set(&zero, "x", 1, &t, NULL), -EMSGSIZE);
	aeg_lwwreg_fini(&zero);
	aeg_lwwreg_fini(&big);
	aeg_lwwreg_fini(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lwwreg_order),
		cmocka_unit_test(test_lwwreg_tie),
		cmocka_unit_test(test_lwwreg_sizes_and_decode),
		cmocka_unit_test(test_lwwreg_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
