/* lib/wire builder and iterator: the version 2 layout byte for byte (tag
 * from an independent GMAC under the node pair's key), round trips of
 * random batches, exact room and size limits (a message too big for any
 * frame is an error, a full frame says so), the u16 worker range, the pair
 * key seal insists on, and the iterator on bad input. */
#include "wire_fixture.h"

struct want_msg {
	uint8_t type;
	uint32_t group;
	const uint8_t *body;
	size_t len;
};

/* The offsets the documented layout implies. */
_Static_assert(AEG_WIRE_HDR_BYTES == 40 && AEG_WIRE_MSG_HDR_BYTES == 6, "sizes");
_Static_assert(WIRE_OFF_VERSION == 4 && WIRE_OFF_FLAGS == 5 && WIRE_OFF_KEY_ID == 6 &&
	       WIRE_OFF_RESERVED == 7 && WIRE_OFF_CLUSTER == 8 && WIRE_OFF_SRC_NODE == 12 &&
	       WIRE_OFF_DST_NODE == 16 && WIRE_OFF_SEQ == 20 && WIRE_OFF_SRC_WORKER == 28 &&
	       WIRE_OFF_DST_WORKER == 30 && WIRE_OFF_BATCH_LEN == 32 && WIRE_OFF_MSG_COUNT == 36,
	       "header offsets");
_Static_assert(AEG_WIRE_IV_OFFSET == 20 && AEG_WIRE_IV_BYTES == 12,
	       "IV = seq | src_worker | dst_worker");
/* The u16 body length holds the largest body of the largest frame. */
_Static_assert(AEG_WIRE_BODY_BYTES_MAX <= 0xffff, "body_len is u16");

/* The documented layout, byte for byte: a change here breaks every peer
 * running the previous build, so it must come with a new version. Every
 * header field has a distinct value, so that swapped fields show. */
static void test_golden_layout(void **state)
{
	(void)state;
	static const uint8_t want_head[] = {
		0x41, 0x45, 0x47, 0x57,             /* magic "AEGW" */
		0x02,                               /* version */
		0x00,                               /* flags */
		0xa7,                               /* key_id (of the mac that sealed) */
		0x00,                               /* reserved */
		0xc4, 0xc3, 0xc2, 0xc1,             /* cluster */
		0x01, 0xa0, 0x00, 0x00,             /* src node */
		0x02, 0xb0, 0x00, 0x00,             /* dst node */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* seq */
		0x03, 0xc0,                         /* src worker */
		0x04, 0xd0,                         /* dst worker */
		0x17, 0x01, 0x00, 0x00,             /* batch length 279 */
		0x03, 0x00, 0x00, 0x00,             /* message count */
		0x02, 0x00, 0x42, 0x2c, 0x01, 0x00, 'a', 'b', /* len 2, type, group 300 */
		0x03, 0x01, 0x07, 0xef, 0xcd, 0xab, /* len 259, type 7, group 0xabcdef */
	};
	static const uint8_t want_last[] = {0x00, 0x00, 0xff, 0x00, 0x00, 0x00}; /* empty */
	/* AES-128-GMAC of the frame by Python's cryptography (OpenSSL), not
	 * libipsec-mb (/tmp/wiregen/gen.py), under the key of the header's
	 * pair derived from fx.key (bytes (0x11 * i + 5) & 0xff):
	 *   K_sd = Cipher(AES(fx.key), ECB()).encryptor().update(
	 *              struct.pack("<III", 0xa001, 0xb002, CLUSTER) + b"AEG2")
	 *   AESGCM(K_sd).encrypt(hdr[20:32], b"", hdr + batch).hex() */
	static const uint8_t want_tag[AEG_WIRE_TAG_BYTES] = {
		0x73, 0x5c, 0x91, 0x39, 0x30, 0x30, 0x8e, 0x9c,
		0xb8, 0x46, 0x27, 0x4b, 0x1e, 0x97, 0x48, 0xeb,
	};
	enum { BODY2 = 259, LEN = sizeof(want_head) + BODY2 + sizeof(want_last) + 16 };
	_Static_assert(sizeof(want_head) == AEG_WIRE_HDR_BYTES + 8 + 6, "layout");
	uint8_t body2[BODY2], buf[512];
	for (int i = 0; i < BODY2; i++)
		body2[i] = (uint8_t)(i * 13 + 1);
	struct aeg_wire_mac *mac = fx_mac_pair(0xa7, 0, CLUSTER, 0xa001, 0xb002);
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = {
		.cluster = CLUSTER, .src_node = 0xa001, .dst_node = 0xb002,
		.src_worker = 0xc003, .dst_worker = 0xd004, .seq = 0x0807060504030201ull,
		.key_id = 0x33, .version = 9, .batch_len = 77, .msg_count = 5, /* ignored */
	};
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 0x42, 300, "ab", 2), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 0x07, 0xabcdef, body2, BODY2), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 0xff, 0, "", 0), 0);
	assert_int_equal(aeg_wire_builder_seal(&b, mac), LEN);
	aeg_wire_mac_free(mac);
	const uint8_t *p = buf;
	assert_memory_equal(p, want_head, sizeof(want_head));
	p += sizeof(want_head);
	assert_memory_equal(p, body2, BODY2);
	p += BODY2;
	assert_memory_equal(p, want_last, sizeof(want_last));
	p += sizeof(want_last);
	assert_memory_equal(p, want_tag, sizeof(want_tag));
	assert_int_equal(buf[LEN], 0xee); /* nothing written past the tag */
}

