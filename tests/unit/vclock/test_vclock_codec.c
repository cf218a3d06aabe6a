/* Vector clock and DVV binary forms: round trips, canonical bytes, every
 * truncation, every single-bit flip, and hand-made malformed inputs. */
#include "vclock_test_util.h"

#include <errno.h>

#define BUF_MAX 512

/* Storage for either object, suitably aligned. */
union any_obj {
	struct aeg_vclock vc;
	struct aeg_dvv dvv;
};

/* ---- generic checks over one codec -------------------------------------- */

/* Both codecs seen through one shape, so every check below runs on both. */
struct codec {
	int (*encode)(const void *obj, uint8_t *buf, size_t cap);
	int (*decode)(void *obj, const uint8_t *buf, size_t len);
	size_t (*encoded_size)(const void *obj);
	bool (*valid)(const void *obj);
	bool (*equal)(const void *a, const void *b);
};

static int vc_encode(const void *o, uint8_t *b, size_t c) { return aeg_vclock_encode(o, b, c); }
static int vc_decode(void *o, const uint8_t *b, size_t l) { return aeg_vclock_decode(o, b, l); }
static size_t vc_size(const void *o) { return aeg_vclock_encoded_size(o); }
static bool vc_valid(const void *o) { return aeg_vclock_valid(o); }
static bool vc_equal(const void *a, const void *b) { return aeg_vclock_equal(a, b); }

static int dvv_encode(const void *o, uint8_t *b, size_t c) { return aeg_dvv_encode(o, b, c); }
static int dvv_decode(void *o, const uint8_t *b, size_t l) { return aeg_dvv_decode(o, b, l); }
static size_t dvv_size(const void *o) { return aeg_dvv_encoded_size(o); }
static bool dvv_valid(const void *o) { return aeg_dvv_valid(o); }
static bool dvv_equal(const void *a, const void *b)
{
	const struct aeg_dvv *x = a, *y = b;
	return x->dot.node == y->dot.node && x->dot.counter == y->dot.counter &&
	       aeg_vclock_equal(&x->past, &y->past);
}

static const struct codec vclock_codec = {
	vc_encode, vc_decode, vc_size, vc_valid, vc_equal,
};
static const struct codec dvv_codec = {
	dvv_encode, dvv_decode, dvv_size, dvv_valid, dvv_equal,
};

static bool is_empty(const struct codec *c, const void *obj)
{
	uint8_t buf[BUF_MAX];
	/* Both empty forms encode as all-zero varints. */
	int n = c->encode(obj, buf, sizeof(buf));
	for (int i = 0; i < n; i++) {
		if (buf[i] != 0)
			return false;
	}
	return n > 0;
}

/* Decodes buf; on success the result is valid and re-encodes to exactly the
 * consumed bytes; on failure the error is one of the two and obj is empty. */
static int check_decode(struct prng *p, const struct codec *c, const uint8_t *buf, size_t len)
{
	union any_obj obj;
	uint8_t out[BUF_MAX];
	int rc = c->decode(&obj, buf, len);

	if (rc < 0) {
		CHECK(p, rc == -EINVAL || rc == -EMSGSIZE);
		CHECK(p, c->valid(&obj) && is_empty(c, &obj));
		return rc;
	}
	CHECK(p, (size_t)rc <= len && c->valid(&obj));
	CHECK(p, c->encode(&obj, out, sizeof(out)) == rc);
	CHECK(p, memcmp(out, buf, (size_t)rc) == 0);
	return rc;
}

