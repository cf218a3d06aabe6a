/* Unit tests of kv snapshots and determinism (lib/kv/kv_snapshot.c):
 * replicas fed the same random command stream (with different table hash
 * seeds, and one that starts from a snapshot midway) give the same results
 * and byte-identical snapshots; round trips; every truncation and every
 * bit flip refused with the kv unchanged; structural errors under a valid
 * CRC refused (windows too); sessions over the limit dropped oldest
 * first. The stream has pipelining clients: reordered and resent seqs,
 * late duplicates, seq_floors current, stale and absent, and more in
 * flight than a window holds. */
#include <errno.h>
#include <stdio.h>

#include "kv_test.h"

#include "aegis/wal.h"
#include "test_prng.h"

#define STREAM_KEYS 48u
#define STREAM_CLIENTS 12u
#define STREAM_IN_FLIGHT 9u /* per client: more than the window holds */
#define STREAM_RESULTS 6u

/* A pipelining client: seqs sent and not yet answered. */
struct stream_client {
	uint64_t next; /* highest seq issued */
	uint64_t in_flight[STREAM_IN_FLIGHT];
	uint32_t n;
};

struct stream {
	struct prng p;
	uint64_t time_ms;
	struct stream_client cl[STREAM_CLIENTS];
	uint8_t buf[256];
};

/* The limits every replica of the stream uses (hash_seed aside). */
static const struct aeg_kv_limits stream_limits = {
	.key_bytes_max = 4,
	.value_bytes_max = 32,
	.mem_bytes_max = 20 * (AEG_KV_KEY_OVERHEAD + 20),
	.sessions_max = 8,
	.session_ttl_ms = 3000,
	.session_results_max = STREAM_RESULTS,
};

/* How far sessions may take logical bytes past the budget (aegis/kv.h). */
#define STREAM_SESSION_BYTES_MAX                                                  \
	(8u * (AEG_KV_SESSION_OVERHEAD + STREAM_RESULTS * AEG_KV_RESULT_BYTES))

/* The seq and seq_floor of a session command of client cl: a new seq, a
 * resend of any in-flight one (reordered; its reply then may arrive), or
 * an old one (a late duplicate datagram). The floor is what the client
 * knows (below its oldest in flight), or 0, or a stale lower one. */
static void stream_seq(struct prng *p, struct stream_client *cl, struct aeg_kv_cmd *c)
{
	uint32_t r = (uint32_t)prng_below(p, 10);
	if (r < 4 && cl->n > 0) {
		uint32_t j = (uint32_t)prng_below(p, cl->n);
		c->seq = cl->in_flight[j];
		if (prng_below(p, 2) == 0)
			cl->in_flight[j] = cl->in_flight[--cl->n];
	} else if (r == 4 && cl->next > 0) {
		c->seq = 1 + prng_below(p, cl->next);
	} else if (cl->n < STREAM_IN_FLIGHT) {
		c->seq = ++cl->next;
		cl->in_flight[cl->n++] = c->seq;
	} else {
		c->seq = cl->in_flight[0];
		cl->in_flight[0] = cl->in_flight[--cl->n];
	}
	uint64_t lo = cl->next + 1;
	for (uint32_t i = 0; i < cl->n; i++)
		lo = cl->in_flight[i] < lo ? cl->in_flight[i] : lo;
	uint32_t f = (uint32_t)prng_below(p, 4);
	c->seq_floor = f == 0 ? 0 : f == 1 ? prng_below(p, lo + 1) : lo;
}

/* The next entry of the stream: a command (sessions with reordered seqs,
 * retries, old seqs and floors, CAS on a version of a (the first replica)),
 * an empty entry, or junk.
 * Returns its length in s->buf. */
