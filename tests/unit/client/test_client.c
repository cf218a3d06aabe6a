/* The client library against a fake cluster in the same process
 * (fake_cluster.h: real sockets, the client codec, a real lib/kv per shard):
 * open fetches the map, sync put/get/del/cas, redirects to the leader with
 * and without a hint, a stale epoch refetches the map, a dropped reply is
 * retried with the same seq and applies once, timeouts, pipelined async ops
 * packed into few datagrams, values of 300 KiB and 1 MiB in parts both ways
 * with a lost part, and the argument checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/client.h"
#include "aegis/client_scan.h"
#include "fake_cluster.h"
#include "test_prng.h"

static struct fake fk;

static struct aeg_client *open_client(uint32_t timeout_ms, uint32_t retries)
{
	char a[3][64];
	const char *nodes[3];
	for (uint32_t i = 0; i < 3; i++) {
		fake_addr(&fk, i + 1, a[i], sizeof(a[i]));
		nodes[i] = a[i];
	}
	struct aeg_client_cfg cfg = {.nodes = nodes, .node_count = 3, .key = fk.key,
				     .timeout_ms = timeout_ms, .retries = retries};
	struct aeg_client *c = NULL;
	int rc = aeg_client_open(&c, &cfg);
	if (rc != 0)
		fail_msg("open: %d", rc);
	return c;
}

static int setup(void **state)
{
	(void)state;
	fake_start(&fk);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_stop(&fk);
	return 0;
}

static void test_parse_addr(void **state)
{
	(void)state;
	struct aeg_client_addr a;
	assert_int_equal(aeg_client_parse_addr("7=10.1.2.3:7000", &a), 0);
	assert_int_equal(a.id, 7);
	assert_int_equal(a.ipv4, 0x0a010203);
	assert_int_equal(a.port, 7000);
	const char *bad[] = {"", "7", "=1.2.3.4:5", "0=1.2.3.4:5", "7=1.2.3.4", "7=1.2.3:5",
			     "7=1.2.3.4:0", "7=1.2.3.4:65536", "7=1.2.3.4:x", "7=1.2.3.4:5x",
			     "x=1.2.3.4:5", "7=host:5", "7=1.2.3.4:-5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (aeg_client_parse_addr(bad[i], &a) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_open_fails(void **state)
{
	(void)state;
	struct aeg_client *c;
	struct aeg_client_cfg cfg = {.key = fk.key};
	assert_int_equal(aeg_client_open(&c, &cfg), -EINVAL); /* no address */
	const char *bad[] = {"nonsense"};
	cfg.nodes = bad, cfg.node_count = 1;
	assert_int_equal(aeg_client_open(&c, &cfg), -EINVAL);
	/* Nobody answers (a closed port): -ETIMEDOUT after the retries. */
	struct aeg_client_addr none = {.id = 9, .ipv4 = 0x7f000001, .port = 9};
	cfg = (struct aeg_client_cfg){.addrs = &none, .addr_count = 1, .key = fk.key,
				      .timeout_ms = 10, .retries = 2};
	assert_int_equal(aeg_client_open(&c, &cfg), -ETIMEDOUT);
	/* The wrong key: every reply is refused as forged. */
	char a[64];
	const char *nodes[] = {a};
	fake_addr(&fk, 1, a, sizeof(a));
	cfg = (struct aeg_client_cfg){.nodes = nodes, .node_count = 1, .key = fk.key,
				      .timeout_ms = 10, .retries = 1};
	cfg.key.bytes[0] ^= 1;
	assert_int_equal(aeg_client_open(&c, &cfg), -ETIMEDOUT);
	fake_lock(&fk);
	assert_true(fk.parse_drops >= 2);
	fake_unlock(&fk);
}

