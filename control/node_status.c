/* aegisd's status answer (node_status.h): read from each worker's
 * published status (no locks, no stop of the workers). */
#define _GNU_SOURCE
#include "node_status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/net.h"
#include "aegis/shard.h"
#include "aegis/shard_plan.h"
#include "ctl_ring.h"
#include "json_out.h"
#include "node_join.h"
#include "dp_clock.h"

#define GROUPS_MAX_REPORTED 65536

static const char *role_name(uint8_t role)
{
	switch (role) {
	case AEG_RAFT_LEADER: return "leader";
	case AEG_RAFT_CANDIDATE: return "candidate";
	case AEG_RAFT_PRE_CANDIDATE: return "pre-candidate";
	default: return "follower";
	}
}

/* A member's labels as the meta records have them (nothing before). */
/* A range map's range of a shard: ,"range":"[lo, hi)" (-inf / +inf for
 * none), escaped by the JSON writer (keys may hold any byte). */
static void shard_range(struct aeg_admin_reply *out, const struct aeg_shard_map *m, uint32_t shard)
{
	for (uint32_t k = 0; k < aeg_shard_map_range_count(m); k++) {
		struct aeg_shard_range r;
		const void *hi;
		uint32_t hi_len;
		if (aeg_shard_map_range(m, k, &r, &hi, &hi_len) != 0 || r.shard != shard)
			continue;
		/* Bytes, NULs included: copied, not printed. */
		char text[2 * AEG_SHARD_SPLIT_BYTES_MAX + 16];
		size_t n = 0;
		text[n++] = '[';
		memcpy(text + n, r.lo_len ? r.lo : "-inf", r.lo_len ? r.lo_len : 4);
		n += r.lo_len ? r.lo_len : 4;
		memcpy(text + n, ", ", 2);
		n += 2;
		memcpy(text + n, hi ? hi : "+inf", hi ? hi_len : 4);
		n += hi ? hi_len : 4;
		text[n++] = ')';
		struct aeg_json_out j;
		aeg_json_init(&j, 8 * sizeof(text));
		aeg_json_strn(&j, text, n);
		if (!j.overflow && j.buf != NULL)
			aeg_admin_reply_printf(out, ",\"range\":%s", j.buf);
		aeg_json_free(&j);
		return;
	}
}

static void labels(const struct aeg_replica_meta_status *meta, uint32_t id, struct aeg_admin_reply *out)
{
	for (uint32_t k = 0; meta->here && k < meta->n_nodes; k++)
		if (meta->nodes[k].node == id && meta->nodes[k].weight != 0)
			aeg_admin_reply_printf(out, ",\"zone\":\"%s\",\"weight\":%u", meta->nodes[k].zone,
					       meta->nodes[k].weight);
}

