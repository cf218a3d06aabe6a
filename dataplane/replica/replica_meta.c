/* The meta group (issue [G]): the cluster's own records, replicated by
 * Raft on worker 0 of the meta voters (aeg_shard_map_meta_voters). Its
 * state machine is a lib/kv store like any shard's, keyed "node/<id>" ->
 * the node's state name; its applied index is the records' epoch.
 *
 * Who writes: the slow path of every node sends its view of each node's
 * state over the control ring (AEG_REPLICA_CTL_META_STATE); only the meta
 * leader's replica proposes, and only what differs from the record, so the
 * records follow the leader's failure detector and converge after a
 * leadership change. Clients never reach this group: its shard index is
 * beyond the client map's (requests for it get STALE_EPOCH).
 *
 * The worker's control messages (aeg_replica_on_ctl) come in here too: the
 * meta records and an operator's leadership transfer. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/hash.h"
#include "aegis/membership.h"
#include "aegis/msg.h"
#include "ctl_ring.h"
#include "replica_int.h"

#define META_STATE_NONE 0xffu

static int meta_key(uint32_t node, char *key, size_t cap)
{
	int n = snprintf(key, cap, "node/%u", node);
	assert(n > 0 && (size_t)n < cap);
	return n;
}

/* The meta store's record "<prefix><id>": 0 with its value (and the entry
 * that wrote it), or -ENOENT. */
static int record_of(const struct aeg_replica *rp, const char *prefix, uint32_t id, const uint8_t **v,
		     uint32_t *vl, uint64_t *index)
{
	char key[24];
	int kl = snprintf(key, sizeof(key), "%s%u", prefix, id);
	assert(kl > 0 && (size_t)kl < sizeof(key));
	*index = 0;
	return aeg_kv_get(rp->meta->kv, key, (uint32_t)kl, v, vl, index) == 0 ? 0 : -ENOENT;
}

/* The value in lo..max whose name is v, or -1 (a name of a later version). */
static int named(const uint8_t *v, uint32_t vl, const char *(*name)(uint8_t), uint8_t lo, uint8_t max)
{
	for (uint8_t i = lo; i <= max; i++) {
		const char *n = name(i);
		if (strlen(n) == vl && memcmp(n, v, vl) == 0)
			return i;
	}
	return -1;
}

/* The recorded state of node, META_STATE_NONE if none; *index the entry. */
static uint8_t meta_record(const struct aeg_replica *rp, uint32_t node, uint64_t *index)
{
	const uint8_t *v;
	uint32_t vl;
	if (record_of(rp, "node/", node, &v, &vl, index) != 0)
		return META_STATE_NONE;
	int st = named(v, vl, aeg_node_state_name, AEG_NODE_STARTING, AEG_NODE_LEFT);
	return st < 0 ? META_STATE_NONE : (uint8_t)st;
}

/* The "labels/<id>" record: *weight 0 (and zone "") if none parses. */
static void labels_record(const struct aeg_replica *rp, uint32_t node, uint32_t *weight, char *zone)
{
	const uint8_t *v;
	uint32_t vl;
	uint64_t index;
	*weight = 0;
	zone[0] = '\0';
	if (record_of(rp, "labels/", node, &v, &vl, &index) != 0 || vl >= 64)
		return;
	char text[64], z[AEG_REPLICA_ZONE_BYTES] = "";
	unsigned w;
	memcpy(text, v, vl);
	text[vl] = '\0';
	int n = sscanf(text, "weight=%u zone=%31s", &w, z);
	if (n < 1 || w < 1 || w > 10000)
		return;
	*weight = w;
	snprintf(zone, AEG_REPLICA_ZONE_BYTES, "%s", n == 2 ? z : "");
}

int rp_meta_create(struct aeg_replica *rp, struct rp_shard *s, struct aeg_raft_conf *conf)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t voters[AEG_SHARD_META_VOTERS_MAX], n_nodes;
	uint32_t n = aeg_shard_map_meta_voters(m, voters, AEG_SHARD_META_VOTERS_MAX);
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(m, &n_nodes);
	memset(conf, 0, sizeof(*conf));
	for (uint32_t i = 0; i < n; i++) {
		conf->ids[conf->n] = voters[i];
		conf->roles[conf->n++] = AEG_RAFT_MEMBER_VOTER;
	}
	bool member = false;
	for (uint32_t i = 0; i < n_nodes && conf->n < AEG_RAFT_CONF_MAX; i++) {
		bool voter = false;
		for (uint32_t k = 0; k < n; k++)
			voter |= voters[k] == nodes[i].id;
		if (!voter) {
			conf->ids[conf->n] = nodes[i].id;
			conf->roles[conf->n++] = AEG_RAFT_MEMBER_LEARNER;
		}
	}
	for (uint32_t i = 0; i < conf->n; i++)
		member |= conf->ids[i] == rp->cfg.node;
	/* A node that joins (not in the map it was started with): a learner
	 * until the leader's log (or snapshot) brings the config in force. */
	if (!member && aeg_shard_map_node(m, rp->cfg.node) == NULL && conf->n < AEG_RAFT_CONF_MAX) {
		conf->ids[conf->n] = rp->cfg.node;
		conf->roles[conf->n++] = AEG_RAFT_MEMBER_LEARNER;
		member = true;
	}
	if (rp->cfg.worker != 0 || !member)
		return 0;
	uint32_t shard = aeg_shard_map_meta_shard(m);
	s->shard = shard;
	s->group = aeg_shard_group(shard);
	assert(s->group < rp->groups_max);
	rp->meta = s;
	return 1;
}