static uint32_t stream_next(struct stream *s, const struct aeg_kv *a)
{
	struct prng *p = &s->p;
	uint32_t kind = (uint32_t)prng_below(p, 100);
	if (kind < 2)
		return 0;
	if (kind < 4) {
		uint32_t n = (uint32_t)(1 + prng_below(p, 20));
		for (uint32_t i = 0; i < n; i++)
			s->buf[i] = (uint8_t)prng_next(p);
		return n;
	}
	/* Mostly forward, sometimes a leader with a clock behind. */
	s->time_ms += prng_below(p, 400);
	uint64_t t = prng_below(p, 10) == 0 && s->time_ms > 1000 ? s->time_ms - 1000 : s->time_ms;
	char key[8];
	uint32_t k = (uint32_t)prng_below(p, STREAM_KEYS);
	if (kind < 6) {
		/* A range leaving (a split): fence, unfence, or drop from a key
		 * ("k" + digits: some keys on each side; "" fences all), or a key
		 * arriving with its version (COPY: raises the version base). */
		uint8_t op = (uint8_t)(AEG_KV_FENCE + prng_below(p, 5));
		snprintf(key, sizeof(key), "k%u", k);
		if (op == AEG_KV_COPY_BATCH) {
			/* 1-3 keys in order: "k<k>", "k<k>a", "k<k>b". */
			static uint8_t val[256];
			size_t vl = 0;
			uint32_t n = 1 + (uint32_t)prng_below(p, 3);
			for (uint32_t i = 0; i < n; i++) {
				char bk[8];
				int bl = snprintf(bk, sizeof(bk), i == 0 ? "k%u" : "k%u%c", k, 'a' + i - 1);
				assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, bk, (uint32_t)bl, "b", 1,
								       1 + prng_below(p, 200000)), 0);
			}
			struct aeg_kv_cmd b = { .op = op, .value = val, .value_len = (uint32_t)vl, .time_ms = t };
			int n2 = aeg_kv_cmd_encode(&b, s->buf, sizeof(s->buf));
			assert_true(n2 > 0);
			return (uint32_t)n2;
		}
		struct aeg_kv_cmd f = { .op = op, .key = key, .key_len = op == AEG_KV_UNFENCE || k == 0 ? 0 : 2,
					.time_ms = t };
		if (op == AEG_KV_COPY) {
			f.key_len = 2;
			f.value = "copied";
			f.value_len = 6;
			f.expect_version = 1 + prng_below(p, 200000);
		}
		int n = aeg_kv_cmd_encode(&f, s->buf, sizeof(s->buf));
		assert_true(n > 0);
		return (uint32_t)n;
	}
	snprintf(key, sizeof(key), prng_below(p, 30) == 0 ? "long%u" : "k%u", k);
	uint8_t op = (uint8_t)(1 + prng_below(p, 3));
	uint8_t value[40];
	struct aeg_kv_cmd c = { .op = op, .key = key, .key_len = (uint32_t)strlen(key),
				.value = value, .time_ms = t };
	if (op != AEG_KV_DEL) {
		c.value_len = (uint32_t)prng_below(p, 36);
		for (uint32_t i = 0; i < c.value_len; i++)
			value[i] = (uint8_t)prng_next(p);
	}
	if (op == AEG_KV_CAS) {
		uint64_t ver = 0;
		(void)aeg_kv_get(a, key, c.key_len, NULL, NULL, &ver);
		c.expect_version = prng_below(p, 3) == 0 ? prng_below(p, 50) : ver;
	}
	if (prng_below(p, 5) != 0) {
		uint32_t id = (uint32_t)prng_below(p, STREAM_CLIENTS);
		c.client_id = 1000 + id;
		stream_seq(p, &s->cl[id], &c);
	}
	int n = aeg_kv_cmd_encode(&c, s->buf, sizeof(s->buf));
	assert_true(n > 0);
	return (uint32_t)n;
}

static struct aeg_kv *new_kv(uint64_t hash_seed)
{
	struct aeg_kv_limits lim = stream_limits;
	lim.hash_seed = hash_seed;
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	return kv;
}

static void expect_same_snapshots(struct prng *p, struct aeg_kv *const *kvs, int n)
{
	size_t len;
	uint8_t *want = kv_test_snap(kvs[0], &len);
	for (int i = 1; i < n; i++)
		CHECK(p, kv_test_snap_equals(kvs[i], want, len));
	free(want);
}