static void members(struct aeg_node_status *ns, const struct aeg_replica_meta_status *meta,
		    struct aeg_admin_reply *out)
{
	const struct aeg_config *cfg = ns->cfg;
	uint64_t now_ms = aeg_dp_now_ns() / 1000000u;
	aeg_admin_reply_printf(out, "\"members\":[");
	for (uint32_t i = 0; i <= cfg->peer_count; i++) {
		uint32_t id = i == 0 ? cfg->node_id : cfg->peers[i - 1].node;
		uint32_t ip = i == 0 ? cfg->ipv4 : cfg->peers[i - 1].ipv4;
		uint16_t port = i == 0 ? cfg->base_port
				       : (cfg->peers[i - 1].base_port ? cfg->peers[i - 1].base_port : cfg->base_port);
		char ipbuf[16];
		aeg_net_ipv4_format(ip, ipbuf);
		bool reach = i == 0 || aeg_dp_node_reachable(ns->dn, ip);
		aeg_admin_reply_printf(out, "%s{\"id\":%u,\"address\":\"%s:%u\",\"self\":%s,\"reachable\":%s",
				       i ? "," : "", id, ipbuf, port, i == 0 ? "true" : "false",
				       reach ? "true" : "false");
		const struct aeg_member *m = ns->members ? aeg_members_get(&ns->members->ms, id) : NULL;
		if (m != NULL)
			aeg_admin_reply_printf(out, ",\"state\":\"%s\",\"voter\":%s,\"state_for_ms\":%llu",
					       aeg_node_state_name(m->state), m->voter ? "true" : "false",
					       (unsigned long long)(now_ms - m->since_ms));
		labels(meta, id, out);
		aeg_admin_reply_printf(out, "}");
	}
	/* Nodes that joined after the cluster formed (on record). */
	for (uint32_t i = 0; ns->rebalance != NULL && i < ns->rebalance->n_joined; i++) {
		const struct aeg_shard_node *j = &ns->rebalance->joined[i];
		if (j->id == cfg->node_id)
			continue;  /* this node, listed first */
		char ipbuf[16];
		aeg_net_ipv4_format(j->ipv4, ipbuf);
		aeg_admin_reply_printf(out, ",{\"id\":%u,\"address\":\"%s:%u\",\"self\":false,\"joined\":true,"
				       "\"reachable\":%s", j->id, ipbuf, j->udp_port_base,
				       aeg_dp_node_reachable(ns->dn, j->ipv4) ? "true" : "false");
		const struct aeg_member *m = ns->members ? aeg_members_get(&ns->members->ms, j->id) : NULL;
		if (m != NULL)
			aeg_admin_reply_printf(out, ",\"state\":\"%s\",\"voter\":%s,\"state_for_ms\":%llu",
					       aeg_node_state_name(m->state), m->voter ? "true" : "false",
					       (unsigned long long)(now_ms - m->since_ms));
		labels(meta, j->id, out);
		aeg_admin_reply_printf(out, "}");
	}
	aeg_admin_reply_printf(out, "]");
	if (ns->members != NULL) {
		const struct node_members *nm = ns->members;
		aeg_admin_reply_printf(out, ",\"cluster_state\":\"%s\",\"membership\":{\"changes\":%llu,"
				       "\"cluster_changes\":%llu,\"suspect\":%llu,\"down\":%llu}",
				       aeg_cluster_state_name(aeg_members_cluster_state(&nm->ms)),
				       (unsigned long long)nm->changes, (unsigned long long)nm->cluster_changes,
				       (unsigned long long)nm->into[AEG_NODE_SUSPECT],
				       (unsigned long long)nm->into[AEG_NODE_DOWN]);
	}
}

/* The rebalancer (node_rebalance.c): what the planner would move from the
 * meta records' placement, what this node (if it leads the meta group)
 * asked and what finished. Nodes without a meta replica do not plan. */
static void rebalance(struct aeg_node_status *ns, struct aeg_admin_reply *out)
{
	const struct node_rebalance *nr = ns->rebalance;
	if (nr == NULL)
		return;
	uint64_t now_ms = aeg_dp_now_ns() / 1000000u;
	int rc = nr->plan_rc;
	aeg_admin_reply_printf(out, ",\"rebalance\":{\"planned_moves\":%u,\"more\":%s,\"plan\":\"%s\","
			       "\"carried_out\":%s,\"leading\":%s,\"paused\":%s,\"moves_max\":%u,\"asked\":%llu,"
			       "\"finished\":%llu,\"timed_out\":%llu,\"relayed\":%llu,\"leader_transfers\":%llu,"
			       "\"orphans_dropped\":%llu,\"first\":[",
			       nr->planning ? nr->n_planned : 0, rc == -EAGAIN ? "true" : "false",
			       !nr->planning ? "no meta replica here: ask a meta voter" :
			       rc == 0 || rc == -EAGAIN ? "ok" :
			       rc == -ENOSPC ? "too few eligible nodes for the replication factor or the bounds" :
			       strerror(-rc), nr->leading && !nr->paused ? "true" : "false", nr->leading ? "true" : "false",
			       nr->paused ? "true" : "false", ns->cfg->rebalance_moves_max, (unsigned long long)nr->asked,
			       (unsigned long long)nr->finished, (unsigned long long)nr->timed_out,
			       (unsigned long long)nr->relayed, (unsigned long long)nr->transfers,
			       (unsigned long long)nr->orphans_dropped);
	for (uint32_t i = 0; nr->planning && i < nr->n_planned && i < 8; i++)
		aeg_admin_reply_printf(out, "%s{\"shard\":%u,\"from\":%u,\"to\":%u}", i ? "," : "",
				       nr->planned[i].shard, nr->planned[i].from, nr->planned[i].to);
	aeg_admin_reply_printf(out, "],\"replicas_on_record\":[");
	uint32_t n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(node_rebalance_cluster_map(nr), &n_nodes);
	for (uint32_t i = 0; nr->epoch != 0 && i < n_nodes; i++)
		aeg_admin_reply_printf(out, "%s{\"id\":%u,\"replicas\":%u}", i ? "," : "", nodes[i].id,
				       node_rebalance_held(nr, nodes[i].id));
	aeg_admin_reply_printf(out, "],\"in_flight\":[");
	bool first = true;
	for (uint32_t i = 0; i < NODE_REBALANCE_INFLIGHT_MAX; i++) {
		const struct node_rebalance_move *m = &nr->inflight[i];
		if (!m->active)
			continue;
		aeg_admin_reply_printf(out, "%s{\"shard\":%u,\"from\":%u,\"to\":%u,\"ms\":%llu}", first ? "" : ",",
				       m->shard, m->from, m->to, (unsigned long long)(now_ms - m->asked_ms));
		first = false;
	}
	aeg_admin_reply_printf(out, "]}");
}

