/* control/dpnode/node_args: the split at "--" (EAL part kept for rte_eal_init,
 * cores given or not), defaults, every option's value, and the refused
 * forms (each must give -EINVAL with a reason, never a half-parsed
 * config that looks valid). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node_args.h"

#define ARGV_MAX 64

/* Parses a NULL-terminated list of arguments (argv[0] added). */
static int parse_list(struct aeg_node_args *a, char *err, const char *first, va_list ap)
{
	static char *argv[ARGV_MAX];
	int argc = 0;
	argv[argc++] = "aegis-dpnode";
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
		assert_true(argc < ARGV_MAX - 1);
		argv[argc++] = (char *)s;
	}
	argv[argc] = NULL;
	return aeg_node_args_parse(argc, argv, a, err, 256);
}

static int parse(struct aeg_node_args *a, const char *first, ...)
{
	char err[256] = "";
	va_list ap;
	va_start(ap, first);
	int r = parse_list(a, err, first, ap);
	va_end(ap);
	if (r != 0)
		printf("  (refused: %s)\n", err);
	else
		assert_string_equal(err, "");
	return r;
}

static void test_defaults_udp(void **state)
{
	(void)state;
	struct aeg_node_args a;
	assert_int_equal(parse(&a, "--node", "7", "--ip", "10.0.0.7", NULL), 0);
	assert_int_equal(a.dp.port, AEG_DP_PORT_UDP);
	assert_int_equal(a.dp.eal_argc, 1);
	assert_false(a.dp.eal_cores_given);
	assert_int_equal(a.dp.node, 7);
	assert_int_equal(a.dp.ipv4, 0x0a000007u);
	assert_int_equal(a.dp.base_port, 7400);
	assert_int_equal(a.dp.workers, 1);
	assert_int_equal(a.dp.cluster, 1);
	assert_int_equal(a.mode, AEG_NODE_MODE_ECHO);
	assert_int_equal(a.msgs, 10000);
	assert_int_equal(a.msg_bytes, 64);
	assert_int_equal(a.window, 256);
	assert_false(a.key_given);
	assert_false(a.dp.static_arp);
	assert_true(a.duration_s == 0);
	assert_null(a.stats_json);
	assert_null(a.ready_file);
	assert_int_equal(a.dp.peer_count, 0);
}

static void test_eal_split(void **state)
{
	(void)state;
	struct aeg_node_args a;
	assert_int_equal(parse(&a, "--no-huge", "-l", "1", "--vdev=net_null0", "--", "--node", "1",
			       "--ip", "1.2.3.4", NULL), 0);
	assert_int_equal(a.dp.port, AEG_DP_PORT_ETHDEV);
	assert_int_equal(a.dp.eal_argc, 5);
	assert_string_equal(a.dp.eal_argv[0], "aegis-dpnode");
	assert_string_equal(a.dp.eal_argv[4], "--vdev=net_null0");
	assert_true(a.dp.eal_cores_given);

	assert_int_equal(parse(&a, "--no-huge", "--", "--node", "1", "--ip", "1.2.3.4", NULL), 0);
	assert_false(a.dp.eal_cores_given);
	assert_int_equal(parse(&a, "--lcores=0@0,1@1", "--", "--node", "1", "--ip", "1.2.3.4",
			       NULL), 0);
	assert_true(a.dp.eal_cores_given);
	assert_int_equal(parse(&a, "-c3", "--", "--node", "1", "--ip", "1.2.3.4", NULL), 0);
	assert_true(a.dp.eal_cores_given);
	/* "--" alone: no EAL arguments, default stays udp; --port overrides. */
	assert_int_equal(parse(&a, "--", "--node", "1", "--ip", "1.2.3.4", NULL), 0);
	assert_int_equal(a.dp.port, AEG_DP_PORT_UDP);
	assert_int_equal(parse(&a, "--no-pci", "--", "--port", "udp", "--node", "1", "--ip",
			       "1.2.3.4", NULL), 0);
	assert_int_equal(a.dp.port, AEG_DP_PORT_UDP);
}

