/* LWW-Map: local operations and error paths, latest-timestamp-wins against
 * a model, removes that stay removed in every merge order, tombstone
 * purging, and the generic merge/convergence/codec properties. */
#include "sm_harness.h"

#include <errno.h>

#include "aegis/crdt_map.h"
#include "common/codec.h"

#define SEED 0x1a5e0000ull
#define CAP 1024
#define VALUE_MAX 8

SM_TYPE_OPS(lwwmap, aeg_lwwmap_init(o, CAP, TEST_ELEM_BYTES_MAX, VALUE_MAX))

/* Timestamps from a small range, so that stale writes and equal
 * timestamps (with different values: the deterministic tie-break) occur. */
static int t_random_op(void *o, uint32_t replica, void *delta, struct prng *p)
{
	uint8_t k[TEST_ELEM_BYTES_MAX], v[VALUE_MAX];
	size_t klen = test_elem(test_pick(p, 6), k);
	size_t vlen = (size_t)prng_below(p, VALUE_MAX + 1);
	for (size_t i = 0; i < vlen; i++)
		v[i] = (uint8_t)prng_below(p, 3);
	struct aeg_hlc_ts ts = { prng_below(p, 40), (uint32_t)prng_below(p, 2), replica };
	return prng_below(p, 3) ? aeg_lwwmap_put(o, k, klen, v, vlen, &ts, delta) :
				  aeg_lwwmap_remove(o, k, klen, &ts, delta);
}

static const struct sm_type lwwmap_type = {
	SM_TYPE_FIELDS(lwwmap), t_random_op, NULL,
};

SM_PROPERTY_TESTS(lwwmap_type, SEED)

static struct aeg_hlc_ts ts_at(uint64_t wall, uint32_t node)
{
	return (struct aeg_hlc_ts){ wall, 0, node };
}

static void test_local(void **state)
{
	(void)state;
	struct aeg_lwwmap m, d;
	const uint8_t *v;
	size_t vlen;
	struct aeg_hlc_ts t1 = ts_at(10, 1), t2 = ts_at(20, 1), t0 = ts_at(5, 9), got;
	assert_int_equal(aeg_lwwmap_init(&m, 2, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_init(&d, 1, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, NULL), -ENOENT);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "v1", 2, &t1, &d), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, &got), 0);
	assert_int_equal(vlen, 2);
	assert_memory_equal(v, "v1", 2);
	assert_int_equal(aeg_hlc_ts_compare(&got, &t1), 0);
	assert_true(aeg_lwwmap_equal(&m, &d)); /* delta = the one version */
	/* An older write loses and changes nothing. */
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "v0", 2, &t0, NULL), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, NULL), 0);
	assert_memory_equal(v, "v1", 2);
	/* Remove writes a tombstone. */
	assert_int_equal(aeg_lwwmap_remove(&m, "k", 1, &t2, &d), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, NULL), -ENOENT);
	assert_int_equal(aeg_lwwmap_size(&m), 0);
	assert_int_equal(aeg_lwwmap_entries(&m), 1);
	const uint8_t *key;
	size_t klen;
	aeg_lwwmap_entry(&m, 0, &key, &klen, &v, &vlen, &got);
	assert_null(v);
	assert_int_equal(aeg_hlc_ts_compare(&got, &t2), 0);
	/* Removing an unknown key still leaves a tombstone. */
	assert_int_equal(aeg_lwwmap_remove(&m, "j", 1, &t1, NULL), 0);
	assert_int_equal(aeg_lwwmap_entries(&m), 2);
	/* Errors. */
	assert_int_equal(aeg_lwwmap_put(&m, "x", 1, "v", 1, &t1, NULL), -ENOSPC);
	assert_int_equal(aeg_lwwmap_put(&m, "kkkkk", 5, "v", 1, &t1, NULL), -EMSGSIZE);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "vvvvv", 5, &t1, NULL), -EMSGSIZE);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "v", 1, NULL, NULL), -EINVAL);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "v", 1, &t1, &m), -EINVAL);
	assert_int_equal(aeg_lwwmap_put(&m, NULL, 1, "v", 1, &t1, NULL), -EINVAL);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, NULL, 1, &t1, NULL), -EINVAL);
	assert_int_equal(aeg_lwwmap_get(&m, NULL, 1, NULL, NULL, NULL), -ENOENT);
	/* Equal timestamps: a tombstone beats a value; values by bytes. */
	struct aeg_hlc_ts t3 = ts_at(30, 1);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "b", 1, &t3, NULL), 0);
	assert_int_equal(aeg_lwwmap_put(&m, "k", 1, "a", 1, &t3, NULL), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, NULL), 0);
	assert_memory_equal(v, "b", 1);
	assert_int_equal(aeg_lwwmap_remove(&m, "k", 1, &t3, NULL), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "k", 1, &v, &vlen, NULL), -ENOENT);
	aeg_lwwmap_fini(&m);
	aeg_lwwmap_fini(&d);
	assert_int_equal(aeg_lwwmap_init(&m, 1, AEG_CRDT_ELEM_BYTES_MAX + 1, 4), -EINVAL);
}

