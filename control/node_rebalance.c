/* auto_rebalance on the slow path (node_rebalance.h). */
#include "node_rebalance.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/hash.h"
#include "aegis/membership.h"
#include "aegis/net.h"
#include "aegis/raft.h"
#include "common/key_order.h"
#include "ctl_ring.h"

int node_rebalance_init(struct node_rebalance *nr, const struct aeg_config *cfg, const struct aeg_shard_map *map)
{
	memset(nr, 0, sizeof(*nr));
	nr->cfg = cfg;
	nr->map = map;
	uint32_t n_nodes;
	(void)aeg_shard_map_nodes(map, &n_nodes);
	size_t cells = (size_t)aeg_shard_map_shard_count(map) * aeg_shard_map_replication_factor(map);
	nr->place = calloc(cells * 2, sizeof(*nr->place));  /* the records' placement, then the planner's copy */
	/* the planner's, then the leaders'; room for the joined nodes */
	nr->nodes = calloc(((size_t)n_nodes + AEG_REPLICA_JOINED_MAX) * 2, sizeof(*nr->nodes));
	nr->transfer_ms = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->transfer_ms));
	nr->lead_term = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->lead_term));
	nr->lead_since_ms = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->lead_since_ms));
	nr->groups = calloc((size_t)aeg_shard_map_shard_count(map) + 2, sizeof(*nr->groups));
	nr->skip = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->skip));
	nr->states = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->states));
	nr->orphan_since_ms = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->orphan_since_ms));
	nr->pref_seen = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->pref_seen));
	nr->pref_pinned_ms = calloc(aeg_shard_map_shard_count(map), sizeof(*nr->pref_pinned_ms));
	if (nr->place == NULL || nr->nodes == NULL || nr->transfer_ms == NULL || nr->groups == NULL ||
	    nr->skip == NULL || nr->lead_term == NULL || nr->lead_since_ms == NULL || nr->states == NULL ||
	    nr->orphan_since_ms == NULL || nr->pref_seen == NULL || nr->pref_pinned_ms == NULL) {
		node_rebalance_fini(nr);
		return -ENOMEM;
	}
	return 0;
}

static void copy_free(struct node_map_copy *c)
{
	aeg_shard_map_free(c->map);
	free(c->bytes);
	memset(c, 0, sizeof(*c));
}

/* After the workers stopped: no worker reads them any more. */
void node_rebalance_fini(struct node_rebalance *nr)
{
	free(nr->place);
	free(nr->nodes);
	free(nr->transfer_ms);
	free(nr->lead_term);
	free(nr->lead_since_ms);
	free(nr->groups);
	free(nr->skip);
	free(nr->states);
	nr->states = NULL;
	free(nr->orphan_since_ms);
	nr->orphan_since_ms = NULL;
	free(nr->pref_seen);
	free(nr->pref_pinned_ms);
	nr->pref_seen = NULL;
	nr->pref_pinned_ms = NULL;
	nr->place = NULL;
	nr->nodes = NULL;
	nr->transfer_ms = NULL;
	nr->lead_term = NULL;
	nr->lead_since_ms = NULL;
	nr->groups = NULL;
	nr->skip = NULL;
	copy_free(&nr->served);
	for (uint32_t i = 0; i < NODE_REBALANCE_OLD_MAPS; i++)
		copy_free(&nr->old[i]);
}

const struct aeg_shard_map *node_rebalance_cluster_map(const struct node_rebalance *nr)
{
	return nr->served.map != NULL ? nr->served.map : nr->map;
}

uint64_t node_rebalance_map_epoch(const struct node_rebalance *nr)
{
	return nr->served.map != NULL ? aeg_shard_map_epoch(nr->served.map) : aeg_shard_map_epoch(nr->map);
}

/* Maps no worker routes by any more (each reports a newer epoch). */
static void maps_reap(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers)
{
	static __thread struct aeg_replica_status st;
	uint64_t low = UINT64_MAX;
	for (uint32_t w = 0; w < workers; w++) {
		(void)aeg_replica_status_read(rps[w], &st, NULL, 0);
		if (st.map_epoch < low)
			low = st.map_epoch;
	}
	for (uint32_t i = 0; i < NODE_REBALANCE_OLD_MAPS; i++)
		if (nr->old[i].map != NULL && aeg_shard_map_epoch(nr->old[i].map) < low)
			copy_free(&nr->old[i]);
}

/* A newer shard or "joined" record: the workers route by its placement
 * and nodes. The epoch comes from the record's entry: the same on every
 * node. */
