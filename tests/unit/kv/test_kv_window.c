/* Unit tests of session windows (lib/kv/kv_window.c): one client's seqs
 * in any order all apply once; a retry of any seq in the window returns its
 * first result and applies nothing; seq_floor forgets (and never moves
 * down); a full window forgets its lowest; the logical budget counts
 * sessions; windows survive snapshots (and shrink to a smaller limit);
 * -ENOMEM while a window grows leaves everything unchanged.
 *
 * Also built with AEG_KV_BUG_NO_DUP_CHECK (kv without the duplicate check):
 * that build must fail (tests/unit/kv/meson.build, should_fail). */
#include <errno.h>
#include <stdio.h>

#include "kv_test.h"

#include "test_prng.h"

enum { CLIENT = 42 };

/* A PUT of client CLIENT writing key "k<seq>" = "v<seq>". */
static struct aeg_kv_cmd seq_cmd(uint64_t seq, uint64_t seq_floor, char *key, char *value)
{
	snprintf(key, 24, "k%llu", (unsigned long long)seq);
	snprintf(value, 24, "v%llu", (unsigned long long)seq);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, key, value);
	c.client_id = CLIENT;
	c.seq = seq;
	c.seq_floor = seq_floor;
	return c;
}

static struct aeg_kv_result apply_seq(struct aeg_kv *kv, uint64_t index, uint64_t seq,
				      uint64_t seq_floor)
{
	char key[24], value[24];
	struct aeg_kv_cmd c = seq_cmd(seq, seq_floor, key, value);
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(kv, index, &c, &res), 0);
	return res;
}

/* Version of "k<seq>", 0 if absent. */
static uint64_t key_version(const struct aeg_kv *kv, uint64_t seq)
{
	char key[24];
	snprintf(key, sizeof(key), "k%llu", (unsigned long long)seq);
	uint64_t ver = 0;
	(void)aeg_kv_get(kv, key, (uint32_t)strlen(key), NULL, NULL, &ver);
	return ver;
}

static void expect_dup(struct aeg_kv *kv, uint64_t index, uint64_t seq, uint64_t first)
{
	struct aeg_kv_result r = apply_seq(kv, index, seq, 0);
	assert_true(r.duplicate);
	assert_int_equal(r.status, AEG_KV_OK);
	assert_int_equal(r.version, first);
	assert_int_equal(key_version(kv, seq), first);
}

static void expect_expired(struct aeg_kv *kv, uint64_t index, uint64_t seq, uint64_t seq_floor)
{
	uint64_t before = key_version(kv, seq);
	struct aeg_kv_result r = apply_seq(kv, index, seq, seq_floor);
	assert_false(r.duplicate);
	assert_int_equal(r.status, AEG_KV_SESSION_EXPIRED);
	assert_int_equal(key_version(kv, seq), before);
}

static void shuffle(struct prng *p, uint64_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)prng_below(p, i);
		uint64_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* 100 seqs in a random order each apply once; then retries of all of them,
 * in another order and twice over, are duplicates that apply nothing. */
static void test_out_of_order(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6b7603de);
	test_seed_print("kv_window_out_of_order", p.seed);
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	enum { N = 100 };
	uint64_t order[N], first[N + 1] = { 0 }, index = 0;
	for (int i = 0; i < N; i++)
		order[i] = (uint64_t)i + 1;
	shuffle(&p, order, N);
	for (int i = 0; i < N; i++) {
		struct aeg_kv_result r = apply_seq(kv, ++index, order[i], 0);
		CHECK(&p, !r.duplicate && r.status == AEG_KV_OK && r.version == index);
		first[order[i]] = index;
	}
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	CHECK(&p, st.keys == N && st.sessions == 1 && st.session_results == N);
	size_t snap_len;
	uint8_t *snap = kv_test_snap(kv, &snap_len);
	for (int round = 0; round < 2; round++) {
		shuffle(&p, order, N);
		for (int i = 0; i < N; i++)
			expect_dup(kv, ++index, order[i], first[order[i]]);
	}
	/* Nothing changed but the applied index (and so the header's CRC). */
	size_t len2;
	uint8_t *snap2 = kv_test_snap(kv, &len2);
	assert_int_equal(len2, snap_len);
	assert_memory_equal(snap + AEG_KV_SNAP_HDR_BYTES, snap2 + AEG_KV_SNAP_HDR_BYTES,
			    snap_len - AEG_KV_SNAP_HDR_BYTES);
	free(snap);
	free(snap2);
	aeg_kv_free(kv);
}

