/* Internals shared by replica.c (groups, log, recovery, status),
 * replica_client.c (requests, answers) and replica_snap.c. */
#ifndef AEGIS_DATAPLANE_REPLICA_INT_H
#define AEGIS_DATAPLANE_REPLICA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/client_proto.h"
#include "aegis/client_reasm.h"
#include "aegis/group_driver.h"
#include "aegis/kv.h"
#include "aegis/shard.h"
#include "aegis/wal_recovery.h"
#include "payload_pool.h"
#include "snap_writer.h"
#include "replica.h"
#include "aegis/wal_log.h"

#define RP_PENDING_MAX 16384     /* writes and reads in flight per worker */
#define RP_READS_MAX 4096        /* of which reads (they keep their key) */
#define RP_STAGE_BYTES (8u << 20)/* proposals of one iteration */
#define RP_STAGE_ITEMS 8192
#define RP_REPLY_SLOTS 16        /* clients answered in one iteration */
#define RP_REQUEST_TIMEOUT_MS 5000
#define RP_STATUS_PERIOD_NS 100000000ull
/* Raft appends fit one 1472-byte frame: many small messages share frames
 * and leave at once, while the worker's fragmentation (two large messages
 * in flight per peer stream) is kept for entries larger than a frame. */
#define RP_APPEND_BYTES_MAX 1200u
#define RP_APPEND_ROOM (AEG_CLIENT_DGRAM_BYTES_DEFAULT - RP_APPEND_BYTES_MAX) /* headers, tag */
#define RP_POOL_CACHE_BYTES (256ull << 20)
#define RP_SNAP_SLOT_BYTES (256u << 20)    /* largest snapshot received */
#define RP_REASM_SLOTS 8           /* large client values arriving at once */
#define RP_SCANS_MAX 16            /* SCAN reads in flight per worker (each walks a shard) */
#define RP_META_DEAD_MS 1000       /* a META_DEAD list holds this long unless sent again */
#define RP_META_PROPS 16           /* the meta leader's proposals remembered for comparisons */

enum rp_kind { RP_FREE = 0, RP_WRITE, RP_READ };

/* A client request waiting on Raft: a write (until its entry is applied,
 * durable on the leader, or on every voter) or a read (until its read
 * index is confirmed and applied). Linked per group in index order. */
struct rp_pending {
	uint32_t next;           /* pool index + 1; 0 = end */
	uint8_t kind;            /* enum rp_kind */
	uint8_t op;              /* enum aeg_client_op */
	uint8_t level;           /* ONE, QUORUM, ALL */
	bool replied;
	bool applied;
	bool read_ready;
	uint32_t group;
	uint64_t index, term;    /* write: its entry; read: the read index */
	uint32_t ipv4;
	uint16_t port;
	uint64_t client_id, seq;
	uint64_t born_ms;
	uint64_t born_ns;         /* loop clock at arrival (stats: time in the node) */
	struct aeg_kv_result res;
	uint64_t read_ctx;       /* reads: the ReadIndex context */
	uint32_t read_slot;      /* reads: key storage */
	uint32_t key_len;
	uint32_t scan_slot;      /* SCAN reads: their args, + 1 (0: none) */
};

/* A meta record proposed by the meta leader (hashes of key and value). */
struct rp_meta_prop {
	uint64_t key_hash, val_hash, index, term;
};

/* A SCAN waiting for its read index: the range's end and its limits (the
 * start is the read's key). */
struct rp_scan_args {
	uint32_t end_len, limit, bytes_max;
};

