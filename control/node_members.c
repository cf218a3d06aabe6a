/* The node's failure detector on the slow path (node_members.h). */
#include "node_members.h"

#include "aegis/raft.h"
#include "ctl_ring.h"

#include <assert.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int node_members_init(struct node_members *nm, const struct aeg_config *cfg,
		      const struct aeg_shard_map *map, uint64_t now_ms)
{
	uint32_t ids[AEG_MEMBERS_MAX], meta[AEG_SHARD_META_VOTERS_MAX];
	bool voters[AEG_MEMBERS_MAX];
	uint32_t n = 1 + cfg->peer_count;
	if (n > AEG_MEMBERS_MAX)
		return -E2BIG;
	ids[0] = cfg->node_id;
	for (uint32_t i = 0; i < cfg->peer_count; i++)
		ids[1 + i] = cfg->peers[i].node;
	uint32_t n_meta = aeg_shard_map_meta_voters(map, meta, AEG_SHARD_META_VOTERS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		voters[i] = false;
		for (uint32_t k = 0; k < n_meta; k++)
			voters[i] |= ids[i] == meta[k];
	}
	/* Two heard polls in a row make a (re)started node HEALTHY: one stray
	 * frame does not. */
	struct aeg_members_config mc = { .suspect_ms = cfg->suspect_ms, .down_ms = cfg->down_ms,
					 .rereplicate_ms = cfg->rereplicate_ms, .healthy_after = 2 };
	memset(nm, 0, sizeof(*nm));
	int rc = aeg_members_init(&nm->ms, &mc, cfg->node_id, ids, voters, n, now_ms);
	if (rc != 0)
		return rc;
	nm->cluster_state = (uint8_t)aeg_members_cluster_state(&nm->ms);
	return 0;
}

static void note(struct node_members *nm, const struct aeg_member_event *ev, uint64_t now_ms,
		 node_members_log_fn log)
{
	const struct aeg_member *m = aeg_members_get(&nm->ms, ev->id);
	assert(m != NULL && ev->to <= AEG_NODE_LEFT);
	nm->changes++;
	nm->into[ev->to]++;
	log("membership: node %u %s -> %s (last heard %llu ms ago)", ev->id, aeg_node_state_name(ev->from),
	    aeg_node_state_name(ev->to), (unsigned long long)(now_ms - m->last_heard_ms));
}

/* A drain or removal on record (the meta group) holds on every node that
 * sees the record: the node's own detector no longer moves it. */
static void meta_adopt(struct node_members *nm, const struct aeg_replica_meta_status *meta, uint64_t now_ms,
		       node_members_log_fn log)
{
	for (uint32_t k = 0; meta->here && k < meta->n_nodes; k++) {
		uint8_t rec = meta->nodes[k].state;
		const struct aeg_member *m = aeg_members_get(&nm->ms, meta->nodes[k].node);
		if (m == NULL || m->state == rec || (rec != AEG_NODE_LEAVING && rec != AEG_NODE_LEFT))
			continue;
		struct aeg_member_event ev;
		int rc = rec == AEG_NODE_LEAVING ? aeg_members_leave(&nm->ms, m->id, now_ms, &ev)
						 : aeg_members_left(&nm->ms, m->id, now_ms, &ev);
		if (rc == 1) {
			nm->changes++;
			nm->into[ev.to]++;
			log("membership: node %u %s -> %s (on record in the meta group, index %llu)", ev.id,
			    aeg_node_state_name(ev.from), aeg_node_state_name(ev.to),
			    (unsigned long long)meta->nodes[k].index);
		}
	}
}

