/* Joins on the slow path (issue [G]): the rules of `aegisctl node add`
 * (what this node can see: the id or the address in use, room in the
 * records) and the two ends of a join without an operator.
 *
 * A node started with node.join = true asks every member it was given to
 * let it join (worker 0 sends aegis/join_req.h datagrams, once every
 * NODE_JOIN_ASK_MS) until the meta records list it; a member's worker 0
 * publishes each request it verifies (cluster key, cluster id), and the
 * member's slow path relays a new one to the meta group after the same
 * checks as node add (NODE_JOIN_RELAY_MS apart for one node), logging what
 * it did. The meta leader checks once more. */
#ifndef AEGIS_CONTROL_NODE_JOIN_H
#define AEGIS_CONTROL_NODE_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dp_runtime.h"
#include "node_rebalance.h"
#include "replica.h"

#define NODE_JOIN_ASK_MS 1000
#define NODE_JOIN_RELAY_MS 2000

/* 1: the node is on record already (same id, same address); 0: the meta
 * group may be asked; -1: refused, why says so. */
int node_join_check(const struct node_rebalance *nr, uint32_t workers, uint32_t id, uint32_t ipv4, uint32_t port,
		    char *why, size_t why_len);
/* Asks the meta group (through worker 0) to record the node: 0 or -errno. */
int node_join_ask_meta(struct aeg_dp_runtime *rt, uint32_t id, uint32_t ipv4, uint32_t port);

struct node_join {
	uint64_t seen_seq;       /* worker 0's join requests handled */
	uint32_t last_id;        /* the last one relayed, and when */
	uint64_t last_relay_ms;
	uint64_t last_ask_ms;    /* a joining node: our last request */
	bool on_record;          /* a joining node: the records list us */
	uint64_t relayed, refused, asks;
	uint64_t last_poll_ms;
	struct aeg_replica_status st; /* worker 0's, read every NODE_REBALANCE_POLL_MS */
};

typedef void (*node_join_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void node_join_poll(struct node_join *nj, const struct node_rebalance *nr, struct aeg_replica *rp0,
		    const struct aeg_config *cfg, uint64_t now_ms, node_join_log_fn log, struct aeg_dp_runtime *rt);

#endif
