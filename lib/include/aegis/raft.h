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
 * Sizes are fixed at aeg_raft_new(), one allocation of
 * aeg_raft_memory_bytes(cfg) (see struct aeg_raft_config): the log window
 * holds at most log_entries_max entries (40 bytes each); their payloads
 * live in a group-owned byte arena of log_bytes_max bytes or, with
 * cfg.payload_alloc, in the caller's storage; the outbox holds outbox_max
 * messages of each kind (~150 bytes each); each of peers_max + 1 progress
 * slots has inflight_max appends in flight (8 bytes each); reads_max
 * pending reads; a snapshot_bytes_max receive buffer unless cfg.snap_slot
 * shares one per worker. With the defaults that is 2.23 MiB per group,
 * mostly the 1 MiB arena and the 1 MiB snapshot buffer; the "many groups"
 * profile (aeg_raft_config_many_groups) with a payload allocator and a
 * shared slot is 27 KiB. Nothing is allocated after aeg_raft_new()
 * except payloads through cfg.payload_alloc. A full structure makes the
 * operation return -ENOBUFS (proposals, reads) or drops the message
 * (outgoing messages: Raft tolerates loss; counted in msgs_dropped).
 *
 * Errors are negative errno values: -EINVAL (bad argument or message),
 * -EPERM (not the leader), -EBUSY (leadership transfer or config change in
 * progress), -EAGAIN (read before the leader committed in its term),
 * -ENOBUFS (log window, arena, payload quota or allocator, or read queue
 * full), -EMSGSIZE (payload larger than log_bytes_max), -ENOMEM (new only),
 * -ERANGE (index outside the log). */
#ifndef AEGIS_RAFT_H
#define AEGIS_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

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

/* A snapshot receive buffer shared by the groups of one worker (one
 * thread: no locks). The caller sets buf and cap and zeroes the rest; the
 * groups keep the other fields. A group that gets the first chunk of a
 * snapshot claims the slot when it is free; while another group holds it,
 * chunks are answered "nothing received" and the leader retries at its next
 * heartbeat, as after a loss. A holder that has not received a chunk for
 * snap_slot_idle_ticks of the claimant's ticks loses the slot (its leader
 * then starts that snapshot over). The slot is released when the install
 * comes out in a ready and the caller gives it back with aeg_raft_advance()
 * (see snap_install in struct aeg_raft_ready), when the snapshot turns out
 * to be stale, and by aeg_raft_free(). */
struct aeg_raft_snap_slot {
	uint8_t *buf;
	uint32_t cap;
	const void *owner;        /* group receiving into buf; NULL: free */
	uint64_t owner_index;     /* index of the snapshot it receives */
	uint64_t stamp;           /* bumped on every accepted chunk */
	bool handed_out;          /* in a ready, until the owner's advance */
};

/* Payload storage given by the caller (e.g. one preallocated pool for all
 * the groups of a worker). alloc returns len bytes or NULL (the entry is
 * then refused: -ENOBUFS); every block is given back exactly once, with
 * its length, when its entry leaves the log (compaction, truncation,
 * snapshot install, aeg_raft_free). Called only from the group's calls. */
typedef void *(*aeg_raft_payload_alloc_fn)(void *ctx, uint32_t len);
typedef void (*aeg_raft_payload_free_fn)(void *ctx, void *p, uint32_t len);

