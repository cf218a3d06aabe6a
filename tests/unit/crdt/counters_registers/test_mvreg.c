/* MV-Register: unit cases (concurrency, equal values, equal clocks,
 * capacity, deltas, codec errors) and the property harness against a
 * model that keeps, of all writes a replica knows, those whose clock is
 * not strictly before another's. */
#include "harness.h"

#include "aegis/crdt_register.h"

#define VERSIONS_CAP 8
#define VALUE_CAP 8

struct mv_write {
	struct aeg_vclock clock;
	uint8_t len;
	uint8_t value[VALUE_CAP];
};

struct mv_model {
	uint32_t ids[H_REPLICAS_MAX];
	uint32_t writes;
	struct mv_write w[H_OPS_MAX];
	uint64_t writes_over_concurrent; /* all scenarios: the harness must make concurrency */
};

static void mv_model_reset(void *model, uint32_t replicas, struct prng *rng)
{
	struct mv_model *m = model;
	uint64_t over = m->writes_over_concurrent;
	memset(m, 0, sizeof(*m));
	m->writes_over_concurrent = over;
	h_random_ids(rng, m->ids, replicas);
}

/* Values from a tiny alphabet so concurrent writes often carry equal bytes. */
static int mv_random_op(void *obj, uint32_t replica, struct prng *rng, void *delta, void *model,
			uint32_t op_id)
{
	struct mv_model *m = model;
	struct mv_write *w = &m->w[op_id];
	m->writes_over_concurrent += ((const struct aeg_mvreg *)obj)->len >= 2;
	w->len = (uint8_t)prng_below(rng, 3);
	for (uint32_t i = 0; i < w->len; i++)
		w->value[i] = (uint8_t)('a' + prng_below(rng, 2));
	int rc = aeg_mvreg_write(obj, m->ids[replica], w->value, w->len, delta);
	if (rc < 0)
		return rc;
	const struct aeg_mvreg *reg = obj;
	if (reg->len != 1)
		return -EPROTO;
	w->clock = reg->versions[0].clock;
	m->writes = op_id + 1;
	return 0;
}

static bool mv_holds(const struct aeg_mvreg *reg, const struct mv_write *w)
{
	for (uint32_t i = 0; i < reg->len; i++) {
		const struct aeg_mvreg_version *v = &reg->versions[i];
		if (aeg_vclock_equal(&v->clock, &w->clock) && v->value_len == w->len &&
		    memcmp(v->value, w->value, w->len) == 0)
			return true;
	}
	return false;
}

static bool mv_check(const void *obj, const void *model, uint64_t known)
{
	const struct mv_model *m = model;
	const struct aeg_mvreg *reg = obj;
	uint32_t maximal = 0;
	const struct mv_write *distinct[H_OPS_MAX];
	size_t n_distinct = 0;
	for (uint32_t i = 0; i < m->writes; i++) {
		if (!(known >> i & 1))
			continue;
		bool dominated = false;
		for (uint32_t k = 0; k < m->writes && !dominated; k++) {
			dominated = (known >> k & 1) &&
				    aeg_vclock_compare(&m->w[i].clock, &m->w[k].clock) == AEG_ORDER_BEFORE;
		}
		if (dominated)
			continue;
		if (!mv_holds(reg, &m->w[i]))
			return false;
		maximal++;
		bool seen = false;
		for (size_t k = 0; k < n_distinct && !seen; k++)
			seen = distinct[k]->len == m->w[i].len &&
			       memcmp(distinct[k]->value, m->w[i].value, m->w[i].len) == 0;
		if (!seen)
			distinct[n_distinct++] = &m->w[i];
	}
	struct aeg_mvreg_value values[VERSIONS_CAP];
	return reg->len == maximal && aeg_mvreg_read(reg, values, VERSIONS_CAP) == n_distinct;
}

H_DEFINE_TYPE(mvreg_type, mvreg, aeg_mvreg_init(o, VERSIONS_CAP, VALUE_CAP),
	      mv_random_op, mv_check, mv_model_reset);

static void test_mvreg_properties(void **state)
{
	(void)state;
	struct mv_model *model = malloc(sizeof(*model));
	assert_non_null(model);
	model->writes_over_concurrent = 0;
	h_run_scenarios(&mvreg_type, model, 1000);
	if (!h_seed_fixed())
		assert_true(model->writes_over_concurrent > 1000);
	free(model);
}

static void write_ok(struct aeg_mvreg *reg, uint32_t node, const char *value,
		     struct aeg_mvreg *delta)
{
	assert_int_equal(aeg_mvreg_write(reg, node, value, strlen(value), delta), 0);
}