/* A refused write is remembered as refused; its retry does not apply even
 * when it would succeed now. */
static void test_retry_of_refusal(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	struct aeg_kv_cmd cas = kv_test_cmd(AEG_KV_CAS, "x", "new");
	cas.client_id = CLIENT;
	cas.seq = 7;
	cas.expect_version = 1;
	assert_int_equal(kv_test_ok(kv, 1, &cas, AEG_KV_VERSION_MISMATCH), 0);
	struct aeg_kv_cmd put = kv_test_cmd(AEG_KV_PUT, "x", "old");
	put.client_id = CLIENT;
	put.seq = 9; /* a later seq first: 8 is still to come */
	assert_int_equal(kv_test_ok(kv, 2, &put, AEG_KV_OK), 2);
	cas.expect_version = 2; /* would match now */
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(kv, 3, &cas, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.status, AEG_KV_VERSION_MISMATCH);
	assert_int_equal(res.version, 0);
	/* The reordered seq 8 applies: it was never seen. */
	cas.seq = 8;
	assert_int_equal(kv_test_ok(kv, 4, &cas, AEG_KV_OK), 4);
	const uint8_t *v;
	uint32_t vlen;
	assert_int_equal(aeg_kv_get(kv, "x", 1, &v, &vlen, NULL), 0);
	assert_int_equal(vlen, 3);
	assert_memory_equal(v, "new", 3);
	aeg_kv_free(kv);
}

static void expect_results(const struct aeg_kv *kv, uint64_t want)
{
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.session_results, want);
}

static void test_floor(void **state)
{
	(void)state;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, NULL), 0);
	uint64_t index = 0;
	for (uint64_t seq = 1; seq <= 10; seq++)
		apply_seq(kv, ++index, seq, 0);
	expect_results(kv, 10);
	/* seq_floor 6: every seq below 6 has had its reply. */
	struct aeg_kv_result r = apply_seq(kv, ++index, 11, 6);
	assert_false(r.duplicate);
	assert_int_equal(r.status, AEG_KV_OK);
	expect_results(kv, 6); /* 6..11 */
	for (uint64_t seq = 1; seq <= 5; seq++)
		expect_expired(kv, ++index, seq, 0);
	for (uint64_t seq = 6; seq <= 10; seq++)
		expect_dup(kv, ++index, seq, seq);
	/* It never moves down: a delayed datagram with an older floor. */
	expect_expired(kv, ++index, 5, 2);
	expect_results(kv, 6);
	/* A new seq inside the window applies (reordering), even far ahead. */
	r = apply_seq(kv, ++index, 20, 6);
	const uint64_t at20 = index;
	assert_int_equal(r.version, at20);
	r = apply_seq(kv, ++index, 15, 6);
	assert_int_equal(r.version, index);
	assert_false(r.duplicate);
	expect_results(kv, 8);
	/* A seq below its own command's floor: the floor rises first, so it
	 * is refused, and the forgotten results go. */
	expect_expired(kv, ++index, 16, 17);
	expect_results(kv, 1); /* 20 */
	expect_expired(kv, ++index, 15, 0);
	expect_dup(kv, ++index, 20, at20);
	/* A floor above everything empties the window but keeps the session. */
	expect_expired(kv, ++index, 20, 1000);
	expect_results(kv, 0);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.sessions, 1);
	expect_expired(kv, ++index, 999, 0);
	r = apply_seq(kv, ++index, 1000, 0);
	const uint64_t at1000 = index;
	assert_int_equal(r.status, AEG_KV_OK);
	/* seq 0 commands have no session: their floor is ignored. */
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "free", "v");
	c.client_id = CLIENT;
	c.seq_floor = 5000;
	kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	expect_dup(kv, ++index, 1000, at1000);
	aeg_kv_free(kv);
}

