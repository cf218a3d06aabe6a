/* The node's config file: a strict parser of the TOML subset Aegis uses,
 * the settings struct it fills, command-line overrides and validation.
 *
 * Accepted TOML: comments (#), [section] headers, `key = value` with bare
 * keys, and values that are integers (decimal, optional sign, _ between
 * digits), booleans, basic strings "..." (escapes \" \\ \n \t only) and
 * one-line arrays of strings or of integers (trailing comma allowed).
 * Everything else (dotted or quoted keys, [[tables]], inline tables,
 * literal strings, floats, dates, multi-line values, hex ints) is refused,
 * as are unknown sections and keys, wrong types, a key or section given
 * twice, and values out of range. Errors name "file:line: section.key".
 *
 * Keys (units: ms, entries, bytes; "size" = an integer of bytes or a
 * string "N KiB|MiB|GiB", e.g. "64 MiB"):
 *
 *   key                              type      default    range / rule
 *   [replication]
 *   replication_factor               int       3          1..AEG_RAFT_CONF_MAX, <= 1 + peers
 *   consistency_level                string    "quorum"   one | quorum | all (writes and reads)
 *   [raft]
 *   election_timeout_min             int ms    150        > heartbeat_interval, multiple of tick_ms
 *   election_timeout_max             int ms    300        > election_timeout_min, multiple of tick_ms
 *   heartbeat_interval               int ms    50         multiple of tick_ms
 *   tick_ms                          int ms    10         1..1000
 *   pre_vote                         bool      true
 *   check_quorum                     bool      true
 *   lease_read                       bool      false      needs check_quorum
 *   quiesce_after_ms                 int ms    1000       0 (never) or >= heartbeat_interval
 *   log_entries_max                  int       1024       power of two, 16..2^20
 *   snapshot_every_entries           int       20000      1..1048575 (bounds the log on disk)
 *   [sharding]
 *   strategy                         string    "hash"     hash | range | list | round_robin | time
 *                                                         (key -> shard: aegis/shard.h)
 *   shard_count                      int       16         1..65536 (range: 1..AEG_CONFIG_SPLITS_MAX+1)
 *   auto_rebalance                   bool      false      (acts in issue [G])
 *   split_points                     [string]  []         range: up to shard_count-1 keys, ascending
 *                                                         (bytewise), non-empty, <= key_bytes_max;
 *                                                         k keys: k+1 ranges on shards 0..k, the
 *                                                         other shards spare (for splits)
 *   assign                           [string]  []         list: "KEY=SHARD" (that key) or
 *                                                         "PREFIX*=SHARD" (keys starting with it),
 *                                                         SHARD < shard_count, no key twice,
 *                                                         <= AEG_CONFIG_ASSIGN_MAX; others by hash
 *   time_bucket                      int       3600       time: 1..2^32-1, in the keys' time unit
 *   split_bytes                      size      64 MiB     range: a shard holding more (its kv's
 *                                                         bytes) is split at its middle key into
 *                                                         a spare by the node leading it; 0: never
 *   merge_bytes                      size      0          range: a range and the one before it
 *                                                         holding less together are merged; 0:
 *                                                         never; under split_bytes / 2
 *   [node]
 *   id                               int       0 (unset)  1..2^32-1; set: address required
 *   address                          string    unset      "A.B.C.D[:PORT]", PORT = UDP base
 *                                                         port (default 7100); worker w: PORT+w
 *   peers                            [string]  []         "ID=A.B.C.D[:PORT][@MAC]" as
 *                                                         aegis-dpnode --peer; no duplicate ids,
 *                                                         not the node's own id or address
 *   data_dir                         string    "/var/lib/aegis"
 *   workers                          int       1          1..AEG_CONFIG_WORKERS_MAX
 *   transport                        string    "udp"      udp | dpdk
 *   eal_args                         [string]  []         DPDK EAL arguments (dpdk transport)
 *   cluster_id                       int       1          0..2^32-1
 *   cluster_key_file                 string    ""         32 hex digits, mode 0600 (see
 *   client_key_file                  string    ""         aeg_config_load_key); not the same path
 *   cluster_key_id                   int       0          0..255: names the cluster key in frames
 *   cluster_key_accept_file          string    ""         a second cluster key, accepted but not
 *   cluster_key_accept_id            int       1          used to send: a key rotation (README)
 *   memory_bytes_max                 size      1 GiB      >= 1 MiB: the node's memory budget
 *   admin_socket                     string    ""         "" = <data_dir>/aegisd.sock; < 108 bytes
 *   static_arp                       bool      false      only static neighbour entries
 *   join                             bool      false      this node joins a running cluster:
 *                                                         peers = its members (any, at least
 *                                                         the meta voters); the node holds no
 *                                                         replica until moves bring them; it
 *                                                         is added first on a member with
 *                                                         `aegisctl node add ID ADDRESS`
 *   zone                             string    ""         this node's zone (rack, room): 1-31
 *                                                         of [A-Za-z0-9._-]; the rebalancer puts
 *                                                         no two replicas of a shard in one zone
 *                                                         when the nodes have zones enough
 *   weight                           int       100        1..10000: this node's capacity; its
 *                                                         share of replicas is weight / the sum
 *                                                         (both on record in the meta group)
 *   frame_bytes                      int       1472       UDP payload of a frame between
 *                                                         nodes and of a reply to a client,
 *                                                         512..65507; the same on every node;
 *                                                         above 1472 (1500 MTU) only with
 *                                                         transport udp and a path MTU of at
 *                                                         least frame_bytes + 28 (jumbo frames:
 *                                                         fewer packets per write)
 *   [limits]
 *   key_bytes_max                    size      1024       1..65535
 *   value_bytes_max                  size      1 MiB      1..4 MiB
 *   [wal]
 *   segment_bytes                    size      64 MiB     1 MiB..16 GiB, multiple of 4 KiB,
 *                                                         >= 2 x batch_bytes_max
 *   batch_bytes_max                  size      2 MiB      64 KiB..64 MiB, multiple of 4 KiB,
 *                                                         > value_bytes_max + key_bytes_max
 *   dsync                            bool      false      RWF_DSYNC writes instead of fdatasync
 *   sync                             bool      true       false: NOT DURABLE, no fdatasync at all
 *                                                         (benchmarks of replication alone)
 *   [membership]                     (lib/membership: a node's state from what it sends)
 *   suspect_ms                       int ms    1000       silence before SUSPECT (moves nothing)
 *   down_ms                          int ms    5000       silence before DOWN, > suspect_ms
 *   rereplicate_ms                   int ms    60000      DOWN this long: its replicas are due to
 *                                                         be copied elsewhere
 *   [rebalance]                      (control/node_rebalance.c, on the meta leader)
 *   moves_max                        int       2          replica moves at once in the cluster
 *                                                         (one per shard, one copy into each
 *                                                         node); 0: none
 *   tolerance_pct                    int       10         each node's share of replicas within
 *                                                         this % of its target
 *   leaders                          bool      true       a shard's leader hands leadership to
 *                                                         its preferred replica (the first on
 *                                                         record) when that one is healthy,
 *                                                         after leading it 5 s; aegisctl
 *                                                         leader transfer records its target
 *                                                         as the preferred replica
 *   bytes_per_s                      size      32 MiB     0 (unpaced) or the rate a node sends
 *                                                         snapshots at (replica moves, followers
 *                                                         past the log), shared by its workers
 *   orphan_ms                        int ms    60000      a replica here that the records do not
 *                                                         list, of a shard not migrating, with no
 *                                                         leader for this long is dropped (a node
 *                                                         that was down while it moved away)
 *
 * Parsing, overrides and validation do no I/O (the fuzz target runs them);
 * aeg_config_load and aeg_config_load_key read files. Nothing allocates
 * after load: the struct is fixed-size (~80 KiB, keep it off small stacks).
 * Errors: negative errno codes (-EINVAL for content, -ENOMEM, or the
 * errno of a failed open/read) with a one-line message in err. */