static void map_update(struct node_rebalance *nr, uint64_t place_index, struct aeg_replica *const *rps,
		       uint32_t workers, node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	maps_reap(nr, rps, workers);
	if (nr->joined_index > place_index)
		place_index = nr->joined_index;
	/* The range table after splits ("ranges" record). */
	static __thread uint8_t ranges[AEG_REPLICA_RANGES_BYTES_MAX];
	size_t ranges_len = 0;
	uint64_t ranges_index = aeg_shard_map_strategy(nr->map) == AEG_SHARD_RANGE
					? aeg_replica_meta_ranges(rps[0], ranges, sizeof(ranges), &ranges_len) : 0;
	if (ranges_index > place_index)
		place_index = ranges_index;
	if (place_index <= nr->served_index)
		return;
	struct node_map_copy *slot = NULL;
	for (uint32_t i = 0; i < NODE_REBALANCE_OLD_MAPS && slot == NULL; i++)
		if (nr->old[i].map == NULL)
			slot = &nr->old[i];
	if (slot == NULL)
		return;  /* a worker still routes by old ones: later */
	struct node_map_copy c = { 0 };
	uint64_t epoch = aeg_shard_map_epoch(nr->map) + place_index;
	int rc = aeg_shard_map_placed(&c.map, nr->map, epoch, nr->place, nr->joined, nr->n_joined);
	if (rc == 0 && ranges_index != 0) {
		uint32_t count = aeg_shard_map_shard_count(nr->map), n = 0;
		struct aeg_shard_range *r = calloc(count, sizeof(*r));
		struct aeg_shard_map *ranged = NULL;
		rc = r == NULL ? -ENOMEM : aeg_shard_ranges_decode(ranges, ranges_len, r, count, &n);
		if (rc == 0)
			rc = aeg_shard_map_ranged(&ranged, c.map, epoch, r, n);
		free(r);
		if (rc == 0) {
			aeg_shard_map_free(c.map);
			c.map = ranged;
		}
	}
	if (rc == 0) {
		c.len = aeg_shard_map_encoded_size(c.map);
		c.bytes = malloc(c.len);
		rc = c.bytes == NULL ? -ENOMEM : aeg_shard_map_encode(c.map, c.bytes, c.len);
	}
	if (rc < 0) {
		log("rebalance: the map of the records (index %llu): %s", (unsigned long long)place_index, strerror(-rc));
		copy_free(&c);
		nr->served_index = place_index;  /* not again for this record */
		return;
	}
	c.len = (size_t)rc;
	for (uint32_t w = 0; w < workers; w++) {
		struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_MAP_SET, .len = 24,
					 .arg = { (uintptr_t)c.map, (uintptr_t)c.bytes, c.len } };
		while (aeg_dp_runtime_ctl_send(rt, (uint16_t)w, &m) != 0)
			;  /* a full control ring drains within an iteration */
	}
	if (nr->served.map != NULL)
		*slot = nr->served;
	nr->served = c;
	nr->served_index = place_index;
	nr->maps_sent++;
	log("rebalance: routing by the meta records' map, epoch %llu", (unsigned long long)epoch);
}

static size_t cells(const struct node_rebalance *nr)
{
	return (size_t)aeg_shard_map_shard_count(nr->map) * aeg_shard_map_replication_factor(nr->map);
}

uint32_t node_rebalance_held(const struct node_rebalance *nr, uint32_t node)
{
	uint32_t held = 0;
	for (size_t i = 0; nr->epoch != 0 && i < cells(nr); i++)
		held += nr->place[i] == node;
	return held;
}

/* Moves this node's workers finished: their voters to the meta records. */
/* A move's voters in the slots on record: each keeps its slot and the
 * newcomer takes the one of the replica it replaced, so that the preferred
 * leader (slot 0) moves only with its own replica. */
static void order_voters(const struct node_rebalance *nr, uint32_t shard, const uint32_t *in, uint32_t n,
			 uint32_t *out)
{
	uint32_t rf = aeg_shard_map_replication_factor(nr->map);
	memcpy(out, in, n * sizeof(*out));
	if (n != rf || nr->epoch == 0 || n > 5)
		return;
	const uint32_t *old = nr->place + (size_t)shard * rf;
	bool used[5] = { false };
	for (uint32_t k = 0; k < rf; k++) {
		out[k] = 0;
		for (uint32_t i = 0; i < n; i++)
			if (in[i] == old[k] && !used[i]) {
				out[k] = in[i];
				used[i] = true;
			}
	}
	for (uint32_t k = 0; k < rf; k++)
		for (uint32_t i = 0; out[k] == 0 && i < n; i++)
			if (!used[i]) {
				out[k] = in[i];
				used[i] = true;
			}
}

