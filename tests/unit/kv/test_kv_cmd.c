/* Unit tests of the kv command codec (lib/kv/kv_cmd.c): round trips of
 * random commands, every truncation, every bit flip (refused or canonical),
 * and each rule of the format refused by decode and by encode. */
#include <errno.h>
#include <stdio.h>

#include "kv_test.h"

#include "test_prng.h"

static uint64_t draw_u64(struct prng *p)
{
	/* Spread over varint sizes: 0, small, any. */
	switch (prng_below(p, 3)) {
	case 0: return 0;
	case 1: return prng_below(p, 300);
	default: return prng_next(p) >> prng_below(p, 64);
	}
}

static struct aeg_kv_cmd random_cmd(struct prng *p, uint8_t *key, uint8_t *value)
{
	struct aeg_kv_cmd c = { .op = (uint8_t)(1 + prng_below(p, 3)) };
	c.seq = draw_u64(p);
	c.seq_floor = draw_u64(p);
	c.client_id = draw_u64(p);
	c.time_ms = draw_u64(p);
	c.expect_version = c.op == AEG_KV_CAS ? draw_u64(p) : 0;
	c.key_len = (uint32_t)(1 + prng_below(p, 200));
	for (uint32_t i = 0; i < c.key_len; i++)
		key[i] = (uint8_t)prng_next(p);
	c.key = key;
	c.value_len = c.op == AEG_KV_DEL ? 0 : (uint32_t)prng_below(p, 300);
	for (uint32_t i = 0; i < c.value_len; i++)
		value[i] = (uint8_t)prng_next(p);
	c.value = value;
	return c;
}

static void expect_same(const struct aeg_kv_cmd *a, const struct aeg_kv_cmd *b)
{
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->client_id, b->client_id);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->seq_floor, b->seq_floor);
	assert_int_equal(a->expect_version, b->expect_version);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->key_len, b->key_len);
	assert_memory_equal(a->key, b->key, a->key_len);
	assert_int_equal(a->value_len, b->value_len);
	if (a->value_len != 0)
		assert_memory_equal(a->value, b->value, a->value_len);
}

static void test_round_trip_and_truncations(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6b76c0d1);
	test_seed_print("kv_cmd_round_trip", p.seed);
	uint8_t key[256], value[512], buf[1024], again[1024];
	for (int iter = 0; iter < 2000; iter++) {
		struct aeg_kv_cmd c = random_cmd(&p, key, value);
		size_t n = aeg_kv_cmd_size(&c);
		CHECK(&p, n <= c.key_len + c.value_len + AEG_KV_CMD_OVERHEAD_MAX);
		CHECK(&p, aeg_kv_cmd_encode(&c, buf, n - 1) == -EMSGSIZE);
		CHECK(&p, aeg_kv_cmd_encode(&c, buf, sizeof(buf)) == (int)n);
		struct aeg_kv_cmd d;
		CHECK(&p, aeg_kv_cmd_decode(&d, buf, n) == 0);
		expect_same(&c, &d);
		CHECK(&p, aeg_kv_cmd_encode(&d, again, sizeof(again)) == (int)n);
		CHECK(&p, memcmp(buf, again, n) == 0);
		/* Every strict prefix is truncated; one more byte is junk. */
		for (size_t len = 0; len < n; len++)
			CHECK(&p, aeg_kv_cmd_decode(&d, buf, len) == -EMSGSIZE);
		buf[n] = 0;
		CHECK(&p, aeg_kv_cmd_decode(&d, buf, n + 1) == -EINVAL);
	}
}

/* A flipped bit is refused, or decodes to a command whose encoding is
 * exactly the flipped bytes (one command, one encoding). */
