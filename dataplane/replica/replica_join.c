/* Join requests on worker 0 (issue [G], aegis/join_req.h): a node started
 * with node.join asks every member it was given, once a second (its
 * control plane sends JOIN_ASK), until the meta records list it; a member's
 * worker 0 checks the request (cluster key, cluster id) and publishes it in
 * its status, and the member's control plane relays it to the meta group as
 * `aegisctl node add` would. The worker only checks and counts: what the
 * records say (the id or the address in use) is the control plane's. */
#include <errno.h>
#include <string.h>

#include "replica_int.h"

#include "aegis/join_req.h"

void rp_join_heard(struct aeg_replica *rp, const struct aeg_pkt *pkt)
{
	struct aeg_join_req r;
	if (rp->cfg.worker != 0 || rp->cfg.cluster_key == NULL ||
	    aeg_join_req_parse(rp->cfg.cluster_key, rp->cfg.cluster, pkt->data, pkt->len, &r) != 0) {
		rp->st.join_refused++;
		return;
	}
	if (r.id == rp->cfg.node)
		return; /* our own, echoed */
	rp->st.join_id = r.id;
	rp->st.join_ipv4 = r.ipv4;
	rp->st.join_port = r.udp_port_base;
	rp->st.join_seq++;
}

void rp_join_ask(struct aeg_replica *rp)
{
	struct aeg_join_req r = { .cluster = rp->cfg.cluster, .id = rp->cfg.node, .ipv4 = rp->cfg.ipv4,
				  .udp_port_base = rp->cfg.base_port };
	uint8_t buf[AEG_JOIN_REQ_BYTES];
	if (rp->cfg.cluster_key == NULL || aeg_join_req_encode(rp->cfg.cluster_key, &r, buf, sizeof(buf)) < 0)
		return;
	uint32_t n;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(rp->cfg.map, &n);
	for (uint32_t i = 0; i < n; i++) {
		if (nodes[i].id == rp->cfg.node)
			continue;
		int rc = aeg_worker_send_raw(rp->w, nodes[i].ipv4, nodes[i].udp_port_base, buf, sizeof(buf));
		if (rc != 0 && rp->debug)
			rp_log(rp, "join request to node %u: %s", nodes[i].id, strerror(-rc));
	}
}