static void test_mvreg_concurrent(void **state)
{
	(void)state;
	struct aeg_mvreg a, b, delta;
	struct aeg_mvreg_value vals[4];
	assert_int_equal(aeg_mvreg_init(&a, 4, 8), 0);
	assert_int_equal(aeg_mvreg_init(&b, 4, 8), 0);
	assert_int_equal(aeg_mvreg_init(&delta, 1, 8), 0);
	write_ok(&a, 1, "x", NULL);
	write_ok(&b, 2, "y", NULL);
	assert_int_equal(aeg_mvreg_merge(&a, &b), 0);
	assert_int_equal(aeg_mvreg_versions(&a), 2);
	assert_int_equal(aeg_mvreg_read(&a, vals, 4), 2);
	assert_memory_equal(vals[0].value, "x", 1);
	assert_memory_equal(vals[1].value, "y", 1);
	/* A write after seeing both replaces both; its delta alone does too. */
	write_ok(&a, 1, "z", &delta);
	assert_int_equal(aeg_mvreg_versions(&a), 1);
	assert_int_equal(aeg_vclock_get(&a.versions[0].clock, 1), 2);
	assert_int_equal(aeg_vclock_get(&a.versions[0].clock, 2), 1);
	assert_int_equal(aeg_mvreg_merge(&b, &a), 0);
	assert_int_equal(aeg_mvreg_versions(&b), 1);
	assert_true(aeg_mvreg_equal(&delta, &a));
	/* Merging an older state changes nothing; merging itself neither. */
	write_ok(&delta, 9, "old", NULL);
	assert_int_equal(aeg_mvreg_merge(&a, &a), 0);
	assert_true(aeg_mvreg_equal(&a, &b));
	aeg_mvreg_fini(&a);
	aeg_mvreg_fini(&b);
	aeg_mvreg_fini(&delta);
}

/* Two concurrent writes of equal bytes are two versions, one read value;
 * an identical (value, clock) pair is one version; two versions with the
 * same clock and different bytes (a node that reused a counter) are both
 * kept in a fixed order. */
static void test_mvreg_equal_values_and_clocks(void **state)
{
	(void)state;
	struct aeg_mvreg a, b, c;
	struct aeg_mvreg_value vals[4];
	assert_int_equal(aeg_mvreg_init(&a, 4, 8), 0);
	assert_int_equal(aeg_mvreg_init(&b, 4, 8), 0);
	assert_int_equal(aeg_mvreg_init(&c, 4, 8), 0);
	write_ok(&a, 1, "same", NULL);
	write_ok(&b, 2, "same", NULL);
	assert_int_equal(aeg_mvreg_merge(&c, &a), 0);
	assert_int_equal(aeg_mvreg_merge(&a, &b), 0);
	assert_int_equal(aeg_mvreg_versions(&a), 2);
	assert_int_equal(aeg_mvreg_read(&a, vals, 4), 1);
	assert_int_equal(aeg_mvreg_read(&a, vals, 0), 1);
	assert_int_equal(aeg_mvreg_merge(&c, &b), 0);
	assert_int_equal(aeg_mvreg_merge(&c, &a), 0);
	assert_true(aeg_mvreg_equal(&a, &c));
	aeg_mvreg_clear(&a);
	aeg_mvreg_clear(&b);
	aeg_mvreg_clear(&c);
	write_ok(&a, 7, "p", NULL);
	write_ok(&b, 7, "q", NULL);
	assert_int_equal(aeg_mvreg_merge(&c, &b), 0);
	assert_int_equal(aeg_mvreg_merge(&c, &a), 0);
	assert_int_equal(aeg_mvreg_merge(&a, &b), 0);
	assert_int_equal(aeg_mvreg_versions(&a), 2);
	assert_true(aeg_mvreg_equal(&a, &c));
	assert_memory_equal(a.versions[0].value, "p", 1);
	write_ok(&a, 7, "r", NULL);
	assert_int_equal(aeg_mvreg_versions(&a), 1);
	assert_int_equal(aeg_vclock_get(&a.versions[0].clock, 7), 2);
	aeg_mvreg_fini(&a);
	aeg_mvreg_fini(&b);
	aeg_mvreg_fini(&c);
}