/* What is asked of the meta group: a record, as key and value text.
 *   node/<id>   -> the node's state name
 *   shard/<i>   -> its voters after a move, "a,b,c" (none: the map's)
 *   rebalance   -> "paused" or "running"
 *   joined      -> the nodes added after the cluster formed,
 *                  "id=A.B.C.D:PORT,..." (PORT: the UDP base port)
 *   labels/<id> -> "weight=N zone=Z" (Z may be empty), from the node's config
 *   state/<i>   -> the shard's state name (aeg_shard_state_name; none: active)
 *   ranges      -> a range map's table after splits (aeg_shard_ranges_encode;
 *                  none: the config's), written on a split's request
 * AEG_MSG_META body (little-endian): u8 kind, then NODE: u32 node, u8
 * state; SHARD: u32 shard, u8 n (1..5), n x u32 voters; REBALANCE: u8
 * paused; JOIN: u32 node, u32 ipv4, u16 port; LABELS: u32 node, u32
 * weight, u8 zone length (0..31), the zone; SHARD_STATE: u32 shard, u8 state;
 * SPLIT: u32 shard, u32 spare, u64 bounds, u16 key length (1..1024), the
 * key; MERGE: u32 shard (its range joins the one before it), u32 that one's
 * shard, u64 bounds (bounds: the hash of the shard's range the copy was
 * made of, aeg_shard_range_hash). */
enum meta_kind { META_NODE = 1, META_SHARD = 2, META_REBALANCE = 3, META_JOIN = 4, META_LABELS = 5,
		 META_SHARD_STATE = 6, META_SPLIT = 7, META_MERGE = 8 };

#define ZONE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

struct meta_req {
	uint8_t kind;
	uint32_t id;          /* node or shard */
	uint8_t state;        /* NODE: enum aeg_node_state; REBALANCE: 1 paused */
	uint8_t n;
	uint32_t voters[5];
	uint32_t ipv4;        /* JOIN */
	uint16_t port;
	uint32_t weight;      /* LABELS */
	char zone[AEG_REPLICA_ZONE_BYTES];
	uint32_t to;          /* SPLIT: the spare, the key; MERGE: the shard before */
	uint64_t bounds;      /* SPLIT, MERGE */
	uint32_t key_len;
	uint8_t key[AEG_REPLICA_SPLIT_KEY_MAX];
};
#define META_MSG_BYTES (19 + AEG_REPLICA_SPLIT_KEY_MAX)  /* the largest body: SPLIT */

#define META_VAL_BYTES (AEG_REPLICA_JOINED_MAX * 32)
_Static_assert(AEG_REPLICA_JOINED_MAX == 16, "the refusal below says 16");

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int meta_encode(const struct meta_req *q, uint8_t *b)
{
	b[0] = q->kind;
	if (q->kind == META_REBALANCE) {
		b[1] = q->state;
		return 2;
	}
	put_u32(b + 1, q->id);
	if (q->kind == META_MERGE) {
		put_u32(b + 5, q->to);
		put_u64(b + 9, q->bounds);
		return 17;
	}
	if (q->kind == META_NODE || q->kind == META_SHARD_STATE) {
		b[5] = q->state;
		return 6;
	}
	if (q->kind == META_LABELS) {
		size_t zl = strlen(q->zone);
		put_u32(b + 5, q->weight);
		b[9] = (uint8_t)zl;
		memcpy(b + 10, q->zone, zl);
		return 10 + (int)zl;
	}
	if (q->kind == META_SPLIT) {
		put_u32(b + 5, q->to);
		put_u64(b + 9, q->bounds);
		b[17] = (uint8_t)q->key_len;
		b[18] = (uint8_t)(q->key_len >> 8);
		memcpy(b + 19, q->key, q->key_len);
		return 19 + (int)q->key_len;
	}
	if (q->kind == META_JOIN) {
		put_u32(b + 5, q->ipv4);
		b[9] = (uint8_t)q->port;
		b[10] = (uint8_t)(q->port >> 8);
		return 11;
	}
	b[5] = q->n;
	for (uint32_t i = 0; i < q->n; i++)
		put_u32(b + 6 + 4 * i, q->voters[i]);
	return 6 + 4 * q->n;
}

static int meta_decode(struct meta_req *q, const uint8_t *b, uint32_t len)
{
	memset(q, 0, sizeof(*q));
	if (len < 2)
		return -EINVAL;
	q->kind = b[0];
	if (q->kind == META_REBALANCE)
		return len == 2 && b[1] <= 1 ? (q->state = b[1], 0) : -EINVAL;
	if (len < 5)
		return -EINVAL;
	q->id = get_u32(b + 1);
	if (q->kind == META_MERGE) {
		if (len != 17)
			return -EINVAL;
		q->to = get_u32(b + 5);
		q->bounds = get_u64(b + 9);
		return q->to != q->id ? 0 : -EINVAL;
	}
	if (len < 6)
		return -EINVAL;
	if (q->kind == META_NODE)
		return len == 6 && b[5] <= AEG_NODE_LEFT && q->id != 0 ? (q->state = b[5], 0) : -EINVAL;
	if (q->kind == META_SHARD_STATE)
		return len == 6 && b[5] <= AEG_SHARD_STATE_MAX ? (q->state = b[5], 0) : -EINVAL;
	if (q->kind == META_LABELS) {
		if (len < 10 || b[9] >= AEG_REPLICA_ZONE_BYTES || len != 10u + b[9])
			return -EINVAL;
		q->weight = get_u32(b + 5);
		memcpy(q->zone, b + 10, b[9]);
		return q->id != 0 && q->weight >= 1 && q->weight <= 10000 && strspn(q->zone, ZONE_CHARS) == b[9]
			       ? 0 : -EINVAL;
	}
	if (q->kind == META_SPLIT) {
		if (len < 20)
			return -EINVAL;
		q->to = get_u32(b + 5);
		q->bounds = get_u64(b + 9);
		q->key_len = (uint32_t)(b[17] | b[18] << 8);
		if (q->key_len == 0 || q->key_len > AEG_REPLICA_SPLIT_KEY_MAX || len != 19 + q->key_len || q->to == q->id)
			return -EINVAL;
		memcpy(q->key, b + 19, q->key_len);
		return 0;
	}
	if (q->kind == META_JOIN) {
		if (len != 11)
			return -EINVAL;
		q->ipv4 = get_u32(b + 5);
		q->port = (uint16_t)(b[9] | b[10] << 8);
		return q->id != 0 && q->ipv4 != 0 && q->port != 0 ? 0 : -EINVAL;
	}
	if (q->kind != META_SHARD || b[5] == 0 || b[5] > 5 || len != 6 + 4u * b[5])
		return -EINVAL;
	q->n = b[5];
	for (uint32_t i = 0; i < q->n; i++) {
		q->voters[i] = get_u32(b + 6 + 4 * i);
		if (q->voters[i] == 0)
			return -EINVAL;
	}
	return 0;
}

