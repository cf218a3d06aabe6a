/* One worker core of aegisd: the shards this worker owns on this node, each
 * a Raft group (lib/multiraft driver) over the worker's own io_uring log
 * (one fdatasync for every group of the core), its key-value state machine
 * (lib/kv), and the clients' requests that arrive on the worker's port.
 *
 * Threads: aeg_replica_new() runs on the main thread at start (it opens and
 * recovers the log); from then on everything but aeg_replica_status_read()
 * runs on the worker's thread through the aeg_worker callbacks below.
 * Status is published by the worker every ~100 ms into a double buffer
 * that the main thread reads without locks.
 *
 * Per iteration (worker.c calls these):
 *   on_tick:    reap log completions -> durable; Raft ticks; snapshots;
 *               answers that waited on the disk or on followers
 *   on_msg:     cluster messages (Raft, heartbeats) into the driver
 *   on_raw:     client datagrams: route, stage proposals, serve reads
 *   on_rx_done: propose what was staged (one batch per group), process
 *               every dirty group, submit the log batch, flush
 *               heartbeats and client replies */
#ifndef AEGIS_DATAPLANE_REPLICA_H
#define AEGIS_DATAPLANE_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/group_driver.h"
#include "aegis/kv.h"
#include "aegis/raft.h"
#include "aegis/shard.h"
#include "aegis/wire.h"
#include "aegis/worker.h"

struct aeg_replica;

struct aeg_replica_config {
	uint32_t node;
	uint16_t worker;
	uint16_t workers;
	const struct aeg_shard_map *map;   /* read-only, outlives the replica */
	const char *data_dir;              /* the log lives in data_dir/wN */
	uint32_t tick_ms;
	uint32_t election_ms_min, election_ms_max, heartbeat_ms;
	bool pre_vote, check_quorum, lease_read;
	uint32_t quiesce_ms;               /* 0: never */
	uint32_t log_entries_max;          /* Raft log window per group */
	uint32_t snapshot_every;           /* applied entries between snapshots */
	uint8_t consistency_default;       /* enum aeg_client_consistency, not DEFAULT */
	struct aeg_kv_limits kv;
	uint64_t segment_bytes;            /* WAL; 0: default */
	uint32_t wal_batch_bytes_max;      /* 0: default (4 MiB: holds a 1 MiB entry) */
	bool wal_dsync;
	bool wal_no_sync;  /* NOT DURABLE (wal.sync = false) */
	const struct aeg_wire_key *client_key;
	const struct aeg_wire_key *cluster_key; /* join requests (aegis/join_req.h) */
	uint32_t cluster;                  /* node.cluster_id */
	uint32_t ipv4;                     /* this node's address and base port: its */
	uint16_t base_port;                /* own join requests */
	uint32_t dgram_bytes_max;          /* frames: client replies, Raft appends; 0: 1472 */
	uint64_t snap_bytes_per_s;         /* this worker's snapshot chunks at most this fast; 0: unpaced */
	void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

/* Opens data_dir/wN (creating it), recovers the log and each shard group
 * of this worker from it. Errors are negative errno values, logged. */
int aeg_replica_new(struct aeg_replica **out, const struct aeg_replica_config *cfg);
/* Flushes and closes the log (worker stopped). Returns 0, or the error
 * that kept something written from being made durable (the log
 * failed): the caller must exit non-zero. */
int aeg_replica_close(struct aeg_replica *rp);
/* aeg_replica_close without the answer (start-up failures). */
void aeg_replica_free(struct aeg_replica *rp);

/* Callbacks for struct aeg_worker_config (arg = the replica). */
void aeg_replica_on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
			const struct aeg_wire_msg *m);
void aeg_replica_on_raw(void *arg, struct aeg_worker *w, const struct aeg_pkt *pkt);
uint32_t aeg_replica_on_tick(void *arg, struct aeg_worker *w, uint64_t now_ns);
uint32_t aeg_replica_on_rx_done(void *arg, struct aeg_worker *w, uint64_t now_ns);
/* The worker's last call on its thread: the log's writes in flight finish
 * there (io_uring ties them to the submitting thread). */
void aeg_replica_on_exit(void *arg, struct aeg_worker *w);
struct aeg_ctl_msg;
/* One control message from the slow path (AEG_REPLICA_CTL_*). */
void aeg_replica_on_ctl(void *arg, struct aeg_worker *w, const struct aeg_ctl_msg *m);
/* The log's completion fd: an idle worker waits on it (and its socket), so
 * a finished fdatasync wakes it instead of the loop spinning on the disk. */
int aeg_replica_wake_fd(void *arg);

