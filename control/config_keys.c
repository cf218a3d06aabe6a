/* The config keys (config_keys.h): the table below is the one place that
 * says which keys exist, their type, field and range; the defaults; the
 * text forms of sizes, addresses and peers. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "aegis/raft.h"
#include "aegis/wire.h"
#include "config.h"
#include "config_keys.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

static const char *const consistency_names[] = { "one", "quorum", "all", NULL };
static const char *const strategy_names[] = { "hash", "range", "list", "round_robin", "time", NULL };
static const char *const transport_names[] = { "udp", "dpdk", NULL };

#define FIELD(f) offsetof(struct aeg_config, f), sizeof(((struct aeg_config *)0)->f)
#define UINT(s, k, f, lo, hi) { s, k, CT_UINT, FIELD(f), lo, hi, NULL }
#define SIZE(s, k, f, lo, hi) { s, k, CT_SIZE, FIELD(f), lo, hi, NULL }
#define BOOL(s, k, f) { s, k, CT_BOOL, FIELD(f), 0, 1, NULL }
#define ENUM(s, k, f, n) { s, k, CT_ENUM, FIELD(f), 0, 0, n }
#define STR(s, k, f) { s, k, CT_STR, FIELD(f), 0, 0, NULL }
#define SPECIAL(s, k, t) { s, k, t, 0, 0, 0, 0, NULL }

const struct cfg_key cfg_keys[CK_COUNT] = {
	[CK_REPLICATION_FACTOR] = UINT("replication", "replication_factor", replication_factor, 1,
				       AEG_RAFT_CONF_MAX),
	[CK_CONSISTENCY_LEVEL] = ENUM("replication", "consistency_level", consistency_level,
				      consistency_names),
	[CK_ELECTION_MIN] = UINT("raft", "election_timeout_min", election_timeout_ms_min, 1, 600000),
	[CK_ELECTION_MAX] = UINT("raft", "election_timeout_max", election_timeout_ms_max, 1, 600000),
	[CK_HEARTBEAT] = UINT("raft", "heartbeat_interval", heartbeat_interval_ms, 1, 600000),
	[CK_TICK] = UINT("raft", "tick_ms", tick_ms, 1, 1000),
	[CK_PRE_VOTE] = BOOL("raft", "pre_vote", pre_vote),
	[CK_CHECK_QUORUM] = BOOL("raft", "check_quorum", check_quorum),
	[CK_LEASE_READ] = BOOL("raft", "lease_read", lease_read),
	[CK_QUIESCE] = UINT("raft", "quiesce_after_ms", quiesce_after_ms, 0, 86400000),
	[CK_LOG_ENTRIES] = UINT("raft", "log_entries_max", log_entries_max, 16, 1u << 20),
	[CK_SNAPSHOT_EVERY] = UINT("raft", "snapshot_every_entries", snapshot_every_entries, 1,
				   (1u << 20) - 1),
	[CK_STRATEGY] = ENUM("sharding", "strategy", strategy, strategy_names),
	[CK_SHARD_COUNT] = UINT("sharding", "shard_count", shard_count, 1, 65536),
	[CK_AUTO_REBALANCE] = BOOL("sharding", "auto_rebalance", auto_rebalance),
	[CK_SPLIT_POINTS] = SPECIAL("sharding", "split_points", CT_SPLITS),
	[CK_ASSIGN] = SPECIAL("sharding", "assign", CT_ASSIGN),
	[CK_TIME_BUCKET] = UINT("sharding", "time_bucket", time_bucket, 1, UINT32_MAX),
	[CK_SPLIT_BYTES] = SIZE("sharding", "split_bytes", split_bytes, 0, 1ull << 50),
	[CK_MERGE_BYTES] = SIZE("sharding", "merge_bytes", merge_bytes, 0, 1ull << 50),
	[CK_NODE_ID] = UINT("node", "id", node_id, 1, UINT32_MAX),
	[CK_ADDRESS] = SPECIAL("node", "address", CT_ADDR),
	[CK_PEERS] = SPECIAL("node", "peers", CT_PEERS),
	[CK_DATA_DIR] = STR("node", "data_dir", data_dir),
	[CK_WORKERS] = UINT("node", "workers", workers, 1, AEG_CONFIG_WORKERS_MAX),
	[CK_TRANSPORT] = ENUM("node", "transport", transport, transport_names),
	[CK_EAL_ARGS] = SPECIAL("node", "eal_args", CT_EAL),
	[CK_CLUSTER_ID] = UINT("node", "cluster_id", cluster_id, 0, UINT32_MAX),
	[CK_CLUSTER_KEY_FILE] = STR("node", "cluster_key_file", cluster_key_file),
	[CK_CLUSTER_KEY_ID] = UINT("node", "cluster_key_id", cluster_key_id, 0, 255),
	[CK_CLUSTER_KEY_ACCEPT_FILE] = STR("node", "cluster_key_accept_file", cluster_key_accept_file),
	[CK_CLUSTER_KEY_ACCEPT_ID] = UINT("node", "cluster_key_accept_id", cluster_key_accept_id, 0, 255),
	[CK_CLIENT_KEY_FILE] = STR("node", "client_key_file", client_key_file),
	[CK_MEMORY] = SIZE("node", "memory_bytes_max", memory_bytes_max, MIB, 1ull << 50),
	[CK_ADMIN_SOCKET] = STR("node", "admin_socket", admin_socket),
	[CK_STATIC_ARP] = BOOL("node", "static_arp", static_arp),
	[CK_JOIN] = BOOL("node", "join", join),
	[CK_ZONE] = STR("node", "zone", zone),
	[CK_WEIGHT] = UINT("node", "weight", weight, 1, 10000),
	[CK_FRAME_BYTES] = UINT("node", "frame_bytes", frame_bytes, AEG_CONFIG_FRAME_BYTES_MIN,
				AEG_WIRE_FRAME_BYTES_MAX),
	[CK_KEY_BYTES] = SIZE("limits", "key_bytes_max", key_bytes_max, 1, 65535),
	[CK_VALUE_BYTES] = SIZE("limits", "value_bytes_max", value_bytes_max, 1, 4 * MIB),
	[CK_WAL_SEGMENT] = SIZE("wal", "segment_bytes", wal_segment_bytes, MIB, 16 * GIB),
	[CK_WAL_BATCH] = SIZE("wal", "batch_bytes_max", wal_batch_bytes_max, 64 * KIB, 64 * MIB),
	[CK_WAL_DSYNC] = BOOL("wal", "dsync", wal_dsync),
	[CK_WAL_SYNC] = BOOL("wal", "sync", wal_sync),
	[CK_SUSPECT] = UINT("membership", "suspect_ms", suspect_ms, 1, 3600000),
	[CK_DOWN] = UINT("membership", "down_ms", down_ms, 2, 86400000),
	[CK_REREPLICATE] = UINT("membership", "rereplicate_ms", rereplicate_ms, 0, 86400000),
	[CK_REBALANCE_MOVES] = UINT("rebalance", "moves_max", rebalance_moves_max, 0, 64),
	[CK_REBALANCE_TOLERANCE] = UINT("rebalance", "tolerance_pct", rebalance_tolerance_pct, 0, 100),
	[CK_REBALANCE_LEADERS] = BOOL("rebalance", "leaders", rebalance_leaders),
	[CK_REBALANCE_BYTES] = SIZE("rebalance", "bytes_per_s", rebalance_bytes_per_s, 0, 1ull << 40),
	[CK_REBALANCE_ORPHAN] = UINT("rebalance", "orphan_ms", rebalance_orphan_ms, 1000, 86400000),
};

_Static_assert(CK_COUNT <= AEG_CONFIG_KEYS_MAX, "origin_line too short");


int aeg_config_defaults(struct aeg_config *c)
{
	*c = (struct aeg_config){
		.replication_factor = 3,
		.consistency_level = AEG_CONFIG_CONSISTENCY_QUORUM,
		.election_timeout_ms_min = 150,
		.election_timeout_ms_max = 300,
		.heartbeat_interval_ms = 50,
		.tick_ms = 10,
		.pre_vote = true,
		.check_quorum = true,
		.quiesce_after_ms = 1000,
		.log_entries_max = 1024,
		.snapshot_every_entries = 20000,
		.strategy = AEG_CONFIG_STRATEGY_HASH,
		.shard_count = 16,
		.time_bucket = 3600,
		.split_bytes = 64 * MIB,
		.base_port = AEG_CONFIG_BASE_PORT_DEFAULT,
		.data_dir = "/var/lib/aegis",
		.workers = 1,
		.transport = AEG_CONFIG_TRANSPORT_UDP,
		.cluster_id = 1,
		.cluster_key_accept_id = 1,
		.memory_bytes_max = GIB,
		.key_bytes_max = 1024,
		.value_bytes_max = (uint32_t)MIB,
		.wal_segment_bytes = 64 * MIB,
		.wal_batch_bytes_max = (uint32_t)(2 * MIB),
		.wal_sync = true,
		.frame_bytes = AEG_CONFIG_FRAME_BYTES_DPDK,
		.suspect_ms = 1000,
		.down_ms = 5000,
		.rereplicate_ms = 60000,
		.rebalance_moves_max = 2,
		.rebalance_tolerance_pct = 10,
		.rebalance_leaders = true,
		.weight = 100,
		.rebalance_bytes_per_s = 32 * MIB,
		.rebalance_orphan_ms = 60000,
	};
	return 0;
}

uint64_t cfg_key_uint(const struct aeg_config *c, enum cfg_key_id id)
{
	const struct cfg_key *k = &cfg_keys[id];
	const char *p = (const char *)c + k->off;
	if (k->size == sizeof(uint64_t)) {
		uint64_t v;
		memcpy(&v, p, sizeof(v));
		return v;
	}
	assert(k->size == sizeof(uint32_t)); /* u32 fields and enums */
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

