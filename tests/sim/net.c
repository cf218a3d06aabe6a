/* Simulated network: the group driver's encoded messages (AEG_MSG_RAFT,
 * AEG_MSG_RAFT_HB) are copied as bytes when sent, then lost, duplicated or
 * delayed by a random amount (which reorders); links can be cut one way or
 * both. A message is one datagram of any size up to the transport's limit
 * (the worker fragments it); sizes are checked. Faults:
 * isolate a node or the leader, cut one direction, split minority/majority,
 * crash and restart, leadership transfer. */
#include "sim.h"

#include "aegis/msg.h"
#include "aegis/raft_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(uint32_t t)
{
	static const char *names[] = { "?", "APP", "APP_RESP", "VOTE", "VOTE_RESP",
		"PREVOTE", "PREVOTE_RESP", "HB", "HB_RESP", "SNAP", "TIMEOUT_NOW" };
	return t <= AEG_RAFT_MSG_TYPE_MAX ? names[t] : "?";
}

void net_msg_free(struct sim_msg *sm)
{
	free(sm);
}

static bool healed(const struct sim *s)
{
	return s->healed_t != 0;
}

#define SEND_QUEUE_US 1000  /* a crash loses what was sent this recently */

/* What the sim learns from a message leaving: every message is decoded
 * (the codec must read back what it wrote), leaders acting are recorded
 * for election safety, a granted vote may trigger the adversary. */
static void inspect(struct sim *s, struct sim_node *nd, uint32_t to, uint8_t type, uint32_t group,
		    const uint8_t *body, uint32_t len)
{
	if (len > SIM_MSG_BYTES_MAX) {
		sim_fail(s, "n%u sends a message of %u bytes to n%u, over the transport's %u", nd->id, len,
			 to, SIM_MSG_BYTES_MAX);
		return;
	}
	if (len > SIM_FRAME_BYTES)
		s->big_msgs++;
	if (len > s->max_msg)
		s->max_msg = len;
	if (type == AEG_MSG_RAFT_HB) {
		struct aeg_raft_hb hbs[64];
		uint32_t n = 0;
		if (group != 0 || aeg_raft_hb_batch_decode(hbs, 64, &n, body, len) != 0) {
			sim_fail(s, "n%u: heartbeat batch does not decode", nd->id);
			return;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (hbs[i].from != nd->id || hbs[i].to != to || hbs[i].group < 1 ||
			    hbs[i].group > s->groups) {
				sim_fail(s, "n%u: heartbeat batch with a bad heartbeat", nd->id);
				return;
			}
			if (hbs[i].type == AEG_RAFT_MSG_HEARTBEAT)
				check_leader_of_term(s, (uint32_t)hbs[i].group - 1, nd->id, hbs[i].term);
		}
		return;
	}
	struct aeg_raft_msg m;
	struct aeg_raft_conf conf;
	int rc = type == AEG_MSG_RAFT ? aeg_raft_msg_decode(&m, s->scratch, 1024, &conf, body, len) : -EPROTO;
	if (rc != 0 || m.from != nd->id || m.to != to || group < 1 || group > s->groups) {
		sim_fail(s, "n%u: message (type %u, group %u, %u bytes) does not decode: %d", nd->id, type,
			 group, len, rc);
		return;
	}
	uint32_t t = m.type;
	if (t == AEG_RAFT_MSG_APPEND || t == AEG_RAFT_MSG_HEARTBEAT ||
	    t == AEG_RAFT_MSG_SNAPSHOT || t == AEG_RAFT_MSG_TIMEOUT_NOW)
		check_leader_of_term(s, group - 1, m.from, m.term);  /* it acts */
	if (t == AEG_RAFT_MSG_VOTE_RESP && !m.reject)
		node_maybe_crash_soon(s, nd, s->mix->crash_after_vote_pct, "granted a vote");
}

int net_send(void *ctx, uint32_t to, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len)
{
	struct sim_node *nd = ctx;
	struct sim *s = nd->sim;
	inspect(s, nd, to, type, group, body, len);
	if (to < 1 || to > s->n || to == nd->id) {
		sim_fail(s, "n%u sends to n%u", nd->id, to);
		return -EINVAL;
	}
	const struct sim_mix *mix = s->mix;
	if (s->cut[nd->id][to] || (!healed(s) && rng_pct(&s->rng, mix->loss_pct)))
		return 0;
	uint32_t copies = !healed(s) && rng_pct(&s->rng, mix->dup_pct) ? 2 : 1;
	for (uint32_t c = 0; c < copies; c++) {
		struct sim_msg *sm = malloc(sizeof(*sm) + len);
		if (sm == NULL)
			abort();
		sm->from = nd->id;
		sm->to = to;
		sm->group = group;
		sm->type = type;
		sm->len = len;
		sm->sent_t = s->now;
		sm->sender_incarnation = nd->incarnation;
		memcpy(sm->body, body, len);
		/* Long delays are a fault too: after healing, at most 5 ms. */
		uint64_t max = healed(s) && mix->delay_us_max > 5000 ? 5000 : mix->delay_us_max;
		uint64_t d = mix->delay_us_min + rng_below(&s->rng, max - mix->delay_us_min + 1);
		sim_push(s, s->now + d, EV_DELIVER, to, 0, sm);
	}
	s->msgs++;
	return 0;
}