/* Random batches until the frame is full; parse and iterate must give back
 * exactly what went in, and the frame length is exactly what was written. */
static void test_round_trip_random(void **state)
{
	(void)state;
	static uint8_t pool[4096];
	static uint8_t buf[9100];
	static struct want_msg want[3000];
	uint64_t seed = test_seed(0xfeed0002);
	for (int round = 0; round < 300; round++) {
		struct prng rng;
		prng_init_seed(&rng, seed + (uint64_t)round);
		for (size_t i = 0; i < sizeof(pool); i++)
			pool[i] = (uint8_t)prng_next(&rng);
		size_t cap = AEG_WIRE_FRAME_BYTES_MIN + prng_next(&rng) % 9000;
		uint32_t node = 1 + (uint32_t)(prng_next(&rng) % (NODES - 1));
		uint32_t worker = (uint32_t)(prng_next(&rng) % WORKERS);
		struct aeg_wire_hdr h = hdr_from(node, worker, 1 + prng_next(&rng) % 1000000);
		struct aeg_wire_builder b;
		assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
		size_t n = 0, expect_len = AEG_WIRE_FRAME_BYTES_MIN;
		for (;;) {
			uint64_t r = prng_next(&rng);
			struct want_msg *m = &want[n];
			m->type = (uint8_t)r;
			m->group = random_group(prng_next(&rng));
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
			if (rc != 0) {
				test_seed_print(NULL, rng.seed);
				fail_msg("add returned %d", rc);
			}
			expect_len += AEG_WIRE_MSG_HDR_BYTES + m->len;
			n++;
			assert_true(n < sizeof(want) / sizeof(want[0]));
		}
		int len = aeg_wire_builder_seal(&b, fx.mac[node]);
		assert_int_equal(len, (int)expect_len);
		assert_true((size_t)len <= cap);
		struct aeg_wire_frame f;
		enum aeg_wire_drop why = aeg_wire_parse(&fx.rx, buf, (size_t)len, &f);
		if (why != AEG_WIRE_OK) {
			test_seed_print(NULL, rng.seed);
			fail_msg("dropped as %s", aeg_wire_drop_name(why));
		}
		assert_int_equal(f.hdr.src_node, node);
		assert_int_equal(f.hdr.src_worker, worker);
		assert_int_equal(f.hdr.seq, h.seq);
		assert_int_equal(f.hdr.key_id, FX_KEY_ID);
		assert_int_equal(f.hdr.msg_count, n);
		struct aeg_wire_iter it;
		struct aeg_wire_msg m = {0};
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
		assert_int_equal(it.why, AEG_WIRE_OK);
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
	assert_int_equal(aeg_wire_builder_room(&b), 0);
	assert_int_equal(aeg_wire_builder_seal(&b, fx.mac[1]), AEG_WIRE_FRAME_BYTES_MIN);
	struct aeg_wire_frame f;
	assert_int_equal(aeg_wire_parse(&fx.rx, buf, sizeof(buf), &f), AEG_WIRE_OK);
	assert_int_equal(f.hdr.batch_len, 0);
	assert_int_equal(f.hdr.msg_count, 0);
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
}

/* A frame too small for even an empty message: -EMSGSIZE (the documented
 * "would not fit even into an empty frame"), not -ENOSPC, which tells the
 * caller to send and retry in a new frame of the same size: forever. */
static void test_no_message_fits(void **state)
{
	(void)state;
	uint8_t buf[AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_HDR_BYTES];
	for (size_t cap = AEG_WIRE_FRAME_BYTES_MIN; cap < sizeof(buf); cap++) {
		struct aeg_wire_builder b;
		struct aeg_wire_hdr h = hdr_from(1, 0, 9);
		assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
		assert_int_equal(aeg_wire_msg_body_max(cap), 0);
		int rc = aeg_wire_builder_add(&b, 1, 0, "", 0);
		if (rc != -EMSGSIZE)
			fail_msg("cap %zu: empty message gave %d, want -EMSGSIZE", cap, rc);
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
	assert_int_equal(aeg_wire_builder_seal(&b, fx.mac[1]), -EINVAL);
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
	/* Groups beyond 24 bits do not fit the header: refused, nothing written. */
	uint8_t *dst = NULL;
	assert_int_equal(aeg_wire_builder_add(&b, 1, AEG_WIRE_GROUP_MAX + 1, "x", 1), -EINVAL);
	assert_int_equal(aeg_wire_builder_add(&b, 1, UINT32_MAX, "x", 1), -EINVAL);
	assert_int_equal(aeg_wire_builder_reserve(&b, 1, 1u << 31, 1, &dst), -EINVAL);
	assert_int_equal(b.len, AEG_WIRE_HDR_BYTES);
	assert_int_equal(b.msg_count, 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, AEG_WIRE_GROUP_MAX, "x", 1), 0);
	/* Too big for any frame of this size: an error, empty or not. */
	size_t max = aeg_wire_msg_body_max(MTU_PAYLOAD);
	assert_int_equal(max, MTU_PAYLOAD - AEG_WIRE_FRAME_BYTES_MIN - AEG_WIRE_MSG_HDR_BYTES);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max + 1), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, "abc", 3), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max + 1), -EMSGSIZE);
	/* Fits an empty frame but not this one: full, send and start over. */
	size_t len_before = b.len;
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max), -ENOSPC);
	assert_int_equal(b.len, len_before);
	assert_int_equal(b.msg_count, 2);
	int n = aeg_wire_builder_seal(&b, fx.mac[1]);
	assert_int_equal(n, (int)len_before + AEG_WIRE_TAG_BYTES);
	assert_int_equal(deliver(buf, (size_t)n), AEG_WIRE_OK);
	assert_int_equal(aeg_wire_builder_seal(&b, fx.mac[1]), -EINVAL);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, "abc", 3), -EINVAL);
	/* The largest message exactly fills an empty frame. */
	h.seq = 2;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, MTU_PAYLOAD, &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, src, max), 0);
	assert_int_equal(aeg_wire_builder_seal(&b, fx.mac[1]), MTU_PAYLOAD);
	assert_int_equal(deliver(buf, MTU_PAYLOAD), AEG_WIRE_OK);
	/* Capacities beyond the largest UDP payload are clipped to it. */
	static uint8_t big[AEG_WIRE_FRAME_BYTES_MAX + 100], big_src[AEG_WIRE_FRAME_BYTES_MAX];
	h.seq = 3;
	assert_int_equal(aeg_wire_builder_begin(&b, big, sizeof(big), &h), 0);
	assert_int_equal(b.cap, AEG_WIRE_FRAME_BYTES_MAX);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, big_src, AEG_WIRE_FRAME_BYTES_MAX), -EMSGSIZE);
	max = aeg_wire_msg_body_max(sizeof(big));
	assert_int_equal(max, AEG_WIRE_BODY_BYTES_MAX);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, big_src, max + 1), -EMSGSIZE);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 9, big_src, max), 0);
	n = aeg_wire_builder_seal(&b, fx.mac[1]);
	assert_int_equal(n, AEG_WIRE_FRAME_BYTES_MAX);
	assert_int_equal(deliver(big, (size_t)n), AEG_WIRE_OK);
	/* ... and such a packet is too long for the parser. */
	assert_int_equal(parse(big, (size_t)n + 1), AEG_WIRE_DROP_BAD_LENGTH);
}