static void test_sync_ops(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	assert_int_not_equal(aeg_client_id(c), 0);
	assert_int_equal(aeg_client_map_epoch(c), 1);
	uint64_t v1, v2, v;
	char buf[64];
	uint32_t len = sizeof(buf);
	assert_int_equal(aeg_client_get(c, "k1", 2, buf, &len, 0, &v), AEG_CLIENT_NOT_FOUND);
	assert_int_equal(aeg_client_put(c, "k1", 2, "hello", 5, AEG_CLIENT_QUORUM, &v1), 0);
	assert_true(v1 > 0);
	len = sizeof(buf);
	assert_int_equal(aeg_client_get(c, "k1", 2, buf, &len, AEG_CLIENT_ONE, &v), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(v, v1);
	/* A buffer too small: -ENOBUFS and the length needed. */
	len = 3;
	assert_int_equal(aeg_client_get(c, "k1", 2, buf, &len, 0, NULL), -ENOBUFS);
	assert_int_equal(len, 5);
	/* CAS: a wrong version gives the current one; the right one wins. */
	assert_int_equal(aeg_client_cas(c, "k1", 2, "x", 1, v1 + 100, 0, &v),
			 AEG_CLIENT_VERSION_MISMATCH);
	assert_int_equal(v, v1);
	assert_int_equal(aeg_client_cas(c, "k1", 2, "world", 5, v1, 0, &v2), AEG_CLIENT_OK);
	assert_true(v2 > v1);
	assert_int_equal(aeg_client_cas(c, "k2", 2, "new", 3, 0, 0, &v), AEG_CLIENT_OK);
	assert_int_equal(aeg_client_del(c, "k1", 2, 0), AEG_CLIENT_OK);
	assert_int_equal(aeg_client_del(c, "k1", 2, 0), AEG_CLIENT_NOT_FOUND);
	len = sizeof(buf);
	assert_int_equal(aeg_client_get(c, "k1", 2, buf, &len, 0, NULL), AEG_CLIENT_NOT_FOUND);
	fake_lock(&fk);
	assert_int_equal(fk.wrong_shard, 0);
	assert_int_equal(fk.wrong_worker, 0);
	fake_unlock(&fk);
	aeg_client_close(c);
}

/* Every shard led by node 3: the first op of a shard whose preferred
 * leader is another node is redirected once, later ones go straight. */
static void test_redirect(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	fake_lock(&fk);
	uint32_t moved = 0;
	for (uint32_t s = 0; s < FAKE_SHARDS; s++) {
		moved += fk.leader[s] != 3;
		fk.leader[s] = 3;
	}
	uint64_t nl0 = fk.not_leader;
	fake_unlock(&fk);
	assert_true(moved > 0);
	char key[16];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 64; i++) {
			int n = snprintf(key, sizeof(key), "r%d", i);
			assert_int_equal(aeg_client_put(c, key, (uint32_t)n, "v", 1, 0, NULL), 0);
		}
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	fake_lock(&fk);
	/* At most one redirect per shard whose preferred leader was not 3. */
	assert_true(fk.not_leader - nl0 >= 1 && fk.not_leader - nl0 <= moved);
	assert_int_equal(st.redirects, fk.not_leader - nl0);
	/* No hint: the client tries the next replica after a pause. */
	fk.hint = false;
	for (uint32_t s = 0; s < FAKE_SHARDS; s++)
		fk.leader[s] = 1;
	fake_unlock(&fk);
	for (int i = 0; i < 64; i++) {
		int n = snprintf(key, sizeof(key), "r%d", i);
		assert_int_equal(aeg_client_put(c, key, (uint32_t)n, "w", 1, 0, NULL), 0);
	}
	fake_lock(&fk);
	fk.hint = true;
	fake_unlock(&fk);
	aeg_client_close(c);
}

static void test_stale_epoch(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	uint64_t e = aeg_client_map_epoch(c);
	fake_bump_epoch(&fk);
	assert_int_equal(aeg_client_put(c, "se", 2, "v", 1, 0, NULL), AEG_CLIENT_OK);
	assert_int_equal(aeg_client_map_epoch(c), e + 1);
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_int_equal(st.stale_epochs, 1);
	assert_int_equal(st.map_fetches, 2); /* open, then the refetch */
	aeg_client_close(c);
}

/* The node applies the write and its reply is lost: the retry (same seq)
 * gets the remembered result and nothing is applied twice. */
