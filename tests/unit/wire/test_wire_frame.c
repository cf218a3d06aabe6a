/* lib/wire frames: builder limits, round trips, every truncation and every
 * bit flip rejected, each drop reason counted under its own name, and the
 * replay window moving only for authentic frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/wire.h"
#include "wire/wire_internal.h"

#define CLUSTER 0xc1c2c3c4u
#define SELF_NODE 2
#define SELF_WORKER 1
#define NODES 4   /* nodes 1..3 are peers; 0 and >= 4 are unknown */
#define WORKERS 3
#define MTU_PAYLOAD 1472 /* 1500 - IPv4 20 - UDP 8 */

struct fixture {
	struct aeg_wire_key key;
	struct aeg_wire_replay win[NODES][WORKERS];
	struct aeg_wire_rx rx;
};

static struct fixture fx;

static struct aeg_wire_replay *lookup(void *arg, uint32_t node, uint32_t worker)
{
	struct fixture *f = arg;
	if (node == 0 || node >= NODES || worker >= WORKERS)
		return NULL;
	return &f->win[node][worker];
}

static void fx_reset(void)
{
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		fx.key.bytes[i] = (uint8_t)(0x11 * i + 5);
	for (int n = 0; n < NODES; n++)
		for (int w = 0; w < WORKERS; w++)
			aeg_wire_replay_init(&fx.win[n][w], 0);
	fx.rx = (struct aeg_wire_rx){
		.key = &fx.key, .cluster = CLUSTER, .self_node = SELF_NODE,
		.self_worker = SELF_WORKER, .peer_lookup = lookup, .peer_arg = &fx,
	};
}

static int setup(void **state)
{
	(void)state;
	fx_reset();
	return 0;
}

static struct aeg_wire_hdr hdr_from(uint32_t node, uint32_t worker, uint64_t seq)
{
	return (struct aeg_wire_hdr){
		.cluster = CLUSTER, .src_node = node, .src_worker = worker,
		.dst_node = SELF_NODE, .dst_worker = SELF_WORKER, .seq = seq,
	};
}

/* splitmix64: seeded, printed on failure. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A sealed frame with three small messages, from node 1 worker 0. */
static size_t small_frame(uint8_t *buf, size_t cap, const struct aeg_wire_hdr *h)
{
	struct aeg_wire_builder b;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 7, "hello", 5), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 2, 300, "", 0), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 255, UINT32_MAX, "0123456789abcdef", 16), 0);
	int n = aeg_wire_builder_seal(&b, &fx.key);
	assert_true(n > 0);
	return (size_t)n;
}

static enum aeg_wire_drop parse(const uint8_t *pkt, size_t len)
{
	struct aeg_wire_frame f;
	return aeg_wire_parse(&fx.rx, pkt, len, &f);
}

/* Rewrites the tag after a test changed the signed bytes on purpose. */
static void retag(uint8_t *pkt, size_t len)
{
	aeg_wire_tag(&fx.key, pkt, len - AEG_WIRE_TAG_BYTES, pkt + len - AEG_WIRE_TAG_BYTES);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int a = 0; a < AEG_WIRE_DROP_NR; a++) {
		const char *na = aeg_wire_drop_name((enum aeg_wire_drop)a);
		assert_non_null(na);
		assert_true(strlen(na) > 0);
		assert_string_not_equal(na, "invalid");
		for (int b = 0; b < a; b++)
			assert_string_not_equal(na, aeg_wire_drop_name((enum aeg_wire_drop)b));
	}
	/* Stable names: dashboards depend on them. */
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_OK), "ok");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_BAD_TAG), "bad_tag");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_REPLAYED), "replayed");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_WRONG_CLUSTER), "wrong_cluster");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_NR), "invalid");
	assert_string_equal(aeg_wire_drop_name((enum aeg_wire_drop)-1), "invalid");
}

