/* Unit tests of the kv state machine (lib/kv/kv.c, kv_session.c,
 * kv_table.c): put/get/del/cas and versions, limits and the memory budget,
 * sessions (duplicates, expiry, eviction), apply's error codes, -ENOMEM
 * leaving everything unchanged, and the memory a key really costs. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kv_test.h"
#include "aegis/wal.h"

#include "test_prng.h"

static void expect_kv_value(struct aeg_kv *kv, const char *key, const char *value, uint64_t version)
{
	const uint8_t *v;
	uint32_t vlen;
	uint64_t ver;
	assert_int_equal(aeg_kv_get(kv, key, (uint32_t)strlen(key), &v, &vlen, &ver), 0);
	assert_int_equal(vlen, strlen(value));
	assert_memory_equal(v, value, vlen);
	assert_int_equal(ver, version);
}

static void expect_absent(struct aeg_kv *kv, const char *key)
{
	assert_int_equal(aeg_kv_get(kv, key, (uint32_t)strlen(key), NULL, NULL, NULL), -ENOENT);
}

static void test_put_get_del_cas(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	assert_int_equal(aeg_kv_applied(kv), 0);
	expect_absent(kv, "a");

	struct aeg_kv_cmd put = kv_test_cmd(AEG_KV_PUT, "a", "one");
	assert_int_equal(kv_test_ok(kv, 3, &put, AEG_KV_OK), 3);
	expect_kv_value(kv, "a", "one", 3);
	assert_int_equal(aeg_kv_applied(kv), 3);

	put = kv_test_cmd(AEG_KV_PUT, "a", "two!");
	assert_int_equal(kv_test_ok(kv, 5, &put, AEG_KV_OK), 5);
	expect_kv_value(kv, "a", "two!", 5);

	/* CAS: wrong version, then right; create-only on an existing key. */
	struct aeg_kv_cmd cas = kv_test_cmd(AEG_KV_CAS, "a", "three");
	cas.expect_version = 3;
	assert_int_equal(kv_test_ok(kv, 6, &cas, AEG_KV_VERSION_MISMATCH), 5);
	expect_kv_value(kv, "a", "two!", 5);
	cas.expect_version = 5;
	assert_int_equal(kv_test_ok(kv, 7, &cas, AEG_KV_OK), 7);
	expect_kv_value(kv, "a", "three", 7);
	cas.expect_version = 0;
	assert_int_equal(kv_test_ok(kv, 8, &cas, AEG_KV_VERSION_MISMATCH), 7);
	/* Create-only on an absent key; a version on an absent key. */
	struct aeg_kv_cmd create = kv_test_cmd(AEG_KV_CAS, "b", "");
	assert_int_equal(kv_test_ok(kv, 9, &create, AEG_KV_OK), 9);
	expect_kv_value(kv, "b", "", 9);
	create = kv_test_cmd(AEG_KV_CAS, "c", "x");
	create.expect_version = 9;
	assert_int_equal(kv_test_ok(kv, 10, &create, AEG_KV_VERSION_MISMATCH), 0);
	expect_absent(kv, "c");

	struct aeg_kv_cmd del = kv_test_cmd(AEG_KV_DEL, "a", NULL);
	assert_int_equal(kv_test_ok(kv, 11, &del, AEG_KV_OK), 11);
	expect_absent(kv, "a");
	assert_int_equal(kv_test_ok(kv, 12, &del, AEG_KV_NOT_FOUND), 0);
	expect_kv_value(kv, "b", "", 9);

	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.keys, 1);
	assert_int_equal(st.logical_bytes, 1 + AEG_KV_KEY_OVERHEAD);
	assert_int_equal(st.sessions, 0);
	assert_true(st.mem_bytes > 0);
	aeg_kv_free(kv);
}

/* Many keys: the table grows, deletes shift clusters back, and every key
 * stays findable (checked against a plain array model). */
