/* auto_rebalance on the slow path (issue [G]).
 *
 * On every node: moves its workers start and finish are relayed to worker
 * 0, which asks the meta leader to record the shard's state ("state/<i>":
 * migrating, then active again) and its voters after the move ("shard/<i>").
 *
 * Where worker 0 holds a meta replica: the placement the records give
 * (aeg_replica_meta_placement) and the node states (node_members, meta
 * records of drains) go to the planner (lib/shard/shard_plan.c); a node
 * DOWN for membership.rereplicate_ms, LEAVING or LEFT may not hold
 * replicas, and a move goes only to a HEALTHY node. Where that replica
 * also leads the meta group and the "rebalance" record does not say
 * paused, the first planned moves are asked of each shard's voters
 * (AEG_REPLICA_CTL_SHARD_MOVE_ASK: the one leading the shard carries the
 * move out), at most rebalance.moves_max at once, one per shard and one
 * copy coming into each node (the source sends nothing: the leader does); a move
 * is finished when the records show it, abandoned (and planned again)
 * after NODE_REBALANCE_MOVE_TIMEOUT_MS.
 *
 * Joins (aegisctl node add, or the node's own request: node_join.h): once
 * the "joined" record names a node, every
 * node adds it to its dataplane peers (aeg_dp_runtime_peer_add; DPDK
 * ports resolve its address), to its failure detector and to the map it
 * routes by; the meta leader's worker 0 adds it to the meta group as a
 * learner; the planner then moves replicas onto it once it is HEALTHY.
 *
 * Orphans: a replica here that the records do not list, of a shard whose
 * state on record is active, whose group has known no leader for
 * rebalance.orphan_ms (its node was down while it moved away, the DROP was
 * lost) is dropped (AEG_REPLICA_CTL_DROP_ORPHAN; the worker checks again).
 *
 * Labels: every node asks the meta group to record its config's zone and
 * weight ("labels/<id>") whenever the record differs; the planner weighs
 * each node's share by its recorded weight (100 until recorded) and keeps
 * a shard's replicas in distinct zones (zone strings numbered in sorted
 * order, the same on every node).
 *
 * Splits: a range led here holding more than sharding.split_bytes is
 * split into a spare of its worker, two neighbouring ranges holding less
 * than sharding.merge_bytes together are merged (not at the config's split
 * points), one a node every NODE_REBALANCE_AUTO_RANGE_MS; a worker whose split's copy is done (phase RECORD) has its
 * split relayed to worker 0 (META_SPLIT): the meta leader writes the new
 * range table ("ranges").
 *
 * Every node (all hold a meta replica, learners beyond the meta voters)
 * also routes by the records: when a newer "shard/<i>", "joined" or
 * "ranges" record is applied,
 * a copy of the config's map with that placement and epoch (the config's
 * epoch + the record's log index) goes to every worker
 * (AEG_REPLICA_CTL_MAP_SET); clients fetching the map get it, and a
 * request made with an older epoch is answered STALE_EPOCH (the client
 * fetches the map again). Old maps are freed once every worker reports the
 * new epoch.
 *
 * Leaders (rebalance.leaders): each node hands the leadership of a shard it
 * leads to the shard's preferred replica (the first voter on record: the
 * map's spread of preferred leaders, kept by moves, whose newcomer takes
 * the slot of the replica it replaces) when that node is HEALTHY and a
 * voter and this node has led the shard for NODE_REBALANCE_LEAD_GRACE_MS
 * (aegisctl leader transfer records its target as the preferred replica);
 * one transfer a second per node, a shard tried again after 30 s.
 * The meta leader, once no replica move is planned, spreads the preferred
 * replicas over the healthy nodes that may hold replicas: a shard whose
 * preferred node prefers at least two more shards than another of its
 * voters gets that voter first (a record), one a second. */
#ifndef AEGIS_CONTROL_NODE_REBALANCE_H
#define AEGIS_CONTROL_NODE_REBALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/shard.h"
#include "aegis/shard_plan.h"
#include "config.h"
#include "dp_node.h"
#include "dp_runtime.h"
#include "node_members.h"
#include "replica.h"

#define NODE_REBALANCE_POLL_MS 200
#define NODE_REBALANCE_MOVE_TIMEOUT_MS 60000
#define NODE_REBALANCE_REASK_MS 2000
#define NODE_REBALANCE_INFLIGHT_MAX 64
#define NODE_REBALANCE_PLAN_MAX 256
#define NODE_REBALANCE_OLD_MAPS 8
#define NODE_REBALANCE_SPLIT_ASK_MS 500
#define NODE_REBALANCE_AUTO_RANGE_MS 2000   /* automatic splits and merges: one per node this often */
/* A node hands a shard to its preferred replica only after leading it this
 * long: an operator's transfer (which records the new preferred replica)
 * or an election is not undone while the record catches up. */