static void test_overflow(void **state)
{
	(void)state;
	struct aeg_kv_limits lim = { .session_results_max = 4 };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	struct aeg_kv_limits got;
	aeg_kv_limits_get(kv, &got);
	assert_int_equal(got.session_results_max, 4);
	uint64_t index = 0;
	for (uint64_t seq = 10; seq <= 40; seq += 10)
		apply_seq(kv, ++index, seq, 0); /* indexes 1..4 */
	expect_results(kv, 4);
	/* Full, and below everything held: cannot be remembered, not applied. */
	expect_expired(kv, ++index, 5, 0);
	/* 25 applies and forgets 10, the lowest: the floor rises to 10. */
	struct aeg_kv_result r = apply_seq(kv, ++index, 25, 0);
	assert_int_equal(r.status, AEG_KV_OK);
	assert_int_equal(r.version, index);
	expect_results(kv, 4);
	expect_expired(kv, ++index, 10, 0);
	expect_expired(kv, ++index, 9, 0);
	expect_expired(kv, ++index, 15, 0); /* never seen, but below all held */
	expect_dup(kv, ++index, 20, 2);
	expect_dup(kv, ++index, 25, 6);
	expect_dup(kv, ++index, 40, 4);
	r = apply_seq(kv, ++index, 41, 0);
	assert_int_equal(r.status, AEG_KV_OK);
	expect_expired(kv, ++index, 20, 0);
	expect_dup(kv, ++index, 30, 3);
	expect_results(kv, 4);
	/* The default is the documented one. */
	struct aeg_kv *dflt;
	assert_int_equal(aeg_kv_new(&dflt, NULL, NULL), 0);
	aeg_kv_limits_get(dflt, &got);
	assert_int_equal(got.session_results_max, AEG_KV_SESSION_RESULTS_MAX_DEFAULT);
	aeg_kv_free(dflt);
	aeg_kv_free(kv);
}

/* Sessions count in logical bytes; a write whose own session growth would
 * take the shard over the budget is refused (and remembered). */
static void test_budget(void **state)
{
	(void)state;
	const uint64_t key = AEG_KV_KEY_OVERHEAD + 2 + 2; /* "k1" = "v1" */
	const uint64_t sess1 = AEG_KV_SESSION_OVERHEAD + AEG_KV_RESULT_BYTES;
	struct aeg_kv_limits lim = { .mem_bytes_max = key + sess1 + 1 };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	struct aeg_kv_result r = apply_seq(kv, 1, 1, 0);
	assert_int_equal(r.status, AEG_KV_OK);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.logical_bytes, key + sess1);
	/* Overwriting k1 with the same size is fine for a session-less write;
	 * a new seq of the session would need one more result: refused. */
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "k1", "v2");
	kv_test_ok(kv, 2, &c, AEG_KV_OK);
	c = kv_test_cmd(AEG_KV_PUT, "k1", "v3x");
	c.client_id = CLIENT;
	c.seq = 2;
	kv_test_ok(kv, 3, &c, AEG_KV_NO_SPACE);
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.logical_bytes, key + sess1 + AEG_KV_RESULT_BYTES);
	/* The same write with a floor past both forgets their results: it
	 * fits exactly (one value byte more than k1 had, one result less). */
	c.seq = 3;
	c.seq_floor = 3;
	kv_test_ok(kv, 4, &c, AEG_KV_OK);
	aeg_kv_stats_get(kv, &st);
	assert_int_equal(st.logical_bytes, key + 1 + sess1);
	assert_int_equal(st.logical_bytes, lim.mem_bytes_max);
	assert_int_equal(st.session_results, 1);
	aeg_kv_free(kv);
}

