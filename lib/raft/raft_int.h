/* Internal interfaces between the files of lib/raft: log window, progress
 * tracker, outbox, election, replication. Not for embedders. */
#ifndef AEGIS_RAFT_INT_H
#define AEGIS_RAFT_INT_H

#include "aegis/raft.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

struct aeg_raft_pending_read {
	uint64_t ctx;
	uint64_t index;
	uint64_t round;           /* heartbeat round that confirms it */
};

/* One group (opaque to callers). Allocated as one block by aeg_raft_new():
 * this struct, then the arrays it points at (see raft.c layout_of). */
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
	uint64_t *ring_pos;       /* arena position of each entry's payload (arena mode) */
	uint64_t first, last;
	uint64_t snap_index, snap_term;
	uint8_t *arena;           /* NULL with cfg.payload_alloc */
	uint64_t arena_head, arena_tail;
	uint64_t payload_bytes;   /* cfg.payload_alloc: bytes the log holds */

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
	/* an older snapshot a follower still receives (cfg.snapshot_keep_streams) */
	uint64_t kept_index, kept_term;
	const uint8_t *kept_data;
	uint32_t kept_len;
	struct aeg_raft_conf kept_conf;
	uint8_t *recv_buf;        /* own buffer, or the slot's while we hold it */
	uint64_t recv_index, recv_term, recv_len;
	struct aeg_raft_conf recv_conf;
	bool recv_ready;
	bool slot_release;        /* the slot goes back at the next advance */
	uint64_t slot_seen_stamp; /* slot busy: its stamp when we last looked */
	uint64_t slot_seen_tick;  /* and our tick then */
};

/* ---- log.c: entries [first, last] in a ring, payloads in an arena ---- */
void log_init(struct aeg_raft *r);
/* Gives every payload back (payload_free); the log is then empty. */
void log_fini(struct aeg_raft *r);
/* Term of index; false if compacted (below snap_index) or beyond last. */
bool log_term(const struct aeg_raft *r, uint64_t index, uint64_t *term);
uint64_t log_last_term(const struct aeg_raft *r);
bool log_match_term(const struct aeg_raft *r, uint64_t index, uint64_t term);
struct aeg_raft_entry *log_slot(const struct aeg_raft *r, uint64_t index);
/* Appends one entry at last + 1; -ENOBUFS / -EMSGSIZE when it does not fit. */
int log_append(struct aeg_raft *r, uint64_t term, uint32_t type,
	       const void *data, uint32_t len);
/* Drops entries >= index (index > commit). */
void log_truncate(struct aeg_raft *r, uint64_t index);
/* Drops entries <= index (index <= applied); the new base is (index, term). */
void log_compact(struct aeg_raft *r, uint64_t index);
/* Drops the whole log and restarts it at a snapshot base. */
void log_reset(struct aeg_raft *r, uint64_t index, uint64_t term);
/* Largest index <= index whose term is <= term (fast back-off). */
uint64_t log_find_conflict_by_term(const struct aeg_raft *r, uint64_t index, uint64_t term);
bool log_up_to_date(const struct aeg_raft *r, uint64_t last_index, uint64_t last_term);
/* Entries that fit in one append starting at `from`: bounded by the batch
 * limits and by the ring wrap so that they are contiguous. */
uint32_t log_batch(const struct aeg_raft *r, uint64_t from);

/* ---- progress.c: per-peer replication state and quorums ---- */
/* prs, scratch and the in-flight windows (infl: peers_max + 1 windows). */
void progress_init(struct aeg_raft *r, uint64_t *infl);
struct aeg_raft_progress *progress_get(struct aeg_raft *r, uint32_t id);
/* Rebuilds the progress set from r->conf, keeping existing peers' state. */
void progress_apply_conf(struct aeg_raft *r);
void progress_reset(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t next);
bool progress_is_voter(const struct aeg_raft_progress *pr);
bool progress_paused(const struct aeg_raft *r, const struct aeg_raft_progress *pr);
void progress_become_probe(struct aeg_raft_progress *pr);
void progress_become_replicate(struct aeg_raft_progress *pr);
bool progress_maybe_update(struct aeg_raft_progress *pr, uint64_t index);
bool progress_maybe_decr(struct aeg_raft_progress *pr, uint64_t rejected, uint64_t hint);
void progress_infl_add(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t last);
void progress_infl_free_to(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t index);
/* Highest index stored on a quorum (both quorums in a joint config). */
uint64_t progress_committed(struct aeg_raft *r);
enum vote_result { VOTE_PENDING, VOTE_WON, VOTE_LOST };
enum vote_result progress_tally(const struct aeg_raft *r);
/* A quorum of voters (each config) has recent_active / read_acked set. */
bool progress_quorum_active(const struct aeg_raft *r);
bool progress_quorum_read_acked(const struct aeg_raft *r, uint64_t round);
bool conf_has_voter(const struct aeg_raft_conf *c, uint32_t id);

