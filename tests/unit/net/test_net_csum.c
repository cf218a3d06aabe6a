/* lib/net checksum and address text: the RFC 1071 worked example, a known
 * IPv4 header, chaining, odd lengths and long inputs against a plain
 * model; MAC and dotted-quad parsing (valid and refused forms) and
 * formatting; drop reason names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/net.h"
#include "test_prng.h"

/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0x2ddf0, folds to
 * 0xddf2, checksum 0x220d. */
static void test_rfc1071_example(void **state)
{
	(void)state;
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint32_t sum = aeg_net_csum_add(0, b, sizeof(b));
	assert_int_equal(aeg_net_csum_fold(sum), 0x220d);
	assert_int_equal((uint16_t)~aeg_net_csum_fold(sum), 0xddf2);
	/* In two even pieces: the same. */
	sum = aeg_net_csum_add(aeg_net_csum_add(0, b, 2), b + 2, 6);
	assert_int_equal(aeg_net_csum_fold(sum), 0x220d);
}

/* The IPv4 header of the Wikipedia example: checksum 0xb861; with the
 * checksum in place the header sums to 0xffff (fold gives 0). */
static void test_ipv4_header_example(void **state)
{
	(void)state;
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(aeg_net_csum_fold(aeg_net_csum_add(0, h, sizeof(h))), 0xb861);
	h[10] = 0xb8;
	h[11] = 0x61;
	assert_int_equal(aeg_net_csum_fold(aeg_net_csum_add(0, h, sizeof(h))), 0);
}

static void test_odd_length(void **state)
{
	(void)state;
	static const uint8_t b[] = {0xab, 0xcd, 0xef};
	assert_int_equal(aeg_net_csum_add(0, b, 1), 0xab00);
	assert_int_equal(aeg_net_csum_add(0, b, 3), 0xabcd + 0xef00);
	assert_int_equal(aeg_net_csum_add(7, b, 0), 7);
}

/* Random lengths up to 64 KiB, random start sums, against a model that
 * keeps a 64-bit sum and folds at the end. */
static void test_against_model(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6e657463);
	static uint8_t buf[65536];
	for (int round = 0; round < 200; round++) {
		size_t len = round == 0 ? sizeof(buf) : (size_t)prng_below(&p, sizeof(buf) + 1);
		uint8_t fill = round == 0 ? 0xff : 0;
		for (size_t i = 0; i < len; i++)
			buf[i] = round == 0 ? fill : (uint8_t)prng_next(&p);
		uint32_t start = round == 0 ? 0xffffffffu : (uint32_t)prng_next(&p);
		uint64_t model = start;
		for (size_t i = 0; i < len; i += 2)
			model += (uint64_t)buf[i] << 8 | (i + 1 < len ? buf[i + 1] : 0);
		while (model >> 16)
			model = (model & 0xffff) + (model >> 16);
		uint16_t want = (uint16_t)~model;
		CHECK(&p, aeg_net_csum_fold(aeg_net_csum_add(start, buf, len)) == want);
	}
}

static void test_mac_text(void **state)
{
	(void)state;
	struct aeg_net_mac m;
	char s[18];
	assert_int_equal(aeg_net_mac_parse("02:1A:ff:00:9b:c3", &m), 0);
	static const uint8_t want[6] = {0x02, 0x1a, 0xff, 0x00, 0x9b, 0xc3};
	assert_memory_equal(m.b, want, 6);
	aeg_net_mac_format(&m, s);
	assert_string_equal(s, "02:1a:ff:00:9b:c3");
	aeg_net_mac_format(&aeg_net_mac_broadcast, s);
	assert_string_equal(s, "ff:ff:ff:ff:ff:ff");
	static const char *const bad[] = {
		"", "02:1a:ff:00:9b", "02:1a:ff:00:9b:c3:", "02:1a:ff:00:9b:c", "02-1a-ff-00-9b-c3",
		"2:1a:ff:00:9b:c3", "02:1a:ff:00:9b:g3", "02:1a:ff:00:9b:c3 ", " 02:1a:ff:00:9b:c3",
		"021aff009bc3",
	};
	struct aeg_net_mac keep = m;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(aeg_net_mac_parse(bad[i], &m), -EINVAL);
		assert_memory_equal(&m, &keep, sizeof(m)); /* untouched on error */
	}
}

static void test_ipv4_text(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint32_t v;
	} good[] = {
		{"10.0.0.1", 0x0a000001u}, {"0.0.0.0", 0}, {"255.255.255.255", 0xffffffffu},
		{"192.168.1.200", 0xc0a801c8u}, {"1.20.0.4", 0x01140004u},
	};
	char s[16];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint32_t v = 1;
		assert_int_equal(aeg_net_ipv4_parse(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
		aeg_net_ipv4_format(v, s);
		assert_string_equal(s, good[i].s);
	}
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
		"-1.2.3.4", "1.2.3.4x", "1.2.3.", "1000.2.3.4", "0x1.2.3.4", "1.2.3.0255",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 7;
		assert_int_equal(aeg_net_ipv4_parse(bad[i], &v), -EINVAL);
		assert_int_equal(v, 7);
	}
}

static void test_drop_names(void **state)
{
	(void)state;
	assert_string_equal(aeg_net_drop_name(AEG_NET_DROP_TRUNCATED), "truncated");
	assert_string_equal(aeg_net_drop_name(AEG_NET_DROP_BAD_IPV4_CSUM), "bad_ipv4_csum");
	assert_string_equal(aeg_net_drop_name(AEG_NET_DROP_NR), "unknown");
	for (int a = 0; a < AEG_NET_DROP_NR; a++) {
		assert_non_null(aeg_net_drop_name(a));
		for (int b = a + 1; b < AEG_NET_DROP_NR; b++)
			assert_string_not_equal(aeg_net_drop_name(a), aeg_net_drop_name(b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_example),
		cmocka_unit_test(test_odd_length),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_mac_text),
		cmocka_unit_test(test_ipv4_text),
		cmocka_unit_test(test_drop_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
