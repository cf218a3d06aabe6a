/* control/config: the TOML subset parser and --set overrides. The DESIGN.md
 * sample loads unchanged; every refused form names file:line and the key;
 * a refused parse changes nothing; random damage to a valid file is either
 * read or refused with file:line (seeded). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "test_prng.h"

static const char sample[] =
	"[replication]\n"
	"replication_factor = 3\n"
	"consistency_level = \"quorum\"    # one, quorum, all\n"
	"\n"
	"[raft]\n"
	"election_timeout_min = 150\n"
	"election_timeout_max = 300\n"
	"heartbeat_interval = 50\n"
	"\n"
	"[sharding]\n"
	"strategy = \"hash\"               # hash, range\n"
	"shard_count = 16\n"
	"auto_rebalance = true\n"
	"\n"
	"[membership]\n"
	"down_ms = 4000\n"
	"\n"
	"[rebalance]\n"
	"moves_max = 4\n"
	"leaders = false\n"
	"bytes_per_s = \"8 MiB\"\n";

static struct aeg_config cfg;
static char err[512];

static int parse(const char *text)
{
	aeg_config_defaults(&cfg);
	err[0] = '\0';
	return aeg_config_parse(&cfg, text, strlen(text), "t.toml", err, sizeof(err));
}

static void assert_contains(const char *s, const char *want)
{
	if (strstr(s, want) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", s, want);
}

static void test_sample(void **state)
{
	(void)state;
	assert_int_equal(parse(sample), 0);
	assert_int_equal(cfg.replication_factor, 3);
	assert_int_equal(cfg.consistency_level, AEG_CONFIG_CONSISTENCY_QUORUM);
	assert_int_equal(cfg.election_timeout_ms_min, 150);
	assert_int_equal(cfg.election_timeout_ms_max, 300);
	assert_int_equal(cfg.heartbeat_interval_ms, 50);
	assert_int_equal(cfg.strategy, AEG_CONFIG_STRATEGY_HASH);
	assert_int_equal(cfg.shard_count, 16);
	assert_true(cfg.auto_rebalance);
	/* [membership] and [rebalance] as sections of a file, not only --set */
	assert_int_equal(cfg.down_ms, 4000);
	assert_int_equal(cfg.rebalance_moves_max, 4);
	assert_false(cfg.rebalance_leaders);
	assert_int_equal(cfg.rebalance_bytes_per_s, 8u << 20);
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), 0);
	/* The copy has no blank lines; CRLF line ends are read too. */
	assert_int_equal(parse("[replication]\r\nreplication_factor = 1\r\n"), 0);
	assert_int_equal(cfg.replication_factor, 1);
}

