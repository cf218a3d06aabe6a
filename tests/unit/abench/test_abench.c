/* aegis-bench's histogram (quantiles within 1% of the exact ones on seeded
 * random data, merging, bucket bounds), zipf generator (rank 0 and 1
 * frequencies for theta 0.99, ranks in range, the zeta tail), self-checking
 * values and the record file round trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hist.h"
#include "keyval.h"
#include "record.h"
#include "test_prng.h"
#include "zipf.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Latency-like values: log-uniform from 1 ns to ~100 s, some exact small ones. */
static uint64_t draw(struct prng *p)
{
	if (prng_below(p, 20) == 0)
		return prng_below(p, 200);
	double e = (double)prng_below(p, 1u << 30) / (double)(1u << 30) * 36.5; /* 2^36.5 ns ~ 100 s */
	return (uint64_t)exp2(e);
}

static void hist_quantiles(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0xb15700001ull);
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	struct hist *h = malloc(sizeof(*h)), *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	assert_non_null(v);
	hist_reset(h);
	hist_reset(a);
	hist_reset(b);
	for (int i = 0; i < N; i++) {
		v[i] = draw(&p);
		hist_add(h, v[i]);
		hist_add(i % 3 ? a : b, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	static const double qs[] = { 0.0, 0.00001, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0 };
	hist_merge(a, b);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t rank = (uint64_t)ceil(qs[i] * N);
		uint64_t exact = v[rank ? rank - 1 : 0], got = hist_quantile(h, qs[i]);
		double err = fabs((double)got - (double)exact) / (double)(exact ? exact : 1);
		if (err > 0.01)
			fprintf(stderr, "q %g: exact %llu, histogram %llu\n", qs[i], (unsigned long long)exact,
				(unsigned long long)got);
		CHECK(&p, err <= 0.01);
		CHECK(&p, hist_quantile(a, qs[i]) == got); /* merged halves = the whole */
	}
	CHECK(&p, h->n == N && h->min == v[0] && h->max == v[N - 1]);
	CHECK(&p, a->n == N && a->min == v[0] && a->max == v[N - 1] && a->sum == h->sum);
	free(v);
	free(h);
	free(a);
	free(b);
}

static void hist_buckets(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0xb15700002ull);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = prng_next(&p) >> prng_below(&p, 64);
		uint32_t k = hist_bucket(v);
		uint64_t lo, hi;
		CHECK(&p, k < HIST_BUCKETS);
		hist_bucket_range(k, &lo, &hi);
		CHECK(&p, lo <= v && v <= hi);
		CHECK(&p, (double)(hi - lo) <= (double)lo / 128.0); /* width within 1/128 of the values */
	}
	uint64_t lo, hi;
	hist_bucket_range(HIST_BUCKETS - 1, &lo, &hi);
	assert_true(hi == UINT64_MAX);
	struct hist *h = malloc(sizeof(*h));
	hist_reset(h);
	assert_int_equal(hist_quantile(h, 0.99), 0);
	hist_add(h, 12345);
	assert_int_equal(hist_quantile(h, 0.5), 12345); /* one value: clamped to [min, max] */
	free(h);
}

static void zipf_frequencies(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0xb15700003ull);
	enum { N = 1000, DRAWS = 2000000 };
	struct zipf z;
	assert_int_equal(zipf_init(&z, N, 0.99), 0);
	uint32_t *count = calloc(N, sizeof(*count));
	uint64_t s = p.seed;
	for (int i = 0; i < DRAWS; i++) {
		uint64_t r = zipf_rank(&z, rng_unit(&s));
		CHECK(&p, r < N);
		count[r]++;
	}
	double p0 = 1 / zipf_zeta(N, 0.99), p1 = pow(0.5, 0.99) / zipf_zeta(N, 0.99);
	double f0 = (double)count[0] / DRAWS, f1 = (double)count[1] / DRAWS;
	fprintf(stderr, "zipf n=%d theta=0.99: rank 0 %.4f (expected %.4f), rank 1 %.4f (%.4f)\n", N, f0, p0, f1, p1);
	CHECK(&p, fabs(f0 - p0) / p0 < 0.02);
	CHECK(&p, fabs(f1 - p1) / p1 < 0.02);
	/* the tail keeps falling: rank 9 and 99 roughly 1/10^theta and 1/100^theta of rank 0 */
	double f9 = (double)count[9] / DRAWS, f99 = (double)count[99] / DRAWS;
	CHECK(&p, f9 / f0 > 0.5 * pow(10, -0.99) && f9 / f0 < 2 * pow(10, -0.99));
	CHECK(&p, f99 / f0 > 0.5 * pow(100, -0.99) && f99 / f0 < 2 * pow(100, -0.99));
	CHECK(&p, count[N - 1] > 0);
	free(count);
	/* large n: every draw in range, including u close to 1 */
	assert_int_equal(zipf_init(&z, 5000000000ull, 0.99), 0);
	for (int i = 0; i < 100000; i++)
		CHECK(&p, zipf_rank(&z, rng_unit(&s)) < 5000000000ull);
	CHECK(&p, zipf_rank(&z, 0.9999999999) < 5000000000ull);
	CHECK(&p, zipf_rank(&z, 0.0) == 0);
	assert_int_equal(zipf_init(&z, 1, 0.5), 0);
	assert_int_equal(zipf_rank(&z, 0.7), 0);
	assert_int_equal(zipf_init(&z, 2, 0.99), 0);
	assert_true(zipf_rank(&z, 0.99) == 1);
	assert_int_equal(zipf_init(&z, 10, 1.0), -EINVAL);
	assert_int_equal(zipf_init(&z, 0, 0.5), -EINVAL);
	/* the Euler-Maclaurin tail against the sum */
	double exact = 0;
	for (uint64_t i = 200000; i > 1000; i--)
		exact += pow((double)i, -0.99);
	CHECK(&p, fabs(zipf_zeta_tail(1000, 200000, 0.99) - exact) / exact < 1e-9);
}

