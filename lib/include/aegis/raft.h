/* aegis/raft.h — one Raft group as an I/O-free state machine (etcd/raft
 * shape). The caller owns disk, network and clock:
 *
 *   inputs:  aeg_raft_step(msg), aeg_raft_tick(), aeg_raft_propose(batch),
 *            aeg_raft_read_index(ctx), aeg_raft_persisted(index, term)
 *   outputs: aeg_raft_ready() hands out one batch: hard state and entries to
 *            persist, messages to send, committed entries to apply, read
 *            states; aeg_raft_advance() says the batch was taken.
 *
 * Processing one ready (see aeg_raft_ready for the exact contract):
 *   1. send rd.msgs_now (leader appends/heartbeats: safe before our write);
 *   2. write rd.hs (if rd.hs_changed) and entries [persist_lo, persist_hi]
 *      (writing index i first drops every stored entry >= i);
 *   3. once durable: aeg_raft_persisted(r, persist_hi, term), then send
 *      rd.msgs (votes and acks: they promise what is now on disk);
 *   4. apply entries [apply_lo, apply_hi]; aeg_raft_advance(r, &rd).
 * Steps 2-3 may complete later (group commit across many groups): the caller
 * copies what it needs, calls aeg_raft_advance() and keeps feeding inputs;
 * it then must hold rd.msgs back until that write is durable.
 *
 * Entries to apply never go beyond what is durable here, so applying in
 * step 4 is safe even while the write of step 2 is still in flight.
 *
 * Sizes are fixed at aeg_raft_init() (see struct aeg_raft_config): the log
 * window holds at most log_entries_max entries (40 bytes each) whose
 * payloads live in a group-owned byte arena of log_bytes_max bytes; the
 * outbox holds outbox_max messages of each kind (~140 bytes each); each of
 * peers_max + 1 progress slots has inflight_max appends in flight (8 bytes
 * each); reads_max pending reads; a snapshot_bytes_max receive buffer.
 * With the defaults that is about 2.3 MiB per group, mostly the 1 MiB arena
 * and the 1 MiB snapshot buffer: a worker with thousands of groups sizes
 * them down. Nothing is allocated after init. A full structure makes the
 * operation return -ENOBUFS (proposals, reads) or drops the message
 * (outgoing messages: Raft tolerates loss; counted in msgs_dropped).
 *
 * Errors are negative errno values: -EINVAL (bad argument or message),
 * -EPERM (not the leader), -EBUSY (leadership transfer or config change in
 * progress), -EAGAIN (read before the leader committed in its term),
 * -ENOBUFS (log window, arena or read queue full), -EMSGSIZE (payload
 * larger than the arena), -ENOMEM (init only). */
#ifndef AEGIS_RAFT_H
#define AEGIS_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AEG_RAFT_NONE 0u         /* "no node": node ids start at 1 */
#define AEG_RAFT_CONF_MAX 16     /* members (voters + learners) of one config */

enum aeg_raft_role {
	AEG_RAFT_FOLLOWER = 0,
	AEG_RAFT_PRE_CANDIDATE = 1,
	AEG_RAFT_CANDIDATE = 2,
	AEG_RAFT_LEADER = 3,
};

enum aeg_raft_entry_type {
	AEG_RAFT_ENTRY_NORMAL = 0,
	AEG_RAFT_ENTRY_NOOP = 1,  /* appended by a new leader (commits its term) */
	AEG_RAFT_ENTRY_CONF = 2,  /* payload: aeg_raft_conf_encode() */
};

/* A log entry. `data` points into the group's arena and stays valid until
 * the next call that can truncate or compact the log (any input). */
struct aeg_raft_entry {
	uint64_t term;
	uint64_t index;
	const uint8_t *data;
	uint32_t len;
	uint32_t type;
};

/* One proposed payload (copied into the arena by aeg_raft_propose). */
struct aeg_raft_payload {
	const void *data;
	uint32_t len;
	uint32_t type;  /* NORMAL; CONF via aeg_raft_propose_conf */
};

