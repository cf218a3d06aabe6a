/* lib/wire parser: every truncation and every bit flip rejected, each
 * drop reason counted under its own stable name, key rotation, a frame
 * under another node's key, malformed batches under a good tag (accepted
 * by the parser, stopped by the iterator), and the replay window moving
 * only for authentic frames. */
#include "wire_fixture.h"

/* The dataplane indexes counters by these values: they never move. */
_Static_assert(AEG_WIRE_DROP_BAD_TAG == 12 && AEG_WIRE_DROP_TRUNCATED_MSG == 13 &&
	       AEG_WIRE_DROP_BAD_MSG == 14 && AEG_WIRE_DROP_UNKNOWN_KEY == 15 &&
	       AEG_WIRE_DROP_NR == 16, "stable drop numbering");

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
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_TRUNCATED_MSG), "truncated_message");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_BAD_MSG), "bad_message");
	assert_string_equal(aeg_wire_drop_name(AEG_WIRE_DROP_UNKNOWN_KEY), "unknown_key");
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
		/* An exact-size heap copy, so that ASan sees any read past it. */
		uint8_t *p = malloc(cut > 0 ? cut : 1);
		assert_non_null(p);
		memcpy(p, buf, cut);
		enum aeg_wire_drop why = parse(p, cut);
		free(p);
		if (why != AEG_WIRE_DROP_TRUNCATED)
			fail_msg("cut at %zu of %zu: %s", cut, len, aeg_wire_drop_name(why));
	}
	fx_reset();
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	/* A NULL packet of length 0 is a truncation too, not a crash. */
	assert_int_equal(parse(NULL, 0), AEG_WIRE_DROP_TRUNCATED);
}

/* The reason each byte's flips must give (OK: one of several, below). */
static enum aeg_wire_drop flip_reason(size_t byte)
{
	if (byte < 4)
		return AEG_WIRE_DROP_BAD_MAGIC;
	if (byte == WIRE_OFF_VERSION)
		return AEG_WIRE_DROP_BAD_VERSION;
	if (byte == WIRE_OFF_FLAGS || byte == WIRE_OFF_RESERVED)
		return AEG_WIRE_DROP_BAD_FLAGS;
	if (byte == WIRE_OFF_KEY_ID)
		return AEG_WIRE_DROP_UNKNOWN_KEY; /* rx holds key 1 only */
	if (byte >= WIRE_OFF_CLUSTER && byte < WIRE_OFF_SRC_NODE)
		return AEG_WIRE_DROP_WRONG_CLUSTER;
	if ((byte >= WIRE_OFF_DST_NODE && byte < WIRE_OFF_SEQ) ||
	    (byte >= WIRE_OFF_DST_WORKER && byte < WIRE_OFF_BATCH_LEN))
		return AEG_WIRE_DROP_WRONG_DEST;
	if (byte >= WIRE_OFF_SEQ && byte < WIRE_OFF_SRC_WORKER)
		return AEG_WIRE_DROP_BAD_TAG; /* seq: no flip makes it 0 */
	if (byte >= AEG_WIRE_HDR_BYTES)
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
		size_t byte = bit / 8;
		memcpy(bad, buf, len);
		bad[byte] ^= (uint8_t)(1u << (bit % 8));
		fx_reset();
		enum aeg_wire_drop why = deliver(bad, len);
		enum aeg_wire_drop want = flip_reason(byte);
		if (why == AEG_WIRE_OK || (want != AEG_WIRE_OK && why != want))
			fail_msg("bit %zu (byte %zu): %s, want %s", bit, byte,
				 aeg_wire_drop_name(why), aeg_wire_drop_name(want));
		/* src node/worker: another known peer (its key or the IV: tag)
		 * or an unknown one. */
		if ((byte >= WIRE_OFF_SRC_NODE && byte < WIRE_OFF_DST_NODE) ||
		    (byte >= WIRE_OFF_SRC_WORKER && byte < WIRE_OFF_DST_WORKER))
			assert_true(why == AEG_WIRE_DROP_BAD_TAG || why == AEG_WIRE_DROP_UNKNOWN_NODE);
		/* batch length: claims more (truncated) or less (trailing bytes). */
		if (byte >= WIRE_OFF_BATCH_LEN && byte < WIRE_OFF_MSG_COUNT)
			assert_true(why == AEG_WIRE_DROP_TRUNCATED || why == AEG_WIRE_DROP_BAD_LENGTH);
		/* count: impossible for the length, or wrong (tag). */
		if (byte >= WIRE_OFF_MSG_COUNT && byte < AEG_WIRE_HDR_BYTES)
			assert_true(why == AEG_WIRE_DROP_BAD_COUNT || why == AEG_WIRE_DROP_BAD_TAG);
		/* Nothing refused may move the window. */
		assert_int_equal(fx.win[1][0].top, 0);
	}
	/* Whole-byte damage too: every other value of every byte. */
	for (size_t byte = 0; byte < len; byte++) {
		for (unsigned x = 1; x < 256; x += 17) {
			memcpy(bad, buf, len);
			bad[byte] ^= (uint8_t)x;
			fx_reset();
			if (deliver(bad, len) == AEG_WIRE_OK)
				fail_msg("byte %zu ^ %#x accepted", byte, x);
		}
	}
}