static void relay_placed(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers,
			 struct aeg_dp_runtime *rt)
{
	static __thread struct aeg_replica_status st;  /* large: off the stack */
	for (uint32_t w = 0; w < workers && w < AEG_CONFIG_WORKERS_MAX; w++) {
		if (rps[w] == NULL)
			continue;
		(void)aeg_replica_status_read(rps[w], &st, NULL, 0);
		if (st.placed_seq - nr->placed_seen[w] > AEG_REPLICA_PLACED_RING)
			nr->placed_seen[w] = st.placed_seq - AEG_REPLICA_PLACED_RING;  /* older ones are gone */
		while (nr->placed_seen[w] < st.placed_seq) {
			const struct aeg_replica_placed *p = &st.placed[nr->placed_seen[w] % AEG_REPLICA_PLACED_RING];
			if (p->kind != AEG_REPLICA_PLACED_VOTERS) {
				/* A move began or is over, a split's step: the shard's state on record. */
				uint8_t state = p->kind == AEG_REPLICA_PLACED_STATE     ? p->state
						: p->kind == AEG_REPLICA_PLACED_STARTED ? AEG_SHARD_MIGRATING
											: AEG_SHARD_ACTIVE;
				struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_META_SHARD_STATE, .len = 16,
							 .arg = { p->shard, state } };
				if (aeg_dp_runtime_ctl_send(rt, 0, &c) != 0)
					break;
				nr->placed_seen[w]++;
				continue;
			}
			struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_META_SHARD, .len = 56,
						 .arg = { p->shard, p->n } };
			uint32_t ordered[5];
			order_voters(nr, p->shard, p->voters, p->n < 5 ? p->n : 5, ordered);
			for (uint32_t i = 0; i < p->n && i < 5; i++)
				m.arg[2 + i] = ordered[i];
			if (aeg_dp_runtime_ctl_send(rt, 0, &m) != 0)
				break;  /* the ring is full: next poll */
			nr->placed_seen[w]++;
			nr->relayed++;
		}
	}
}

/* A split (merge) whose copy is done asks the meta group for the new range
 * table, through worker 0 (META_SPLIT, META_MERGE), every
 * NODE_REBALANCE_SPLIT_ASK_MS. */
static void relay_splits(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers,
			 uint64_t now_ms, struct aeg_dp_runtime *rt)
{
	static __thread struct aeg_replica_status st;
	for (uint32_t w = 0; w < workers && w < AEG_CONFIG_WORKERS_MAX; w++) {
		(void)aeg_replica_status_read(rps[w], &st, NULL, 0);
		const struct aeg_replica_split_status *sp = &st.split;
		if (sp->phase != AEG_SPLIT_RECORD || now_ms - nr->split_ask_ms[w] < NODE_REBALANCE_SPLIT_ASK_MS ||
		    sp->key_len == 0 || sp->key_len > AEG_REPLICA_SPLIT_KEY_MAX)
			continue;
		if (sp->merge) {
			struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_META_MERGE, .len = 24,
						 .arg = { sp->from, sp->to, sp->bounds } };
			if (aeg_dp_runtime_ctl_send(rt, 0, &c) == 0)
				nr->split_ask_ms[w] = now_ms;
			continue;
		}
		uint8_t *key = malloc(sp->key_len);
		if (key == NULL)
			continue;
		memcpy(key, sp->key, sp->key_len);
		struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_META_SPLIT, .len = 40,
					 .arg = { sp->from, sp->to, (uintptr_t)key, sp->key_len, sp->bounds } };
		if (aeg_dp_runtime_ctl_send(rt, 0, &c) != 0) {
			free(key);
			continue;
		}
		nr->split_ask_ms[w] = now_ms;
	}
}

static bool holds(const struct node_rebalance *nr, uint32_t shard, uint32_t node)
{
	uint32_t rf = aeg_shard_map_replication_factor(nr->map);
	for (uint32_t k = 0; k < rf; k++)
		if (nr->place[(size_t)shard * rf + k] == node)
			return true;
	return false;
}

/* Moves in flight: finished once the records show them, else abandoned
 * after the timeout (planned again). Returns how many are still on. */
static uint32_t inflight_update(struct node_rebalance *nr, uint64_t now_ms, node_rebalance_log_fn log)
{
	uint32_t on = 0;
	for (uint32_t i = 0; i < NODE_REBALANCE_INFLIGHT_MAX; i++) {
		struct node_rebalance_move *mv = &nr->inflight[i];
		if (!mv->active)
			continue;
		if (holds(nr, mv->shard, mv->to) && !holds(nr, mv->shard, mv->from)) {
			mv->active = false;
			nr->finished++;
			log("rebalance: shard %u moved %u -> %u in %llu ms", mv->shard, mv->from, mv->to,
			    (unsigned long long)(now_ms - mv->asked_ms));
		} else if (now_ms - mv->asked_ms > NODE_REBALANCE_MOVE_TIMEOUT_MS) {
			mv->active = false;
			nr->timed_out++;
			log("rebalance: shard %u move %u -> %u not on record after %u ms: planned again", mv->shard,
			    mv->from, mv->to, NODE_REBALANCE_MOVE_TIMEOUT_MS);
		} else {
			on++;
		}
	}
	return on;
}

