/* Shard commands of the admin socket, answered from the workers' published
 * status and carried out by the worker that leads the shard (over its
 * control ring):
 *   leader_transfer {"shard":S,"to":N}     Raft's leadership transfer;
 *   shard_move {"shard":S,"from":A,"to":B} the replica on A moves to B
 *                                          (dataplane/replica/replica_place.c);
 *   shard_split {"shard":S[,"key":K][,"to":J]}, shard_merge {"shard":S}
 *                                          range splits and merges
 *                                          (dataplane/replica/replica_split.c).
 * A transfer must be asked of the node that leads S (another answers with
 * the leader it knows); a move asked elsewhere goes to S's voters on
 * record, and the one leading carries it out. The answer says the request
 * was handed over; aegisctl then watches the shard's status for the outcome. */
#define _GNU_SOURCE
#include "node_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/shard.h"
#include "common/key_order.h"
#include "ctl_ring.h"

#define GROUPS_MAX_SCANNED 65536

/* The shard's group status on this node; false if no replica is here. */
static bool group_here(struct aeg_node_status *ns, uint32_t shard, struct aeg_replica_group_status *out)
{
	static struct aeg_replica_status st;  /* large: off the stack (one thread) */
	uint16_t w = (uint16_t)aeg_shard_worker(shard, ns->workers);
	struct aeg_replica_group_status *gs = calloc(GROUPS_MAX_SCANNED, sizeof(*gs));
	if (gs == NULL)
		return false;
	uint32_t n = aeg_replica_status_read(ns->rps[w], &st, gs, GROUPS_MAX_SCANNED);
	bool here = false;
	for (uint32_t i = 0; i < n && i < GROUPS_MAX_SCANNED && !here; i++)
		if (gs[i].shard == shard) {
			*out = gs[i];
			here = true;
		}
	free(gs);
	return here;
}

static uint8_t member_role(const struct aeg_replica_group_status *g, uint64_t id)
{
	for (uint32_t i = 0; i < g->n_members; i++)
		if (g->members[i] == id)
			return g->member_roles[i];
	return 0;
}

/* An operator's leadership transfer also makes the new leader the shard's
 * preferred replica on record (its first voter): the rebalancer's
 * leadership balance (rebalance.leaders) then keeps it there instead of
 * handing the shard back. False when there is no record to change. */
static bool prefer(struct aeg_node_status *ns, uint32_t shard, uint32_t to)
{
	const struct node_rebalance *nr = ns->rebalance;
	if (nr == NULL || nr->epoch == 0)
		return false;
	uint32_t rf = aeg_shard_map_replication_factor(ns->map);
	const uint32_t *v = nr->place + (size_t)shard * rf;
	uint32_t slot = 0;
	while (slot < rf && v[slot] != to)
		slot++;
	if (slot == rf || rf > 5)
		return false;
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_META_SHARD, .len = 56, .arg = { shard, rf } };
	for (uint32_t k = 0; k < rf; k++)
		c.arg[2 + k] = v[k];
	c.arg[2] = v[slot];
	c.arg[2 + slot] = v[0];
	return slot == 0 || aeg_dp_runtime_ctl_send(ns->rt, 0, &c) == 0;
}