struct want_msg {
	uint8_t type;
	uint32_t group;
	const uint8_t *body;
	size_t len;
};

static uint32_t random_group(uint64_t r)
{
	switch (r % 4) {
	case 0: return (uint32_t)(r >> 8) % 128;
	case 1: return (uint32_t)(r >> 8) % 20000;
	case 2: return UINT32_MAX - (uint32_t)((r >> 8) % 3);
	default: return (uint32_t)(r >> 32);
	}
}

/* Random batches until the frame is full; parse and iterate must give back
 * exactly what went in, and the frame length is exactly what was written. */
static void test_round_trip_random(void **state)
{
	(void)state;
	static uint8_t pool[4096];
	static uint8_t buf[9100];
	static struct want_msg want[3000];
	uint64_t seed = 0xfeed0002;
	for (int round = 0; round < 300; round++) {
		uint64_t rng = seed + (uint64_t)round;
		for (size_t i = 0; i < sizeof(pool); i++)
			pool[i] = (uint8_t)next_rand(&rng);
		size_t cap = AEG_WIRE_FRAME_BYTES_MIN + next_rand(&rng) % 9000;
		uint32_t node = 1 + (uint32_t)(next_rand(&rng) % (NODES - 1));
		uint32_t worker = (uint32_t)(next_rand(&rng) % WORKERS);
		struct aeg_wire_hdr h = hdr_from(node, worker, 1 + next_rand(&rng) % 1000000);
		struct aeg_wire_builder b;
		assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
		size_t n = 0, expect_len = AEG_WIRE_FRAME_BYTES_MIN;
		for (;;) {
			uint64_t r = next_rand(&rng);
			struct want_msg *m = &want[n];
			m->type = (uint8_t)r;
			m->group = random_group(next_rand(&rng));
			m->len = (r >> 8) % ((r >> 20) % 4 == 0 ? 600 : 40);
			m->body = pool + (r >> 32) % (sizeof(pool) - 600);
			int rc;
			if ((r >> 40) % 2) {
				rc = aeg_wire_builder_add(&b, m->type, m->group, m->body, m->len);
			} else {
				uint8_t *dst = NULL;
				rc = aeg_wire_builder_reserve(&b, m->type, m->group, m->len, &dst);
				if (rc == 0)
					memcpy(dst, m->body, m->len);
			}
			if (rc == -ENOSPC || rc == -EMSGSIZE)
				break;
			if (rc != 0)
				fail_msg("seed %#llx: add returned %d", (unsigned long long)(seed + round), rc);
			expect_len += 1 + aeg_varint_size(m->group) + aeg_varint_size(m->len) + m->len;
			n++;
			assert_true(n < sizeof(want) / sizeof(want[0]));
		}
		int len = aeg_wire_builder_seal(&b, &fx.key);
		assert_int_equal(len, (int)expect_len);
		assert_true((size_t)len <= cap);
		struct aeg_wire_frame f;
		enum aeg_wire_drop why = aeg_wire_parse(&fx.rx, buf, (size_t)len, &f);
		if (why != AEG_WIRE_OK)
			fail_msg("seed %#llx: dropped as %s", (unsigned long long)(seed + round),
				 aeg_wire_drop_name(why));
		assert_int_equal(f.hdr.src_node, node);
		assert_int_equal(f.hdr.src_worker, worker);
		assert_int_equal(f.hdr.seq, h.seq);
		assert_int_equal(f.hdr.msg_count, n);
		struct aeg_wire_iter it;
		struct aeg_wire_msg m;
		aeg_wire_iter_init(&it, &f);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
			assert_int_equal(m.type, want[i].type);
			assert_int_equal(m.group, want[i].group);
			assert_int_equal(m.body_len, want[i].len);
			assert_memory_equal(m.body, want[i].body, want[i].len);
			assert_true(m.body >= buf && m.body + m.body_len <= buf + len);
		}
		assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
		assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
		/* The same frame again is a replay. */
		assert_int_equal(parse(buf, (size_t)len), AEG_WIRE_DROP_REPLAYED);
		fx_reset();
	}
}