struct rp_shard {
	uint32_t shard, group;
	struct aeg_kv *kv;
	uint32_t pend_head, pend_tail;   /* pending list, pool index + 1 */
	uint32_t n_pending;
	uint32_t n_one;                  /* ONE-level writes not yet answered */
	uint32_t staged_first;           /* first staged item + 1 (this iteration) */
	uint32_t staged_last;
	bool on_stage_list;
	uint64_t snap_index;             /* our newest snapshot (Raft sends it) */
	struct snap_buf *snap;           /* its bytes, shared with the file writer */
	struct snap_buf *snap_kept;      /* an older one Raft still streams to a follower */
	uint64_t snap_kept_index;
	bool want_snapshot;              /* snapshot_every reached, a follower needs one, or the log is pinned */
	uint32_t applied_since_compact;
	uint64_t applied_bytes_since_compact;
	bool on_work;                    /* on the worker's work list */
	uint64_t install_seq;            /* an install finishing off the loop (rp->install_seq then), 0: none */
	uint64_t install_ns;             /* when it was handed over */
	uint64_t install_loop_ns;        /* the loop's part of it (the copy) */
	uint64_t take_seq;               /* a snapshot serialized off the loop (a view of kv open), 0: none */
	uint64_t take_ns;
	uint64_t seen_term;              /* last published: to log changes */
	uint32_t seen_lead;
	uint64_t created_index;          /* made by a CREATE: its config's index (else 0) */
	bool drop_pending;               /* to be dropped on the next tick (replica_place.c) */
	uint32_t drop_hint;              /* where its requests go then */
	/* range splits (replica_split.c), led here */
	uint64_t fence_stale_ms;         /* fenced, the map not showing a split at the fence, since */
	uint64_t leftover_ms;            /* a spare shard holding keys, since */
	uint64_t dropped_term;           /* the term a DROP_FROM at the fence was proposed in */
};

/* The range split this worker carries out (replica_split.c). */
struct rp_split {
	uint8_t phase;                   /* enum aeg_replica_split_phase */
	uint32_t from, to;
	uint8_t *key, *cursor, *hi;      /* key_bytes_max + 1 each */
	uint32_t key_len, cursor_len, hi_len;  /* hi_len 0: +inf */
	uint64_t bounds;                 /* from's range when fenced (aeg_shard_range_hash) */
	uint64_t from_term, to_term;     /* the terms we lead them in */
	bool merge;                      /* from's range joins to's (the one before it) */
	int copy_refused;                /* a copy applied with this status (enum aeg_kv_status; 0: none) */
	uint64_t fence_index, last_index, to_index;
	uint64_t copied, copied_bytes;
	uint64_t started_ms, phase_ms, sent_ms, lost_ms, step_ms;
	uint8_t *buf, *vbuf;             /* commands of one page; one COPY_BATCH's value */
	size_t buf_cap, vbuf_cap;
	uint64_t entries;                /* COPY_BATCH entries proposed */
	uint64_t started, done, failed, unfenced, dropped_from;
	uint64_t sweep_ms;
};

/* A move this worker's leader carries out (replica_place.c). */
struct rp_move {
	bool active;
	bool dropped;            /* the source confirmed its replica is gone */
	bool placed;             /* its voters went to the meta records */
	uint8_t last_action;     /* enum aeg_move_action; 0xff: none yet */
	uint8_t drops_sent;
	uint32_t shard, from, to;
	uint64_t started_ms, last_send_ms;
};
#define RP_MOVES_MAX 8

/* A shard whose replica left this worker: its requests are redirected. */
struct rp_moved {
	bool valid;
	uint32_t shard, hint;
};
#define RP_MOVED_MAX 64

struct rp_staged {
	uint32_t next;       /* staged item + 1 */
	uint32_t off, len;   /* in the stage buffer */
	uint32_t pending;    /* pool index + 1 */
};

struct rp_reply {
	bool open;
	uint32_t ipv4;
	uint16_t port;
	uint64_t client_id;
	struct aeg_client_builder b;
	uint8_t *buf;
};

/* Node-level liveness of a peer, as this worker sees it: any message
 * counts; a quiet link gets a keepalive every heartbeat. A peer silent for
 * longer than the election timeout wakes the quiet groups it leads. */
struct rp_peer {
	uint32_t node;
	uint64_t last_rx_ms, last_tx_ms;
	bool down;
	bool heard;           /* anything received since start */
	uint64_t rx_msgs;     /* messages received: a heartbeat for lib/membership */
};

#define RP_PEERS_MAX 64

