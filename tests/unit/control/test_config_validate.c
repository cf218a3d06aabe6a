/* control/config: validation (every rule refused with the key, and with
 * file:line or --set when the value came from there), loading a file, and
 * loading key files (format, permissions). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static struct aeg_config cfg;
static char err[512];
static char dir[64];

static void assert_contains(const char *s, const char *want)
{
	if (strstr(s, want) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", s, want);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/aegis-config-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Parses text over the defaults, then validates: the validation's result. */
static int check(const char *text)
{
	aeg_config_defaults(&cfg);
	err[0] = '\0';
	int r = aeg_config_parse(&cfg, text, strlen(text), "v.toml", err, sizeof(err));
	if (r != 0)
		fail_msg("parse refused: %s", err);
	return aeg_config_validate(&cfg, err, sizeof(err));
}

#define NODE "[node]\nid = 1\naddress = \"10.0.0.1\"\n"
#define PEERS2 "peers = [\"2=10.0.0.2\", \"3=10.0.0.3\"]\n"

static const struct {
	const char *text, *want;
} invalid[] = {
	{ "[raft]\nelection_timeout_min = 300\n", "v.toml:2: raft.election_timeout_min: 300 must be below raft.election_timeout_max (300)" },
	{ "[raft]\n\nheartbeat_interval = 150\n", "v.toml:3: raft.heartbeat_interval: 150 must be below raft.election_timeout_min (150)" },
	{ "[raft]\ntick_ms = 7\n", "raft.heartbeat_interval: 50 is not a multiple of raft.tick_ms (7)" },
	{ "[raft]\nelection_timeout_max = 305\n", "v.toml:2: raft.election_timeout_max: 305 is not a multiple" },
	{ "[raft]\nlease_read = true\ncheck_quorum = false\n", "v.toml:2: raft.lease_read: needs raft.check_quorum" },
	{ "[raft]\nlog_entries_max = 1000\n", "v.toml:2: raft.log_entries_max: 1000 is not a power of two" },
	{ "[raft]\nquiesce_after_ms = 20\n", "v.toml:2: raft.quiesce_after_ms: 20 must be 0 (never) or at least" },
	{ NODE, "replication.replication_factor: 3 is more than the 1 nodes" },
	{ "[node]\nid = 1\n", "node.address: required when node.id is set" },
	{ NODE "join = true\n" PEERS2, "node.join: a joining node's peers are the cluster's members: 2 listed, fewer than replication_factor 3" },
	{ NODE "peers = [\"2=10.0.0.2\", \"2=10.0.0.3\"]\n", "v.toml:4: node.peers: entries 1 and 2: the same id 2" },
	{ NODE "peers = [\"2=10.0.0.2\", \"1=10.0.0.3\"]\n", "v.toml:4: node.peers: entry 2: the node's own id 1" },
	{ NODE "peers = [\"2=10.0.0.1\", \"3=10.0.0.3\"]\n", "v.toml:4: node.peers: entry 1: its ports overlap node.address's" },
	{ NODE "workers = 2\npeers = [\"2=10.0.0.2:7100\", \"3=10.0.0.2:7101\"]\n", "v.toml:5: node.peers: entries 1 and 2: overlapping ports" },
	{ "[node]\naddress = \"1.1.1.1:65535\"\nworkers = 2\n", "v.toml:2: node.address: port 65535 + node.workers - 1 exceeds 65535" },
	{ "[sharding]\nstrategy = \"range\"\nshard_count = 2\nsplit_points = [\"m\", \"n\"]\n", "v.toml:4: sharding.split_points: strategy \"range\" takes at most shard_count - 1 = 1 keys, got 2" },
	{ "[sharding]\nstrategy = \"range\"\nshard_count = 3\nsplit_points = [\"m\", \"c\"]\n", "v.toml:4: sharding.split_points: entry 2: keys must be in ascending order" },
	{ "[sharding]\nstrategy = \"range\"\nshard_count = 3\nsplit_points = [\"m\", \"m\"]\n", "entry 2: keys must be in ascending order" },
	{ "[sharding]\nstrategy = \"range\"\nshard_count = 2\nsplit_points = [\"\"]\n", "v.toml:4: sharding.split_points: entry 1: must have 1..1024 bytes" },
	{ "[sharding]\nstrategy = \"range\"\nshard_count = 2000\n", "v.toml:3: sharding.shard_count: at most 1024 shards" },
	{ "[sharding]\nsplit_points = [\"m\"]\n", "v.toml:2: sharding.split_points: only for strategy = \"range\"" },
	{ "[sharding]\nassign = [\"a=1\"]\n", "v.toml:2: sharding.assign: only for strategy = \"list\"" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"a=1\", \"b\"]\n", "v.toml:3: sharding.assign: entry 2: expected \"KEY=SHARD\" or \"PREFIX*=SHARD\"" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"=1\"]\n", "entry 1: expected" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"*=1\"]\n", "entry 1: expected" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"a=x1\"]\n", "entry 1: expected" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"a=99999999999\"]\n", "entry 1: expected" },
	{ "[sharding]\nstrategy = \"list\"\nshard_count = 4\nassign = [\"a=4\"]\n", "v.toml:4: sharding.assign: entry 1: shard 4, but shard_count is 4" },
	{ "[sharding]\nstrategy = \"list\"\nassign = [\"a*=1\", \"b=2\", \"a*=3\"]\n", "entry 3: the same prefix as entry 1" },
	{ "[sharding]\nstrategy = \"list\"\nsplit_points = [\"m\"]\n", "sharding.split_points: only for strategy = \"range\"" },
	{ "[node]\ncluster_key_file = \"/k\"\nclient_key_file = \"/k\"\n", "v.toml:3: node.client_key_file: must not be node.cluster_key_file" },
	{ "[node]\ncluster_key_accept_file = \"/n\"\ncluster_key_id = 4\ncluster_key_accept_id = 4\n", "node.cluster_key_accept_id: must differ from node.cluster_key_id (4)" },
	{ "[node]\ncluster_key_accept_file = \"/k\"\nclient_key_file = \"/k\"\n", "node.cluster_key_accept_file: must not be node.client_key_file" },
	{ "[node]\ndata_dir = \"\"\n", "v.toml:2: node.data_dir: must not be empty" },
	{ "[node]\nzone = \"rack 1\"\n", "v.toml:2: node.zone: \"rack 1\": only letters, digits" },
	{ "[rebalance]\nbytes_per_s = \"1 KiB\"\n", "v.toml:2: rebalance.bytes_per_s: 1024: 0 (unpaced) or at least 64 KiB" },
	{ "[membership]\nsuspect_ms = 5000\n", "membership.down_ms: 5000 must be above membership.suspect_ms (5000)" },
	{ "[node]\ntransport = \"dpdk\"\nframe_bytes = 8972\n", "v.toml:3: node.frame_bytes: 8972 needs transport = \"udp\"" },
	{ "[node]\ndata_dir = \"/a/very/long/directory/name/that/goes/on/and/on/and/on/until/the/unix/socket/path/is/much/too/long\"\n", "v.toml:2: node.data_dir: the admin socket path must be shorter than 108 bytes" },
	{ "[wal]\nsegment_bytes = 1052672\n", "v.toml:2: wal.segment_bytes: must be at least 2 x wal.batch_bytes_max" },
	{ "[wal]\nsegment_bytes = 2098176\n", "v.toml:2: wal.segment_bytes: must be a multiple of 4 KiB" },
	{ "[wal]\nbatch_bytes_max = 1000000\n", "v.toml:2: wal.batch_bytes_max: must be a multiple of 4 KiB" },
	{ "[limits]\nvalue_bytes_max = \"4 MiB\"\n", "wal.batch_bytes_max: 2097152 is too small for limits.value_bytes_max" },
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		if (check(invalid[i].text) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, invalid[i].text);
		assert_contains(err, invalid[i].want);
	}
	/* Fixed by what the case lacks: those are the only problems. */
	assert_int_equal(check(NODE PEERS2), 0);
	assert_int_equal(check(NODE "join = true\npeers = [\"2=10.0.0.2\", \"3=10.0.0.3\", \"4=10.0.0.4\"]\n"), 0);
	assert_int_equal(check("[raft]\ntick_ms = 25\nelection_timeout_max = 350\n"), 0);
	assert_int_equal(check("[sharding]\nstrategy = \"range\"\nshard_count = 3\n"
			       "split_points = [\"m\", \"ma\"]\n"), 0);
	assert_int_equal(check("[sharding]\nstrategy = \"range\"\nshard_count = 1\n"), 0);
	assert_int_equal(check("[sharding]\nstrategy = \"range\"\nshard_count = 4\nsplit_points = [\"m\"]\n"), 0); /* 2 spare */
	assert_int_equal(check("[sharding]\nstrategy = \"list\"\nshard_count = 4\n"
			       "assign = [\"a*=1\", \"a=2\", \"x=y=3\", \"*b*=0\"]\n"), 0);
	const char *key;
	uint32_t len, shard;
	bool prefix;
	assert_true(aeg_config_assign(&cfg, 2, &key, &len, &shard, &prefix));
	assert_int_equal(len, 3); /* "x=y": the last '=' separates */
	assert_int_equal(shard, 3);
	assert_false(prefix);
	assert_true(aeg_config_assign(&cfg, 3, &key, &len, &shard, &prefix));
	assert_int_equal(len, 2); /* "*b" */
	assert_true(prefix);
	assert_int_equal(check("[sharding]\nstrategy = \"round_robin\"\n"), 0);
	assert_int_equal(check("[sharding]\nstrategy = \"time\"\ntime_bucket = 86400\n"), 0);
	assert_int_equal(cfg.time_bucket, 86400);
	assert_int_equal(check(NODE "workers = 2\npeers = [\"2=10.0.0.1:7102\", "
			       "\"3=10.0.0.3:7101\"]\n"), 0);
	assert_int_equal(check("[limits]\nvalue_bytes_max = \"4 MiB\"\n[wal]\n"
			       "batch_bytes_max = \"8 MiB\"\nsegment_bytes = \"16 MiB\"\n"), 0);
}

