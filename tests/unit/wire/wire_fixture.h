/* Shared by the lib/wire frame tests: a receiving worker (node 2, worker
 * 1) with a small peer table, the key of each peer node's frames to it
 * (derived from one cluster key, expanded once per test in setup and freed
 * in teardown, so that ASan sees no leak), the seeded PRNG of
 * tests/common/test_prng.h, and helpers that build, damage and re-tag
 * frames, each with the key of the frame's own node pair. */
#ifndef AEGIS_TEST_WIRE_FIXTURE_H
#define AEGIS_TEST_WIRE_FIXTURE_H

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
#include "test_prng.h"

#define CLUSTER 0xc1c2c3c4u
#define SELF_NODE 2
#define SELF_WORKER 1
#define NODES 4   /* nodes 1..3 are peers; 0 and >= 4 are unknown */
#define WORKERS 3
#define MTU_PAYLOAD 1472 /* 1500 - IPv4 20 - UDP 8 */
#define FX_KEY_ID 1

struct fixture {
	struct aeg_wire_key key; /* the cluster key */
	/* mac[n]: the key of frames from node n to SELF_NODE under FX_KEY_ID,
	 * for the peers n = 1..NODES-1 (SELF_NODE too: its other workers). */
	struct aeg_wire_mac *mac[NODES];
	/* What the peer lookup hands out for node n: mac[n] in slot 0. */
	const struct aeg_wire_mac *keys[NODES][AEG_WIRE_RX_KEYS];
	struct aeg_wire_replay win[NODES][WORKERS];
	struct aeg_wire_rx rx;
};

/* One fixture per test executable (each includes this header once). */
static struct fixture fx;

static inline bool lookup(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out)
{
	struct fixture *f = arg;
	if (node == 0 || node >= NODES || worker >= WORKERS)
		return false;
	out->replay = &f->win[node][worker];
	out->keys = f->keys[node];
	return true;
}

/* Fresh windows and one key per peer; the keys themselves are kept. */
static inline void fx_reset(void)
{
	for (int n = 0; n < NODES; n++) {
		for (int w = 0; w < WORKERS; w++)
			aeg_wire_replay_init(&fx.win[n][w], 0);
		fx.keys[n][0] = fx.mac[n];
		for (int k = 1; k < AEG_WIRE_RX_KEYS; k++)
			fx.keys[n][k] = NULL;
	}
	fx.rx = (struct aeg_wire_rx){
		.cluster = CLUSTER, .self_node = SELF_NODE, .self_worker = SELF_WORKER,
		.peer_lookup = lookup, .peer_arg = &fx,
	};
}

/* The key of frames from src to dst in cluster, from fx.key (changed by
 * xor_first) under key_id; the caller frees. */
static inline struct aeg_wire_mac *fx_mac_pair(uint8_t key_id, uint8_t xor_first, uint32_t cluster,
					       uint32_t src, uint32_t dst)
{
	struct aeg_wire_key k = fx.key;
	struct aeg_wire_mac *m = NULL;
	k.bytes[0] ^= xor_first;
	assert_int_equal(aeg_wire_mac_new(&m, &k, key_id, cluster, src, dst, 0), 0);
	assert_non_null(m);
	return m;
}

/* The same for frames from node src to this node. */
static inline struct aeg_wire_mac *fx_mac(uint32_t src, uint8_t key_id, uint8_t xor_first)
{
	return fx_mac_pair(key_id, xor_first, CLUSTER, src, SELF_NODE);
}

static inline void fx_free_macs(void)
{
	for (int n = 0; n < NODES; n++) {
		aeg_wire_mac_free(fx.mac[n]);
		fx.mac[n] = NULL;
	}
}

static inline int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		fx.key.bytes[i] = (uint8_t)(0x11 * i + 5);
	for (uint32_t n = 1; n < NODES; n++) {
		if (aeg_wire_mac_new(&fx.mac[n], &fx.key, FX_KEY_ID, CLUSTER, n, SELF_NODE, 0) != 0) {
			fx_free_macs(); /* no teardown after a failed setup */
			return -1;
		}
	}
	fx_reset();
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	fx_free_macs();
	return 0;
}

#define FX_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static inline struct aeg_wire_hdr hdr_from(uint32_t node, uint32_t worker, uint64_t seq)
{
	return (struct aeg_wire_hdr){
		.cluster = CLUSTER, .src_node = node, .src_worker = worker,
		.dst_node = SELF_NODE, .dst_worker = SELF_WORKER, .seq = seq,
	};
}

/* Batch of small_frame: (1, 7, "hello"), (2, 300, ""), (255, GROUP_MAX,
 * 16 bytes); 11 + 6 + 22 bytes. */
#define SMALL_BATCH_BYTES 39
#define SMALL_FRAME_BYTES (AEG_WIRE_FRAME_BYTES_MIN + SMALL_BATCH_BYTES)

/* A frame with three small messages sealed under mac. */
static inline size_t small_frame_mac(uint8_t *buf, size_t cap, const struct aeg_wire_hdr *h,
				     const struct aeg_wire_mac *mac)
{
	struct aeg_wire_builder b;
	assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, h), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 1, 7, "hello", 5), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 2, 300, "", 0), 0);
	assert_int_equal(aeg_wire_builder_add(&b, 255, AEG_WIRE_GROUP_MAX, "0123456789abcdef", 16),
			 0);
	int n = aeg_wire_builder_seal(&b, mac);
	assert_int_equal(n, SMALL_FRAME_BYTES);
	return (size_t)n;
}