/* Workers are u16 on the wire: a larger one would be cut down to another
 * worker's stream (and another frame's IV), so begin refuses it. */
static void test_workers_are_u16(void **state)
{
	(void)state;
	uint8_t buf[MTU_PAYLOAD];
	struct aeg_wire_builder b;
	/* 0x10001 would be cut down to SELF_WORKER. */
	static const uint32_t bad[] = {AEG_WIRE_WORKER_MAX + 1, 0x10001, 0x1ffff, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aeg_wire_hdr h = hdr_from(1, bad[i], 1);
		assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), -EINVAL);
		assert_int_equal(aeg_wire_builder_add(&b, 1, 1, "x", 1), -EINVAL);
		h = hdr_from(1, 0, 1);
		h.dst_worker = bad[i];
		assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), -EINVAL);
		assert_int_equal(aeg_wire_builder_add(&b, 1, 1, "x", 1), -EINVAL);
	}
	/* The largest fit, little-endian, and decode to themselves. */
	struct aeg_wire_hdr h = hdr_from(1, AEG_WIRE_WORKER_MAX, 1);
	h.dst_worker = AEG_WIRE_WORKER_MAX - 1;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
	assert_true(aeg_wire_builder_seal(&b, fx.mac[1]) > 0);
	static const uint8_t want[] = {0xff, 0xff, 0xfe, 0xff};
	assert_memory_equal(buf + WIRE_OFF_SRC_WORKER, want, sizeof(want));
	struct aeg_reader r;
	struct aeg_wire_hdr got;
	aeg_reader_init(&r, buf, AEG_WIRE_HDR_BYTES);
	wire_hdr_decode(&r, &got);
	assert_false(r.error);
	assert_int_equal(got.src_worker, AEG_WIRE_WORKER_MAX);
	assert_int_equal(got.dst_worker, AEG_WIRE_WORKER_MAX - 1);
}