/* ---- raft.c: outbox and role changes shared by the files ---- */
/* Returns a zeroed message addressed to `to` with our id and term, or NULL
 * (dropped and counted) if the outbox is full. `now` messages may be sent
 * before our pending writes are durable. */
struct aeg_raft_msg *outbox_push(struct aeg_raft *r, uint32_t to, uint32_t type, bool now);
void raft_become_follower(struct aeg_raft *r, uint64_t term, uint32_t lead);
void raft_reset_timeout(struct aeg_raft *r);
void raft_set_commit(struct aeg_raft *r, uint64_t commit);

/* ---- election.c ---- */
void election_campaign(struct aeg_raft *r, bool pre_vote, bool transfer);
void election_handle_vote(struct aeg_raft *r, const struct aeg_raft_msg *m);
void election_handle_vote_resp(struct aeg_raft *r, const struct aeg_raft_msg *m);
/* alone: won by our own vote only (sole voter). */
void election_become_leader(struct aeg_raft *r, bool alone);
void election_tick(struct aeg_raft *r);
bool election_promotable(const struct aeg_raft *r);

/* ---- replication.c ---- */
bool repl_send_append(struct aeg_raft *r, struct aeg_raft_progress *pr, bool send_empty);
void repl_bcast_append(struct aeg_raft *r, bool send_empty);
void repl_bcast_heartbeat(struct aeg_raft *r, uint64_t ctx);
bool repl_maybe_commit(struct aeg_raft *r);
/* After the commit index moved: tell followers, act on committed configs. */
void repl_on_commit(struct aeg_raft *r);
void repl_handle_append(struct aeg_raft *r, const struct aeg_raft_msg *m);
void repl_handle_append_resp(struct aeg_raft *r, const struct aeg_raft_msg *m);
void repl_handle_heartbeat(struct aeg_raft *r, const struct aeg_raft_msg *m);
void repl_handle_heartbeat_resp(struct aeg_raft *r, const struct aeg_raft_msg *m);

/* ---- read_only.c: ReadIndex and lease reads (§6.4) ---- */
void read_heartbeat_round(struct aeg_raft *r);
void read_handle_ack(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t round);

/* ---- transfer.c: leadership transfer (§3.10) ---- */
void transfer_send_timeout_now(struct aeg_raft *r, uint32_t to);
void transfer_tick(struct aeg_raft *r);

/* ---- snapshot.c ---- */
bool snapshot_send(struct aeg_raft *r, struct aeg_raft_progress *pr);
void snapshot_handle_chunk(struct aeg_raft *r, const struct aeg_raft_msg *m);
void snapshot_handle_reject(struct aeg_raft *r, struct aeg_raft_progress *pr,
			    const struct aeg_raft_msg *m);
void snapshot_ready(struct aeg_raft *r, struct aeg_raft_ready *rd);
/* Re-sends the chunk a snapshotting follower waits for (heartbeat). */
void snapshot_resend(struct aeg_raft *r, struct aeg_raft_progress *pr);
/* Gives the shared slot back if we hold it (advance, free, stale install). */
void snapshot_slot_release(struct aeg_raft *r);

/* ---- membership.c ---- */
/* A conf entry was appended: it is the config from now on. */
void membership_on_append(struct aeg_raft *r, const struct aeg_raft_entry *e);
/* The latest config in the log (or the base) after a truncation/reset. */
void membership_rescan(struct aeg_raft *r);
/* The config in force at index (latest conf entry <= index, or the base). */
void membership_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out);
/* Leader, commit moved: leave a committed joint config, or step down once
 * our own removal is committed. */
void membership_on_commit(struct aeg_raft *r);

/* ---- quiesce.c ---- */
bool quiesce_leader_tick(struct aeg_raft *r);
void quiesce_follower_heartbeat(struct aeg_raft *r, const struct aeg_raft_msg *m);

/* Drops appends not yet handed out: their entries point into the log,
 * which is about to change under them. */
void outbox_drop_appends(struct aeg_raft *r);

#endif