/* What the dataplane does: count every packet under its reason (the
 * iterator's for an accepted frame whose batch is malformed). Each bad
 * packet below is valid but for one thing (its tag recomputed where the
 * change is before the tag check), and good traffic keeps flowing. */
static void test_drops_counted_per_reason(void **state)
{
	(void)state;
	uint64_t counts[AEG_WIRE_DROP_NR] = {0};
	uint8_t buf[256];
	size_t len;
	uint64_t seq = 100;
	struct aeg_wire_hdr h;
#define SEND(pkt, n) counts[deliver((pkt), (n))]++

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
	buf[WIRE_OFF_VERSION] = 1;                       /* a version 1 peer */
	retag(buf, len);
	SEND(buf, len);                                  /* bad_version */
	buf[WIRE_OFF_VERSION] = AEG_WIRE_VERSION;
	buf[WIRE_OFF_FLAGS] = 0x80;
	retag(buf, len);
	SEND(buf, len);                                  /* bad_flags */
	buf[WIRE_OFF_FLAGS] = 0;
	buf[WIRE_OFF_RESERVED] = 1;
	retag(buf, len);
	SEND(buf, len);                                  /* bad_flags: reserved */
	buf[WIRE_OFF_RESERVED] = 0;
	put_le32(buf + WIRE_OFF_MSG_COUNT, SMALL_BATCH_BYTES / AEG_WIRE_MSG_HDR_BYTES + 1);
	retag(buf, len);
	SEND(buf, len);                                  /* bad_count: impossible */
	put_le32(buf + WIRE_OFF_MSG_COUNT, 3);
	retag(buf, len);
	SEND(buf, len);                                  /* ok: the window did not move */

	/* Accepted by the parser, stopped by the iterator (a sender bug). */
	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	put_le32(buf + WIRE_OFF_MSG_COUNT, 2);
	retag(buf, len);
	SEND(buf, len);                                  /* bad_count: bytes left over */
	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	put_le32(buf + WIRE_OFF_MSG_COUNT, 4);
	retag(buf, len);
	SEND(buf, len);                                  /* truncated_message */

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
	h = hdr_from(1, 0, seq++);
	len = small_frame(buf, sizeof(buf), &h);
	retag_with(buf, len, fx.mac[3]);
	SEND(buf, len);                                  /* bad_tag: node 3's key */

	/* The right key bytes under a key_id the receiver does not hold. */
	struct aeg_wire_mac *mac7 = fx_mac(1, 7, 0);
	h = hdr_from(1, 0, seq++);
	len = small_frame_mac(buf, sizeof(buf), &h, mac7);
	aeg_wire_mac_free(mac7);
	SEND(buf, len);                                  /* unknown_key */

	assert_int_equal(counts[AEG_WIRE_OK], 3);
	assert_int_equal(counts[AEG_WIRE_DROP_TRUNCATED], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_MAGIC], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_VERSION], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_FLAGS], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_LENGTH], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_COUNT], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_WRONG_CLUSTER], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_WRONG_DEST], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_UNKNOWN_NODE], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_REPLAYED], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_TOO_OLD], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_TAG], 2);
	assert_int_equal(counts[AEG_WIRE_DROP_TRUNCATED_MSG], 1);
	assert_int_equal(counts[AEG_WIRE_DROP_BAD_MSG], 0); /* version 1 only */
	assert_int_equal(counts[AEG_WIRE_DROP_UNKNOWN_KEY], 1);
#undef SEND
}

/* Rotation of node 1's keys: with the old key in slot 0 and the new one
 * in slot 1, frames under either are accepted; a third key is unknown; the
 * same key id from other cluster key bytes is a bad tag; retiring a key
 * refuses its frames. Other nodes' keys are their own: node 3 has no key 2
 * yet. */