static void test_mvreg_limits(void **state)
{
	(void)state;
	struct aeg_mvreg a, b, c, big;
	assert_int_equal(aeg_mvreg_init(&a, 0, 8), -EINVAL);
	assert_int_equal(aeg_mvreg_init(&a, 2, 2), 0);
	assert_int_equal(aeg_mvreg_init(&b, 2, 2), 0);
	assert_int_equal(aeg_mvreg_init(&c, 2, 2), 0);
	assert_int_equal(aeg_mvreg_init(&big, 1, 8), 0);
	write_ok(&a, 1, "a", NULL);
	write_ok(&b, 2, "b", NULL);
	write_ok(&c, 3, "c", NULL);
	assert_int_equal(aeg_mvreg_merge(&a, &b), 0);
	/* A third concurrent version does not fit: refused, a unchanged. */
	assert_int_equal(aeg_mvreg_merge(&a, &c), -ENOSPC);
	assert_int_equal(aeg_mvreg_versions(&a), 2);
	assert_int_equal(aeg_mvreg_write(&a, 1, "abc", 3, NULL), -EMSGSIZE);
	assert_int_equal(aeg_mvreg_write(&a, 1, NULL, 1, NULL), -EINVAL);
	assert_int_equal(aeg_mvreg_versions(&a), 2);
	write_ok(&big, 4, "abcdef", NULL);
	assert_int_equal(aeg_mvreg_merge(&c, &big), -EMSGSIZE);
	assert_int_equal(aeg_mvreg_versions(&c), 1);
	/* The clock spans at most AEG_VCLOCK_NODES_MAX nodes (node 4 is one). */
	for (uint32_t node = 1; node < AEG_VCLOCK_NODES_MAX; node++)
		write_ok(&big, 100 + node, "n", NULL);
	assert_int_equal(big.versions[0].clock.len, AEG_VCLOCK_NODES_MAX);
	assert_int_equal(aeg_mvreg_write(&big, 1, "m", 1, NULL), -ENOSPC);
	assert_int_equal(aeg_mvreg_versions(&big), 1);
	assert_memory_equal(big.versions[0].value, "n", 1);
	aeg_mvreg_fini(&a);
	aeg_mvreg_fini(&b);
	aeg_mvreg_fini(&c);
	aeg_mvreg_fini(&big);
}

/* Hand-built encodings: version clocks {1:1} and {2:1}. */
static void test_mvreg_decode_canonical(void **state)
{
	(void)state;
	struct aeg_mvreg reg;
	assert_int_equal(aeg_mvreg_init(&reg, 2, 4), 0);
	const uint8_t ok[] = { AEG_CRDT_TAG_MVREG, 1, 2, 1, 1, 1, 1, 'x', 1, 2, 1, 1, 'y' };
	assert_int_equal(aeg_mvreg_decode(&reg, ok, sizeof(ok)), sizeof(ok));
	assert_int_equal(aeg_mvreg_versions(&reg), 2);
	const uint8_t swapped[] = { AEG_CRDT_TAG_MVREG, 1, 2, 1, 2, 1, 1, 'y', 1, 1, 1, 1, 'x' };
	assert_int_equal(aeg_mvreg_decode(&reg, swapped, sizeof(swapped)), -EINVAL);
	assert_int_equal(aeg_mvreg_versions(&reg), 0);
	const uint8_t dup[] = { AEG_CRDT_TAG_MVREG, 1, 2, 1, 1, 1, 1, 'x', 1, 1, 1, 1, 'x' };
	assert_int_equal(aeg_mvreg_decode(&reg, dup, sizeof(dup)), -EINVAL);
	/* {1:1} is before {1:2}: not an antichain. */
	const uint8_t dominated[] = { AEG_CRDT_TAG_MVREG, 1, 2, 1, 1, 1, 1, 'x', 1, 1, 2, 1, 'y' };
	assert_int_equal(aeg_mvreg_decode(&reg, dominated, sizeof(dominated)), -EINVAL);
	const uint8_t too_many[] = { AEG_CRDT_TAG_MVREG, 1, 3 };
	assert_int_equal(aeg_mvreg_decode(&reg, too_many, sizeof(too_many)), -ENOSPC);
	const uint8_t too_long[] = { AEG_CRDT_TAG_MVREG, 1, 1, 1, 1, 1, 5, 'a', 'b', 'c', 'd', 'e' };
	assert_int_equal(aeg_mvreg_decode(&reg, too_long, sizeof(too_long)), -EMSGSIZE);
	aeg_mvreg_fini(&reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mvreg_concurrent),
		cmocka_unit_test(test_mvreg_equal_values_and_clocks),
		cmocka_unit_test(test_mvreg_limits),
		cmocka_unit_test(test_mvreg_decode_canonical),
		cmocka_unit_test(test_mvreg_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