static void test_empty_frame(void **state)
{
	(void)state;
	uint8_t buf[AEG_WIRE_FRAME_BYTES_MIN];
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr_from(1, 0, 9);
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 0, "", 0), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_seal(&b, &fx.key), AEG_WIRE_FRAME_BYTES_MIN);
	struct aeg_wire_frame f;
	assert_int_equal(aeg_wire_parse(&fx.rx, buf, sizeof(buf), &f), AEG_WIRE_OK);
	struct aeg_wire_iter it;
	struct aeg_wire_msg m;
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
}

static void test_every_truncation(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_hdr h = hdr_from(1, 0, 77);
	size_t len = small_frame(buf, sizeof(buf), &h);
	for (size_t cut = 0; cut < len; cut++) {
		fx_reset();
		enum aeg_wire_drop why = parse(buf, cut);
		if (why != AEG_WIRE_DROP_TRUNCATED)
			fail_msg("cut at %zu of %zu: %s", cut, len, aeg_wire_drop_name(why));
	}
	fx_reset();
	assert_int_equal(parse(buf, len), AEG_WIRE_OK);
	/* A NULL packet of length 0 is a truncation too, not a crash. */
	assert_int_equal(parse(NULL, 0), AEG_WIRE_DROP_TRUNCATED);
}

/* The reason each header byte's flips must give (0: only "not OK"). */
static enum aeg_wire_drop flip_reason(size_t byte)
{
	if (byte < 4)
		return AEG_WIRE_DROP_BAD_MAGIC;
	if (byte == 4)
		return AEG_WIRE_DROP_BAD_VERSION;
	if (byte == 5)
		return AEG_WIRE_DROP_BAD_FLAGS;
	if (byte >= 6 && byte < 10)
		return AEG_WIRE_DROP_WRONG_CLUSTER;
	if ((byte >= 14 && byte < 18) || (byte >= 22 && byte < 26))
		return AEG_WIRE_DROP_WRONG_DEST;
	if (byte >= 26 && byte < 34)
		return AEG_WIRE_DROP_BAD_TAG; /* seq: no flip makes it 0 */
	if (byte >= 42)
		return AEG_WIRE_DROP_BAD_TAG; /* messages and tag */
	return AEG_WIRE_OK;
}