static void test_lost_reply_applies_once(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(50, 5);
	fake_lock(&fk);
	uint64_t applied0 = fk.applied, dup0 = fk.duplicates;
	fk.drop_write_replies = 1;
	fake_unlock(&fk);
	uint64_t v1, v;
	assert_int_equal(aeg_client_put(c, "once", 4, "1", 1, 0, &v1), AEG_CLIENT_OK);
	fake_lock(&fk);
	assert_int_equal(fk.applied - applied0, 1);
	assert_int_equal(fk.duplicates - dup0, 1);
	fake_unlock(&fk);
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_int_equal(st.retransmits, 1);
	char buf[8];
	uint32_t len = sizeof(buf);
	assert_int_equal(aeg_client_get(c, "once", 4, buf, &len, 0, &v), AEG_CLIENT_OK);
	assert_int_equal(v, v1); /* the version of the one apply */
	aeg_client_close(c);
}

static void test_timeout(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(20, 3);
	fake_lock(&fk);
	fk.drop_requests = -1;
	fake_unlock(&fk);
	assert_int_equal(aeg_client_put(c, "t", 1, "v", 1, 0, NULL), AEG_CLIENT_TIMEOUT);
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_int_equal(st.retransmits, 3);
	assert_int_equal(st.timeouts, 1);
	fake_lock(&fk);
	fk.drop_requests = 0;
	fake_unlock(&fk);
	/* The same client works again once the node answers. */
	assert_int_equal(aeg_client_put(c, "t", 1, "v", 1, 0, NULL), AEG_CLIENT_OK);
	aeg_client_close(c);
}

struct tally {
	uint32_t done, ok;
};

static void count_done(struct aeg_client_op *op);

/* Node 1 is dead, node 2 leads every shard: a pipelined wave finds node 1
 * dead once (each op routed there costs one timeout, not two: the first
 * retry skips the suspect), and operations after the wave go to the other
 * replicas at once, sending nothing more to node 1. */
static void test_dead_node_suspected(void **state)
{
	(void)state;
	enum { N = 64 };
	fake_lock(&fk);
	for (uint32_t s = 0; s < FAKE_SHARDS; s++)
		fk.leader[s] = 2;
	fk.dead[1] = true;
	fake_unlock(&fk);
	/* 500 ms attempts: node 1 stays suspected for 2 s, far longer than
	 * the second phase takes. */
	struct aeg_client *c = open_client(500, 5);
	struct aeg_client_stats st0, st;
	aeg_client_get_stats(c, &st0);
	static struct aeg_client_op ops[N];
	static char keys[N][16];
	struct tally t = {0};
	uint32_t via_dead = 0;
	for (int i = 0; i < N; i++) {
		int kl = snprintf(keys[i], 16, "dn%d", i);
		uint32_t n, s = aeg_shard_for_key(fk.map, keys[i], (uint32_t)kl);
		via_dead += aeg_shard_replicas(fk.map, s, &n)[0] == 1;
		ops[i] = (struct aeg_client_op){.op = AEG_CLIENT_PUT, .key = keys[i],
			.key_len = (uint32_t)kl, .value = "v", .value_len = 1, .done = count_done,
			.user = &t};
		assert_int_equal(aeg_client_submit(c, &ops[i]), 0);
	}
	while (t.done < N)
		assert_true(aeg_client_poll(c, 100) >= 0);
	assert_int_equal(t.ok, N);
	aeg_client_get_stats(c, &st);
	assert_true(via_dead > 0);
	assert_int_equal(st.suspects - st0.suspects, 1);
	/* At most one resend per op that went to node 1 first (all of them
	 * leave in the first wave: N is under writes_per_shard_max). */
	assert_true(st.retransmits - st0.retransmits <= via_dead);
	assert_true(st.suspect_skips > st0.suspect_skips);
	fake_lock(&fk);
	uint64_t dead0 = fk.to_dead[1];
	fake_unlock(&fk);
	char key[16];
	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "dm%d", i);
		assert_int_equal(aeg_client_put(c, key, (uint32_t)n, "w", 1, 0, NULL), AEG_CLIENT_OK);
	}
	struct aeg_client_stats st2;
	aeg_client_get_stats(c, &st2);
	fake_lock(&fk);
	assert_int_equal(fk.to_dead[1], dead0);
	fk.dead[1] = false;
	fake_unlock(&fk);
	assert_int_equal(st2.retransmits, st.retransmits);
	aeg_client_close(c);
}