void node_shard_command(struct aeg_node_status *ns, const char *cmd, const char *line, struct aeg_admin_reply *out)
{
	static struct aeg_admin_request r;
	const char *why = NULL;
	bool move = strcmp(cmd, "shard_move") == 0;
	uint64_t shard = 0, from = 0, to = 0;
	if (aeg_admin_request(&r, line, &why) != 0 || !aeg_admin_request_u64(&r, "shard", &shard) ||
	    !aeg_admin_request_u64(&r, "to", &to) || (move && !aeg_admin_request_u64(&r, "from", &from))) {
		aeg_admin_reply_printf(out, move ? "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"shard_move\\\","
					   "\\\"shard\\\":S,\\\"from\\\":A,\\\"to\\\":B}\"}"
					 : "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"leader_transfer\\\","
					   "\\\"shard\\\":S,\\\"to\\\":N}\"}");
		return;
	}
	if (shard >= aeg_shard_map_shard_count(ns->map)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"no shard %llu (the cluster has %u)\"}",
				       (unsigned long long)shard, aeg_shard_map_shard_count(ns->map));
		return;
	}
	const struct aeg_shard_map *cluster = node_status_cluster_map(ns);
	if (to == 0 || to > UINT32_MAX || aeg_shard_map_node(cluster, (uint32_t)to) == NULL ||
	    (move && (from == 0 || from > UINT32_MAX || aeg_shard_map_node(cluster, (uint32_t)from) == NULL))) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"node %llu is not a member\"}",
				       (unsigned long long)(to == 0 || aeg_shard_map_node(cluster, (uint32_t)to) == NULL ? to : from));
		return;
	}
	struct aeg_replica_group_status g = { 0 };
	bool here = group_here(ns, (uint32_t)shard, &g);
	uint32_t lead = here ? g.lead : 0;
	if ((!here || lead != ns->cfg->node_id) && move && ns->rebalance != NULL && ns->rebalance->epoch != 0) {
		/* A move asked elsewhere goes to the shard's voters on record, as
		 * the rebalancer's do: the one leading carries it out. */
		uint32_t rf = aeg_shard_map_replication_factor(ns->map);
		struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_SHARD_MOVE_ASK, .len = 56, .arg = { shard, from, to } };
		for (uint32_t k = 0; k < rf && k < 4; k++)
			m.arg[3 + k] = ns->rebalance->place[(size_t)shard * rf + k];
		uint16_t w = (uint16_t)aeg_shard_worker((uint32_t)shard, ns->workers);
		int rc = aeg_dp_runtime_ctl_send(ns->rt, w, &m);
		if (rc != 0)
			aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker %u: %s\"}", w, strerror(-rc));
		else
			aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"leader\":%u,\"asked\":\"voters\"}",
					       (unsigned long long)shard, lead);
		return;
	}
	if (!here || lead != ns->cfg->node_id) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"this node does not lead shard %llu (leader: %u); "
				       "ask the leader's node\",\"leader\":%u}", (unsigned long long)shard, lead, lead);
		return;
	}
	uint8_t to_role = member_role(&g, to), from_role = member_role(&g, from);
	if (!move && !(to_role & AEG_RAFT_MEMBER_VOTER)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"node %llu is not a voter of shard %llu\"}",
				       (unsigned long long)to, (unsigned long long)shard);
		return;
	}
	if (move && (to_role & AEG_RAFT_MEMBER_VOTER) && from_role == 0) {
		aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"leader\":%u,\"asked\":false,\"done\":true}",
				       (unsigned long long)shard, lead);
		return;
	}
	if (move && (!(from_role & AEG_RAFT_MEMBER_VOTER) || from == to || (to_role & AEG_RAFT_MEMBER_VOTER))) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"%s\"}",
				       from == to ? "from and to are the same node"
				       : (to_role & AEG_RAFT_MEMBER_VOTER) ? "the target already votes in the shard's group"
									  : "the source is not a voter of the shard's group");
		return;
	}
	if (!move && to == ns->cfg->node_id) {
		aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"leader\":%u,\"asked\":false}",
				       (unsigned long long)shard, lead);
		return;
	}
	uint16_t w = (uint16_t)aeg_shard_worker((uint32_t)shard, ns->workers);
	struct aeg_ctl_msg m = move ? (struct aeg_ctl_msg){ .type = AEG_REPLICA_CTL_SHARD_MOVE, .len = 24,
							    .arg = { shard, from, to } }
				    : (struct aeg_ctl_msg){ .type = AEG_REPLICA_CTL_LEADER_TRANSFER, .len = 16,
							    .arg = { shard, to } };
	int rc = aeg_dp_runtime_ctl_send(ns->rt, w, &m);
	if (rc != 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker %u: %s\"}", w, strerror(-rc));
		return;
	}
	bool recorded = !move && prefer(ns, (uint32_t)shard, (uint32_t)to);
	aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"leader\":%u,\"asked\":true%s}",
			       (unsigned long long)shard, lead, recorded ? ",\"preferred\":true" : "");
}

