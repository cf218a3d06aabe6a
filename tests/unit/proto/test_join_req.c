/* Unit tests of join requests (lib/proto/join_req.c): a round trip; every
 * truncation and bit flip refused; another key or cluster refused (-EPERM);
 * zero fields refused both ways; a client datagram is not one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/join_req.h"

static void test_join_req(void **state)
{
	(void)state;
	struct aeg_wire_key key = { { 1, 2, 3 } }, other = { { 9 } };
	struct aeg_join_req r = { .cluster = 77, .id = 6, .ipv4 = 0x0a580006, .udp_port_base = 7100 }, got;
	uint8_t buf[64];
	assert_int_equal(aeg_join_req_encode(&key, &r, buf, sizeof(buf)), AEG_JOIN_REQ_BYTES);
	assert_int_equal(aeg_join_req_parse(&key, 77, buf, AEG_JOIN_REQ_BYTES, &got), 0);
	assert_memory_equal(&got, &r, sizeof(r));
	assert_int_equal(aeg_join_req_parse(&other, 77, buf, AEG_JOIN_REQ_BYTES, &got), -EPERM);
	assert_int_equal(aeg_join_req_parse(&key, 78, buf, AEG_JOIN_REQ_BYTES, &got), -EPERM);
	for (size_t n = 0; n < AEG_JOIN_REQ_BYTES; n++)
		assert_int_equal(aeg_join_req_parse(&key, 77, buf, n, &got), -EBADMSG);
	assert_int_equal(aeg_join_req_parse(&key, 77, buf, AEG_JOIN_REQ_BYTES + 1, &got), -EBADMSG);
	for (size_t bit = 0; bit < AEG_JOIN_REQ_BYTES * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(aeg_join_req_parse(&key, 77, buf, AEG_JOIN_REQ_BYTES, &got) < 0);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(aeg_join_req_encode(&key, &r, buf, AEG_JOIN_REQ_BYTES - 1), -EMSGSIZE);
	struct aeg_join_req zero = r;
	zero.id = 0;
	assert_int_equal(aeg_join_req_encode(&key, &zero, buf, sizeof(buf)), -EINVAL);
	zero = r;
	zero.udp_port_base = 0;
	assert_int_equal(aeg_join_req_encode(&key, &zero, buf, sizeof(buf)), -EINVAL);
	uint8_t client[AEG_JOIN_REQ_BYTES] = { 'A', 'E', 'G', 'C', 1 };
	assert_int_equal(aeg_join_req_parse(&key, 77, client, sizeof(client), &got), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_req),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