/* The meta group's voters: its config where a meta replica is here (voters
 * of drained nodes hand their vote over), else the map's founders. */
static uint32_t meta_voters(const struct aeg_node_status *ns, const struct aeg_replica_meta_status *m, uint32_t *out)
{
	if (m->here && m->n_voters > 0) {
		memcpy(out, m->voters, m->n_voters * sizeof(*out));
		return m->n_voters;
	}
	return aeg_shard_map_meta_voters(ns->map, out, AEG_SHARD_META_VOTERS_MAX);
}

/* The meta group's records as worker 0's replica applied them. */
static void meta(struct aeg_node_status *ns, const struct aeg_replica_meta_status *m,
		 struct aeg_admin_reply *out)
{
	uint32_t voters[AEG_REPLICA_META_VOTERS_MAX];
	uint32_t n = meta_voters(ns, m, voters);
	aeg_admin_reply_printf(out, ",\"meta\":{\"voters\":[");
	for (uint32_t i = 0; i < n; i++)
		aeg_admin_reply_printf(out, "%s%u", i ? "," : "", voters[i]);
	aeg_admin_reply_printf(out, "],\"here\":%s,\"proposed\":%llu,\"dropped\":%llu", m->here ? "true" : "false",
			       (unsigned long long)m->proposed, (unsigned long long)m->dropped);
	if (m->here) {
		aeg_admin_reply_printf(out, ",\"role\":\"%s\",\"leader\":%u,\"term\":%llu,\"epoch\":%llu,"
				       "\"shards_migrating\":%u,\"shard_state_changes\":%llu,\"nodes\":[",
				       role_name(m->role), m->lead, (unsigned long long)m->term,
				       (unsigned long long)m->epoch, m->shards_migrating,
				       (unsigned long long)m->shard_state_changes);
		bool first = true;
		for (uint32_t i = 0; i < m->n_nodes; i++) {
			if (m->nodes[i].state > AEG_NODE_LEFT)
				continue;  /* nothing recorded yet */
			aeg_admin_reply_printf(out, "%s{\"id\":%u,\"state\":\"%s\",\"index\":%llu}", first ? "" : ",",
					       m->nodes[i].node, aeg_node_state_name(m->nodes[i].state),
					       (unsigned long long)m->nodes[i].index);
			first = false;
		}
		aeg_admin_reply_printf(out, "]");
	}
	aeg_admin_reply_printf(out, "}");
}

