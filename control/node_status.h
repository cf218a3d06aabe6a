/* aegisd's answers on the admin socket: {"cmd":"status"} gives the node,
 * its workers (log and dataplane counters), members with reachability,
 * and every shard group of this node with role, leader, term, commit,
 * applied and memory (the shape aegisctl renders). */
#ifndef AEGIS_CONTROL_NODE_STATUS_H
#define AEGIS_CONTROL_NODE_STATUS_H

#include <stdint.h>

#include "admin.h"
#include "config.h"
#include "dp_node.h"
#include "dp_runtime.h"
#include "node_members.h"
#include "node_rebalance.h"
#include "replica.h"

struct aeg_shard_map;

struct aeg_node_status {
	const struct aeg_config *cfg;
	const struct aeg_shard_map *map;
	struct aeg_replica **rps;
	uint32_t workers;
	struct aeg_dp_runtime *rt;
	struct aeg_dp_node *dn;
	uint64_t started_ns;
	const struct node_members *members;  /* NULL: no node states */
	const struct node_rebalance *rebalance;  /* NULL: no rebalancing */
};

/* The map of the cluster's nodes now (with those that joined). */
static inline const struct aeg_shard_map *node_status_cluster_map(const struct aeg_node_status *ns)
{
	return ns->rebalance != NULL ? node_rebalance_cluster_map(ns->rebalance) : ns->map;
}

/* The admin handler (ctx = struct aeg_node_status). */
int aeg_node_status_handler(void *ctx, const char *request, struct aeg_admin_reply *out);
/* node_shards.c: leader_transfer and shard_move, asked of the shard's
 * leader and handed to its worker over the control ring. */
void node_shard_command(struct aeg_node_status *ns, const char *cmd, const char *line, struct aeg_admin_reply *out);
/* shard_split {"shard":S[,"key":"K"][,"to":J]}: asked of the node leading
 * S; J (default: the lowest spare shard on S's worker index with a replica
 * here) takes S's keys from K up (no key: from the middle key of S's range
 * by bytes; dataplane/replica/replica_split.c). */
void node_shard_split(struct aeg_node_status *ns, const char *line, struct aeg_admin_reply *out);
/* shard_merge {"shard":S}: asked of the node leading S; S's range joins
 * the range before it (same worker index, a replica here). */
void node_shard_merge(struct aeg_node_status *ns, const char *line, struct aeg_admin_reply *out);

#endif