static void values(void **state)
{
	(void)state;
	kv_init();
	assert_int_equal(kv_key_bytes_min(1), 2);
	assert_int_equal(kv_key_bytes_min(16), 2);
	assert_int_equal(kv_key_bytes_min(17), 3);
	uint8_t key[16], other[16], v[9000];
	kv_key(key, 16, 0x2a);
	assert_memory_equal(key, "k00000000000002a", 16);
	kv_key(other, 16, 0x2b);
	uint32_t lens[] = { 16, 17, 64, 4095, 4096, 4113, 9000 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t n = lens[i];
		uint64_t tag = 0xabc0000100000000ull + i, got = 0;
		kv_value(v, n, key, 16, tag);
		assert_int_equal(kv_check(v, n, key, 16, &got), KV_OWN);
		assert_true(got == tag);
		if (n >= 24) /* another key's value: told apart by the letters after the tag */
			assert_int_equal(kv_check(v, n, other, 16, &got), KV_FOREIGN);
		if (n == 16)
			continue; /* all tag: any other tag reads as one, only the digest tells */
		v[16 + (n - 16) / 2] ^= 1;
		assert_int_equal(kv_check(v, n, key, 16, &got), KV_FOREIGN);
	}
	kv_value(v, 10, key, 16, 7);
	uint64_t t;
	assert_int_equal(kv_check(v, 10, key, 16, &t), KV_UNTAGGED);
	assert_int_equal(kv_check((const uint8_t *)"hello world, old value", 22, key, 16, &t), KV_FOREIGN);
	assert_true(kv_digest("abc", 3) != kv_digest("abd", 3));
}

static void records(void **state)
{
	(void)state;
	char path[] = "/tmp/test_abench_rec_XXXXXX", line[RECORD_LINE_MAX(16)], buf[1024];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint32_t n = 0;
	n += record_format(buf + n, (const uint8_t *)"k000000000000001", 16, 7, 0xd1, 0x100, 64);
	n += record_format(buf + n, (const uint8_t *)"k000000000000002", 16, 5, 0xd2, 0x101, 64);
	n += record_format(buf + n, (const uint8_t *)"k000000000000001", 16, 12, 0xd3, 0x102, 80);
	n += record_format(buf + n, (const uint8_t *)"k000000000000001", 16, 9, 0xd4, 0x103, 64);
	assert_true(record_format(line, (const uint8_t *)"k000000000000001", 16, UINT64_MAX, UINT64_MAX,
				  UINT64_MAX, UINT32_MAX) <= RECORD_LINE_MAX(16));
	assert_int_equal(record_write(fd, buf, n), 0);
	assert_int_equal(record_write(fd, "k000000000000003 1 00", 21), 0); /* torn tail: ignored */
	close(fd);
	struct record r;
	char err[256];
	assert_int_equal(record_load(path, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n_keys, 2);
	assert_int_equal(r.lines, 4);
	assert_int_equal(r.value_len_max, 80);
	assert_memory_equal(r.keys[0].key, "k000000000000001", 16);
	assert_true(r.keys[0].version == 12 && r.keys[0].digest == 0xd3 && r.keys[0].tag == 0x102 &&
		    r.keys[0].writes == 3 && r.keys[0].value_len == 80);
	assert_true(r.keys[1].version == 5 && r.keys[1].writes == 1);
	const struct rec_tag *t = record_find_tag(&r, 0x103);
	assert_true(t != NULL && t->version == 9 && t->key == 0);
	assert_null(record_find_tag(&r, 0x104));
	record_free(&r);
	FILE *f = fopen(path, "w");
	fputs("k1 12 zz 00 1\n", f);
	fclose(f);
	assert_int_equal(record_load(path, &r, err, sizeof(err)), -EINVAL);
	record_free(&r);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hist_quantiles), cmocka_unit_test(hist_buckets), cmocka_unit_test(zipf_frequencies),
		cmocka_unit_test(values), cmocka_unit_test(records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