#ifndef AEGIS_CONTROL_CONFIG_H
#define AEGIS_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/net.h"

#define AEG_CONFIG_PEERS_MAX 64
#define AEG_CONFIG_WORKERS_MAX 16
#define AEG_CONFIG_PATH_BYTES 256         /* paths, including the NUL */
#define AEG_CONFIG_SOCKET_PATH_BYTES 108  /* sun_path, including the NUL */
#define AEG_CONFIG_EAL_ARGS_MAX 64
#define AEG_CONFIG_EAL_POOL_BYTES 4096    /* all EAL arguments with their NULs */
#define AEG_CONFIG_SPLITS_MAX 1023        /* range strategy: at most 1024 shards */
#define AEG_CONFIG_SPLIT_POOL_BYTES 65536 /* all split points with their NULs */
#define AEG_CONFIG_KEYS_MAX 64            /* keys of the table in config.c */
#define AEG_CONFIG_ASSIGN_MAX 1024        /* list strategy: assignments */
#define AEG_CONFIG_ASSIGN_POOL_BYTES 65536 /* all assignments with their NULs */
#define AEG_CONFIG_BASE_PORT_DEFAULT 7100
/* Frames between nodes: the 1500-byte MTU payload (what DPDK ports carry), and
 * the smallest frame that still holds a large message's fragment well. */