static void count_done(struct aeg_client_op *op)
{
	struct tally *t = op->user;
	t->done++;
	t->ok += op->status == AEG_CLIENT_OK;
}

/* 2000 puts then 2000 gets through the async API: every one completes once,
 * values come back, and requests share datagrams. */
static void test_pipelined(void **state)
{
	(void)state;
	enum { N = 2000 };
	static struct aeg_client_op ops[N];
	static char keys[N][16], vals[N][16], got[N][16];
	struct aeg_client *c = open_client(200, 5);
	fake_lock(&fk);
	uint64_t d0 = fk.dgrams, i0 = fk.items;
	fake_unlock(&fk);
	for (int pass = 0; pass < 2; pass++) {
		struct tally t = {0};
		for (int i = 0; i < N; i++) {
			struct aeg_client_op *op = &ops[i];
			int kl = snprintf(keys[i], 16, "p%d", i), vl = snprintf(vals[i], 16, "v%d", i * 7);
			*op = (struct aeg_client_op){.op = pass ? AEG_CLIENT_GET : AEG_CLIENT_PUT,
				.key = keys[i], .key_len = (uint32_t)kl, .done = count_done, .user = &t};
			if (pass)
				op->buf = got[i], op->buf_cap = 16;
			else
				op->value = vals[i], op->value_len = (uint32_t)vl;
			int rc;
			while ((rc = aeg_client_submit(c, op)) == -EAGAIN)
				assert_true(aeg_client_poll(c, 100) >= 0);
			assert_int_equal(rc, 0);
		}
		while (t.done < N)
			assert_true(aeg_client_poll(c, 100) >= 0);
		assert_int_equal(t.done, N);
		assert_int_equal(t.ok, N);
		assert_int_equal(aeg_client_outstanding(c), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(ops[i].value_len, strlen(vals[i]));
		assert_memory_equal(got[i], vals[i], ops[i].value_len);
	}
	fake_lock(&fk);
	uint64_t dgrams = fk.dgrams - d0, items = fk.items - i0;
	fake_unlock(&fk);
	fprintf(stderr, "pipelined: %llu items in %llu datagrams\n", (unsigned long long)items,
		(unsigned long long)dgrams);
	assert_true(items >= 2 * N);
	/* Gets pack freely; puts go one per shard at a time (the session rule). */
	assert_true(dgrams < items / 2);
	aeg_client_close(c);
}

/* A write's request is lost; while it waits for its retry, many more writes
 * to the same shard complete. The node's session keeps 1024 results per
 * client and shard: without the client's window rule the later writes would
 * push the lost one out and its retry would get SESSION_EXPIRED (outcome
 * unknown). With it the shard waits for the retry, and every write applies
 * once and succeeds. */
static void test_lost_request_not_expired(void **state)
{
	(void)state;
	enum { N = AEG_CLIENT_SESSION_WINDOW + 200 };
	static struct aeg_client_op ops[N + 1];
	static char keys[N + 1][24];
	struct aeg_client *c = open_client(100, 5);
	uint32_t shard = UINT32_MAX;
	struct tally t = {0};
	int n = 0;
	for (int i = 0; n <= N; i++) {
		int kl = snprintf(keys[n], sizeof(keys[n]), "lost%d", i);
		uint32_t s = aeg_shard_for_key(fk.map, keys[n], (uint32_t)kl);
		if (shard == UINT32_MAX)
			shard = s;
		if (s != shard)
			continue;
		ops[n] = (struct aeg_client_op){.op = AEG_CLIENT_PUT, .key = keys[n], .key_len = (uint32_t)kl,
						.value = "v", .value_len = 1, .done = count_done, .user = &t};
		n++;
	}
	fake_lock(&fk);
	fk.drop_requests = 1;
	uint64_t applied0 = fk.applied;
	fake_unlock(&fk);
	assert_int_equal(aeg_client_submit(c, &ops[0]), 0);
	for (int guard = 0; guard < 100; guard++) {
		assert_true(aeg_client_poll(c, 1) >= 0);
		fake_lock(&fk);
		int left = fk.drop_requests;
		fake_unlock(&fk);
		if (left == 0)
			break;
	}
	for (int i = 1; i <= N; i++) {
		int rc;
		while ((rc = aeg_client_submit(c, &ops[i])) == -EAGAIN)
			assert_true(aeg_client_poll(c, 100) >= 0);
		assert_int_equal(rc, 0);
	}
	while (t.done < N + 1)
		assert_true(aeg_client_poll(c, 100) >= 0);
	for (int i = 0; i <= N; i++)
		if (ops[i].status != AEG_CLIENT_OK)
			fail_msg("write %d: status %d", i, ops[i].status);
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_true(st.retransmits >= 1);
	assert_true(st.session_waits >= 1);
	fake_lock(&fk);
	assert_int_equal(fk.applied - applied0, N + 1);
	fake_unlock(&fk);
	aeg_client_close(c);
}

static void large_round_trip(struct aeg_client *c, uint32_t size, struct prng *p,
			     int drop_req_part, int drop_resp_part)
{
	uint8_t *v = malloc(size), *back = malloc(size);
	assert_non_null(v);
	assert_non_null(back);
	for (uint32_t i = 0; i < size; i++)
		v[i] = (uint8_t)prng_next(p);
	fake_lock(&fk);
	fk.drop_req_part = drop_req_part;
	fake_unlock(&fk);
	uint64_t ver, ver2;
	CHECK(p, aeg_client_put(c, "big", 3, v, size, 0, &ver) == AEG_CLIENT_OK);
	fake_lock(&fk);
	fk.drop_resp_part = drop_resp_part;
	fake_unlock(&fk);
	uint32_t len = size;
	CHECK(p, aeg_client_get(c, "big", 3, back, &len, 0, &ver2) == AEG_CLIENT_OK);
	CHECK(p, len == size && ver2 == ver && memcmp(v, back, size) == 0);
	fake_lock(&fk);
	CHECK(p, fk.drop_req_part == -1 && fk.drop_resp_part == -1); /* the drops happened */
	fake_unlock(&fk);
	free(v);
	free(back);
}

/* 16 large values written and read back at once: at most
 * large_inflight_max (4) go at a time, so the 8 reassembly slots never run
 * out and nothing is lost or resent. */
static void test_large_inflight(void **state)
{
	(void)state;
	enum { N = 16, SIZE = 200 * 1024 };
	static struct aeg_client_op ops[N];
	static char keys[N][16];
	static uint8_t vals[N][SIZE], back[N][SIZE];
	struct aeg_client *c = open_client(2000, 5);
	for (int pass = 0; pass < 2; pass++) {
		struct tally t = {0};
		for (int i = 0; i < N; i++) {
			int kl = snprintf(keys[i], 16, "li%d", i);
			memset(vals[i], 'a' + i, SIZE);
			ops[i] = (struct aeg_client_op){.op = pass ? AEG_CLIENT_GET : AEG_CLIENT_PUT,
				.key = keys[i], .key_len = (uint32_t)kl, .done = count_done, .user = &t};
			if (pass)
				ops[i].buf = back[i], ops[i].buf_cap = SIZE;
			else
				ops[i].value = vals[i], ops[i].value_len = SIZE;
			assert_int_equal(aeg_client_submit(c, &ops[i]), 0);
		}
		while (t.done < N)
			assert_true(aeg_client_poll(c, 100) >= 0);
		assert_int_equal(t.ok, N);
	}
	for (int i = 0; i < N; i++)
		assert_memory_equal(back[i], vals[i], SIZE);
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_true(st.large_waits > 0);
	assert_int_equal(st.reasm_refused, 0);
	assert_int_equal(st.retransmits, 0);
	aeg_client_close(c);
}

static void test_large_values(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x1a46e0ull);
	test_seed_print("client large values", p.seed);
	/* A generous timeout: a lost part is resent after it, and under a
	 * sanitizer beside other tests a 300 KiB put took longer than 6 x 300 ms. */
	struct aeg_client *c = open_client(1000, 8);
	large_round_trip(c, 300 * 1024, &p, -1, -1);
	large_round_trip(c, 300 * 1024, &p, 17, 5); /* one part lost each way */
	large_round_trip(c, 1u << 20, &p, -1, (int)prng_below(&p, 700));
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	assert_true(st.retransmits >= 2);
	/* Over the client's limit: refused locally. */
	static uint8_t huge[(1u << 20) + 1];
	assert_int_equal(aeg_client_put(c, "big", 3, huge, sizeof(huge), 0, NULL), -EMSGSIZE);
	aeg_client_close(c);
}

