/* aegis/shard.h — key -> shard -> replica nodes: the one function the
 * node, the client and the tools all route by, and the shard map (with an
 * epoch) a client fetches from any node.
 *
 * key -> shard:
 *   hash:  aeg_jump_hash(XXH3-64(key, seed 0), shard_count)
 *   range: a table of ranges in key order, each on one shard, from its
 *          lower bound to the next range's (the first from -inf, the
 *          last to +inf), keys compared as bytes (memcmp, a prefix
 *          first). Built from split points, range k on shard k (split
 *          k - 1 <= key < split k); shards past range_count are spare
 *          (no key routes to them) until a split gives one a range
 *          (aeg_shard_map_ranged with a new table).
 *   list:  explicit assignments: the one whose key equals the key, else
 *          the longest prefix assignment the key starts with, else hash
 *          (pins tenants or hot keys to a shard, keeps keys together).
 *   round_robin: a key "<shard>/..." (decimal, no leading zero, below
 *          shard_count) lives on that shard, any other by hash. Writers of
 *          an append-only keyspace take the shards in turn and name their
 *          keys so (aeg_client_append): an even spread, whatever the keys.
 *   time:  a key that starts with a decimal time t (1-19 digits, not
 *          followed by another digit, no leading zero) lives on shard
 *          (t / time_bucket) % shard_count, any other by hash: one bucket's
 *          keys share a shard, consecutive buckets take the shards in turn.
 * shard -> replicas: weighted rendezvous (aeg_hrw_*) of
 *   XXH3-64(le32(shard), AEG_SHARD_PLACE_SEED) over the nodes: the top
 *   replication_factor distinct nodes. Then, shard by shard in order, the
 *   replica with the fewest preferred leaderships so far (per weight; ties to
 *   the better rendezvous score) moves to the front: preferred leaders are
 *   spread evenly, and the replica SETS keep the rendezvous property (adding
 *   or removing a node moves only the shards it wins or held).
 * shard s is Raft group s + 1 (group 0 is the meta group) and lives on
 *   worker s % workers of every replica, at udp_port_base + that worker.
 *
 * A map is built once (control plane: it allocates with malloc) and then
 * read-only: lookups never allocate and may be shared between threads.
 * Errors: negative errno. Pure: no syscalls, no clocks, no globals. */
#ifndef AEGIS_SHARD_H
#define AEGIS_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

enum aeg_shard_strategy {
	AEG_SHARD_HASH = 0,
	AEG_SHARD_RANGE = 1,
	AEG_SHARD_LIST = 2,
	AEG_SHARD_ROUND_ROBIN = 3,
	AEG_SHARD_TIME = 4,
};
#define AEG_SHARD_STRATEGY_MAX AEG_SHARD_TIME

/* A shard's state as the meta group records it (issue [G]; "state/<i>",
 * none = ACTIVE): MIGRATING while one of its replicas moves. CREATING,
 * SPLITTING, MERGING and INACTIVE are for range splits and merges, which
 * Aegis does not carry out yet. */
enum aeg_shard_state {
	AEG_SHARD_CREATING = 0,
	AEG_SHARD_ACTIVE = 1,
	AEG_SHARD_MIGRATING = 2,
	AEG_SHARD_SPLITTING = 3,
	AEG_SHARD_MERGING = 4,
	AEG_SHARD_INACTIVE = 5,
};
#define AEG_SHARD_STATE_MAX AEG_SHARD_INACTIVE
/* "creating", "active", ...; "?" past AEG_SHARD_STATE_MAX. */
const char *aeg_shard_state_name(uint8_t state);

#define AEG_SHARD_NODES_MAX 4096u
#define AEG_SHARD_COUNT_MAX (1u << 20)
#define AEG_SHARD_RF_MAX 16u             /* AEG_HRW_N_MAX */
#define AEG_SHARD_WORKERS_MAX 1024u
#define AEG_SHARD_SPLIT_BYTES_MAX 1024u  /* = the kv's default key limit */
#define AEG_SHARD_ASSIGN_MAX 4096u       /* list: assignments */
#define AEG_SHARD_PLACE_SEED 0x6165676973706c63ull /* "aegisplc" */

