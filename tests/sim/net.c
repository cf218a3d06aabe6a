/* Simulated network: every message is copied (with its entries) when sent,
 * then lost, duplicated or delayed by a random amount (which reorders);
 * links can be cut one way or both. Late messages (votes, acks) wait in a
 * per-sender list until the disk write they depend on is durable. Faults:
 * isolate a node or the leader, cut one direction, split minority/majority,
 * crash and restart, leadership transfer. */
#include "sim.h"

#include "msg_clone.h"

#include <stdlib.h>
#include <string.h>

static const char *type_name(uint32_t t)
{
	static const char *names[] = { "?", "APP", "APP_RESP", "VOTE", "VOTE_RESP",
		"PREVOTE", "PREVOTE_RESP", "HB", "HB_RESP", "SNAP", "TIMEOUT_NOW" };
	return t <= AEG_RAFT_MSG_TYPE_MAX ? names[t] : "?";
}

static struct sim_msg *msg_copy(const struct aeg_raft_msg *m)
{
	struct sim_msg *sm = calloc(1, sizeof(*sm));
	if (sm == NULL)
		abort();
	sm->m = raft_msg_clone(m);
	return sm;
}

void net_msg_free(struct sim_msg *sm)
{
	free(sm->m);
	free(sm);
}

static bool healed(const struct sim *s)
{
	return s->healed_t != 0;
}

#define SEND_QUEUE_US 1000  /* a crash loses what was sent this recently */

static void transmit(struct sim *s, struct sim_msg *sm)
{
	uint32_t t = sm->m->type;
	if (t == AEG_RAFT_MSG_APPEND || t == AEG_RAFT_MSG_HEARTBEAT ||
	    t == AEG_RAFT_MSG_SNAPSHOT || t == AEG_RAFT_MSG_TIMEOUT_NOW)
		check_leader_of_term(s, sm->m->from, sm->m->term);  /* it acts */
	sm->sent_t = s->now;
	sm->sender_incarnation = s->nodes[sm->m->from].incarnation;
	const struct sim_mix *mix = s->mix;
	if (s->cut[sm->m->from][sm->m->to] || (!healed(s) && rng_pct(&s->rng, mix->loss_pct))) {
		net_msg_free(sm);
		return;
	}
	uint32_t copies = !healed(s) && rng_pct(&s->rng, mix->dup_pct) ? 2 : 1;
	for (uint32_t c = 0; c < copies; c++) {
		struct sim_msg *x = sm;
		if (c > 0) {
			x = msg_copy(sm->m);
			x->sent_t = sm->sent_t;
			x->sender_incarnation = sm->sender_incarnation;
		}
		/* Long delays are a fault too: after healing, at most 5 ms. */
		uint64_t max = healed(s) && mix->delay_us_max > 5000 ? 5000 : mix->delay_us_max;
		uint64_t d = mix->delay_us_min + rng_below(&s->rng, max - mix->delay_us_min + 1);
		sim_push(s, s->now + d, EV_DELIVER, x->m->to, 0, x);
	}
	s->msgs++;
}

void net_send(struct sim *s, const struct aeg_raft_msg *m, uint64_t held_seq)
{
	struct sim_msg *sm = msg_copy(m);
	if (held_seq == 0) {
		transmit(s, sm);
		return;
	}
	sm->held_until_seq = held_seq;
	struct sim_msg **p = &s->held[m->from];
	while (*p != NULL)
		p = &(*p)->next;
	*p = sm;
}

void net_release_held(struct sim *s, uint32_t node, uint64_t done_seq)
{
	struct sim_msg **p = &s->held[node];
	while (*p != NULL) {
		struct sim_msg *sm = *p;
		if (sm->held_until_seq > done_seq)
			break;  /* in order: later ones wait too */
		*p = sm->next;
		sm->next = NULL;
		transmit(s, sm);
	}
}

void net_drop_held(struct sim *s, uint32_t node)
{
	while (s->held[node] != NULL) {
		struct sim_msg *sm = s->held[node];
		s->held[node] = sm->next;
		net_msg_free(sm);
	}
}

void net_deliver(struct sim *s, struct sim_msg *sm)
{
	struct sim_node *nd = &s->nodes[sm->m->to];
	const struct sim_node *from = &s->nodes[sm->m->from];
	bool died_unsent = from->incarnation != sm->sender_incarnation &&
			   sm->sent_t + SEND_QUEUE_US > from->crashed_t;
	if (nd->up && !s->cut[sm->m->from][sm->m->to] && !died_unsent) {
		const struct aeg_raft_msg *m = sm->m;
		sim_trace(s, "%u->%u %s term %llu idx %llu lt %llu n %u commit %llu%s%s",
			  m->from, m->to, type_name(m->type), (unsigned long long)m->term,
			  (unsigned long long)m->index, (unsigned long long)m->log_term,
			  m->n_entries, (unsigned long long)m->commit, m->reject ? " reject" : "",
			  m->ctx ? " ctx" : "");
		int rc = aeg_raft_step(nd->r, m);
		if (rc != 0)
			sim_fail(s, "step rejected a message from a correct peer: %d", rc);
		node_ready(s, nd->id);
	}
	net_msg_free(sm);
}