static void test_submit_checks(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	struct aeg_client_op op = {.op = AEG_CLIENT_PUT, .key = "k", .key_len = 1};
	struct aeg_client_op bad = op;
	bad.op = AEG_CLIENT_MAP;
	assert_int_equal(aeg_client_submit(c, &bad), -EINVAL);
	bad = op, bad.key_len = 0;
	assert_int_equal(aeg_client_submit(c, &bad), -EINVAL);
	bad = op, bad.expect_version = 3;
	assert_int_equal(aeg_client_submit(c, &bad), -EINVAL);
	bad = op, bad.consistency = 9;
	assert_int_equal(aeg_client_submit(c, &bad), -EINVAL);
	static char long_key[2000];
	bad = op, bad.key = long_key, bad.key_len = sizeof(long_key);
	assert_int_equal(aeg_client_submit(c, &bad), -EMSGSIZE);
	/* The limit of operations in flight, then close cancels them. */
	static struct aeg_client_op many[1024];
	struct tally t = {0};
	uint32_t n = 0;
	for (; n < 1024; n++) {
		many[n] = op;
		many[n].done = count_done, many[n].user = &t;
		if (aeg_client_submit(c, &many[n]) != 0)
			break;
	}
	assert_int_equal(n, 1024); /* the default outstanding_max */
	struct aeg_client_op one_more = op;
	assert_int_equal(aeg_client_submit(c, &one_more), -EAGAIN);
	aeg_client_close(c);
	assert_int_equal(t.done, 1024);
	assert_int_equal(many[0].status, -ECANCELED);
}

