/* control/json_out and control/json_in: golden writer output, the reader's
 * refusals, and random documents written then read back (seeded). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_in.h"
#include "json_out.h"
#include "test_prng.h"

static void test_writer(void **state)
{
	(void)state;
	struct aeg_json_out j;
	aeg_json_init(&j, 1 << 20);
	aeg_json_obj_begin(&j);
	aeg_json_kv_bool(&j, "ok", true);
	aeg_json_kv_u64(&j, "node", 1);
	aeg_json_kv_double(&j, "uptime_s", 12.3456);
	aeg_json_kv_i64(&j, "neg", -5);
	aeg_json_key(&j, "workers");
	aeg_json_arr_begin(&j);
	aeg_json_obj_begin(&j);
	aeg_json_kv_u64(&j, "worker", 0);
	aeg_json_obj_end(&j);
	aeg_json_obj_begin(&j);
	aeg_json_obj_end(&j);
	aeg_json_arr_end(&j);
	aeg_json_key(&j, "empty");
	aeg_json_arr_begin(&j);
	aeg_json_arr_end(&j);
	aeg_json_kv_str(&j, "s", "a\"b\\c\n\t\x01\x7f\xc3\xa9");
	aeg_json_key(&j, "n");
	aeg_json_null(&j);
	aeg_json_key(&j, "inf");
	aeg_json_double(&j, 1.0 / 0.0);
	aeg_json_key(&j, "d");
	aeg_json_arr_begin(&j);
	aeg_json_double(&j, 12.3);
	aeg_json_double(&j, 5.0);
	aeg_json_double(&j, -0.125);
	aeg_json_double(&j, 1e17);
	aeg_json_arr_end(&j);
	aeg_json_obj_end(&j);
	assert_false(j.overflow);
	assert_string_equal(j.buf, "{\"ok\":true,\"node\":1,\"uptime_s\":12.346,\"neg\":-5,"
				   "\"workers\":[{\"worker\":0},{}],\"empty\":[],"
				   "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\xc3\xa9\",\"n\":null,"
				   "\"inf\":null,\"d\":[12.3,5,-0.125,100000000000000000]}");
	assert_int_equal(j.len, strlen(j.buf));
	/* A reset starts a new document. */
	aeg_json_reset(&j);
	aeg_json_arr_begin(&j);
	aeg_json_u64(&j, UINT64_MAX);
	aeg_json_i64(&j, INT64_MIN);
	aeg_json_arr_end(&j);
	assert_string_equal(j.buf, "[18446744073709551615,-9223372036854775808]");
	aeg_json_free(&j);
	/* The cap: writes stop and overflow says so. */
	aeg_json_init(&j, 16);
	aeg_json_arr_begin(&j);
	for (int i = 0; i < 10; i++)
		aeg_json_u64(&j, 1000);
	assert_true(j.overflow);
	assert_true(j.len <= 16);
	aeg_json_free(&j);
}

static int parse(struct aeg_json_doc *d, const char *text, struct aeg_json_tok *t, uint32_t max)
{
	const char *why;
	return aeg_json_parse(d, text, strlen(text), t, max, &why);
}