/* seal takes only the key of the header's (cluster, src, dst): under any
 * other the receiver would drop the frame as bad_tag, so it is the
 * sender's bug, reported there. */
static void test_seal_needs_pair_key(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr_from(1, 0, 1);
	struct aeg_wire_mac *wrong[] = {
		fx_mac_pair(FX_KEY_ID, 0, CLUSTER + 1, 1, SELF_NODE), /* another cluster */
		fx_mac_pair(FX_KEY_ID, 0, CLUSTER, 3, SELF_NODE),     /* another source */
		fx_mac_pair(FX_KEY_ID, 0, CLUSTER, 1, 3),             /* another destination */
		fx_mac_pair(FX_KEY_ID, 0, CLUSTER, SELF_NODE, 1),     /* the other direction */
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
		assert_int_equal(aeg_wire_builder_add(&b, 1, 7, "hello", 5), 0);
		int rc = aeg_wire_builder_seal(&b, wrong[i]);
		if (rc != -EINVAL)
			fail_msg("key %zu of another pair: seal gave %d", i, rc);
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		aeg_wire_mac_free(wrong[i]);
	/* The same frame under the header's own pair key goes through. */
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 7, "hello", 5), 0);
	int n = aeg_wire_builder_seal(&b, fx.mac[1]);
	assert_int_equal(n, AEG_WIRE_FRAME_BYTES_MIN + 11);
	assert_int_equal(deliver(buf, (size_t)n), AEG_WIRE_OK);
}

