/* Every counter/register decoder refuses the other three types' bytes and
 * an unknown format version, whatever follows the header. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "aegis/crdt_counter.h"
#include "aegis/crdt_register.h"

struct all_types {
	struct aeg_gcounter gc;
	struct aeg_pncounter pn;
	struct aeg_lwwreg lww;
	struct aeg_mvreg mv;
};

static void all_init(struct all_types *t)
{
	assert_int_equal(aeg_gcounter_init(&t->gc, 4), 0);
	assert_int_equal(aeg_pncounter_init(&t->pn, 4), 0);
	assert_int_equal(aeg_lwwreg_init(&t->lww, 8), 0);
	assert_int_equal(aeg_mvreg_init(&t->mv, 4, 8), 0);
}

static void all_fini(struct all_types *t)
{
	aeg_gcounter_fini(&t->gc);
	aeg_pncounter_fini(&t->pn);
	aeg_lwwreg_fini(&t->lww);
	aeg_mvreg_fini(&t->mv);
}

/* Decodes buf as type i; returns the decoder's result. */
static int decode_as(struct all_types *t, int i, const uint8_t *buf, size_t len)
{
	switch (i) {
	case 0: return aeg_gcounter_decode(&t->gc, buf, len);
	case 1: return aeg_pncounter_decode(&t->pn, buf, len);
	case 2: return aeg_lwwreg_decode(&t->lww, buf, len);
	default: return aeg_mvreg_decode(&t->mv, buf, len);
	}
}

static void test_tags(void **state)
{
	(void)state;
	struct all_types t;
	all_init(&t);
	struct aeg_hlc_ts ts = { 1, 2, 3 };
	assert_int_equal(aeg_gcounter_increment(&t.gc, 1, 1, NULL), 0);
	assert_int_equal(aeg_pncounter_decrement(&t.pn, 1, 1, NULL), 0);
	assert_int_equal(aeg_lwwreg_set(&t.lww, "v", 1, &ts, NULL), 1);
	assert_int_equal(aeg_mvreg_write(&t.mv, 1, "v", 1, NULL), 0);
	uint8_t enc[4][128];
	int len[4];
	len[0] = aeg_gcounter_encode(&t.gc, enc[0], sizeof(enc[0]));
	len[1] = aeg_pncounter_encode(&t.pn, enc[1], sizeof(enc[1]));
	len[2] = aeg_lwwreg_encode(&t.lww, enc[2], sizeof(enc[2]));
	len[3] = aeg_mvreg_encode(&t.mv, enc[3], sizeof(enc[3]));
	for (int from = 0; from < 4; from++) {
		assert_true(len[from] > 2);
		for (int to = 0; to < 4; to++) {
			int rc = decode_as(&t, to, enc[from], (size_t)len[from]);
			assert_int_equal(rc, from == to ? len[from] : -EINVAL);
		}
		enc[from][1]++; /* next format version */
		assert_int_equal(decode_as(&t, from, enc[from], (size_t)len[from]), -EINVAL);
	}
	all_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
