/* Validation of a whole config (config.h): the table's ranges again (a
 * caller may have filled fields directly), then the rules that tie keys
 * together. Messages name the key and, when known, where its value came
 * from (file:line or --set). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_keys.h"

#define KIB 1024u
#define WAL_RECORD_OVERHEAD_BYTES (4 * KIB) /* record header + a command's framing */

static int verr(const struct aeg_config *c, enum cfg_key_id id, char *err, size_t err_len,
		const char *fmt, ...)
{
	const struct cfg_key *k = &cfg_keys[id];
	uint32_t line = c->origin_line[id];
	int n;
	if (line == UINT32_MAX)
		n = snprintf(err, err_len, "--set %s.%s: ", k->section, k->name);
	else if (line > 0)
		n = snprintf(err, err_len, "%s:%u: %s.%s: ", c->origin_file, line, k->section, k->name);
	else
		n = snprintf(err, err_len, "%s.%s: ", k->section, k->name);
	if (n >= 0 && (size_t)n < err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define FAIL(id, ...) verr(c, id, err, err_len, __VA_ARGS__)

static int check_ranges(const struct aeg_config *c, char *err, size_t err_len)
{
	for (int i = 0; i < CK_COUNT; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (k->type == CT_ENUM) {
			uint64_t v = cfg_key_uint(c, i), n = 0;
			while (k->names[n] != NULL)
				n++;
			if (v >= n)
				return FAIL(i, "invalid value %llu", (unsigned long long)v);
		}
		if (k->type != CT_UINT && k->type != CT_SIZE)
			continue;
		if (i == CK_NODE_ID)
			continue; /* 0 means "not set" */
		uint64_t v = cfg_key_uint(c, i);
		if (v < k->min || v > k->max)
			return FAIL(i, "must be in %llu..%llu, got %llu", (unsigned long long)k->min,
				    (unsigned long long)k->max, (unsigned long long)v);
	}
	return 0;
}

static int check_raft(const struct aeg_config *c, char *err, size_t err_len)
{
	uint32_t tick = c->tick_ms;
	if (c->election_timeout_ms_min >= c->election_timeout_ms_max)
		return FAIL(CK_ELECTION_MIN, "%u must be below raft.election_timeout_max (%u)",
			    c->election_timeout_ms_min, c->election_timeout_ms_max);
	if (c->heartbeat_interval_ms >= c->election_timeout_ms_min)
		return FAIL(CK_HEARTBEAT, "%u must be below raft.election_timeout_min (%u)",
			    c->heartbeat_interval_ms, c->election_timeout_ms_min);
	/* Timeouts are counted in ticks: a remainder would silently change them. */
	static const enum cfg_key_id timed[] = { CK_HEARTBEAT, CK_ELECTION_MIN, CK_ELECTION_MAX };
	for (size_t i = 0; i < sizeof(timed) / sizeof(timed[0]); i++)
		if (cfg_key_uint(c, timed[i]) % tick != 0)
			return FAIL(timed[i], "%llu is not a multiple of raft.tick_ms (%u)",
				    (unsigned long long)cfg_key_uint(c, timed[i]), tick);
	if (c->quiesce_after_ms != 0 && c->quiesce_after_ms < c->heartbeat_interval_ms)
		return FAIL(CK_QUIESCE, "%u must be 0 (never) or at least raft.heartbeat_interval (%u)",
			    c->quiesce_after_ms, c->heartbeat_interval_ms);
	if (c->lease_read && !c->check_quorum)
		return FAIL(CK_LEASE_READ, "needs raft.check_quorum = true (a lease relies on it)");
	if ((c->log_entries_max & (c->log_entries_max - 1)) != 0)
		return FAIL(CK_LOG_ENTRIES, "%u is not a power of two", c->log_entries_max);
	return 0;
}

/* The list strategy's assignments: well-formed, shards that exist, no
 * (key, prefix) twice (quadratic: at most AEG_CONFIG_ASSIGN_MAX, at start). */
static int check_assign(const struct aeg_config *c, char *err, size_t err_len)
{
	for (uint32_t i = 0; i < c->assign_count; i++) {
		const char *key;
		uint32_t len, shard;
		bool prefix;
		if (!aeg_config_assign(c, i, &key, &len, &shard, &prefix))
			return FAIL(CK_ASSIGN, "entry %u: expected \"KEY=SHARD\" or \"PREFIX*=SHARD\"", i + 1);
		if (len > c->key_bytes_max)
			return FAIL(CK_ASSIGN, "entry %u: keys have 1..%u bytes (limits.key_bytes_max)", i + 1,
				    c->key_bytes_max);
		if (shard >= c->shard_count)
			return FAIL(CK_ASSIGN, "entry %u: shard %u, but shard_count is %u", i + 1, shard,
				    c->shard_count);
		for (uint32_t j = 0; j < i; j++) {
			const char *k2;
			uint32_t l2, s2;
			bool p2;
			if (aeg_config_assign(c, j, &k2, &l2, &s2, &p2) && p2 == prefix && l2 == len &&
			    memcmp(k2, key, len) == 0)
				return FAIL(CK_ASSIGN, "entry %u: the same %s as entry %u", i + 1,
					    prefix ? "prefix" : "key", j + 1);
		}
	}
	return 0;
}

static int check_sharding(const struct aeg_config *c, char *err, size_t err_len)
{
	if (c->strategy != AEG_CONFIG_STRATEGY_LIST && c->assign_count != 0)
		return FAIL(CK_ASSIGN, "only for strategy = \"list\"");
	if (c->strategy == AEG_CONFIG_STRATEGY_LIST)
		return c->split_point_count != 0 ? FAIL(CK_SPLIT_POINTS, "only for strategy = \"range\"")
						 : check_assign(c, err, err_len);
	if (c->strategy != AEG_CONFIG_STRATEGY_RANGE) {
		if (c->split_point_count != 0)
			return FAIL(CK_SPLIT_POINTS, "only for strategy = \"range\"");
		return 0;
	}
	if (c->shard_count > AEG_CONFIG_SPLITS_MAX + 1)
		return FAIL(CK_SHARD_COUNT, "at most %u shards with strategy = \"range\", got %u",
			    AEG_CONFIG_SPLITS_MAX + 1, c->shard_count);
	if (c->split_point_count > c->shard_count - 1)
		return FAIL(CK_SPLIT_POINTS, "strategy \"range\" takes at most shard_count - 1 = %u keys, got %u "
			    "(fewer leave spare shards for splits)", c->shard_count - 1, c->split_point_count);
	for (uint32_t i = 0; i < c->split_point_count; i++) {
		const char *s = aeg_config_split_point(c, i);
		size_t n = strlen(s);
		if (n == 0 || n > c->key_bytes_max)
			return FAIL(CK_SPLIT_POINTS, "entry %u: must have 1..%u bytes (limits.key_bytes_max)",
				    i + 1, c->key_bytes_max);
		if (i > 0 && strcmp(aeg_config_split_point(c, i - 1), s) >= 0)
			return FAIL(CK_SPLIT_POINTS, "entry %u: keys must be in ascending order", i + 1);
	}
	return 0;
}

static uint16_t peer_port(const struct aeg_config *c, const struct aeg_config_peer *p)
{
	return p->base_port != 0 ? p->base_port : c->base_port;
}

/* Worker w of a node listens on base + w: two nodes on one address need
 * port ranges that do not overlap. */
static bool ports_overlap(const struct aeg_config *c, uint32_t ip_a, uint16_t a, uint32_t ip_b,
			  uint16_t b)
{
	return ip_a == ip_b && (a > b ? a - b : b - a) < (int)c->workers;
}

static int check_peers(const struct aeg_config *c, char *err, size_t err_len)
{
	for (uint32_t i = 0; i < c->peer_count; i++) {
		const struct aeg_config_peer *p = &c->peers[i];
		if (c->node_id != 0 && p->node == c->node_id)
			return FAIL(CK_PEERS, "entry %u: the node's own id %u", i + 1, p->node);
		if (c->address_given && ports_overlap(c, p->ipv4, peer_port(c, p), c->ipv4, c->base_port))
			return FAIL(CK_PEERS, "entry %u: its ports overlap node.address's (worker w "
				    "listens on port + w, %u workers)", i + 1, c->workers);
		if ((uint32_t)peer_port(c, p) + c->workers - 1 > UINT16_MAX)
			return FAIL(CK_PEERS, "entry %u: port + workers - 1 exceeds 65535", i + 1);
		for (uint32_t j = 0; j < i; j++) {
			const struct aeg_config_peer *q = &c->peers[j];
			if (q->node == p->node)
				return FAIL(CK_PEERS, "entries %u and %u: the same id %u", j + 1, i + 1,
					    p->node);
			if (ports_overlap(c, p->ipv4, peer_port(c, p), q->ipv4, peer_port(c, q)))
				return FAIL(CK_PEERS, "entries %u and %u: overlapping ports (worker w "
					    "listens on port + w, %u workers)", j + 1, i + 1, c->workers);
		}
	}
	return 0;
}

static int check_node(const struct aeg_config *c, char *err, size_t err_len)
{
	if (c->node_id != 0 && !c->address_given)
		return FAIL(CK_ADDRESS, "required when node.id is set");
	if (c->node_id != 0 && !c->join && c->replication_factor > 1 + c->peer_count)
		return FAIL(CK_REPLICATION_FACTOR, "%u is more than the %u nodes (this one and "
			    "node.peers)", c->replication_factor, 1 + c->peer_count);
	if (c->join && c->replication_factor > c->peer_count)
		return FAIL(CK_JOIN, "a joining node's peers are the cluster's members: %u "
			    "listed, fewer than replication_factor %u", c->peer_count, c->replication_factor);
	if (c->join && c->node_id == 0)
		return FAIL(CK_JOIN, "needs node.id");
	if (c->address_given && (uint32_t)c->base_port + c->workers - 1 > UINT16_MAX)
		return FAIL(CK_ADDRESS, "port %u + node.workers - 1 exceeds 65535", c->base_port);
	int r = check_peers(c, err, err_len);
	if (r != 0)
		return r;
	if (c->zone[0] != '\0' && strspn(c->zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
				      strlen(c->zone))
		return FAIL(CK_ZONE, "\"%s\": only letters, digits, '.', '_' and '-'", c->zone);
	if (c->data_dir[0] == '\0')
		return FAIL(CK_DATA_DIR, "must not be empty");
	char path[AEG_CONFIG_SOCKET_PATH_BYTES];
	if (aeg_config_admin_socket_path(c, path, sizeof(path)) != 0)
		return FAIL(c->admin_socket[0] != '\0' ? CK_ADMIN_SOCKET : CK_DATA_DIR,
			    "the admin socket path must be shorter than %u bytes "
			    "(set node.admin_socket)", AEG_CONFIG_SOCKET_PATH_BYTES);
	if (c->transport == AEG_CONFIG_TRANSPORT_DPDK && c->frame_bytes > AEG_CONFIG_FRAME_BYTES_DPDK)
		return FAIL(CK_FRAME_BYTES, "%u needs transport = \"udp\" (a DPDK port's buffers "
			    "hold %u)", c->frame_bytes, AEG_CONFIG_FRAME_BYTES_DPDK);
	if (c->cluster_key_accept_file[0] != '\0' && c->cluster_key_accept_id == c->cluster_key_id)
		return FAIL(CK_CLUSTER_KEY_ACCEPT_ID, "must differ from node.cluster_key_id (%u): frames "
			    "name their key by its id", c->cluster_key_id);
	if (c->cluster_key_accept_file[0] != '\0' &&
	    strcmp(c->cluster_key_accept_file, c->client_key_file) == 0)
		return FAIL(CK_CLUSTER_KEY_ACCEPT_FILE, "must not be node.client_key_file");
	if (c->cluster_key_file[0] != '\0' && strcmp(c->cluster_key_file, c->client_key_file) == 0)
		return FAIL(CK_CLIENT_KEY_FILE, "must not be node.cluster_key_file: a client must "
			    "never hold the cluster key");
	return 0;
}

static int check_membership(const struct aeg_config *c, char *err, size_t err_len)
{
	if (c->down_ms <= c->suspect_ms)
		return FAIL(CK_DOWN, "%u must be above membership.suspect_ms (%u)", c->down_ms, c->suspect_ms);
	if (c->merge_bytes != 0 && (c->split_bytes == 0 || c->merge_bytes >= c->split_bytes / 2))
		return FAIL(CK_MERGE_BYTES, "%llu: under half of sharding.split_bytes (%llu), or a merged range "
			    "would be split again", (unsigned long long)c->merge_bytes, (unsigned long long)c->split_bytes);
	if (c->rebalance_bytes_per_s != 0 && c->rebalance_bytes_per_s < 64 * KIB * c->workers)
		return FAIL(CK_REBALANCE_BYTES, "%llu: 0 (unpaced) or at least 64 KiB (a snapshot chunk) per "
			    "worker (%u)", (unsigned long long)c->rebalance_bytes_per_s, c->workers);
	return 0;
}

static int check_wal(const struct aeg_config *c, char *err, size_t err_len)
{
	if (c->wal_segment_bytes % (4 * KIB) != 0)
		return FAIL(CK_WAL_SEGMENT, "must be a multiple of 4 KiB");
	if (c->wal_batch_bytes_max % (4 * KIB) != 0)
		return FAIL(CK_WAL_BATCH, "must be a multiple of 4 KiB");
	if (c->wal_segment_bytes < 2ull * c->wal_batch_bytes_max)
		return FAIL(CK_WAL_SEGMENT, "must be at least 2 x wal.batch_bytes_max (%u)",
			    c->wal_batch_bytes_max);
	/* The largest write must fit one batch. */
	uint64_t need = (uint64_t)c->value_bytes_max + c->key_bytes_max + WAL_RECORD_OVERHEAD_BYTES;
	if (c->wal_batch_bytes_max < need)
		return FAIL(CK_WAL_BATCH, "%u is too small for limits.value_bytes_max + "
			    "limits.key_bytes_max + %u bytes (%llu)", c->wal_batch_bytes_max,
			    WAL_RECORD_OVERHEAD_BYTES, (unsigned long long)need);
	return 0;
}

int aeg_config_validate(const struct aeg_config *c, char *err, size_t err_len)
{
	assert(c != NULL);
	assert(err != NULL || err_len == 0);
	int r = check_ranges(c, err, err_len);
	if (r == 0)
		r = check_raft(c, err, err_len);
	if (r == 0)
		r = check_sharding(c, err, err_len);
	if (r == 0)
		r = check_node(c, err, err_len);
	if (r == 0)
		r = check_wal(c, err, err_len);
	if (r == 0)
		r = check_membership(c, err, err_len);
	return r;
}

int aeg_config_admin_socket_path(const struct aeg_config *c, char *out, size_t out_len)
{
	int n = c->admin_socket[0] != '\0' ? snprintf(out, out_len, "%s", c->admin_socket)
					   : snprintf(out, out_len, "%s/aegisd.sock", c->data_dir);
	if (n < 0 || (size_t)n >= out_len || (size_t)n >= AEG_CONFIG_SOCKET_PATH_BYTES)
		return -ENAMETOOLONG;
	return 0;
}