static void test_defaults_and_fields(void **state)
{
	(void)state;
	aeg_config_defaults(&cfg);
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), 0);
	/* Fields set directly are checked against the table's ranges too. */
	cfg.workers = 0;
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "node.workers: must be in 1..16, got 0");
	aeg_config_defaults(&cfg);
	cfg.consistency_level = (enum aeg_config_consistency)7;
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_contains(err, "replication.consistency_level: invalid value 7");
	aeg_config_defaults(&cfg);
	cfg.value_bytes_max = (4u << 20) + 1;
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_contains(err, "limits.value_bytes_max: must be in 1..4194304");
	/* A small err buffer gets a cut message, never an overflow. */
	char small[8];
	assert_int_equal(aeg_config_validate(&cfg, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_origin(void **state)
{
	(void)state;
	/* A --set value is named as such; a later file forgets an earlier
	 * file's lines rather than naming the wrong file. */
	assert_int_equal(check("[raft]\n"), 0);
	assert_int_equal(aeg_config_set(&cfg, "raft.heartbeat_interval", "200", err, sizeof(err)), 0);
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_contains(err, "--set raft.heartbeat_interval: 200 must be below");
	aeg_config_defaults(&cfg);
	const char *a = "[raft]\nheartbeat_interval = 200\n";
	assert_int_equal(aeg_config_parse(&cfg, a, strlen(a), "a.toml", err, sizeof(err)), 0);
	assert_int_equal(aeg_config_parse(&cfg, "\n", 1, "b.toml", err, sizeof(err)), 0);
	assert_int_equal(aeg_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "raft.heartbeat_interval: 200 must be below "
				 "raft.election_timeout_min (150)");
}

static void test_load(void **state)
{
	(void)state;
	const char *path = write_file("a.toml", "[raft]\ntick_ms = 5\n", 0644);
	aeg_config_defaults(&cfg);
	assert_int_equal(aeg_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.tick_ms, 5);
	path = write_file("b.toml", "[raft]\ntick_ms = 5\ntick = 1\n", 0644);
	assert_int_equal(aeg_config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	char want[160];
	snprintf(want, sizeof(want), "%s:3: raft.tick: unknown key", path);
	assert_string_equal(err, want);
	snprintf(want, sizeof(want), "%s/none.toml", dir);
	assert_int_equal(aeg_config_load(&cfg, want, err, sizeof(err)), -ENOENT);
	assert_contains(err, "none.toml: No such file or directory");
	assert_int_equal(aeg_config_load(&cfg, dir, err, sizeof(err)), -EISDIR);
	/* Larger than 1 MiB: refused as a whole. */
	char big[160];
	snprintf(big, sizeof(big), "%s/big.toml", dir);
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	for (int i = 0; i < 70000; i++)
		assert_true(fputs("# padding line\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(aeg_config_load(&cfg, big, err, sizeof(err)), -EFBIG);
	assert_contains(err, "larger than 1048576 bytes");
}

static void test_key_files(void **state)
{
	(void)state;
	uint8_t key[AEG_CONFIG_KEY_BYTES];
	const char *hex = "00112233445566778899aabbccddeeFF";
	const char *path = write_file("k1", hex, 0600);
	assert_int_equal(aeg_config_load_key(path, key, err, sizeof(err)), 0);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[1], 0x11);
	assert_int_equal(key[15], 0xff);
	path = write_file("k2", "0f112233445566778899aabbccddeeff\n", 0400);
	assert_int_equal(aeg_config_load_key(path, key, err, sizeof(err)), 0);
	assert_int_equal(key[0], 0x0f);
	static const struct {
		const char *text;
		mode_t mode;
		int code;
		const char *want;
	} refused[] = {
		{ "00112233445566778899aabbccddeeff\n", 0640, -EACCES, "permissions 0640 are too open" },
		{ "00112233445566778899aabbccddeeff\n", 0604, -EACCES, "permissions 0604 are too open" },
		{ "00112233445566778899aabbccddeeff\n", 0620, -EACCES, "(chmod 600)" },
		{ "00112233445566778899aabbccddee\n", 0600, -EINVAL, "expected 32 hex digits and an optional newline, got 30 bytes" },
		{ "00112233445566778899aabbccddeeff00\n", 0600, -EINVAL, "got 34 bytes" },
		{ "00112233445566778899aabbccddeeff\n\n", 0600, -EINVAL, "got 33 bytes" },
		{ "0011223344556677 899aabbccddeeff\n", 0600, -EINVAL, "not a hex digit at byte 17" },
		{ "g0112233445566778899aabbccddeeff", 0600, -EINVAL, "not a hex digit at byte 1" },
		{ "", 0600, -EINVAL, "got 0 bytes" },
		{ "0011223344556677889900112233445566778899001122334455667788990011223344\n", 0600, -EINVAL, "the file is longer" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		path = write_file("bad", refused[i].text, refused[i].mode);
		if (aeg_config_load_key(path, key, err, sizeof(err)) != refused[i].code)
			fail_msg("case %zu: %s", i, err);
		assert_contains(err, path);
		assert_contains(err, refused[i].want);
	}
	char link[160];
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("k1", link), 0);
	assert_int_equal(aeg_config_load_key(link, key, err, sizeof(err)), -ELOOP);
	assert_contains(err, "symbolic link");
	assert_int_equal(aeg_config_load_key(dir, key, err, sizeof(err)), -EINVAL);
	assert_contains(err, "not a regular file");
	snprintf(link, sizeof(link), "%s/none", dir);
	assert_int_equal(aeg_config_load_key(link, key, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_defaults_and_fields),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