struct aeg_raft_config {
	uint32_t id;                   /* this node, != AEG_RAFT_NONE */
	uint64_t seed;                 /* election timeout randomness of this group */
	uint32_t election_ticks_min;   /* randomized timeout in [min, max) */
	uint32_t election_ticks_max;
	uint32_t heartbeat_ticks;
	uint32_t peers_max;            /* progress slots incl. self (<= AEG_RAFT_CONF_MAX) */
	uint32_t log_entries_max;      /* log window, power of two */
	uint64_t log_bytes_max;        /* payload arena; with payload_alloc: payload
					  bytes the log may hold (a quota) */
	uint32_t outbox_max;           /* messages per ready, each of now/late */
	uint32_t inflight_max;         /* appends in flight per follower */
	uint32_t batch_entries_max;    /* entries per append message */
	uint32_t batch_bytes_max;      /* payload bytes per append message */
	uint32_t reads_max;            /* pending read-index requests */
	uint32_t snapshot_bytes_max;   /* receive buffer for an incoming snapshot
					  (unused with snap_slot: its cap counts) */
	uint32_t snapshot_chunk_bytes; /* bytes per snapshot message */
	/* A newer snapshot set while a follower is part way through receiving
	 * the current one: keep sending it the one it started (the caller keeps
	 * those bytes until aeg_raft_snapshot_kept() stops naming them), not
	 * start it over (a large shard's stream could otherwise never end
	 * under writes). false: every stream restarts with the newest. */
	bool snapshot_keep_streams;
	bool pre_vote;
	bool check_quorum;
	bool lease_read;               /* needs check_quorum */
	uint32_t quiesce_ticks;        /* idle ticks before going quiet (0: never) */
	/* Many groups per worker (NULL: the group owns the storage). */
	struct aeg_raft_snap_slot *snap_slot;
	uint32_t snap_slot_idle_ticks; /* > 0 with snap_slot */
	aeg_raft_payload_alloc_fn payload_alloc;  /* both or neither */
	aeg_raft_payload_free_fn payload_free;
	void *payload_ctx;
};

/* Defaults: 150/300/50 ms timeouts expressed in ticks of tick_ms, 5 peers,
 * 4096 entries, 1 MiB arena, 1 MiB snapshot buffer, pre-vote and
 * check-quorum on, snap_slot_idle_ticks = 4 election timeouts (max). */
void aeg_raft_config_default(struct aeg_raft_config *cfg, uint32_t id,
			     uint64_t seed, uint32_t tick_ms);

/* The "many groups" profile (thousands of groups per worker): sets
 *   peers_max 5, log_entries_max 512, outbox_max 32, inflight_max 8,
 *   batch_entries_max 64, reads_max 8
 * and leaves the byte limits alone. With a payload allocator and a shared
 * snapshot slot also set, one group then allocates 27,808 bytes on x86-64
 * (aeg_raft_memory_bytes; an idle group must stay under 64 KiB); without
 * them it also owns a log_bytes_max arena and a snapshot_bytes_max buffer.
 * Pipelining stays at 8 appends per follower, and 512 entries is the
 * window between compactions: the caller compacts (after a snapshot when a
 * follower lags) well before it fills (proposals get -ENOBUFS meanwhile). */
void aeg_raft_config_many_groups(struct aeg_raft_config *cfg);

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
	 * and the matching term).
	 * Lifetime of snap_data: with a shared snap_slot, until this ready's
	 * aeg_raft_advance(), which releases the slot: restore or copy the
	 * bytes before it. The group then has no snapshot of its own to send
	 * until the caller sets one (aeg_raft_snapshot_set(r, snap_index, its
	 * copy), valid right after the advance). Without a slot the bytes stay
	 * in the group's buffer and it serves them on to followers until the
	 * caller sets a newer snapshot or another one starts arriving.
	 * snap_conf stays valid until the next input. */
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
	uint64_t log_bytes;       /* payload bytes the log holds, of log_bytes_max */
};

/* Progress of one follower as the leader sees it (aeg_raft_progress_of). */
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

/* One group. Opaque: its fields live in lib/raft; use the functions. */
struct aeg_raft;

/* Allocates one group in one block of aeg_raft_memory_bytes(cfg) bytes. The
 * group starts as a follower at term 0 with an empty log and the given
 * initial configuration (used when the log has no conf entry and no
 * snapshot). 0, -EINVAL (bad config or initial config), -ENOMEM. */
int aeg_raft_new(struct aeg_raft **out, const struct aeg_raft_config *cfg,
		 const struct aeg_raft_conf *initial);