struct aeg_replica_group_status {
	uint32_t shard, group;
	uint8_t role;        /* enum aeg_raft_role */
	bool quiet;
	uint32_t lead;
	uint64_t term, commit, applied, last_index;
	uint64_t keys, kv_bytes, mem_bytes;
	int error;
	uint8_t n_members;   /* the config in force (AEG_REPLICA_MEMBERS_MAX at most shown) */
	uint32_t members[8];
	uint8_t member_roles[8];  /* aeg_raft_member_role bits */
};
#define AEG_REPLICA_MEMBERS_MAX 8

struct aeg_replica_move_status {
	uint32_t shard, from, to;
	const char *step;    /* static string: the last step taken */
	uint64_t ms;         /* since it started */
};

#define AEG_REPLICA_PEERS_MAX 64
#define AEG_REPLICA_META_NODES_MAX 64
#define AEG_REPLICA_META_VOTERS_MAX 16

/* Control messages to a worker (aeg_replica_on_ctl, struct aeg_ctl_msg):
 * META_STATE: arg[0] node id, arg[1] its state (enum aeg_node_state),
 * arg[2] forward: proposed to the meta group if this worker leads it and
 * its record differs; else dropped (the failure detector's sync: the meta
 * leader's node proposes its own view), or with forward set (an
 * operator's drain) sent on to the other meta voters (AEG_MSG_META). */
#define AEG_REPLICA_CTL_META_STATE 1u
/* LEADER_TRANSFER: arg[0] shard, arg[1] the voter to hand leadership to;
 * acted on only where this worker leads the shard's group (logged). */
#define AEG_REPLICA_CTL_LEADER_TRANSFER 2u
/* SHARD_MOVE: arg[0] shard, arg[1] the node whose replica moves, arg[2]
 * the node it moves to; carried out where this worker leads the shard
 * (aegis/shard_move.h), logged step by step. */
#define AEG_REPLICA_CTL_SHARD_MOVE 3u

/* SHARD_MOVE_ASK: arg[0] shard, arg[1] from, arg[2] to, arg[3..6] the
 * shard's voters as the meta records have them (0: none): each is asked
 * (AEG_MSG_PLACE MOVE) and the one leading the shard carries it out (the
 * rebalancer's moves; control/node_rebalance.c). */
#define AEG_REPLICA_CTL_SHARD_MOVE_ASK 4u
/* META_SHARD: arg[0] shard, arg[1] n, arg[2..6] its voters after a move:
 * recorded as "shard/<i>" by the meta leader (forwarded to the meta voters
 * from elsewhere). META_REBALANCE: arg[0] 1 pause, 0 resume: the
 * "rebalance" record (forwarded likewise). */
#define AEG_REPLICA_CTL_META_SHARD 5u
#define AEG_REPLICA_CTL_META_REBALANCE 6u
/* MAP_SET: arg[0] a struct aeg_shard_map *, arg[1] its encoding, arg[2]
 * the encoding's length: the map this worker routes by and serves from
 * now on (the meta records' placement, control/node_rebalance.c). Both
 * stay the control plane's; it frees them once the worker's published
 * map_epoch shows the next one. */
#define AEG_REPLICA_CTL_MAP_SET 7u
/* META_JOIN: arg[0] node id, arg[1] its ipv4 (host order), arg[2] its UDP
 * base port: a node joins the cluster (aegisctl node add). The meta leader
 * records it in "joined" (forwarded to the meta voters from elsewhere);
 * refused (logged) when the id or the address is a node's already. */
#define AEG_REPLICA_CTL_META_JOIN 8u
/* META_LABELS: arg[0] node id, arg[1] its weight (1..10000), arg[2..5]
 * its zone (up to 31 bytes, NUL-padded): what the node's config says, for
 * the "labels/<id>" record (forwarded to the meta voters from elsewhere);
 * the rebalancer plans with it. */
#define AEG_REPLICA_CTL_META_LABELS 9u
/* META_SHARD_STATE: arg[0] shard, arg[1] its state (enum aeg_shard_state):
 * the "state/<i>" record (forwarded to the meta voters from elsewhere). */
#define AEG_REPLICA_CTL_META_SHARD_STATE 10u
/* DROP_ORPHAN: arg[0] shard: the replica here is not on record (the slow
 * path found it so for rebalance.orphan_ms): dropped if its group still
 * knows no leader and this node does not lead it (logged). */
#define AEG_REPLICA_CTL_DROP_ORPHAN 11u
/* JOIN_ASK (worker 0 of a node started with node.join): sends this node's
 * join request (aegis/join_req.h) to worker 0 of every node of its map
 * (the members it was given). */
#define AEG_REPLICA_CTL_JOIN_ASK 12u
/* META_DEAD (worker 0 of the node whose detector the meta leader's node
 * is): arg[0..6] the nodes DOWN for membership.rereplicate_ms (0: none),
 * sent every poll while there are some: a meta voter among them gives its
 * vote to a healthy caught-up learner as a drained one does. Forgotten
 * RP_META_DEAD_MS after the last. */
