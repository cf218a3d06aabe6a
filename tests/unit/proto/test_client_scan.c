/* Unit tests of the SCAN args and reply (lib/proto/client_scan.c): round
 * trips, limits refused, a reply that fills up says -ENOSPC and stays
 * valid, and every truncation, bit flip or reordering of a reply is either
 * refused or decodes to items that are still ascending and inside it. */
#include <errno.h>
#include <stdio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/client_proto.h"
#include "aegis/client_scan.h"

static void test_args(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct aeg_client_scan_args a = { .limit = 100, .bytes_max = 65536, .end = (const uint8_t *)"zz", .end_len = 2 };
	int n = aeg_client_scan_args_encode(&a, buf, sizeof(buf));
	assert_int_equal(n, (int)aeg_client_scan_args_size(&a));
	struct aeg_client_scan_args d;
	assert_int_equal(aeg_client_scan_args_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.limit, 100);
	assert_int_equal(d.bytes_max, 65536);
	assert_int_equal(d.end_len, 2);
	assert_memory_equal(d.end, "zz", 2);
	a.end_len = 0;
	n = aeg_client_scan_args_encode(&a, buf, sizeof(buf));
	assert_int_equal(aeg_client_scan_args_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.end_len, 0);
	assert_null(d.end);
	/* Out of range both ways, and malformed. */
	struct aeg_client_scan_args bad = a;
	bad.limit = 0;
	assert_int_equal(aeg_client_scan_args_encode(&bad, buf, sizeof(buf)), -EINVAL);
	bad.limit = AEG_CLIENT_SCAN_LIMIT_MAX + 1;
	assert_int_equal(aeg_client_scan_args_encode(&bad, buf, sizeof(buf)), -EINVAL);
	bad = a;
	bad.bytes_max = AEG_CLIENT_SCAN_BYTES_MIN - 1;
	assert_int_equal(aeg_client_scan_args_encode(&bad, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(aeg_client_scan_args_encode(&a, buf, 2), -EMSGSIZE);
	uint8_t zero_limit[] = { 0, 0x80, 0x02 };
	assert_int_equal(aeg_client_scan_args_decode(&d, zero_limit, sizeof(zero_limit)), -EINVAL);
	uint8_t big_limit[] = { 0x91, 0x4e, 0x80, 0x02 }; /* 10001 */
	assert_int_equal(aeg_client_scan_args_decode(&d, big_limit, sizeof(big_limit)), -EINVAL);
	uint8_t cut[] = { 5, 0x80 };
	assert_int_equal(aeg_client_scan_args_decode(&d, cut, sizeof(cut)), -EINVAL);
	assert_int_equal(aeg_client_scan_args_decode(&d, buf, 0), -EINVAL);
	/* The request check: SCAN needs args, may have an empty key. */
	struct aeg_client_req req = { .op = AEG_CLIENT_SCAN, .value = buf, .value_len = 3 };
	assert_int_equal(aeg_client_req_check(&req), AEG_CLIENT_OK);
	req.value_len = 0;
	assert_int_equal(aeg_client_req_check(&req), AEG_CLIENT_BAD_REQUEST);
	req.value_len = 3;
	req.expect_version = 1;
	assert_int_equal(aeg_client_req_check(&req), AEG_CLIENT_BAD_REQUEST);
	assert_string_equal(aeg_client_op_name(AEG_CLIENT_SCAN), "scan");
}

static size_t build_reply(uint8_t *buf, size_t cap, uint32_t n, bool more, uint32_t *added)
{
	struct aeg_client_scan_writer w;
	assert_int_equal(aeg_client_scan_reply_begin(&w, buf, cap), 0);
	*added = 0;
	for (uint32_t i = 0; i < n; i++) {
		char key[16], val[16];
		snprintf(key, sizeof(key), "key%04u", i);
		snprintf(val, sizeof(val), "v%u", i * 7);
		struct aeg_client_scan_item it = { .key = (const uint8_t *)key, .key_len = (uint32_t)strlen(key),
						   .value = (const uint8_t *)val, .value_len = (uint32_t)strlen(val),
						   .version = 1000 + i };
		if (aeg_client_scan_reply_add(&w, &it) == -ENOSPC)
			return aeg_client_scan_reply_finish(&w, true);
		(*added)++;
	}
	return aeg_client_scan_reply_finish(&w, more);
}

static void test_reply_round_trip(void **state)
{
	(void)state;
	uint8_t buf[4096];
	uint32_t added;
	size_t len = build_reply(buf, sizeof(buf), 50, false, &added);
	assert_int_equal(added, 50);
	struct aeg_client_scan_reader r;
	assert_int_equal(aeg_client_scan_reply_open(&r, buf, len), 0);
	assert_int_equal(r.count, 50);
	assert_false(r.more);
	struct aeg_client_scan_item it;
	for (uint32_t i = 0; i < 50; i++) {
		assert_int_equal(aeg_client_scan_reply_next(&r, &it), 1);
		char key[16];
		snprintf(key, sizeof(key), "key%04u", i);
		assert_int_equal(it.key_len, strlen(key));
		assert_memory_equal(it.key, key, it.key_len);
		assert_int_equal(it.version, 1000 + i);
	}
	assert_int_equal(aeg_client_scan_reply_next(&r, &it), 0);
	/* A small buffer: what fits, flagged MORE, still valid. */
	len = build_reply(buf, 100, 50, false, &added);
	assert_true(added > 0 && added < 50);
	assert_true(len <= 100);
	assert_int_equal(aeg_client_scan_reply_open(&r, buf, len), 0);
	assert_int_equal(r.count, added);
	assert_true(r.more);
	uint8_t tiny[4];
	struct aeg_client_scan_writer w;
	assert_int_equal(aeg_client_scan_reply_begin(&w, tiny, sizeof(tiny)), -EMSGSIZE);
	/* Empty. */
	len = build_reply(buf, sizeof(buf), 0, false, &added);
	assert_int_equal(len, AEG_CLIENT_SCAN_HDR_BYTES);
	assert_int_equal(aeg_client_scan_reply_open(&r, buf, len), 0);
	assert_int_equal(r.count, 0);
}

static void test_reply_damage(void **state)
{
	(void)state;
	uint8_t buf[1024], copy[1024];
	uint32_t added;
	size_t len = build_reply(buf, sizeof(buf), 12, true, &added);
	struct aeg_client_scan_reader r;
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(aeg_client_scan_reply_open(&r, buf, cut), -EINVAL);
	memcpy(copy, buf, len);
	copy[len] = 0;
	assert_int_equal(aeg_client_scan_reply_open(&r, copy, len + 1), -EINVAL);
	uint32_t accepted = 0;
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(copy, buf, len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (aeg_client_scan_reply_open(&r, copy, len) != 0)
			continue;
		accepted++;
		struct aeg_client_scan_item it, prev = { 0 };
		uint32_t n = 0;
		while (aeg_client_scan_reply_next(&r, &it) == 1) {
			assert_true(it.key >= copy && it.key + it.key_len <= copy + len);
			assert_true(it.value >= copy && it.value + it.value_len <= copy + len);
			if (n > 0) {
				uint32_t m = prev.key_len < it.key_len ? prev.key_len : it.key_len;
				int c = memcmp(prev.key, it.key, m);
				assert_true(c < 0 || (c == 0 && prev.key_len < it.key_len));
			}
			prev = it;
			n++;
		}
		assert_int_equal(n, r.count);
	}
	/* Flips inside values and versions decode (the codec cannot know); the
	 * others must not. */
	assert_true(accepted > 0 && accepted < len * 8);
	/* Two items swapped: out of order. */
	struct aeg_client_scan_writer w;
	assert_int_equal(aeg_client_scan_reply_begin(&w, copy, sizeof(copy)), 0);
	struct aeg_client_scan_item b = { .key = (const uint8_t *)"b", .key_len = 1 },
				    a = { .key = (const uint8_t *)"a", .key_len = 1 };
	assert_int_equal(aeg_client_scan_reply_add(&w, &b), 0);
	assert_int_equal(aeg_client_scan_reply_add(&w, &a), 0);
	len = aeg_client_scan_reply_finish(&w, false);
	assert_int_equal(aeg_client_scan_reply_open(&r, copy, len), -EINVAL);
	/* A repeat too. */
	assert_int_equal(aeg_client_scan_reply_begin(&w, copy, sizeof(copy)), 0);
	assert_int_equal(aeg_client_scan_reply_add(&w, &a), 0);
	assert_int_equal(aeg_client_scan_reply_add(&w, &a), 0);
	len = aeg_client_scan_reply_finish(&w, false);
	assert_int_equal(aeg_client_scan_reply_open(&r, copy, len), -EINVAL);
}

/* Pages of a scatter read: keys spread over shards, each shard answering
 * with a random limit (MORE when it had more); merging and continuing after
 * the last key must give every key once, in order. */
enum { M_SHARDS = 7, M_KEYS = 300 };

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_merge_pages(void **state)
{
	(void)state;
	static char keys[M_KEYS][12];
	static char *sorted[M_KEYS];
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < M_KEYS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		snprintf(keys[i], sizeof(keys[i]), "k%llu", (unsigned long long)(x % 100000000ull));
		sorted[i] = keys[i];
	}
	qsort(sorted, M_KEYS, sizeof(sorted[0]), cmp_str);
	int n_keys = 0; /* distinct */
	for (int i = 0; i < M_KEYS; i++)
		if (n_keys == 0 || strcmp(sorted[n_keys - 1], sorted[i]) != 0)
			sorted[n_keys++] = sorted[i];
	static uint8_t bufs[M_SHARDS][4096];
	struct aeg_client_scan_cursor cur[M_SHARDS];
	uint32_t heap[M_SHARDS];
	struct aeg_client_scan_item out[64];
	for (uint32_t limit = 1; limit <= 64; limit += 9) {
		char start[16] = "";
		int seen = 0, pages = 0;
		for (bool more = true; more; pages++) {
			assert_true(pages < 10 * M_KEYS);
			for (uint32_t sh = 0; sh < M_SHARDS; sh++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				uint32_t shard_limit = 1 + (uint32_t)(x % limit);
				struct aeg_client_scan_writer w;
				assert_int_equal(aeg_client_scan_reply_begin(&w, bufs[sh], sizeof(bufs[sh])), 0);
				bool sh_more = false;
				for (int k = 0; k < n_keys; k++) {
					const char *key = sorted[k];
					if ((uint32_t)(key[1] + key[2] + strlen(key)) % M_SHARDS != sh || strcmp(key, start) < 0)
						continue;
					if (w.count == shard_limit) {
						sh_more = true;
						break;
					}
					struct aeg_client_scan_item it = { .key = (const uint8_t *)key,
									   .key_len = (uint32_t)strlen(key) };
					assert_int_equal(aeg_client_scan_reply_add(&w, &it), 0);
				}
				size_t len = aeg_client_scan_reply_finish(&w, sh_more);
				assert_int_equal(aeg_client_scan_reply_open(&cur[sh].r, bufs[sh], len), 0);
			}
			int got = aeg_client_scan_merge(cur, M_SHARDS, heap, out, limit, &more);
			assert_true(got >= 0 && (uint32_t)got <= limit);
			assert_true(got > 0 || !more);
			for (int i = 0; i < got; i++) {
				assert_true(seen < n_keys);
				assert_int_equal(out[i].key_len, strlen(sorted[seen]));
				assert_memory_equal(out[i].key, sorted[seen], out[i].key_len);
				seen++;
			}
			if (got > 0) {
				/* The next page starts after the last key (the protocol's
				 * key + 0 byte; strcmp cannot hold a 0, 1 does here). */
				uint32_t l = out[got - 1].key_len;
				memcpy(start, out[got - 1].key, l);
				start[l] = 1, start[l + 1] = 0;
			}
		}
		assert_int_equal(seen, n_keys);
	}
	/* A key in two replies is refused. */
	struct aeg_client_scan_writer w;
	struct aeg_client_scan_item a = { .key = (const uint8_t *)"a", .key_len = 1 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(aeg_client_scan_reply_begin(&w, bufs[i], sizeof(bufs[i])), 0);
		assert_int_equal(aeg_client_scan_reply_add(&w, &a), 0);
		assert_int_equal(aeg_client_scan_reply_open(&cur[i].r, bufs[i], aeg_client_scan_reply_finish(&w, false)), 0);
	}
	bool more;
	assert_int_equal(aeg_client_scan_merge(cur, 2, heap, out, 8, &more), -EINVAL);
	/* MORE without a key is malformed. */
	assert_int_equal(aeg_client_scan_reply_begin(&w, bufs[0], sizeof(bufs[0])), 0);
	size_t len = aeg_client_scan_reply_finish(&w, true);
	assert_int_equal(aeg_client_scan_reply_open(&cur[0].r, bufs[0], len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_reply_damage),
		cmocka_unit_test(test_merge_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