/* The "joined" record's nodes (entries that do not parse are skipped). */
static uint32_t joined_parse(const struct aeg_kv *kv, struct aeg_replica_joined *out, uint64_t *index)
{
	const uint8_t *v;
	uint32_t vl;
	*index = 0;
	if (aeg_kv_get(kv, "joined", 6, &v, &vl, index) != 0)
		return 0;
	char text[META_VAL_BYTES + 1];
	size_t len = vl < META_VAL_BYTES ? vl : META_VAL_BYTES;
	memcpy(text, v, len);
	text[len] = '\0';
	uint32_t k = 0;
	char *save = NULL;
	for (char *tok = strtok_r(text, ",", &save); tok != NULL && k < AEG_REPLICA_JOINED_MAX;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned id, a, b, c, d, port;
		char tail;
		if (sscanf(tok, "%u=%u.%u.%u.%u:%u%c", &id, &a, &b, &c, &d, &port, &tail) != 6 || id == 0 ||
		    a > 255 || b > 255 || c > 255 || d > 255 || port == 0 || port > UINT16_MAX)
			continue;
		out[k++] = (struct aeg_replica_joined){ .node = id, .ipv4 = a << 24 | b << 16 | c << 8 | d,
							.port = (uint16_t)port };
	}
	return k;
}

static bool ports_overlap(uint32_t ip1, uint32_t p1, uint32_t ip2, uint32_t p2, uint32_t workers)
{
	return ip1 == ip2 && p1 < p2 + workers && p2 < p1 + workers;
}

/* The leader's "joined" value with q's node added: 1 (the value is in
 * val), 0 (it is there already), or a negative errno: refused (logged)
 * or -EAGAIN (an earlier add is not applied yet: asked again later). */
static int join_value(struct aeg_replica *rp, const struct meta_req *q, char *val, int *vl)
{
	struct aeg_replica_joined j[AEG_REPLICA_JOINED_MAX];
	uint64_t index;
	uint32_t n = joined_parse(rp->meta->kv, j, &index), workers = aeg_shard_map_workers(rp->cfg.map), n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(rp->cfg.map, &n_nodes);
	if (rp->meta_join_index > aeg_kv_applied(rp->meta->kv))
		return -EAGAIN;
	const char *why = NULL;
	for (uint32_t i = 0; i < n; i++) {
		if (j[i].node == q->id)
			return j[i].ipv4 == q->ipv4 && j[i].port == q->port ? 0 : (why = "it joined with another address", -EEXIST);
		if (ports_overlap(j[i].ipv4, j[i].port, q->ipv4, q->port, workers))
			why = "its address is a joined node's";
	}
	for (uint32_t i = 0; i < n_nodes && why == NULL; i++) {
		if (nodes[i].id == q->id)
			why = "the id is a node's of the cluster already";
		else if (ports_overlap(nodes[i].ipv4, nodes[i].udp_port_base, q->ipv4, q->port, workers))
			why = "its address is a node's of the cluster";
	}
	if (why == NULL && n >= AEG_REPLICA_JOINED_MAX)
		why = "no room: 16 nodes joined already";
	if (why != NULL) {
		rp_log(rp, "meta: node %u not added: %s", q->id, why);
		return -EINVAL;
	}
	j[n++] = (struct aeg_replica_joined){ .node = q->id, .ipv4 = q->ipv4, .port = q->port };
	*vl = 0;
	for (uint32_t i = 0; i < n; i++)
		*vl += snprintf(val + *vl, (size_t)(META_VAL_BYTES - *vl), "%s%u=%u.%u.%u.%u:%u", i ? "," : "",
				j[i].node, j[i].ipv4 >> 24, (j[i].ipv4 >> 16) & 255, (j[i].ipv4 >> 8) & 255,
				j[i].ipv4 & 255, j[i].port);
	assert(*vl > 0 && *vl < META_VAL_BYTES);
	return 1;
}

/* Key and value text of a request (not JOIN: join_value). */
static void meta_kv(const struct meta_req *q, char *key, int *kl, char *val, int *vl)
{
	if (q->kind == META_NODE) {
		*kl = meta_key(q->id, key, 24);
		*vl = snprintf(val, META_VAL_BYTES, "%s", aeg_node_state_name(q->state));
	} else if (q->kind == META_SHARD_STATE) {
		*kl = snprintf(key, 24, "state/%u", q->id);
		*vl = snprintf(val, META_VAL_BYTES, "%s", aeg_shard_state_name(q->state));
	} else if (q->kind == META_LABELS) {
		*kl = snprintf(key, 24, "labels/%u", q->id);
		*vl = snprintf(val, META_VAL_BYTES, "weight=%u zone=%s", q->weight, q->zone);
	} else if (q->kind == META_SHARD) {
		*kl = snprintf(key, 24, "shard/%u", q->id);
		*vl = 0;
		for (uint32_t i = 0; i < q->n; i++)
			*vl += snprintf(val + *vl, (size_t)(META_VAL_BYTES - *vl), "%s%u", i ? "," : "", q->voters[i]);
	} else {
		*kl = snprintf(key, 24, "rebalance");
		*vl = snprintf(val, META_VAL_BYTES, "%s", q->state ? "paused" : "running");
	}
}