static void test_many_keys(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6b7601);
	test_seed_print("kv_many_keys", p.seed);
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	enum { KEYS = 3000 };
	static uint64_t model[KEYS]; /* version, 0 = absent */
	memset(model, 0, sizeof(model));
	uint64_t index = 0;
	for (int step = 0; step < 20000; step++) {
		char key[16];
		uint32_t k = (uint32_t)prng_below(&p, KEYS);
		snprintf(key, sizeof(key), "k%u", k);
		bool del = prng_below(&p, 3) == 0;
		struct aeg_kv_cmd c = kv_test_cmd(del ? AEG_KV_DEL : AEG_KV_PUT, key,
						  del ? NULL : key);
		struct aeg_kv_result res;
		index++;
		assert_int_equal(kv_test_apply(kv, index, &c, &res), 0);
		CHECK(&p, res.status == (del && model[k] == 0 ? AEG_KV_NOT_FOUND : AEG_KV_OK));
		model[k] = del ? 0 : index;
	}
	uint64_t n = 0;
	for (uint32_t k = 0; k < KEYS; k++) {
		char key[16];
		snprintf(key, sizeof(key), "k%u", k);
		uint64_t ver = 0;
		int rc = aeg_kv_get(kv, key, (uint32_t)strlen(key), NULL, NULL, &ver);
		CHECK(&p, rc == (model[k] != 0 ? 0 : -ENOENT));
		CHECK(&p, ver == model[k]);
		n += model[k] != 0;
	}
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	CHECK(&p, st.keys == n);
	aeg_kv_free(kv);
}

static void test_limits(void **state)
{
	(void)state;
	struct aeg_kv_limits lim = { .key_bytes_max = 4, .value_bytes_max = 8,
				     .mem_bytes_max = 2 * (AEG_KV_KEY_OVERHEAD + 12) };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	struct aeg_kv_limits got;
	aeg_kv_limits_get(kv, &got);
	assert_int_equal(got.key_bytes_max, 4);
	assert_int_equal(got.sessions_max, AEG_KV_SESSIONS_MAX_DEFAULT);

	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "kkkkk", "v");
	kv_test_ok(kv, 1, &c, AEG_KV_TOO_LARGE);
	c = kv_test_cmd(AEG_KV_PUT, "kkkk", "vvvvvvvvv");
	kv_test_ok(kv, 2, &c, AEG_KV_TOO_LARGE);
	c = kv_test_cmd(AEG_KV_DEL, "kkkkk", NULL);
	kv_test_ok(kv, 3, &c, AEG_KV_TOO_LARGE);
	expect_absent(kv, "kkkk");

	/* Two keys of 4 + 8 fill the budget exactly; a third is refused. */
	c = kv_test_cmd(AEG_KV_PUT, "aaaa", "12345678");
	kv_test_ok(kv, 4, &c, AEG_KV_OK);
	c = kv_test_cmd(AEG_KV_PUT, "bbbb", "12345678");
	kv_test_ok(kv, 5, &c, AEG_KV_OK);
	size_t before_len;
	uint8_t *before = kv_test_snap(kv, &before_len);
	c = kv_test_cmd(AEG_KV_PUT, "c", "");
	kv_test_ok(kv, 6, &c, AEG_KV_NO_SPACE);
	c = kv_test_cmd(AEG_KV_CAS, "c", "");
	kv_test_ok(kv, 7, &c, AEG_KV_NO_SPACE);
	expect_absent(kv, "c");
	/* The refusals changed nothing but the applied index. */
	assert_int_equal(aeg_kv_applied(kv), 7);
	assert_int_equal(aeg_kv_apply_noop(kv, 8), 0);
	size_t after_len;
	uint8_t *after = kv_test_snap(kv, &after_len);
	assert_int_equal(before_len, after_len);
	/* Equal but for applied (and so the CRC). */
	assert_memory_equal(before + 24, after + 24, 16);
	assert_memory_equal(before + AEG_KV_SNAP_HDR_BYTES, after + AEG_KV_SNAP_HDR_BYTES,
			    after_len - AEG_KV_SNAP_HDR_BYTES);

	/* Overwriting with the same size or smaller is allowed when full;
	 * growing is not; deleting frees room. */
	c = kv_test_cmd(AEG_KV_PUT, "aaaa", "1234");
	kv_test_ok(kv, 9, &c, AEG_KV_OK);
	c = kv_test_cmd(AEG_KV_PUT, "bbbb", "123456789");
	kv_test_ok(kv, 10, &c, AEG_KV_TOO_LARGE);
	c = kv_test_cmd(AEG_KV_PUT, "c", "123");
	kv_test_ok(kv, 11, &c, AEG_KV_NO_SPACE); /* 1 + 3 + 64 > 4 free */
	c = kv_test_cmd(AEG_KV_PUT, "aaaa", "12345678");
	kv_test_ok(kv, 12, &c, AEG_KV_OK);
	c = kv_test_cmd(AEG_KV_DEL, "aaaa", NULL);
	kv_test_ok(kv, 13, &c, AEG_KV_OK);
	c = kv_test_cmd(AEG_KV_PUT, "c", "123");
	kv_test_ok(kv, 14, &c, AEG_KV_OK);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.logical_bytes, 2 * AEG_KV_KEY_OVERHEAD + 12 + 4);
	assert_true(st.logical_bytes <= lim.mem_bytes_max);
	free(before);
	free(after);
	aeg_kv_free(kv);
}

