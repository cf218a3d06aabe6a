/* Shared by the lib/wire frame tests: a receiving worker (node 2, worker
 * 1) with a small peer table, a fixed key, the seeded PRNG of
 * tests/common/test_prng.h, and helpers that
 * build, damage and re-tag frames. */
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

struct fixture {
	struct aeg_wire_key key;
	struct aeg_wire_replay win[NODES][WORKERS];
	struct aeg_wire_rx rx;
};

/* One fixture per test executable (each includes this header once). */
static struct fixture fx;

static inline struct aeg_wire_replay *lookup(void *arg, uint32_t node, uint32_t worker)
{
	struct fixture *f = arg;
	if (node == 0 || node >= NODES || worker >= WORKERS)
		return NULL;
	return &f->win[node][worker];
}

static inline void fx_reset(void)
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

static inline int setup(void **state)
{
	(void)state;
	fx_reset();
	return 0;
}

static inline struct aeg_wire_hdr hdr_from(uint32_t node, uint32_t worker, uint64_t seq)
{
	return (struct aeg_wire_hdr){
		.cluster = CLUSTER, .src_node = node, .src_worker = worker,
		.dst_node = SELF_NODE, .dst_worker = SELF_WORKER, .seq = seq,
	};
}

/* A sealed frame with three small messages, from node 1 worker 0. */
static inline size_t small_frame(uint8_t *buf, size_t cap, const struct aeg_wire_hdr *h)
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

static inline enum aeg_wire_drop parse(const uint8_t *pkt, size_t len)
{
	struct aeg_wire_frame f;
	return aeg_wire_parse(&fx.rx, pkt, len, &f);
}

/* Rewrites the tag after a test changed the signed bytes on purpose. */
static inline void retag(uint8_t *pkt, size_t len)
{
	aeg_wire_tag(&fx.key, pkt, len - AEG_WIRE_TAG_BYTES, pkt + len - AEG_WIRE_TAG_BYTES);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t random_group(uint64_t r)
{
	switch (r % 4) {
	case 0: return (uint32_t)(r >> 8) % 128;
	case 1: return (uint32_t)(r >> 8) % 20000;
	case 2: return UINT32_MAX - (uint32_t)((r >> 8) % 3);
	default: return (uint32_t)(r >> 32);
	}
}

/* A frame with a hand-made batch and a good tag. */
static inline size_t raw_frame(uint8_t *buf, size_t cap, uint64_t seq, const uint8_t *batch,
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

#endif
