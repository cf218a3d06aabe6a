/* Unit-test cluster; see harness.h. */
#include "harness.h"

#include "msg_clone.h"
#include "raft_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void node_start(struct h_net *net, uint32_t id, h_cfg_fn fn)
{
	struct aeg_raft_config cfg;
	aeg_raft_config_default(&cfg, id, 1000 + id, 10);
	cfg.peers_max = H_NODES_MAX;
	if (fn != NULL)
		fn(&cfg);
	struct aeg_raft_conf conf = { .n = net->voters };
	for (uint32_t i = 0; i < net->voters; i++) {
		conf.ids[i] = i + 1;
		conf.roles[i] = AEG_RAFT_MEMBER_VOTER;
	}
	struct h_node *nd = &net->nodes[id];
	memset(nd, 0, sizeof(*nd));
	nd->cfg = cfg;
	int rc = aeg_raft_new(&nd->r, &cfg, &conf);
	assert(rc == 0);
	(void)rc;
}

void h_init(struct h_net *net, uint32_t n, h_cfg_fn fn)
{
	h_init_voters(net, n, n, fn);
}

void h_init_voters(struct h_net *net, uint32_t n, uint32_t voters, h_cfg_fn fn)
{
	assert(n <= H_NODES_MAX && voters <= n);
	memset(net, 0, sizeof(*net));
	net->n = n;
	net->voters = voters;
	for (uint32_t id = 1; id <= n; id++)
		node_start(net, id, fn);
}

void h_restart_with_log(struct h_net *net, uint32_t id, uint64_t term, uint32_t vote,
			const uint64_t *terms, uint32_t n_terms, h_cfg_fn fn)
{
	aeg_raft_free(net->nodes[id].r);
	node_start(net, id, fn);
	struct aeg_raft_hard_state hs = { .term = term, .vote = vote, .commit = 0 };
	int rc = aeg_raft_restore_hard_state(net->nodes[id].r, &hs);
	assert(rc == 0);
	for (uint32_t i = 0; i < n_terms; i++) {
		char payload[32];
		int len = snprintf(payload, sizeof(payload), "i%u-t%llu", i + 1,
				   (unsigned long long)terms[i]);
		rc = aeg_raft_restore_entry(net->nodes[id].r, terms[i], i + 1,
					    AEG_RAFT_ENTRY_NORMAL, payload, (uint32_t)len);
		assert(rc == 0);
	}
	(void)rc;
}

static void msg_free(struct h_msg *q)
{
	free(q->m);
	q->m = NULL;
}

void h_fini(struct h_net *net)
{
	for (uint32_t id = 1; id <= net->n; id++) {
		aeg_raft_free(net->nodes[id].r);
		net->nodes[id].r = NULL;
	}
	for (uint32_t i = 0; i < net->qn; i++)
		msg_free(&net->q[i]);
	net->qn = 0;
}

static void enqueue(struct h_net *net, const struct aeg_raft_msg *m)
{
	assert(net->qn < H_QUEUE_MAX);
	net->q[net->qn++].m = raft_msg_clone(m);
	net->sent_by_type[m->type]++;
}

void h_persist(struct h_net *net, uint32_t id)
{
	struct h_node *nd = &net->nodes[id];
	if (nd->pending_index > 0)
		aeg_raft_persisted(nd->r, nd->pending_index, nd->pending_term);
	nd->pending_index = 0;
	h_ready(net, id);
}

void h_ready(struct h_net *net, uint32_t id)
{
	struct h_node *nd = &net->nodes[id];
	while (aeg_raft_has_ready(nd->r)) {
		struct aeg_raft_ready rd;
		aeg_raft_ready(nd->r, &rd);
		for (uint32_t i = 0; i < rd.n_msgs_now; i++)
			enqueue(net, &rd.msgs_now[i]);
		if (rd.snap_install) {
			assert(rd.snap_len <= sizeof(nd->snap));
			nd->n_snap_installs++;
			nd->snap_index = rd.snap_index;
			nd->snap_term = rd.snap_term;
			nd->snap_len = rd.snap_len;
			memcpy(nd->snap, rd.snap_data, rd.snap_len);
		}
		if (rd.persist_hi >= rd.persist_lo) {
			nd->pending_index = rd.persist_hi;
			nd->pending_term = aeg_raft_entry_at(nd->r, rd.persist_hi)->term;
		} else if (rd.snap_install) {
			nd->pending_index = rd.snap_index;
			nd->pending_term = rd.snap_term;
		}
		if (!nd->hold_persist && nd->pending_index > 0) {
			aeg_raft_persisted(nd->r, nd->pending_index, nd->pending_term);
			nd->pending_index = 0;
		}
		/* Held writes keep their late messages in the test's hands: the
		 * tests that hold never rely on them. */
		for (uint32_t i = 0; i < rd.n_msgs; i++)
			if (!nd->hold_persist)
				enqueue(net, &rd.msgs[i]);
		for (uint64_t i = rd.apply_lo; i <= rd.apply_hi; i++)
			if (nd->n_applied < H_APPLIED_MAX)
				nd->applied[nd->n_applied++] = i;
		for (uint32_t i = 0; i < rd.n_reads && nd->n_reads < 64; i++)
			nd->reads[nd->n_reads++] = rd.reads[i];
		aeg_raft_advance(nd->r, &rd);
	}
}