void cfg_key_store(struct aeg_config *c, const struct cfg_key *k, uint64_t v)
{
	char *p = (char *)c + k->off;
	if (k->size == sizeof(uint64_t)) {
		memcpy(p, &v, sizeof(v));
		return;
	}
	assert(k->size == sizeof(uint32_t) && v <= UINT32_MAX);
	uint32_t w = (uint32_t)v;
	memcpy(p, &w, sizeof(w));
}

/* Decimal digits only, within min..max. */
static bool parse_dec(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "N", "N KiB", "NMiB", "N GiB" (N decimal) into bytes. */
bool cfg_parse_size(const char *s, uint64_t *out)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	uint64_t v, unit = 1;
	if (!parse_dec(s, n, 0, UINT64_MAX, &v))
		return false;
	const char *u = s + n;
	while (*u == ' ')
		u++;
	if (strcmp(u, "KiB") == 0)
		unit = KIB;
	else if (strcmp(u, "MiB") == 0)
		unit = MIB;
	else if (strcmp(u, "GiB") == 0)
		unit = GIB;
	else if (*u != '\0' || u != s + n)
		return false;
	if (v > UINT64_MAX / unit)
		return false;
	*out = v * unit;
	return true;
}

/* "A.B.C.D[:PORT]"; port 0 leaves *port alone. */
bool cfg_parse_addr(const char *s, uint32_t *ipv4, uint16_t *port)
{
	char buf[32];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	char *colon = strchr(buf, ':');
	uint64_t p = 0;
	if (colon != NULL) {
		*colon = '\0';
		if (!parse_dec(colon + 1, strlen(colon + 1), 1, UINT16_MAX, &p))
			return false;
	}
	if (aeg_net_ipv4_parse(buf, ipv4) != 0)
		return false;
	if (p != 0)
		*port = (uint16_t)p;
	return true;
}