static void test_every_bit_flip(void **state)
{
	(void)state;
	uint8_t buf[256], bad[256];
	struct aeg_wire_hdr h = hdr_from(1, 0, 0x0101010101010101ull);
	size_t len = small_frame(buf, sizeof(buf), &h);
	for (size_t bit = 0; bit < len * 8; bit++) {
		memcpy(bad, buf, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		fx_reset();
		enum aeg_wire_drop why = parse(bad, len);
		enum aeg_wire_drop want = flip_reason(bit / 8);
		if (why == AEG_WIRE_OK || (want != AEG_WIRE_OK && why != want))
			fail_msg("bit %zu (byte %zu): %s, want %s", bit, bit / 8,
				 aeg_wire_drop_name(why), aeg_wire_drop_name(want));
		/* src node/worker: another known peer (tag) or an unknown one. */
		if ((bit / 8 >= 10 && bit / 8 < 14) || (bit / 8 >= 18 && bit / 8 < 22))
			assert_true(why == AEG_WIRE_DROP_BAD_TAG || why == AEG_WIRE_DROP_UNKNOWN_NODE);
		/* batch length: claims more (truncated) or less (trailing bytes). */
		if (bit / 8 >= 34 && bit / 8 < 38)
			assert_true(why == AEG_WIRE_DROP_TRUNCATED || why == AEG_WIRE_DROP_BAD_LENGTH);
		/* count: impossible for the length, or wrong (tag). */
		if (bit / 8 >= 38 && bit / 8 < 42)
			assert_true(why == AEG_WIRE_DROP_BAD_COUNT || why == AEG_WIRE_DROP_BAD_TAG);
	}
}

/* What the dataplane does: count every packet under its reason. Each bad
 * packet below is valid but for one thing (its tag recomputed where the
 * change is after the tag check), and good traffic keeps flowing. */
static void test_drops_counted_per_reason(void **state)
{
	(void)state;
	uint64_t counts[AEG_WIRE_DROP_NR] = {0};
	uint8_t buf[256];
	size_t len;
	uint64_t seq = 100;
	struct aeg_wire_hdr h;
#define SEND(pkt, n) counts[parse((pkt), (n))]++

	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* ok */
	SEND(buf, len);                                  /* replayed */
	SEND(buf, len - 1);                              /* truncated */

	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	buf[len] = 0;
	SEND(buf, len + 1);                              /* bad_length: trailing byte */
	put_le32(buf + WIRE_OFF_BATCH_LEN, 0xfffffff0u);
	SEND(buf, len);                                  /* bad_length: oversized */

	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	buf[0] ^= 0xff;
	SEND(buf, len);                                  /* bad_magic */
	buf[0] ^= 0xff;
	buf[WIRE_OFF_VERSION] = AEG_WIRE_VERSION + 1;
	retag(buf, len);
	SEND(buf, len);                                  /* bad_version */
	buf[WIRE_OFF_VERSION] = AEG_WIRE_VERSION;
	buf[WIRE_OFF_VERSION + 1] = 0x80;
	retag(buf, len);
	SEND(buf, len);                                  /* bad_flags */
	buf[WIRE_OFF_VERSION + 1] = 0;
	put_le32(buf + WIRE_OFF_MSG_COUNT, 1000);
	retag(buf, len);
	SEND(buf, len);                                  /* bad_count: impossible */
	put_le32(buf + WIRE_OFF_MSG_COUNT, 2);
	retag(buf, len);
	SEND(buf, len);                                  /* bad_count: bytes left over */
	put_le32(buf + WIRE_OFF_MSG_COUNT, 4);
	retag(buf, len);
	SEND(buf, len);                                  /* truncated_message */
	put_le32(buf + WIRE_OFF_MSG_COUNT, 3);
	retag(buf, len);
	SEND(buf, len);                                  /* ok: the window did not move */

	h = hdr_from(1, 0, seq++);
	h.cluster++;
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* wrong_cluster */
	h = hdr_from(1, 0, seq++);
	h.dst_node = SELF_NODE + 1;
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* wrong_destination: node */
	h = hdr_from(1, 0, seq++);
	h.dst_worker = SELF_WORKER + 1;
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* wrong_destination: worker */
	h = hdr_from(NODES + 5, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* unknown_node */
	h = hdr_from(1, WORKERS, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* unknown_node: worker */

	h = hdr_from(1, 0, seq + 1000);
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* ok, moves the window */
	h = hdr_from(1, 0, seq + 1000 - AEG_WIRE_REPLAY_WINDOW);
	len = small_frame(buf, sizeof(buf), &h);
	SEND(buf, len);                                  /* too_old */
	seq += 1001;

	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	buf[len - 1] ^= 1;
	SEND(buf, len);                                  /* bad_tag */

	/* Message-level damage under a good tag: a sender bug, not an attack. */
	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	/* First message: type 1, group 7, body_len 5 -> make it non-minimal. */
	assert_int_equal(buf[AEG_WIRE_HDR_BYTES + 1], 7);
	buf[AEG_WIRE_HDR_BYTES + 1] = 0x87;
	buf[AEG_WIRE_HDR_BYTES + 2] = 0x00;
	retag(buf, len);
	SEND(buf, len);                                  /* bad_message */

	assert_int_equal(counts[AEG_WIRE_OK], 3);
	assert_int_equal(counts[AEG_WIRE_DROP_TRUNCATED], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_MAGIC], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_VERSION], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_FLAGS], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_LENGTH], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_COUNT], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_WRONG_CLUSTER], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_WRONG_DEST], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_UNKNOWN_NODE], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_REPLAYED], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_TOO_OLD], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_TAG], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_TRUNCATED_MSG], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_MSG], 1);