static void test_apply_errors(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	struct aeg_kv_result res;
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "a", "b");
	assert_int_equal(kv_test_apply(kv, 0, &c, &res), -ERANGE);
	assert_int_equal(kv_test_apply(kv, 5, &c, &res), 0);
	assert_int_equal(kv_test_apply(kv, 5, &c, &res), -ERANGE);
	assert_int_equal(kv_test_apply(kv, 4, &c, &res), -ERANGE);
	assert_int_equal(aeg_kv_applied(kv), 5);
	/* Empty entries are no-ops that advance applied. */
	assert_int_equal(aeg_kv_apply(kv, 6, NULL, 0, &res), 0);
	assert_int_equal(res.status, AEG_KV_OK);
	assert_int_equal(res.version, 0);
	assert_int_equal(aeg_kv_apply_noop(kv, 9), 0);
	assert_int_equal(aeg_kv_applied(kv), 9);
	/* Garbage is consumed as a no-op with -EINVAL. */
	const uint8_t junk[] = { 1, 9, 0, 0, 0, 0, 1, 'a', 0 };
	assert_int_equal(aeg_kv_apply(kv, 10, junk, sizeof(junk), &res), -EINVAL);
	assert_int_equal(aeg_kv_applied(kv), 10);
	assert_int_equal(aeg_kv_apply(kv, 11, junk, 3, &res), -EINVAL);
	assert_int_equal(aeg_kv_applied(kv), 11);
	expect_kv_value(kv, "a", "b", 5);
	aeg_kv_free(kv);
}

static void test_session_duplicate(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "a", "first");
	c.client_id = 77;
	c.seq = 1;
	c.time_ms = 1000;
	assert_int_equal(kv_test_ok(kv, 10, &c, AEG_KV_OK), 10);

	/* The retry (even with other bytes) returns the first result. */
	struct aeg_kv_result res;
	c.value = "second";
	c.value_len = 6;
	assert_int_equal(kv_test_apply(kv, 11, &c, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.status, AEG_KV_OK);
	assert_int_equal(res.version, 10);
	expect_kv_value(kv, "a", "first", 10);

	/* A refused write is remembered as refused. */
	struct aeg_kv_cmd cas = kv_test_cmd(AEG_KV_CAS, "a", "x");
	cas.client_id = 77;
	cas.seq = 2;
	cas.expect_version = 3;
	assert_int_equal(kv_test_ok(kv, 12, &cas, AEG_KV_VERSION_MISMATCH), 10);
	c = kv_test_cmd(AEG_KV_PUT, "a", "third"); /* another client */
	assert_int_equal(kv_test_ok(kv, 13, &c, AEG_KV_OK), 13);
	cas.expect_version = 13; /* would match now: must not apply */
	assert_int_equal(kv_test_apply(kv, 14, &cas, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.status, AEG_KV_VERSION_MISMATCH);
	assert_int_equal(res.version, 10);
	expect_kv_value(kv, "a", "third", 13);

	/* An older seq still in the window: its first result, nothing applied. */
	c.client_id = 77;
	c.seq = 1;
	assert_int_equal(kv_test_apply(kv, 15, &c, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.status, AEG_KV_OK);
	assert_int_equal(res.version, 10);
	expect_kv_value(kv, "a", "third", 13);
	/* Below the floor the client gave (seq_floor 2: seq 1 is forgotten):
	 * refused, nothing applied. */
	c.seq_floor = 2;
	assert_int_equal(kv_test_apply(kv, 16, &c, &res), 0);
	assert_false(res.duplicate);
	assert_int_equal(res.status, AEG_KV_SESSION_EXPIRED);
	expect_kv_value(kv, "a", "third", 13);
	c.seq_floor = 0;

	/* Another client's seq 1 is its own. */
	c = kv_test_cmd(AEG_KV_DEL, "a", NULL);
	c.client_id = 78;
	c.seq = 1;
	assert_int_equal(kv_test_ok(kv, 17, &c, AEG_KV_OK), 17);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.sessions, 2);
	aeg_kv_free(kv);
}

static void test_session_expiry(void **state)
{
	(void)state;
	struct aeg_kv_limits lim = { .session_ttl_ms = 1000 };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "a", "v");
	c.client_id = 5;
	c.seq = 9;
	c.time_ms = 10000;
	kv_test_ok(kv, 1, &c, AEG_KV_OK);

	/* At exactly ttl the session is alive: a duplicate. */
	struct aeg_kv_result res;
	c.time_ms = 11000;
	assert_int_equal(kv_test_apply(kv, 2, &c, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.version, 1);

	/* A leader with an older clock moves nothing backwards: the session
	 * was used at 11000 and lives to 12000. */
	struct aeg_kv_cmd other = kv_test_cmd(AEG_KV_PUT, "b", "v");
	other.time_ms = 500;
	kv_test_ok(kv, 3, &other, AEG_KV_OK);
	other.time_ms = 12000;
	kv_test_ok(kv, 4, &other, AEG_KV_OK);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.sessions, 1);

	/* One ms later any command expires it; the retry then applies anew. */
	other.time_ms = 12001;
	kv_test_ok(kv, 5, &other, AEG_KV_OK);
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(kv_test_ok(kv, 6, &c, AEG_KV_OK), 6);
	expect_kv_value(kv, "a", "v", 6);
	aeg_kv_free(kv);
}