/* "ID=A.B.C.D[:PORT][@MAC]", as aegis-dpnode --peer. */
bool cfg_parse_peer(const char *s, struct aeg_config_peer *p)
{
	char buf[64];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	char *eq = strchr(buf, '='), *at = strchr(buf, '@');
	if (eq == NULL || (at != NULL && at < eq))
		return false;
	*eq = '\0';
	if (at != NULL)
		*at = '\0';
	uint64_t id;
	*p = (struct aeg_config_peer){ .has_mac = at != NULL };
	if (!parse_dec(buf, strlen(buf), 1, UINT32_MAX, &id) ||
	    !cfg_parse_addr(eq + 1, &p->ipv4, &p->base_port) ||
	    (at != NULL && aeg_net_mac_parse(at + 1, &p->mac) != 0))
		return false;
	p->node = (uint32_t)id;
	return true;
}

const char *aeg_config_split_point(const struct aeg_config *c, uint32_t i)
{
	assert(i < c->split_point_count);
	assert(c->split_point_off[i] < sizeof(c->split_point_pool));
	return c->split_point_pool + c->split_point_off[i];
}

bool aeg_config_assign(const struct aeg_config *c, uint32_t i, const char **key, uint32_t *len,
		       uint32_t *shard, bool *prefix)
{
	assert(i < c->assign_count);
	assert(c->assign_off[i] < sizeof(c->assign_pool));
	const char *s = c->assign_pool + c->assign_off[i];
	const char *eq = strrchr(s, '=');
	if (eq == NULL || eq == s || eq[1] == '\0')
		return false;
	uint64_t v = 0;
	for (const char *d = eq + 1; *d != '\0'; d++) {
		if (*d < '0' || *d > '9' || v > UINT32_MAX / 10)
			return false;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	if (v > UINT32_MAX)
		return false;
	size_t n = (size_t)(eq - s);
	*prefix = s[n - 1] == '*';
	if (*prefix)
		n--;
	if (n == 0)
		return false;
	*key = s;
	*len = (uint32_t)n;
	*shard = (uint32_t)v;
	return true;
}

const char *aeg_config_eal_arg(const struct aeg_config *c, uint32_t i)
{
	assert(i < c->eal_argc);
	assert(c->eal_arg_off[i] < sizeof(c->eal_pool));
	return c->eal_pool + c->eal_arg_off[i];
}