/* Membership: voters of the incoming config, voters of the outgoing config
 * (non-empty only in a joint config), and learners. */
enum aeg_raft_member_role {
	AEG_RAFT_MEMBER_VOTER = 1,     /* voter in the (incoming) config */
	AEG_RAFT_MEMBER_VOTER_OUT = 2, /* voter in the outgoing config (joint) */
	AEG_RAFT_MEMBER_LEARNER = 4,
};

struct aeg_raft_conf {
	uint32_t n;
	uint32_t ids[AEG_RAFT_CONF_MAX];
	uint8_t roles[AEG_RAFT_CONF_MAX];  /* aeg_raft_member_role bits */
};

enum aeg_raft_msg_type {
	AEG_RAFT_MSG_APPEND = 1,
	AEG_RAFT_MSG_APPEND_RESP = 2,
	AEG_RAFT_MSG_VOTE = 3,
	AEG_RAFT_MSG_VOTE_RESP = 4,
	AEG_RAFT_MSG_PRE_VOTE = 5,
	AEG_RAFT_MSG_PRE_VOTE_RESP = 6,
	AEG_RAFT_MSG_HEARTBEAT = 7,
	AEG_RAFT_MSG_HEARTBEAT_RESP = 8,
	AEG_RAFT_MSG_SNAPSHOT = 9,      /* one chunk of a snapshot */
	AEG_RAFT_MSG_TIMEOUT_NOW = 10,  /* leadership transfer: campaign now */
	AEG_RAFT_MSG_TYPE_MAX = 10,
};

/* A message. Fields are reused by type:
 *   APPEND:       index/log_term = previous entry, entries follow it, commit
 *   APPEND_RESP:  index = last matching index, or (reject) the rejected
 *                 prev index with hint/log_term = the follower's best guess
 *   (PRE_)VOTE:   index/log_term = candidate's last entry; ctx = 1 for a
 *                 transfer (ignore the leader lease)
 *   HEARTBEAT(_RESP): commit; ctx = read-index round (0 = none)
 *   SNAPSHOT:     snap meta, chunk [snap_offset, +snap_len) of snap_total;
 *                 its response is an APPEND_RESP (index = snap_index when
 *                 installed, reject with hint = bytes received so far). */
#define AEG_RAFT_MSG_FLAG_QUIESCE 1u  /* HEARTBEAT: the group goes quiet */

struct aeg_raft_msg {
	uint32_t type;
	uint32_t flags;
	uint32_t from;
	uint32_t to;
	bool reject;
	uint64_t term;
	uint64_t log_term;
	uint64_t index;
	uint64_t commit;
	uint64_t hint;
	uint64_t ctx;
	uint32_t n_entries;
	const struct aeg_raft_entry *entries;
	/* snapshot chunk */
	uint64_t snap_index;
	uint64_t snap_term;
	uint64_t snap_total;
	uint64_t snap_offset;
	uint32_t snap_len;
	const uint8_t *snap_data;
	const struct aeg_raft_conf *snap_conf;
};

struct aeg_raft_hard_state {
	uint64_t term;
	uint32_t vote;
	uint64_t commit;  /* advisory: restart may resume from it */
};

/* A linearizable read: once the state machine has applied `index`, reads
 * issued with `ctx` may be served. */
struct aeg_raft_read_state {
	uint64_t ctx;
	uint64_t index;
};

struct aeg_raft_config {
	uint32_t id;                   /* this node, != AEG_RAFT_NONE */
	uint64_t seed;                 /* election timeout randomness of this group */
	uint32_t election_ticks_min;   /* randomized timeout in [min, max) */
	uint32_t election_ticks_max;
	uint32_t heartbeat_ticks;
	uint32_t peers_max;            /* progress slots incl. self (<= AEG_RAFT_CONF_MAX) */
	uint32_t log_entries_max;      /* log window, power of two */
	uint64_t log_bytes_max;        /* payload arena */
	uint32_t outbox_max;           /* messages per ready, each of now/late */
	uint32_t inflight_max;         /* appends in flight per follower */
	uint32_t batch_entries_max;    /* entries per append message */
	uint32_t batch_bytes_max;      /* payload bytes per append message */
	uint32_t reads_max;            /* pending read-index requests */
	uint32_t snapshot_bytes_max;   /* receive buffer for an incoming snapshot */
	uint32_t snapshot_chunk_bytes; /* bytes per snapshot message */
	bool pre_vote;
	bool check_quorum;
	bool lease_read;               /* needs check_quorum */
	uint32_t quiesce_ticks;        /* idle ticks before going quiet (0: never) */
};