static bool busy(const struct node_rebalance *nr, const struct aeg_plan_move *m)
{
	for (uint32_t i = 0; i < NODE_REBALANCE_INFLIGHT_MAX; i++) {
		const struct node_rebalance_move *mv = &nr->inflight[i];
		if (mv->active && (mv->shard == m->shard || mv->to == m->to))
			return true;  /* one move per shard, one incoming copy per node */
	}
	return false;
}

static int ask_send(struct node_rebalance *nr, const struct node_rebalance_move *m, uint32_t workers,
		    struct aeg_dp_runtime *rt)
{
	uint32_t rf = aeg_shard_map_replication_factor(nr->map);
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_SHARD_MOVE_ASK, .len = 56, .arg = { m->shard, m->from, m->to } };
	for (uint32_t k = 0; k < rf && k < 4; k++)
		c.arg[3 + k] = nr->place[(size_t)m->shard * rf + k];
	return aeg_dp_runtime_ctl_send(rt, (uint16_t)aeg_shard_worker(m->shard, workers), &c);
}

static void ask(struct node_rebalance *nr, const struct aeg_plan_move *m, uint32_t workers, uint64_t now_ms,
		node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	struct node_rebalance_move mv = { .active = true, .shard = m->shard, .from = m->from, .to = m->to,
					  .asked_ms = now_ms, .last_ask_ms = now_ms };
	if (ask_send(nr, &mv, workers, rt) != 0)
		return;
	for (uint32_t i = 0; i < NODE_REBALANCE_INFLIGHT_MAX; i++)
		if (!nr->inflight[i].active) {
			nr->inflight[i] = mv;
			break;
		}
	nr->asked++;
	log("rebalance: asking shard %u's voters to move the replica on node %u to node %u", m->shard, m->from, m->to);
}

/* Moves in flight not on record yet are asked again (the ask may have
 * been lost, or the shard's leadership moved). */
static void reask(struct node_rebalance *nr, uint32_t workers, uint64_t now_ms, struct aeg_dp_runtime *rt)
{
	for (uint32_t i = 0; i < NODE_REBALANCE_INFLIGHT_MAX; i++) {
		struct node_rebalance_move *mv = &nr->inflight[i];
		if (mv->active && now_ms - mv->last_ask_ms >= NODE_REBALANCE_REASK_MS && ask_send(nr, mv, workers, rt) == 0)
			mv->last_ask_ms = now_ms;
	}
}

/* Leadership to each shard's preferred replica (rebalance.leaders). */
/* A shard this node has led for NODE_REBALANCE_LEAD_GRACE_MS goes to its
 * preferred replica when that one is a HEALTHY voter (one transfer a
 * second per node, a shard again after 30 s). true: a transfer was asked. */
static bool leader_step(struct node_rebalance *nr, uint32_t w, const struct aeg_replica_group_status *g,
			const struct node_members *nm, uint64_t now_ms, node_rebalance_log_fn log,
			struct aeg_dp_runtime *rt)
{
	uint32_t rf = aeg_shard_map_replication_factor(nr->map);
	if (g->role != AEG_RAFT_LEADER || g->lead != nr->cfg->node_id)
		return false;
	if (nr->lead_term[g->shard] != g->term) {
		nr->lead_term[g->shard] = g->term;
		nr->lead_since_ms[g->shard] = now_ms;
	}
	if (now_ms - nr->lead_since_ms[g->shard] < NODE_REBALANCE_LEAD_GRACE_MS)
		return false;
	uint32_t pref = nr->place[(size_t)g->shard * rf];
	const struct aeg_member *m = aeg_members_get(&nm->ms, pref);
	bool voter = false;
	for (uint32_t k = 0; k < g->n_members; k++)
		voter |= g->members[k] == pref && g->member_roles[k] == AEG_RAFT_MEMBER_VOTER;
	if (pref == nr->cfg->node_id || !voter || m == NULL || m->state != AEG_NODE_HEALTHY ||
	    (nr->transfer_ms[g->shard] != 0 && now_ms - nr->transfer_ms[g->shard] < 30000))
		return false;
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_LEADER_TRANSFER, .len = 16, .arg = { g->shard, pref } };
	if (aeg_dp_runtime_ctl_send(rt, (uint16_t)w, &c) != 0)
		return true;  /* the ring is full: next poll */
	nr->transfer_ms[g->shard] = now_ms;
	nr->last_transfer_ms = now_ms;
	nr->transfers++;
	log("rebalance: shard %u's leadership to its preferred replica, node %u", g->shard, pref);
	return true;
}

/* The meta leader spreads preferred leaders (slot 0 on record) over the
 * healthy nodes that may hold replicas: a shard whose preferred node has at
 * least two more than another of its voters gets that one first (a record;
 * leader_step then moves the leadership). One a second. */
