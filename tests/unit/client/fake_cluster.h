/* A fake Aegis cluster for the client tests: NODES nodes with WORKERS
 * UDP sockets each on 127.0.0.1, served by one thread that answers with the
 * client codec. One real lib/kv per shard holds the state (shared by the
 * nodes, as if replicated), so sessions behave as on a node: a retried
 * (client, seq) is answered, not applied again. Knobs make nodes redirect,
 * bump the map epoch, drop requests, replies or single parts. */
#ifndef AEGIS_TEST_FAKE_CLUSTER_H
#define AEGIS_TEST_FAKE_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aegis/client_proto.h"
#include "aegis/client_reasm.h"
#include "aegis/kv.h"
#include "aegis/shard.h"

#define FAKE_NODES 3
#define FAKE_WORKERS 2
#define FAKE_SHARDS 8
#define FAKE_REPLY_BYTES 1472 /* replies as over the DPDK ports: large ones in parts */

struct fake {
	pthread_t thread;
	pthread_mutex_t mu;
	volatile bool stop;
	int fd[FAKE_NODES + 1][FAKE_WORKERS];
	uint16_t base[FAKE_NODES + 1]; /* node ids 1..FAKE_NODES */
	struct aeg_wire_key key;

	struct aeg_shard_map *map;
	uint8_t *map_enc;
	uint32_t map_len;
	uint64_t epoch;
	struct aeg_kv *kv[FAKE_SHARDS];
	uint64_t index[FAKE_SHARDS];
	uint32_t leader[FAKE_SHARDS]; /* who answers; others say NOT_LEADER */
	bool hint;                    /* NOT_LEADER carries the leader */

	/* knobs (under mu) */
	int drop_requests;   /* ignore this many request datagrams, -1: all */
	int drop_write_replies; /* apply, then drop this many reply datagrams with writes */
	int drop_req_part;   /* drop the request part with this index once (-1: none) */
	int drop_resp_part;  /* drop the reply part with this index once (-1: none) */
	bool dead[FAKE_NODES + 1]; /* the node ignores every datagram (counted in to_dead) */
	uint32_t scan_limit; /* SCAN replies carry at most this many keys (0: as asked) */
	/* The map's strategy: range splits "rscan/0050", "rscan/0100", ...; list
	 * "pin:*" -> 5, "pin:x" -> 2; time buckets of 100. */
	enum aeg_shard_strategy strategy;

	uint64_t scans;      /* SCAN requests answered OK */

	/* counters (under mu) */
	uint64_t dgrams, items, applied, duplicates, not_leader, stale, maps;
	uint64_t wrong_shard, wrong_worker, parse_drops;
	uint64_t by_node[FAKE_NODES + 1];
	uint64_t replica_reads[FAKE_NODES + 1]; /* ONE reads each node answered */
	uint64_t to_dead[FAKE_NODES + 1];

	struct aeg_client_reasm reasm;
	void *reasm_mem;
};

/* Binds the sockets, builds the map (epoch 1), starts the thread. */
void fake_start(struct fake *f);
void fake_stop(struct fake *f);
/* "1=127.0.0.1:PORT" of node id (worker 0's port). */
void fake_addr(const struct fake *f, uint32_t id, char *buf, size_t cap);
/* Rebuilds the map with epoch + 1 (same placement); the nodes answer
 * STALE_EPOCH to requests routed with the old one. */
void fake_bump_epoch(struct fake *f);
/* The same with another strategy, and every shard emptied. */
void fake_set_strategy(struct fake *f, enum aeg_shard_strategy st);
void fake_lock(struct fake *f);
void fake_unlock(struct fake *f);

#endif