/* An operator's request (or a move's result) reaches the meta leader
 * wherever it was made: a worker that does not lead the meta group sends
 * it to every other meta voter, and the one that leads records it (the
 * others drop it). */
static void meta_forward(struct aeg_replica *rp, const struct meta_req *q)
{
	/* The voters the cluster formed with and those of the meta group's
	 * config as this replica has it (voters replaced since, rp_meta_tick):
	 * a lagging config still reaches the founders. */
	uint32_t to[AEG_SHARD_META_VOTERS_MAX + AEG_RAFT_CONF_MAX];
	uint32_t n = aeg_shard_map_meta_voters(rp->cfg.map, to, AEG_SHARD_META_VOTERS_MAX);
	if (rp->meta != NULL) {
		struct aeg_raft_conf conf;
		aeg_raft_conf_get(aeg_gd_raft(rp->gd, rp->meta->group), &conf);
		for (uint32_t i = 0; i < conf.n; i++) {
			bool seen = !(conf.roles[i] & (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT));
			for (uint32_t k = 0; k < n && !seen; k++)
				seen = to[k] == conf.ids[i];
			if (!seen)
				to[n++] = conf.ids[i];
		}
	}
	uint8_t body[META_MSG_BYTES];
	int len = meta_encode(q, body);
	assert(len > 0 && len <= (int)sizeof(body));
	for (uint32_t i = 0; i < n; i++)
		if (to[i] != rp->cfg.node && rp_send(rp, to[i], AEG_MSG_META, 0, body, (uint32_t)len) == 0)
			rp->meta_forwarded++;
}

/* The leader's "ranges" value after q's split into rp->meta_ranges: its
 * length, 0 (recorded already) or a negative errno (refused: logged). */
static int split_value(struct aeg_replica *rp, const struct meta_req *q)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t count = aeg_shard_map_shard_count(m);
	if (aeg_shard_map_strategy(m) != AEG_SHARD_RANGE || q->id >= count || q->to >= count)
		return -EINVAL;
	if (rp->meta_ranges == NULL && (rp->meta_ranges = malloc(2 * AEG_REPLICA_RANGES_BYTES_MAX + 2048)) == NULL)
		return -ENOMEM;
	struct aeg_shard_range *cur = calloc(count + 1, sizeof(*cur)), *out = calloc(count + 2, sizeof(*out));
	int rc = cur == NULL || out == NULL ? -ENOMEM : 0;
	uint32_t n = 0;
	const uint8_t *v;
	uint32_t vl;
	uint64_t index;
	/* The table on record (none yet: the map's, which is the config's). */
	if (rc == 0 && aeg_kv_get(rp->meta->kv, "ranges", 6, &v, &vl, &index) == 0)
		rc = aeg_shard_ranges_decode(v, vl, cur, count, &n);
	else if (rc == 0)
		n = aeg_shard_map_ranges(m, cur, count);
	uint32_t into = 0;
	if (rc == 0 && q->kind == META_MERGE)
		rc = aeg_shard_ranges_merge(cur, n, q->id, &into, out, n);
	else if (rc == 0)
		rc = aeg_shard_ranges_split(cur, n, q->id, q->to, q->key, q->key_len, out, n + 1);
	/* Only over the very range the copy was made of (and, merging, into
	 * the shard that took the copy): any other split or merge recorded
	 * since makes the copy wrong. */
	uint32_t k = 0;
	while (rc == 0 && k < n && cur[k].shard != q->id)
		k++;
	if (rc == 0 && (k == n || aeg_shard_ranges_hash_of(cur, n, k) != q->bounds ||
			(q->kind == META_MERGE && into != q->to)))
		rc = -ESTALE;
	if (rc == 0)
		rc = aeg_shard_ranges_encode(out, q->kind == META_MERGE ? n - 1 : n + 1, rp->meta_ranges,
					     AEG_REPLICA_RANGES_BYTES_MAX);
	free(cur);
	free(out);
	if (rc == -EALREADY)
		return 0;
	if (rc == -ESTALE)
		rp_log(rp, "meta: %s of shard %u not recorded: the ranges changed since its copy (another split or "
		       "merge came first)", q->kind == META_MERGE ? "merge" : "split", q->id);
	else if (rc < 0 && q->kind == META_MERGE)
		rp_log(rp, "meta: merge of shard %u not recorded: %s", q->id,
		       rc == -EINVAL ? "its range is the first" : strerror(-rc));
	else if (rc < 0)
		rp_log(rp, "meta: split of shard %u into shard %u not recorded: %s", q->id, q->to,
		       rc == -EINVAL ? "the key is not inside the shard's range, or the spare has a range"
		       : rc == -EMSGSIZE ? "the range table would be over 64 KiB" : strerror(-rc));
	return rc;
}