static void test_session_eviction(void **state)
{
	(void)state;
	struct aeg_kv_limits lim = { .sessions_max = 3 };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "a", "v");
	uint64_t index = 0;
	for (uint64_t id = 1; id <= 3; id++) {
		c.client_id = id;
		c.seq = 1;
		kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	}
	/* Client 1 retries (a use), so client 2 is the least recently used. */
	struct aeg_kv_result res;
	c.client_id = 1;
	assert_int_equal(kv_test_apply(kv, ++index, &c, &res), 0);
	assert_true(res.duplicate);
	c.client_id = 4;
	kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.sessions, 3);
	/* 1, 3, 4 remember seq 1; 2 was forgotten and applies again. */
	for (uint64_t id = 1; id <= 4; id++) {
		if (id == 2)
			continue;
		c.client_id = id;
		assert_int_equal(kv_test_apply(kv, ++index, &c, &res), 0);
		assert_true(res.duplicate);
	}
	c.client_id = 2;
	uint64_t v = kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	assert_int_equal(v, index);
	aeg_kv_free(kv);
}

/* Every allocation of an apply and of a load failing in turn: -ENOMEM and
 * the kv exactly as before; no block leaks. */
static void test_enomem(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	uint64_t index = 0;
	char key[16];
	for (int i = 0; i < 12; i++) { /* next insert grows the key table */
		snprintf(key, sizeof(key), "key%d", i);
		struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, key, "value");
		c.client_id = (uint64_t)i + 1;
		c.seq = 1;
		kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	}
	size_t snap_len;
	uint8_t *snap = kv_test_snap(kv, &snap_len);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "new", "value");
	c.client_id = 100;
	c.seq = 1;
	int failures = 0;
	for (long left = 0;; left++) {
		ta.left = left;
		struct aeg_kv_result res;
		int rc = kv_test_apply(kv, index + 1, &c, &res);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		ta.left = -1; /* the snapshot's scratch array */
		assert_true(kv_test_snap_equals(kv, snap, snap_len));
		failures++;
	}
	assert_true(failures >= 3); /* key table, entry, session */
	ta.left = -1;
	expect_kv_value(kv, "new", "value", index + 1);

	/* Load: fails at every allocation, then succeeds. */
	struct aeg_kv *kv2;
	assert_int_equal(aeg_kv_new(&kv2, NULL, &a), 0);
	c = kv_test_cmd(AEG_KV_PUT, "other", "x");
	kv_test_ok(kv2, 1, &c, AEG_KV_OK);
	size_t snap2_len;
	uint8_t *snap2 = kv_test_snap(kv2, &snap2_len);
	for (long left = 0;; left++) {
		ta.left = left;
		int rc = aeg_kv_snapshot_load(kv2, snap, snap_len);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		ta.left = -1;
		assert_true(kv_test_snap_equals(kv2, snap2, snap2_len));
	}
	ta.left = -1;
	assert_true(kv_test_snap_equals(kv2, snap, snap_len));
	aeg_kv_free(kv2);
	aeg_kv_free(kv);
	assert_int_equal(ta.live_blocks, 0);
	assert_int_equal(ta.live_bytes, 0);
	free(snap);
	free(snap2);
}