/* A value got from the map, written under a new key that sorts first. */
static void test_aliasing(void **state)
{
	(void)state;
	struct aeg_lwwmap m;
	const uint8_t *v;
	size_t vlen;
	struct aeg_hlc_ts t1 = ts_at(1, 1), t2 = ts_at(2, 1);
	assert_int_equal(aeg_lwwmap_init(&m, 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_put(&m, "a", 1, "one", 3, &t1, NULL), 0);
	assert_int_equal(aeg_lwwmap_put(&m, "b", 1, "two", 3, &t1, NULL), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "b", 1, &v, &vlen, NULL), 0);
	/* The empty key sorts first: both entries move under the pointer. */
	assert_int_equal(aeg_lwwmap_put(&m, "", 0, v, vlen, &t2, NULL), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "", 0, &v, &vlen, NULL), 0);
	assert_true(vlen == 3 && memcmp(v, "two", 3) == 0);
	aeg_lwwmap_fini(&m);
}

/* All orders of merging {put A, put B, remove C} (and a later put D) into
 * a fresh replica, one state at a time and also pairwise first. */
static void test_remove_every_order(void **state)
{
	(void)state;
	static const int perms[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	struct aeg_lwwmap src[4], dst, pair;
	struct aeg_hlc_ts ta = ts_at(100, 1), tb = ts_at(100, 2), tc = ts_at(101, 3),
			  td = ts_at(102, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(aeg_lwwmap_init(&src[i], 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_init(&dst, 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_init(&pair, 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_put(&src[0], "k", 1, "a", 1, &ta, NULL), 0);
	assert_int_equal(aeg_lwwmap_put(&src[1], "k", 1, "b", 1, &tb, NULL), 0);
	assert_int_equal(aeg_lwwmap_remove(&src[2], "k", 1, &tc, NULL), 0);
	assert_int_equal(aeg_lwwmap_put(&src[3], "k", 1, "d", 1, &td, NULL), 0);
	for (int later = 0; later < 2; later++) {
		for (int pi = 0; pi < 6; pi++) {
			bool removed = false;
			aeg_lwwmap_clear(&dst);
			for (int i = 0; i < 3; i++) {
				assert_int_equal(aeg_lwwmap_merge(&dst, &src[perms[pi][i]]), 0);
				/* Once the remove is in, the key stays removed. */
				removed |= perms[pi][i] == 2;
				if (removed)
					assert_int_equal(aeg_lwwmap_get(&dst, "k", 1, NULL, NULL, NULL),
							 -ENOENT);
			}
			aeg_lwwmap_clear(&pair); /* x u (y u z) gives the same state */
			assert_int_equal(aeg_lwwmap_merge(&pair, &src[perms[pi][1]]), 0);
			assert_int_equal(aeg_lwwmap_merge(&pair, &src[perms[pi][2]]), 0);
			assert_int_equal(aeg_lwwmap_merge(&pair, &src[perms[pi][0]]), 0);
			if (later) {
				/* Only a put later than the remove brings the key back. */
				assert_int_equal(aeg_lwwmap_merge(&dst, &src[3]), 0);
				assert_int_equal(aeg_lwwmap_merge(&pair, &src[3]), 0);
				assert_int_equal(aeg_lwwmap_get(&dst, "k", 1, NULL, NULL, NULL), 0);
			}
			assert_true(aeg_lwwmap_equal(&pair, &dst));
		}
	}
	for (int i = 0; i < 4; i++)
		aeg_lwwmap_fini(&src[i]);
	aeg_lwwmap_fini(&dst);
	aeg_lwwmap_fini(&pair);
}

static void test_purge(void **state)
{
	(void)state;
	struct aeg_lwwmap m, stale;
	struct aeg_hlc_ts t1 = ts_at(10, 1), t2 = ts_at(20, 2), t3 = ts_at(30, 1);
	assert_int_equal(aeg_lwwmap_init(&m, 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_init(&stale, 4, 4, 4), 0);
	assert_int_equal(aeg_lwwmap_put(&m, "a", 1, "1", 1, &t1, NULL), 0);
	assert_int_equal(aeg_lwwmap_merge(&stale, &m), 0);
	assert_int_equal(aeg_lwwmap_remove(&m, "a", 1, &t2, NULL), 0);
	assert_int_equal(aeg_lwwmap_put(&m, "b", 1, "2", 1, &t1, NULL), 0);
	/* Not older than the stable timestamp: kept. */
	assert_int_equal(aeg_lwwmap_purge_tombstones(&m, &t2), 0);
	assert_int_equal(aeg_lwwmap_entries(&m), 2);
	/* Stable past it: dropped; live entries are never purged. */
	assert_int_equal(aeg_lwwmap_purge_tombstones(&m, &t3), 1);
	assert_int_equal(aeg_lwwmap_entries(&m), 1);
	assert_int_equal(aeg_lwwmap_get(&m, "b", 1, NULL, NULL, NULL), 0);
	/* Why stability matters: a replica still holding the older put brings
	 * the value back once the tombstone is gone. */
	assert_int_equal(aeg_lwwmap_merge(&m, &stale), 0);
	assert_int_equal(aeg_lwwmap_get(&m, "a", 1, NULL, NULL, NULL), 0);
	aeg_lwwmap_fini(&m);
	aeg_lwwmap_fini(&stale);
}

static void test_decode_errors(void **state)
{
	(void)state;
	struct aeg_lwwmap m;
	uint8_t buf[64], ts[AEG_HLC_TS_ENCODED_SIZE];
	struct aeg_hlc_ts t = ts_at(1, 1);
	aeg_hlc_ts_encode(&t, ts);
	assert_int_equal(aeg_lwwmap_init(&m, 2, 4, 2), 0);
	for (int kind = 0; kind < 5; kind++) {
		struct aeg_writer w;
		aeg_writer_init(&w, buf, sizeof(buf));
		aeg_put_u8(&w, AEG_CRDT_TAG_LWWMAP);
		aeg_put_u8(&w, AEG_CRDT_SET_FORMAT);
		aeg_put_varint(&w, kind == 4 ? 3 : 2);
		const char *keys = kind == 1 ? "ba" : kind == 2 ? "aa" : "ab";
		for (int i = 0; i < 2; i++) {
			aeg_put_varint(&w, 1);
			aeg_put_u8(&w, (uint8_t)keys[i]);
			aeg_put_bytes(&w, ts, sizeof(ts));
			aeg_put_u8(&w, kind == 0 && i == 1 ? 2 : 0);
			aeg_put_varint(&w, kind == 3 ? 3 : 2);
			aeg_put_bytes(&w, "vvv", kind == 3 ? 3 : 2);
		}
		static const int want[] = { -EINVAL, -EINVAL, -EINVAL, -EMSGSIZE, -ENOSPC };
		assert_int_equal(aeg_lwwmap_decode(&m, buf, w.len), want[kind]);
		assert_int_equal(aeg_lwwmap_entries(&m), 0);
	}
	aeg_lwwmap_fini(&m);
}

/* Model: per replica and key, the greatest version written anywhere and
 * merged in; timestamps from real HLCs (updated on merge). */
struct version {
	bool set;
	struct aeg_hlc_ts ts;
	bool tomb;
	uint8_t value;
};

static bool newer(const struct version *a, const struct version *b)
{
	if (!b->set)
		return a->set;
	int c = aeg_hlc_ts_compare(&a->ts, &b->ts);
	return c > 0 || (c == 0 && a->tomb && !b->tomb);
}

static void test_semantics(void **state)
{
	(void)state;
	enum { RR = 3, KEYS = 6 };
	for (int round = 0; round < 60; round++) {
		struct prng p;
		struct aeg_lwwmap s[RR];
		struct aeg_hlc hlc[RR];
		struct version model[RR][KEYS];
		uint64_t now = 1000;
		memset(model, 0, sizeof(model));
		prng_init_seed(&p, test_seed(0x1a5e7) + (uint64_t)round);
		for (unsigned r = 0; r < RR; r++) {
			assert_int_equal(aeg_lwwmap_init(&s[r], CAP, TEST_ELEM_BYTES_MAX, VALUE_MAX), 0);
			aeg_hlc_init(&hlc[r], r + 1, 0);
		}
		for (int step = 0; step < 100; step++) {
			unsigned r = (unsigned)prng_below(&p, RR), k = (unsigned)prng_below(&p, KEYS);
			uint8_t key[TEST_ELEM_BYTES_MAX];
			size_t klen = test_elem(k, key);
			struct version v = { true, { 0, 0, 0 }, false, (uint8_t)prng_below(&p, 256) };
			now += prng_below(&p, 3); /* clocks often collide: logical and node decide */
			unsigned from = (unsigned)prng_below(&p, RR);
			switch (prng_below(&p, 3)) {
			case 0:
			case 1:
				CHECK(&p, aeg_hlc_now(&hlc[r], now - prng_below(&p, 2), &v.ts) == 0);
				v.tomb = prng_below(&p, 3) == 0;
				CHECK(&p, (v.tomb ? aeg_lwwmap_remove(&s[r], key, klen, &v.ts, NULL) :
					  aeg_lwwmap_put(&s[r], key, klen, &v.value, 1, &v.ts, NULL)) == 0);
				if (newer(&v, &model[r][k]))
					model[r][k] = v;
				break;
			default:
				CHECK(&p, aeg_lwwmap_merge(&s[r], &s[from]) == 0);
				for (unsigned j = 0; j < KEYS; j++) {
					if (newer(&model[from][j], &model[r][j]))
						model[r][j] = model[from][j];
					if (model[from][j].set) {
						struct aeg_hlc_ts out;
						CHECK(&p, aeg_hlc_update(&hlc[r], now, &model[from][j].ts, &out) == 0);
					}
				}
				break;
			}
			for (unsigned q = 0; q < RR; q++) {
				for (unsigned j = 0; j < KEYS; j++) {
					const uint8_t *val;
					size_t vlen;
					struct aeg_hlc_ts ts;
					int rc = aeg_lwwmap_get(&s[q], key, test_elem(j, key), &val, &vlen, &ts);
					const struct version *mv = &model[q][j];
					if (!mv->set || mv->tomb) {
						CHECK(&p, rc == -ENOENT);
						continue;
					}
					CHECK(&p, rc == 0 && vlen == 1 && val[0] == mv->value);
					CHECK(&p, aeg_hlc_ts_compare(&ts, &mv->ts) == 0);
				}
			}
		}
		for (unsigned r = 0; r < RR; r++)
			aeg_lwwmap_fini(&s[r]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_aliasing),
		cmocka_unit_test(test_remove_every_order),
		cmocka_unit_test(test_purge),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_semantics),
		SM_PROPERTY_TEST_LIST,
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