static void check_codec(struct prng *p, const struct codec *c, const void *obj)
{
	uint8_t buf[BUF_MAX + 1];
	union any_obj back;
	size_t size = c->encoded_size(obj);

	CHECK(p, size <= BUF_MAX);
	for (size_t cap = 0; cap < size; cap++)
		CHECK(p, c->encode(obj, buf, cap) == -ENOBUFS);
	CHECK(p, c->encode(obj, buf, BUF_MAX) == (int)size);
	/* Round trip, also with a trailing byte the decoder must leave alone. */
	buf[size] = 0xa5;
	CHECK(p, c->decode(&back, buf, size + 1) == (int)size);
	CHECK(p, c->equal(obj, &back));
	/* Every strict prefix is a truncation, reported as such. */
	for (size_t len = 0; len < size; len++)
		CHECK(p, check_decode(p, c, buf, len) == -EMSGSIZE);
	/* Every single-bit flip: no crash; accepted only as a valid, canonical
	 * value (check_decode). */
	for (size_t bit = 0; bit < size * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		(void)check_decode(p, c, buf, size);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

/* ---- random round trips --------------------------------------------------- */

static void random_dvv(struct prng *p, struct aeg_dvv *d)
{
	aeg_dvv_init(d);
	random_vclock(p, &d->past);
	if (prng_below(p, 4) == 0)
		return;
	uint32_t node = test_nodes[prng_below(p, TEST_NODES)];
	uint64_t past = aeg_vclock_get(&d->past, node);
	if (past == UINT64_MAX)
		return;
	d->dot = (struct aeg_dot){ node, past + 1 + prng_below(p, UINT64_MAX - past) };
	assert_true(aeg_dvv_valid(d));
}

static void test_vclock_random(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_vclock vc;

	prng_init(&p, 0xc0dec001);
	for (int round = 0; round < 4000; round++) {
		random_vclock(&p, &vc);
		check_codec(&p, &vclock_codec, &vc);
	}
	/* Near the largest clock: 32 entries, wide deltas, 10-byte counters. */
	aeg_vclock_init(&vc);
	for (uint32_t i = 0; i < AEG_VCLOCK_NODES_MAX; i++)
		assert_int_equal(aeg_vclock_set(&vc, UINT32_MAX - (31 - i) * 0x8000000u, UINT64_MAX), 0);
	/* 31 gaps of 2^27 leave no room for 5-byte deltas: 4 bytes each. */
	assert_int_equal(aeg_vclock_encoded_size(&vc), 1 + 32 * (4 + 10));
	check_codec(&p, &vclock_codec, &vc);
}

static void test_dvv_random(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_dvv d;

	prng_init(&p, 0xc0dec002);
	for (int round = 0; round < 4000; round++) {
		random_dvv(&p, &d);
		check_codec(&p, &dvv_codec, &d);
	}
}

/* ---- hand-made inputs ----------------------------------------------------- */

struct vector {
	const char *what;
	uint8_t bytes[24];
	size_t len;
	int want; /* bytes consumed or error */
};

static void run_vectors(const struct codec *c, const struct vector *v, size_t n)
{
	struct prng p;
	prng_init(&p, 0);
	for (size_t i = 0; i < n; i++) {
		int rc = check_decode(&p, c, v[i].bytes, v[i].len);
		if (rc != v[i].want)
			fail_msg("%s: got %d, want %d", v[i].what, rc, v[i].want);
	}
}

static void test_vclock_malformed(void **state)
{
	(void)state;
	static const struct vector v[] = {
		{ "empty clock", { 0x00 }, 1, 1 },
		{ "empty clock, trailing", { 0x00, 0xff }, 2, 1 },
		{ "node 0 and 5", { 0x02, 0x00, 0x01, 0x05, 0x02 }, 5, 5 },
		{ "no input", { 0 }, 0, -EMSGSIZE },
		{ "count without entries", { 0x02, 0x00, 0x01 }, 3, -EMSGSIZE },
		{ "entry without counter", { 0x01, 0x05 }, 2, -EMSGSIZE },
		{ "counter cut in its varint", { 0x01, 0x05, 0x80, 0x80 }, 4, -EMSGSIZE },
		{ "duplicate node (delta 0)", { 0x02, 0x05, 0x01, 0x00, 0x01 }, 5, -EINVAL },
		{ "zero counter", { 0x01, 0x05, 0x00 }, 3, -EINVAL },
		{ "count 33", { 0x21 }, 1, -EINVAL },
		{ "count 32 but nothing follows", { 0x20 }, 1, -EMSGSIZE },
		{ "non-minimal count", { 0x80, 0x00 }, 2, -EINVAL },
		{ "non-minimal counter", { 0x01, 0x05, 0x81, 0x00 }, 4, -EINVAL },
		{ "node above UINT32_MAX", { 0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01 }, 7, -EINVAL },
		{ "node wraps past UINT32_MAX (unsorted)",
		  { 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x01, 0x01 }, 9, -EINVAL },
		{ "varint longer than 10 bytes",
		  { 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 13, -EINVAL },
		{ "10th varint byte above 1",
		  { 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 12, -EINVAL },
		{ "counter UINT64_MAX",
		  { 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 12, 12 },
	};
	run_vectors(&vclock_codec, v, sizeof(v) / sizeof(v[0]));

	/* A malformed input leaves the clock empty, not half-filled. */
	struct aeg_vclock vc;
	aeg_vclock_init(&vc);
	assert_int_equal(aeg_vclock_set(&vc, 3, 3), 0);
	const uint8_t dup[] = { 0x02, 0x05, 0x01, 0x00, 0x01 };
	assert_int_equal(aeg_vclock_decode(&vc, dup, sizeof(dup)), -EINVAL);
	assert_int_equal(vc.len, 0);
	assert_int_equal(aeg_vclock_decode(&vc, NULL, 0), -EMSGSIZE);
}

static void test_dvv_malformed(void **state)
{
	(void)state;
	static const struct vector v[] = {
		{ "no dot, empty past", { 0x00, 0x00, 0x00 }, 3, 3 },
		{ "dot (2,1), empty past", { 0x02, 0x01, 0x00 }, 3, 3 },
		{ "dot (2,3), past {2:2}", { 0x02, 0x03, 0x01, 0x02, 0x02 }, 5, 5 },
		{ "dot inside its past", { 0x02, 0x02, 0x01, 0x02, 0x02 }, 5, -EINVAL },
		{ "no dot but a dot node", { 0x02, 0x00, 0x00 }, 3, -EINVAL },
		{ "dot node above UINT32_MAX", { 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x00 }, 7, -EINVAL },
		{ "non-minimal dot counter", { 0x02, 0x81, 0x00, 0x00 }, 4, -EINVAL },
		{ "past missing", { 0x02, 0x01 }, 2, -EMSGSIZE },
		{ "past cut", { 0x02, 0x03, 0x01, 0x02 }, 4, -EMSGSIZE },
		{ "past malformed", { 0x02, 0x03, 0x01, 0x02, 0x00 }, 5, -EINVAL },
	};
	run_vectors(&dvv_codec, v, sizeof(v) / sizeof(v[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vclock_random),
		cmocka_unit_test(test_dvv_random),
		cmocka_unit_test(test_vclock_malformed),
		cmocka_unit_test(test_dvv_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