static void run_determinism(uint64_t seed)
{
	struct stream s = { 0 };
	prng_init_seed(&s.p, seed);
	struct aeg_kv *kvs[3] = { new_kv(0), new_kv(12345), NULL };
	int statuses[AEG_KV_STATUS_MAX + 1] = { 0 }, dups = 0, junk = 0;
	enum { STEPS = 6000 };
	for (uint64_t index = 1; index <= STEPS; index++) {
		if (index == STEPS / 3) {
			/* A replica that catches up from a snapshot. */
			size_t len;
			uint8_t *snap = kv_test_snap(kvs[0], &len);
			kvs[2] = new_kv(99);
			CHECK(&s.p, aeg_kv_snapshot_load(kvs[2], snap, len) == 0);
			free(snap);
		} else if (kvs[2] != NULL && index % 700 == 0) {
			/* ... and reloads one now and then, windows and all. */
			size_t len;
			uint8_t *snap = kv_test_snap(kvs[1], &len);
			CHECK(&s.p, aeg_kv_snapshot_load(kvs[2], snap, len) == 0);
			free(snap);
		}
		uint32_t len = stream_next(&s, kvs[0]);
		struct aeg_kv_result res[3];
		int rc[3];
		int n = kvs[2] != NULL ? 3 : 2;
		for (int i = 0; i < n; i++)
			rc[i] = aeg_kv_apply(kvs[i], index, s.buf, len, &res[i]);
		for (int i = 1; i < n; i++) {
			CHECK(&s.p, rc[i] == rc[0]);
			CHECK(&s.p, memcmp(&res[i], &res[0], sizeof(res[0])) == 0);
		}
		CHECK(&s.p, rc[0] == 0 || rc[0] == -EINVAL);
		junk += rc[0] != 0;
		statuses[res[0].status]++;
		dups += res[0].duplicate;
		struct aeg_kv_stats st;
		aeg_kv_stats_get(kvs[0], &st);
		CHECK(&s.p, st.session_results <= st.sessions * STREAM_RESULTS);
		CHECK(&s.p, st.logical_bytes <= stream_limits.mem_bytes_max + STREAM_SESSION_BYTES_MAX);
		if (index % 1000 == 0)
			expect_same_snapshots(&s.p, kvs, n);
	}
	expect_same_snapshots(&s.p, kvs, 3);
	/* The stream must have reached every outcome, or it tests too little. */
	for (int st = 0; st <= AEG_KV_STATUS_MAX; st++) {
		if (statuses[st] == 0)
			fprintf(stderr, "no %s in the stream\n", aeg_kv_status_name(st));
		CHECK(&s.p, statuses[st] > 0);
	}
	printf("kv_determinism: ok %d, expired %d, duplicates %d, junk %d\n", statuses[AEG_KV_OK],
	       statuses[AEG_KV_SESSION_EXPIRED], dups, junk);
	CHECK(&s.p, dups > 0 && junk > 0);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kvs[0], &st);
	CHECK(&s.p, st.sessions <= stream_limits.sessions_max);
	for (int i = 0; i < 3; i++)
		aeg_kv_free(kvs[i]);
}

static void test_determinism(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0x6b76de7e);
	int runs = test_seed_from_env(&seed) ? 1 : 8;
	for (int i = 0; i < runs; i++) {
		test_seed_print("kv_determinism", seed + (uint64_t)i);
		run_determinism(seed + (uint64_t)i);
	}
}