/* Replica moves this node's workers carried out or carry out now. */
static void moves(const struct aeg_node_status *ns, const struct aeg_replica_status *st,
		  struct aeg_admin_reply *out)
{
	uint64_t started = 0, done = 0, failed = 0, created = 0, dropped = 0;
	for (uint32_t w = 0; w < ns->workers; w++) {
		started += st[w].moves_started;
		done += st[w].moves_done;
		failed += st[w].moves_failed;
		created += st[w].replicas_created;
		dropped += st[w].replicas_dropped;
	}
	aeg_admin_reply_printf(out, ",\"moves\":{\"started\":%llu,\"done\":%llu,\"failed\":%llu,"
			       "\"replicas_created\":%llu,\"replicas_dropped\":%llu,\"active\":[",
			       (unsigned long long)started, (unsigned long long)done, (unsigned long long)failed,
			       (unsigned long long)created, (unsigned long long)dropped);
	bool first = true;
	for (uint32_t w = 0; w < ns->workers; w++)
		for (uint32_t i = 0; i < st[w].n_moves && i < 8; i++) {
			const struct aeg_replica_move_status *m = &st[w].moves[i];
			aeg_admin_reply_printf(out, "%s{\"shard\":%u,\"from\":%u,\"to\":%u,\"step\":\"%s\",\"ms\":%llu}",
					       first ? "" : ",", m->shard, m->from, m->to, m->step, (unsigned long long)m->ms);
			first = false;
		}
	aeg_admin_reply_printf(out, "]}");
	/* Range splits: the one each worker carries out, and counts. */
	uint64_t sp[5] = { 0 };
	for (uint32_t w = 0; w < ns->workers; w++) {
		sp[0] += st[w].split.started, sp[1] += st[w].split.done, sp[2] += st[w].split.failed;
		sp[3] += st[w].split.unfenced, sp[4] += st[w].split.dropped_from;
	}
	aeg_admin_reply_printf(out, ",\"splits\":{\"started\":%llu,\"done\":%llu,\"failed\":%llu,\"unfenced\":%llu,"
			       "\"dropped_from\":%llu,\"active\":[", (unsigned long long)sp[0], (unsigned long long)sp[1],
			       (unsigned long long)sp[2], (unsigned long long)sp[3], (unsigned long long)sp[4]);
	first = true;
	for (uint32_t w = 0; w < ns->workers; w++) {
		const struct aeg_replica_split_status *s = &st[w].split;
		if (s->phase == AEG_SPLIT_IDLE)
			continue;
		struct aeg_json_out j;
		aeg_json_init(&j, 8 * AEG_REPLICA_SPLIT_KEY_MAX + 16);
		aeg_json_strn(&j, (const char *)s->key, s->key_len);
		aeg_admin_reply_printf(out, "%s{\"shard\":%u,\"kind\":\"%s\",\"to\":%u,\"key\":%s,\"step\":\"%s\","
				       "\"keys_copied\":%llu,\"bytes_copied\":%llu,\"ms\":%llu}", first ? "" : ",", s->from,
				       s->merge ? "merge" : "split", s->to,
				       !j.overflow && j.buf != NULL ? j.buf : "\"\"", aeg_replica_split_phase_name(s->phase),
				       (unsigned long long)s->copied, (unsigned long long)s->copied_bytes,
				       (unsigned long long)s->ms);
		aeg_json_free(&j);
		first = false;
	}
	aeg_admin_reply_printf(out, "]}");
}

/* A shard's state: the record's, but a spare (no range) is inactive
 * unless a split is filling it (creating). */
static uint8_t shown_state(const struct aeg_node_status *ns, uint32_t shard)
{
	uint32_t rec = ns->rebalance->states[shard];
	if (aeg_shard_map_active(node_rebalance_cluster_map(ns->rebalance), shard))
		return (uint8_t)(rec == AEG_SHARD_INACTIVE || rec == AEG_SHARD_CREATING ? AEG_SHARD_ACTIVE : rec);
	return rec == AEG_SHARD_CREATING ? AEG_SHARD_CREATING : AEG_SHARD_INACTIVE;
}