/* Scans every page of [start, end) and checks it holds exactly keys
 * rscan/<from> .. rscan/<to - 1> (value = key), in order; the first page
 * asked `shards` shards (0: not checked). */
static void scan_expect(struct aeg_client *c, const char *start, const char *end, uint32_t limit,
			int from, int to, uint32_t shards)
{
	struct aeg_client_scan s = {.start = start, .start_len = start ? (uint32_t)strlen(start) : 0,
				    .end = end, .end_len = end ? (uint32_t)strlen(end) : 0, .limit = limit};
	int want = from, pages = 0;
	for (;;) {
		assert_int_equal(aeg_client_scan(c, &s), AEG_CLIENT_OK);
		if (shards != 0 && pages == 0) /* later pages start further: fewer shards with ranges */
			if (s.shards != shards) fail_msg("scan [%s, %s): %u shards asked, want %u", start ? start : "", end ? end : "", s.shards, shards);
		pages++;
		assert_true(s.n <= limit);
		for (uint32_t i = 0; i < s.n; i++, want++) {
			char key[16];
			int n = snprintf(key, sizeof(key), "rscan/%04d", want);
			if (want >= to) fail_msg("scan [%s, %s) limit %u: extra key %.*s", start ? start : "", end ? end : "", limit, (int)s.items[i].key_len, s.items[i].key);
			assert_int_equal(s.items[i].key_len, n);
			assert_memory_equal(s.items[i].key, key, (size_t)n);
			assert_int_equal(s.items[i].value_len, n);
			assert_memory_equal(s.items[i].value, key, (size_t)n);
			assert_true(s.items[i].version > 0);
		}
		if (!s.more)
			break;
		assert_true(pages < 1000);
		s.start = s.next, s.start_len = s.next_len;
	}
	assert_int_equal(want, to);
	aeg_client_scan_free(&s);
}

