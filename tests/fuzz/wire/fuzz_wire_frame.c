/* libFuzzer target for the lib/wire frame parser and message iterator.
 * The receiver holds, for each source node, the keys of that node's frames
 * to it (derived from two fixed cluster keys, key ids 5 and 6). Each input
 * is parsed three ways: as it is; as it is with the key and tag checks
 * skipped (the test-only entry), so random bytes reach the iterator; and
 * with magic, version, flags, key id (one of the two), cluster,
 * destination and length fixed up and a correct GMAC tag computed under
 * the key of the header's source node, so the authenticated path is
 * exercised too. Nothing may crash or read out of bounds; the iterator
 * must agree with a plain walk of the batch; a frame that iterates cleanly
 * must re-encode to the same bytes; an accepted frame is refused as a
 * replay the second time. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/wire.h"
#include "wire/wire_internal.h"

#define NODES 4
#define WORKERS 4
#define CLUSTER 0x0a0b0c0du
#define SELF_NODE 1
#define SELF_WORKER 2
#define KEY_ID 5 /* keys[n][0]; keys[n][1] is KEY_ID + 1 (a rotation) */

static const struct aeg_wire_key fuzz_key[AEG_WIRE_RX_KEYS] = {
	{.bytes = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
	{.bytes = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
		   0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}},
};
static struct aeg_wire_replay windows[NODES][WORKERS];
/* keys[n]: the keys of frames from node n (0 included) to SELF_NODE, made
 * on the first input and kept for the process (expanding keys per input
 * would dominate the run). */
static const struct aeg_wire_mac *keys[NODES][AEG_WIRE_RX_KEYS];

static bool lookup(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out)
{
	(void)arg;
	if (node >= NODES || worker >= WORKERS)
		return false;
	out->replay = &windows[node][worker];
	out->keys = keys[node];
	return true;
}

static const struct aeg_wire_rx rx = {
	.cluster = CLUSTER, .self_node = SELF_NODE,
	.self_worker = SELF_WORKER, .peer_lookup = lookup, .peer_arg = NULL,
};

static void make_keys(void)
{
	if (keys[0][0] != NULL)
		return;
	for (uint32_t n = 0; n < NODES; n++) {
		for (int k = 0; k < AEG_WIRE_RX_KEYS; k++) {
			struct aeg_wire_mac *m;
			if (aeg_wire_mac_new(&m, &fuzz_key[k], (uint8_t)(KEY_ID + k), CLUSTER, n,
					     SELF_NODE, 0) != 0)
				abort();
			keys[n][k] = m;
		}
	}
}

/* The receiver's key for frames from node (< NODES) under key_id, or the
 * first one if it holds none under that id. */
static const struct aeg_wire_mac *key_for(uint32_t node, uint8_t key_id)
{
	for (int k = 0; k < AEG_WIRE_RX_KEYS; k++)
		if (aeg_wire_mac_key_id(keys[node][k]) == key_id)
			return keys[node][k];
	return keys[node][0];
}

typedef enum aeg_wire_drop (*parse_fn)(const struct aeg_wire_rx *, const uint8_t *, size_t,
				       struct aeg_wire_frame *);

static void reset_windows(uint64_t floor)
{
	for (int n = 0; n < NODES; n++)
		for (int w = 0; w < WORKERS; w++)
			aeg_wire_replay_init(&windows[n][w], floor);
}

/* The batch's verdict by a plain walk in size_t: OK, TRUNCATED_MSG or
 * BAD_COUNT (what the iterator must say after the same messages). */
static enum aeg_wire_drop walk(const uint8_t *batch, size_t len, uint32_t count, uint32_t *good)
{
	size_t pos = 0;
	for (*good = 0; *good < count; (*good)++) {
		if (len - pos < AEG_WIRE_MSG_HDR_BYTES)
			return AEG_WIRE_DROP_TRUNCATED_MSG;
		size_t body = (size_t)batch[pos] | (size_t)batch[pos + 1] << 8;
		if (pos + AEG_WIRE_MSG_HDR_BYTES + body > len)
			return AEG_WIRE_DROP_TRUNCATED_MSG;
		pos += AEG_WIRE_MSG_HDR_BYTES + body;
	}
	return pos == len ? AEG_WIRE_OK : AEG_WIRE_DROP_BAD_COUNT;
}

/* Iterates an accepted frame and, when its batch is well formed, rebuilds
 * it from the parsed view; compares all bytes, or all but key id and tag
 * when the key and tag were not checked. */