#undef SEND
}

/* A body length that runs past the batch, under a good tag. */
static void test_body_past_batch(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_hdr h = hdr_from(1, 0, 5);
	size_t len = small_frame(buf, sizeof(buf), &h);
	/* Third message: type, group (5 bytes), body_len 16 -> 127. */
	size_t at = AEG_WIRE_HDR_BYTES + (3 + 5) + (1 + 2 + 1) + 1 + 5;
	assert_int_equal(buf[at], 16);
	buf[at] = 127;
	retag(buf, len);
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_TRUNCATED_MSG);
	/* A group that does not fit 32 bits. */
	len = small_frame(buf, sizeof(buf), &h);
	at = AEG_WIRE_HDR_BYTES + (3 + 5) + (1 + 2 + 1) + 1;
	assert_int_equal(buf[at + 4], 0x0f);
	buf[at + 4] = 0x1f;
	retag(buf, len);
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_BAD_MSG);
	/* Untouched, it still goes through: nothing above moved the window. */
	len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(parse(buf, len), AEG_WIRE_OK);
}

/* A frame with a hand-made batch and a good tag. */
static size_t raw_frame(uint8_t *buf, size_t cap, uint64_t seq, const uint8_t *batch,
			size_t batch_len, uint32_t count)
{
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr_from(1, 0, seq);
	assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
	assert_true(b.len + batch_len + AEG_WIRE_TAG_BYTES <= b.cap);
	memcpy(buf + b.len, batch, batch_len);
	b.len += batch_len;
	b.msg_count = count;
	int n = aeg_wire_builder_seal(&b, &fx.key);
	assert_true(n > 0);
	return (size_t)n;
}

/* Every way a message header can end early or be malformed. */
static void test_malformed_batches(void **state)
{
	(void)state;
	static const struct {
		uint8_t batch[16];
		size_t len;
		uint32_t count;
		enum aeg_wire_drop want;
	} cases[] = {
		{{1, 0x80, 0x80}, 3, 1, AEG_WIRE_DROP_TRUNCATED_MSG},      /* group runs off */
		{{1, 5, 0x80}, 3, 1, AEG_WIRE_DROP_TRUNCATED_MSG},         /* length runs off */
		{{1, 5, 3, 'a', 'b'}, 5, 1, AEG_WIRE_DROP_TRUNCATED_MSG},  /* body runs off */
		{{1, 5, 0, 2, 6}, 5, 1, AEG_WIRE_DROP_BAD_COUNT},          /* bytes left over */
		{{1, 5, 0, 2, 6, 0}, 6, 2, AEG_WIRE_OK},
		{{1, 5, 0, 2, 6, 0}, 6, 1, AEG_WIRE_DROP_BAD_COUNT},
		{{1, 5, 0, 2, 6, 0}, 6, 3, AEG_WIRE_DROP_BAD_COUNT},       /* > len / 3 */
		{{1, 5, 0, 2, 6, 0, 0, 0, 0}, 9, 3, AEG_WIRE_OK},
		{{1, 5, 0, 2, 6, 0, 0, 0, 5}, 9, 3, AEG_WIRE_DROP_TRUNCATED_MSG},
		{{1, 5, 3, 'a', 'b', 'c'}, 6, 2, AEG_WIRE_DROP_TRUNCATED_MSG}, /* count > messages */
		{{1, 0x80, 0x00, 0}, 4, 1, AEG_WIRE_DROP_BAD_MSG},         /* non-minimal group */
		{{1, 0, 0x81, 0x00}, 4, 1, AEG_WIRE_DROP_BAD_MSG},         /* non-minimal length */
		{{1, 0xff, 0xff, 0xff, 0xff, 0x10, 0}, 7, 1, AEG_WIRE_DROP_BAD_MSG}, /* > 32 bits */
		{{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0}, 12, 1,
		 AEG_WIRE_DROP_BAD_MSG},                                    /* 10+ byte varint */
		{{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}, 7, 1, AEG_WIRE_OK}, /* UINT32_MAX */
	};
	uint8_t buf[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_reset();
		size_t len = raw_frame(buf, sizeof(buf), 1, cases[i].batch, cases[i].len,
				       cases[i].count);
		enum aeg_wire_drop why = parse(buf, len);
		if (why != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, aeg_wire_drop_name(why),
				 aeg_wire_drop_name(cases[i].want));
	}
}

