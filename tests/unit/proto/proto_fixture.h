/* Shared by the client protocol tests: the key, the receivers of both
 * kinds, the seeded PRNG of tests/common/test_prng.h, random items, and
 * helpers that build, damage and re-tag datagrams. */
#ifndef AEGIS_TEST_PROTO_FIXTURE_H
#define AEGIS_TEST_PROTO_FIXTURE_H

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

#include "aegis/client_proto.h"
#include "proto/client_proto_internal.h"
#include "test_prng.h"

static const struct aeg_wire_key fx_key = {
	.bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
static const struct aeg_client_rx fx_req_rx = {.key = &fx_key, .kind = AEG_CLIENT_KIND_REQUEST};
static const struct aeg_client_rx fx_resp_rx = {.key = &fx_key,
						.kind = AEG_CLIENT_KIND_RESPONSE};

/* Recomputes the tag of a datagram of len bytes (header + body + tag). */
static inline void fx_retag(uint8_t *pkt, size_t len)
{
	aeg_wire_tag(&fx_key, pkt, len - AEG_CLIENT_TAG_BYTES, pkt + len - AEG_CLIENT_TAG_BYTES);
}

static inline void fx_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A datagram of kind with count items made of body's body_len raw bytes,
 * correctly tagged. Returns its length. */
static inline size_t fx_raw(uint8_t *pkt, uint8_t kind, uint16_t count, const uint8_t *body,
			    size_t body_len)
{
	memcpy(pkt, "AEGC", 4);
	pkt[CLIENT_OFF_VERSION] = AEG_CLIENT_VERSION;
	pkt[CLIENT_OFF_KIND] = kind;
	pkt[CLIENT_OFF_FLAGS] = 0;
	fx_put_le(pkt + CLIENT_OFF_CLIENT_ID, 0x1122334455667788ull, 8);
	fx_put_le(pkt + CLIENT_OFF_SEQ_FLOOR, 0, 8);
	fx_put_le(pkt + CLIENT_OFF_COUNT, count, 2);
	fx_put_le(pkt + CLIENT_OFF_BODY_LEN, body_len, 2);
	memcpy(pkt + AEG_CLIENT_HDR_BYTES, body, body_len);
	size_t len = AEG_CLIENT_DGRAM_BYTES_MIN + body_len;
	fx_retag(pkt, len);
	return len;
}

/* Random bytes for keys and values. */
static uint8_t fx_blob[AEG_CLIENT_DGRAM_BYTES_MAX];

static inline void fx_blob_fill(struct prng *p)
{
	for (size_t i = 0; i < sizeof(fx_blob); i++)
		fx_blob[i] = (uint8_t)prng_next(p);
}

static inline uint64_t fx_u64(struct prng *p)
{
	/* Small and large numbers both: varint and fixed widths. */
	switch (prng_below(p, 4)) {
	case 0:
		return 0;
	case 1:
		return prng_below(p, 300);
	case 2:
		return UINT64_MAX - prng_below(p, 3);
	default:
		return prng_next(p);
	}
}

static inline struct aeg_client_part fx_part(struct prng *p, uint32_t value_len)
{
	struct aeg_client_part pt = {.count = 1, .total = value_len};
	if (value_len == 0 || prng_below(p, 3) != 0)
		return pt;
	pt.count = 2 + (uint32_t)prng_below(p, 1000);
	pt.index = (uint32_t)prng_below(p, pt.count);
	pt.offset = (uint32_t)prng_below(p, AEG_CLIENT_VALUE_BYTES_MAX - value_len);
	pt.total = pt.offset + value_len + (uint32_t)prng_below(
		p, AEG_CLIENT_VALUE_BYTES_MAX - pt.offset - value_len + 1);
	if (pt.total < pt.count)
		pt.total = pt.count > AEG_CLIENT_VALUE_BYTES_MAX ? AEG_CLIENT_VALUE_BYTES_MAX : pt.count;
	return pt;
}

static inline struct aeg_client_req fx_req(struct prng *p, size_t blob_max)
{
	struct aeg_client_req r = {
		.seq = fx_u64(p),
		.op = (uint8_t)(1 + prng_below(p, AEG_CLIENT_OP_MAX)),
		.consistency = (uint8_t)prng_below(p, AEG_CLIENT_CONSISTENCY_MAX + 1),
		.shard = (uint32_t)fx_u64(p),
		.epoch = fx_u64(p),
		.expect_version = fx_u64(p),
	};
	r.key_len = (uint32_t)prng_below(p, blob_max / 4 + 1);
	r.key = fx_blob + prng_below(p, 64);
	r.value_len = (uint32_t)prng_below(p, blob_max + 1);
	r.value = fx_blob + prng_below(p, 64);
	r.part = fx_part(p, r.value_len);
	return r;
}

static inline struct aeg_client_resp fx_resp(struct prng *p, size_t blob_max)
{
	struct aeg_client_resp s = {
		.seq = fx_u64(p),
		.status = (uint8_t)prng_below(p, AEG_CLIENT_STATUS_NR),
		.version = fx_u64(p),
		.leader_hint = (uint32_t)fx_u64(p),
	};
	s.value_len = (uint32_t)prng_below(p, blob_max + 1);
	s.value = fx_blob + prng_below(p, 64);
	s.part = fx_part(p, s.value_len);
	return s;
}

static inline bool fx_bytes_eq(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static inline bool fx_part_eq(const struct aeg_client_part *a, const struct aeg_client_part *b)
{
	return a->index == b->index && a->count == b->count && a->total == b->total &&
	       a->offset == b->offset;
}

static inline bool fx_req_eq(const struct aeg_client_req *a, const struct aeg_client_req *b)
{
	return a->seq == b->seq && a->op == b->op && a->consistency == b->consistency &&
	       a->shard == b->shard && a->epoch == b->epoch &&
	       a->expect_version == b->expect_version && a->key_len == b->key_len &&
	       fx_bytes_eq(a->key, b->key, a->key_len) && a->value_len == b->value_len &&
	       fx_bytes_eq(a->value, b->value, a->value_len) && fx_part_eq(&a->part, &b->part);
}

static inline bool fx_resp_eq(const struct aeg_client_resp *a, const struct aeg_client_resp *b)
{
	return a->seq == b->seq && a->status == b->status && a->version == b->version &&
	       a->leader_hint == b->leader_hint && a->value_len == b->value_len &&
	       fx_bytes_eq(a->value, b->value, a->value_len) && fx_part_eq(&a->part, &b->part);
}

#endif
