/* The node's view of who is alive (issue [G]): lib/membership fed from
 * what the workers hear from each peer (any message counts as a
 * heartbeat), on the slow path. Every change of a node's state, and of the
 * cluster's, is logged and counted; aegisctl status shows both.
 *
 * Voters: the meta group's (aeg_shard_map_meta_voters), the nodes whose
 * quorum the cluster state is about. The states are each node's own view;
 * the meta leader's node records its view in the meta group. */
#ifndef AEGIS_CONTROL_NODE_MEMBERS_H
#define AEGIS_CONTROL_NODE_MEMBERS_H

#include <stdint.h>

#include "aegis/membership.h"
#include "aegis/shard.h"
#include "config.h"
#include "dp_runtime.h"
#include "replica.h"

#define NODE_MEMBERS_POLL_MS 50

struct node_members {
	struct aeg_members ms;
	uint64_t rx_seen[AEG_MEMBERS_MAX];  /* workers' rx_msgs sum last seen, by member index */
	uint64_t last_poll_ms;
	uint8_t cluster_state;              /* enum aeg_cluster_state, last logged */
	uint64_t changes;                   /* node state changes */
	uint64_t cluster_changes;
	uint64_t into[AEG_NODE_LEFT + 1];   /* changes into each node state */
	uint64_t meta_sent_ms[AEG_MEMBERS_MAX]; /* last record asked of the meta leader, by member index */
	uint64_t meta_sent;
};

typedef void (*node_members_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Self and the config's peers; the meta voters are the map's. 0 or a
 * negative errno (too many nodes). */
int node_members_init(struct node_members *nm, const struct aeg_config *cfg,
		      const struct aeg_shard_map *map, uint64_t now_ms);
/* Reads the workers' published peer counters; feeds heartbeats and
 * timeouts; logs each change. Cheap when called more often than
 * NODE_MEMBERS_POLL_MS. Where this node's worker 0 leads the meta group,
 * each state that differs from its record goes to it to be recorded (at
 * most once a second per node). */
void node_members_poll(struct node_members *nm, struct aeg_replica *const *rps, uint32_t workers,
		       uint64_t now_ms, node_members_log_fn log, struct aeg_dp_runtime *rt);

#endif