#define AEG_CONFIG_FRAME_BYTES_DPDK 1472u
#define AEG_CONFIG_FRAME_BYTES_MIN 512u
#define AEG_CONFIG_KEY_BYTES 16           /* a cluster or client key */
#define AEG_CONFIG_ZONE_BYTES 32          /* a zone label, including the NUL */

enum aeg_config_consistency {
	AEG_CONFIG_CONSISTENCY_ONE,
	AEG_CONFIG_CONSISTENCY_QUORUM,
	AEG_CONFIG_CONSISTENCY_ALL,
};
/* The order of aeg_shard_strategy (aegis/shard.h). */
enum aeg_config_strategy {
	AEG_CONFIG_STRATEGY_HASH,
	AEG_CONFIG_STRATEGY_RANGE,
	AEG_CONFIG_STRATEGY_LIST,
	AEG_CONFIG_STRATEGY_ROUND_ROBIN,
	AEG_CONFIG_STRATEGY_TIME,
};
enum aeg_config_transport { AEG_CONFIG_TRANSPORT_UDP, AEG_CONFIG_TRANSPORT_DPDK };

/* "ID=A.B.C.D[:PORT][@MAC]", the fields of the dataplane's aeg_dp_peer. */
struct aeg_config_peer {
	uint32_t node;
	uint32_t ipv4;      /* host order */
	uint16_t base_port; /* 0: the node's own base port */
	bool has_mac;       /* a static neighbour entry */
	struct aeg_net_mac mac;
};

struct aeg_config {
	/* [replication] */
	uint32_t replication_factor;
	enum aeg_config_consistency consistency_level;
	/* [raft] */
	uint32_t election_timeout_ms_min;
	uint32_t election_timeout_ms_max;
	uint32_t heartbeat_interval_ms;
	uint32_t tick_ms;
	bool pre_vote;
	bool check_quorum;
	bool lease_read;
	uint32_t quiesce_after_ms;
	uint32_t log_entries_max;
	uint32_t snapshot_every_entries;
	/* [sharding] */
	enum aeg_config_strategy strategy;
	uint32_t shard_count;
	bool auto_rebalance;
	uint32_t split_point_count;          /* read with aeg_config_split_point() */
	uint32_t split_point_off[AEG_CONFIG_SPLITS_MAX];
	char split_point_pool[AEG_CONFIG_SPLIT_POOL_BYTES];
	uint32_t assign_count;               /* read with aeg_config_assign() */
	uint32_t assign_off[AEG_CONFIG_ASSIGN_MAX];
	char assign_pool[AEG_CONFIG_ASSIGN_POOL_BYTES];
	uint32_t time_bucket;
	uint64_t split_bytes, merge_bytes;
	/* [node] */
	uint32_t node_id;                    /* 0: not set */
	bool address_given;
	uint32_t ipv4;                       /* host order */
	uint16_t base_port;
	uint32_t peer_count;
	struct aeg_config_peer peers[AEG_CONFIG_PEERS_MAX];
	char data_dir[AEG_CONFIG_PATH_BYTES];
	uint32_t workers;
	enum aeg_config_transport transport;
	uint32_t eal_argc;                   /* read with aeg_config_eal_arg() */
	uint16_t eal_arg_off[AEG_CONFIG_EAL_ARGS_MAX];
	char eal_pool[AEG_CONFIG_EAL_POOL_BYTES];
	uint32_t cluster_id;
	char cluster_key_file[AEG_CONFIG_PATH_BYTES]; /* "": not given */
	uint32_t cluster_key_id;
	char cluster_key_accept_file[AEG_CONFIG_PATH_BYTES]; /* "": none */
	uint32_t cluster_key_accept_id;
	char client_key_file[AEG_CONFIG_PATH_BYTES];
	uint64_t memory_bytes_max;
	char admin_socket[AEG_CONFIG_SOCKET_PATH_BYTES]; /* "": <data_dir>/aegisd.sock */
	bool static_arp;
	bool join;
	char zone[AEG_CONFIG_ZONE_BYTES];  /* "": no zone label */
	uint32_t weight;
	uint32_t frame_bytes;
	/* [limits] */
	uint32_t key_bytes_max;
	uint32_t value_bytes_max;
	/* [wal] */
	uint64_t wal_segment_bytes;
	uint32_t wal_batch_bytes_max;
	bool wal_dsync;
	bool wal_sync;
	/* [membership] */
	uint32_t suspect_ms;
	uint32_t down_ms;
	uint32_t rereplicate_ms;
	uint32_t rebalance_moves_max;
	uint32_t rebalance_tolerance_pct;
	uint64_t rebalance_bytes_per_s;
	uint32_t rebalance_orphan_ms;
	bool rebalance_leaders;