static void spread_preferred(struct node_rebalance *nr, const struct node_members *nm, uint64_t now_ms,
			     node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	uint32_t count = aeg_shard_map_shard_count(nr->map), rf = aeg_shard_map_replication_factor(nr->map), n_nodes;
	(void)aeg_shard_map_nodes(node_rebalance_cluster_map(nr), &n_nodes);
	if (!nr->cfg->rebalance_leaders || now_ms - nr->last_spread_ms < 1000 || rf < 2)
		return;
	/* Leaders go to healthy nodes that may hold replicas; shards with a
	 * move under way wait for it. */
	struct aeg_plan_node *lead_nodes = nr->nodes + n_nodes;
	for (uint32_t i = 0; i < n_nodes; i++) {
		const struct aeg_member *m = aeg_members_get(&nm->ms, nr->nodes[i].id);
		lead_nodes[i] = nr->nodes[i];
		lead_nodes[i].eligible = nr->nodes[i].eligible && m != NULL && m->state == AEG_NODE_HEALTHY;
	}
	for (uint32_t s = 0; s < count; s++)
		nr->skip[s] = busy(nr, &(struct aeg_plan_move){ .shard = s, .to = UINT32_MAX }) ||
			      (nr->pref_pinned_ms[s] != 0 && now_ms - nr->pref_pinned_ms[s] < NODE_REBALANCE_PIN_MS);
	struct aeg_plan_input in = { .nodes = lead_nodes, .n_nodes = n_nodes, .shard_count = count, .rf = rf };
	uint32_t shard, slot;
	if (aeg_plan_preferred(&in, nr->place, nr->skip, &shard, &slot) != 1)
		return;
	const uint32_t *v = nr->place + (size_t)shard * rf;
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_META_SHARD, .len = 56, .arg = { shard, rf } };
	for (uint32_t k = 0; k < rf && k < 5; k++)
		c.arg[2 + k] = v[k];
	c.arg[2] = v[slot];
	c.arg[2 + slot] = v[0];
	if (aeg_dp_runtime_ctl_send(rt, 0, &c) == 0) {
		nr->last_spread_ms = now_ms;
		nr->spread_shard = shard;
		nr->spread_to = v[slot];
		log("rebalance: shard %u's preferred replica node %u -> node %u", shard, v[0], v[slot]);
	}
}

/* Nodes the "joined" record names that this node does not know yet. */
static void joins(struct node_rebalance *nr, const struct aeg_replica_meta_status *meta, struct node_members *nm,
		  uint64_t now_ms, node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	bool pending = false;
	for (uint32_t i = 0; i < meta->n_joined && i < AEG_REPLICA_JOINED_MAX; i++) {
		const struct aeg_replica_joined *j = &meta->joined[i];
		uint32_t k = 0;
		while (k < nr->n_joined && nr->joined[k].id != j->node)
			k++;
		bool known = k < nr->n_joined;
		if (known && !nr->peers_pending)
			continue;
		if (!known && aeg_shard_map_node(nr->map, j->node) != NULL)
			continue;  /* a node of the config's (refused by the meta leader; a record of an older config) */
		if (!known)
			nr->joined[nr->n_joined++] = (struct aeg_shard_node){
				.id = j->node, .ipv4 = j->ipv4, .udp_port_base = j->port, .weight = AEG_HASH_WEIGHT_ONE };
		if (j->node == nr->cfg->node_id)
			continue;  /* this node, joining: the others are its config's peers */
		struct aeg_worker_peer p = { .node = j->node, .ipv4 = j->ipv4, .udp_base_port = j->port };
		int rc = aeg_dp_runtime_peer_add(rt, &p);
		pending |= rc == -ENOBUFS;
		if (nr->dn != NULL && !known && aeg_dp_node_peer_add(nr->dn, j->ipv4) != 0)
			log("membership: node %u joined, but the port has no room to resolve its address", j->node);
		if (known)
			continue;
		char ip[16];
		aeg_net_ipv4_format(j->ipv4, ip);
		log("membership: node %u joined at %s:%u (on record, index %llu)%s", j->node, ip, j->port,
		    (unsigned long long)meta->joined_index, rc == -ENOSPC ? ": NO ROOM in the dataplane's peers" : "");
		if (nm != NULL && aeg_members_get(&nm->ms, j->node) == NULL)
			(void)aeg_members_add(&nm->ms, j->node, false, now_ms);
	}
	nr->peers_pending = pending;
	if (meta->joined_index > nr->joined_index)
		nr->joined_index = meta->joined_index;
}

/* A preferred replica swapped on record with another voter other than by
 * our own spread (an operator's leader transfer) is pinned: the spread
 * leaves that shard alone for NODE_REBALANCE_PIN_MS. (A move of the
 * preferred replica is not a swap: its newcomer takes slot 0.) */