/* Defaults: 150/300/50 ms timeouts expressed in ticks of tick_ms, 5 peers,
 * 4096 entries, 1 MiB arena, pre-vote and check-quorum on. */
void aeg_raft_config_default(struct aeg_raft_config *cfg, uint32_t id,
			     uint64_t seed, uint32_t tick_ms);

/* Everything the caller may need from one batch; see the top comment. */
struct aeg_raft_ready {
	struct aeg_raft_hard_state hs;
	bool hs_changed;
	uint64_t persist_lo, persist_hi;   /* entries to write; lo > hi: none */
	uint64_t apply_lo, apply_hi;       /* entries to apply; lo > hi: none */
	const struct aeg_raft_msg *msgs_now;
	uint32_t n_msgs_now;
	const struct aeg_raft_msg *msgs;   /* send after the write is durable */
	uint32_t n_msgs;
	const struct aeg_raft_read_state *reads;
	uint32_t n_reads;
	/* Snapshot to install before applying anything else: restore the state
	 * machine from snap_data, persist it (with snap_conf) as the new log
	 * base; every stored entry <= snap_index is dropped. Report the write
	 * with aeg_raft_persisted(persist_hi or, without entries, snap_index,
	 * and the matching term). */
	bool snap_install;
	uint64_t snap_index, snap_term;
	const uint8_t *snap_data;
	uint32_t snap_len;
	const struct aeg_raft_conf *snap_conf;
};

struct aeg_raft_status {
	uint32_t id;
	enum aeg_raft_role role;
	uint32_t lead;
	uint64_t term;
	uint32_t vote;
	uint64_t commit;
	uint64_t applied;
	uint64_t persisted;
	uint64_t first_index, last_index;
	uint64_t msgs_dropped;
};

/* Progress of one follower as the leader sees it. */
enum aeg_raft_progress_state {
	AEG_RAFT_PROBE = 0,
	AEG_RAFT_REPLICATE = 1,
	AEG_RAFT_SNAPSHOTTING = 2,
};

struct aeg_raft_progress {
	uint32_t id;
	uint8_t roles;            /* aeg_raft_member_role bits */
	uint8_t state;            /* aeg_raft_progress_state */
	uint8_t vote;             /* 0 none, 1 granted, 2 rejected */
	bool probe_sent;
	bool recent_active;
	uint64_t read_round;      /* latest heartbeat round acknowledged */
	uint64_t match, next;
	uint64_t snap_index;      /* snapshot being sent */
	uint64_t snap_offset;     /* bytes of it acknowledged */
	uint32_t infl_start, infl_count;
	uint64_t *infl;           /* last index of each append in flight */
};

struct aeg_raft_pending_read {
	uint64_t ctx;
	uint64_t index;
	uint64_t round;           /* heartbeat round that confirms it */
};

/* One group. Fields are private: use the functions. */
struct aeg_raft {
	struct aeg_raft_config cfg;
	uint32_t id;
	enum aeg_raft_role role;
	uint64_t term;
	uint32_t vote;
	uint32_t lead;
	uint64_t commit;
	uint64_t restore_commit;  /* hard state's commit, during a restart */
	uint64_t applied;         /* handed out to apply */
	uint64_t persisted;       /* our log is durable up to here */
	uint64_t unstable;        /* first index not yet handed out to persist */
	bool hs_dirty;
	uint64_t rng;
	uint32_t election_elapsed;
	uint32_t heartbeat_elapsed;
	uint32_t since_leader;    /* ticks since a leader was heard; 0 at boot */
	uint32_t idle_ticks;      /* leader: ticks without anything to do */
	bool quiescent;
	uint64_t ticks;           /* local clock, for leases */
	uint32_t randomized_timeout;
	uint32_t transferee;      /* leadership transfer target */
	uint32_t transfer_elapsed;
	uint64_t pending_conf;    /* leader: index of the last conf change */
	uint64_t leader_safe_from;/* leader: "now" messages wait until persisted >= this */
	struct aeg_raft_conf conf;
	uint64_t conf_index;      /* index of the entry conf came from */
	struct aeg_raft_conf base_conf;  /* config at the log's base (snapshot) */

