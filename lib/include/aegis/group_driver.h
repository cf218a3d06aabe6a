/* aegis/group_driver.h — the Raft groups of one worker core, driven as one:
 * the multi-raft loop of DESIGN.md "One worker core", as a pure state
 * machine so that aegisd's workers and tests/sim run the same code.
 *
 * The caller (a worker) owns disk, network, clock and state machine and
 * reaches them through struct aeg_gd_io. Per loop iteration:
 *
 *   aeg_gd_receive()   for each Raft message from the network
 *   aeg_gd_propose()   client writes, batched per group by the caller
 *   aeg_gd_tick()      with the clock; ticks only groups that are not quiet
 *   aeg_gd_process()   every group with work: one ready each, in this order:
 *                        send msgs_now (appends may leave before our write),
 *                        install a snapshot, write hard state + entries to
 *                        the log (io.log_*: returns a ticket), hold msgs
 *                        until that ticket is durable, apply committed
 *                        entries, hand out read states, advance
 *   aeg_gd_durable()   the log made everything up to a ticket durable:
 *                        persisted() per group, then the held messages leave
 *   aeg_gd_flush()     coalesced heartbeats leave (one message per peer)
 *
 * Only groups on the dirty list are touched by process(); only groups that
 * are not quiescent are on the tick list, so 10,000 idle groups cost nothing
 * per tick. When the log cannot take a group's entries now (io.log_entries
 * takes fewer or returns -EAGAIN), the group keeps a write cursor and is
 * retried on the next process(); messages held for it wait too.
 *
 * Memory, all at aeg_gd_new(): the group table (groups_max pointers plus
 * one struct per group added), the held-message ring (held_bytes), the
 * pending-persist ring, an encode buffer (msg_bytes_max) and one heartbeat
 * batch per peer. Groups are allocated by aeg_gd_group_add() (start-up or
 * a membership change, never per message). */
#ifndef AEGIS_GROUP_DRIVER_H
#define AEGIS_GROUP_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/raft.h"

AEG_API_BEGIN

struct aeg_gd;

/* Applies of a batch are announced to io.prefetch this many entries ahead,
 * and at twice and three times that distance. */
#define AEG_GD_PREFETCH_STEP 4u
#define AEG_GD_PREFETCH_STEPS 3u

struct aeg_gd_io {
	/* Log. Each call appends to the log's current batch and returns 0 with
	 * the batch's ticket (tickets only grow), -EAGAIN (nothing taken: try
	 * again after aeg_gd_durable), or another negative error (the group
	 * stops: counted, reported by aeg_gd_group_error). log_entries may take
	 * fewer than n (*taken). Writing index i voids stored entries >= i. */
	int (*log_entries)(void *ctx, uint32_t group, const struct aeg_raft_entry *ents, uint32_t n,
			   uint32_t *taken, uint64_t *ticket);
	int (*log_hard_state)(void *ctx, uint32_t group, const struct aeg_raft_hard_state *hs,
			      uint64_t *ticket);
	/* A snapshot received from the leader: restore the state machine from
	 * the bytes, make it durable as the group's log base (with conf) and
	 * return the ticket that covers it (0). Or AEG_GD_INSTALL_LATER: the
	 * caller copied the bytes and finishes off the loop, then calls
	 * aeg_gd_install_done(); meanwhile the group is left alone (nothing
	 * of it written, applied or sent; Raft still takes messages) and the
	 * other groups go on. A negative error stops the group. */
	int (*install_snapshot)(void *ctx, uint32_t group, uint64_t index, uint64_t term,
				const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len,
				uint64_t *ticket);
	/* Network: one encoded message (AEG_MSG_RAFT or AEG_MSG_RAFT_HB body) for
	 * the same worker index on node. Large bodies are the transport's
	 * business. Errors are counted; Raft tolerates loss. */
	int (*send)(void *ctx, uint32_t node, uint8_t type, uint32_t group, const uint8_t *body,
		    uint32_t len);
	/* State machine: one committed entry (NORMAL, NOOP or CONF), in order. */
	void (*apply)(void *ctx, uint32_t group, const struct aeg_raft_entry *e);
	/* Optional: e is applied after `ahead` more entries (AEG_GD_PREFETCH_STEP,
	 * twice and three times that): a chance to start fetching the memory
	 * its apply will touch, so that a batch of applies overlaps its cache
	 * misses instead of taking them one after the other. */
	void (*prefetch)(void *ctx, uint32_t group, const struct aeg_raft_entry *e, uint32_t ahead);
	/* A linearizable read confirmed: serve read_ctx once applied >= index. */
	void (*read_ready)(void *ctx, uint32_t group, uint64_t read_ctx, uint64_t index);
	void *ctx;
};

struct aeg_gd_config {
	uint32_t self;            /* node id */
	uint32_t groups_max;      /* highest group id + 1 */
	uint32_t peers_max;       /* distinct peer node ids this driver talks to */
	uint32_t held_bytes;      /* ring for messages waiting on the disk (>= 64 KiB) */
	uint32_t pending_max;     /* (ticket, group) persist reports in flight */
	uint32_t msg_bytes_max;   /* largest encoded Raft message */
	uint32_t recv_entries_max;/* entries per received append */
	uint32_t hb_per_msg;      /* heartbeats per coalesced message */
	/* Snapshot chunks (a replica move, a follower past the log) leave at
	 * most this fast, all groups together (0: unpaced); chunks waiting for
	 * the pace take up to snap_pace_slots (0: 8) buffers of
	 * snap_pace_slot_bytes (0: 128 KiB), one per stream. Time comes from
	 * aeg_gd_tick; aeg_gd_flush sends what the pace allows. */
	uint64_t snap_bytes_per_s;
	uint32_t snap_pace_slots;
	uint32_t snap_pace_slot_bytes;
};