	/* Where each key's value came from, so that validation errors can
	 * name file:line: 0 default (or an earlier file), UINT32_MAX --set. */
	uint32_t origin_line[AEG_CONFIG_KEYS_MAX];
	char origin_file[AEG_CONFIG_PATH_BYTES];
};

/* The defaults of the table above. Returns 0. */
int aeg_config_defaults(struct aeg_config *c);

/* Parses text (len bytes, NULs refused) on top of *c: keys not in the text
 * keep their value, arrays given replace the old ones. file_name is used in
 * messages only. Nothing is changed on error. Does not validate. */
int aeg_config_parse(struct aeg_config *c, const char *text, size_t len, const char *file_name,
		     char *err, size_t err_len);

/* Reads the file at path (at most 1 MiB) and parses it as above. */
int aeg_config_load(struct aeg_config *c, const char *path, char *err, size_t err_len);

/* One override, "section.key" and its value: a TOML value, except that a
 * string key also takes its text unquoted (--set node.transport=dpdk) and
 * a size key "64MiB". Same type and range checks as a file. */
int aeg_config_set(struct aeg_config *c, const char *dotted_key, const char *value, char *err,
		   size_t err_len);

/* Ranges and consistency between keys (see the table). 0 or -EINVAL. */
int aeg_config_validate(const struct aeg_config *c, char *err, size_t err_len);

/* Split point i (< split_point_count) and EAL argument i (< eal_argc),
 * NUL-terminated. */
const char *aeg_config_split_point(const struct aeg_config *c, uint32_t i);
/* Assignment i (< assign_count) of the list strategy: its key (into the
 * config), length, shard and whether it is a prefix. false if the entry is
 * not "KEY=SHARD" / "PREFIX*=SHARD" with a key and a decimal shard. */
bool aeg_config_assign(const struct aeg_config *c, uint32_t i, const char **key, uint32_t *len,
		       uint32_t *shard, bool *prefix);
const char *aeg_config_eal_arg(const struct aeg_config *c, uint32_t i);

/* The admin socket path: admin_socket, or data_dir + "/aegisd.sock".
 * 0, or -ENAMETOOLONG when it does not fit out (or a sun_path). */
int aeg_config_admin_socket_path(const struct aeg_config *c, char *out, size_t out_len);

/* Reads a key file: 32 hex digits and an optional newline, nothing else.
 * Refused: not a regular file, group or world permissions (chmod 600),
 * a wrong length or a non-hex character. 0, -EINVAL, -EACCES or the
 * errno of open/read, with the path in err. */
int aeg_config_load_key(const char *path, uint8_t out[AEG_CONFIG_KEY_BYTES], char *err,
			size_t err_len);

#endif