	/* log window: entries [first, last], ring of log_entries_max slots */
	struct aeg_raft_entry *ring;
	uint64_t *ring_pos;       /* arena position of each entry's payload */
	uint64_t first, last;
	uint64_t snap_index, snap_term;
	uint8_t *arena;
	uint64_t arena_head, arena_tail;

	struct aeg_raft_progress *prs;
	uint32_t n_prs;
	uint64_t *scratch;        /* peers_max, for the commit quorum */

	struct aeg_raft_msg *out_now, *out_late;
	uint32_t n_out_now, n_out_late;
	uint32_t taken_now, taken_late;
	uint64_t msgs_dropped;

	struct aeg_raft_pending_read *reads;
	uint32_t n_reads;
	uint64_t read_round;
	uint64_t round_tick[16];  /* send tick of recent rounds (leases) */
	struct aeg_raft_read_state *read_states;
	uint32_t n_read_states, taken_read_states;

	/* snapshots: ours (caller-owned bytes) and one being received */
	uint64_t own_snap_index, own_snap_term;
	const uint8_t *snap_data;
	uint32_t snap_len;
	struct aeg_raft_conf snap_conf;
	uint8_t *recv_buf;
	uint64_t recv_index, recv_term, recv_len;
	struct aeg_raft_conf recv_conf;
	bool recv_ready;
};

/* Allocates the fixed-size structures. The group starts as a follower at
 * term 0 with an empty log and the given initial configuration (used when
 * the log has no conf entry and no snapshot). */
int aeg_raft_init(struct aeg_raft *r, const struct aeg_raft_config *cfg,
		  const struct aeg_raft_conf *initial);
void aeg_raft_fini(struct aeg_raft *r);

/* Restart from storage, before any other input: the persisted hard state,
 * then optionally a snapshot base, then the persisted entries in order. */
int aeg_raft_restore_hard_state(struct aeg_raft *r, const struct aeg_raft_hard_state *hs);
int aeg_raft_restore_entry(struct aeg_raft *r, uint64_t term, uint64_t index,
			   uint32_t type, const void *data, uint32_t len);

int aeg_raft_step(struct aeg_raft *r, const struct aeg_raft_msg *m);
void aeg_raft_tick(struct aeg_raft *r);
/* Leader only: appends the batch (all or nothing). *first_index gets the
 * index of the first entry (may be NULL). */
int aeg_raft_propose(struct aeg_raft *r, const struct aeg_raft_payload *batch,
		     uint32_t n, uint64_t *first_index);
/* The caller's write of entries up to (index, term) is durable. A report for
 * an entry that was since overwritten is ignored. */
void aeg_raft_persisted(struct aeg_raft *r, uint64_t index, uint64_t term);
/* ReadIndex (ctx != 0, unique per request): a read state {ctx, index}
 * comes out in a later ready once a quorum confirmed our leadership (or at
 * once under a valid lease). -EPERM not leader, -EAGAIN no entry of our term
 * committed yet (retry shortly), -ENOBUFS reads_max pending. */
int aeg_raft_read_index(struct aeg_raft *r, uint64_t ctx);
/* Hands leadership to `to` (a voter). Proposals get -EBUSY meanwhile. */
int aeg_raft_transfer_leader(struct aeg_raft *r, uint32_t to);
/* Drops entries <= index from the log window (their payloads return to the
 * arena). index must be applied and persisted. A follower that falls behind
 * the window is sent the snapshot given by aeg_raft_snapshot_set(); without
 * one it cannot be caught up. -EINVAL if index is beyond applied/persisted. */
