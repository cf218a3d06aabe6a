/* aegis/shard_move.h — carrying out one replica move of a shard (issue
 * [G]): the replica on node `from` goes to node `to` without the group ever
 * having fewer voters than it started with, and without a voter that lacks
 * the log. Run by the shard's leader, one step at a time:
 *
 *   1. `to` joins as a LEARNER (a config change that touches no voter, so
 *      no joint phase); its node is told to create the replica (CREATE) and
 *      gets the leader's snapshot and log like any follower;
 *   2. once its match index has reached the commit index (caught up), one
 *      change makes `to` a voter and takes `from` out: Raft's joint config
 *      (both majorities) and then the new one, so the old voters keep a
 *      quorum throughout and `from` is removed only in the same change that
 *      brings its replacement in;
 *   3. once the new config is committed, `from`'s node drops its replica
 *      (DROP, acknowledged by DROPPED; a leader that removed itself drops
 *      its own after stepping down).
 *
 * aeg_shard_move_next() says what to do now from what the leader sees;
 * the caller does it and asks again later (every few ms). Pure: no clock,
 * no I/O; the same view gives the same answer.
 *
 * The placement messages (AEG_MSG_PLACE) travel between the nodes' workers
 * of the shard: CREATE (shard, the config with `to` a learner, its index),
 * DROP (shard, index of the config without `from`), DROPPED (the answer),
 * and MOVE (shard, from, to: the rebalancer asks the shard's voters; the
 * one that leads carries the move out). */
#ifndef AEGIS_SHARD_MOVE_H
#define AEGIS_SHARD_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/raft.h"

AEG_API_BEGIN

/* What the leader sees of the group (aeg_raft_* accessors). */
struct aeg_move_view {
	uint32_t self;              /* this node */
	bool leader;                /* this replica leads the group */
	const struct aeg_raft_conf *conf;  /* in force (may be uncommitted) */
	uint64_t conf_index;        /* its entry */
	uint64_t commit;
	bool to_replicating;        /* `to`'s progress is in REPLICATE state */
	uint64_t to_match;          /* `to`'s match index (0: none yet) */
};

enum aeg_move_action {
	AEG_MOVE_WAIT = 0,          /* nothing now: ask again later */
	AEG_MOVE_ADD_LEARNER,       /* propose *target (`to` as a learner) */
	AEG_MOVE_CREATE,            /* (re)send CREATE to `to` and wait */
	AEG_MOVE_PROMOTE,           /* propose *target (`to` voter, `from` out) */
	AEG_MOVE_DROP,              /* (re)send DROP to `from` (or drop our own replica) */
	AEG_MOVE_DONE,              /* `to` is a voter, `from` gone from the config */
	AEG_MOVE_FAILED,            /* cannot go on (see the reason) */
};

struct aeg_move_step {
	enum aeg_move_action action;
	struct aeg_raft_conf target;  /* ADD_LEARNER, PROMOTE */
	const char *reason;           /* a few words for logs (static) */
};

/* The next step of moving shard's replica from `from` to `to` (ids != 0,
 * from != to). dropped: `from`'s node confirmed its replica is gone. */
void aeg_shard_move_next(const struct aeg_move_view *v, uint32_t from, uint32_t to, bool dropped,
			 struct aeg_move_step *out);

/* ---- AEG_MSG_PLACE bodies -------------------------------------------------
 *   u8 op, varint shard, varint index, then for CREATE the encoded config
 *   (aeg_raft_conf_encode), for MOVE varint from, varint to, for LEAD
 *   varint to (whoever leads the shard hands its leadership to `to`: a
 *   range split's copy is proposed there). */
enum aeg_place_op { AEG_PLACE_CREATE = 1, AEG_PLACE_DROP = 2, AEG_PLACE_DROPPED = 3, AEG_PLACE_MOVE = 4,
		    AEG_PLACE_LEAD = 5 };

struct aeg_place_msg {
	uint8_t op;
	uint32_t shard;
	uint64_t index;             /* CREATE: the learner's config entry; DROP(PED): the config without `from` */
	struct aeg_raft_conf conf;  /* CREATE only */
	uint32_t from, to;          /* MOVE only; LEAD: `to` only (the node to lead the shard) */
};

#define AEG_PLACE_MSG_BYTES_MAX (1 + 5 + 10 + 8 + AEG_RAFT_CONF_MAX * 6)

/* Bytes written, or -ENOBUFS. */
int aeg_place_msg_encode(const struct aeg_place_msg *m, uint8_t *buf, size_t cap);
/* 0, -EMSGSIZE (truncated) or -EINVAL (unknown op, bad config, trailing bytes). */
int aeg_place_msg_decode(struct aeg_place_msg *m, const uint8_t *buf, size_t len);

AEG_API_END

#endif