static void prefs_watch(struct node_rebalance *nr, uint64_t now_ms)
{
	uint32_t count = aeg_shard_map_shard_count(nr->map), rf = aeg_shard_map_replication_factor(nr->map);
	for (uint32_t s = 0; s < count; s++) {
		const uint32_t *v = nr->place + (size_t)s * rf;
		uint32_t pref = v[0];
		bool reordered = false;  /* the old one still votes: a swap, not a move */
		for (uint32_t k = 1; k < rf; k++)
			reordered |= v[k] == nr->pref_seen[s];
		if (nr->pref_seen[s] != 0 && pref != nr->pref_seen[s] && reordered &&
		    !(s == nr->spread_shard && pref == nr->spread_to))
			nr->pref_pinned_ms[s] = now_ms;
		nr->pref_seen[s] = pref;
	}
}

/* Replicas here the records do not list (node_rebalance.h, "Orphans"). */
/* A replica here off the records, of an active shard, leaderless for
 * rebalance.orphan_ms: dropped (the worker checks again). */
static void orphan_step(struct node_rebalance *nr, uint32_t w, const struct aeg_replica_group_status *g,
			uint64_t now_ms, node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	bool orphan = !holds(nr, g->shard, nr->cfg->node_id) && nr->states[g->shard] == AEG_SHARD_ACTIVE &&
		      g->lead == 0 && g->role != AEG_RAFT_LEADER;
	if (!orphan) {
		nr->orphan_since_ms[g->shard] = 0;
		return;
	}
	if (nr->orphan_since_ms[g->shard] == 0)
		nr->orphan_since_ms[g->shard] = now_ms;
	if (now_ms - nr->orphan_since_ms[g->shard] < nr->cfg->rebalance_orphan_ms)
		return;
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_DROP_ORPHAN, .len = 8, .arg = { g->shard } };
	if (aeg_dp_runtime_ctl_send(rt, (uint16_t)w, &c) != 0)
		return;
	log("rebalance: shard %u: the replica here is not on record and has had no leader for %llu ms: "
	    "dropping it (an orphan)", g->shard, (unsigned long long)(now_ms - nr->orphan_since_ms[g->shard]));
	nr->orphan_since_ms[g->shard] = now_ms;  /* asked again after another period if still here */
	nr->orphans_dropped++;
}

/* Whether range map m has a range starting at lo (the config's split
 * points: an operator's boundaries are never merged away). */
static bool config_bound(const struct aeg_shard_map *m, const void *lo, uint32_t lo_len)
{
	for (uint32_t k = 1; k < aeg_shard_map_range_count(m); k++) {
		struct aeg_shard_range r;
		if (aeg_shard_map_range(m, k, &r, NULL, NULL) == 0 && aeg_key_cmp(r.lo, r.lo_len, lo, lo_len) == 0)
			return true;
	}
	return false;
}

/* Automatic splits and merges (sharding.split_bytes, merge_bytes) of the
 * ranges this node leads on worker w, one every NODE_REBALANCE_AUTO_RANGE_MS
 * per node: a range holding more than split_bytes goes half to the lowest
 * spare of the worker (the worker picks the middle key); a range whose
 * bytes and those of the range before it are under merge_bytes joins it
 * (not at a config split point). */
static void auto_ranges(struct node_rebalance *nr, uint32_t w, const struct aeg_replica_status *st, uint32_t n,
			uint64_t now_ms, node_rebalance_log_fn log, struct aeg_dp_runtime *rt)
{
	const struct aeg_config *cfg = nr->cfg;
	const struct aeg_shard_map *m = node_rebalance_cluster_map(nr);
	uint32_t count = aeg_shard_map_shard_count(m);
	if (aeg_shard_map_strategy(m) != AEG_SHARD_RANGE || (cfg->split_bytes == 0 && cfg->merge_bytes == 0) ||
	    nr->paused || st->split.phase != AEG_SPLIT_IDLE || now_ms - nr->auto_range_ms < NODE_REBALANCE_AUTO_RANGE_MS)
		return;
	const struct aeg_replica_group_status *g = nr->groups;
	for (uint32_t i = 0; i < n && i < count + 2; i++) {
		uint32_t k = g[i].shard < count ? aeg_shard_map_range_index(m, g[i].shard) : UINT32_MAX;
		if (k == UINT32_MAX || g[i].role != AEG_RAFT_LEADER || nr->states[g[i].shard] != AEG_SHARD_ACTIVE)
			continue;
		struct aeg_ctl_msg c = { .len = 32 };
		uint32_t other = UINT32_MAX;
		if (cfg->split_bytes != 0 && g[i].kv_bytes > cfg->split_bytes) {
			for (uint32_t j = 0; j < n && j < count + 2; j++)
				if (g[j].shard < count && aeg_shard_map_range_index(m, g[j].shard) == UINT32_MAX &&
				    (other == UINT32_MAX || g[j].shard < other))
					other = g[j].shard;
			if (other == UINT32_MAX)
				continue;  /* no spare here */
			c.type = AEG_REPLICA_CTL_SPLIT;
		} else if (cfg->merge_bytes != 0 && k > 0) {
			struct aeg_shard_range r, prev;
			if (aeg_shard_map_range(m, k, &r, NULL, NULL) != 0 || aeg_shard_map_range(m, k - 1, &prev, NULL, NULL) != 0 ||
			    config_bound(nr->map, r.lo, r.lo_len))
				continue;
			for (uint32_t j = 0; j < n && j < count + 2; j++)
				if (g[j].shard == prev.shard && g[i].kv_bytes + g[j].kv_bytes < cfg->merge_bytes)
					other = prev.shard;
			if (other == UINT32_MAX)
				continue;
			c.type = AEG_REPLICA_CTL_MERGE;
		} else {
			continue;
		}
		c.arg[0] = g[i].shard;
		c.arg[1] = other;
		if (aeg_dp_runtime_ctl_send(rt, (uint16_t)w, &c) != 0)
			return;
		nr->auto_range_ms = now_ms;
		nr->auto_ranges++;
		log("rebalance: shard %u holds %llu bytes (sharding.%s %llu): %s shard %u", g[i].shard,
		    (unsigned long long)g[i].kv_bytes, c.type == AEG_REPLICA_CTL_SPLIT ? "split_bytes" : "merge_bytes",
		    (unsigned long long)(c.type == AEG_REPLICA_CTL_SPLIT ? cfg->split_bytes : cfg->merge_bytes),
		    c.type == AEG_REPLICA_CTL_SPLIT ? "splitting it into spare" : "merging it into", other);
		return;
	}
}