/* A small kv with keys, an empty value, and sessions. */
static struct aeg_kv *small_kv(void)
{
	struct aeg_kv *kv = new_kv(0);
	const char *keys[] = { "b", "a", "ab", "c" };
	uint64_t index = 0;
	for (int i = 0; i < 4; i++) {
		struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, keys[i], i == 2 ? "" : "val");
		c.client_id = (uint64_t)i % 3 + 1;
		c.seq = (uint64_t)i + 1;
		c.time_ms = 10 * (uint64_t)i; /* one-byte varints */
		kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	}
	return kv;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct aeg_kv *kv = small_kv();
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	assert_int_equal(aeg_kv_snapshot_write(kv, snap, len - 1), -EMSGSIZE);
	struct aeg_kv *copy = new_kv(777);
	assert_int_equal(aeg_kv_snapshot_load(copy, snap, len), 0);
	assert_true(kv_test_snap_equals(copy, snap, len));
	assert_int_equal(aeg_kv_applied(copy), 4);
	const uint8_t *v;
	uint32_t vlen;
	uint64_t ver;
	assert_int_equal(aeg_kv_get(copy, "ab", 2, &v, &vlen, &ver), 0);
	assert_int_equal(vlen, 0);
	assert_int_equal(ver, 3);
	struct aeg_kv_stats a, b;
	aeg_kv_stats_get(kv, &a);
	aeg_kv_stats_get(copy, &b);
	assert_int_equal(a.keys, b.keys);
	assert_int_equal(a.logical_bytes, b.logical_bytes);
	assert_int_equal(a.sessions, 3);
	assert_int_equal(b.sessions, 3);
	/* Sessions came along: a retry is a duplicate on the copy. */
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "c", "val");
	c.client_id = 1;
	c.seq = 4;
	c.time_ms = 30;
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(copy, 5, &c, &res), 0);
	assert_true(res.duplicate);
	assert_int_equal(res.version, 4);
	/* Loading over a non-empty kv replaces everything. */
	assert_int_equal(aeg_kv_snapshot_load(copy, snap, len), 0);
	assert_true(kv_test_snap_equals(copy, snap, len));
	/* Empty kv: header only. */
	struct aeg_kv *empty = new_kv(0);
	assert_int_equal(aeg_kv_snapshot_size(empty), AEG_KV_SNAP_HDR_BYTES);
	size_t elen;
	uint8_t *esnap = kv_test_snap(empty, &elen);
	assert_int_equal(aeg_kv_snapshot_load(copy, esnap, elen), 0);
	assert_int_equal(aeg_kv_applied(copy), 0);
	assert_int_equal(aeg_kv_get(copy, "a", 1, NULL, NULL, NULL), -ENOENT);
	free(esnap);
	free(snap);
	aeg_kv_free(empty);
	aeg_kv_free(copy);
	aeg_kv_free(kv);
}

/* Keys that share long prefixes, hold zero bytes, or extend one another
 * (the sort compares 16-byte prefixes first and the full keys on a tie):
 * the snapshot must list them in key_cmp order, which the load checks
 * strictly, and load back to the same bytes under another table layout. */
static void test_key_order(void **state)
{
	(void)state;
	struct aeg_kv_limits lim = { .key_bytes_max = 40, .value_bytes_max = 8, .session_results_max = 4 };
	struct aeg_kv *kv, *copy;
	assert_int_equal(aeg_kv_new(&kv, &lim, NULL), 0);
	lim.hash_seed = 99;
	assert_int_equal(aeg_kv_new(&copy, &lim, NULL), 0);
	struct prng p;
	prng_init(&p, 0x50a7);
	static const uint8_t alphabet[] = { 0x00, 0x01, 'a', 0xff };
	uint64_t index = 0;
	for (int i = 0; i < 3000; i++) {
		uint8_t key[40];
		/* Mostly 15..18 bytes: ties on the 16-byte prefix are common. */
		uint32_t len = prng_below(&p, 4) != 0 ? 15 + (uint32_t)prng_below(&p, 4)
						     : 1 + (uint32_t)prng_below(&p, 40);
		for (uint32_t k = 0; k < len; k++)
			key[k] = k < 12 ? 'k' : alphabet[prng_below(&p, sizeof(alphabet))];
		struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = key, .key_len = len, .value = "v", .value_len = 1 };
		struct aeg_kv_result res;
		assert_int_equal(kv_test_apply(kv, ++index, &c, &res), 0);
		assert_int_equal(res.status, AEG_KV_OK);
	}
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	assert_int_equal(aeg_kv_snapshot_load(copy, snap, len), 0);
	assert_true(kv_test_snap_equals(copy, snap, len));
	free(snap);
	aeg_kv_free(copy);
	aeg_kv_free(kv);
}

