/* The meta group (issue [G]): the cluster's own records, replicated by
 * Raft on worker 0 of the meta voters (aeg_shard_map_meta_voters). Its
 * state machine is a lib/kv store like any shard's, keyed "node/<id>" ->
 * the node's state name; its applied index is the records' epoch.
 *
 * Who writes: the slow path of every node sends its view of each node's
 * state over the control ring (AEG_REPLICA_CTL_META_STATE); only the meta
 * leader's replica proposes, and only what differs from the record, so the
 * records follow the leader's failure detector and converge after a
 * leadership change. Clients never reach this group: its shard index is
 * beyond the client map's (requests for it get STALE_EPOCH).
 *
 * The worker's control messages (aeg_replica_on_ctl) come in here too: the
 * meta records and an operator's leadership transfer. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aegis/membership.h"
#include "aegis/msg.h"
#include "ctl_ring.h"
#include "replica_int.h"

#define META_STATE_NONE 0xffu

static int meta_key(uint32_t node, char *key, size_t cap)
{
	int n = snprintf(key, cap, "node/%u", node);
	assert(n > 0 && (size_t)n < cap);
	return n;
}

/* The recorded state of node, META_STATE_NONE if none; *index the entry. */
static uint8_t meta_record(const struct aeg_replica *rp, uint32_t node, uint64_t *index)
{
	char key[24];
	int kl = meta_key(node, key, sizeof(key));
	const uint8_t *v;
	uint32_t vl;
	*index = 0;
	if (aeg_kv_get(rp->meta->kv, key, (uint32_t)kl, &v, &vl, index) != 0)
		return META_STATE_NONE;
	for (uint8_t st = AEG_NODE_STARTING; st <= AEG_NODE_LEFT; st++) {
		const char *name = aeg_node_state_name(st);
		if (strlen(name) == vl && memcmp(name, v, vl) == 0)
			return st;
	}
	return META_STATE_NONE;  /* a record of a later version: shown as none */
}

int rp_meta_create(struct aeg_replica *rp, struct rp_shard *s, uint32_t *voters, uint32_t *n)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	*n = aeg_shard_map_meta_voters(m, voters, AEG_SHARD_META_VOTERS_MAX);
	bool voter = false;
	for (uint32_t i = 0; i < *n; i++)
		voter |= voters[i] == rp->cfg.node;
	if (rp->cfg.worker != 0 || !voter)
		return 0;
	uint32_t shard = aeg_shard_map_meta_shard(m);
	s->shard = shard;
	s->group = aeg_shard_group(shard);
	assert(s->group < rp->groups_max);
	rp->meta = s;
	return 1;
}

/* An operator's request reaches the meta leader wherever it was made: a
 * worker that does not lead the meta group sends it to every other meta
 * voter, and the one that leads records it (the others drop it). */
static void meta_forward(struct aeg_replica *rp, uint32_t node, uint8_t state)
{
	uint32_t voters[AEG_SHARD_META_VOTERS_MAX];
	uint32_t n = aeg_shard_map_meta_voters(rp->cfg.map, voters, AEG_SHARD_META_VOTERS_MAX);
	uint8_t body[5] = { (uint8_t)node, (uint8_t)(node >> 8), (uint8_t)(node >> 16), (uint8_t)(node >> 24), state };
	for (uint32_t i = 0; i < n; i++)
		if (voters[i] != rp->cfg.node && rp_send(rp, voters[i], AEG_MSG_META, 0, body, sizeof(body)) == 0)
			rp->meta_forwarded++;
}