/* Forged frames must not move the window, however far ahead they claim. */
static void test_window_moves_only_after_tag(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_hdr h = hdr_from(2, 1, UINT64_MAX - 1);
	size_t len = small_frame(buf, sizeof(buf), &h);
	buf[len - 3] ^= 0x40;
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_BAD_TAG);
	h = hdr_from(2, 1, 5);
	len = small_frame(buf, sizeof(buf), &h);
	buf[AEG_WIRE_HDR_BYTES] ^= 1;
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_BAD_TAG);
	h = hdr_from(2, 1, 2);
	len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(parse(buf, len), AEG_WIRE_OK);
	h = hdr_from(2, 1, 5);
	len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(parse(buf, len), AEG_WIRE_OK);
	/* A frame with the wrong key moves nothing either. */
	fx.key.bytes[0] ^= 1;
	h = hdr_from(2, 1, 1000);
	len = small_frame(buf, sizeof(buf), &h);
	fx.key.bytes[0] ^= 1;
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_BAD_TAG);
	h = hdr_from(2, 1, 4);
	len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(parse(buf, len), AEG_WIRE_OK);
	assert_int_equal(fx.win[2][1].top, 5);
}

/* Each (node, worker) stream has its own window. */
static void test_streams_are_separate(void **state)
{
	(void)state;
	uint8_t buf[256];
	for (uint32_t n = 1; n < NODES; n++) {
		for (uint32_t w = 0; w < WORKERS; w++) {
			struct aeg_wire_hdr h = hdr_from(n, w, 42);
			size_t len = small_frame(buf, sizeof(buf), &h);
			assert_int_equal(parse(buf, len), AEG_WIRE_OK);
			assert_int_equal(parse(buf, len), AEG_WIRE_DROP_REPLAYED);
		}
	}
}