#define AEG_REPLICA_CTL_META_DEAD 13u
/* SPLIT (the worker of shard arg[0] on the node leading it): arg[0] the
 * shard, arg[1] the spare shard that takes its keys from the key up,
 * arg[2] the key (a malloc'd copy: the worker frees it; NULL: the middle
 * key of the shard's range by bytes, from a sample), arg[3] its length.
 * Carried out step by step (replica_split.c), logged; refusals logged. */
#define AEG_REPLICA_CTL_SPLIT 14u
/* META_SPLIT (worker 0): arg[0] shard, arg[1] spare shard, arg[2] the key
 * (malloc'd: freed by the worker), arg[3] its length, arg[4] the hash of
 * the shard's range the copy was made of: a split's copy is done; the meta
 * leader writes the new range table ("ranges"), refused (logged) unless
 * the shard's range is still that one, the key strictly inside it, and the
 * spare has none (forwarded to the meta voters from elsewhere). */
#define AEG_REPLICA_CTL_META_SPLIT 15u
/* MERGE (the worker of shard arg[0] on the node leading it): arg[0] the
 * shard whose range joins the one before it, arg[1] that one's shard (same
 * worker index). META_MERGE (worker 0): arg[0] the shard, arg[1] the one
 * before it, arg[2] the hash of the shard's range: its merge's copy is
 * done, the meta leader writes the table without its range (while both
 * are still so). */
#define AEG_REPLICA_CTL_MERGE 16u
#define AEG_REPLICA_CTL_META_MERGE 17u
#define AEG_REPLICA_ZONE_BYTES 32

/* A range split (or merge) this worker carries out (replica_split.c): one at a time. */
enum aeg_replica_split_phase {
	AEG_SPLIT_IDLE = 0,
	AEG_SPLIT_LEAD,      /* the spare's leadership comes here */
	AEG_SPLIT_FENCE,     /* writes from the key up are fenced off in the shard */
	AEG_SPLIT_COPY,      /* its keys from the key up go into the spare's log */
	AEG_SPLIT_SETTLE,    /* until the spare applied the last of them */
	AEG_SPLIT_RECORD,    /* the new range table asked of the meta group */
};
const char *aeg_replica_split_phase_name(uint8_t phase);
#define AEG_REPLICA_SPLIT_KEY_MAX 1024u  /* = AEG_SHARD_SPLIT_BYTES_MAX */

struct aeg_replica_split_status {
	uint8_t phase;           /* enum aeg_replica_split_phase */
	bool merge;              /* a merge: from's range joins to's */
	uint64_t bounds;         /* from's range the copy was made of (aeg_shard_range_hash) */
	uint32_t from, to;
	uint32_t key_len;
	uint8_t key[AEG_REPLICA_SPLIT_KEY_MAX];
	uint64_t copied, copied_bytes;  /* keys (and their bytes) proposed into the spare */
	uint64_t ms;             /* since it started */
	uint64_t started, done, failed;
	uint64_t unfenced, dropped_from;  /* stale fences lifted, moved keys dropped after a split */
};

/* A node that joined after the cluster formed ("joined" record). */
struct aeg_replica_joined {
	uint32_t node;
	uint32_t ipv4;       /* host order */
	uint16_t port;       /* UDP base port */
};
#define AEG_REPLICA_JOINED_MAX 16

/* A move this worker started or ended, and the shard's voters once it is
 * done (the node relays them to the meta group: "state/<i>", "shard/<i>"). */
enum { AEG_REPLICA_PLACED_VOTERS = 0, AEG_REPLICA_PLACED_STARTED = 1, AEG_REPLICA_PLACED_ENDED = 2,
       AEG_REPLICA_PLACED_STATE = 3 };
struct aeg_replica_placed {
	uint8_t kind;        /* VOTERS: the voters below; STARTED / ENDED: a move of the shard began / is
			      * over; STATE: the shard's state is `state` (a split's) */
	uint8_t state;       /* STATE: enum aeg_shard_state */
	uint32_t shard;
	uint8_t n;
	uint32_t voters[5];
};
#define AEG_REPLICA_PLACED_RING 32