/* body_max and room are exact at every capacity: the largest body fills
 * the frame to the byte, one more is refused. (Capacities where no message
 * fits at all: test_no_message_fits.) */
static void test_room_is_exact(void **state)
{
	(void)state;
	static uint8_t buf[20000], src[20000];
	uint64_t seq = 1;
	for (size_t cap = AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_HDR_BYTES; cap < 20000;
	     cap += cap < 400 ? 1 : 97) {
		uint32_t g = (uint32_t)(cap * 2654435761u) & AEG_WIRE_GROUP_MAX;
		struct aeg_wire_builder b;
		struct aeg_wire_hdr h = hdr_from(1, 0, seq++);
		assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
		size_t max = aeg_wire_msg_body_max(cap);
		assert_int_equal(max, cap - AEG_WIRE_FRAME_BYTES_MIN - AEG_WIRE_MSG_HDR_BYTES);
		assert_int_equal(aeg_wire_builder_room(&b), max);
		assert_int_equal(aeg_wire_builder_add(&b, 3, g, src, max + 1), -EMSGSIZE);
		assert_int_equal(aeg_wire_builder_add(&b, 3, g, src, max), 0);
		assert_int_equal(b.len + AEG_WIRE_TAG_BYTES, cap);
		assert_int_equal(aeg_wire_builder_room(&b), 0);
		assert_int_equal(aeg_wire_builder_add(&b, 3, g, "", 0), -ENOSPC);
		assert_int_equal(aeg_wire_builder_seal(&b, fx.mac[1]), (int)cap);
	}
	assert_int_equal(aeg_wire_msg_body_max(AEG_WIRE_FRAME_BYTES_MIN - 1), 0);
	assert_int_equal(aeg_wire_msg_body_max(SIZE_MAX), AEG_WIRE_BODY_BYTES_MAX);
}

/* room() after random fills: room fits, room + 1 does not. */
static void test_room_random(void **state)
{
	(void)state;
	uint8_t buf[MTU_PAYLOAD];
	static uint8_t src[MTU_PAYLOAD];
	struct prng rng;
	prng_init(&rng, 0xfeed0003);
	for (int round = 0; round < 2000; round++) {
		struct aeg_wire_builder b;
		struct aeg_wire_hdr h = hdr_from(1, 0, 1);
		assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
		int msgs = (int)(prng_next(&rng) % 20);
		for (int i = 0; i < msgs; i++) {
			size_t len = prng_next(&rng) % 100;
			if (aeg_wire_builder_add(&b, 0, 1, src, len) != 0)
				break;
		}
		uint32_t g = random_group(prng_next(&rng));
		size_t room = aeg_wire_builder_room(&b);
		size_t free_bytes = b.cap - AEG_WIRE_TAG_BYTES - b.len;
		int rc = aeg_wire_builder_add(&b, 0, g, src, room + 1);
		if (rc != -ENOSPC && rc != -EMSGSIZE) {
			test_seed_print(NULL, rng.seed);
			fail_msg("round %d: room %zu + 1 gave %d", round, room, rc);
		}
		/* A zero-length body needs only the header's 6 bytes. */
		if (free_bytes >= AEG_WIRE_MSG_HDR_BYTES)
			assert_int_equal(aeg_wire_builder_add(&b, 0, g, src, room), 0);
		else
			assert_int_equal(aeg_wire_builder_add(&b, 0, g, "", 0), -ENOSPC);
	}
}

