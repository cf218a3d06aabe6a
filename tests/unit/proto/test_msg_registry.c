/* aegis/msg.h: the registry's numbers are the plan's (they are on the wire:
 * a change breaks mixed-version clusters) and every type has its own
 * stable name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/msg.h"

static void test_numbers_are_fixed(void **state)
{
	(void)state;
	assert_int_equal(AEG_MSG_TEST, 1);
	assert_int_equal(AEG_MSG_RAFT, 2);
	assert_int_equal(AEG_MSG_RAFT_HB, 3);
	assert_int_equal(AEG_MSG_FRAG, 4);
	assert_int_equal(AEG_MSG_FRAG_ACK, 5);
	assert_int_equal(AEG_MSG_META, 6);
	assert_int_equal(AEG_MSG_PLACE, 7);
	assert_int_equal(AEG_MSG_TYPE_MAX, 7);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(aeg_msg_type_name(AEG_MSG_TEST), "test");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_RAFT), "raft");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_RAFT_HB), "raft_hb");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_FRAG), "frag");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_FRAG_ACK), "frag_ack");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_META), "meta");
	assert_string_equal(aeg_msg_type_name(AEG_MSG_PLACE), "place");
	for (unsigned a = 1; a <= AEG_MSG_TYPE_MAX; a++)
		for (unsigned b = 1; b < a; b++)
			assert_string_not_equal(aeg_msg_type_name((uint8_t)a),
						aeg_msg_type_name((uint8_t)b));
	assert_string_equal(aeg_msg_type_name(0), "unknown");
	for (unsigned t = AEG_MSG_TYPE_MAX + 1; t <= UINT8_MAX; t++)
		assert_string_equal(aeg_msg_type_name((uint8_t)t), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_are_fixed),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