void h_ready_all(struct h_net *net)
{
	for (uint32_t id = 1; id <= net->n; id++)
		h_ready(net, id);
}

static bool matches(const struct aeg_raft_msg *m, uint32_t from, uint32_t to, uint32_t type)
{
	return (from == 0 || m->from == from) && (to == 0 || m->to == to) &&
	       (type == 0 || m->type == type);
}

uint32_t h_deliver(struct h_net *net, uint32_t from, uint32_t to, uint32_t type)
{
	h_ready_all(net);
	uint32_t delivered = 0;
	uint32_t i = 0;
	while (i < net->qn) {
		if (!matches(net->q[i].m, from, to, type)) {
			i++;
			continue;
		}
		struct h_msg q = net->q[i];
		memmove(&net->q[i], &net->q[i + 1], (net->qn - i - 1) * sizeof(q));
		net->qn--;
		if (!net->cut[q.m->from][q.m->to] && q.m->to >= 1 && q.m->to <= net->n) {
			int rc = aeg_raft_step(net->nodes[q.m->to].r, q.m);
			assert(rc == 0);
			(void)rc;
			delivered++;
			h_ready(net, q.m->to);
		}
		msg_free(&q);
		i = 0;  /* new messages may have been queued: rescan in order */
	}
	return delivered;
}

void h_deliver_all(struct h_net *net)
{
	for (int round = 0; round < 10000; round++)
		if (h_deliver(net, 0, 0, 0) == 0 && net->qn == 0)
			return;
}

void h_drop_all(struct h_net *net)
{
	h_ready_all(net);
	for (uint32_t i = 0; i < net->qn; i++)
		msg_free(&net->q[i]);
	net->qn = 0;
}

void h_isolate(struct h_net *net, uint32_t id)
{
	for (uint32_t j = 1; j <= net->n; j++) {
		net->cut[id][j] = j != id;
		net->cut[j][id] = j != id;
	}
}

void h_heal(struct h_net *net)
{
	memset(net->cut, 0, sizeof(net->cut));
}

void h_tick(struct h_net *net, uint32_t id, uint32_t ticks)
{
	for (uint32_t i = 0; i < ticks; i++) {
		aeg_raft_tick(net->nodes[id].r);
		h_ready(net, id);
	}
}

uint32_t h_leader(struct h_net *net)
{
	uint32_t lead = 0;
	uint64_t term = 0;
	for (uint32_t id = 1; id <= net->n; id++) {
		const struct aeg_raft *r = net->nodes[id].r;
		if (h_st(r).role == AEG_RAFT_LEADER && h_st(r).term >= term) {
			lead = id;
			term = h_st(r).term;
		}
	}
	return lead;
}

uint32_t h_elect(struct h_net *net, uint32_t id)
{
	aeg_raft_campaign(net->nodes[id].r);
	h_ready(net, id);
	h_deliver_all(net);
	return h_leader(net);
}

int h_propose(struct h_net *net, uint32_t id, const char *s)
{
	struct aeg_raft_payload p = { .data = s, .len = (uint32_t)strlen(s) };
	int rc = aeg_raft_propose(net->nodes[id].r, &p, 1, NULL);
	h_ready(net, id);
	return rc;
}

uint32_t h_count_queued(const struct h_net *net, uint32_t from, uint32_t to, uint32_t type)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < net->qn; i++)
		n += matches(net->q[i].m, from, to, type);
	return n;
}

struct aeg_raft_status h_st(const struct aeg_raft *r)
{
	struct aeg_raft_status st;
	aeg_raft_status(r, &st);
	return st;
}

struct aeg_raft_conf h_conf(const struct aeg_raft *r)
{
	struct aeg_raft_conf c;
	aeg_raft_conf_get(r, &c);
	return c;
}

const struct aeg_raft_config *h_cfg(const struct aeg_raft *r)
{
	return &r->cfg;
}

void h_set_pre_vote(struct aeg_raft *r, bool on)
{
	r->cfg.pre_vote = on;
}

void h_set_since_leader(struct aeg_raft *r, uint32_t ticks)
{
	r->since_leader = ticks;
}