static void test_key_rotation(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_mac *next = fx_mac(1, 2, 0x5a), *third = fx_mac(1, 3, 0xa5);
	struct aeg_wire_mac *impostor = fx_mac(1, 2, 0x01); /* key id 2, other bytes */
	struct aeg_wire_mac *next3 = fx_mac(3, 2, 0x5a);   /* node 3's new key */
	fx.keys[1][1] = next;
	struct aeg_wire_hdr h = hdr_from(1, 0, 10);
	size_t len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(buf[WIRE_OFF_KEY_ID], FX_KEY_ID);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	h.seq = 11;
	len = small_frame_mac(buf, sizeof(buf), &h, next);
	assert_int_equal(buf[WIRE_OFF_KEY_ID], 2);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	h.seq = 12;
	len = small_frame_mac(buf, sizeof(buf), &h, third);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_UNKNOWN_KEY);
	len = small_frame_mac(buf, sizeof(buf), &h, impostor);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_BAD_TAG);
	/* The key id is authenticated: key 1's tag under the label "2". */
	len = small_frame(buf, sizeof(buf), &h);
	buf[WIRE_OFF_KEY_ID] = 2;
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_BAD_TAG);
	/* Node 1's rotation is not node 3's: its new key is not installed. */
	struct aeg_wire_hdr h3 = hdr_from(3, 0, 12);
	len = small_frame_mac(buf, sizeof(buf), &h3, next3);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_UNKNOWN_KEY);
	len = small_frame(buf, sizeof(buf), &h3);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	/* Old key retired: only the new one (now alone, in slot 1) works. */
	fx.keys[1][0] = NULL;
	len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_UNKNOWN_KEY);
	len = small_frame_mac(buf, sizeof(buf), &h, next);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	/* No key at all: nothing is accepted. */
	fx.keys[1][1] = NULL;
	h.seq = 13;
	len = small_frame_mac(buf, sizeof(buf), &h, next);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_UNKNOWN_KEY);
	assert_int_equal(fx.win[1][0].top, 12);
	aeg_wire_mac_free(next);
	aeg_wire_mac_free(third);
	aeg_wire_mac_free(impostor);
	aeg_wire_mac_free(next3);
}

/* A frame from node 1 tagged under node 3's key (a sender that took the
 * wrong peer's key: same cluster key and key id), or under the key of this
 * node's frames to node 1 (the other direction), is a bad tag: the
 * receiver checks node 1's frames with node 1's key only. Neither moves
 * the window; the same bytes under node 1's key are accepted. seal refuses
 * such keys, so the tags are written by hand. */
static void test_other_nodes_key(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_mac *reverse = fx_mac_pair(FX_KEY_ID, 0, CLUSTER, SELF_NODE, 1);
	struct aeg_wire_hdr h = hdr_from(1, 0, 7);
	size_t len = small_frame(buf, sizeof(buf), &h);
	assert_int_equal(aeg_wire_mac_key_id(fx.mac[3]), buf[WIRE_OFF_KEY_ID]);
	retag_with(buf, len, fx.mac[3]);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_BAD_TAG);
	retag_with(buf, len, reverse);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_BAD_TAG);
	assert_int_equal(fx.win[1][0].top, 0);
	retag_with(buf, len, fx.mac[1]);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	assert_int_equal(fx.win[1][0].top, 7);
	/* And node 3's key is right for node 3's frames. */
	h = hdr_from(3, 0, 7);
	len = small_frame_mac(buf, sizeof(buf), &h, fx.mac[3]);
	assert_int_equal(deliver(buf, len), AEG_WIRE_OK);
	aeg_wire_mac_free(reverse);
}

/* A body length that runs past the batch, under a good tag: the parser
 * accepts (and commits the sequence: the tag proves the sender holds the
 * key), the iterator hands out the good messages and stops there. */
static void test_body_past_batch(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wire_hdr h = hdr_from(1, 0, 5);
	size_t len = small_frame(buf, sizeof(buf), &h);
	/* Third message: after (6 + 5) + (6 + 0) bytes; body_len 16 -> 17. */
	size_t at = AEG_WIRE_HDR_BYTES + 11 + 6;
	assert_int_equal(buf[at], 16);
	buf[at] = 17;
	retag(buf, len);
	struct aeg_wire_frame f;
	assert_int_equal(aeg_wire_parse(&fx.rx, buf, len, &f), AEG_WIRE_OK);
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
	assert_true(m.type == 1 && m.group == 7 && m.body_len == 5);
	assert_memory_equal(m.body, "hello", 5);
	assert_int_equal(aeg_wire_iter_next(&it, &m), 1);
	assert_true(m.type == 2 && m.group == 300 && m.body_len == 0);
	assert_int_equal(aeg_wire_iter_next(&it, &m), -EBADMSG);
	assert_int_equal(it.why, AEG_WIRE_DROP_TRUNCATED_MSG);
	/* The high byte of the length, too (no 8-bit truncation). */
	h.seq = 6;
	len = small_frame(buf, sizeof(buf), &h);
	buf[at] = 16;
	buf[at + 1] = 1;
	retag(buf, len);
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_TRUNCATED_MSG);
	/* The tag made both count: the same frames again are replays. */
	assert_int_equal(deliver(buf, len), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(fx.win[1][0].top, 6);
}

