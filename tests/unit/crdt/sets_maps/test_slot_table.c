/* The internal sorted slot table: search/insert/remove and the in-place
 * two-pass merge, checked against bitmask models; packed elements order. */
#include "sm_harness.h"

#include <errno.h>

#include "crdt/sets_maps/slot_table.h"

/* Slots of 4 bytes: a big-endian key, so memcmp order is key order. */
static void put_key(uint8_t *slot, uint32_t k)
{
	for (int i = 0; i < 4; i++)
		slot[i] = (uint8_t)(k >> (8 * (3 - i)));
}

static uint32_t get_key(const uint8_t *slot)
{
	return (uint32_t)slot[0] << 24 | (uint32_t)slot[1] << 16 | (uint32_t)slot[2] << 8 | slot[3];
}

static int key_cmp(const uint8_t *slot, const void *key)
{
	uint32_t a = get_key(slot), b = *(const uint32_t *)key;
	return a < b ? -1 : a > b;
}

static int slot_cmp(const uint8_t *a, const uint8_t *b, const void *arg)
{
	(void)arg;
	return memcmp(a, b, 4);
}

static uint64_t mask_of(const struct aeg_slot_table *t)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < t->len; i++) {
		if (i > 0)
			assert_true(get_key(aeg_slot_at(t, i - 1)) < get_key(aeg_slot_at(t, i)));
		m |= 1ull << get_key(aeg_slot_at(t, i));
	}
	return m;
}

static void fill(struct aeg_slot_table *t, uint64_t m)
{
	aeg_slot_table_clear(t);
	for (uint32_t k = 0; k < 64; k++) {
		if (!((m >> k) & 1))
			continue;
		bool found;
		uint32_t idx = aeg_slot_table_search(t, key_cmp, &k, &found);
		assert_false(found);
		put_key(aeg_slot_table_insert_at(t, idx), k);
	}
}

struct masks {
	uint64_t keep, take, updated;
};

static bool m_keep(const uint8_t *d, const void *arg)
{
	return (((const struct masks *)arg)->keep >> get_key(d)) & 1;
}

static bool m_take(const uint8_t *s, const void *arg)
{
	return (((const struct masks *)arg)->take >> get_key(s)) & 1;
}

static int m_fits(const uint8_t *s, const void *arg)
{
	(void)arg;
	return get_key(s) == 63 ? -EMSGSIZE : 0;
}

static void m_copy(uint8_t *d, const uint8_t *s, const void *arg)
{
	(void)arg;
	memcpy(d, s, 4);
}

static void m_update(uint8_t *d, const uint8_t *s, const void *arg)
{
	assert_int_equal(get_key(d), get_key(s));
	((struct masks *)arg)->updated |= 1ull << get_key(d);
}

static void test_search_insert_remove(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_slot_table t;
	prng_init(&p, 0x5107);
	assert_int_equal(aeg_slot_table_init(&t, 64, 4), 0);
	uint64_t model = 0;
	for (int step = 0; step < 5000; step++) {
		uint32_t k = (uint32_t)prng_below(&p, 64);
		bool found;
		uint32_t idx = aeg_slot_table_search(&t, key_cmp, &k, &found);
		CHECK(&p, found == ((model >> k) & 1));
		CHECK(&p, idx == (uint32_t)__builtin_popcountll(model & ((1ull << k) - 1)));
		if (found && prng_below(&p, 2)) {
			aeg_slot_table_remove_at(&t, idx);
			model &= ~(1ull << k);
		} else if (!found) {
			put_key(aeg_slot_table_insert_at(&t, idx), k);
			model |= 1ull << k;
		}
		CHECK(&p, mask_of(&t) == model);
	}
	aeg_slot_table_fini(&t);
	assert_int_equal(aeg_slot_table_init(&t, 0, 4), -EINVAL);
	assert_int_equal(aeg_slot_table_init(&t, 4, 0), -EINVAL);
	assert_int_equal(aeg_slot_table_init(&t, UINT32_MAX, SIZE_MAX / 2), -EINVAL);
}