static void test_builder_errors(void **state)
{
	(void)state;
	uint8_t buf[MTU_PAYLOAD + 1];
	static uint8_t src[MTU_PAYLOAD];
	struct aeg_wire_builder b;
	memset(&b, 0, sizeof(b));
	struct aeg_wire_hdr h = hdr_from(1, 0, 1);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 1, "x", 1), -EINVAL);
	assert_int_equal(aeg_wire_builder_seal(&b, &fx.key), -EINVAL);
	assert_int_equal(aeg_wire_builder_begin(&b, buf, AEG_WIRE_FRAME_BYTES_MIN - 1, &h),
			 -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 1, "x", 1), -EINVAL);
	assert_int_equal(aeg_wire_builder_begin(&b, NULL, sizeof(buf), &h), -EINVAL);
	h.flags = 0x01;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), -EINVAL);
	h.flags = 0;
	h.seq = 0;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), -EINVAL);
	h.seq = 1;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, MTU_PAYLOAD, &h), 0);
	/* Too big for any frame of this size: an error, empty or not. */
	size_t max = aeg_wire_msg_body_max(MTU_PAYLOAD, 9);
	assert_int_equal(max, MTU_PAYLOAD - AEG_WIRE_FRAME_BYTES_MIN - 3 - 1); /* 2-byte len */
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max + 1), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, "abc", 3), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max + 1), -EMSGSIZE);
	/* Fits an empty frame but not this one: full, send and start over. */
	size_t len_before = b.len;
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max), -ENOSPC);
	assert_int_equal(b.len, len_before);
	assert_int_equal(b.msg_count, 1);
	int n = aeg_wire_builder_seal(&b, &fx.key);
	assert_int_equal(n, (int)len_before + AEG_WIRE_TAG_BYTES);
	assert_int_equal(parse(buf, (size_t)n), AEG_WIRE_OK);
	assert_int_equal(aeg_wire_builder_seal(&b, &fx.key), -EINVAL);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, "abc", 3), -EINVAL);
	/* The largest message exactly fills an empty frame. */
	h.seq = 2;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, MTU_PAYLOAD, &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max), 0);
	assert_int_equal(aeg_wire_builder_seal(&b, &fx.key), MTU_PAYLOAD);
	assert_int_equal(parse(buf, MTU_PAYLOAD), AEG_WIRE_OK);
	/* Capacities beyond the largest UDP payload are clipped to it. */
	static uint8_t big[AEG_WIRE_FRAME_BYTES_MAX + 100], big_src[AEG_WIRE_FRAME_BYTES_MAX];
	h.seq = 3;
	assert_int_equal(aeg_wire_builder_begin(&b, big, sizeof(big), &h), 0);
	assert_int_equal(b.cap, AEG_WIRE_FRAME_BYTES_MAX);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, big_src, AEG_WIRE_FRAME_BYTES_MAX), -EMSGSIZE);
	max = aeg_wire_msg_body_max(sizeof(big), 9);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, big_src, max), 0);
	n = aeg_wire_builder_seal(&b, &fx.key);
	assert_int_equal(n, AEG_WIRE_FRAME_BYTES_MAX);
	assert_int_equal(parse(big, (size_t)n), AEG_WIRE_OK);
	/* ... and such a packet is too long for the parser. */
	assert_int_equal(parse(big, (size_t)n + 1), AEG_WIRE_DROP_BAD_LENGTH);
}

/* body_max and room are exact at every capacity, across the varint size
 * steps of the body length (127/128, 16383/16384). */
static void test_room_is_exact(void **state)
{
	(void)state;
	static uint8_t buf[20000], src[20000];
	static const uint32_t groups[] = {0, 200, UINT32_MAX};
	uint64_t seq = 1;
	for (size_t cap = AEG_WIRE_FRAME_BYTES_MIN; cap < 20000; cap += cap < 400 ? 1 : 97) {
		for (size_t gi = 0; gi < 3; gi++) {
			uint32_t g = groups[gi];
			struct aeg_wire_builder b;
			struct aeg_wire_hdr h = hdr_from(1, 0, seq++);
			assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
			size_t max = aeg_wire_msg_body_max(cap, g);
			assert_int_equal(aeg_wire_builder_room(&b, g), max);
			int rc = aeg_wire_builder_add(&b, 3, g, src, max + 1);
			assert_int_equal(rc, -EMSGSIZE);
			rc = aeg_wire_builder_add(&b, 3, g, src, max);
			if (rc != 0) {
				/* Only when not even an empty body fits. */
				assert_int_equal(rc, -EMSGSIZE);
				assert_int_equal(max, 0);
				assert_true(cap - AEG_WIRE_FRAME_BYTES_MIN < 2 + aeg_varint_size(g));
				continue;
			}
			/* Exactly full, or one byte short where the length's
			 * varint grows by one. */
			size_t used = b.len + AEG_WIRE_TAG_BYTES;
			assert_true(used == cap || used + 1 == cap);
			assert_int_equal(aeg_wire_builder_room(&b, g), 0);
			if (used == cap)
				assert_int_equal(aeg_wire_builder_add(&b, 3, g, "", 0), -ENOSPC);
		}
	}
}