struct aeg_replica {
	uint64_t log_bytes_max;          /* each group's Raft payload quota */
	uint32_t shards_cap;             /* slots in shards[] (a free one has kv == NULL) */
	struct rp_move moves[RP_MOVES_MAX];
	uint64_t moves_started, moves_done, moves_failed, place_created, place_dropped;
	uint64_t place_tick_ms;
	uint32_t drops_pending;          /* shards marked drop_pending */
	struct rp_moved moved[RP_MOVED_MAX];
	uint32_t n_moved_next;
	uint64_t placed_seq;
	struct aeg_replica_placed placed[AEG_REPLICA_PLACED_RING];
	/* meta replica here: the placement its records give (replica_meta.c) */
	uint32_t *meta_place;            /* shard_count x rf, then each shard's state */
	uint64_t meta_place_epoch;       /* applied index it was built at */
	bool meta_paused;
	uint32_t meta_shards_recorded;
	uint32_t meta_shards_migrating;
	uint64_t meta_state_changes;     /* "state/<i>" records applied here */
	uint32_t *pub_place[2];          /* published with the status (seqlock) */
	uint64_t pub_place_epoch[2];
	struct rp_shard *meta;           /* the meta group's replica here, or NULL */
	/* nodes that joined after the cluster formed (the "joined" record) */
	struct aeg_replica_joined meta_joined[AEG_REPLICA_JOINED_MAX];
	uint32_t meta_n_joined;
	uint32_t meta_dead[7];           /* META_DEAD: nodes DOWN long enough to lose a meta vote */
	uint64_t meta_dead_ms;           /* when they were last sent */
	uint64_t meta_joined_index;      /* the "joined" record's entry */
	uint64_t meta_join_index;        /* the last "joined" proposal's entry (leader) */
	/* The meta leader's last proposals, not yet applied maybe: a request
	 * is compared with the newest one of its key (a state that flips
	 * migrating -> active in one poll must not meet the old record). */
	struct rp_meta_prop meta_props[RP_META_PROPS];
	uint32_t meta_props_next;
	uint64_t meta_learner_ms;        /* the last learner added to the meta group */
	uint64_t meta_tick_ms;           /* the last rp_meta_tick that looked */
	uint64_t meta_proposed, meta_dropped, meta_forwarded;
	struct aeg_replica_config cfg;
	char dir[4096];
	struct aeg_wal *wal;
	struct aeg_gd *gd;
	struct aeg_worker *w;            /* set on the first callback */
	struct rp_shard **by_group;      /* group id -> shard, groups_max */
	uint32_t groups_max;
	struct rp_shard *shards;
	uint32_t n_shards;
	uint32_t *campaign;              /* new cluster: groups we lead first, staggered */
	uint32_t n_campaign, campaign_next;
	uint64_t campaign_wait_since_ms;  /* first campaign attempt: peers not all heard yet */
	uint32_t *work;                  /* shards with something to do after a process: indexes */
	uint32_t n_work;
	uint64_t seed;
	bool debug;                      /* AEG_DEBUG set: traces of refusals (read once at start) */
	uint64_t now_ms, wall_ms, now_ns;
	uint64_t last_status_ns;
	uint64_t liveness_ms;     /* when liveness() last looked (stall detection) */
	uint64_t stall_log_ms;    /* last "stalled" log line (rate limit) */
	uint64_t last_pin_check_ms;
	uint64_t applied_since_check;

	struct rp_pending *pend;         /* RP_PENDING_MAX */
	uint32_t pend_free;              /* free list head, pool index + 1 */
	uint32_t n_pend;
	uint8_t *read_keys;              /* RP_READS_MAX x key_bytes_max */
	uint32_t *read_free;
	uint32_t n_read_free;
	uint64_t read_gen;
	uint32_t ready_reads;            /* reads confirmed, waiting to be applied: list */
	struct rp_scan_args scans[RP_SCANS_MAX];
	uint8_t *scan_ends;              /* RP_SCANS_MAX x key_bytes_max */
	uint32_t scan_free[RP_SCANS_MAX];
	uint32_t n_scan_free;
	struct aeg_kv_item *scan_items;  /* AEG_CLIENT_SCAN_LIMIT_MAX */
	uint8_t *scan_reply;             /* scan_reply_cap */
	uint32_t scan_reply_cap;
	uint32_t wait_all;               /* ALL writes applied, waiting on voters: list */
	uint64_t last_sweep_ms;

	uint8_t *stage;                  /* RP_STAGE_BYTES */
	uint32_t stage_len;
	struct rp_staged *staged;        /* RP_STAGE_ITEMS */
	uint32_t n_staged;
	uint32_t *stage_groups;          /* groups with staged items */
	uint32_t n_stage_groups;
	struct aeg_raft_payload *payloads;

	struct aeg_client_reasm reasm;   /* values larger than a datagram */
	void *reasm_mem;

