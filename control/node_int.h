/* Internals of the node library (aegis/node.h) shared by node.c (config,
 * start, stop, status) and node_local.c (embedded clients' channels). */
#ifndef AEGIS_CONTROL_NODE_INT_H
#define AEGIS_CONTROL_NODE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aegis/node.h"
#include "aegis/shard.h"
#include "admin.h"
#include "config.h"
#include "dp_node.h"
#include "dp_runtime.h"
#include "local_chan.h"
#include "node_members.h"
#include "node_join.h"
#include "node_rebalance.h"
#include "node_status.h"
#include "replica.h"

#define NODE_EAL_MAX (AEG_CONFIG_EAL_ARGS_MAX + 64)

/* One embedded client's path: channel k of every worker. */
struct node_client_slot {
	struct aeg_node *node;
	uint16_t k;
	bool claimed;                  /* atomic */
	struct aeg_client_local local; /* what the client calls (ctx = this slot) */
};

struct aeg_node {
	struct aeg_config cfg;
	struct aeg_dp_config dp;
	char *eal[NODE_EAL_MAX];
	struct aeg_wire_key client_key;
	aeg_node_log_fn log;
	struct aeg_shard_map *map;
	struct aeg_replica *rps[AEG_DP_WORKERS_MAX];
	struct aeg_dp_node *dn;
	struct aeg_dp_runtime rt;
	bool rt_ready, running;
	struct aeg_admin *admin;
	char sock[AEG_CONFIG_SOCKET_PATH_BYTES];
	struct aeg_node_status ns;
	struct node_members members;   /* valid if members_on */
	bool members_on;
	struct node_rebalance rebalance; /* valid if rebalance_on */
	bool rebalance_on;
	struct node_join join;         /* with rebalance_on */
	pthread_t thread;              /* the slow path unless caller_polls */
	bool thread_started;
	bool thread_stop;              /* atomic */
	struct aeg_local_chans chans[AEG_DP_WORKERS_MAX];
	struct node_client_slot clients[AEG_NODE_CLIENTS_MAX];
};

/* node_local.c */
void node_local_init(struct aeg_node *n);
void node_local_fini(struct aeg_node *n);

#endif