static void test_full(void **state)
{
	(void)state;
	const char *text =
		"# every section\n"
		"[replication]\nreplication_factor = 2\nconsistency_level = \"all\"\n"
		"[raft]\ntick_ms = 5\npre_vote = false\ncheck_quorum = true\nlease_read = true\n"
		"quiesce_after_ms = 0\nlog_entries_max = 4_096\nsnapshot_every_entries = 1000\n"
		"election_timeout_min = 100\nelection_timeout_max = 205\nheartbeat_interval = 20\n"
		"[sharding]\nstrategy = \"range\"\nshard_count = 3\n"
		"split_points = [ \"g\", \"p\\tq\", ]  # trailing comma\n"
		"[node]\nid = 1\naddress = \"10.0.0.1:7200\"\n"
		"peers = [\"2=10.0.0.2\", \"3=10.0.0.3:7300@02:00:00:00:00:03\"]\n"
		"data_dir = \"/tmp/a\\\"b\"\nworkers = 4\ntransport = \"dpdk\"\n"
		"eal_args = [\"--no-huge\", \"-m\", \"256\"]\ncluster_id = 4_294_967_295\n"
		"cluster_key_file = \"/k/cluster\"\nclient_key_file = \"/k/client\"\n"
		"memory_bytes_max = \"2 GiB\"\nadmin_socket = \"/run/a.sock\"\nstatic_arp = true\nframe_bytes = 1000\n"
		"[limits]\nkey_bytes_max = 256\nvalue_bytes_max = \"4MiB\"\n"
		"[wal]\nsegment_bytes = \"128 MiB\"\nbatch_bytes_max = \"8 MiB\"\ndsync = true\n";
	assert_int_equal(parse(text), 0);
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.consistency_level, AEG_CONFIG_CONSISTENCY_ALL);
	assert_int_equal(cfg.tick_ms, 5);
	assert_false(cfg.pre_vote);
	assert_true(cfg.lease_read);
	assert_int_equal(cfg.log_entries_max, 4096);
	assert_int_equal(cfg.split_point_count, 2);
	assert_string_equal(aeg_config_split_point(&cfg, 0), "g");
	assert_string_equal(aeg_config_split_point(&cfg, 1), "p\tq");
	assert_int_equal(cfg.node_id, 1);
	assert_int_equal(cfg.ipv4, 0x0a000001);
	assert_int_equal(cfg.base_port, 7200);
	assert_int_equal(cfg.peer_count, 2);
	assert_int_equal(cfg.peers[0].node, 2);
	assert_int_equal(cfg.peers[0].base_port, 0);
	assert_false(cfg.peers[0].has_mac);
	assert_int_equal(cfg.peers[1].ipv4, 0x0a000003);
	assert_int_equal(cfg.peers[1].base_port, 7300);
	assert_true(cfg.peers[1].has_mac);
	assert_int_equal(cfg.peers[1].mac.b[5], 3);
	assert_string_equal(cfg.data_dir, "/tmp/a\"b");
	assert_int_equal(cfg.transport, AEG_CONFIG_TRANSPORT_DPDK);
	assert_int_equal(cfg.eal_argc, 3);
	assert_string_equal(aeg_config_eal_arg(&cfg, 0), "--no-huge");
	assert_string_equal(aeg_config_eal_arg(&cfg, 2), "256");
	assert_int_equal(cfg.cluster_id, UINT32_MAX);
	assert_int_equal(cfg.memory_bytes_max, 2ull << 30);
	assert_int_equal(cfg.value_bytes_max, 4u << 20);
	assert_int_equal(cfg.wal_segment_bytes, 128ull << 20);
	assert_true(cfg.wal_dsync && cfg.static_arp);
	assert_int_equal(cfg.frame_bytes, 1000);
	char path[AEG_CONFIG_SOCKET_PATH_BYTES];
	assert_int_equal(aeg_config_admin_socket_path(&cfg, path, sizeof(path)), 0);
	assert_string_equal(path, "/run/a.sock");
	/* Defaults of what the file leaves out; an address without a port. */
	assert_int_equal(parse("[node]\naddress = \"127.0.0.1\"\n"), 0);
	assert_int_equal(cfg.base_port, AEG_CONFIG_BASE_PORT_DEFAULT);
	assert_int_equal(aeg_config_admin_socket_path(&cfg, path, sizeof(path)), 0);
	assert_string_equal(path, "/var/lib/aegis/aegisd.sock");
}

