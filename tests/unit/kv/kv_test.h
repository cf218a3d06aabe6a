/* Helpers the lib/kv tests share: build, encode and apply one command; a
 * snapshot as a heap buffer; an allocator that fails on demand. */
#ifndef AEGIS_KV_TEST_H
#define AEGIS_KV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/kv.h"

static inline struct aeg_kv_cmd kv_test_cmd(uint8_t op, const char *key, const char *value)
{
	struct aeg_kv_cmd c = { .op = op, .key = key, .key_len = (uint32_t)strlen(key) };
	if (value != NULL) {
		c.value = value;
		c.value_len = (uint32_t)strlen(value);
	}
	return c;
}

/* Encodes c and applies it at index: apply's return code. */
static inline int kv_test_apply(struct aeg_kv *kv, uint64_t index, const struct aeg_kv_cmd *c,
				struct aeg_kv_result *res)
{
	size_t n = aeg_kv_cmd_size(c);
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	assert_int_equal(aeg_kv_cmd_encode(c, buf, n), (int)n);
	int rc = aeg_kv_apply(kv, index, buf, (uint32_t)n, res);
	free(buf);
	return rc;
}

/* Applies and expects rc 0 with this status; returns the result version. */
static inline uint64_t kv_test_ok(struct aeg_kv *kv, uint64_t index, const struct aeg_kv_cmd *c,
				  enum aeg_kv_status want)
{
	struct aeg_kv_result res;
	assert_int_equal(kv_test_apply(kv, index, c, &res), 0);
	assert_int_equal(res.status, want);
	assert_false(res.duplicate);
	return res.version;
}

/* The kv's snapshot in a malloc'd buffer (*len its size). */
static inline uint8_t *kv_test_snap(const struct aeg_kv *kv, size_t *len)
{
	*len = aeg_kv_snapshot_size(kv);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(aeg_kv_snapshot_write(kv, buf, *len), 0);
	return buf;
}

/* True if the kv's snapshot is exactly these bytes. */
static inline int kv_test_snap_equals(const struct aeg_kv *kv, const uint8_t *want, size_t len)
{
	size_t n;
	uint8_t *got = kv_test_snap(kv, &n);
	int eq = n == len && memcmp(got, want, n) == 0;
	free(got);
	return eq;
}

/* An allocator that fails once `left` allocations have succeeded
 * (left < 0: never), and counts live bytes to catch size mismatches. */
struct kv_test_alloc {
	long left;
	size_t live_bytes;
	size_t live_blocks;
};

static inline void *kv_test_alloc_fn(void *ctx, size_t n)
{
	struct kv_test_alloc *t = ctx;
	if (t->left == 0)
		return NULL;
	if (t->left > 0)
		t->left--;
	t->live_bytes += n;
	t->live_blocks++;
	return malloc(n);
}

static inline void kv_test_free_fn(void *ctx, void *p, size_t n)
{
	struct kv_test_alloc *t = ctx;
	assert_true(t->live_bytes >= n && t->live_blocks > 0);
	t->live_bytes -= n;
	t->live_blocks--;
	free(p);
}

#endif