static void check_frame(const struct aeg_wire_frame *f, const uint8_t *pkt, size_t len,
			bool tag_checked)
{
	static uint8_t out[AEG_WIRE_FRAME_BYTES_MAX];
	uint32_t good;
	enum aeg_wire_drop want = walk(f->batch, f->hdr.batch_len, f->hdr.msg_count, &good);
	struct aeg_wire_builder b;
	if (aeg_wire_builder_begin(&b, out, len, &f->hdr) != 0)
		abort();
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	uint32_t n = 0;
	int rc;
	aeg_wire_iter_init(&it, f);
	while ((rc = aeg_wire_iter_next(&it, &m)) == 1) {
		if (m.body < f->batch || m.body + m.body_len > f->batch + f->hdr.batch_len ||
		    m.group > AEG_WIRE_GROUP_MAX)
			abort();
		if (aeg_wire_builder_add(&b, m.type, m.group, m.body, m.body_len) != 0)
			abort();
		n++;
	}
	if (n != good || (rc == 0) != (want == AEG_WIRE_OK))
		abort();
	if (rc != 0) {
		if (rc != -EBADMSG || it.why != want)
			abort();
		return;
	}
	/* Accepted, so the pair is (CLUSTER, src_node < NODES, SELF_NODE). */
	int out_len = aeg_wire_builder_seal(&b, key_for(f->hdr.src_node, f->hdr.key_id));
	if (out_len < 0 || (size_t)out_len != len)
		abort();
	if (tag_checked) {
		if (memcmp(out, pkt, len) != 0)
			abort();
	} else if (memcmp(out, pkt, WIRE_OFF_KEY_ID) != 0 ||
		   memcmp(out + WIRE_OFF_KEY_ID + 1, pkt + WIRE_OFF_KEY_ID + 1,
			  len - AEG_WIRE_TAG_BYTES - WIRE_OFF_KEY_ID - 1) != 0) {
		abort();
	}
}

static void parse_one(parse_fn parse, const uint8_t *pkt, size_t len, bool tag_checked)
{
	struct aeg_wire_frame f;
	reset_windows(0);
	enum aeg_wire_drop why = parse(&rx, pkt, len, &f);
	if ((unsigned)why >= AEG_WIRE_DROP_NR)
		abort();
	if (why != AEG_WIRE_OK)
		return;
	check_frame(&f, pkt, len, tag_checked);
	if (parse(&rx, pkt, len, &f) != AEG_WIRE_DROP_REPLAYED)
		abort();
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	make_keys();
	parse_one(aeg_wire_parse, data, size, true);
	parse_one(wire_parse_untagged_for_test, data, size, false);

	if (size < AEG_WIRE_FRAME_BYTES_MIN || size > AEG_WIRE_FRAME_BYTES_MAX)
		return 0;
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	uint8_t *pkt = malloc(size);
	if (pkt == NULL)
		return 0;
	memcpy(pkt, data, size);
	put_le(pkt, AEG_WIRE_MAGIC, 4);
	pkt[WIRE_OFF_VERSION] = AEG_WIRE_VERSION;
	pkt[WIRE_OFF_FLAGS] = 0;
	pkt[WIRE_OFF_KEY_ID] = (uint8_t)(KEY_ID + (data[WIRE_OFF_KEY_ID] & 1));
	pkt[WIRE_OFF_RESERVED] = 0;
	put_le(pkt + WIRE_OFF_CLUSTER, CLUSTER, 4);
	put_le(pkt + WIRE_OFF_DST_NODE, SELF_NODE, 4);
	put_le(pkt + WIRE_OFF_DST_WORKER, SELF_WORKER, 2);
	put_le(pkt + WIRE_OFF_BATCH_LEN, (uint32_t)(size - AEG_WIRE_FRAME_BYTES_MIN), 4);
	/* The source node stays as fuzzed (an unknown one is dropped before
	 * the tag, whatever key made it). */
	uint32_t src = get_le32(pkt + WIRE_OFF_SRC_NODE);
	const struct aeg_wire_mac *mac = key_for(src < NODES ? src : 0, pkt[WIRE_OFF_KEY_ID]);
	aeg_wire_mac_tag(mac, pkt + AEG_WIRE_IV_OFFSET, pkt, size - AEG_WIRE_TAG_BYTES,
			 pkt + size - AEG_WIRE_TAG_BYTES);
	parse_one(aeg_wire_parse, pkt, size, true);
	free(pkt);
	return 0;
}