	struct rp_reply replies[RP_REPLY_SLOTS];
	uint32_t dgram_cap;
	uint8_t *map_bytes;              /* the encoded shard map (MAP replies) */
	size_t map_len;
	uint8_t *map_own;                /* the start's encoding (ours to free) */
	uint64_t meta_place_index;       /* entry of the newest shard record (0: none) */

	struct payload_pool pool;        /* Raft payloads of every group */
	struct aeg_raft_snap_slot snap_slot;
	struct snap_writer sw;           /* snapshot files and installs off the loop */
	struct snap_pool snap_pool;      /* snapshot buffers kept warm */
	uint64_t install_seq;            /* installs handed to sw so far */
	struct rp_peer peers[RP_PEERS_MAX];
	uint32_t n_peers;

	struct rp_split split;
	uint8_t *meta_ranges;            /* the meta leader's new "ranges" value (AEG_REPLICA_RANGES_BYTES_MAX) */
	uint8_t *pub_ranges[2];          /* the "ranges" record, published (worker 0) */
	uint32_t pub_ranges_len[2];
	uint64_t pub_ranges_index[2];
	struct aeg_local_chans *local;   /* embedded clients, NULL: none */
	struct aeg_replica_status st;    /* worker-side counters */
	/* published status (seqlock, double buffer) */
	uint64_t pub_seq;
	struct aeg_replica_status pub_st[2];
	struct aeg_replica_group_status *pub_groups[2];
	uint32_t pub_n[2];
};

struct rp_shard *rp_shard_of(struct aeg_replica *rp, uint32_t group);
/* Puts s on the work list (snapshot wanted, window to compact, ONE-level
 * writes waiting): the loop visits only those, not every shard. */