#define NODE_REBALANCE_LEAD_GRACE_MS 5000
/* A preferred replica chosen by an operator (aegisctl leader transfer) is
 * left alone by the spread of preferred replicas this long. */
#define NODE_REBALANCE_PIN_MS 300000

struct node_map_copy {
	struct aeg_shard_map *map;
	uint8_t *bytes;
	size_t len;
};

struct node_rebalance_move {
	bool active;
	uint32_t shard, from, to;
	uint64_t asked_ms;
	uint64_t last_ask_ms;    /* asked again every NODE_REBALANCE_REASK_MS: a lost ask, a new leader */
};

struct node_rebalance {
	const struct aeg_config *cfg;
	const struct aeg_shard_map *map;     /* the config's: the nodes the cluster formed with */
	struct aeg_dp_node *dn;              /* set by the caller: DPDK ports resolve joined nodes */
	/* Nodes that joined (the "joined" record): peers of the dataplane,
	 * members of the failure detector, nodes of the served map. */
	struct aeg_shard_node joined[AEG_REPLICA_JOINED_MAX];
	uint32_t n_joined;
	uint64_t joined_index;               /* the record they came from */
	bool peers_pending;                  /* a worker's ring was full: add again */
	uint64_t labels_sent_ms;             /* this node's zone and weight asked to be recorded */
	uint64_t last_poll_ms;
	uint64_t placed_seen[AEG_CONFIG_WORKERS_MAX];
	uint64_t split_ask_ms[AEG_CONFIG_WORKERS_MAX];  /* a split's record last asked for */
	uint64_t auto_range_ms, auto_ranges;  /* the last automatic split or merge asked, and how many */
	uint64_t relayed;
	/* the planner's last view (where a meta replica is here) */
	bool planning;           /* a meta replica is here */
	bool leading;            /* and it leads the meta group: moves are asked */
	bool paused;             /* the "rebalance" record */
	uint64_t epoch;          /* the records' epoch the plan came from */
	int plan_rc;             /* aeg_plan_moves' answer */
	uint32_t n_planned;
	struct aeg_plan_move planned[NODE_REBALANCE_PLAN_MAX];
	struct node_rebalance_move inflight[NODE_REBALANCE_INFLIGHT_MAX];
	uint64_t asked, finished, timed_out;
	uint32_t *place;         /* shard_count x rf */
	struct aeg_plan_node *nodes;
	/* the map the workers route by (NULL: the config's) */
	struct node_map_copy served;
	uint64_t served_index;   /* the shard record's index it came from */
	struct node_map_copy old[NODE_REBALANCE_OLD_MAPS];  /* until no worker uses them */
	uint64_t maps_sent;
	/* leadership handed to preferred replicas */
	uint64_t last_transfer_ms;
	uint64_t *transfer_ms;   /* by shard: last attempt */
	uint64_t *lead_term;     /* by shard: the term this node was seen leading it in */
	uint64_t *lead_since_ms; /* and since when (a shard is handed over only after a grace) */
	struct aeg_replica_group_status *groups;  /* scratch: one worker's groups */
	uint64_t transfers;
	uint64_t last_spread_ms;
	uint32_t spread_shard, spread_to;   /* the last swap asked by spread_preferred */
	uint32_t *pref_seen;     /* by shard: the preferred replica last seen on record */
	uint64_t *pref_pinned_ms; /* by shard: when another hand (aegisctl leader transfer) changed it */
	bool *skip;              /* scratch: shards with a move under way */
	uint32_t *states;        /* by shard: its state on record (enum aeg_shard_state) */
	uint64_t *orphan_since_ms; /* by shard: a replica here off the records, leaderless, since */
	uint64_t orphans_dropped;
};

typedef void (*node_rebalance_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 0 or -ENOMEM. */
int node_rebalance_init(struct node_rebalance *nr, const struct aeg_config *cfg, const struct aeg_shard_map *map);
void node_rebalance_fini(struct node_rebalance *nr);
/* Cheap when called more often than NODE_REBALANCE_POLL_MS. */
void node_rebalance_poll(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers,
			 struct node_members *nm, uint64_t now_ms, node_rebalance_log_fn log,
			 struct aeg_dp_runtime *rt);
/* The map of the cluster's nodes now: the one served (with the joined
 * nodes), else the config's. */
const struct aeg_shard_map *node_rebalance_cluster_map(const struct node_rebalance *nr);
/* The epoch of the map the workers route by. */
uint64_t node_rebalance_map_epoch(const struct node_rebalance *nr);
/* Replicas each node holds in nr->place (the records' placement). */
uint32_t node_rebalance_held(const struct node_rebalance *nr, uint32_t node);

#endif