static void meta_request(struct aeg_replica *rp, uint32_t node, uint8_t state, bool forward)
{
	struct rp_shard *s = rp->meta;
	struct aeg_raft_status rs;
	if (s != NULL)
		aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
	uint64_t index;
	if (s == NULL || rs.role != AEG_RAFT_LEADER) {
		if (forward)
			meta_forward(rp, node, state);
		else
			rp->meta_dropped++;  /* not ours to write */
		return;
	}
	if (meta_record(rp, node, &index) == state)
		return;
	char key[24];
	int kl = meta_key(node, key, sizeof(key));
	const char *name = aeg_node_state_name(state);
	struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = key, .key_len = (uint32_t)kl, .value = name,
				.value_len = (uint32_t)strlen(name), .time_ms = rp->wall_ms };
	uint8_t buf[96];
	int len = aeg_kv_cmd_encode(&c, buf, sizeof(buf));
	assert(len > 0);
	struct aeg_raft_payload p = { .data = buf, .len = (uint32_t)len };
	uint64_t first = 0;
	int rc = aeg_gd_propose(rp->gd, s->group, &p, 1, &first);
	if (rc != 0) {
		rp->meta_dropped++;
		return;
	}
	rp->meta_proposed++;
	rp_log(rp, "meta: recording node %u %s (index %llu)", node, name, (unsigned long long)first);
}

/* An operator's leadership transfer (aegisctl leader transfer). */
static void leader_transfer(struct aeg_replica *rp, uint64_t shard, uint64_t to)
{
	struct rp_shard *s = shard < UINT32_MAX ? rp_shard_of(rp, aeg_shard_group((uint32_t)shard)) : NULL;
	if (s == NULL || to == 0 || to > UINT32_MAX) {
		rp_log(rp, "leader transfer of shard %llu to node %llu: no such shard or node here",
		       (unsigned long long)shard, (unsigned long long)to);
		return;
	}
	int rc = aeg_raft_transfer_leader(aeg_gd_raft(rp->gd, s->group), (uint32_t)to);
	aeg_gd_touch(rp->gd, s->group);
	rp_log(rp, "leader transfer of shard %llu (group %u) to node %llu: %s", (unsigned long long)shard, s->group,
	       (unsigned long long)to, rc == 0 ? "started" : strerror(-rc));
}

void aeg_replica_on_ctl(void *arg, struct aeg_worker *w, const struct aeg_ctl_msg *m)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	if (m->type == AEG_REPLICA_CTL_LEADER_TRANSFER) {
		leader_transfer(rp, m->arg[0], m->arg[1]);
		return;
	}
	if (m->type == AEG_REPLICA_CTL_SHARD_MOVE) {
		rp_place_move(rp, m->arg[0], m->arg[1], m->arg[2]);
		return;
	}
	if (m->type != AEG_REPLICA_CTL_META_STATE || m->arg[1] > AEG_NODE_LEFT || m->arg[0] == 0 ||
	    m->arg[0] > UINT32_MAX) {
		rp->meta_dropped++;
		return;
	}
	meta_request(rp, (uint32_t)m->arg[0], (uint8_t)m->arg[1], m->arg[2] != 0);
}

void rp_meta_on_msg(struct aeg_replica *rp, uint32_t src_node, const uint8_t *body, uint32_t len)
{
	(void)src_node;  /* a cluster frame: authenticated by the cluster key */
	if (len != 5 || body[4] > AEG_NODE_LEFT) {
		rp->st.raft_bad++;
		return;
	}
	uint32_t node = (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 24;
	if (node == 0 || aeg_shard_map_node(rp->cfg.map, node) == NULL) {
		rp->st.raft_bad++;
		return;
	}
	meta_request(rp, node, body[4], false);
}

void rp_meta_publish(struct aeg_replica *rp, struct aeg_replica_meta_status *out)
{
	memset(out, 0, sizeof(*out));
	out->proposed = rp->meta_proposed;
	out->dropped = rp->meta_dropped;
	out->forwarded = rp->meta_forwarded;
	if (rp->meta == NULL)
		return;
	struct aeg_raft_status rs;
	aeg_raft_status(aeg_gd_raft(rp->gd, rp->meta->group), &rs);
	out->here = true;
	out->role = (uint8_t)rs.role;
	out->lead = rs.lead;
	out->term = rs.term;
	out->epoch = rs.applied;
	uint32_t n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(rp->cfg.map, &n_nodes);
	for (uint32_t i = 0; i < n_nodes && out->n_nodes < AEG_REPLICA_META_NODES_MAX; i++) {
		uint64_t index;
		uint8_t st = meta_record(rp, nodes[i].id, &index);
		out->nodes[out->n_nodes].node = nodes[i].id;
		out->nodes[out->n_nodes].state = st;
		out->nodes[out->n_nodes].index = index;
		out->n_nodes++;
	}
}
