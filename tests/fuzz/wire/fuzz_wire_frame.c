/* libFuzzer target for the lib/wire frame parser and message iterator.
 * Each input is parsed three ways: as it is under a fixed key; as it is
 * with the key and tag checks skipped (the test-only entry), so random
 * bytes reach the iterator; and with magic, version, flags, key id,
 * cluster, destination and length fixed up and a correct GMAC tag
 * computed, so the authenticated path is exercised too. Nothing may crash
 * or read out of bounds; the iterator must agree with a plain walk of the
 * batch; a frame that iterates cleanly must re-encode to the same bytes;
 * an accepted frame is refused as a replay the second time. */
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
#define KEY_ID 5

static const struct aeg_wire_key fuzz_key = {
	.bytes = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
};
static struct aeg_wire_replay windows[NODES][WORKERS];

static struct aeg_wire_replay *lookup(void *arg, uint32_t node, uint32_t worker)
{
	(void)arg;
	if (node >= NODES || worker >= WORKERS)
		return NULL;
	return &windows[node][worker];
}

/* keys[0] is set on the first input: the mac is made once and lives for
 * the process (expanding a key per input would dominate the run). */
static struct aeg_wire_rx rx = {
	.cluster = CLUSTER, .self_node = SELF_NODE,
	.self_worker = SELF_WORKER, .peer_lookup = lookup, .peer_arg = NULL,
};

static const struct aeg_wire_mac *fuzz_mac(void)
{
	static struct aeg_wire_mac *mac;
	if (mac == NULL) {
		if (aeg_wire_mac_new(&mac, &fuzz_key, KEY_ID, 0) != 0)
			abort();
		rx.keys[0] = mac;
	}
	return mac;
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
	int out_len = aeg_wire_builder_seal(&b, fuzz_mac());
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

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct aeg_wire_mac *mac = fuzz_mac();
	parse_one(aeg_wire_parse, data, size, true);
	parse_one(wire_parse_untagged_for_test, data, size, false);

	if (size < AEG_WIRE_FRAME_BYTES_MIN || size > AEG_WIRE_FRAME_BYTES_MAX)
		return 0;
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	uint8_t *pkt = malloc(size);
	if (pkt == NULL)
		return 0;
	memcpy(pkt, data, size);
	put_le32(pkt, AEG_WIRE_MAGIC);
	pkt[WIRE_OFF_VERSION] = AEG_WIRE_VERSION;
	pkt[WIRE_OFF_FLAGS] = 0;
	pkt[WIRE_OFF_KEY_ID] = KEY_ID;
	pkt[WIRE_OFF_RESERVED] = 0;
	put_le32(pkt + WIRE_OFF_CLUSTER, CLUSTER);
	put_le32(pkt + 16, SELF_NODE);   /* dst node */
	put_le32(pkt + 24, SELF_WORKER); /* dst worker */
	put_le32(pkt + WIRE_OFF_BATCH_LEN, (uint32_t)(size - AEG_WIRE_FRAME_BYTES_MIN));
	aeg_wire_mac_tag(mac, pkt + AEG_WIRE_IV_OFFSET, pkt, size - AEG_WIRE_TAG_BYTES,
			 pkt + size - AEG_WIRE_TAG_BYTES);
	parse_one(aeg_wire_parse, pkt, size, true);
	free(pkt);
	return 0;
}