void aeg_gd_config_default(struct aeg_gd_config *c, uint32_t self);

struct aeg_gd_stats {
	uint64_t groups;
	uint64_t active;          /* groups on the tick list (not quiescent) */
	uint64_t readies;
	uint64_t msgs_sent, msgs_held, hb_sent, hb_msgs_sent;
	uint64_t msgs_received, hb_received;
	uint64_t bad_msgs;        /* undecodable Raft messages */
	uint64_t unknown_group;   /* messages for a group we do not have */
	uint64_t held_dropped;    /* held ring full: message dropped */
	uint64_t send_errors;
	uint64_t log_retries;     /* the log could not take a group's write now */
	uint64_t entries_logged, entries_applied;
	uint64_t group_errors;
	uint64_t snap_bytes_sent;       /* snapshot chunks' encoded bytes that left */
	uint64_t snap_paced;            /* chunks that waited for the pace */
	uint64_t snap_pace_dropped;     /* chunks dropped: every pace slot taken (resent by Raft) */
	uint64_t installs_later;        /* snapshot installs finished off the loop */
	uint64_t install_msgs_dropped;  /* held by an install's ready past the stash (Raft resends) */
};

int aeg_gd_new(struct aeg_gd **out, const struct aeg_gd_config *cfg, const struct aeg_gd_io *io);
void aeg_gd_free(struct aeg_gd *gd);

/* Creates group (1 <= group < groups_max) with its Raft config and the
 * initial membership. The group then may be restored (aeg_gd_raft() and
 * the aeg_raft_restore_* calls) before the first other input. -EEXIST,
 * -EINVAL, -ENOMEM. */
int aeg_gd_group_add(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_config *rc,
		     const struct aeg_raft_conf *initial);
/* After the aeg_raft_restore_* calls: the group's restored term is durable. */
void aeg_gd_group_restored(struct aeg_gd *gd, uint32_t group);
/* The group's next `ticks` ticks are skipped (its election timer waits):
 * a new cluster lets each group's preferred leader campaign first, so that
 * thousands of groups do not all start elections at once. The hold ends
 * early once the group knows a leader: from then on a lost leader must be
 * replaced within the normal election timeout. */
void aeg_gd_tick_hold(struct aeg_gd *gd, uint32_t group, uint32_t ticks);
/* Drops a group (and its held messages' claim on it). -ENOENT. */
int aeg_gd_group_remove(struct aeg_gd *gd, uint32_t group);
struct aeg_raft *aeg_gd_raft(struct aeg_gd *gd, uint32_t group);
/* 0, or the log error that stopped the group. */
int aeg_gd_group_error(const struct aeg_gd *gd, uint32_t group);
/* Group ids in ascending order into out (up to max); returns how many exist. */
uint32_t aeg_gd_groups(const struct aeg_gd *gd, uint32_t *out, uint32_t max);

/* One message from node (type AEG_MSG_RAFT for `group`, or AEG_MSG_RAFT_HB
 * with group 0). -EINVAL undecodable, -ENOENT unknown group, -EPROTO wrong
 * type; the driver counts each. */
int aeg_gd_receive(struct aeg_gd *gd, uint32_t from, uint8_t type, uint32_t group,
		   const uint8_t *body, uint32_t len);
/* Leader only; see aeg_raft_propose. */
int aeg_gd_propose(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_payload *batch,
		   uint32_t n, uint64_t *first_index);
int aeg_gd_read_index(struct aeg_gd *gd, uint32_t group, uint64_t read_ctx);
/* Marks a group for processing after the caller fed its Raft directly. */
void aeg_gd_touch(struct aeg_gd *gd, uint32_t group);
/* now_ms: the caller's monotonic clock. Ticks every active group once per
 * tick_ms elapsed (at most a few ticks per call after a stall). */
void aeg_gd_tick(struct aeg_gd *gd, uint64_t now_ms, uint32_t tick_ms);
/* Node-level failure detector: node is silent. Groups it leads campaign at
 * once on one survivor (the lowest other voter id; with pre-vote, so a
 * false suspicion of a live leader changes nothing) and wake elsewhere;
 * quiet groups without a leader wake. */
void aeg_gd_node_down(struct aeg_gd *gd, uint32_t node);
/* Processes every dirty group; returns how many readies were handled. */
uint32_t aeg_gd_process(struct aeg_gd *gd);
/* io.install_snapshot returned this: the install finishes later. */
#define AEG_GD_INSTALL_LATER 1
/* The install of group's snapshot at index that io.install_snapshot left
 * for later is done: rc 0 and the ticket that covers it (the state machine
 * holds the snapshot), or the error that stops the group. -ENOENT: no such
 * install (the group was removed meanwhile: nothing changes). */
int aeg_gd_install_done(struct aeg_gd *gd, uint32_t group, uint64_t index, int rc, uint64_t ticket);
/* Everything logged with a ticket <= ticket is durable. */
void aeg_gd_durable(struct aeg_gd *gd, uint64_t ticket);
/* Sends coalesced heartbeats. Returns messages sent. */
uint32_t aeg_gd_flush(struct aeg_gd *gd);
bool aeg_gd_busy(const struct aeg_gd *gd);   /* dirty groups or held messages */

void aeg_gd_stats_get(const struct aeg_gd *gd, struct aeg_gd_stats *out);
/* Bytes the driver allocated besides the groups' Raft state. */
size_t aeg_gd_memory_bytes(const struct aeg_gd *gd);

AEG_API_END

#endif