/* One pass over every worker's groups (one status read each): orphans,
 * and leaderships handed to preferred replicas (one per poll at most). */
static void groups_pass(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers,
			const struct node_members *nm, uint64_t now_ms, node_rebalance_log_fn log,
			struct aeg_dp_runtime *rt)
{
	static __thread struct aeg_replica_status st;
	uint32_t count = aeg_shard_map_shard_count(nr->map);
	bool leaders = nr->cfg->rebalance_leaders && nr->epoch != 0 && now_ms - nr->last_transfer_ms >= 1000;
	for (uint32_t w = 0; w < workers; w++) {
		uint32_t n = aeg_replica_status_read(rps[w], &st, nr->groups, count + 2);
		for (uint32_t i = 0; i < n && i < count + 2; i++) {
			const struct aeg_replica_group_status *g = &nr->groups[i];
			if (g->shard >= count)
				continue;
			orphan_step(nr, w, g, now_ms, log, rt);
			/* A split or merge holds both its shards' leaderships here. */
			bool splitting = st.split.phase != AEG_SPLIT_IDLE &&
					 (st.split.from == g->shard || st.split.to == g->shard);
			if (leaders && !splitting && leader_step(nr, w, g, nm, now_ms, log, rt))
				leaders = false;
		}
		if (nr->epoch != 0)
			auto_ranges(nr, w, &st, n, now_ms, log, rt);
	}
}

/* This node's zone and weight on record as its config says. */
static void labels_sync(struct node_rebalance *nr, const struct aeg_replica_meta_status *meta, uint64_t now_ms,
			struct aeg_dp_runtime *rt)
{
	for (uint32_t k = 0; k < meta->n_nodes; k++) {
		if (meta->nodes[k].node != nr->cfg->node_id)
			continue;
		if ((meta->nodes[k].weight == nr->cfg->weight && strcmp(meta->nodes[k].zone, nr->cfg->zone) == 0) ||
		    now_ms - nr->labels_sent_ms < 1000)
			return;
		struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_META_LABELS, .len = 48,
					 .arg = { nr->cfg->node_id, nr->cfg->weight } };
		_Static_assert(AEG_REPLICA_ZONE_BYTES <= 4 * sizeof(uint64_t), "the zone fits arg[2..5]");
		_Static_assert(AEG_CONFIG_ZONE_BYTES <= AEG_REPLICA_ZONE_BYTES, "a config zone fits the record");
		memcpy(&m.arg[2], nr->cfg->zone, AEG_CONFIG_ZONE_BYTES);
		if (aeg_dp_runtime_ctl_send(rt, 0, &m) == 0)
			nr->labels_sent_ms = now_ms;
		return;
	}
}

/* The planner's view of node id: its recorded weight (100 until then) and
 * zone number (distinct zone strings of the meta records in sorted order,
 * from 1; 0: none). */
static void labels_of(const struct aeg_replica_meta_status *meta, uint32_t id, uint32_t *weight, uint32_t *zone)
{
	*weight = 100;
	*zone = 0;
	const char *mine = NULL;
	for (uint32_t k = 0; k < meta->n_nodes; k++)
		if (meta->nodes[k].node == id && meta->nodes[k].weight != 0) {
			*weight = meta->nodes[k].weight;
			mine = meta->nodes[k].zone;
		}
	if (mine == NULL || mine[0] == '\0')
		return;
	/* Its number: 1 + the distinct zones that sort before it. */
	uint32_t below = 0;
	for (uint32_t k = 0; k < meta->n_nodes; k++) {
		const char *z = meta->nodes[k].zone;
		if (meta->nodes[k].weight == 0 || z[0] == '\0' || strcmp(z, mine) >= 0)
			continue;
		bool first = true;
		for (uint32_t j = 0; j < k && first; j++)
			first = meta->nodes[j].weight == 0 || strcmp(meta->nodes[j].zone, z) != 0;
		below += first;
	}
	*zone = below + 1;
}

