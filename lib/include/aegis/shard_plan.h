/* aegis/shard_plan.h — the rebalance planner of issue [G]: given where each
 * shard's replicas are and which nodes may hold them, the replica moves that
 * bring every node's share within a stated bound of its weight, with few
 * moves, never two replicas of a shard on one node, and no two in one zone
 * when the nodes have zones enough.
 *
 * Pure: no allocation beyond the caller's arrays, no clock, no I/O; the same
 * input gives the same moves on every node (ties broken by node id, then
 * shard index).
 *
 * Moves, in order:
 *   1. re-replication: a replica slot that is empty (0) or on a node that
 *      may not hold replicas (down, leaving, unknown) moves to the eligible
 *      node with the lowest load (replicas / weight) that does not hold the
 *      shard, preferring a zone the shard's other replicas are not in;
 *   2. zones: a shard with two replicas in one zone moves one of them to a
 *      node of a zone it is not in (when one exists), to the least loaded;
 *   3. balance: while a node holds more than its upper bound, or fewer than
 *      its lower bound, one replica moves from the most loaded node that can
 *      give one to the least loaded node that can take it, keeping the zone
 *      rule. Bounds: target = replicas x weight / total weight, lower =
 *      floor(target x (100 - tolerance) / 100), upper = ceil(target x
 *      (100 + tolerance) / 100).
 * A move says where a replica goes, not how (the caller adds the learner,
 * catches it up, then removes the old voter: [G]). */
#ifndef AEGIS_SHARD_PLAN_H
#define AEGIS_SHARD_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_PLAN_NODES_MAX 1024
#define AEG_PLAN_RF_MAX 7

struct aeg_plan_node {
	uint32_t id;     /* != 0, unique */
	uint32_t weight; /* capacity weight, >= 1 */
	uint32_t zone;   /* 0: no zone label */
	bool eligible;   /* may hold replicas (up, not leaving) */
};

struct aeg_plan_input {
	const struct aeg_plan_node *nodes;
	uint32_t n_nodes;          /* <= AEG_PLAN_NODES_MAX */
	uint32_t shard_count;
	uint32_t rf;               /* replicas per shard, <= AEG_PLAN_RF_MAX */
	uint32_t tolerance_pct;    /* the bound around each node's target, <= 100 */
};

struct aeg_plan_move {
	uint32_t shard;
	uint32_t slot;             /* replica slot in the shard (0 = preferred leader) */
	uint32_t from;             /* node id, 0 if the slot was empty */
	uint32_t to;
};

/* replicas: shard_count x rf node ids (0: empty slot), updated in place to
 * the planned placement. Writes at most moves_max moves; *n_moves their
 * count. Returns 0 when every node ends within its bounds and every shard
 * has rf replicas on distinct eligible nodes, -EAGAIN when it stopped at
 * moves_max (call again after carrying them out), -ENOSPC when the
 * eligible nodes cannot hold rf distinct replicas per shard or a bound
 * cannot be met, -EINVAL for a bad input. */
int aeg_plan_moves(const struct aeg_plan_input *in, uint32_t *replicas,
		   struct aeg_plan_move *moves, uint32_t moves_max, uint32_t *n_moves);

/* Preferred leaders (slot 0 of each shard) spread over the eligible nodes:
 * the first shard (not in skip, which may be NULL) whose slot-0 node is
 * preferred by at least two more shards than another of its replicas on an
 * eligible node (the least preferred one); *shard and *slot name the
 * replica to swap into slot 0. Every swap lowers the spread, so calling it
 * again after each one ends. 1: a swap, 0: none, -EINVAL: bad input. */
int aeg_plan_preferred(const struct aeg_plan_input *in, const uint32_t *replicas, const bool *skip,
		       uint32_t *shard, uint32_t *slot);

/* The bounds aeg_plan_moves uses for node index i (for tests and status). */
void aeg_plan_bounds(const struct aeg_plan_input *in, uint32_t i, uint32_t *lower,
		     uint32_t *upper);

AEG_API_END

#endif
