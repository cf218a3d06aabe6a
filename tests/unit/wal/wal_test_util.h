/* Helpers for the WAL unit tests: a seeded PRNG and a segment image builder. */
#ifndef AEGIS_TEST_WAL_UTIL_H
#define AEGIS_TEST_WAL_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/wal.h"

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seed from AEGIS_TEST_SEED, else a fixed one; printed so a failure replays. */
static inline uint64_t test_seed(const char *what)
{
	const char *env = getenv("AEGIS_TEST_SEED");
	uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 0x5eed0fa1ull;
	print_message("%s: seed 0x%llx (AEGIS_TEST_SEED to replay)\n", what, (unsigned long long)seed);
	return seed;
}

#define SEG_RECS_MAX 64

struct seg_image {
	uint8_t *buf;
	size_t cap;
	size_t end;		/* end of the last record */
	size_t off[SEG_RECS_MAX]; /* start of each record */
	struct aeg_wal_rec rec[SEG_RECS_MAX];
	uint8_t payload[SEG_RECS_MAX][256];
	int n;
	uint64_t seq;
};

/* A segment of cap bytes (zero filled) with n random records. */
static inline void seg_build(struct seg_image *s, size_t cap, uint64_t seq, int n, uint32_t window,
			     uint64_t *rng)
{
	assert_true(n <= SEG_RECS_MAX);
	s->buf = calloc(1, cap);
	assert_non_null(s->buf);
	s->cap = cap;
	s->seq = seq;
	s->n = n;
	struct aeg_wal_seg_hdr h = { .version = AEG_WAL_VERSION, .worker_id = 3, .seq = seq,
				     .log_start_seq = 1, .segment_bytes = cap, .block_bytes = 512,
				     .torn_window_bytes = window };
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, s->buf, cap), AEG_WAL_SEG_HDR_BYTES);
	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	for (int i = 0; i < n; i++) {
		struct aeg_wal_rec *r = &s->rec[i];
		r->type = (uint32_t)(i % 4) + 1;
		r->entry_type = r->type == AEG_WAL_ENTRY ? (uint32_t)(splitmix64(rng) % 3) : 0;
		r->group = splitmix64(rng) % 1000;
		r->term = splitmix64(rng) % 50;
		r->index = (uint64_t)i + 1;
		r->len = (uint32_t)(splitmix64(rng) % 200);
		for (uint32_t k = 0; k < r->len; k++)
			s->payload[i][k] = (uint8_t)splitmix64(rng);
		r->payload = s->payload[i];
		s->off[i] = pos;
		int rc = aeg_wal_rec_encode(s->buf + pos, cap - pos, seq, r);
		assert_true(rc > 0);
		pos += (size_t)rc;
	}
	s->end = pos;
}

static inline void seg_free(struct seg_image *s)
{
	free(s->buf);
	s->buf = NULL;
}

static inline void assert_rec_equal(const struct aeg_wal_rec *a, const struct aeg_wal_rec *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->entry_type, b->entry_type);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->group, b->group);
	assert_int_equal(a->term, b->term);
	assert_int_equal(a->index, b->index);
	assert_memory_equal(a->payload, b->payload, a->len);
}

#endif