/* What a key really costs through the allocator (16 B keys, 64 B values),
 * against AEG_KV_KEY_OVERHEAD. */
static void test_mem_per_key(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	struct aeg_kv_stats st0;
	aeg_kv_stats_get(kv, &st0);
	enum { N = 100000 };
	char key[17], value[65];
	memset(value, 'v', 64);
	value[64] = 0;
	/* Commands encoded first, so that the timing is apply's alone. */
	enum { CMD_BYTES = 16 + 64 + AEG_KV_CMD_OVERHEAD_MAX };
	uint8_t *cmds = malloc((size_t)N * CMD_BYTES);
	uint32_t *lens = malloc(N * sizeof(*lens));
	assert_non_null(cmds);
	assert_non_null(lens);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "%016d", (i * 7919) % N);
		struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, key, value);
		c.client_id = 1;
		c.seq = (uint64_t)i + 1;
		int n = aeg_kv_cmd_encode(&c, cmds + (size_t)i * CMD_BYTES, CMD_BYTES);
		assert_true(n > 0);
		lens[i] = (uint32_t)n;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (int i = 0; i < N; i++) {
		struct aeg_kv_result res;
		int rc = aeg_kv_apply(kv, (uint64_t)i + 1, cmds + (size_t)i * CMD_BYTES, lens[i], &res);
		assert_true(rc == 0 && res.status == AEG_KV_OK);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	double apply_ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / N;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	uint64_t sum = 0;
	for (int i = 0; i < N; i++) {
		uint64_t ver = 0;
		snprintf(key, sizeof(key), "%016d", i);
		assert_int_equal(aeg_kv_get(kv, key, 16, NULL, NULL, &ver), 0);
		sum += ver;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	double get_ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / N;
	assert_int_equal(sum, (uint64_t)N * (N + 1) / 2);
	printf("kv: apply of a new 16+64 B key with a session: %.0f ns (decode, malloc, table "
	       "growth included); get: %.0f ns (snprintf included); thread CPU time, one run, not a benchmark\n",
	       apply_ns, get_ns);
	free(cmds);
	free(lens);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.keys, N);
	assert_int_equal(st.mem_bytes, ta.live_bytes);
	double per_key = (double)(st.mem_bytes - st0.mem_bytes) / N;
	double overhead = per_key - 16 - 64;
	printf("kv: empty kv %llu B; %d keys of 16+64 B: %.1f B/key allocated, overhead %.1f B/key "
	       "(+ malloc's own ~8-16 B/block), logical overhead %u B/key\n",
	       (unsigned long long)st0.mem_bytes, N, per_key, overhead, AEG_KV_KEY_OVERHEAD);
	assert_true(overhead > 16 && overhead < AEG_KV_KEY_OVERHEAD);
	aeg_kv_free(kv);
	assert_int_equal(ta.live_blocks, 0);
}

/* A range leaving the shard: FENCE refuses writes at or past the key
 * (MOVED, nothing applied, nothing remembered: the retry after UNFENCE
 * applies), reads go on; DROP_FROM deletes the keys past it; "" fences
 * every key; -ENOMEM changes nothing. */
/* COPY keeps the version it carries and raises the version base: later
 * writes (PUT, CAS, DEL) get versions above every copied one, so a key's
 * version only grows across a split; the base is in the snapshot; a COPY
 * is a write for the fence and the budget. */
