/* lib/wire parser: every truncation and every bit flip rejected, each
 * drop reason counted under its own stable name, malformed batches under
 * a good tag, and the replay window moving only for authentic frames. */
#include "wire_fixture.h"

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
		cmocka_unit_test_setup(test_every_truncation, setup),
		cmocka_unit_test_setup(test_every_bit_flip, setup),
		cmocka_unit_test_setup(test_drops_counted_per_reason, setup),
		cmocka_unit_test_setup(test_body_past_batch, setup),
		cmocka_unit_test_setup(test_malformed_batches, setup),
		cmocka_unit_test_setup(test_window_moves_only_after_tag, setup),
		cmocka_unit_test_setup(test_streams_are_separate, setup),
		cmocka_unit_test_setup(test_untagged_entry, setup),
	};
	return cmocka_run_group_tests_name("wire_parse", tests, NULL, NULL);
}
