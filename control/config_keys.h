/* The table of config keys (config.h has the documented view of it),
 * shared by the parser (config.c) and the validator (config_validate.c).
 * Private to control/config*.c. */
#ifndef AEGIS_CONTROL_CONFIG_KEYS_H
#define AEGIS_CONTROL_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum cfg_type {
	CT_UINT,   /* integer into a u32/u64 field, min..max */
	CT_SIZE,   /* as CT_UINT, or a string "N KiB|MiB|GiB" */
	CT_BOOL,
	CT_ENUM,   /* a string among names, stored as its index */
	CT_STR,    /* a string into a char array field */
	CT_ADDR,   /* node.address */
	CT_PEERS,  /* node.peers */
	CT_EAL,    /* node.eal_args */
	CT_SPLITS, /* sharding.split_points */
	CT_ASSIGN, /* sharding.assign */
};

/* Key ids: the order of the table. */
enum cfg_key_id {
	CK_REPLICATION_FACTOR, CK_CONSISTENCY_LEVEL,
	CK_ELECTION_MIN, CK_ELECTION_MAX, CK_HEARTBEAT, CK_TICK, CK_PRE_VOTE, CK_CHECK_QUORUM,
	CK_LEASE_READ, CK_QUIESCE, CK_LOG_ENTRIES, CK_SNAPSHOT_EVERY,
	CK_STRATEGY, CK_SHARD_COUNT, CK_AUTO_REBALANCE, CK_SPLIT_POINTS, CK_ASSIGN, CK_TIME_BUCKET, CK_SPLIT_BYTES, CK_MERGE_BYTES,
	CK_NODE_ID, CK_ADDRESS, CK_PEERS, CK_DATA_DIR, CK_WORKERS, CK_TRANSPORT, CK_EAL_ARGS,
	CK_CLUSTER_ID, CK_CLUSTER_KEY_FILE, CK_CLUSTER_KEY_ID, CK_CLUSTER_KEY_ACCEPT_FILE,
	CK_CLUSTER_KEY_ACCEPT_ID, CK_CLIENT_KEY_FILE, CK_MEMORY, CK_ADMIN_SOCKET,
	CK_STATIC_ARP, CK_FRAME_BYTES, CK_JOIN, CK_ZONE, CK_WEIGHT,
	CK_KEY_BYTES, CK_VALUE_BYTES,
	CK_WAL_SEGMENT, CK_WAL_BATCH, CK_WAL_DSYNC, CK_WAL_SYNC,
	CK_SUSPECT, CK_DOWN, CK_REREPLICATE, CK_REBALANCE_MOVES, CK_REBALANCE_TOLERANCE, CK_REBALANCE_LEADERS, CK_REBALANCE_BYTES, CK_REBALANCE_ORPHAN,
	CK_COUNT
};

struct cfg_key {
	const char *section, *name;
	enum cfg_type type;
	size_t off, size;           /* the field in struct aeg_config */
	uint64_t min, max;          /* CT_UINT, CT_SIZE */
	const char *const *names;   /* CT_ENUM: NULL-terminated */
};

extern const struct cfg_key cfg_keys[CK_COUNT];

/* An unsigned field of the table (u32, u64 or enum) read or written. */
uint64_t cfg_key_uint(const struct aeg_config *c, enum cfg_key_id id);
void cfg_key_store(struct aeg_config *c, const struct cfg_key *k, uint64_t v);

/* Text forms, true when s is one:
 *   size  "N", "N KiB", "NMiB", "N GiB" (N decimal) in bytes
 *   addr  "A.B.C.D[:PORT]" (port 1..65535; *port unchanged without one)
 *   peer  "ID=A.B.C.D[:PORT][@MAC]", as aegis-dpnode --peer */
bool cfg_parse_size(const char *s, uint64_t *out);
bool cfg_parse_addr(const char *s, uint32_t *ipv4, uint16_t *port);
bool cfg_parse_peer(const char *s, struct aeg_config_peer *p);

#endif