/* A kv with windows in several states: gaps, a raised floor, an empty one. */
static struct aeg_kv *windowed_kv(uint64_t hash_seed, uint32_t results_max)
{
	struct aeg_kv_limits lim = { .hash_seed = hash_seed, .session_results_max = results_max };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	const uint64_t seqs[] = { 3, 1, 7, 5, 6, 300 };
	uint64_t index = 0;
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		apply_seq(kv, ++index, seqs[i], i == 4 ? 2 : 0); /* floor 1 */
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_DEL, "nope", NULL);
	c.client_id = 7;
	c.seq = 1;
	kv_test_ok(kv, ++index, &c, AEG_KV_NOT_FOUND);
	c.seq = 2;
	c.seq_floor = 9;
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(kv, ++index, &c, &res), 0);
	assert_int_equal(res.status, AEG_KV_SESSION_EXPIRED);
	return kv;
}

static void test_snapshot_windows(void **state)
{
	(void)state;
	struct aeg_kv *kv = windowed_kv(0, 0);
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	struct aeg_kv *copy = windowed_kv(31337, 0);
	assert_true(kv_test_snap_equals(copy, snap, len)); /* same commands, same bytes */
	aeg_kv_free(copy);
	assert_int_equal(aeg_kv_new(&copy, &(struct aeg_kv_limits){ .hash_seed = 5 }, NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(copy, snap, len), 0);
	assert_true(kv_test_snap_equals(copy, snap, len));
	struct aeg_kv_stats a, b;
	aeg_kv_stats_get(kv, &a);
	aeg_kv_stats_get(copy, &b);
	assert_memory_equal(&a, &b, offsetof(struct aeg_kv_stats, mem_bytes));
	assert_int_equal(b.sessions, 2);
	assert_int_equal(b.session_results, 5); /* 3 5 6 7 300 */
	/* The copy answers as the original would. */
	uint64_t index = aeg_kv_applied(copy);
	expect_expired(copy, ++index, 1, 0);
	expect_dup(copy, ++index, 3, 1);
	expect_dup(copy, ++index, 300, 6);
	struct aeg_kv_result r = apply_seq(copy, ++index, 4, 0);
	assert_int_equal(r.version, index);
	/* A kv with a smaller window keeps the highest results and raises the
	 * floor to the last one it dropped. */
	struct aeg_kv *small;
	assert_int_equal(aeg_kv_new(&small, &(struct aeg_kv_limits){ .session_results_max = 2 },
				    NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(small, snap, len), 0);
	expect_results(small, 2);
	index = aeg_kv_applied(small);
	expect_expired(small, ++index, 6, 0);
	expect_expired(small, ++index, 4, 0);
	expect_dup(small, ++index, 7, 3);
	expect_dup(small, ++index, 300, 6);
	/* And it writes what it holds, which loads back the same. */
	size_t slen;
	uint8_t *ssnap = kv_test_snap(small, &slen);
	assert_int_equal(aeg_kv_snapshot_load(copy, ssnap, slen), 0);
	assert_true(kv_test_snap_equals(copy, ssnap, slen));
	free(ssnap);
	free(snap);
	aeg_kv_free(small);
	aeg_kv_free(copy);
	aeg_kv_free(kv);
}

/* Growing a window's array and creating a session fail in turn: -ENOMEM
 * and the kv exactly as before; nothing leaks. */
static void test_enomem_window(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	uint64_t index = 0;
	for (uint64_t seq = 1; seq <= 4; seq++) /* the 5th result grows the array */
		apply_seq(kv, ++index, seq, 0);
	size_t snap_len;
	uint8_t *snap = kv_test_snap(kv, &snap_len);
	char key[24], value[24];
	struct aeg_kv_cmd c = seq_cmd(5, 0, key, value);
	int failures = 0;
	for (long left = 0;; left++) {
		ta.left = left;
		struct aeg_kv_result res;
		int rc = kv_test_apply(kv, index + 1, &c, &res);
		ta.left = -1;
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_true(kv_test_snap_equals(kv, snap, snap_len));
		failures++;
	}
	assert_true(failures >= 2); /* results array, key */
	expect_results(kv, 5);
	expect_dup(kv, index + 2, 5, index + 1);
	aeg_kv_free(kv);
	assert_int_equal(ta.live_blocks, 0);
	assert_int_equal(ta.live_bytes, 0);
	free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_retry_of_refusal),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_snapshot_windows),
		cmocka_unit_test(test_enomem_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