static void status(struct aeg_node_status *ns, struct aeg_admin_reply *out)
{
	const struct aeg_config *cfg = ns->cfg;
	struct aeg_replica_group_status *gs = calloc(GROUPS_MAX_REPORTED, sizeof(*gs));
	if (gs == NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"out of memory\"}");
		return;
	}
	double up = (double)(aeg_dp_now_ns() - ns->started_ns) / 1e9;
	aeg_admin_reply_printf(out, "{\"ok\":true,\"node\":%u,\"uptime_s\":%.1f,\"transport\":\"%s\",\"durable\":%s,\"epoch\":%llu,",
			       cfg->node_id, up, aeg_dp_node_driver(ns->dn), cfg->wal_sync ? "true" : "false",
			       (unsigned long long)(ns->rebalance != NULL ? node_rebalance_map_epoch(ns->rebalance)
									  : aeg_shard_map_epoch(ns->map)));
	struct aeg_replica_status st[AEG_CONFIG_WORKERS_MAX];
	uint32_t n_groups[AEG_CONFIG_WORKERS_MAX], total = 0;
	uint64_t mem = 0, per_group = 0;
	aeg_admin_reply_printf(out, "\"workers\":[");
	for (uint32_t w = 0; w < ns->workers; w++) {
		n_groups[w] = aeg_replica_status_read(ns->rps[w], &st[w], NULL, 0);
		struct aeg_worker_stats ws;
		aeg_worker_stats_read(ns->rt->w[w], &ws);
		uint64_t drops = 0;
		for (int d = 1; d < AEG_WIRE_DROP_NR; d++)
			drops += ws.drops[d];
		aeg_admin_reply_printf(out,
			"%s{\"worker\":%u,\"groups\":%u,\"active_groups\":%u,"
			"\"wal\":{\"syncs\":%llu,\"bytes\":%llu,\"records\":%llu,\"failed\":%d},"
			"\"dp\":{\"rx_pkts\":%llu,\"tx_pkts\":%llu,\"drops\":%llu},"
			"\"clients\":{\"datagrams\":%llu,\"drops\":%llu,\"requests\":%llu,\"replies\":%llu,"
			"\"writes_ok\":%llu,\"reads_ok\":%llu,\"scans\":%llu,\"scan_keys\":%llu,\"redirects\":%llu,\"busy\":%llu,"
			"\"log_full\":%llu},"
			"\"raft\":{\"msgs_in\":%llu,\"msgs_out\":%llu,\"bad\":%llu,\"snapshots_taken\":%llu,"
			"\"snapshots_installed\":%llu,\"snapshot_bytes_sent\":%llu,\"snapshot_chunks_paced\":%llu,"
			"\"snapshot_chunks_dropped\":%llu,\"installs_off_loop\":%llu,\"snapshots_off_loop\":%llu,\"snapshots_kept\":%llu},"
			"\"loop\":{\"rx_batches\":%llu,\"tx_batches\":%llu,\"rx_raw\":%llu,\"tx_raw\":%llu,"
			"\"rx_msgs\":%llu,\"tx_msgs\":%llu,\"idle_sleeps\":%llu,\"wal_batches\":%llu,"
			"\"readies\":%llu,\"msgs_held\":%llu,\"entries_logged\":%llu,\"entries_applied\":%llu,"
			"\"log_retries\":%llu,\"wal_sync_us\":%llu,\"write_us\":%llu,\"wal_fill_us\":%llu,\"wal_report_us\":%llu}}",
			w ? "," : "", w, st[w].groups, st[w].active_groups, (unsigned long long)st[w].wal_syncs,
			(unsigned long long)st[w].wal_bytes, (unsigned long long)st[w].wal_records, st[w].wal_failed,
			(unsigned long long)ws.rx_pkts, (unsigned long long)ws.tx_pkts, (unsigned long long)drops,
			(unsigned long long)st[w].client_dgrams, (unsigned long long)st[w].client_drops,
			(unsigned long long)st[w].client_reqs, (unsigned long long)st[w].client_replies,
			(unsigned long long)st[w].writes_ok, (unsigned long long)st[w].reads_ok,
			(unsigned long long)st[w].scans, (unsigned long long)st[w].scan_keys,
			(unsigned long long)st[w].redirects, (unsigned long long)st[w].busy,
			(unsigned long long)st[w].log_full,
			(unsigned long long)st[w].raft_msgs_in, (unsigned long long)st[w].raft_msgs_out,
			(unsigned long long)st[w].raft_bad, (unsigned long long)st[w].snapshots_taken,
			(unsigned long long)st[w].snapshots_installed, (unsigned long long)st[w].gd.snap_bytes_sent,
			(unsigned long long)st[w].gd.snap_paced, (unsigned long long)st[w].gd.snap_pace_dropped,
			(unsigned long long)st[w].gd.installs_later, (unsigned long long)st[w].snapshots_off_loop,
			(unsigned long long)st[w].snapshots_kept,
			(unsigned long long)ws.rx_batches,
			(unsigned long long)ws.tx_batches, (unsigned long long)ws.rx_raw, (unsigned long long)ws.tx_raw,
			(unsigned long long)ws.rx_msgs, (unsigned long long)ws.tx_msgs,
			(unsigned long long)ws.idle_sleeps, (unsigned long long)st[w].wal_batches,
			(unsigned long long)st[w].gd.readies, (unsigned long long)st[w].gd.msgs_held,
			(unsigned long long)st[w].gd.entries_logged, (unsigned long long)st[w].gd.entries_applied,
			(unsigned long long)st[w].gd.log_retries, (unsigned long long)(st[w].wal_sync_ns / 1000u),
			(unsigned long long)(st[w].write_ns / 1000u), (unsigned long long)(st[w].wal_fill_ns / 1000u),
			(unsigned long long)(st[w].wal_report_ns / 1000u));
		mem += st[w].driver_bytes;
		per_group = st[w].raft_bytes_per_group;
	}
	aeg_admin_reply_printf(out, "],");
	members(ns, &st[0].meta, out);
	rebalance(ns, out);
	meta(ns, &st[0].meta, out);
	moves(ns, st, out);
	aeg_admin_reply_printf(out, ",\"shards\":[");
	bool first = true;
	for (uint32_t w = 0; w < ns->workers; w++) {
		uint32_t n = aeg_replica_status_read(ns->rps[w], &st[w], gs, GROUPS_MAX_REPORTED);
		for (uint32_t i = 0; i < n && i < GROUPS_MAX_REPORTED; i++) {
			const struct aeg_replica_group_status *g = &gs[i];
			mem += g->mem_bytes;
			total++;
			if (g->shard >= aeg_shard_map_shard_count(ns->map))
				continue;  /* the meta group: under "meta" */
			aeg_admin_reply_printf(out,
				"%s{\"shard\":%u,\"group\":%u,\"worker\":%u,\"role\":\"%s\",\"quiet\":%s,\"leader\":%u,"
				"\"term\":%llu,\"commit\":%llu,\"applied\":%llu,\"last_index\":%llu,\"keys\":%llu,"
				"\"kv_bytes\":%llu,\"mem_bytes\":%llu,\"error\":%d",
				first ? "" : ",", g->shard, g->group, w, role_name(g->role), g->quiet ? "true" : "false",
				g->lead, (unsigned long long)g->term, (unsigned long long)g->commit,
				(unsigned long long)g->applied, (unsigned long long)g->last_index,
				(unsigned long long)g->keys, (unsigned long long)g->kv_bytes,
				(unsigned long long)g->mem_bytes, g->error);
			if (ns->rebalance != NULL && ns->rebalance->epoch != 0)
				aeg_admin_reply_printf(out, ",\"preferred\":%u,\"state\":\"%s\"",
						       ns->rebalance->place[(size_t)g->shard *
									    aeg_shard_map_replication_factor(ns->map)],
						       aeg_shard_state_name(shown_state(ns, g->shard)));
			shard_range(out, ns->rebalance != NULL ? node_rebalance_cluster_map(ns->rebalance) : ns->map,
				    g->shard);
			for (int learners = 0; learners < 2; learners++) {
				aeg_admin_reply_printf(out, learners ? ",\"learners\":[" : ",\"voters\":[");
				bool f = true;
				for (uint32_t k = 0; k < g->n_members; k++) {
					bool l = g->member_roles[k] == AEG_RAFT_MEMBER_LEARNER;
					if (l == (learners != 0)) {
						aeg_admin_reply_printf(out, "%s%u", f ? "" : ",", g->members[k]);
						f = false;
					}
				}
				aeg_admin_reply_printf(out, "]");
			}
			aeg_admin_reply_printf(out, "}");
			first = false;
		}
	}
	aeg_admin_reply_printf(out, "],\"memory\":{\"groups\":%u,\"bytes_per_group\":%llu,\"total_bytes\":%llu}}",
			       total, (unsigned long long)per_group, (unsigned long long)mem);
	(void)n_groups;
	free(gs);
}