void node_shard_split(struct aeg_node_status *ns, const char *line, struct aeg_admin_reply *out)
{
	static struct aeg_admin_request r;
	static char key[AEG_SHARD_SPLIT_BYTES_MAX + 1];
	const char *why = NULL;
	uint64_t shard = 0, to = UINT64_MAX;
	long key_len = -1;
	bool parsed = aeg_admin_request(&r, line, &why) == 0;
	if (parsed)
		key_len = aeg_admin_request_str(&r, "key", key, sizeof(key));
	why = NULL;
	bool middle = parsed && aeg_json_get(&r.doc, 0, "key") < 0;  /* no key: the middle */
	if (!parsed || !aeg_admin_request_u64(&r, "shard", &shard) || (key_len < 0 && !middle)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"shard_split\\\","
				       "\\\"shard\\\":S,\\\"key\\\":\\\"K\\\"[,\\\"to\\\":J]} (a key of 1..%u bytes)\"}",
				       AEG_SHARD_SPLIT_BYTES_MAX);
		return;
	}
	bool to_given = aeg_admin_request_u64(&r, "to", &to);
	const struct aeg_shard_map *m = node_status_cluster_map(ns);
	uint32_t count = aeg_shard_map_shard_count(m);
	if (aeg_shard_map_strategy(m) != AEG_SHARD_RANGE) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"splits are for range sharding (this cluster's "
				       "sharding.strategy is another)\"}");
		return;
	}
	if (shard >= count || (key_len == 0 && !middle) || (to_given && to >= count)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"%s\"}",
				       key_len == 0 ? "the key is empty" : "no such shard");
		return;
	}
	struct aeg_replica_group_status g = { 0 };
	bool here = group_here(ns, (uint32_t)shard, &g);
	if (!here || g.lead != ns->cfg->node_id) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"this node does not lead shard %llu (leader: %u); "
				       "ask the leader's node\",\"leader\":%u}", (unsigned long long)shard, here ? g.lead : 0,
				       here ? g.lead : 0);
		return;
	}
	/* The key strictly inside the shard's range, checked on the table the
	 * node routes by (the meta leader checks again on the record's). */
	uint32_t k = aeg_shard_map_range_index(m, (uint32_t)shard);
	struct aeg_shard_range sr;
	const void *hi = NULL;
	uint32_t hi_len = 0;
	if (k == UINT32_MAX || aeg_shard_map_range(m, k, &sr, &hi, &hi_len) != 0)
		why = "the shard is a spare (it has no range to split)";
	else if (!middle && ((sr.lo_len != 0 && aeg_key_cmp(key, (uint32_t)key_len, sr.lo, sr.lo_len) <= 0) ||
			     (hi != NULL && aeg_key_cmp(key, (uint32_t)key_len, hi, hi_len) >= 0)))
		why = "the key is not strictly inside the shard's range (see aegisctl shard list)";
	uint32_t spare = UINT32_MAX;
	struct aeg_replica_group_status sg;
	for (uint32_t j = to_given ? (uint32_t)to : 0; why == NULL && j < count && spare == UINT32_MAX; j++) {
		if (aeg_shard_map_range_index(m, j) == UINT32_MAX &&
		    aeg_shard_worker(j, ns->workers) == aeg_shard_worker((uint32_t)shard, ns->workers) &&
		    group_here(ns, j, &sg))
			spare = j;
		if (to_given)
			break;
	}
	if (why == NULL && spare == UINT32_MAX)
		why = to_given ? "the target is not a spare shard on the same worker index with a replica on this node"
			       : "no spare shard on this shard's worker index has a replica on this node (give one "
				 "with to, after moving a replica here, or add spare shards: sharding.shard_count)";
	if (why != NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"%s\"}", why);
		return;
	}
	uint8_t *copy = middle ? NULL : malloc((size_t)key_len);
	if (!middle && copy == NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"out of memory\"}");
		return;
	}
	if (!middle)
		memcpy(copy, key, (size_t)key_len);
	uint16_t w = (uint16_t)aeg_shard_worker((uint32_t)shard, ns->workers);
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_SPLIT, .len = 32,
				 .arg = { shard, spare, (uintptr_t)copy, middle ? 0 : (uint64_t)key_len } };
	int rc = aeg_dp_runtime_ctl_send(ns->rt, w, &c);
	if (rc != 0) {
		free(copy);
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker %u: %s\"}", w, strerror(-rc));
		return;
	}
	aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"to\":%u,\"asked\":true}", (unsigned long long)shard,
			       spare);
}