static void test_truncations_and_flips(void **state)
{
	(void)state;
	struct aeg_kv *kv = small_kv();
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	/* The target holds other state that must survive every refusal. */
	struct aeg_kv *target = new_kv(0);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "zz", "keep");
	kv_test_ok(target, 9, &c, AEG_KV_OK);
	size_t tlen;
	uint8_t *tsnap = kv_test_snap(target, &tlen);
	for (size_t n = 0; n < len; n++) {
		int rc = aeg_kv_snapshot_load(target, snap, n);
		assert_true(rc == (n < AEG_KV_SNAP_HDR_BYTES ? -EMSGSIZE : -EINVAL));
	}
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, snap, len);
	longer[len] = 0;
	assert_int_equal(aeg_kv_snapshot_load(target, longer, len + 1), -EINVAL);
	free(longer);
	for (size_t bit = 0; bit < len * 8; bit++) {
		snap[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(aeg_kv_snapshot_load(target, snap, len), -EINVAL);
		snap[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_true(kv_test_snap_equals(target, tsnap, tlen));
	assert_int_equal(aeg_kv_snapshot_load(target, snap, len), 0);
	assert_true(kv_test_snap_equals(target, snap, len));
	free(snap);
	free(tsnap);
	aeg_kv_free(target);
	aeg_kv_free(kv);
}

static void fix_crc(uint8_t *buf, size_t len)
{
	memset(buf + 40, 0, 4);
	uint32_t crc = aeg_crc32c(0, buf, len);
	for (int i = 0; i < 4; i++)
		buf[40 + i] = (uint8_t)(crc >> (8 * i));
}

/* Wrong contents under a valid CRC: each refused. */
static void test_structure_refused(void **state)
{
	(void)state;
	struct aeg_kv *kv = small_kv();
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	uint8_t *bad = malloc(len);
	struct aeg_kv *target = new_kv(0);
	/* The CRC rewrite alone changes nothing. */
	memcpy(bad, snap, len);
	fix_crc(bad, len);
	assert_int_equal(aeg_kv_snapshot_load(target, bad, len), 0);
	/* Body starts with key "a" (1, 3, version 2, 'a', "val") then "ab". */
	const size_t body = AEG_KV_SNAP_HDR_BYTES;
	assert_int_equal(snap[body + 3], 'a');
	struct {
		size_t off;
		uint8_t val;
	} cases[] = {
		{ 0, 'X' },           /* magic */
		{ 4, 4 },             /* format */
		{ 4, 1 },             /* format 1 (no windows) is refused */
		{ 44, 1 },            /* the fence flag without a fence */
		{ 44, 2 },            /* an unknown flag */
		{ 8, 1 },             /* applied 1 < versions */
		{ 24, 5 },            /* key count */
		{ 32, 2 },            /* session count */
		{ body + 3, 'b' },    /* "b" before "ab": out of order */
		{ body + 2, 0 },      /* version 0 */
		{ body + 0, 0 },      /* empty key */
		{ 16, 0 },            /* now_ms 0 < sessions' last_ms */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, snap, len);
		bad[cases[i].off] = cases[i].val;
		fix_crc(bad, len);
		assert_int_equal(aeg_kv_snapshot_load(target, bad, len), -EINVAL);
	}
	/* Sessions in LRU order: client 2 (id, floor, last_ms, count, then
	 * seq, version, status per result) = 2 0 10 1 | 2 2 0, client 3 =
	 * 3 0 20 1 | 3 3 0, client 1 = 1 0 30 2 | 1 1 0 | 4 4 0. */
	const uint8_t tail[] = { 2, 0, 10, 1, 2, 2, 0, 3, 0, 20, 1, 3, 3, 0,
				 1, 0, 30, 2, 1, 1, 0, 4, 4, 0 };
	assert_memory_equal(snap + len - sizeof(tail), tail, sizeof(tail));
	const size_t c1 = len - 10; /* client 1's session */
	struct {
		size_t off;
		uint8_t val;
	} sess_cases[] = {
		{ c1, 3 },                        /* two sessions of client 3 */
		{ c1 + 1, 1 },                    /* floor 1: seq 1 not above it */
		{ c1 + 2, 5 },                    /* last_ms older than the one before */
		{ c1 + 3, 3 },                    /* more results than there are */
		{ c1 + 3, 1 },                    /* fewer: trailing bytes */
		{ c1 + 7, 1 },                    /* seqs 1, 1: not ascending */
		{ c1 + 8, 5 },                    /* version past applied (4) */
		{ c1 + 5, 0x80 },                 /* a varint running into the next */
		{ c1 + 9, AEG_KV_STATUS_MAX + 1 }, /* unknown status */
		{ c1 + 9, AEG_KV_SESSION_EXPIRED }, /* never remembered */
	};
	for (size_t i = 0; i < sizeof(sess_cases) / sizeof(sess_cases[0]); i++) {
		memcpy(bad, snap, len);
		bad[sess_cases[i].off] = sess_cases[i].val;
		fix_crc(bad, len);
		assert_int_equal(aeg_kv_snapshot_load(target, bad, len), -EINVAL);
	}
	/* Every refusal left the target as it was. Neighbours of those cases
	 * are fine: a version equal to applied, seqs 1, 3, another status. */
	assert_true(kv_test_snap_equals(target, snap, len));
	const struct {
		size_t off;
		uint8_t val;
	} ok_cases[] = { { c1 + 8, 4 }, { c1 + 7, 3 }, { c1 + 9, AEG_KV_NO_SPACE } };
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		memcpy(bad, snap, len);
		bad[ok_cases[i].off] = ok_cases[i].val;
		fix_crc(bad, len);
		assert_int_equal(aeg_kv_snapshot_load(target, bad, len), 0);
		assert_true(kv_test_snap_equals(target, bad, len));
	}
	assert_int_equal(aeg_kv_snapshot_load(target, snap, len), 0);
	assert_true(kv_test_snap_equals(target, snap, len));
	free(bad);
	free(snap);
	aeg_kv_free(target);
	aeg_kv_free(kv);
}