static void meta_request(struct aeg_replica *rp, const struct meta_req *q, bool forward)
{
	struct rp_shard *s = rp->meta;
	struct aeg_raft_status rs;
	if (s != NULL)
		aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
	if (s == NULL || rs.role != AEG_RAFT_LEADER) {
		if (forward && rp->cfg.worker == 0)
			meta_forward(rp, q);
		else
			rp->meta_dropped++;  /* not ours to write */
		return;
	}
	char key[24], val[META_VAL_BYTES];
	int kl, vl;
	const char *valp = val;
	if (q->kind == META_JOIN) {
		kl = snprintf(key, sizeof(key), "joined");
		if (join_value(rp, q, val, &vl) != 1) {
			rp->meta_dropped++;
			return;
		}
	} else if (q->kind == META_SPLIT || q->kind == META_MERGE) {
		kl = snprintf(key, sizeof(key), "ranges");
		if ((vl = split_value(rp, q)) <= 0) {
			rp->meta_dropped++;
			return;
		}
		valp = (const char *)rp->meta_ranges;
	} else {
		meta_kv(q, key, &kl, val, &vl);
	}
	/* Only what differs: from the newest proposal of this key in this term
	 * not yet applied, else from the record. */
	uint64_t kh = aeg_hash_key(key, (size_t)kl, 0), vh = aeg_hash_key(valp, (size_t)vl, 0);
	const uint8_t *v;
	uint32_t len;
	uint64_t index, newest = 0;
	int pending = -1;
	for (uint32_t i = 0; i < RP_META_PROPS; i++)
		if (rp->meta_props[i].key_hash == kh && rp->meta_props[i].term == rs.term &&
		    rp->meta_props[i].index > aeg_kv_applied(s->kv) && rp->meta_props[i].index > newest) {
			newest = rp->meta_props[i].index;
			pending = (int)i;
		}
	if (pending >= 0 ? rp->meta_props[pending].val_hash == vh
			 : aeg_kv_get(s->kv, key, (uint32_t)kl, &v, &len, &index) == 0 && len == (uint32_t)vl &&
				   memcmp(v, valp, len) == 0)
		return;
	struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = key, .key_len = (uint32_t)kl, .value = valp,
				.value_len = (uint32_t)vl, .time_ms = rp->wall_ms };
	uint8_t small[META_VAL_BYTES + 96];
	bool ranges = q->kind == META_SPLIT || q->kind == META_MERGE;
	uint8_t *buf = ranges ? rp->meta_ranges + AEG_REPLICA_RANGES_BYTES_MAX : small;
	int n = aeg_kv_cmd_encode(&c, buf, ranges ? AEG_REPLICA_RANGES_BYTES_MAX + 2048 : sizeof(small));
	assert(n > 0);
	struct aeg_raft_payload p = { .data = buf, .len = (uint32_t)n };
	uint64_t first = 0;
	int rc = aeg_gd_propose(rp->gd, s->group, &p, 1, &first);
	if (rc != 0) {
		rp->meta_dropped++;
		return;
	}
	rp->meta_proposed++;
	rp->meta_props[rp->meta_props_next++ % RP_META_PROPS] =
		(struct rp_meta_prop){ .key_hash = kh, .val_hash = vh, .index = first, .term = rs.term };
	if (q->kind == META_JOIN)
		rp->meta_join_index = first;
	if (q->kind == META_MERGE)
		rp_log(rp, "meta: recording ranges: shard %u's range joins the one before it (index %llu)", q->id,
		       (unsigned long long)first);
	else if (q->kind == META_SPLIT)
		rp_log(rp, "meta: recording ranges: shard %u split at a %u-byte key, the upper part on shard %u (index %llu)",
		       q->id, q->key_len, q->to, (unsigned long long)first);
	else
		rp_log(rp, "meta: recording %.*s = %.*s (index %llu)", kl, key, vl, val, (unsigned long long)first);
}

/* An operator's leadership transfer (aegisctl leader transfer). */
static void leader_transfer(struct aeg_replica *rp, uint64_t shard, uint64_t to)
{
	struct rp_shard *s = shard < UINT32_MAX ? rp_shard_of(rp, aeg_shard_group((uint32_t)shard)) : NULL;
	if (s == NULL || to == 0 || to > UINT32_MAX) {
		rp_log(rp, "leader transfer of shard %llu to node %llu: no such shard or node here",
		       (unsigned long long)shard, (unsigned long long)to);
		return;
	}
	int rc = aeg_raft_transfer_leader(aeg_gd_raft(rp->gd, s->group), (uint32_t)to);
	aeg_gd_touch(rp->gd, s->group);
	rp_log(rp, "leader transfer of shard %llu (group %u) to node %llu: %s", (unsigned long long)shard, s->group,
	       (unsigned long long)to, rc == 0 ? "started" : strerror(-rc));
}