/* Each refused form: the text and what the message must contain. */
static const struct {
	const char *text, *want;
} bad[] = {
	{ "[raft]\nfoo = 1\n", "t.toml:2: raft.foo: unknown key" },
	{ "[sharding]\ntime_bucket = 0\n", "t.toml:2: sharding.time_bucket: must be in 1..4294967295, got 0" },
	{ "[sharding]\nstrategy = \"sideways\"\n", "t.toml:2: sharding.strategy:" },
	{ "[sharding]\nassign = [3]\n", "t.toml:2: sharding.assign: expected an array of strings" },
	{ "\n[bogus]\n", "t.toml:2: [bogus]: unknown section" },
	{ "[raft]\ntick_ms = 5\n\ntick_ms = 5\n", "t.toml:4: raft.tick_ms: key given twice" },
	{ "[raft]\n[wal]\n[raft]\n", "t.toml:3: [raft]: section given twice" },
	{ "tick_ms = 5\n", "t.toml:1: tick_ms: key outside a [section]" },
	{ "[raft]\ntick_ms = \"5\"\n", "t.toml:2: raft.tick_ms: expected an integer, got a string" },
	{ "[raft]\npre_vote = 1\n", "t.toml:2: raft.pre_vote: expected true or false" },
	{ "[node]\ndata_dir = 7\n", "t.toml:2: node.data_dir: expected a string, got an integer" },
	{ "[node]\npeers = \"2=1.2.3.4\"\n", "t.toml:2: node.peers: expected an array of strings" },
	{ "[node]\neal_args = [1, 2]\n", "t.toml:2: node.eal_args: expected an array of strings, got an array of integers" },
	{ "[node]\nworkers = 17\n", "t.toml:2: node.workers: must be in 1..16, got 17" },
	{ "[node]\nworkers = -1\n", "t.toml:2: node.workers: must be in 1..16, got -1" },
	{ "[node]\nframe_bytes = 100\n", "t.toml:2: node.frame_bytes: must be in 512..65507, got 100" },
	{ "[node]\nid = 0\n", "t.toml:2: node.id: must be in 1..4294967295" },
	{ "[replication]\nreplication_factor = 17\n", "t.toml:2: replication.replication_factor: must be in 1..16" },
	{ "[limits]\nvalue_bytes_max = \"5 MiB\"\n", "t.toml:2: limits.value_bytes_max: must be in 1..4194304, got 5242880" },
	{ "[limits]\nvalue_bytes_max = \"5 MB\"\n", "t.toml:2: limits.value_bytes_max: expected bytes or \"N KiB|MiB|GiB\"" },
	{ "[replication]\nconsistency_level = \"most\"\n", "t.toml:2: replication.consistency_level: expected one of \"one\", \"quorum\", \"all\"" },
	{ "[sharding]\nstrategy = \"jump\"\n", "t.toml:2: sharding.strategy: expected one of \"hash\", \"range\"" },
	{ "[node]\naddress = \"10.0.0.1:0\"\n", "t.toml:2: node.address: expected \"A.B.C.D[:PORT]\"" },
	{ "[node]\naddress = \"10.0.0.256\"\n", "t.toml:2: node.address:" },
	{ "[node]\npeers = [\"2=10.0.0.2\", \"x=10.0.0.3\"]\n", "t.toml:2: node.peers: entry 2: expected \"ID=A.B.C.D[:PORT][@MAC]\"" },
	{ "[node]\npeers = [\"2=10.0.0.2@02:00\"]\n", "t.toml:2: node.peers: entry 1" },
	{ "[node]\npeers = [\"0=10.0.0.2\"]\n", "t.toml:2: node.peers: entry 1" },
	{ "[raft]\ntick_ms = 5.0\n", "t.toml:2: raft.tick_ms: floats are not supported" },
	{ "[raft]\ntick_ms = 0x10\n", "t.toml:2: raft.tick_ms: only decimal integers" },
	{ "[raft]\ntick_ms = 010\n", "t.toml:2: raft.tick_ms: leading zeros" },
	{ "[raft]\ntick_ms = 1__0\n", "t.toml:2: raft.tick_ms: '_' must be between digits" },
	{ "[raft]\ntick_ms = _10\n", "t.toml:2: raft.tick_ms: expected an integer, true/false" },
	{ "[raft]\ntick_ms = 10_\n", "t.toml:2: raft.tick_ms: '_' must be between digits" },
	{ "[raft]\ntick_ms = 99999999999999999999\n", "t.toml:2: raft.tick_ms: integer out of range" },
	{ "[raft]\ntick_ms = 1979-05-27\n", "t.toml:2: raft.tick_ms: dates and times" },
	{ "[raft]\ntick_ms = 10 10\n", "t.toml:2: raft.tick_ms: unexpected text after the value" },
	{ "[raft]\ntick_ms = \n", "t.toml:2: raft.tick_ms: expected a value" },
	{ "[raft]\ntick_ms 10\n", "t.toml:2: raft.tick_ms: expected '=' after the key" },
	{ "[raft]\nraft.tick_ms = 10\n", "t.toml:2: raft.raft: dotted keys are not supported" },
	{ "[raft]\n\"tick_ms\" = 10\n", "t.toml:2: quoted keys are not supported" },
	{ "[raft.x]\n", "t.toml:1: dotted section names" },
	{ "[[raft]]\n", "t.toml:1: arrays of tables" },
	{ "[raft\n", "t.toml:1: expected ']'" },
	{ "[raft] x\n", "t.toml:1: unexpected text after the section header" },
	{ "= 3\n", "t.toml:1: expected a key or a [section]" },
	{ "[node]\ndata_dir = \"abc\n", "t.toml:2: node.data_dir: unterminated string" },
	{ "[node]\ndata_dir = \"a\\qb\"\n", "t.toml:2: node.data_dir: unsupported escape" },
	{ "[node]\ndata_dir = \"a\\u0041\"\n", "t.toml:2: node.data_dir: unsupported escape" },
	{ "[node]\ndata_dir = 'abc'\n", "t.toml:2: node.data_dir: literal strings" },
	{ "[node]\ndata_dir = \"\"\"abc\"\"\"\n", "t.toml:2: node.data_dir: multi-line strings" },
	{ "[node]\ndata_dir = \"ab\"c\n", "t.toml:2: node.data_dir: unexpected character after the string" },
	{ "[node]\ndata_dir = {a = 1}\n", "t.toml:2: node.data_dir: inline tables" },
	{ "[node]\npeers = [\"a\", 1]\n", "t.toml:2: node.peers: arrays must not mix" },
	{ "[node]\npeers = [[\"a\"]]\n", "t.toml:2: node.peers: nested arrays" },
	{ "[node]\npeers = [true]\n", "t.toml:2: node.peers: arrays hold strings or integers only" },
	{ "[node]\npeers = [\"a\"\n", "t.toml:2: node.peers: unterminated array" },
	{ "[node]\npeers = [\"a\" \"b\"]\n", "t.toml:2: node.peers: expected ',' or ']'" },
	{ "[node]\npeers = [\"a\",,]\n", "t.toml:2: node.peers: expected a value" },
	{ "[raft]\ntick_ms = 5\t\x01\n", "t.toml:2: control character" },
	{ "[raft]\r\r\n", "t.toml:1: control character" },
	{ "[raft]\ntick_ms = 5 \x7f\n", "t.toml:2: control character" },
};

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i].text);
		assert_contains(err, bad[i].want);
	}
}