/* The sender's key for frames of (cluster, src, dst) under FX_KEY_ID:
 * fx.mac[src] for a peer's frames to this node; else (frames that the
 * receiver must drop before the tag: another cluster or destination, an
 * unknown node) a new one, left in *tmp for the caller to free. */
static inline const struct aeg_wire_mac *sender_mac(uint32_t cluster, uint32_t src, uint32_t dst,
						    struct aeg_wire_mac **tmp)
{
	*tmp = NULL;
	if (cluster == CLUSTER && dst == SELF_NODE && src > 0 && src < NODES)
		return fx.mac[src];
	*tmp = fx_mac_pair(FX_KEY_ID, 0, cluster, src, dst);
	return *tmp;
}

/* small_frame_mac under the key of the header's node pair (seal refuses
 * any other). */
static inline size_t small_frame(uint8_t *buf, size_t cap, const struct aeg_wire_hdr *h)
{
	struct aeg_wire_mac *tmp;
	const struct aeg_wire_mac *mac = sender_mac(h->cluster, h->src_node, h->dst_node, &tmp);
	size_t n = small_frame_mac(buf, cap, h, mac);
	aeg_wire_mac_free(tmp);
	return n;
}

static inline enum aeg_wire_drop parse(const uint8_t *pkt, size_t len)
{
	struct aeg_wire_frame f;
	return aeg_wire_parse(&fx.rx, pkt, len, &f);
}

/* What a receiving worker sees: the parser's verdict, or, for a frame it
 * accepted, the iterator's (OK when every message came out cleanly). */
static inline enum aeg_wire_drop deliver(const uint8_t *pkt, size_t len)
{
	struct aeg_wire_frame f;
	enum aeg_wire_drop why = aeg_wire_parse(&fx.rx, pkt, len, &f);
	if (why != AEG_WIRE_OK)
		return why;
	struct aeg_wire_iter it;
	struct aeg_wire_msg m = {0};
	int rc;
	aeg_wire_iter_init(&it, &f);
	while ((rc = aeg_wire_iter_next(&it, &m)) == 1)
		assert_true(m.body >= pkt + AEG_WIRE_HDR_BYTES &&
			    m.body + m.body_len <= pkt + len - AEG_WIRE_TAG_BYTES);
	if (rc == 0)
		return AEG_WIRE_OK;
	assert_int_equal(rc, -EBADMSG);
	assert_true(it.why == AEG_WIRE_DROP_TRUNCATED_MSG || it.why == AEG_WIRE_DROP_BAD_COUNT);
	return it.why;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes the GMAC tag of pkt under mac, whatever its header names (seal
 * would refuse another pair's key): IV from the header, AAD everything
 * before the tag. */
static inline void retag_with(uint8_t *pkt, size_t len, const struct aeg_wire_mac *mac)
{
	aeg_wire_mac_tag(mac, pkt + AEG_WIRE_IV_OFFSET, pkt, len - AEG_WIRE_TAG_BYTES,
			 pkt + len - AEG_WIRE_TAG_BYTES);
}

/* Rewrites the tag after a test changed the signed bytes on purpose, under
 * the key of the node pair in the header, as a sender would. */
static inline void retag(uint8_t *pkt, size_t len)
{
	struct aeg_wire_mac *tmp;
	const struct aeg_wire_mac *mac =
		sender_mac(get_le32(pkt + WIRE_OFF_CLUSTER), get_le32(pkt + WIRE_OFF_SRC_NODE),
			   get_le32(pkt + WIRE_OFF_DST_NODE), &tmp);
	retag_with(pkt, len, mac);
	aeg_wire_mac_free(tmp);
}

/* A message header as the wire has it: body_len u16, type u8, group u24. */
static inline void put_msg_hdr(uint8_t *p, uint16_t body_len, uint8_t type, uint32_t group)
{
	p[0] = (uint8_t)body_len;
	p[1] = (uint8_t)(body_len >> 8);
	p[2] = type;
	p[3] = (uint8_t)group;
	p[4] = (uint8_t)(group >> 8);
	p[5] = (uint8_t)(group >> 16);
}

/* Small, medium, near the 24-bit limit, anywhere in 24 bits. */
static inline uint32_t random_group(uint64_t r)
{
	switch (r % 4) {
	case 0: return (uint32_t)(r >> 8) % 128;
	case 1: return (uint32_t)(r >> 8) % 20000;
	case 2: return AEG_WIRE_GROUP_MAX - (uint32_t)((r >> 8) % 3);
	default: return (uint32_t)(r >> 32) & AEG_WIRE_GROUP_MAX;
	}
}

/* A frame from node 1 worker 0 with a hand-made batch and a good tag. */
static inline size_t raw_frame(uint8_t *buf, size_t cap, uint64_t seq, const uint8_t *batch,
			       size_t batch_len, uint32_t count)
{
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr_from(1, 0, seq);
	assert_int_equal(aeg_wire_builder_begin(&b, buf, cap, &h), 0);
	assert_true(b.len + batch_len + AEG_WIRE_TAG_BYTES <= b.cap);
	if (batch_len != 0)
		memcpy(buf + b.len, batch, batch_len);
	b.len += batch_len;
	b.msg_count = count;
	int n = aeg_wire_builder_seal(&b, fx.mac[1]);
	assert_true(n > 0);
	return (size_t)n;
}

#endif
