/* lib/wire builder and iterator: round trips of random batches, exact
 * room and size limits (a message too big for any frame is an error, a
 * full frame says so), and the iterator on bad input. */
#include "wire_fixture.h"

struct want_msg {
	uint8_t type;
	uint32_t group;
	const uint8_t *body;
	size_t len;
};

/* The documented layout, byte for byte: a change here breaks every peer
 * running the previous build, so it must come with a new version. */
static void test_golden_layout(void **state)
{
	(void)state;
	static const uint8_t want[] = {
		0x41, 0x45, 0x47, 0x57,             /* magic "AEGW" */
		0x01,                               /* version */
		0x00,                               /* flags */
		0xc4, 0xc3, 0xc2, 0xc1,             /* cluster */
		0x01, 0x00, 0x00, 0x00,             /* src node */
		0x02, 0x00, 0x00, 0x00,             /* dst node */
		0x00, 0x00, 0x00, 0x00,             /* src worker */
		0x01, 0x00, 0x00, 0x00,             /* dst worker */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* seq */
		0x06, 0x00, 0x00, 0x00,             /* batch length */
		0x01, 0x00, 0x00, 0x00,             /* message count */
		0x42, 0xac, 0x02, 0x02, 'a', 'b',   /* type, group 300, length 2, body */
	};
	_Static_assert(sizeof(want) == AEG_WIRE_HDR_BYTES + 6, "layout");
	uint8_t buf[128], tag[AEG_WIRE_TAG_BYTES];
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr_from(1, 0, 0x0807060504030201ull);
	assert_int_equal(aeg_wire_builder_begin(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 0x42, 300, "ab", 2), 0);
	assert_int_equal(aeg_wire_builder_seal(&b, &fx.key), sizeof(want) + AEG_WIRE_TAG_BYTES);
	assert_memory_equal(buf, want, sizeof(want));
	aeg_wire_tag(&fx.key, want, sizeof(want), tag);
	assert_memory_equal(buf + sizeof(want), tag, sizeof(tag));
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
			expect_len += 1 + aeg_varint_size(m->group) + aeg_varint_size(m->len) + m->len;
			n++;
			assert_true(n < sizeof(want) / sizeof(want[0]));
		}
		int len = aeg_wire_builder_seal(&b, &fx.key);
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
		size_t room = aeg_wire_builder_room(&b, g);
		int rc = aeg_wire_builder_add(&b, 0, g, src, room + 1);
		if (rc != -ENOSPC && rc != -EMSGSIZE) {
			test_seed_print(NULL, rng.seed);
			fail_msg("round %d: room %zu + 1 gave %d", round, room, rc);
		}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_golden_layout, setup),
		cmocka_unit_test_setup(test_round_trip_random, setup),
		cmocka_unit_test_setup(test_empty_frame, setup),
		cmocka_unit_test_setup(test_builder_errors, setup),
		cmocka_unit_test_setup(test_room_is_exact, setup),
		cmocka_unit_test_setup(test_room_random, setup),
		cmocka_unit_test_setup(test_iter_rejects_garbage, setup),
	};
	return cmocka_run_group_tests_name("wire_builder", tests, NULL, NULL);
}