/* node_drain / node_remove {"id":N}: asks the meta group (through worker 0,
 * which forwards to the meta leader) to record the node LEAVING or LEFT.
 * A removal that would leave shards below replication_factor, or take a
 * meta voter, is refused: nothing carries replica moves out yet. */
static void node_change(struct aeg_node_status *ns, const char *line, bool remove, struct aeg_admin_reply *out)
{
	static struct aeg_admin_request r;  /* large: off the stack (one thread) */
	const char *why = NULL;
	uint64_t id = 0;
	if (aeg_admin_request(&r, line, &why) != 0 || !aeg_admin_request_u64(&r, "id", &id) || id == 0 ||
	    id > UINT32_MAX) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"%s\\\",\\\"id\\\":N}\"}",
				       remove ? "node_remove" : "node_drain");
		return;
	}
	if (aeg_shard_map_node(node_status_cluster_map(ns), (uint32_t)id) == NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"node %llu is not a member\"}", (unsigned long long)id);
		return;
	}
	if (ns->members == NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"this node keeps no node states\"}");
		return;
	}
	if (remove) {
		uint32_t held = 0, count = aeg_shard_map_shard_count(ns->map);
		if (ns->rebalance != NULL && ns->rebalance->epoch != 0)
			held = node_rebalance_held(ns->rebalance, (uint32_t)id);  /* the records' placement */
		else
			for (uint32_t s = 0; s < count; s++)
				held += aeg_shard_has_replica(ns->map, s, (uint32_t)id);
		static struct aeg_replica_status st;  /* large: off the stack (one thread) */
		(void)aeg_replica_status_read(ns->rps[0], &st, NULL, 0);
		uint32_t voters[AEG_REPLICA_META_VOTERS_MAX];
		uint32_t nv = meta_voters(ns, &st.meta, voters);
		bool voter = false;
		for (uint32_t i = 0; i < nv; i++)
			voter |= voters[i] == id;
		if (held > 0 || voter) {
			aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"refused: node %llu %s%u shard replicas%s; "
					       "removing it would leave shards below replication_factor%s (drain it "
					       "first: its replicas move away, cluster status shows the moves)\"}",
					       (unsigned long long)id, voter ? "is a meta voter and holds " : "holds ", held,
					       ns->rebalance != NULL && ns->rebalance->epoch != 0 ? " on record" : " in the map",
					       voter ? " and the meta group without a voter (a drained meta voter hands its "
						       "vote to a healthy learner: drain it first)" : "");
			return;
		}
	}
	struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_META_STATE, .len = 24,
				 .arg = { id, remove ? AEG_NODE_LEFT : AEG_NODE_LEAVING, 1 } };
	int rc = aeg_dp_runtime_ctl_send(ns->rt, 0, &m);
	if (rc != 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker 0: %s\"}", strerror(-rc));
		return;
	}
	aeg_admin_reply_printf(out, "{\"ok\":true,\"id\":%llu,\"asked\":\"%s\"}", (unsigned long long)id,
			       remove ? "left" : "leaving");
}