static void test_copy_versions(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	struct aeg_kv_cmd put = kv_test_cmd(AEG_KV_PUT, "a", "1");
	assert_int_equal(kv_test_ok(kv, 1, &put, AEG_KV_OK), 1);
	assert_int_equal(aeg_kv_version_base(kv), 0);
	struct aeg_kv_cmd copy = kv_test_cmd(AEG_KV_COPY, "k", "copied");
	copy.expect_version = 5000;
	assert_int_equal(kv_test_ok(kv, 2, &copy, AEG_KV_OK), 5000);
	expect_kv_value(kv, "k", "copied", 5000);
	assert_int_equal(aeg_kv_version_base(kv), 4998);
	struct aeg_kv_cmd low = kv_test_cmd(AEG_KV_COPY, "j", "older");
	low.expect_version = 100;  /* below the base: the base stays */
	assert_int_equal(kv_test_ok(kv, 3, &low, AEG_KV_OK), 100);
	assert_int_equal(aeg_kv_version_base(kv), 4998);
	struct aeg_kv_cmd put_k = kv_test_cmd(AEG_KV_PUT, "k", "new");
	assert_int_equal(kv_test_ok(kv, 4, &put_k, AEG_KV_OK), 5002);
	struct aeg_kv_cmd cas = kv_test_cmd(AEG_KV_CAS, "j", "cas");
	cas.expect_version = 100;  /* the copied version is the one to compare with */
	assert_int_equal(kv_test_ok(kv, 5, &cas, AEG_KV_OK), 5003);
	struct aeg_kv_cmd del = kv_test_cmd(AEG_KV_DEL, "a", NULL);
	assert_int_equal(kv_test_ok(kv, 6, &del, AEG_KV_OK), 5004);
	/* The snapshot keeps the base: a copy of the store goes on the same. */
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	struct aeg_kv *back;
	assert_int_equal(aeg_kv_new(&back, NULL, NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(back, snap, len), 0);
	assert_int_equal(aeg_kv_version_base(back), 4998);
	expect_kv_value(back, "k", "new", 5002);
	struct aeg_kv_cmd put_b = kv_test_cmd(AEG_KV_PUT, "b", "x");
	assert_int_equal(kv_test_ok(back, 7, &put_b, AEG_KV_OK), 5005);
	assert_true(kv_test_snap_equals(kv, snap, len));
	/* Without its base (flag and varint taken out, the CRC made right) the
	 * snapshot's versions are past applied: refused. */
	snap[44] &= (uint8_t)~AEG_KV_SNAP_VBASE;
	size_t cut = len - 2;  /* the base 4998: a 2-byte varint */
	memset(snap + 40, 0, 4);
	uint32_t crc = aeg_crc32c(0, snap, cut);
	for (int i = 0; i < 4; i++)
		snap[40 + i] = (uint8_t)(crc >> (8 * i));
	struct aeg_kv *bad;
	assert_int_equal(aeg_kv_new(&bad, NULL, NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(bad, snap, cut), -EINVAL);
	aeg_kv_free(bad);
	free(snap);
	/* Fenced and over the budget like any write. */
	struct aeg_kv_cmd fence = { .op = AEG_KV_FENCE, .key = "m", .key_len = 1 };
	kv_test_ok(kv, 8, &fence, AEG_KV_OK);
	struct aeg_kv_cmd past = kv_test_cmd(AEG_KV_COPY, "z", "v");
	past.expect_version = 9;
	kv_test_ok(kv, 9, &past, AEG_KV_MOVED);
	/* The codec: a version is needed, a session is not allowed. */
	uint8_t buf[64];
	struct aeg_kv_cmd nov = kv_test_cmd(AEG_KV_COPY, "k", "v"), sess = copy;
	sess.client_id = 1;
	sess.seq = 1;
	assert_int_equal(aeg_kv_cmd_encode(&nov, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(aeg_kv_cmd_encode(&sess, buf, sizeof(buf)), -EINVAL);
	aeg_kv_free(back);
	aeg_kv_free(kv);
}

/* COPY_BATCH: every key with its version or none (fence, budget, memory);
 * malformed values (keys out of order, a zero version) are not commands. */
static void test_copy_batch(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv_limits lim = { .mem_bytes_max = 4096 };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, &a), 0);
	struct aeg_kv_cmd put = kv_test_cmd(AEG_KV_PUT, "b", "old");
	kv_test_ok(kv, 1, &put, AEG_KV_OK);
	static uint8_t val[8192], cmd[16384];
	size_t vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "one", 3, 700), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "b", 1, "two", 3, 9000), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "c", 1, "", 0, 40), 0);
	assert_int_equal(vl, aeg_kv_copy_batch_item_size(1, 3, 700) + aeg_kv_copy_batch_item_size(1, 3, 9000) +
				     aeg_kv_copy_batch_item_size(1, 0, 40));
	struct aeg_kv_cmd batch = { .op = AEG_KV_COPY_BATCH, .value = val, .value_len = (uint32_t)vl };
	/* -ENOMEM at every allocation it makes: nothing changes. */
	size_t before_len;
	uint8_t *before = kv_test_snap(kv, &before_len);
	struct aeg_kv_result res;
	for (long left = 0; left < 4; left++) {
		ta.left = left;
		assert_int_equal(kv_test_apply(kv, 2, &batch, &res), -ENOMEM);
		ta.left = -1;
		assert_true(kv_test_snap_equals(kv, before, before_len));
	}
	ta.left = -1;
	free(before);
	assert_int_equal(kv_test_ok(kv, 2, &batch, AEG_KV_OK), 9000);
	expect_kv_value(kv, "a", "one", 700);
	expect_kv_value(kv, "b", "two", 9000);  /* replaced, its version kept */
	expect_kv_value(kv, "c", "", 40);
	assert_int_equal(aeg_kv_version_base(kv), 8998);
	struct aeg_kv_cmd put_a = kv_test_cmd(AEG_KV_PUT, "a", "x");
	assert_int_equal(kv_test_ok(kv, 3, &put_a, AEG_KV_OK), 9001);
	/* Fenced: none of it. */
	struct aeg_kv_cmd fence = { .op = AEG_KV_FENCE, .key = "c", .key_len = 1 };
	kv_test_ok(kv, 4, &fence, AEG_KV_OK);
	vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "no", 2, 9500), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "d", 1, "no", 2, 9500), 0);
	batch.value_len = (uint32_t)vl;
	kv_test_ok(kv, 5, &batch, AEG_KV_MOVED);
	expect_kv_value(kv, "a", "x", 9001);
	/* Over the budget as a sum: none of it. */
	struct aeg_kv_cmd unfence = { .op = AEG_KV_UNFENCE };
	kv_test_ok(kv, 6, &unfence, AEG_KV_OK);
	static uint8_t big[1500];
	memset(big, 'v', sizeof(big));
	vl = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, i == 0 ? "p" : i == 1 ? "q" : "r", 1, big,
						       sizeof(big), 10), 0);
	batch.value_len = (uint32_t)vl;
	kv_test_ok(kv, 7, &batch, AEG_KV_NO_SPACE);
	assert_int_equal(aeg_kv_get(kv, "p", 1, NULL, NULL, NULL), -ENOENT);
	/* Not commands: keys out of order or twice, a zero version, an empty
	 * batch, a key on the command itself. */
	vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "b", 1, "1", 1, 5), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "1", 1, 5), 0);
	batch.value_len = (uint32_t)vl;
	assert_int_equal(aeg_kv_cmd_encode(&batch, cmd, sizeof(cmd)), -EINVAL);
	vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "1", 1, 5), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "1", 1, 5), 0);
	batch.value_len = (uint32_t)vl;
	assert_int_equal(aeg_kv_cmd_encode(&batch, cmd, sizeof(cmd)), -EINVAL);
	vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "a", 1, "1", 1, 1), 0);
	val[vl - 1] = 0;  /* version 0 */
	batch.value_len = (uint32_t)vl;
	assert_int_equal(aeg_kv_cmd_encode(&batch, cmd, sizeof(cmd)), -EINVAL);
	batch.value_len = 0;
	assert_int_equal(aeg_kv_cmd_encode(&batch, cmd, sizeof(cmd)), -EINVAL);
	assert_int_equal(aeg_kv_copy_batch_add(val, 4, &vl, "abc", 3, "xyz", 3, 1), -EMSGSIZE);
	aeg_kv_free(kv);
}