static void put_rscan_keys(struct aeg_client *c, int n)
{
	for (int i = 0; i < n; i++) {
		char key[16];
		int len = snprintf(key, sizeof(key), "rscan/%04d", i);
		assert_int_equal(aeg_client_put(c, key, (uint32_t)len, key, (uint32_t)len, 0, NULL), 0);
	}
}

/* Scatter reads: pages merged from every shard (each shard cut short by
 * the fake, so a page holds only what every shard vouches for), ranges,
 * limits, a redirect and a new map mid-scan; with range sharding only the
 * shards the range touches are asked. */
static void test_scan(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	put_rscan_keys(c, 400);
	scan_expect(c, "rscan/", "rscan0", 1000, 0, 400, FAKE_SHARDS);
	scan_expect(c, "rscan/0100", "rscan/0200", 7, 100, 200, FAKE_SHARDS);
	fake_lock(&fk);
	fk.scan_limit = 3;
	fk.leader[0] = fk.leader[0] % FAKE_NODES + 1; /* a redirect on the way */
	uint64_t scans0 = fk.scans;
	fake_unlock(&fk);
	scan_expect(c, "rscan/", "rscan0", 50, 0, 400, FAKE_SHARDS);
	fake_bump_epoch(&fk);
	scan_expect(c, "rscan/0390", "rscan0", 4, 390, 400, FAKE_SHARDS);
	fake_lock(&fk);
	assert_true(fk.scans - scans0 > 400 / 3);
	fk.scan_limit = 0;
	fake_unlock(&fk);
	/* Bad arguments. */
	struct aeg_client_scan bad = {.limit = AEG_CLIENT_SCAN_LIMIT_MAX + 1};
	assert_int_equal(aeg_client_scan(c, &bad), -EINVAL);
	bad = (struct aeg_client_scan){.start_len = 3};
	assert_int_equal(aeg_client_scan(c, &bad), -EINVAL);
	static char huge[4000];
	memset(huge, 'z', sizeof(huge));
	bad = (struct aeg_client_scan){.end = huge, .end_len = sizeof(huge)};
	assert_int_equal(aeg_client_scan(c, &bad), -EMSGSIZE);
	aeg_client_scan_free(&bad);
	aeg_client_close(c);

	/* Range sharding: shard i holds [rscan/<50 i>, rscan/<50 (i + 1)>). */
	fake_set_strategy(&fk, AEG_SHARD_RANGE);
	c = open_client(100, 5);
	put_rscan_keys(c, 400);
	scan_expect(c, "rscan/0100", "rscan/0200", 1000, 100, 200, 2);
	scan_expect(c, "rscan/0100", "rscan/0201", 1000, 100, 201, 3);
	scan_expect(c, "rscan/0120", "rscan/0130", 1000, 120, 130, 1);
	scan_expect(c, "rscan/", NULL, 9, 0, 400, FAKE_SHARDS);
	scan_expect(c, "rscan/0349", NULL, 9, 349, 400, 2);
	aeg_client_close(c);
	fake_set_strategy(&fk, AEG_SHARD_HASH);
}

/* The other strategies from the client's side: it routes as the nodes do
 * (the fake refuses a request for another shard than the map says), and
 * appends on a round-robin map take the shards in turn. */