/* Hand-made batches under a good tag: the parser refuses only a count
 * that cannot fit the length; the rest is the iterator's to find. */
static void test_malformed_batches(void **state)
{
	(void)state;
	static const struct {
		uint8_t batch[16];
		size_t len;
		uint32_t count;
		enum aeg_wire_drop want;
	} cases[] = {
		{{0}, 0, 0, AEG_WIRE_OK},
		{{0}, 0, 1, AEG_WIRE_DROP_BAD_COUNT},                          /* parser */
		{{0, 0, 1, 0, 0, 0}, 6, 1, AEG_WIRE_OK},
		{{0, 0, 1, 0, 0, 0}, 6, 0, AEG_WIRE_DROP_BAD_COUNT},           /* iterator */
		{{0, 0, 1, 0, 0, 0}, 6, 2, AEG_WIRE_DROP_BAD_COUNT},           /* > len / 6 */
		{{0, 0, 1, 0, 0, 0, 9}, 7, 1, AEG_WIRE_DROP_BAD_COUNT},        /* byte left */
		{{3, 0, 1, 0, 0, 0, 'a', 'b'}, 8, 1, AEG_WIRE_DROP_TRUNCATED_MSG}, /* body */
		{{0xff, 0xff, 1, 0, 0, 0}, 6, 1, AEG_WIRE_DROP_TRUNCATED_MSG}, /* len 65535 */
		{{0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0}, 12, 2, AEG_WIRE_OK},
		{{0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0}, 12, 1, AEG_WIRE_DROP_BAD_COUNT},
		{{3, 0, 1, 0, 0, 0, 'a', 'b', 'c', 0, 0, 2}, 12, 2,
		 AEG_WIRE_DROP_TRUNCATED_MSG},                                  /* header cut */
		{{1, 0, 1, 0xff, 0xff, 0xff, 'x'}, 7, 1, AEG_WIRE_OK},         /* GROUP_MAX */
	};
	uint8_t buf[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_reset();
		size_t len = raw_frame(buf, sizeof(buf), 1, cases[i].batch, cases[i].len,
				       cases[i].count);
		enum aeg_wire_drop why = deliver(buf, len);
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
	/* A frame under the wrong key bytes or an unknown key moves nothing. */
	struct aeg_wire_mac *wrong = fx_mac(2, FX_KEY_ID, 1), *other = fx_mac(2, 9, 0);
	h = hdr_from(2, 1, 1000);
	len = small_frame_mac(buf, sizeof(buf), &h, wrong);
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_BAD_TAG);
	h = hdr_from(2, 1, 2000);
	len = small_frame_mac(buf, sizeof(buf), &h, other);
	assert_int_equal(parse(buf, len), AEG_WIRE_DROP_UNKNOWN_KEY);
	aeg_wire_mac_free(wrong);
	aeg_wire_mac_free(other);
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

/* The test-only entry skips the key and the tag and nothing else. */
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
	/* An unknown key id is the key check's: skipped too. */
	h.seq = 12;
	len = small_frame(buf, sizeof(buf), &h);
	buf[WIRE_OFF_KEY_ID] = 200;
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f), AEG_WIRE_OK);
	/* Header checks still apply. */
	h.seq = 13;
	len = small_frame(buf, sizeof(buf), &h);
	buf[WIRE_OFF_RESERVED] = 1;
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f),
			 AEG_WIRE_DROP_BAD_FLAGS);
	/* A malformed batch gets through, for the iterator to stop. */
	buf[WIRE_OFF_RESERVED] = 0;
	buf[AEG_WIRE_HDR_BYTES] = 0xff;
	assert_int_equal(wire_parse_untagged_for_test(&fx.rx, buf, len, &f), AEG_WIRE_OK);
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	aeg_wire_iter_init(&it, &f);
	assert_int_equal(aeg_wire_iter_next(&it, &m), -EBADMSG);
	assert_int_equal(it.why, AEG_WIRE_DROP_TRUNCATED_MSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_drop_names),
		FX_TEST(test_every_truncation),
		FX_TEST(test_every_bit_flip),
		FX_TEST(test_drops_counted_per_reason),
		FX_TEST(test_key_rotation),
		FX_TEST(test_other_nodes_key),
		FX_TEST(test_body_past_batch),
		FX_TEST(test_malformed_batches),
		FX_TEST(test_window_moves_only_after_tag),
		FX_TEST(test_streams_are_separate),
		FX_TEST(test_untagged_entry),
	};
	return cmocka_run_group_tests_name("wire_parse", tests, NULL, NULL);
}