void node_shard_merge(struct aeg_node_status *ns, const char *line, struct aeg_admin_reply *out)
{
	static struct aeg_admin_request r;
	const char *why = NULL;
	uint64_t shard = 0;
	if (aeg_admin_request(&r, line, &why) != 0 || !aeg_admin_request_u64(&r, "shard", &shard)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"shard_merge\\\","
				       "\\\"shard\\\":S}\"}");
		return;
	}
	why = NULL;
	const struct aeg_shard_map *m = node_status_cluster_map(ns);
	uint32_t k = shard < aeg_shard_map_shard_count(m) ? aeg_shard_map_range_index(m, (uint32_t)shard) : UINT32_MAX;
	struct aeg_shard_range prev;
	struct aeg_replica_group_status g = { 0 }, pg;
	bool here = shard < aeg_shard_map_shard_count(m) && group_here(ns, (uint32_t)shard, &g);
	if (aeg_shard_map_strategy(m) != AEG_SHARD_RANGE)
		why = "merges are for range sharding (this cluster's sharding.strategy is another)";
	else if (shard >= aeg_shard_map_shard_count(m))
		why = "no such shard";
	else if (k == UINT32_MAX)
		why = "the shard has no range (a spare)";
	else if (k == 0 || aeg_shard_map_range(m, k - 1, &prev, NULL, NULL) != 0)
		why = "the shard's range is the first: there is none before it to merge into";
	if (why == NULL && (!here || g.lead != ns->cfg->node_id)) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"this node does not lead shard %llu (leader: %u); "
				       "ask the leader's node\",\"leader\":%u}", (unsigned long long)shard, here ? g.lead : 0,
				       here ? g.lead : 0);
		return;
	}
	if (why == NULL && aeg_shard_worker(prev.shard, ns->workers) != aeg_shard_worker((uint32_t)shard, ns->workers))
		why = "the range before it is on another worker index (a merge copies within one worker)";
	else if (why == NULL && !group_here(ns, prev.shard, &pg))
		why = "the shard of the range before it has no replica on this node";
	if (why != NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"%s\"}", why);
		return;
	}
	uint16_t w = (uint16_t)aeg_shard_worker((uint32_t)shard, ns->workers);
	struct aeg_ctl_msg c = { .type = AEG_REPLICA_CTL_MERGE, .len = 16, .arg = { shard, prev.shard } };
	int rc = aeg_dp_runtime_ctl_send(ns->rt, w, &c);
	if (rc != 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker %u: %s\"}", w, strerror(-rc));
		return;
	}
	aeg_admin_reply_printf(out, "{\"ok\":true,\"shard\":%llu,\"into\":%u,\"asked\":true}", (unsigned long long)shard,
			       prev.shard);
}