static void test_load_fewer_sessions(void **state)
{
	(void)state;
	struct aeg_kv *kv = small_kv();
	size_t len;
	uint8_t *snap = kv_test_snap(kv, &len);
	struct aeg_kv_limits lim = stream_limits;
	lim.sessions_max = 2;
	struct aeg_kv *small;
	assert_int_equal(aeg_kv_new(&small, &lim, NULL), 0);
	assert_int_equal(aeg_kv_snapshot_load(small, snap, len), 0);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(small, &st);
	assert_int_equal(st.sessions, 2);
	/* Uses: client 1 at i=0, 2 at i=1, 3 at i=2, 1 at i=3: so client 2 is
	 * the oldest and was dropped; 3 and 1 are remembered. */
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "q", "v");
	c.time_ms = 300;
	struct aeg_kv_result res;
	uint64_t index = 10;
	const uint64_t seq_of[4] = { 0, 4, 2, 3 };
	const uint64_t ids[3] = { 1, 3, 2 }; /* 2 last: its new session evicts one */
	for (int i = 0; i < 3; i++) {
		uint64_t id = ids[i];
		c.client_id = id;
		c.seq = seq_of[id];
		assert_int_equal(kv_test_apply(small, ++index, &c, &res), 0);
		assert_int_equal(res.duplicate, id != 2);
	}
	free(snap);
	aeg_kv_free(small);
	aeg_kv_free(kv);
}

/* The view's bytes after a change are still the snapshot of open time. */
static void view_still(struct aeg_kv_view *v, const uint8_t *want, size_t len)
{
	assert_int_equal(aeg_kv_view_size(v), len);
	uint8_t *got = malloc(len);
	assert_non_null(got);
	assert_int_equal(aeg_kv_view_write(v, got, len - 1), -EMSGSIZE);
	assert_int_equal(aeg_kv_view_write(v, got, len), 0);
	assert_memory_equal(got, want, len);
	free(got);
}

static uint64_t fill(struct aeg_kv *kv, uint64_t index, uint32_t n, const char *tag)
{
	for (uint32_t i = 0; i < n; i++) {
		char k[32], val[64];
		snprintf(k, sizeof(k), "key-%05u", i);
		snprintf(val, sizeof(val), "%s-%u-%0*u", tag, i, (int)(i % 40), 7u);
		struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, k, val);
		c.client_id = 1 + i % 5;
		c.seq = index;
		c.time_ms = 1000 + index;
		kv_test_ok(kv, ++index, &c, AEG_KV_OK);
	}
	return index;
}

/* A view taken, then every kind of change that lets entries go (PUT over
 * a key, DEL, COPY_BATCH over keys, DROP_FROM, a snapshot load): the view
 * still writes the bytes of open time (ASan: no entry it holds was freed);
 * the kv's own snapshot follows the changes; a second view is -EBUSY;
 * every byte comes back (the counting allocator); a kv freed with its view
 * open leaves the view whole. */