static void test_long_values(void **state)
{
	(void)state;
	char text[2048];
	char dir[400];
	memset(dir, 'd', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = '\0';
	snprintf(text, sizeof(text), "[node]\n\ndata_dir = \"%s\"\n", dir);
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, "t.toml:3: node.data_dir: longer than 255 bytes");
	/* 255 bytes fit. */
	dir[255] = '\0';
	snprintf(text, sizeof(text), "[node]\n\ndata_dir = \"%s\"\n", dir);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(cfg.data_dir), 255);
	/* Too many peers and EAL arguments. */
	size_t n = (size_t)snprintf(text, sizeof(text), "[node]\npeers = [");
	for (int i = 0; i <= AEG_CONFIG_PEERS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\"%d=1.1.1.1\",", i + 2);
	snprintf(text + n, sizeof(text) - n, "]\n");
	assert_int_equal(parse(text), -EINVAL);
	assert_contains(err, "t.toml:2: node.peers: at most 64 peers, got 65");
	/* A NUL byte inside the text is refused at its line. */
	static const char nul[] = "[raft]\ntick_ms = 5\n\0\n";
	aeg_config_defaults(&cfg);
	assert_int_equal(aeg_config_parse(&cfg, nul, sizeof(nul) - 1, "t.toml", err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "t.toml:3: NUL byte");
}

static void test_nothing_half_applied(void **state)
{
	(void)state;
	aeg_config_defaults(&cfg);
	struct aeg_config before = cfg;
	const char *text = "[raft]\ntick_ms = 5\n[node]\npeers = [\"2=1.1.1.1\"]\nworkers = 99\n";
	assert_int_equal(aeg_config_parse(&cfg, text, strlen(text), "t.toml", err, sizeof(err)),
			 -EINVAL);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	/* On top of what is there: a second file changes only its keys. */
	assert_int_equal(parse("[raft]\ntick_ms = 5\n[node]\npeers = [\"2=1.1.1.1\"]\n"), 0);
	text = "[node]\npeers = []\n";
	assert_int_equal(aeg_config_parse(&cfg, text, strlen(text), "u.toml", err, sizeof(err)), 0);
	assert_int_equal(cfg.tick_ms, 5);
	assert_int_equal(cfg.peer_count, 0);
	/* An empty text is fine. */
	assert_int_equal(aeg_config_parse(&cfg, NULL, 0, "e.toml", err, sizeof(err)), 0);
}