static void test_every_option(void **state)
{
	(void)state;
	struct aeg_node_args a;
	assert_int_equal(parse(&a, "-l", "0", "--", "--port", "ethdev", "--eth-port", "3",
			       "--node", "4000000000", "--ip", "192.168.1.2", "--base-port", "9000",
			       "--workers", "4", "--peer", "1=192.168.1.1",
			       "--peer", "2=192.168.1.3:9100@02:00:00:aa:bb:cc", "--static-arp",
			       "--cluster", "77", "--key", "000102030405060708090a0b0c0d0eFF",
			       "--mode", "send", "--dst", "2", "--msgs", "123", "--msg-bytes", "16",
			       "--window", "9", "--duration", "2.5", "--stats-json", "s.json",
			       "--stats-interval", "0.5", "--ready-file", "r", NULL), 0);
	assert_int_equal(a.dp.eth_port, 3);
	assert_int_equal(a.dp.node, 4000000000u);
	assert_int_equal(a.dp.ipv4, 0xc0a80102u);
	assert_int_equal(a.dp.base_port, 9000);
	assert_int_equal(a.dp.workers, 4);
	assert_int_equal(a.dp.peer_count, 2);
	assert_int_equal(a.dp.peers[0].node, 1);
	assert_false(a.dp.peers[0].has_mac);
	assert_int_equal(aeg_dp_config_peer_port(&a.dp, &a.dp.peers[0]), 9000);
	assert_int_equal(a.dp.peers[1].ipv4, 0xc0a80103u);
	assert_int_equal(aeg_dp_config_peer_port(&a.dp, &a.dp.peers[1]), 9100);
	assert_true(a.dp.peers[1].has_mac);
	assert_int_equal(a.dp.peers[1].mac.b[0], 0x02);
	assert_int_equal(a.dp.peers[1].mac.b[5], 0xcc);
	assert_ptr_equal(aeg_dp_config_peer(&a.dp, 2), &a.dp.peers[1]);
	assert_null(aeg_dp_config_peer(&a.dp, 3));
	assert_true(a.dp.static_arp);
	assert_int_equal(a.dp.cluster, 77);
	assert_true(a.key_given);
	assert_int_equal(a.dp.key.bytes[0], 0x00);
	assert_int_equal(a.dp.key.bytes[10], 0x0a);
	assert_int_equal(a.dp.key.bytes[15], 0xff);
	assert_int_equal(a.mode, AEG_NODE_MODE_SEND);
	assert_int_equal(a.dst, 2);
	assert_int_equal(a.msgs, 123);
	assert_int_equal(a.msg_bytes, 16);
	assert_int_equal(a.window, 9);
	assert_true(a.duration_s == 2.5);
	assert_string_equal(a.stats_json, "s.json");
	assert_true(a.stats_interval_s == 0.5);
	assert_string_equal(a.ready_file, "r");
	assert_int_equal(parse(&a, "--node", "1", "--ip", "1.1.1.1", "--mode", "sink", NULL), 0);
	assert_int_equal(a.mode, AEG_NODE_MODE_SINK);
}

static void test_help(void **state)
{
	(void)state;
	struct aeg_node_args a;
	assert_int_equal(parse(&a, "-h", NULL), 0);
	assert_true(a.help);
	assert_int_equal(parse(&a, "--node", "1", "--help", NULL), 0);
	assert_true(a.help);
}

static void test_refused(void **state)
{
	(void)state;
	struct aeg_node_args a;
#define REFUSED(...) assert_int_equal(parse(&a, __VA_ARGS__, NULL), -EINVAL)
	REFUSED("--ip", "1.2.3.4");                         /* no --node */
	REFUSED("--node", "1");                             /* no --ip */
	REFUSED("--node", "0", "--ip", "1.2.3.4");
	REFUSED("--node", "4294967296", "--ip", "1.2.3.4");
	REFUSED("--node", "-1", "--ip", "1.2.3.4");
	REFUSED("--node", "1x", "--ip", "1.2.3.4");
	REFUSED("--node", "1", "--ip", "1.2.3");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--port", "tcp");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--mode", "pingpong");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--mode", "send");           /* no --dst */
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--mode", "send", "--dst", "2"); /* not a peer */
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--mode", "send", "--dst", "1",
		"--peer", "1=1.2.3.4");                                         /* itself */
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--peer", "2=1.1.1.1", "--peer", "2=1.1.1.2");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--peer", "2");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--peer", "2=1.1.1.1@02:00:00:00:00");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--peer", "2=1.1.1.1:0");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--peer", "0=1.1.1.1");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--key", "00");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--key", "000102030405060708090a0b0c0d0eXY");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--workers", "0");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--workers", "17");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--msg-bytes", "15");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--window", "0");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--duration", "-1");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--base-port", "65535", "--workers", "2");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--port", "ethdev");        /* no EAL part */
	REFUSED("--node", "1", "--ip", "1.2.3.4", "stray");
	REFUSED("--node", "1", "--ip", "1.2.3.4", "--bogus");
	REFUSED("--node", "1", "--ip");                                        /* missing value */
#undef REFUSED
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_udp),
		cmocka_unit_test(test_eal_split),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