/* Frees the group, its payloads (through cfg.payload_free when given) and
 * releases the shared snapshot slot if it holds it. NULL is fine. */
void aeg_raft_free(struct aeg_raft *r);
/* Bytes aeg_raft_new() allocates for one group with this config, payloads
 * given to cfg.payload_alloc excluded. */
size_t aeg_raft_memory_bytes(const struct aeg_raft_config *cfg);

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
/* The caller's state machine snapshot at index <= the last index handed
 * out to apply, not older than the current one, whose term the log still
 * has (not compacted past it). The bytes stay owned by the
 * caller and must stay valid until the next aeg_raft_snapshot_set() or
 * aeg_raft_free(); they are sent in chunks to followers the log no longer
 * covers. Without a snap_slot, a snapshot installed from the leader
 * becomes the group's own (kept in its receive buffer) until the caller
 * sets a newer one; with one, set it again after the install's advance
 * (see snap_install). The config sent with it is aeg_raft_conf_at(index).
 * -EINVAL otherwise. */
int aeg_raft_snapshot_set(struct aeg_raft *r, uint64_t index, const void *data, uint32_t len);
/* The same with the term and config of index as the caller recorded them
 * when it began the snapshot (aeg_raft_conf_at then): for a snapshot
 * serialized off the caller's loop, which lands after the log may have
 * been compacted past index. -EINVAL as above, or when the log still has
 * index with another term. */
int aeg_raft_snapshot_set_at(struct aeg_raft *r, uint64_t index, uint64_t term, const struct aeg_raft_conf *conf,
			     const void *data, uint32_t len);
/* With cfg.snapshot_keep_streams: the index of the older snapshot some
 * follower still receives (its bytes, as given to aeg_raft_snapshot_set,
 * must stay valid), or 0 (none: the caller may let go of every snapshot
 * but the current one). One older snapshot at most is kept: the one current
 * when aeg_raft_snapshot_set was last called with a stream part way. */
uint64_t aeg_raft_snapshot_kept(struct aeg_raft *r);
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
/* id's aeg_raft_member_role bits in c (0: not a member). */
uint8_t aeg_raft_conf_role(const struct aeg_raft_conf *c, uint32_t id);
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

/* Accessors (cheap; aeg_raft_status gives everything at once). */
enum aeg_raft_role aeg_raft_role(const struct aeg_raft *r);
uint32_t aeg_raft_id(const struct aeg_raft *r);
uint32_t aeg_raft_lead(const struct aeg_raft *r);     /* AEG_RAFT_NONE: unknown */
uint64_t aeg_raft_term(const struct aeg_raft *r);
uint64_t aeg_raft_commit(const struct aeg_raft *r);
uint64_t aeg_raft_last_index(const struct aeg_raft *r);
/* The configuration in force now (the latest in the log, thesis §4.1: it
 * may be uncommitted). Never store this one with a snapshot. */
void aeg_raft_conf_get(const struct aeg_raft *r, struct aeg_raft_conf *out);
/* The configuration in force at log index `index`: the last CONF entry <=
 * index, else the log's base config (the snapshot's), else the initial
 * one. This is what a snapshot at `index` must store. 0, or -ERANGE if
 * index is below the log base (the snapshot index) or beyond the last
 * entry. */
int aeg_raft_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out);
/* The log index of the entry the config in force came from (0: the
 * initial config; the snapshot's index for a snapshot's). Committed once
 * aeg_raft_commit() reaches it. */
uint64_t aeg_raft_conf_index(const struct aeg_raft *r);

/* Entry at index, or NULL if compacted or beyond the log. */
const struct aeg_raft_entry *aeg_raft_entry_at(const struct aeg_raft *r, uint64_t index);
void aeg_raft_status(const struct aeg_raft *r, struct aeg_raft_status *st);
const struct aeg_raft_progress *aeg_raft_progress_of(const struct aeg_raft *r, uint32_t id);

AEG_API_END

#endif