static void test_set(void **state)
{
	(void)state;
	aeg_config_defaults(&cfg);
	assert_int_equal(aeg_config_set(&cfg, "raft.heartbeat_interval", "20", err, sizeof(err)), 0);
	assert_int_equal(cfg.heartbeat_interval_ms, 20);
	assert_int_equal(aeg_config_set(&cfg, "node.transport", "dpdk", err, sizeof(err)), 0);
	assert_int_equal(cfg.transport, AEG_CONFIG_TRANSPORT_DPDK);
	assert_int_equal(aeg_config_set(&cfg, "node.transport", "\"udp\"", err, sizeof(err)), 0);
	assert_int_equal(cfg.transport, AEG_CONFIG_TRANSPORT_UDP);
	assert_int_equal(aeg_config_set(&cfg, "node.data_dir", "/x/1 2\\n", err, sizeof(err)), 0);
	assert_string_equal(cfg.data_dir, "/x/1 2\\n"); /* unquoted: no escapes */
	assert_int_equal(aeg_config_set(&cfg, "node.data_dir", "123", err, sizeof(err)), 0);
	assert_string_equal(cfg.data_dir, "123");
	assert_int_equal(aeg_config_set(&cfg, "wal.segment_bytes", "32MiB", err, sizeof(err)), 0);
	assert_int_equal(cfg.wal_segment_bytes, 32u << 20);
	assert_int_equal(aeg_config_set(&cfg, "wal.segment_bytes", "2_097_152", err, sizeof(err)), 0);
	assert_int_equal(cfg.wal_segment_bytes, 2u << 20);
	assert_int_equal(aeg_config_set(&cfg, "node.peers", "[\"7=1.2.3.4:9\"]", err, sizeof(err)), 0);
	assert_int_equal(cfg.peer_count, 1);
	assert_int_equal(cfg.peers[0].base_port, 9);
	assert_int_equal(aeg_config_set(&cfg, "node.address", "1.2.3.5:8000", err, sizeof(err)), 0);
	assert_int_equal(cfg.base_port, 8000);
	assert_int_equal(aeg_config_set(&cfg, "wal.dsync", "true", err, sizeof(err)), 0);
	assert_true(cfg.wal_dsync);
	assert_true(cfg.wal_sync); /* durable unless asked */
	assert_int_equal(aeg_config_set(&cfg, "wal.sync", "false", err, sizeof(err)), 0);
	assert_false(cfg.wal_sync);
	struct aeg_config before = cfg;
	static const struct {
		const char *key, *value, *want;
	} refused[] = {
		{ "raft.heartbeat", "20", "--set raft.heartbeat: unknown key" },
		{ "heartbeat_interval", "20", "--set heartbeat_interval: unknown key" },
		{ "raft.heartbeat_interval", "fast", "--set raft.heartbeat_interval: expected an integer, true/false" },
		{ "raft.heartbeat_interval", "0", "--set raft.heartbeat_interval: must be in 1..600000, got 0" },
		{ "raft.heartbeat_interval", "\"20\"", "--set raft.heartbeat_interval: expected an integer, got a string" },
		{ "raft.pre_vote", "yes", "--set raft.pre_vote:" },
		{ "node.transport", "tcp", "--set node.transport: expected one of \"udp\", \"dpdk\"" },
		{ "wal.segment_bytes", "lots", "--set wal.segment_bytes: expected bytes" },
		{ "node.peers", "2=1.2.3.4", "--set node.peers:" },
		{ "node.data_dir", "a\tb", "--set node.data_dir: control character" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (aeg_config_set(&cfg, refused[i].key, refused[i].value, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_contains(err, refused[i].want);
	}
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

/* Random damage to a valid file: read or refused, and a refusal names
 * t.toml and a line that exists. */
static void test_random_damage(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0xc0ff1600ull);
	static const char alphabet[] = "[]=\"\\#,._- \t\n\r0123456789aeflrstux{}'+";
	char text[sizeof(sample) + 16];
	for (int round = 0; round < 20000; round++) {
		size_t n = sizeof(sample) - 1;
		memcpy(text, sample, n);
		int edits = 1 + (int)prng_below(&p, 3);
		for (int e = 0; e < edits; e++)
			text[prng_below(&p, n)] = alphabet[prng_below(&p, sizeof(alphabet) - 1)];
		uint32_t lines = 1;
		for (size_t i = 0; i < n; i++)
			lines += text[i] == '\n';
		aeg_config_defaults(&cfg);
		err[0] = '\0';
		int r = aeg_config_parse(&cfg, text, n, "t.toml", err, sizeof(err));
		CHECK(&p, r == 0 || r == -EINVAL);
		if (r == 0)
			continue;
		unsigned line = 0;
		CHECK(&p, sscanf(err, "t.toml:%u: ", &line) == 1);
		CHECK(&p, line >= 1 && line <= lines);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_nothing_half_applied),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_random_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