void aeg_replica_on_ctl(void *arg, struct aeg_worker *w, const struct aeg_ctl_msg *m)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	struct meta_req q = { 0 };
	switch (m->type) {
	case AEG_REPLICA_CTL_LEADER_TRANSFER:
		leader_transfer(rp, m->arg[0], m->arg[1]);
		return;
	case AEG_REPLICA_CTL_SHARD_MOVE:
		rp_place_move(rp, m->arg[0], m->arg[1], m->arg[2], false);
		return;
	case AEG_REPLICA_CTL_SHARD_MOVE_ASK:
		rp_place_move_ask(rp, m->arg);
		return;
	case AEG_REPLICA_CTL_DROP_ORPHAN:
		rp_place_drop_orphan(rp, m->arg[0]);
		return;
	case AEG_REPLICA_CTL_SPLIT:
	case AEG_REPLICA_CTL_MERGE:
		rp_split_start(rp, m, m->type == AEG_REPLICA_CTL_MERGE);
		return;
	case AEG_REPLICA_CTL_META_MERGE:
		if (m->arg[0] >= aeg_shard_map_shard_count(rp->cfg.map) || m->arg[1] >= aeg_shard_map_shard_count(rp->cfg.map))
			break;
		q = (struct meta_req){ .kind = META_MERGE, .id = (uint32_t)m->arg[0], .to = (uint32_t)m->arg[1],
				       .bounds = m->arg[2] };
		meta_request(rp, &q, true);
		return;
	case AEG_REPLICA_CTL_JOIN_ASK:
		rp_join_ask(rp);
		return;
	case AEG_REPLICA_CTL_META_DEAD:
		for (uint32_t i = 0; i < 7; i++)
			rp->meta_dead[i] = m->arg[i] <= UINT32_MAX ? (uint32_t)m->arg[i] : 0;
		rp->meta_dead_ms = rp->now_ms;
		return;
	case AEG_REPLICA_CTL_META_STATE:
		if (m->arg[1] > AEG_NODE_LEFT || m->arg[0] == 0 || m->arg[0] > UINT32_MAX)
			break;
		q = (struct meta_req){ .kind = META_NODE, .id = (uint32_t)m->arg[0], .state = (uint8_t)m->arg[1] };
		meta_request(rp, &q, m->arg[2] != 0);
		return;
	case AEG_REPLICA_CTL_META_SHARD:
		if (m->arg[0] >= aeg_shard_map_shard_count(rp->cfg.map) || m->arg[1] == 0 || m->arg[1] > 5)
			break;
		q = (struct meta_req){ .kind = META_SHARD, .id = (uint32_t)m->arg[0], .n = (uint8_t)m->arg[1] };
		for (uint32_t i = 0; i < q.n; i++)
			q.voters[i] = (uint32_t)m->arg[2 + i];
		meta_request(rp, &q, true);
		return;
	case AEG_REPLICA_CTL_META_JOIN:
		if (m->arg[0] == 0 || m->arg[0] > UINT32_MAX || m->arg[1] == 0 || m->arg[1] > UINT32_MAX ||
		    m->arg[2] == 0 || m->arg[2] > UINT16_MAX)
			break;
		q = (struct meta_req){ .kind = META_JOIN, .id = (uint32_t)m->arg[0], .ipv4 = (uint32_t)m->arg[1],
				       .port = (uint16_t)m->arg[2] };
		meta_request(rp, &q, true);
		return;
	case AEG_REPLICA_CTL_META_LABELS: {
		char zone[AEG_REPLICA_ZONE_BYTES];
		memcpy(zone, &m->arg[2], sizeof(zone));
		zone[sizeof(zone) - 1] = '\0';
		if (m->arg[0] == 0 || m->arg[0] > UINT32_MAX || m->arg[1] < 1 || m->arg[1] > 10000 ||
		    strspn(zone, ZONE_CHARS) != strlen(zone))
			break;
		q = (struct meta_req){ .kind = META_LABELS, .id = (uint32_t)m->arg[0], .weight = (uint32_t)m->arg[1] };
		memcpy(q.zone, zone, sizeof(zone));
		meta_request(rp, &q, true);
		return;
	}
	case AEG_REPLICA_CTL_META_SHARD_STATE:
		if (m->arg[0] >= aeg_shard_map_shard_count(rp->cfg.map) || m->arg[1] > AEG_SHARD_STATE_MAX)
			break;
		q = (struct meta_req){ .kind = META_SHARD_STATE, .id = (uint32_t)m->arg[0], .state = (uint8_t)m->arg[1] };
		meta_request(rp, &q, true);
		return;
	case AEG_REPLICA_CTL_META_SPLIT: {
		uint8_t *key = (uint8_t *)(uintptr_t)m->arg[2];
		bool ok = key != NULL && m->arg[3] >= 1 && m->arg[3] <= AEG_REPLICA_SPLIT_KEY_MAX &&
			  m->arg[0] < aeg_shard_map_shard_count(rp->cfg.map) &&
			  m->arg[1] < aeg_shard_map_shard_count(rp->cfg.map) && m->arg[0] != m->arg[1];
		if (ok) {
			static __thread struct meta_req split;  /* 1 KiB: off the stack */
			split = (struct meta_req){ .kind = META_SPLIT, .id = (uint32_t)m->arg[0], .to = (uint32_t)m->arg[1],
						   .key_len = (uint32_t)m->arg[3], .bounds = m->arg[4] };
			memcpy(split.key, key, split.key_len);
			meta_request(rp, &split, true);
		}
		free(key);
		if (ok)
			return;
		break;
	}
	case AEG_REPLICA_CTL_META_REBALANCE:
		q = (struct meta_req){ .kind = META_REBALANCE, .state = m->arg[0] != 0 };
		meta_request(rp, &q, true);
		return;
	case AEG_REPLICA_CTL_MAP_SET: {
		const struct aeg_shard_map *map = (const struct aeg_shard_map *)(uintptr_t)m->arg[0];
		if (map == NULL || aeg_shard_map_shard_count(map) != aeg_shard_map_shard_count(rp->cfg.map))
			break;
		rp_log(rp, "routing by the map of epoch %llu (was %llu)", (unsigned long long)aeg_shard_map_epoch(map),
		       (unsigned long long)aeg_shard_map_epoch(rp->cfg.map));
		rp->cfg.map = map;
		rp->map_bytes = (uint8_t *)(uintptr_t)m->arg[1];
		rp->map_len = (size_t)m->arg[2];
		rp_peers_from_map(rp);
		return;
	}
	default:
		break;
	}
	rp->meta_dropped++;
}

void rp_meta_on_msg(struct aeg_replica *rp, uint32_t src_node, const uint8_t *body, uint32_t len)
{
	(void)src_node;  /* a cluster frame: authenticated by the cluster key */
	struct meta_req q;
	if (meta_decode(&q, body, len) != 0 ||
	    ((q.kind == META_NODE || q.kind == META_LABELS) && aeg_shard_map_node(rp->cfg.map, q.id) == NULL) ||
	    ((q.kind == META_SHARD || q.kind == META_SHARD_STATE || q.kind == META_SPLIT || q.kind == META_MERGE) &&
	     q.id >= aeg_shard_map_shard_count(rp->cfg.map)) ||
	    (q.kind == META_SPLIT && q.to >= aeg_shard_map_shard_count(rp->cfg.map))) {
		rp->st.raft_bad++;
		return;
	}
	meta_request(rp, &q, false);
}

