/* Joins on the slow path (node_join.h). */
#include "node_join.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aegis/net.h"
#include "ctl_ring.h"

int node_join_check(const struct node_rebalance *nr, uint32_t workers, uint32_t id, uint32_t ipv4, uint32_t port,
		    char *why, size_t why_len)
{
	uint32_t n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(node_rebalance_cluster_map(nr), &n_nodes);
	for (uint32_t i = 0; i < n_nodes; i++) {
		bool same = nodes[i].ipv4 == ipv4 && nodes[i].udp_port_base < port + workers &&
			    port < (uint32_t)nodes[i].udp_port_base + workers;
		if (nodes[i].id == id && same)
			return 1;
		if (nodes[i].id == id || same) {
			snprintf(why, why_len, "%s node %u's", nodes[i].id == id ? "the id is" : "the address (its ports) is",
				 nodes[i].id);
			return -1;
		}
	}
	if (nr->n_joined >= AEG_REPLICA_JOINED_MAX) {
		snprintf(why, why_len, "%u nodes joined already (the most the meta records hold)", nr->n_joined);
		return -1;
	}
	return 0;
}

int node_join_ask_meta(struct aeg_dp_runtime *rt, uint32_t id, uint32_t ipv4, uint32_t port)
{
	struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_META_JOIN, .len = 24, .arg = { id, ipv4, port } };
	return aeg_dp_runtime_ctl_send(rt, 0, &m);
}

/* A member: a request worker 0 verified and published. */
static void relay(struct node_join *nj, const struct node_rebalance *nr, const struct aeg_replica_status *st,
		  const struct aeg_config *cfg, uint64_t now_ms, node_join_log_fn log, struct aeg_dp_runtime *rt)
{
	if (st->join_seq == nj->seen_seq)
		return;
	nj->seen_seq = st->join_seq;
	if (st->join_id == nj->last_id && now_ms - nj->last_relay_ms < NODE_JOIN_RELAY_MS)
		return; /* it asks every second: the last relay is on its way */
	char ip[16], why[128];
	aeg_net_ipv4_format(st->join_ipv4, ip);
	int rc = node_join_check(nr, cfg->workers, st->join_id, st->join_ipv4, st->join_port, why, sizeof(why));
	nj->last_id = st->join_id;
	nj->last_relay_ms = now_ms;
	if (rc == 1)
		return;
	if (rc < 0) {
		nj->refused++;
		log("join: node %u at %s:%u asks to join: refused: %s", st->join_id, ip, st->join_port, why);
		return;
	}
	rc = node_join_ask_meta(rt, st->join_id, st->join_ipv4, st->join_port);
	if (rc == 0)
		nj->relayed++;
	log("join: node %u at %s:%u asks to join: %s", st->join_id, ip, st->join_port,
	    rc == 0 ? "asked the meta group to record it" : strerror(-rc));
}

/* A joining node: ask until the records list us. */
static void ask(struct node_join *nj, const struct node_rebalance *nr, const struct aeg_config *cfg,
		uint64_t now_ms, node_join_log_fn log, struct aeg_dp_runtime *rt)
{
	if (nj->on_record)
		return;
	for (uint32_t i = 0; i < nr->n_joined; i++)
		if (nr->joined[i].id == cfg->node_id) {
			nj->on_record = true;
			log("join: on record as node %u after %llu requests", cfg->node_id, (unsigned long long)nj->asks);
			return;
		}
	if (nj->asks > 0 && now_ms - nj->last_ask_ms < NODE_JOIN_ASK_MS)
		return;
	struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_JOIN_ASK };
	if (aeg_dp_runtime_ctl_send(rt, 0, &m) != 0)
		return;
	if (nj->asks == 0)
		log("join: asking the %u members to record node %u (once a second until they do)", cfg->peer_count,
		    cfg->node_id);
	nj->asks++;
	nj->last_ask_ms = now_ms;
}

void node_join_poll(struct node_join *nj, const struct node_rebalance *nr, struct aeg_replica *rp0,
		    const struct aeg_config *cfg, uint64_t now_ms, node_join_log_fn log, struct aeg_dp_runtime *rt)
{
	if (nj->last_poll_ms != 0 && now_ms - nj->last_poll_ms < NODE_REBALANCE_POLL_MS)
		return;
	nj->last_poll_ms = now_ms;
	if (cfg->join)
		ask(nj, nr, cfg, now_ms, log, rt);
	aeg_replica_status_read(rp0, &nj->st, NULL, 0);
	relay(nj, nr, &nj->st, cfg, now_ms, log, rt);
}