int aeg_raft_compact(struct aeg_raft *r, uint64_t index);
/* The caller's state machine snapshot at index == the last index handed
 * out to apply (call after applying it). The bytes stay owned by the
 * caller and must stay valid until the next aeg_raft_snapshot_set() or
 * aeg_raft_fini(); they are sent in chunks to followers the log no longer
 * covers. A snapshot installed from the leader becomes the group's own
 * (kept in its receive buffer) until the caller sets a newer one.
 * -EINVAL otherwise. */
int aeg_raft_snapshot_set(struct aeg_raft *r, uint64_t index, const void *data, uint32_t len);
/* Restart: the persisted snapshot's base (after the hard state, before any
 * entry). The caller restores its state machine from the bytes itself. */
int aeg_raft_restore_snapshot(struct aeg_raft *r, uint64_t index, uint64_t term,
			      const struct aeg_raft_conf *conf);
/* Leader: moves to `target` (voters and learners; no VOTER_OUT). A change
 * of voters goes through the joint config, left automatically once it is
 * committed. A config is in force as soon as its entry is in a node's log
 * (thesis §4.1). -EBUSY while a change is uncommitted or joint, -EPERM not
 * leader. */
int aeg_raft_propose_conf(struct aeg_raft *r, const struct aeg_raft_conf *target);
/* Binary form of a config (varint count, then varint id and u8 roles). */
int aeg_raft_conf_encode(const struct aeg_raft_conf *c, uint8_t *buf, size_t cap);
/* 0, -EMSGSIZE (truncated) or -EINVAL (duplicates, bad roles, trailing bytes). */
int aeg_raft_conf_decode(struct aeg_raft_conf *c, const uint8_t *buf, size_t len);
/* Quiescence (see quiesce.c): a quiet group ignores ticks. The caller's
 * node-level failure detector wakes the groups of a suspected node. */
void aeg_raft_wake(struct aeg_raft *r);
bool aeg_raft_quiescent(const struct aeg_raft *r);

/* Heartbeat coalescing: the HEARTBEAT(_RESP) messages of many groups bound
 * for one node travel as one frame of these. */
struct aeg_raft_hb {
	uint64_t group;
	uint32_t type;       /* AEG_RAFT_MSG_HEARTBEAT or _RESP */
	uint32_t flags;
	uint32_t from, to;
	uint64_t term, commit, ctx;
};
/* False if m is not a heartbeat (send it on its own). */
bool aeg_raft_hb_from_msg(const struct aeg_raft_msg *m, uint64_t group, struct aeg_raft_hb *h);
void aeg_raft_hb_to_msg(const struct aeg_raft_hb *h, struct aeg_raft_msg *m);
/* Returns bytes written or -ENOBUFS. */
int aeg_raft_hb_batch_encode(const struct aeg_raft_hb *hbs, uint32_t n, uint8_t *buf, size_t cap);
/* 0, -EMSGSIZE (truncated), -EINVAL (malformed), -ENOBUFS (more than max). */
int aeg_raft_hb_batch_decode(struct aeg_raft_hb *hbs, uint32_t max, uint32_t *n_out,
			     const uint8_t *buf, size_t len);
/* Start an election now (also used by tests). */
void aeg_raft_campaign(struct aeg_raft *r);

bool aeg_raft_has_ready(const struct aeg_raft *r);
void aeg_raft_ready(struct aeg_raft *r, struct aeg_raft_ready *rd);
void aeg_raft_advance(struct aeg_raft *r, const struct aeg_raft_ready *rd);

/* Entry at index, or NULL if compacted or beyond the log. */
const struct aeg_raft_entry *aeg_raft_entry_at(const struct aeg_raft *r, uint64_t index);
void aeg_raft_status(const struct aeg_raft *r, struct aeg_raft_status *st);
const struct aeg_raft_progress *aeg_raft_progress_of(const struct aeg_raft *r, uint32_t id);

#ifdef __cplusplus
}
#endif

#endif