/* The iterator on hand-made batches, each in an exact-size heap copy so
 * that ASan sees any read past the batch. */
static void test_iter_rejects_garbage(void **state)
{
	(void)state;
	static const struct {
		uint8_t bytes[16];
		uint32_t len, count;
		int good;               /* messages returned before the end or error */
		enum aeg_wire_drop why; /* OK: the end (0) after them */
	} cases[] = {
		{{0}, 0, 0, 0, AEG_WIRE_OK},
		{{0, 0, 1, 0, 0}, 5, 1, 0, AEG_WIRE_DROP_TRUNCATED_MSG},         /* header cut */
		{{5, 0, 1, 0, 0, 0, 'a'}, 7, 1, 0, AEG_WIRE_DROP_TRUNCATED_MSG}, /* body cut */
		{{0xff, 0xff, 1, 0, 0, 0}, 6, 1, 0, AEG_WIRE_DROP_TRUNCATED_MSG}, /* len 65535 */
		{{0, 0, 1, 0, 0, 0, 9}, 7, 1, 1, AEG_WIRE_DROP_BAD_COUNT},       /* byte left */
		{{0, 0, 1, 0, 0, 0}, 6, 0, 0, AEG_WIRE_DROP_BAD_COUNT},          /* count 0 */
		{{0, 0, 1, 0, 0, 0, 0, 0, 2}, 9, 2, 1, AEG_WIRE_DROP_TRUNCATED_MSG},
		{{1, 0, 1, 0, 0, 0, 'x', 0, 0, 2, 0xff, 0xff, 0xff}, 13, 2, 2, AEG_WIRE_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *batch = malloc(cases[i].len > 0 ? cases[i].len : 1);
		assert_non_null(batch);
		memcpy(batch, cases[i].bytes, cases[i].len);
		struct aeg_wire_frame f = {.batch = batch};
		f.hdr.batch_len = cases[i].len;
		f.hdr.msg_count = cases[i].count;
		struct aeg_wire_iter it;
		struct aeg_wire_msg m = {0};
		aeg_wire_iter_init(&it, &f);
		for (int k = 0; k < cases[i].good; k++)
			assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
		if (cases[i].why == AEG_WIRE_OK) {
			assert_int_equal(aeg_wire_iter_next(&it, &m), 0);
		} else {
			int rc = aeg_wire_iter_next(&it, &m);
			if (rc != -EBADMSG || it.why != cases[i].why)
				fail_msg("case %zu: %d %s, want -EBADMSG %s", i, rc,
					 aeg_wire_drop_name(it.why), aeg_wire_drop_name(cases[i].why));
			/* It stays there: no later call reads further. */
			assert_int_equal(aeg_wire_iter_next(&it, &m), -EBADMSG);
		}
		free(batch);
	}
	/* The last case's second message: type 2, group 0xffffff, empty. */
	static const uint8_t two[] = {1, 0, 1, 0, 0, 0, 'x', 0, 0, 2, 0xff, 0xff, 0xff};
	struct aeg_wire_frame f = {.batch = two, .hdr = {.batch_len = 13, .msg_count = 2}};
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
	assert_true(m.type == 1 && m.group == 0 && m.body_len == 1 && m.body == two + 6);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
	assert_true(m.type == 2 && m.group == AEG_WIRE_GROUP_MAX && m.body_len == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_golden_layout),
		FX_TEST(test_round_trip_random),
		FX_TEST(test_empty_frame),
		FX_TEST(test_no_message_fits),
		FX_TEST(test_builder_errors),
		FX_TEST(test_workers_are_u16),
		FX_TEST(test_seal_needs_pair_key),
		FX_TEST(test_room_is_exact),
		FX_TEST(test_room_random),
		FX_TEST(test_iter_rejects_garbage),
	};
	return cmocka_run_group_tests_name("wire_builder", tests, NULL, NULL);
}