static void test_strategies(void **state)
{
	(void)state;
	fake_set_strategy(&fk, AEG_SHARD_LIST);
	struct aeg_client *c = open_client(100, 5);
	char key[AEG_CLIENT_APPEND_KEY_BYTES];
	uint32_t klen;
	assert_int_equal(aeg_client_append(c, "v", 1, 0, key, sizeof(key), &klen), -EINVAL);
	const char *keys[] = {"pin:a", "pin:x", "pin:xy", "free", "1700000000"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(aeg_client_put(c, keys[i], (uint32_t)strlen(keys[i]), "v", 1, 0, NULL), 0);
	fake_lock(&fk);
	assert_int_equal(aeg_kv_get(fk.kv[5], "pin:a", 5, NULL, NULL, NULL), 0);
	assert_int_equal(aeg_kv_get(fk.kv[5], "pin:xy", 6, NULL, NULL, NULL), 0);
	assert_int_equal(aeg_kv_get(fk.kv[2], "pin:x", 5, NULL, NULL, NULL), 0);
	assert_int_equal(fk.wrong_shard, 0);
	fake_unlock(&fk);
	aeg_client_close(c);

	fake_set_strategy(&fk, AEG_SHARD_TIME);
	c = open_client(100, 5);
	for (int t = 0; t < 1600; t += 50) {
		int n = snprintf(key, sizeof(key), "%d/event", t);
		assert_int_equal(aeg_client_put(c, key, (uint32_t)n, "v", 1, 0, NULL), 0);
		fake_lock(&fk);
		assert_int_equal(aeg_kv_get(fk.kv[(t / 100) % FAKE_SHARDS], key, (uint32_t)n, NULL, NULL, NULL), 0);
		fake_unlock(&fk);
	}
	aeg_client_close(c);

	fake_set_strategy(&fk, AEG_SHARD_ROUND_ROBIN);
	c = open_client(100, 5);
	uint32_t per_shard[FAKE_SHARDS] = {0};
	for (int i = 0; i < 10 * FAKE_SHARDS; i++) {
		char value[16];
		int vn = snprintf(value, sizeof(value), "e%d", i);
		assert_int_equal(aeg_client_append(c, value, (uint32_t)vn, 0, key, sizeof(key), &klen), 0);
		assert_int_equal(klen, strlen(key));
		uint32_t shard = (uint32_t)atoi(key);
		assert_true(shard < FAKE_SHARDS);
		per_shard[shard]++;
		char back[16];
		uint32_t blen = sizeof(back);
		assert_int_equal(aeg_client_get(c, key, klen, back, &blen, 0, NULL), 0);
		assert_int_equal(blen, vn);
		assert_memory_equal(back, value, (size_t)vn);
	}
	for (uint32_t s = 0; s < FAKE_SHARDS; s++)
		assert_int_equal(per_shard[s], 10); /* in turn: exactly even */
	assert_int_equal(aeg_client_append(c, "v", 1, 0, key, 4, &klen), -ENOSPC);
	fake_lock(&fk);
	assert_int_equal(fk.wrong_shard, 0);
	fake_unlock(&fk);
	aeg_client_close(c);
	fake_set_strategy(&fk, AEG_SHARD_HASH);
}

/* Reads at ONE spread over every replica (any replica answers them);
 * QUORUM reads and writes stay with the leader. */
static void test_read_any_replica(void **state)
{
	(void)state;
	struct aeg_client *c = open_client(100, 5);
	assert_int_equal(aeg_client_put(c, "spread", 6, "v", 1, 0, NULL), 0);
	fake_lock(&fk);
	uint64_t before[FAKE_NODES + 1], nl0 = fk.not_leader;
	memcpy(before, fk.replica_reads, sizeof(before));
	fake_unlock(&fk);
	for (int i = 0; i < 300; i++) {
		char buf[8];
		uint32_t len = sizeof(buf);
		assert_int_equal(aeg_client_get(c, "spread", 6, buf, &len, AEG_CLIENT_ONE, NULL), 0);
		len = sizeof(buf);
		assert_int_equal(aeg_client_get(c, "spread", 6, buf, &len, AEG_CLIENT_QUORUM, NULL), 0);
	}
	struct aeg_client_stats st;
	aeg_client_get_stats(c, &st);
	fake_lock(&fk);
	for (uint32_t n = 1; n <= FAKE_NODES; n++)
		assert_true(fk.replica_reads[n] - before[n] >= 60); /* about 100 each */
	assert_int_equal(fk.not_leader, nl0); /* the quorum reads went to the leader */
	fake_unlock(&fk);
	assert_true(st.replica_reads >= 120);
	aeg_client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_open_fails),
		cmocka_unit_test(test_sync_ops),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_stale_epoch),
		cmocka_unit_test(test_lost_reply_applies_once),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_lost_request_not_expired),
		cmocka_unit_test(test_dead_node_suspected),
		cmocka_unit_test(test_large_values),
		cmocka_unit_test(test_large_inflight),
		cmocka_unit_test(test_submit_checks),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_read_any_replica),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