struct aeg_shard_node {
	uint32_t id;            /* >= 1 (0 is AEG_RAFT_NONE), unique */
	uint32_t ipv4;          /* host order */
	uint16_t udp_port_base; /* worker w listens on udp_port_base + w */
	uint32_t weight;        /* thousandths: AEG_HASH_WEIGHT_ONE (1000) = 1.0, >= 1 */
};

struct aeg_shard_split {
	const void *key;
	uint32_t len;           /* 1 .. AEG_SHARD_SPLIT_BYTES_MAX */
};

/* list: keys (prefix false) or key prefixes (prefix true) -> shard. */
struct aeg_shard_assign {
	const void *key;
	uint32_t len;           /* 1 .. AEG_SHARD_SPLIT_BYTES_MAX */
	uint32_t shard;         /* < shard_count */
	bool prefix;
};

struct aeg_shard_map_params {
	uint64_t epoch;
	const struct aeg_shard_node *nodes;
	uint32_t node_count;         /* 1 .. AEG_SHARD_NODES_MAX */
	uint32_t shard_count;        /* 1 .. AEG_SHARD_COUNT_MAX */
	uint32_t replication_factor; /* 1 .. min(node_count, AEG_SHARD_RF_MAX) */
	uint32_t workers;            /* per node, equal on every node, 1 .. AEG_SHARD_WORKERS_MAX */
	enum aeg_shard_strategy strategy;
	/* range: range_count - 1 split points, strictly ascending; others: none */
	const struct aeg_shard_split *splits;
	uint32_t range_count;        /* range: ranges (shards 0..range_count-1), 0: shard_count */
	/* list: assignments in any order, no (key, prefix) twice; others: none */
	const struct aeg_shard_assign *assign;
	uint32_t assign_count;       /* 0 .. AEG_SHARD_ASSIGN_MAX */
	uint64_t time_bucket;        /* time: >= 1; others: 0 */
};

struct aeg_shard_map;

/* 0, -EINVAL (a rule above broken: zero or duplicate id, zero weight, a
 * port range past 65535, splits out of order ...), -ENOMEM. */
int aeg_shard_map_build(struct aeg_shard_map **out, const struct aeg_shard_map_params *p);
void aeg_shard_map_free(struct aeg_shard_map *m);

uint64_t aeg_shard_map_epoch(const struct aeg_shard_map *m);
uint32_t aeg_shard_map_shard_count(const struct aeg_shard_map *m);
uint32_t aeg_shard_map_replication_factor(const struct aeg_shard_map *m);
uint32_t aeg_shard_map_workers(const struct aeg_shard_map *m);
enum aeg_shard_strategy aeg_shard_map_strategy(const struct aeg_shard_map *m);
/* The nodes, sorted by id; *n their count. */
const struct aeg_shard_node *aeg_shard_map_nodes(const struct aeg_shard_map *m, uint32_t *n);
/* The node with this id, or NULL. */
const struct aeg_shard_node *aeg_shard_map_node(const struct aeg_shard_map *m, uint32_t id);
/* The meta group (issue [G]: the cluster's own records, node states):
 * shard index shard_count (never a client's: requests for it get
 * STALE_EPOCH), on worker 0, its voters the 3 nodes with the lowest ids (5
 * from 5 nodes on, all of them below 3) of the nodes the map was built
 * from (nodes joined later through aeg_shard_map_placed do not change
 * them; a decoded map computes them from all its nodes). Writes up to max
 * voter ids in id order to ids; returns how many there are. */
#define AEG_SHARD_META_VOTERS_MAX 5
uint32_t aeg_shard_map_meta_voters(const struct aeg_shard_map *m, uint32_t *ids, uint32_t max);
static inline uint32_t aeg_shard_map_meta_shard(const struct aeg_shard_map *m)
{
	return aeg_shard_map_shard_count(m);
}
/* A copy of m with another epoch and placement and n_joined more nodes
 * (joined after the cluster formed; the meta voters stay m's): replicas
 * holds shard_count x replication_factor node ids (each a node of m or a
 * joined one, distinct within a shard, preferred leader first), as the
 * meta group records them after replica moves. 0, -EINVAL (an id in no
 * node, a repeat, a joined id already in m, a joined node's bad port or
 * weight), -ENOMEM. */