void node_rebalance_poll(struct node_rebalance *nr, struct aeg_replica *const *rps, uint32_t workers,
			 struct node_members *nm, uint64_t now_ms, node_rebalance_log_fn log,
			 struct aeg_dp_runtime *rt)
{
	static __thread struct aeg_replica_status st;
	if (now_ms - nr->last_poll_ms < NODE_REBALANCE_POLL_MS || workers == 0 || rps[0] == NULL || rt == NULL)
		return;
	nr->last_poll_ms = now_ms;
	relay_placed(nr, rps, workers, rt);
	relay_splits(nr, rps, workers, now_ms, rt);
	(void)aeg_replica_status_read(rps[0], &st, NULL, 0);
	uint64_t epoch = st.meta.here ? aeg_replica_meta_placement(rps[0], nr->place, cells(nr)) : 0;
	if (epoch != 0) {
		(void)aeg_replica_meta_states(rps[0], nr->states, aeg_shard_map_shard_count(nr->map));
		prefs_watch(nr, now_ms);
	}
	nr->epoch = epoch;
	nr->planning = epoch != 0 && nm != NULL;
	nr->leading = nr->planning && st.meta.role == AEG_RAFT_LEADER;
	nr->paused = st.meta.rebalance_paused;
	if (!nr->planning)
		return;
	joins(nr, &st.meta, nm, now_ms, log, rt);
	labels_sync(nr, &st.meta, now_ms, rt);
	map_update(nr, st.meta.place_index, rps, workers, log, rt);
	groups_pass(nr, rps, workers, nm, now_ms, log, rt);
	uint32_t on = inflight_update(nr, now_ms, log);
	if (!nr->leading)
		memset(nr->inflight, 0, sizeof(nr->inflight));  /* the new meta leader plans them */
	uint32_t n_nodes, n_dead = 0;
	struct aeg_ctl_msg dead_msg = { .type = AEG_REPLICA_CTL_META_DEAD, .len = 56 };
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(node_rebalance_cluster_map(nr), &n_nodes);
	for (uint32_t i = 0; i < n_nodes; i++) {
		const struct aeg_member *m = aeg_members_get(&nm->ms, nodes[i].id);
		bool down_long = aeg_members_needs_copy(&nm->ms, nodes[i].id, now_ms);
		bool gone = m == NULL || m->state == AEG_NODE_LEAVING || m->state == AEG_NODE_LEFT || down_long;
		if (down_long && n_dead < 7)
			dead_msg.arg[n_dead++] = nodes[i].id;
		uint32_t weight, zone;
		labels_of(&st.meta, nodes[i].id, &weight, &zone);
		nr->nodes[i] = (struct aeg_plan_node){ .id = nodes[i].id, .weight = weight, .zone = zone, .eligible = !gone };
	}
	uint32_t *copy = nr->place + cells(nr);
	memcpy(copy, nr->place, cells(nr) * sizeof(*copy));
	struct aeg_plan_input in = { .nodes = nr->nodes, .n_nodes = n_nodes,
				     .shard_count = aeg_shard_map_shard_count(nr->map),
				     .rf = aeg_shard_map_replication_factor(nr->map),
				     .tolerance_pct = nr->cfg->rebalance_tolerance_pct };
	nr->plan_rc = aeg_plan_moves(&in, copy, nr->planned, NODE_REBALANCE_PLAN_MAX, &nr->n_planned);
	/* A dead meta voter's vote goes to a learner (worker 0 decides). */
	if (nr->leading && n_dead > 0)
		(void)aeg_dp_runtime_ctl_send(rt, 0, &dead_msg);
	if (!nr->leading || nr->paused)
		return;
	reask(nr, workers, now_ms, rt);
	if (on == 0 && nr->plan_rc == 0 && nr->n_planned == 0)
		spread_preferred(nr, nm, now_ms, log, rt);  /* once replicas are where they go */
	if (nr->plan_rc != 0 && nr->plan_rc != -EAGAIN)
		return;
	for (uint32_t i = 0; i < nr->n_planned && on < nr->cfg->rebalance_moves_max; i++) {
		const struct aeg_plan_move *m = &nr->planned[i];
		const struct aeg_member *to = aeg_members_get(&nm->ms, m->to);
		if (m->from == 0 || to == NULL || to->state != AEG_NODE_HEALTHY || busy(nr, m))
			continue;
		ask(nr, m, workers, now_ms, log, rt);
		on++;
	}
}