static void test_reader(void **state)
{
	(void)state;
	struct aeg_json_tok t[64];
	struct aeg_json_doc d;
	const char *text = " {\"ok\":true,\"a\":[1,2,{\"x\":null}],\"s\":\"h\\u00e9\\ud83d\\ude00\\n\","
			   "\"f\":-1.5e3,\"k\\u0065y\":7,\"big\":18446744073709551616} \r\n";
	assert_int_equal(parse(&d, text, t, 64), 0);
	bool b;
	assert_true(aeg_json_as_bool(&d, aeg_json_get(&d, 0, "ok"), &b) && b);
	int a = aeg_json_get(&d, 0, "a");
	assert_int_equal(d.toks[a].size, 3);
	uint64_t u;
	int e = aeg_json_first(&d, a);
	assert_true(aeg_json_as_u64(&d, e, &u) && u == 1);
	e = aeg_json_after(&d, a, e);
	assert_true(aeg_json_as_u64(&d, e, &u) && u == 2);
	e = aeg_json_after(&d, a, e);
	assert_int_equal(d.toks[e].type, AEG_JSON_OBJECT);
	assert_int_equal(d.toks[aeg_json_get(&d, e, "x")].type, AEG_JSON_NULL);
	assert_int_equal(aeg_json_after(&d, a, e), -1);
	char s[32];
	assert_int_equal(aeg_json_as_str(&d, aeg_json_get(&d, 0, "s"), s, sizeof(s)), 8);
	assert_string_equal(s, "h\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_int_equal(aeg_json_as_str(&d, aeg_json_get(&d, 0, "s"), s, 8), -ENAMETOOLONG);
	double f;
	assert_true(aeg_json_as_double(&d, aeg_json_get(&d, 0, "f"), &f) && f == -1500.0);
	assert_false(aeg_json_as_u64(&d, aeg_json_get(&d, 0, "f"), &u));
	assert_true(aeg_json_as_u64(&d, aeg_json_get(&d, 0, "key"), &u) && u == 7);
	assert_false(aeg_json_as_u64(&d, aeg_json_get(&d, 0, "big"), &u));
	assert_int_equal(aeg_json_get(&d, 0, "none"), -1);
	assert_int_equal(aeg_json_get(&d, a, "x"), -1); /* not an object */
	assert_int_equal(aeg_json_as_str(&d, -1, s, sizeof(s)), -1);
	/* Too few tokens. */
	assert_int_equal(parse(&d, "[1,2,3]", t, 3), -ENOBUFS);
	assert_int_equal(parse(&d, "[1,2,3]", t, 4), 0);
	/* Strings the reader refuses to hand out. */
	assert_int_equal(parse(&d, "[\"a\\u0000\", \"\\udc00\", \"\\ud800x\"]", t, 8), 0);
	for (e = aeg_json_first(&d, 0); e >= 0; e = aeg_json_after(&d, 0, e))
		assert_int_equal(aeg_json_as_str(&d, e, s, sizeof(s)), -EINVAL);
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
		"01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12g4\"",
		"\"a\tb\"", "[1] [2]", "{\"a\":1}}", "'a'", "[1 2]", "NaN",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(&d, bad[i], t, 64) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

/* Random nested documents: what the writer writes, the reader reads back
 * with the same structure, strings and numbers. Strings are kept in
 * document order to be compared byte for byte. */
#define STRINGS_MAX 2048
static char strs[STRINGS_MAX][16];
static size_t str_lens[STRINGS_MAX];

static void write_random(struct prng *p, struct aeg_json_out *j, int depth, uint64_t *sum,
			 uint32_t *strings)
{
	int kind = (int)prng_below(p, depth >= 4 ? 3 : 5); /* at most 3^4 strings */
	char s[16];
	switch (kind) {
	case 0: {
		uint64_t v = prng_next(p) >> prng_below(p, 64);
		*sum += v;
		aeg_json_u64(j, v);
		break;
	}
	case 1:
		for (size_t i = 0; i < sizeof(s); i++)
			s[i] = (char)(1 + prng_below(p, 255));
		str_lens[*strings] = prng_below(p, sizeof(s));
		memcpy(strs[*strings], s, sizeof(s));
		aeg_json_strn(j, s, str_lens[*strings]);
		(*strings)++;
		break;
	case 2:
		aeg_json_bool(j, prng_below(p, 2));
		break;
	case 3:
		aeg_json_arr_begin(j);
		for (uint64_t n = prng_below(p, 4); n > 0; n--)
			write_random(p, j, depth + 1, sum, strings);
		aeg_json_arr_end(j);
		break;
	default:
		aeg_json_obj_begin(j);
		for (uint64_t n = prng_below(p, 4); n > 0; n--) {
			snprintf(s, sizeof(s), "k%llu", (unsigned long long)n);
			aeg_json_key(j, s);
			write_random(p, j, depth + 1, sum, strings);
		}
		aeg_json_obj_end(j);
	}
}

static void read_back(const struct aeg_json_doc *d, int t, uint64_t *sum, uint32_t *strings)
{
	uint64_t u;
	char s[128];
	switch (d->toks[t].type) {
	case AEG_JSON_NUMBER:
		if (aeg_json_as_u64(d, t, &u))
			*sum += u;
		break;
	case AEG_JSON_STRING:
		if (aeg_json_as_str(d, t, s, sizeof(s)) == (long)str_lens[*strings] &&
		    memcmp(s, strs[*strings], str_lens[*strings]) == 0)
			(*strings)++;
		break;
	case AEG_JSON_OBJECT:
	case AEG_JSON_ARRAY:
		for (int e = aeg_json_first(d, t); e >= 0; e = aeg_json_after(d, t, e))
			read_back(d, d->toks[t].type == AEG_JSON_OBJECT ? e + 1 : e, sum, strings);
		break;
	default:
		break;
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x750aull);
	static struct aeg_json_tok toks[4096];
	for (int round = 0; round < 3000; round++) {
		struct aeg_json_out j;
		aeg_json_init(&j, 1 << 20);
		uint64_t sum_w = 0, sum_r = 0;
		uint32_t str_w = 0, str_r = 0;
		write_random(&p, &j, 0, &sum_w, &str_w);
		CHECK(&p, !j.overflow);
		struct aeg_json_doc d;
		const char *why = "";
		int r = aeg_json_parse(&d, j.buf, j.len, toks, 4096, &why);
		if (r != 0)
			fprintf(stderr, "%s: %s\n", why, j.buf);
		CHECK(&p, r == 0);
		CHECK(&p, d.toks[0].next == d.n);
		read_back(&d, 0, &sum_r, &str_r);
		CHECK(&p, sum_r == sum_w);
		CHECK(&p, str_r == str_w);
		aeg_json_free(&j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