/* node_add {"id":N,"address":"A.B.C.D[:PORT]"}: asks the meta group
 * (through worker 0) to record a node that joins; PORT defaults to this
 * node's base port. What this node can see is refused here with a reason
 * (an id or address in use, no room); the meta leader checks again. */
static void node_add(struct aeg_node_status *ns, const char *line, struct aeg_admin_reply *out)
{
	static struct aeg_admin_request r;  /* large: off the stack (one thread) */
	const char *why = NULL;
	uint64_t id = 0;
	char addr[64], ip_text[32];
	uint32_t ipv4 = 0;
	unsigned long port = ns->cfg->base_port;
	if (aeg_admin_request(&r, line, &why) != 0 || !aeg_admin_request_u64(&r, "id", &id) || id == 0 ||
	    id > UINT32_MAX || aeg_admin_request_str(&r, "address", addr, sizeof(addr)) <= 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":\\\"node_add\\\","
				       "\\\"id\\\":N,\\\"address\\\":\\\"A.B.C.D[:PORT]\\\"}\"}");
		return;
	}
	char *colon = strchr(addr, ':');
	size_t ip_len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	char *end = NULL;
	if (colon != NULL)
		port = strtoul(colon + 1, &end, 10);
	if (ip_len >= sizeof(ip_text) || (colon != NULL && (end == colon + 1 || *end != '\0')) || port == 0 ||
	    port + ns->cfg->workers - 1 > UINT16_MAX) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"address: A.B.C.D[:PORT], PORT + workers - 1 "
				       "<= 65535\"}");
		return;
	}
	memcpy(ip_text, addr, ip_len);
	ip_text[ip_len] = '\0';
	if (aeg_net_ipv4_parse(ip_text, &ipv4) != 0 || ipv4 == 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"address: '%s' is not an IPv4 address\"}", ip_text);
		return;
	}
	if (ns->rebalance == NULL) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"this node keeps no cluster records\"}");
		return;
	}
	char refusal[128];
	int rc = node_join_check(ns->rebalance, ns->cfg->workers, (uint32_t)id, ipv4, (uint32_t)port, refusal,
				 sizeof(refusal));
	if (rc == 1) {
		aeg_admin_reply_printf(out, "{\"ok\":true,\"id\":%llu,\"asked\":\"joined\",\"already\":true}",
				       (unsigned long long)id);
		return;
	}
	if (rc < 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"refused: %s\"}", refusal);
		return;
	}
	rc = node_join_ask_meta(ns->rt, (uint32_t)id, ipv4, (uint32_t)port);
	if (rc != 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker 0: %s\"}", strerror(-rc));
		return;
	}
	aeg_admin_reply_printf(out, "{\"ok\":true,\"id\":%llu,\"asked\":\"joined\",\"address\":\"%s:%lu\"}",
			       (unsigned long long)id, ip_text, port);
}