/* The "state/<i>" record of shard sh (ACTIVE without one). */
static uint32_t shard_state_record(const struct aeg_replica *rp, uint32_t sh)
{
	const uint8_t *v;
	uint32_t vl;
	uint64_t index;
	if (record_of(rp, "state/", sh, &v, &vl, &index) != 0)
		return AEG_SHARD_ACTIVE;
	int st = named(v, vl, aeg_shard_state_name, 0, AEG_SHARD_STATE_MAX);
	return st < 0 ? AEG_SHARD_ACTIVE : (uint32_t)st;  /* a state of a later version: active */
}

/* The placement the records give: the map's replicas, then each
 * "shard/<i>" record over them (a record of another size is ignored). */
static void place_rebuild(struct aeg_replica *rp)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t count = aeg_shard_map_shard_count(m), rf = aeg_shard_map_replication_factor(m);
	rp->meta_shards_recorded = 0;
	rp->meta_shards_migrating = 0;
	rp->meta_place_index = 0;
	uint32_t *states = rp->meta_place + (size_t)count * rf;
	for (uint32_t sh = 0; sh < count; sh++) {
		uint32_t st = shard_state_record(rp, sh);
		states[sh] = st;
		rp->meta_shards_migrating += st == AEG_SHARD_MIGRATING;
	}
	for (uint32_t sh = 0; sh < count; sh++) {
		uint32_t n;
		const uint32_t *reps = aeg_shard_replicas(m, sh, &n);
		uint32_t *out = rp->meta_place + (size_t)sh * rf;
		memcpy(out, reps, rf * sizeof(*out));
		char key[24];
		int kl = snprintf(key, sizeof(key), "shard/%u", sh);
		const uint8_t *v;
		uint32_t vl;
		uint64_t index;
		if (aeg_kv_get(rp->meta->kv, key, (uint32_t)kl, &v, &vl, &index) != 0)
			continue;
		char text[64];
		uint32_t ids[5], k = 0;
		snprintf(text, sizeof(text), "%.*s", (int)(vl < 63 ? vl : 63), (const char *)v);
		for (char *p = text, *end; *p != '\0' && k < 5; p = *end == ',' ? end + 1 : end) {
			unsigned long id = strtoul(p, &end, 10);
			if (end == p || id == 0 || id > UINT32_MAX)
				break;
			ids[k++] = (uint32_t)id;
		}
		if (k != rf)
			continue;
		memcpy(out, ids, rf * sizeof(*out));
		rp->meta_shards_recorded++;
		if (index > rp->meta_place_index)
			rp->meta_place_index = index;
	}
	rp->meta_n_joined = joined_parse(rp->meta->kv, rp->meta_joined, &rp->meta_joined_index);
	uint64_t idx;
	const uint8_t *v;
	uint32_t vl;
	rp->meta_paused = aeg_kv_get(rp->meta->kv, "rebalance", 9, &v, &vl, &idx) == 0 && vl == 6 &&
			  memcmp(v, "paused", 6) == 0;
}

void rp_meta_place_publish(struct aeg_replica *rp, int slot)
{
	if (rp->meta == NULL)
		return;
	const struct aeg_shard_map *m = rp->cfg.map;
	/* the placement, then each shard's state */
	size_t n = (size_t)aeg_shard_map_shard_count(m) * (aeg_shard_map_replication_factor(m) + 1);
	if (rp->meta_place == NULL && (rp->meta_place = calloc(n, sizeof(uint32_t))) == NULL)
		return;
	if (rp->pub_place[slot] == NULL && (rp->pub_place[slot] = calloc(n, sizeof(uint32_t))) == NULL)
		return;
	uint64_t epoch = aeg_kv_applied(rp->meta->kv);
	if (epoch != rp->meta_place_epoch || epoch == 0) {
		place_rebuild(rp);
		rp->meta_place_epoch = epoch;
	}
	memcpy(rp->pub_place[slot], rp->meta_place, n * sizeof(uint32_t));
	rp->pub_place_epoch[slot] = epoch ? epoch : 1;
	/* The "ranges" record, for the map the node routes by. */
	const uint8_t *v;
	uint32_t vl;
	uint64_t index;
	rp->pub_ranges_index[slot] = 0;
	if (aeg_kv_get(rp->meta->kv, "ranges", 6, &v, &vl, &index) != 0 || vl > AEG_REPLICA_RANGES_BYTES_MAX)
		return;
	if (rp->pub_ranges[slot] == NULL && (rp->pub_ranges[slot] = malloc(AEG_REPLICA_RANGES_BYTES_MAX)) == NULL)
		return;
	memcpy(rp->pub_ranges[slot], v, vl);
	rp->pub_ranges_len[slot] = vl;
	rp->pub_ranges_index[slot] = index;
}