int aeg_shard_map_placed(struct aeg_shard_map **out, const struct aeg_shard_map *m, uint64_t epoch,
			 const uint32_t *replicas, const struct aeg_shard_node *joined, uint32_t n_joined);
/* One range of a range map: keys from lo (lo_len 0: -inf) on shard. */
struct aeg_shard_range {
	uint32_t shard;
	const void *lo;
	uint32_t lo_len;
};
/* Range maps: how many ranges (other maps: 0), and range k into *r with its
 * upper bound in *hi / *hi_len (NULL / 0: +inf; both may be NULL): 0 or
 * -EINVAL. */
uint32_t aeg_shard_map_range_count(const struct aeg_shard_map *m);
int aeg_shard_map_range(const struct aeg_shard_map *m, uint32_t k, struct aeg_shard_range *r, const void **hi,
			uint32_t *hi_len);
/* The range of shard in range map m (its index k for aeg_shard_map_range),
 * UINT32_MAX if it has none (a spare, or not a range map). */
uint32_t aeg_shard_map_range_index(const struct aeg_shard_map *m, uint32_t shard);
/* Whether a shard holds keys: a range map's spare shards do not. */
bool aeg_shard_map_active(const struct aeg_shard_map *m, uint32_t shard);
/* A copy of range map m with another epoch and range table (n ranges in
 * key order, the first from -inf, distinct shards): a split or a merge.
 * 0, -EINVAL, -ENOMEM. */
int aeg_shard_map_ranged(struct aeg_shard_map **out, const struct aeg_shard_map *m, uint64_t epoch,
			 const struct aeg_shard_range *r, uint32_t n);
/* A range table's bytes (the meta record of a split): varint n, then per
 * range varint shard and, from the second on, varint len and the bound.
 * decode: views into buf, at most max ranges; 0 or -EINVAL (the table's
 * rules are aeg_shard_map_ranged's to check). */
size_t aeg_shard_ranges_size(const struct aeg_shard_range *r, uint32_t n);
int aeg_shard_ranges_encode(const struct aeg_shard_range *r, uint32_t n, uint8_t *buf, size_t cap);
int aeg_shard_ranges_decode(const uint8_t *buf, size_t len, struct aeg_shard_range *r, uint32_t max,
			    uint32_t *n);
/* A split (issue [G]): table r (n ranges) with shard `from`'s range cut at
 * key, the part from key up on shard `to`, into out (n + 1 ranges, views
 * into r and key; max >= n + 1). 0; -EALREADY: r has that split already
 * (`to`'s range starts at key, right after `from`'s); -EINVAL: `from` has
 * no range or key is not strictly inside it (lo < key < hi), `to` has a
 * range or is `from`, key empty or over AEG_SHARD_SPLIT_BYTES_MAX, or max
 * too small. */
int aeg_shard_ranges_split(const struct aeg_shard_range *r, uint32_t n, uint32_t from, uint32_t to,
			   const void *key, uint32_t key_len, struct aeg_shard_range *out, uint32_t max);
/* A merge: table r (n ranges) without shard `gone`'s range, which joins
 * the range before it, into out (n - 1 ranges, views into r). 0; -EALREADY:
 * `gone` has no range (merged already); -EINVAL: `gone`'s range is the
 * first (nothing before it), or max too small. *into: the shard whose range
 * grows (also with -EALREADY: 0). */
int aeg_shard_ranges_merge(const struct aeg_shard_range *r, uint32_t n, uint32_t gone, uint32_t *into,
			   struct aeg_shard_range *out, uint32_t max);
/* A range's identity for a split's or merge's record: a hash of its shard
 * and bounds (hi NULL: +inf). The meta leader records a split or merge only
 * while the range the copy was made of is still exactly that one. */