static void test_view_survives_changes(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	uint64_t index = fill(kv, 0, 600, "a");
	struct aeg_kv_cmd f = kv_test_cmd(AEG_KV_FENCE, "key-00590", NULL);
	kv_test_ok(kv, ++index, &f, AEG_KV_OK);
	size_t len;
	uint8_t *want = kv_test_snap(kv, &len);
	struct aeg_kv_view *v, *v2;
	assert_int_equal(aeg_kv_view_open(kv, &v), 0);
	assert_int_equal(aeg_kv_view_applied(v), index);
	assert_int_equal(aeg_kv_view_open(kv, &v2), -EBUSY);
	view_still(v, want, len);
	struct aeg_kv_cmd u = kv_test_cmd(AEG_KV_UNFENCE, "", NULL);
	kv_test_ok(kv, ++index, &u, AEG_KV_OK);
	index = fill(kv, index, 300, "b");           /* replaces 300 */
	view_still(v, want, len);
	struct aeg_kv_cmd d = kv_test_cmd(AEG_KV_DEL, "key-00007", NULL);
	kv_test_ok(kv, ++index, &d, AEG_KV_OK);
	uint8_t val[256];
	size_t vl = 0;
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "key-00010", 9, "c1", 2, 5), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "key-00011", 9, "c2", 2, 6), 0);
	assert_int_equal(aeg_kv_copy_batch_add(val, sizeof(val), &vl, "zz-new", 6, "c3", 2, 7), 0);
	struct aeg_kv_cmd b = { .op = AEG_KV_COPY_BATCH, .value = val, .value_len = (uint32_t)vl };
	kv_test_ok(kv, ++index, &b, AEG_KV_OK);
	struct aeg_kv_cmd drop = kv_test_cmd(AEG_KV_DROP_FROM, "key-00500", NULL);
	kv_test_ok(kv, ++index, &drop, AEG_KV_OK);
	view_still(v, want, len);
	assert_false(kv_test_snap_equals(kv, want, len));
	/* A load replaces every entry. */
	struct aeg_kv *other;
	assert_int_equal(aeg_kv_new(&other, NULL, NULL), 0);
	(void)fill(other, 0, 50, "o");
	size_t olen;
	uint8_t *osnap = kv_test_snap(other, &olen);
	assert_int_equal(aeg_kv_snapshot_load(kv, osnap, olen), 0);
	assert_true(kv_test_snap_equals(kv, osnap, olen));
	view_still(v, want, len);
	/* Closing gives back what was kept; a new view is possible. */
	aeg_kv_view_close(v);
	assert_int_equal(aeg_kv_view_open(kv, &v), 0);
	view_still(v, osnap, olen);
	/* Freed with the view open: the view keeps its entries. */
	index = fill(kv, aeg_kv_applied(kv), 20, "p");
	aeg_kv_free(kv);
	view_still(v, osnap, olen);
	aeg_kv_view_close(v);
	assert_int_equal(ta.live_blocks, 0);
	assert_int_equal(ta.live_bytes, 0);
	aeg_kv_free(other);
	free(osnap);
	free(want);
}

/* With a view open, the room to keep a replaced entry is taken first: an
 * allocator that fails there leaves the kv as it was (-ENOMEM). */
static void test_view_reserve_fails_cleanly(void **state)
{
	(void)state;
	struct kv_test_alloc ta = { .left = -1 };
	struct aeg_kv_alloc a = { kv_test_alloc_fn, kv_test_free_fn, &ta };
	struct aeg_kv *kv;
	assert_int_equal(aeg_kv_new(&kv, NULL, &a), 0);
	uint64_t index = fill(kv, 0, 100, "a");
	struct aeg_kv_view *v;
	assert_int_equal(aeg_kv_view_open(kv, &v), 0);
	size_t len;
	uint8_t *before = kv_test_snap(kv, &len);
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "key-00003", "new");
	struct aeg_kv_result res;
	ta.left = 0;
	assert_int_equal(kv_test_apply(kv, index + 1, &c, &res), -ENOMEM);
	struct aeg_kv_cmd drop = kv_test_cmd(AEG_KV_DROP_FROM, "key-00050", NULL);
	assert_int_equal(kv_test_apply(kv, index + 1, &drop, &res), -ENOMEM);
	ta.left = -1;
	assert_true(kv_test_snap_equals(kv, before, len));
	view_still(v, before, len);
	kv_test_ok(kv, index + 1, &c, AEG_KV_OK);
	view_still(v, before, len);
	aeg_kv_view_close(v);
	aeg_kv_free(kv);
	assert_int_equal(ta.live_blocks, 0);
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_truncations_and_flips),
		cmocka_unit_test(test_structure_refused),
		cmocka_unit_test(test_load_fewer_sessions),
		cmocka_unit_test(test_view_survives_changes),
		cmocka_unit_test(test_view_reserve_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
