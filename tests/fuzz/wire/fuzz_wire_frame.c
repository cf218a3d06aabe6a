/* libFuzzer target for the lib/wire frame parser. Each input is parsed
 * three ways: as it is under a fixed key; as it is with the tag check
 * skipped (the test-only entry), so random bytes reach the message walk;
 * and with magic, version, cluster, destination and length fixed up and a
 * correct tag computed, so the authenticated path is exercised too.
 * Nothing may crash or read out of bounds, an accepted frame must iterate
 * cleanly, re-encode to the same bytes, and be refused as a replay the
 * second time. */
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

static const struct aeg_wire_rx rx = {
	.key = &fuzz_key, .cluster = CLUSTER, .self_node = SELF_NODE,
	.self_worker = SELF_WORKER, .peer_lookup = lookup, .peer_arg = NULL,
};

typedef enum aeg_wire_drop (*parse_fn)(const struct aeg_wire_rx *, const uint8_t *, size_t,
				       struct aeg_wire_frame *);

static void reset_windows(uint64_t floor)
{
	for (int n = 0; n < NODES; n++)
		for (int w = 0; w < WORKERS; w++)
			aeg_wire_replay_init(&windows[n][w], floor);
}

/* Rebuilds an accepted frame from its parsed view; compares all bytes, or
 * all but the tag when the tag was not checked. */
static void check_reencode(const struct aeg_wire_frame *f, const uint8_t *pkt, size_t len,
			   bool tag_checked)
{
	static uint8_t out[AEG_WIRE_FRAME_BYTES_MAX];
	struct aeg_wire_builder b;
	if (aeg_wire_builder_begin(&b, out, len, &f->hdr) != 0)
		abort();
	struct aeg_wire_iter it;
	struct aeg_wire_msg m;
	uint32_t n = 0;
	int rc;
	aeg_wire_iter_init(&it, f);
	while ((rc = aeg_wire_iter_next(&it, &m)) == 1) {
		if (m.body < pkt || m.body + m.body_len > pkt + len)
			abort();
		if (aeg_wire_builder_add(&b, m.type, m.group, m.body, m.body_len) != 0)
			abort();
		n++;
	}
	if (rc != 0 || n != f->hdr.msg_count)
		abort();
	int out_len = aeg_wire_builder_seal(&b, &fuzz_key);
	if (out_len < 0 || (size_t)out_len != len)
		abort();
	if (memcmp(out, pkt, tag_checked ? len : len - AEG_WIRE_TAG_BYTES) != 0)
		abort();
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
	check_reencode(&f, pkt, len, tag_checked);
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
	put_le32(pkt + 6, CLUSTER);
	put_le32(pkt + 14, SELF_NODE);
	put_le32(pkt + 22, SELF_WORKER);
	put_le32(pkt + WIRE_OFF_BATCH_LEN, (uint32_t)(size - AEG_WIRE_FRAME_BYTES_MIN));
	aeg_wire_tag(&fuzz_key, pkt, size - AEG_WIRE_TAG_BYTES, pkt + size - AEG_WIRE_TAG_BYTES);
	parse_one(aeg_wire_parse, pkt, size, true);
	free(pkt);
	return 0;
}