/* room() after random fills: room fits, room + 1 does not. */
static void test_room_random(void **state)
{
	(void)state;
	uint8_t buf[MTU_PAYLOAD];
	static uint8_t src[MTU_PAYLOAD];
	uint64_t seed = 0xfeed0003, rng = seed;
	for (int round = 0; round < 2000; round++) {
		struct aeg_wire_builder b;
		struct aeg_wire_hdr h = hdr_from(1, 0, 1);
		assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
		int msgs = (int)(next_rand(&rng) % 20);
		for (int i = 0; i < msgs; i++) {
			size_t len = next_rand(&rng) % 100;
			if (aeg_wire_builder_add(&b, 0, 1, src, len) != 0)
				break;
		}
		uint32_t g = random_group(next_rand(&rng));
		size_t room = aeg_wire_builder_room(&b, g);
		int rc = aeg_wire_builder_add(&b, 0, g, src, room + 1);
		if (rc != -ENOSPC && rc != -EMSGSIZE)
			fail_msg("seed %#llx round %d: room %zu + 1 gave %d",
				 (unsigned long long)seed, round, room, rc);
		if (room > 0 || b.len + AEG_WIRE_TAG_BYTES + 2 + aeg_varint_size(g) <= b.cap)
			assert_int_equal(aeg_wire_builder_add(&b, 0, g, src, room), 0);
	}
}

static void test_iter_rejects_garbage(void **state)
{
	(void)state;
	static const uint8_t junk[] = {1, 0x80, 0x80}; /* group varint never ends */
	struct aeg_wire_frame f = {.batch = junk};
	f.hdr.batch_len = sizeof(junk);
	f.hdr.msg_count = 1;
	struct aeg_wire_iter it;
	struct aeg_wire_msg m;
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), -EBADMSG);
	f.hdr.msg_count = 0;
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
}

/* The test-only entry skips the tag and nothing else. */
static void test_untagged_entry(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_frame f;
	struct aeg_wire_hdr h = hdr_from(3, 2, 11);
	size_t len = small_frame(buf, sizeof(buf), &h);
	memset(buf + len - AEG_WIRE_TAG_BYTES, 0, AEG_WIRE_TAG_BYTES);
	assert_int_equal(aeg_wire_parse(&fx.rx, buf, len, &f), AEG_WIRE_DROP_BAD_TAG);
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f), AEG_WIRE_OK);
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f),
			 AEG_WIRE_DROP_REPLAYED);
	h.seq = 12;
	len = small_frame(buf, sizeof(buf), &h);
	buf[AEG_WIRE_HDR_BYTES + 1] = 0x87;
	buf[AEG_WIRE_HDR_BYTES + 2] = 0x00;
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f),
			 AEG_WIRE_DROP_BAD_MSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_drop_names, setup),
		cmocka_unit_test_setup(test_round_trip_random, setup),
		cmocka_unit_test_setup(test_empty_frame, setup),
		cmocka_unit_test_setup(test_every_truncation, setup),
		cmocka_unit_test_setup(test_every_bit_flip, setup),
		cmocka_unit_test_setup(test_drops_counted_per_reason, setup),
		cmocka_unit_test_setup(test_body_past_batch, setup),
		cmocka_unit_test_setup(test_malformed_batches, setup),
		cmocka_unit_test_setup(test_window_moves_only_after_tag, setup),
		cmocka_unit_test_setup(test_streams_are_separate, setup),
		cmocka_unit_test_setup(test_builder_errors, setup),
		cmocka_unit_test_setup(test_room_is_exact, setup),
		cmocka_unit_test_setup(test_room_random, setup),
		cmocka_unit_test_setup(test_iter_rejects_garbage, setup),
		cmocka_unit_test_setup(test_untagged_entry, setup),
	};
	return cmocka_run_group_tests_name("wire_frame", tests, NULL, NULL);
}
