/* Unit tests of range reads (lib/kv/kv_scan.c): against a sorted model of
 * random keys (prefixes of each other, empty bounds, a bound between keys),
 * the scan returns exactly the model's first `max` keys of the range in
 * order with their values and versions, and says `more` exactly when the
 * range holds more. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kv_test.h"

#include "common/key_order.h"
#include "test_prng.h"

enum { KEYS = 400, KEY_MAX = 6 };

struct model_key {
	char key[KEY_MAX + 1];
	uint32_t len;
	uint64_t version;
};

static int cmp_keys(const void *a, const void *b)
{
	const struct model_key *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int key_vs(const struct model_key *k, const char *b, uint32_t blen)
{
	struct model_key t = { .len = blen };
	memcpy(t.key, b, blen);
	return cmp_keys(k, &t);
}

static void random_key(struct prng *p, char *out, uint32_t *len)
{
	/* A tiny alphabet so that keys share prefixes and repeat. */
	*len = 1 + (uint32_t)prng_below(p, KEY_MAX);
	for (uint32_t i = 0; i < *len; i++)
		out[i] = (char)('a' + prng_below(p, 3));
}

static void test_scan_matches_model(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x5ca11ull);
	test_seed_print("kv_scan", p.seed);
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	static struct model_key model[KEYS];
	uint32_t n_model = 0;
	for (uint64_t index = 1; index <= KEYS; index++) {
		char key[KEY_MAX];
		uint32_t len;
		random_key(&p, key, &len);
		struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = key, .key_len = len, .value = key, .value_len = len };
		kv_test_ok(kv, index, &c, AEG_KV_OK);
		uint32_t i = 0;
		while (i < n_model && !(model[i].len == len && memcmp(model[i].key, key, len) == 0))
			i++;
		if (i == n_model) {
			n_model++;
			memcpy(model[i].key, key, len);
			model[i].len = len;
		}
		model[i].version = index;
	}
	qsort(model, n_model, sizeof(model[0]), cmp_keys);

	struct aeg_kv_item items[64];
	for (int round = 0; round < 3000; round++) {
		char start[KEY_MAX], end[KEY_MAX];
		uint32_t start_len = 0, end_len = 0;
		if (prng_below(&p, 5) != 0)
			random_key(&p, start, &start_len);
		if (prng_below(&p, 3) != 0)
			random_key(&p, end, &end_len);
		uint32_t max = 1 + (uint32_t)prng_below(&p, 64);
		struct aeg_kv_range r = { .start = start, .start_len = start_len, .end = end, .end_len = end_len };
		bool more = true;
		int got = aeg_kv_scan(kv, &r, items, max, &more);
		CHECK(&p, got >= 0);
		/* The model's keys in range. */
		uint32_t first = 0;
		while (first < n_model && key_vs(&model[first], start, start_len) < 0)
			first++;
		uint32_t in = 0;
		while (first + in < n_model && (end_len == 0 || key_vs(&model[first + in], end, end_len) < 0))
			in++;
		uint32_t want = in < max ? in : max;
		CHECK(&p, (uint32_t)got == want);
		CHECK(&p, more == (in > max));
		for (uint32_t i = 0; i < want; i++) {
			const struct model_key *m = &model[first + i];
			CHECK(&p, items[i].key_len == m->len && memcmp(items[i].key, m->key, m->len) == 0);
			CHECK(&p, items[i].value_len == m->len && memcmp(items[i].value, m->key, m->len) == 0);
			CHECK(&p, items[i].version == m->version);
		}
	}
	aeg_kv_free(kv);
}

static void test_scan_edges(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	struct aeg_kv_item items[4];
	struct aeg_kv_range all = { 0 };
	bool more = true;
	assert_int_equal(aeg_kv_scan(kv, &all, items, 4, &more), 0);
	assert_false(more);
	assert_int_equal(aeg_kv_scan(kv, &all, items, 0, &more), -EINVAL);
	struct aeg_kv_range bad = { .start_len = 3 };
	assert_int_equal(aeg_kv_scan(kv, &bad, items, 4, &more), -EINVAL);
	struct aeg_kv_cmd a = kv_test_cmd(AEG_KV_PUT, "a", "1"), ab = kv_test_cmd(AEG_KV_PUT, "ab", "2"),
			  b = kv_test_cmd(AEG_KV_PUT, "b", "3"), del = kv_test_cmd(AEG_KV_DEL, "ab", NULL);
	kv_test_ok(kv, 1, &a, AEG_KV_OK);
	kv_test_ok(kv, 2, &ab, AEG_KV_OK);
	kv_test_ok(kv, 3, &b, AEG_KV_OK);
	/* [a, b): a prefix before its extension, the end excluded. */
	struct aeg_kv_range r = { .start = "a", .start_len = 1, .end = "b", .end_len = 1 };
	assert_int_equal(aeg_kv_scan(kv, &r, items, 4, &more), 2);
	assert_false(more);
	assert_memory_equal(items[0].key, "a", 1);
	assert_int_equal(items[1].key_len, 2);
	assert_int_equal(items[1].version, 2);
	/* A start past the prefix ("a\0" is the first key after "a"). */
	r.start = "a\0";
	r.start_len = 2;
	assert_int_equal(aeg_kv_scan(kv, &r, items, 4, &more), 1);
	assert_memory_equal(items[0].key, "ab", 2);
	kv_test_ok(kv, 4, &del, AEG_KV_OK);
	assert_int_equal(aeg_kv_scan(kv, &all, items, 1, &more), 1);
	assert_true(more);
	assert_memory_equal(items[0].key, "a", 1);
	assert_int_equal(aeg_kv_scan(kv, &all, items, 2, &more), 2);
	assert_false(more);
	assert_memory_equal(items[1].key, "b", 1);
	aeg_kv_free(kv);
}

/* A sample: sorted, in range, distinct, `max` of them when the range has
 * that many, all of them otherwise; its middle key splits a range of
 * uniform keys near the middle. */
static void test_sample(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	enum { N = 10000 };
	for (uint64_t i = 0; i < N; i++) {
		char key[16];
		int len = snprintf(key, sizeof(key), "k%05llu", (unsigned long long)i);
		struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = key, .key_len = (uint32_t)len, .value = "v", .value_len = 1 };
		kv_test_ok(kv, i + 1, &c, AEG_KV_OK);
	}
	static struct aeg_kv_item items[512];
	struct aeg_kv_range all = { 0 }, upper = { .start = "k05000", .start_len = 6 }, few = { .start = "k09990", .start_len = 6 };
	int n = aeg_kv_sample(kv, &all, items, 512);
	assert_int_equal(n, 512);
	for (int i = 1; i < n; i++)
		assert_true(aeg_key_cmp(items[i - 1].key, items[i - 1].key_len, items[i].key, items[i].key_len) < 0);
	/* The middle of the sample is within 10% of the middle key. */
	unsigned mid = (unsigned)strtoul((const char *)items[n / 2].key + 1, NULL, 10);
	assert_true(mid > 4000 && mid < 6000);
	n = aeg_kv_sample(kv, &upper, items, 512);
	assert_int_equal(n, 512);
	assert_true(aeg_key_cmp(items[0].key, items[0].key_len, "k05000", 6) >= 0);
	assert_int_equal(aeg_kv_sample(kv, &few, items, 512), 10);
	assert_int_equal(aeg_kv_sample(kv, &few, items, 0), -EINVAL);
	aeg_kv_free(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_matches_model),
		cmocka_unit_test(test_scan_edges),
		cmocka_unit_test(test_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