/* The meta group's records as this worker's replica has applied them. */
struct aeg_replica_meta_status {
	bool here;           /* this worker holds a meta replica */
	uint8_t role;        /* enum aeg_raft_role */
	uint32_t lead;
	uint64_t term;
	uint64_t epoch;      /* applied index: grows with every record */
	uint64_t proposed, dropped, forwarded;
	bool rebalance_paused;   /* the "rebalance" record says paused */
	uint64_t place_index;    /* entry of the newest "shard/<i>" record (0: none) */
	uint64_t ranges_index;   /* entry of the "ranges" record (0: none; aeg_replica_meta_ranges) */
	uint32_t shards_recorded; /* shards with a "shard/<i>" record */
	uint32_t shards_migrating;   /* "state/<i>" says migrating */
	uint64_t shard_state_changes; /* changes of "state/<i>" records seen here */
	uint32_t n_voters;        /* the meta group's voters now (its config) */
	uint32_t voters[AEG_REPLICA_META_VOTERS_MAX];
	uint32_t n_joined;        /* the "joined" record */
	uint64_t joined_index;    /* its entry (0: none) */
	struct aeg_replica_joined joined[AEG_REPLICA_JOINED_MAX];
	uint32_t n_nodes;
	struct {
		uint32_t node;
		uint8_t state;   /* enum aeg_node_state; 0xff: none recorded */
		uint64_t index;  /* the entry that recorded it */
		uint32_t weight; /* its "labels/<id>" record: 0 none */
		char zone[AEG_REPLICA_ZONE_BYTES];
	} nodes[AEG_REPLICA_META_NODES_MAX];
};

struct aeg_replica_peer_status {
	uint32_t node;
	uint64_t rx_msgs;    /* grows while the node is heard */
};

struct aeg_replica_status {
	uint32_t worker;
	uint64_t map_epoch;  /* of the map this worker routes by */
	uint32_t groups, active_groups;
	uint64_t wal_syncs, wal_bytes, wal_records, wal_batches, wal_sync_ns, wal_fill_ns, wal_report_ns;
	int wal_failed;
	uint64_t client_dgrams, client_drops, client_reqs, client_replies;
	uint64_t writes_ok, reads_ok, redirects, busy;
	uint64_t scans, scan_keys;  /* SCAN reads answered, keys they returned */
	uint64_t log_full;  /* proposals that found the Raft log window full */
	uint64_t write_ns;             /* sum over writes_ok: arrival -> answer */
	uint64_t raft_msgs_in, raft_msgs_out, raft_bad;
	uint64_t raft_bytes_per_group, driver_bytes;
	uint64_t snapshots_taken, snapshots_installed;
	uint64_t snapshots_kept;         /* older snapshots kept for a follower's stream */
	uint64_t snapshots_off_loop;     /* of snapshots_taken: serialized by the snapshot thread */
	uint64_t local_dgrams, local_replies, local_drops; /* embedded clients (local_chan.h) */
	struct aeg_gd_stats gd;
	uint32_t n_peers;
	struct aeg_replica_peer_status peers[AEG_REPLICA_PEERS_MAX];
	struct aeg_replica_meta_status meta;
	uint64_t moves_started, moves_done, moves_failed, replicas_created, replicas_dropped;
	uint32_t n_moves;
	struct aeg_replica_move_status moves[8];
	/* Worker 0: the last join request heard (aegis/join_req.h), join_seq
	 * counting them; the control plane relays new ones to the meta group. */
	uint64_t join_seq;
	uint32_t join_id, join_ipv4;
	uint16_t join_port;
	uint64_t join_refused;  /* datagrams that looked like one but did not verify */
	struct aeg_replica_split_status split;
	uint64_t placed_seq;  /* moves finished here; the last ones in placed[seq % RING] */
	struct aeg_replica_placed placed[AEG_REPLICA_PLACED_RING];
};

/* Embedded mode (replica_local.c): the in-process channels of this worker
 * (local_chan.h), polled every iteration. Before the worker starts. */
struct aeg_local_chans;
void aeg_replica_set_local(struct aeg_replica *rp, struct aeg_local_chans *lc);

/* From any thread, where the worker holds a meta replica: the placement
 * the meta records give (the map's replicas, overridden by "shard/<i>"
 * records), shard_count x replication_factor ids, shard by shard, as of
 * the last status. Returns the meta epoch of the copy, 0 if none. */
uint64_t aeg_replica_meta_placement(struct aeg_replica *rp, uint32_t *out, size_t n);
/* Likewise each shard's recorded state (enum aeg_shard_state), shard_count
 * of them. Returns the meta epoch of the copy, 0 if none. */
uint64_t aeg_replica_meta_states(struct aeg_replica *rp, uint32_t *out, size_t n);

/* Likewise the "ranges" record (a range map's table after splits,
 * aeg_shard_ranges_encode) into buf: its entry, 0 if none (or larger than
 * cap); *len its length. */
uint64_t aeg_replica_meta_ranges(struct aeg_replica *rp, uint8_t *buf, size_t cap, size_t *len);
#define AEG_REPLICA_RANGES_BYTES_MAX (64u << 10)

/* From any thread: the last published status. Fills up to max groups and
 * returns how many the worker has. */
uint32_t aeg_replica_status_read(struct aeg_replica *rp, struct aeg_replica_status *st,
				 struct aeg_replica_group_status *groups, uint32_t max);

#endif