static void test_bit_flips(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6b76f11b);
	test_seed_print("kv_cmd_bit_flips", p.seed);
	uint8_t key[256], value[512], buf[1024], again[1024];
	int accepted = 0, refused = 0;
	for (int iter = 0; iter < 200; iter++) {
		struct aeg_kv_cmd c = random_cmd(&p, key, value);
		int n = aeg_kv_cmd_encode(&c, buf, sizeof(buf));
		CHECK(&p, n > 0);
		for (int bit = 0; bit < n * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			struct aeg_kv_cmd d;
			int rc = aeg_kv_cmd_decode(&d, buf, (size_t)n);
			if (rc == 0) {
				accepted++;
				CHECK(&p, aeg_kv_cmd_encode(&d, again, sizeof(again)) == n);
				CHECK(&p, memcmp(again, buf, (size_t)n) == 0);
			} else {
				refused++;
				CHECK(&p, rc == -EINVAL || rc == -EMSGSIZE);
			}
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	printf("kv_cmd bit flips: %d accepted (canonical), %d refused\n", accepted, refused);
	assert_true(refused > 0 && accepted > 0);
}

static void test_rules(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct aeg_kv_cmd c = kv_test_cmd(AEG_KV_PUT, "k", "v"), d;
	/* format 2, PUT, client 0, seq 0, floor 0, expect 0, time 0, key "k",
	 * value "v" */
	const uint8_t good[] = { 2, 1, 0, 0, 0, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), sizeof(good));
	assert_memory_equal(buf, good, sizeof(good));
	assert_int_equal(aeg_kv_cmd_decode(&d, good, sizeof(good)), 0);

	uint8_t bad[sizeof(good)];
#define REFUSED(off, val)                                                         \
	do {                                                                      \
		memcpy(bad, good, sizeof(good));                                  \
		bad[off] = (val);                                                 \
		assert_int_equal(aeg_kv_cmd_decode(&d, bad, sizeof(bad)), -EINVAL); \
	} while (0)
	REFUSED(0, 0);    /* unknown format */
	REFUSED(0, 3);    /* unknown format */
	REFUSED(1, 0);    /* op 0 */
	REFUSED(1, 7);    /* op 7 */
	REFUSED(1, AEG_KV_FENCE); /* FENCE with a value */
	REFUSED(1, AEG_KV_UNFENCE); /* UNFENCE with a key (and value) */
	REFUSED(1, AEG_KV_DEL); /* DEL with a value */
	REFUSED(5, 1);    /* PUT with expect_version */
#undef REFUSED
	const uint8_t empty_key[] = { 2, 1, 0, 0, 0, 0, 0, 0, 1, 'v' };
	assert_int_equal(aeg_kv_cmd_decode(&d, empty_key, sizeof(empty_key)), -EINVAL);
	/* A non-minimal varint (client id 0 as 0x80 0x00, then seq_floor). */
	const uint8_t long_zero[] = { 2, 1, 0x80, 0, 0, 0, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_decode(&d, long_zero, sizeof(long_zero)), -EINVAL);
	const uint8_t long_floor[] = { 2, 1, 0, 0, 0x80, 0, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_decode(&d, long_floor, sizeof(long_floor)), -EINVAL);
	/* A key length past the end is truncation. */
	const uint8_t long_key[] = { 2, 1, 0, 0, 0, 0, 0, 9, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_decode(&d, long_key, sizeof(long_key)), -EMSGSIZE);

	/* FENCE / DROP_FROM: a key (maybe empty), nothing else; UNFENCE: nothing. */
	const uint8_t fence[] = { 2, AEG_KV_FENCE, 0, 0, 0, 0, 0, 1, 'm', 0 };
	assert_int_equal(aeg_kv_cmd_decode(&d, fence, sizeof(fence)), 0);
	const uint8_t fence_all[] = { 2, AEG_KV_FENCE, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(aeg_kv_cmd_decode(&d, fence_all, sizeof(fence_all)), 0);
	assert_int_equal(d.key_len, 0);
	struct aeg_kv_cmd drop = { .op = AEG_KV_DROP_FROM };
	assert_int_equal(aeg_kv_cmd_encode(&drop, buf, sizeof(buf)), 9);
	const uint8_t unfence_key[] = { 2, AEG_KV_UNFENCE, 0, 0, 0, 0, 0, 1, 'm', 0 };
	assert_int_equal(aeg_kv_cmd_decode(&d, unfence_key, sizeof(unfence_key)), -EINVAL);
	const uint8_t fence_seq[] = { 2, AEG_KV_FENCE, 5, 9, 0, 0, 0, 1, 'm', 0 };
	assert_int_equal(aeg_kv_cmd_decode(&d, fence_seq, sizeof(fence_seq)), -EINVAL);
	drop.seq = 1;
	assert_int_equal(aeg_kv_cmd_encode(&drop, buf, sizeof(buf)), -EINVAL);

	/* seq_floor is the 5th field. */
	c.client_id = 5;
	c.seq = 9;
	c.seq_floor = 7;
	const uint8_t floored[] = { 2, 1, 5, 9, 7, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), sizeof(floored));
	assert_memory_equal(buf, floored, sizeof(floored));
	/* Format 1 (no seq_floor) still decodes, with seq_floor 0, and
	 * re-encodes as format 2; its truncations are refused too. */
	const uint8_t v1[] = { 1, 1, 5, 9, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_decode(&d, v1, sizeof(v1)), 0);
	assert_int_equal(d.client_id, 5);
	assert_int_equal(d.seq, 9);
	assert_int_equal(d.seq_floor, 0);
	assert_int_equal(d.key_len, 1);
	assert_int_equal(d.value_len, 1);
	const uint8_t v1_as_v2[] = { 2, 1, 5, 9, 0, 0, 0, 1, 'k', 1, 'v' };
	assert_int_equal(aeg_kv_cmd_encode(&d, buf, sizeof(buf)), sizeof(v1_as_v2));
	assert_memory_equal(buf, v1_as_v2, sizeof(v1_as_v2));
	for (size_t n = 0; n < sizeof(v1); n++)
		assert_int_equal(aeg_kv_cmd_decode(&d, v1, n), -EMSGSIZE);
	c.client_id = c.seq = c.seq_floor = 0;

	/* Encode refuses what decode would. */
	c.op = 0;
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), -EINVAL);
	c = kv_test_cmd(AEG_KV_DEL, "k", "v");
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), -EINVAL);
	c = kv_test_cmd(AEG_KV_PUT, "k", "v");
	c.expect_version = 1;
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), -EINVAL);
	c = kv_test_cmd(AEG_KV_PUT, "", "v");
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), -EINVAL);
	c = kv_test_cmd(AEG_KV_CAS, "k", NULL);
	c.expect_version = UINT64_MAX;
	c.client_id = c.seq = c.seq_floor = c.time_ms = UINT64_MAX;
	assert_int_equal(aeg_kv_cmd_size(&c), 2 + 5 * 10 + 1 + 1 + 1);
	assert_int_equal(aeg_kv_cmd_encode(&c, buf, sizeof(buf)), 55);
	assert_int_equal(aeg_kv_cmd_decode(&d, buf, 55), 0);
	assert_int_equal(d.expect_version, UINT64_MAX);
	assert_int_equal(d.seq_floor, UINT64_MAX);
	assert_int_equal(aeg_kv_cmd_decode(&d, NULL, 0), -EMSGSIZE);
	assert_string_equal(aeg_kv_status_name(AEG_KV_NO_SPACE), "no_space");
	assert_string_equal(aeg_kv_status_name((enum aeg_kv_status)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_truncations),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