uint64_t aeg_shard_range_hash(uint32_t shard, const void *lo, uint32_t lo_len, const void *hi, uint32_t hi_len);
/* Range k of table r (n ranges): its hash as above. */
uint64_t aeg_shard_ranges_hash_of(const struct aeg_shard_range *r, uint32_t n, uint32_t k);
/* The table of range map m into r (at most max ranges): their count, or 0
 * (not a range map, max too small). */
uint32_t aeg_shard_map_ranges(const struct aeg_shard_map *m, struct aeg_shard_range *r, uint32_t max);
/* List maps: how many assignments, and assignment i (sorted by key, exact
 * before prefix) into *a: 0 or -EINVAL. Other maps: 0 of them. */
uint32_t aeg_shard_map_assign_count(const struct aeg_shard_map *m);
int aeg_shard_map_assign(const struct aeg_shard_map *m, uint32_t i, struct aeg_shard_assign *a);
/* Time maps: the bucket width; others 0. */
uint64_t aeg_shard_map_time_bucket(const struct aeg_shard_map *m);

/* The shard of a key (< shard_count). */
uint32_t aeg_shard_for_key(const struct aeg_shard_map *m, const void *key, size_t len);
/* The replica node ids of a shard, preferred leader first (*n =
 * replication_factor), or NULL (*n = 0) if shard >= shard_count. */
const uint32_t *aeg_shard_replicas(const struct aeg_shard_map *m, uint32_t shard, uint32_t *n);
bool aeg_shard_has_replica(const struct aeg_shard_map *m, uint32_t shard, uint32_t node);
/* Where node serves shard: its ipv4 and udp_port_base + shard % workers.
 * 0, -EINVAL (shard out of range), -ENOENT (unknown node). */
int aeg_shard_addr(const struct aeg_shard_map *m, uint32_t shard, uint32_t node,
		   uint32_t *ipv4, uint16_t *udp_port);

static inline uint32_t aeg_shard_group(uint32_t shard)
{
	return shard + 1;
}

static inline uint32_t aeg_shard_worker(uint32_t shard, uint32_t workers)
{
	return shard % workers;
}

/* ---- Encoding (format 2), canonical, little-endian ------------------------
 *   u32 magic "AESM", u8 format (2), u8 strategy, u64 epoch,
 *   varint node_count, shard_count, replication_factor, workers,
 *   nodes by ascending id: varint id, u32 ipv4, varint udp_port_base, varint weight,
 *   range only: the range table (as aeg_shard_ranges_encode),
 *   list only: varint count, then each assignment in map order: varint
 *     len, bytes, u8 prefix (0 or 1), varint shard,
 *   time only: varint time_bucket,
 *   per shard: replication_factor varint node indexes (into the node list),
 *   u32 crc32c of all bytes before it.
 * Size: about 22 + 10 per node + shards * rf (1 byte an index up to 127
 * nodes, 2 beyond) + splits: 10,000 shards x 3 replicas take 30,050 bytes
 * on 3 nodes, 30,923 on 100, 42,685 on 200 (measured by tests/unit/shard). Decode validates everything build does (plus distinct
 * replicas within a shard, the CRC, no trailing bytes); replicas are taken
 * as encoded, not recomputed, so that a map moved by rebalancing travels
 * as it is. */
#define AEG_SHARD_MAP_MAGIC 0x4d534541u /* "AESM" little-endian */
#define AEG_SHARD_MAP_FORMAT 2u

size_t aeg_shard_map_encoded_size(const struct aeg_shard_map *m);
/* Bytes written, or -EMSGSIZE (cap too small; also when larger than INT_MAX). */
int aeg_shard_map_encode(const struct aeg_shard_map *m, uint8_t *buf, size_t cap);
/* 0, -EMSGSIZE (truncated), -EINVAL (malformed), -ENOMEM. */
int aeg_shard_map_decode(struct aeg_shard_map **out, const uint8_t *buf, size_t len);

AEG_API_END

#endif