static void trace_msg(struct sim *s, const struct sim_msg *sm)
{
	if (sm->type == AEG_MSG_RAFT_HB) {
		struct aeg_raft_hb hbs[64];
		uint32_t n = 0;
		if (aeg_raft_hb_batch_decode(hbs, 64, &n, sm->body, sm->len) != 0)
			return;
		for (uint32_t i = 0; i < n; i++)
			sim_trace(s, "%u->%u g%llu %s term %llu commit %llu%s (batch of %u)", sm->from, sm->to,
				  (unsigned long long)hbs[i].group - 1, type_name(hbs[i].type),
				  (unsigned long long)hbs[i].term, (unsigned long long)hbs[i].commit,
				  hbs[i].ctx ? " ctx" : "", n);
		return;
	}
	struct aeg_raft_msg m;
	struct aeg_raft_conf conf;
	if (aeg_raft_msg_decode(&m, s->scratch, 1024, &conf, sm->body, sm->len) != 0)
		return;
	sim_trace(s, "%u->%u g%u %s term %llu idx %llu lt %llu n %u commit %llu%s%s (%u bytes)",
		  m.from, m.to, sm->group - 1, type_name(m.type), (unsigned long long)m.term,
		  (unsigned long long)m.index, (unsigned long long)m.log_term, m.n_entries,
		  (unsigned long long)m.commit, m.reject ? " reject" : "", m.ctx ? " ctx" : "", sm->len);
}

void net_deliver(struct sim *s, struct sim_msg *sm)
{
	struct sim_node *nd = &s->nodes[sm->to];
	const struct sim_node *from = &s->nodes[sm->from];
	bool died_unsent = from->incarnation != sm->sender_incarnation &&
			   sm->sent_t + SEND_QUEUE_US > from->crashed_t;
	if (nd->up && !s->cut[sm->from][sm->to] && !died_unsent) {
		if (s->trace)
			trace_msg(s, sm);
		int rc = aeg_gd_receive(nd->gd, sm->from, sm->type, sm->group, sm->body, sm->len);
		if (rc != 0)
			sim_fail(s, "n%u: the driver refused a message from a correct peer: %d", nd->id, rc);
		node_loop(s, nd->id);
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

static uint32_t random_group(struct sim *s)
{
	return (uint32_t)rng_below(&s->rng, s->groups);
}

static void fault_partition(struct sim *s)
{
	uint32_t kind = (uint32_t)rng_below(&s->rng, 4);
	uint32_t lead = sim_leader(s, random_group(s));
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
	uint32_t lead = sim_leader(s, random_group(s));
	uint32_t id = rng_pct(&s->rng, 50) && lead != 0 ? lead : random_node(s);
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
	uint32_t g = random_group(s);
	uint32_t lead = sim_leader(s, g), to = random_node(s);
	if (lead == 0 || to == lead)
		return;
	int rc = aeg_raft_transfer_leader(sim_raft(s, lead, g), to);
	sim_trace(s, "fault: g%u transfer n%u -> n%u (%d)", g, lead, to, rc);
	s->transfers++;
	aeg_gd_touch(s->nodes[lead].gd, g + 1);
	node_loop(s, lead);
}

/* The leader moves to a random config: 1..n voters, some learners. */
static void fault_conf(struct sim *s)
{
	uint32_t g = random_group(s);
	uint32_t lead = sim_leader(s, g);
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
	int rc = aeg_raft_propose_conf(sim_raft(s, lead, g), &c);
	sim_trace(s, "fault: g%u n%u proposes voters mask %#x (%d)", g, lead, mask, rc);
	s->conf_changes += rc == 0;
	aeg_gd_touch(s->nodes[lead].gd, g + 1);
	node_loop(s, lead);
}

/* One fault event: picks among the faults the mix enables. */
void net_fault(struct sim *s)
{
	const struct sim_mix *mix = s->mix;
	uint32_t every[6] = { mix->partition_every_ms, mix->crash_every_ms, mix->transfer_every_ms,
			      mix->conf_every_ms, mix->moves_every_ms, mix->churn_every_ms };
	uint32_t kinds[6], n = 0;
	for (uint32_t k = 0; k < 6; k++)
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
	else if (k == 3)
		fault_conf(s);
	else if (k == 4)
		moves_start(s);
	else
		churn_event(s);
	/* next fault: around the mean interval of the chosen kind */
	uint64_t mean_us = (uint64_t)every[k] * 1000;
	sim_push(s, s->now + mean_us / 2 + rng_below(&s->rng, mean_us), EV_FAULT, 0, 0, NULL);
}
