/* control/dpnode/node_config: a config file becomes the argv node_args already
 * parses: its EAL arguments and options come first, the command line's
 * after (and win); every bad line is refused with file:line and nothing
 * half-applied. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node_args.h"
#include "node_config.h"

static char path[64];

static void write_file(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/aegis-node-config-%d.conf", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int apply(struct aeg_node_argv *out, char *err, int argc, char **argv)
{
	err[0] = '\0';
	return aeg_node_config_apply(argc, argv, out, err, 256);
}

static void test_no_config(void **state)
{
	(void)state;
	char *argv[] = { "p", "--node", "1", NULL };
	struct aeg_node_argv out = { .argc = -7 };
	char err[256];
	assert_int_equal(apply(&out, err, 3, argv), 0);
	assert_int_equal(out.argc, -7); /* untouched */
}

static void test_merge_order(void **state)
{
	(void)state;
	write_file("# a node\n"
		   "eal = --no-huge  -m 256\t--vdev=net_null0\n"
		   "\n"
		   "  node = 2  \n"
		   "ip = 10.0.0.2\n"
		   "peer = 1=10.0.0.1\n"
		   "static-arp\n"
		   "mode = sink\n");
	char *argv[] = { "p", "--no-pci", "--", "--config", path, "--mode", "echo",
			 "--peer", "3=10.0.0.3", NULL };
	struct aeg_node_argv out;
	char err[256];
	assert_int_equal(apply(&out, err, 9, argv), 1);
	const char *want[] = { "p", "--no-huge", "-m", "256", "--vdev=net_null0", "--no-pci", "--",
			       "--node", "2", "--ip", "10.0.0.2", "--peer", "1=10.0.0.1",
			       "--static-arp", "--mode", "sink", "--mode", "echo", "--peer",
			       "3=10.0.0.3" };
	assert_int_equal(out.argc, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < out.argc; i++)
		assert_string_equal(out.argv[i], want[i]);
	assert_null(out.argv[out.argc]);
	/* And node_args reads it: the command line's mode wins, peers add up. */
	struct aeg_node_args a;
	assert_int_equal(aeg_node_args_parse(out.argc, out.argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.dp.node, 2);
	assert_int_equal(a.mode, AEG_NODE_MODE_ECHO);
	assert_int_equal(a.dp.peer_count, 2);
	assert_true(a.dp.static_arp);
	assert_int_equal(a.dp.port, AEG_DP_PORT_ETHDEV);
	assert_int_equal(a.dp.eal_argc, 6);
	aeg_node_argv_free(&out);
	unlink(path);
}

/* Without "--" and without eal: a kernel-UDP node; --config=FILE form. */
static void test_udp_node(void **state)
{
	(void)state;
	write_file("node = 5\nip = 127.0.0.1\nport = udp\n");
	char opt[96];
	snprintf(opt, sizeof(opt), "--config=%s", path);
	char *argv[] = { "p", opt, "--workers", "2", NULL };
	struct aeg_node_argv out;
	char err[256];
	assert_int_equal(apply(&out, err, 4, argv), 1);
	struct aeg_node_args a;
	assert_int_equal(aeg_node_args_parse(out.argc, out.argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.dp.node, 5);
	assert_int_equal(a.dp.workers, 2);
	assert_int_equal(a.dp.port, AEG_DP_PORT_UDP);
	aeg_node_argv_free(&out);
	unlink(path);
}

static void expect_refused(const char *text, int code, const char *needle)
{
	write_file(text);
	char *argv[] = { "p", "--config", path, NULL };
	struct aeg_node_argv out = { .argc = -7 };
	char err[256];
	assert_int_equal(apply(&out, err, 3, argv), code);
	if (strstr(err, needle) == NULL) {
		fprintf(stderr, "error '%s' lacks '%s'\n", err, needle);
		fail();
	}
	assert_int_equal(out.argc, -7);
	unlink(path);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("node = 1\nnodes = 2\n", -EINVAL, ":2: unknown setting 'nodes'");
	expect_refused("static-arp = yes\n", -EINVAL, ":1: static-arp takes no value");
	expect_refused("# x\nnode\n", -EINVAL, ":2: node needs a value");
	expect_refused("node =\n", -EINVAL, ":1: node needs a value");
	expect_refused("eal =\n", -EINVAL, ":1: eal needs a value");
	expect_refused("help\n", -EINVAL, "unknown setting 'help'");
	expect_refused("config = other\n", -EINVAL, "unknown setting 'config'");
	char long_line[1200];
	memset(long_line, 'a', sizeof(long_line) - 2);
	memcpy(long_line, "key = ", 6);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	expect_refused(long_line, -EINVAL, ":1: line longer than 1023 bytes");
	/* A missing file and a --config without a file. */
	char *argv[] = { "p", "--config", "/nonexistent/aegis.conf", NULL };
	struct aeg_node_argv out;
	char err[256];
	assert_int_equal(apply(&out, err, 3, argv), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/aegis.conf"));
	char *argv2[] = { "p", "--", "--config", NULL };
	assert_int_equal(apply(&out, err, 3, argv2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_config),
		cmocka_unit_test(test_merge_order),
		cmocka_unit_test(test_udp_node),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("dpnode_config", tests, NULL, NULL);
}