void rp_work(struct aeg_replica *rp, struct rp_shard *s);
void rp_log(const struct aeg_replica *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int rp_send(struct aeg_replica *rp, uint32_t node, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len);

/* replica.c: a group that arrives (a CREATE: empty, conf names us a
 * learner) or leaves (its pending requests answered, the log's REMOVE
 * record durable, its snapshot file gone) while the worker runs. */
int rp_group_add(struct aeg_replica *rp, uint32_t shard, const struct aeg_raft_conf *conf, uint64_t created_index);
int rp_group_drop(struct aeg_replica *rp, struct rp_shard *s);

/* replica_place.c */
void rp_place_on_msg(struct aeg_replica *rp, uint32_t src, const uint8_t *body, uint32_t len);
void rp_place_tick(struct aeg_replica *rp);
/* quiet: asked of every voter (the rebalancer): a replica that does not
 * lead the shard says nothing. */
void rp_place_move(struct aeg_replica *rp, uint64_t shard, uint64_t from, uint64_t to, bool quiet);
/* SHARD_MOVE_ASK: the MOVE to each voter (and to ourselves). */
void rp_place_move_ask(struct aeg_replica *rp, const uint64_t *arg);
/* AEG_REPLICA_CTL_DROP_ORPHAN. */
void rp_place_drop_orphan(struct aeg_replica *rp, uint64_t shard);
void rp_place_publish(const struct aeg_replica *rp, struct aeg_replica_status *st);
/* The node that led a shard whose replica left here (0: none known). */
uint32_t rp_moved_hint(const struct aeg_replica *rp, uint32_t shard);

/* replica_split.c: SPLIT and MERGE (ctl), every tick, status, and at close. */
void rp_split_start(struct aeg_replica *rp, const struct aeg_ctl_msg *m, bool merge);
void rp_split_tick(struct aeg_replica *rp);
void rp_split_publish(const struct aeg_replica *rp, struct aeg_replica_split_status *out);
void rp_split_fini(struct aeg_replica *rp);
/* An entry of s applied with a status other than OK: a copy of the split
 * that was refused (the target's memory budget) ends the split. */
void rp_split_refused(struct aeg_replica *rp, const struct rp_shard *s, const struct aeg_raft_entry *e,
		      const struct aeg_kv_result *res);
/* AEG_PLACE_LEAD: whoever leads shard hands it to node `to`. */
void rp_split_lead_asked(struct aeg_replica *rp, uint32_t shard, uint32_t to);
/* Client reads of a fenced shard (replica_client.c): true when a key
 * [start, end) the map still gives the shard is at or past its fence. */
bool rp_split_fenced(const struct aeg_replica *rp, const struct rp_shard *s, const uint8_t *start,
		     uint32_t start_len, const uint8_t *end, uint32_t end_len, bool single);

/* replica_meta.c */
void rp_meta_on_msg(struct aeg_replica *rp, uint32_t src_node, const uint8_t *body, uint32_t len);
/* Worker 0 of every node: the meta group's replica (a voter on the meta
 * voters, a learner elsewhere, up to AEG_RAFT_CONF_MAX nodes); 1 if made. */
int rp_meta_create(struct aeg_replica *rp, struct rp_shard *s, struct aeg_raft_conf *conf);
void rp_meta_publish(struct aeg_replica *rp, struct aeg_replica_meta_status *out);
/* The placement table for slot (status_publish), rebuilt when the records changed. */
void rp_meta_place_publish(struct aeg_replica *rp, int slot);
/* Worker 0, every few ms: the meta leader adds each joined node to the
 * meta group as a learner. */
void rp_meta_tick(struct aeg_replica *rp);
/* A record the meta group applied (its kv command): counts state changes. */
void rp_meta_applied(struct aeg_replica *rp, const uint8_t *cmd, uint32_t len);
/* A new map (MAP_SET): its nodes are this worker's peers. */
void rp_peers_from_map(struct aeg_replica *rp);

/* replica_client.c */
void rp_client_datagram(struct aeg_replica *rp, const struct aeg_pkt *pkt);
/* replica_join.c: a join request heard (worker 0 publishes it), and ours
 * sent to every member (JOIN_ASK). */
void rp_join_heard(struct aeg_replica *rp, const struct aeg_pkt *pkt);
void rp_join_ask(struct aeg_replica *rp);
void rp_propose_staged(struct aeg_replica *rp);
/* An entry of group was applied with result res (NULL: not a client write). */
void rp_client_applied(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_raft_entry *e,
		       const struct aeg_kv_result *res);
void rp_client_read_ready(struct aeg_replica *rp, uint32_t group, uint64_t ctx, uint64_t index);
/* Answers whose condition came true (durable on the leader, on all voters,
 * read applied) and timeouts. */
void rp_client_check(struct aeg_replica *rp);
/* ONE-level writes of s now durable on the leader; true while some wait. */
bool rp_client_check_one(struct aeg_replica *rp, struct rp_shard *s);
void rp_replies_flush(struct aeg_replica *rp);
int rp_client_init(struct aeg_replica *rp);
void rp_client_fini(struct aeg_replica *rp);
/* The group leaves: its requests in flight are answered (NOT_LEADER with
 * hint) and released. */
void rp_client_drop_group(struct aeg_replica *rp, struct rp_shard *s, uint32_t hint);

/* replica_local.c: requests from the local channels into
 * rp_client_datagram (count), and an answer to AEG_LOCAL_IPV4:chan. */
uint32_t rp_local_poll(struct aeg_replica *rp);
int rp_local_reply(struct aeg_replica *rp, uint16_t chan, const uint8_t *d, uint32_t len);

/* replica_snap.c */
int rp_snapshot_take(struct aeg_replica *rp, struct rp_shard *s);
uint64_t rp_snapshot_due(const struct aeg_replica *rp, const struct rp_shard *s);
/* Drops applied entries from the Raft log window (keeping a tail for
 * followers a little behind). */
bool rp_compact(struct aeg_replica *rp, struct rp_shard *s);
/* A quarter of the window (entries) or of the payload quota applied since
 * the last compaction. */
static inline bool rp_compact_due(const struct aeg_replica *rp, const struct rp_shard *s)
{
	uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
	return s->applied_since_compact >= window / 4 || s->applied_bytes_since_compact >= rp->log_bytes_max / 4;
}
/* Periodic: marks shards whose snapshot a follower needs (the log no
 * longer reaches back to it) or whose entries pin the oldest log segment. */
void rp_snapshot_needs(struct aeg_replica *rp);
/* Snapshot files the writer finished: log marker, log compaction. */
void rp_snapshot_files_done(struct aeg_replica *rp);
void rp_snapshot_kept_check(struct aeg_replica *rp, struct rp_shard *s);
int rp_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len, uint64_t *ticket);
int rp_recover_group(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_wal_recovery *rec);

#endif