/* The meta leader's node asks its replica to record what differs. */
static void meta_sync(struct node_members *nm, const struct aeg_replica_meta_status *meta, uint64_t now_ms,
		      struct aeg_dp_runtime *rt)
{
	if (!meta->here || meta->role != AEG_RAFT_LEADER || rt == NULL)
		return;
	for (uint32_t i = 0; i < nm->ms.n; i++) {
		const struct aeg_member *m = &nm->ms.m[i];
		uint8_t recorded = 0xff;
		for (uint32_t k = 0; k < meta->n_nodes; k++)
			if (meta->nodes[k].node == m->id)
				recorded = meta->nodes[k].state;
		if (recorded == m->state || now_ms - nm->meta_sent_ms[i] < 1000)
			continue;
		struct aeg_ctl_msg msg = { .type = AEG_REPLICA_CTL_META_STATE, .len = 16,
					   .arg = { m->id, m->state } };
		if (aeg_dp_runtime_ctl_send(rt, 0, &msg) == 0) {
			nm->meta_sent_ms[i] = now_ms;
			nm->meta_sent++;
		}
	}
}

void node_members_poll(struct node_members *nm, struct aeg_replica *const *rps, uint32_t workers,
		       uint64_t now_ms, node_members_log_fn log, struct aeg_dp_runtime *rt)
{
	if (nm->last_poll_ms != 0 && now_ms - nm->last_poll_ms < NODE_MEMBERS_POLL_MS)
		return;
	nm->last_poll_ms = now_ms;
	static __thread struct aeg_replica_status st;  /* large: off the stack */
	uint64_t rx[AEG_MEMBERS_MAX] = { 0 };
	for (uint32_t w = 0; w < workers; w++) {
		if (rps[w] == NULL)
			continue;
		(void)aeg_replica_status_read(rps[w], &st, NULL, 0);
		for (uint32_t k = 0; k < st.n_peers && k < AEG_REPLICA_PEERS_MAX; k++)
			for (uint32_t i = 0; i < nm->ms.n; i++)
				if (nm->ms.m[i].id == st.peers[k].node)
					rx[i] += st.peers[k].rx_msgs;
	}
	struct aeg_member_event ev[AEG_MEMBERS_MAX];
	for (uint32_t i = 0; i < nm->ms.n; i++) {
		if (nm->ms.m[i].id == nm->ms.self || rx[i] <= nm->rx_seen[i])
			continue;
		nm->rx_seen[i] = rx[i];
		if (aeg_members_heard(&nm->ms, nm->ms.m[i].id, now_ms, &ev[0]) == 1)
			note(nm, &ev[0], now_ms, log);
	}
	uint32_t n = aeg_members_tick(&nm->ms, now_ms, ev, AEG_MEMBERS_MAX);
	for (uint32_t i = 0; i < n; i++)
		note(nm, &ev[i], now_ms, log);
	uint8_t cs = (uint8_t)aeg_members_cluster_state(&nm->ms);
	if (cs != nm->cluster_state) {
		log("membership: cluster %s -> %s", aeg_cluster_state_name(nm->cluster_state),
		    aeg_cluster_state_name(cs));
		nm->cluster_state = cs;
		nm->cluster_changes++;
	}
	if (workers > 0 && rps[0] != NULL) {
		(void)aeg_replica_status_read(rps[0], &st, NULL, 0);
		meta_adopt(nm, &st.meta, now_ms, log);
		meta_sync(nm, &st.meta, now_ms, rt);
		/* The meta group's voters now (a drained voter hands its vote
		 * over): the cluster's state is about their quorum. */
		if (st.meta.here && st.meta.n_voters > 0 &&
		    aeg_members_set_voters(&nm->ms, st.meta.voters, st.meta.n_voters) > 0) {
			char ids[AEG_REPLICA_META_VOTERS_MAX * 11 + 1];
			int len = 0;
			for (uint32_t i = 0; i < st.meta.n_voters && i < AEG_REPLICA_META_VOTERS_MAX; i++)
				len += snprintf(ids + len, sizeof(ids) - (size_t)len, "%s%u", i ? "," : "", st.meta.voters[i]);
			log("membership: the meta voters are now %s (the group's config)", ids);
		}
	}
}