void rp_meta_publish(struct aeg_replica *rp, struct aeg_replica_meta_status *out)
{
	memset(out, 0, sizeof(*out));
	out->proposed = rp->meta_proposed;
	out->dropped = rp->meta_dropped;
	out->forwarded = rp->meta_forwarded;
	if (rp->meta == NULL)
		return;
	struct aeg_raft_status rs;
	aeg_raft_status(aeg_gd_raft(rp->gd, rp->meta->group), &rs);
	out->here = true;
	out->role = (uint8_t)rs.role;
	out->lead = rs.lead;
	out->term = rs.term;
	out->epoch = rs.applied;
	out->rebalance_paused = rp->meta_paused;
	out->shards_recorded = rp->meta_shards_recorded;
	out->shards_migrating = rp->meta_shards_migrating;
	out->shard_state_changes = rp->meta_state_changes;
	out->place_index = rp->meta_place_index;
	{
		const uint8_t *v;
		uint32_t vl;
		if (aeg_kv_get(rp->meta->kv, "ranges", 6, &v, &vl, &out->ranges_index) != 0)
			out->ranges_index = 0;
	}
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(aeg_gd_raft(rp->gd, rp->meta->group), &conf);
	for (uint32_t i = 0; i < conf.n && out->n_voters < AEG_REPLICA_META_VOTERS_MAX; i++)
		if (conf.roles[i] & (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT))
			out->voters[out->n_voters++] = conf.ids[i];
	out->n_joined = rp->meta_n_joined;
	out->joined_index = rp->meta_joined_index;
	memcpy(out->joined, rp->meta_joined, sizeof(out->joined));
	uint32_t n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(rp->cfg.map, &n_nodes);
	for (uint32_t i = 0; i < n_nodes && out->n_nodes < AEG_REPLICA_META_NODES_MAX; i++) {
		uint64_t index;
		uint8_t st = meta_record(rp, nodes[i].id, &index);
		out->nodes[out->n_nodes].node = nodes[i].id;
		out->nodes[out->n_nodes].state = st;
		out->nodes[out->n_nodes].index = index;
		labels_record(rp, nodes[i].id, &out->nodes[out->n_nodes].weight, out->nodes[out->n_nodes].zone);
		out->n_nodes++;
	}
}

/* A meta voter on a node recorded LEAVING or LEFT hands its vote to a
 * learner on a HEALTHY node that has the whole log (the lowest id): one
 * config change (joint consensus: both majorities until it is in), the old
 * voter stays a learner (its node keeps the records). 1 if proposed. */
/* DOWN for rereplicate_ms as the meta leader's node sees it (META_DEAD). */
static bool dead(const struct aeg_replica *rp, uint32_t id)
{
	if (rp->meta_dead_ms == 0 || rp->now_ms - rp->meta_dead_ms > RP_META_DEAD_MS)
		return false;
	for (uint32_t i = 0; i < 7; i++)
		if (rp->meta_dead[i] == id)
			return true;
	return false;
}

static int voter_replace(struct aeg_replica *rp, struct aeg_raft *r, const struct aeg_raft_status *rs,
			 struct aeg_raft_conf *conf)
{
	uint64_t idx;
	int out = -1, in = -1;
	for (uint32_t i = 0; i < conf->n; i++) {
		if (conf->roles[i] & AEG_RAFT_MEMBER_VOTER_OUT)
			return 0;  /* joint: the change under way first */
		uint8_t st = meta_record(rp, conf->ids[i], &idx);
		if (conf->roles[i] == AEG_RAFT_MEMBER_VOTER && out < 0 &&
		    (st == AEG_NODE_LEAVING || st == AEG_NODE_LEFT || dead(rp, conf->ids[i])))
			out = (int)i;
		const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, conf->ids[i]);
		if (conf->roles[i] == AEG_RAFT_MEMBER_LEARNER && st == AEG_NODE_HEALTHY && pr != NULL &&
		    pr->match >= rs->commit && (in < 0 || conf->ids[i] < conf->ids[in]))
			in = (int)i;
	}
	if (out < 0 || in < 0)
		return 0;
	uint32_t gone = conf->ids[out], comes = conf->ids[in];
	conf->roles[out] = AEG_RAFT_MEMBER_LEARNER;
	conf->roles[in] = AEG_RAFT_MEMBER_VOTER;
	int rc = aeg_raft_propose_conf(r, conf);
	aeg_gd_touch(rp->gd, rp->meta->group);
	if (rc == 0)
		rp_log(rp, "meta: node %u's vote in the meta group goes to node %u (node %u is %s)", gone, comes, gone,
		       dead(rp, gone) ? "down for membership.rereplicate_ms" : aeg_node_state_name(meta_record(rp, gone, &idx)));
	return rc == 0;
}

void rp_meta_tick(struct aeg_replica *rp)
{
	/* Every 100 ms, not every loop iteration (it looks records up). */
	if (rp->meta == NULL || rp->now_ms - rp->meta_tick_ms < 100 || rp->now_ms - rp->meta_learner_ms < 100)
		return;
	rp->meta_tick_ms = rp->now_ms;
	struct aeg_raft *r = aeg_gd_raft(rp->gd, rp->meta->group);
	struct aeg_raft_status rs;
	aeg_raft_status(r, &rs);
	if (rs.role != AEG_RAFT_LEADER)
		return;
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(r, &conf);
	if (voter_replace(rp, r, &rs, &conf) == 1) {
		rp->meta_learner_ms = rp->now_ms;
		return;
	}
	aeg_raft_conf_get(r, &conf);
	for (uint32_t i = 0; i < rp->meta_n_joined; i++) {
		uint32_t id = rp->meta_joined[i].node;
		if (aeg_raft_conf_role(&conf, id) != 0 || conf.n >= AEG_RAFT_CONF_MAX)
			continue;
		conf.ids[conf.n] = id;
		conf.roles[conf.n++] = AEG_RAFT_MEMBER_LEARNER;
		int rc = aeg_raft_propose_conf(r, &conf);
		aeg_gd_touch(rp->gd, rp->meta->group);
		rp->meta_learner_ms = rp->now_ms;
		if (rc == 0)
			rp_log(rp, "meta: node %u joins the meta group as a learner", id);
		return;  /* one change at a time */
	}
}

void rp_meta_applied(struct aeg_replica *rp, const uint8_t *cmd, uint32_t len)
{
	struct aeg_kv_cmd c;
	if (aeg_kv_cmd_decode(&c, cmd, len) == 0 && c.op == AEG_KV_PUT && c.key_len > 6 &&
	    memcmp(c.key, "state/", 6) == 0)
		rp->meta_state_changes++;  /* the leader writes a state only when it differs */
}