void net_heal(struct sim *s)
{
	memset(s->cut, 0, sizeof(s->cut));
}

static void cut_both(struct sim *s, uint32_t a, uint32_t b)
{
	s->cut[a][b] = true;
	s->cut[b][a] = true;
}

static void isolate(struct sim *s, uint32_t id)
{
	for (uint32_t j = 1; j <= s->n; j++)
		if (j != id)
			cut_both(s, id, j);
}

static uint32_t random_node(struct sim *s)
{
	return 1 + (uint32_t)rng_below(&s->rng, s->n);
}

static void fault_partition(struct sim *s)
{
	uint32_t kind = (uint32_t)rng_below(&s->rng, 4);
	uint32_t lead = sim_leader(s);
	net_heal(s);
	if (kind == 0 || (kind == 1 && lead == 0)) {
		uint32_t id = random_node(s);
		isolate(s, id);
		sim_trace(s, "fault: isolate n%u", id);
	} else if (kind == 1) {
		isolate(s, lead);
		sim_trace(s, "fault: isolate leader n%u", lead);
	} else if (kind == 2) {
		uint32_t a = random_node(s), b = random_node(s);
		if (a != b)
			s->cut[a][b] = true;
		sim_trace(s, "fault: cut n%u -> n%u only", a, b);
	} else {
		/* a random minority on one side */
		uint32_t side = 1u + (uint32_t)rng_below(&s->rng, (1u << s->n) - 2);
		for (uint32_t a = 1; a <= s->n; a++)
			for (uint32_t b = 1; b <= s->n; b++)
				if (((side >> (a - 1)) & 1) != ((side >> (b - 1)) & 1))
					s->cut[a][b] = true;
		sim_trace(s, "fault: split by mask %#x", side);
	}
	s->partitions++;
	uint64_t max_us = s->mix->partition_ms_max ? (uint64_t)s->mix->partition_ms_max * 1000 : 550000;
	uint64_t dur = 50000 + rng_below(&s->rng, max_us - 50000);
	sim_push(s, s->now + dur, EV_HEAL, 0, 0, NULL);
}

static void fault_crash(struct sim *s)
{
	uint32_t id = rng_pct(&s->rng, 50) && sim_leader(s) != 0 ? sim_leader(s) : random_node(s);
	if (!s->nodes[id].up)
		return;
	sim_trace(s, "fault: crash n%u", id);
	node_stop(s, id);
	s->crashes++;
	uint64_t dur = 10000 + rng_below(&s->rng, 400000);
	sim_push(s, s->now + dur, EV_RESTART, id, 0, NULL);
}

static void fault_transfer(struct sim *s)
{
	uint32_t lead = sim_leader(s), to = random_node(s);
	if (lead == 0 || to == lead)
		return;
	int rc = aeg_raft_transfer_leader(s->nodes[lead].r, to);
	sim_trace(s, "fault: transfer n%u -> n%u (%d)", lead, to, rc);
	s->transfers++;
	node_ready(s, lead);
}

/* The leader moves to a random config: 1..n voters, some learners. */
static void fault_conf(struct sim *s)
{
	uint32_t lead = sim_leader(s);
	if (lead == 0)
		return;
	struct aeg_raft_conf c;
	memset(&c, 0, sizeof(c));
	uint32_t mask = 0;
	while (mask == 0)
		mask = (uint32_t)rng_below(&s->rng, 1u << s->n);
	for (uint32_t id = 1; id <= s->n; id++) {
		uint8_t role = (mask >> (id - 1)) & 1 ? AEG_RAFT_MEMBER_VOTER
			       : rng_pct(&s->rng, 50) ? AEG_RAFT_MEMBER_LEARNER : 0;
		if (role == 0)
			continue;
		c.ids[c.n] = id;
		c.roles[c.n] = role;
		c.n++;
	}
	int rc = aeg_raft_propose_conf(s->nodes[lead].r, &c);
	sim_trace(s, "fault: n%u proposes voters mask %#x (%d)", lead, mask, rc);
	s->conf_changes += rc == 0;
	node_ready(s, lead);
}

/* One fault event: picks among the faults the mix enables. */
void net_fault(struct sim *s)
{
	const struct sim_mix *mix = s->mix;
	uint32_t every[4] = { mix->partition_every_ms, mix->crash_every_ms, mix->transfer_every_ms,
			      mix->conf_every_ms };
	uint32_t kinds[4], n = 0;
	for (uint32_t k = 0; k < 4; k++)
		if (every[k] != 0)
			kinds[n++] = k;
	if (n == 0 || healed(s))
		return;
	uint32_t k = kinds[rng_below(&s->rng, n)];
	if (k == 0)
		fault_partition(s);
	else if (k == 1)
		fault_crash(s);
	else if (k == 2)
		fault_transfer(s);
	else
		fault_conf(s);
	/* next fault: around the mean interval of the chosen kind */
	uint64_t mean_us = (uint64_t)every[k] * 1000;
	sim_push(s, s->now + mean_us / 2 + rng_below(&s->rng, mean_us), EV_FAULT, 0, 0, NULL);
}