static void test_fence(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	const char *keys[] = { "a", "l", "lz", "m", "ma", "z" };
	uint64_t index = 0;
	for (int i = 0; i < 6; i++) {
		struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, keys[i], "v");
		kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	}
	struct aeg_kv_stats before;
	aeg_kv_stats_get(kv, &before);
	struct aeg_kv_cmd fence = { .op = AEG_KV_FENCE, .key = "m", .key_len = 1 };
	kv_test_ok(kv, ++index, &fence, AEG_KV_OK);
	const uint8_t *fk;
	uint32_t fl;
	assert_true(aeg_kv_fence(kv, &fk, &fl));
	assert_int_equal(fl, 1);
	struct aeg_kv_cmd put_z = kv_test_cmd(AEG_KV_PUT, "z", "new"), put_lz = kv_test_cmd(AEG_KV_PUT, "lz", "new"),
			  del_m = kv_test_cmd(AEG_KV_DEL, "m", NULL);
	put_z.client_id = 7;
	put_z.seq = 1;
	kv_test_ok(kv, ++index, &put_z, AEG_KV_MOVED);
	kv_test_ok(kv, ++index, &del_m, AEG_KV_MOVED);
	kv_test_ok(kv, ++index, &put_lz, AEG_KV_OK);  /* below the fence */
	expect_kv_value(kv, "z", "v", 6);             /* reads go on, nothing changed */
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.session_results, 0);      /* MOVED is not remembered */
	/* The snapshot carries the fence. */
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	struct aeg_kv *copy;
	assert_int_equal(aeg_kv_new(&copy, NULL, NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(copy, snap, len), 0);
	assert_true(aeg_kv_fence(copy, &fk, &fl));
	assert_int_equal(fl, 1);
	assert_memory_equal(fk, "m", 1);
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(copy, index + 1, &put_z, &res), 0);
	assert_int_equal(res.status, AEG_KV_MOVED);
	aeg_kv_free(copy);
	free(snap);
	/* -ENOMEM: neither changes anything. */
	struct aeg_kv_cmd drop = { .op = AEG_KV_DROP_FROM, .key = "m", .key_len = 1 };
	ta.left = 0;
	assert_int_equal(kv_test_apply(kv, index + 1, &drop, &res), -ENOMEM);
	struct aeg_kv_cmd fence_all = { .op = AEG_KV_FENCE };
	struct aeg_kv_cmd fence_n = { .op = AEG_KV_FENCE, .key = "n", .key_len = 1 };
	assert_int_equal(kv_test_apply(kv, index + 1, &fence_n, &res), -ENOMEM);
	ta.left = -1;
	assert_true(aeg_kv_fence(kv, &fk, &fl) && fl == 1 && fk[0] == 'm');
	expect_kv_value(kv, "ma", "v", 5);
	/* DROP_FROM: "m", "ma", "z" go; the fence stays. */
	kv_test_ok(kv, ++index, &drop, AEG_KV_OK);
	expect_absent(kv, "m");
	expect_absent(kv, "ma");
	expect_absent(kv, "z");
	expect_kv_value(kv, "lz", "new", 10);
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.keys, 3);
	assert_int_equal(st.logical_bytes, before.logical_bytes - 3 * (AEG_KV_KEY_OVERHEAD + 2) + 2 - 1);
	assert_true(aeg_kv_fence(kv, &fk, &fl));
	/* UNFENCE: the same (client, seq) now applies, once. */
	struct aeg_kv_cmd unfence = { .op = AEG_KV_UNFENCE };
	kv_test_ok(kv, ++index, &unfence, AEG_KV_OK);
	assert_false(aeg_kv_fence(kv, &fk, &fl));
	kv_test_ok(kv, ++index, &put_z, AEG_KV_OK);
	expect_kv_value(kv, "z", "new", index);
	/* "": every key. */
	kv_test_ok(kv, ++index, &fence_all, AEG_KV_OK);
	struct aeg_kv_cmd put_a = kv_test_cmd(AEG_KV_PUT, "a", "x");
	kv_test_ok(kv, ++index, &put_a, AEG_KV_MOVED);
	aeg_kv_free(kv);
	assert_int_equal(ta.live_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del_cas),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_session_duplicate),
		cmocka_unit_test(test_session_expiry),
		cmocka_unit_test(test_session_eviction),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_mem_per_key),
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_copy_versions),
		cmocka_unit_test(test_copy_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