int aeg_node_status_handler(void *ctx, const char *request, struct aeg_admin_reply *out)
{
	struct aeg_node_status *ns = ctx;
	char cmd[64];
	if (aeg_admin_request_cmd(request, cmd, sizeof(cmd)) != 0) {
		aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"expected {\\\"cmd\\\":...}\"}");
		return 0;
	}
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "shards") == 0) {
		status(ns, out);
		return 0;
	}
	if (strcmp(cmd, "rebalance_pause") == 0 || strcmp(cmd, "rebalance_resume") == 0) {
		bool pause = strcmp(cmd, "rebalance_pause") == 0;
		struct aeg_ctl_msg m = { .type = AEG_REPLICA_CTL_META_REBALANCE, .len = 8, .arg = { pause } };
		int rc = aeg_dp_runtime_ctl_send(ns->rt, 0, &m);
		if (rc != 0)
			aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"worker 0: %s\"}", strerror(-rc));
		else
			aeg_admin_reply_printf(out, "{\"ok\":true,\"asked\":\"%s\"}", pause ? "paused" : "running");
		return 0;
	}
	if (strcmp(cmd, "shard_split") == 0 || strcmp(cmd, "shard_merge") == 0) {
		if (cmd[6] == 's')
			node_shard_split(ns, request, out);
		else
			node_shard_merge(ns, request, out);
		return 0;
	}
	if (strcmp(cmd, "leader_transfer") == 0 || strcmp(cmd, "shard_move") == 0) {
		node_shard_command(ns, cmd, request, out);
		return 0;
	}
	if (strcmp(cmd, "node_add") == 0) {
		node_add(ns, request, out);
		return 0;
	}
	if (strcmp(cmd, "node_drain") == 0 || strcmp(cmd, "node_remove") == 0) {
		node_change(ns, request, strcmp(cmd, "node_remove") == 0, out);
		return 0;
	}
	aeg_admin_reply_printf(out, "{\"ok\":false,\"error\":\"unknown command\"}");
	return 0;
}