static void test_merge(void **state)
{
	(void)state;
	struct aeg_slot_table dst, src;
	assert_int_equal(aeg_slot_table_init(&src, 64, 4), 0);
	for (int round = 0; round < 3000; round++) {
		struct prng p;
		prng_init_seed(&p, test_seed(0x3e76e) + (uint64_t)round);
		/* Sparse or dense sets, so that both passes meet every case. */
		uint64_t a = prng_next(&p) & prng_next(&p), b = prng_next(&p) & prng_next(&p);
		if (prng_below(&p, 3) == 0)
			b = prng_next(&p);
		bool keep_all = prng_below(&p, 2);
		if (keep_all && prng_below(&p, 2)) { /* a delta: dense dst, 0..3 src slots */
			a = prng_next(&p) | prng_next(&p) | prng_next(&p) | prng_next(&p);
			b = ((1ull << prng_below(&p, 64)) | (1ull << prng_below(&p, 64)) |
			     (1ull << prng_below(&p, 64))) & (prng_next(&p) | prng_next(&p));
		}
		a &= ~(1ull << 63);
		if (prng_below(&p, 4) != 0)
			b &= ~(1ull << 63);
		struct masks m = { keep_all ? ~0ull : prng_next(&p), prng_next(&p), 0 };
		uint32_t cap = 1 + (uint32_t)prng_below(&p, 64);
		assert_int_equal(aeg_slot_table_init(&dst, cap, 4), 0);
		if ((uint32_t)__builtin_popcountll(a) > cap)
			a &= (1ull << cap) - 1; /* fits the capacity to begin with */
		fill(&dst, a);
		fill(&src, b);
		const struct aeg_slot_merge_ops ops = {
			.cmp = slot_cmp, .keep = keep_all ? NULL : m_keep, .take = m_take, .fits = m_fits,
			.copy = m_copy, .update = prng_below(&p, 2) ? m_update : NULL, .arg = &m,
		};
		uint64_t want = (a & b) | (a & ~b & m.keep) | (b & ~a & m.take);
		bool too_long = ((b & ~a & m.take) >> 63) || (ops.update != NULL && ((a & b) >> 63));
		int rc = aeg_slot_table_merge(&dst, &src, &ops);
		if (too_long) {
			CHECK(&p, rc == -EMSGSIZE && mask_of(&dst) == a);
		} else if ((uint32_t)__builtin_popcountll(want) > cap) {
			CHECK(&p, rc == -ENOSPC && mask_of(&dst) == a);
		} else {
			CHECK(&p, rc == 0 && mask_of(&dst) == want);
			CHECK(&p, m.updated == (ops.update != NULL ? a & b : 0));
		}
		aeg_slot_table_fini(&dst);
	}
	aeg_slot_table_fini(&src);
}

static void test_elem_order(void **state)
{
	(void)state;
	uint8_t a[2 + 8], b[2 + 4];
	aeg_elem_pack(a, 8, "ab", 2);
	aeg_elem_pack(b, 4, "b", 1);
	assert_true(aeg_elem_cmp(a, b) > 0); /* shorter first */
	assert_true(aeg_elem_cmp(b, a) < 0);
	aeg_elem_pack(b, 4, "ab", 2);
	assert_int_equal(aeg_elem_cmp(a, b), 0); /* across slot sizes */
	assert_int_equal(aeg_elem_len(a), 2);
	assert_int_equal(a[4], 0); /* padding is zero */
	aeg_elem_pack(b, 4, "aa", 2);
	assert_true(aeg_elem_cmp(a, b) > 0);
	assert_int_equal(aeg_elem_cmp_raw(a, "ab", 2), 0);
	assert_int_equal(aeg_elem_check(NULL, 1, 8), -EINVAL);
	assert_int_equal(aeg_elem_check("123456789", 9, 8), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search_insert_remove),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_elem_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
