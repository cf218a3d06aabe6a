/* Client workload and the kv state machine's answers, per group (each group
 * is its own register set with its own clients and history). Each client runs one
 * operation at a time against the node it believes leads: put(key, unique
 * value) is a log entry, acknowledged when that node applies it; get is a
 * ReadIndex (a lease read when the mix enables leases), answered once the
 * node has applied the read index. An operation that gets no answer before
 * its deadline stays open in the history (it may or may not have happened).
 * A put whose index is taken by another entry provably never happened and
 * leaves the history. Every op is recorded for the linearizability check. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#define OP_TIMEOUT_US 400000
#define RETRY_US 5000
#define THINK_US_MIN 2000
#define THINK_US_MAX 40000
#define OPS_AFTER_HEAL 100   /* reserved so that liveness can be probed */

static void schedule(struct sim *s, uint32_t g, uint32_t c, uint64_t delay)
{
	sim_push(s, s->now + delay, EV_CLIENT, 0, (uint64_t)g * SIM_CLIENTS + c, NULL);
}

static void finish(struct sim *s, uint32_t g, uint32_t op_i, bool ok, uint64_t value)
{
	struct sim_group *gr = &s->grp[g];
	struct sim_op *op = &gr->ops[op_i];
	struct sim_client *cl = &gr->clients[op->client];
	if (cl->op != (int32_t)op_i)
		return;  /* the client gave up already */
	op->ok = ok;
	op->return_t = s->now;
	if (op->kind != OP_PUT)
		op->value = value;
	cl->op = -1;
	if (ok && op->kind == OP_PUT)
		s->acked_writes++;
	if (ok && op->kind != OP_PUT)
		s->reads_ok++;
	sim_trace(s, "g%u client %u: op %u %s key %u = %llu -> %s", g, op->client, op_i,
		  op->kind == OP_PUT ? "put" : op->kind == OP_GET ? "get" : "stale get", op->key,
		  (unsigned long long)op->value, ok ? "ok" : "failed");
	if (ok && op->kind == OP_PUT && s->healed_t != 0 && op->invoke_t >= s->healed_t &&
	    gr->live_t == 0) {
		gr->live_t = s->now;
		gr->live_index = op->index;
	}
	uint64_t think_max = s->mix->think_ms_max ? (uint64_t)s->mix->think_ms_max * 1000 : THINK_US_MAX;
	schedule(s, g, op->client, THINK_US_MIN + rng_below(&s->rng, think_max - THINK_US_MIN));
}

static void pend_remove(struct sim_rep *rp, uint32_t k)
{
	rp->pend[k] = rp->pend[--rp->n_pend];
}

/* The op's pending entries at every node (it timed out). */
static void forget(struct sim *s, uint32_t g, uint32_t op)
{
	for (uint32_t id = 1; id <= s->n; id++) {
		struct sim_rep *rp = sim_rep(s, id, g);
		for (uint32_t k = 0; k < rp->n_pend;) {
			if (rp->pend[k].op == op)
				pend_remove(rp, k);
			else
				k++;
		}
	}
}

/* A put's payload: key, op id, value, then (large-value mixes) filler
 * bytes derived from the value, so that every byte is covered by the
 * log's chain hash. */
static uint32_t put_payload(struct sim *s, const struct sim_op *op, uint32_t id, uint8_t **out)
{
	static uint8_t small[13];
	const struct sim_mix *mix = s->mix;
	uint32_t len = 13;
	uint8_t *buf = small;
	if (mix->value_bytes_max > 0) {
		/* mostly a few frames; 1% up to the largest value */
		uint32_t hi = rng_pct(&s->rng, 1) ? mix->value_bytes_max : 8 * SIM_FRAME_BYTES;
		len = mix->value_bytes_min + (uint32_t)rng_below(&s->rng, hi - mix->value_bytes_min + 1);
		buf = malloc(len);
		if (buf == NULL)
			abort();
		uint64_t x = op->value * 0x9e3779b97f4a7c15ull;
		for (uint32_t i = 13; i < len; i += 8) {
			x += 0x9e3779b97f4a7c15ull;
			memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
		}
	}
	buf[0] = (uint8_t)op->key;
	memcpy(buf + 1, &id, 4);
	memcpy(buf + 5, &op->value, 8);
	*out = buf;
	return len;
}

static bool submit(struct sim *s, uint32_t g, uint32_t c)
{
	struct sim_group *gr = &s->grp[g];
	struct sim_client *cl = &gr->clients[c];
	struct sim_node *nd = &s->nodes[cl->target];
	struct sim_rep *rp = sim_rep(s, cl->target, g);
	struct sim_op *op = &gr->ops[cl->op];
	struct aeg_raft *r = sim_raft(s, cl->target, g);
	if (op->kind == OP_GET_STALE) {
		/* Level "one": whatever this replica has applied, at once. */
		if (!nd->up) {
			cl->target = 1 + (uint32_t)rng_below(&s->rng, s->n);
			return false;
		}
		op->how = "stale";
		finish(s, g, (uint32_t)cl->op, true, rp->kv[op->key]);
		return true;
	}
	if (!nd->up || aeg_raft_role(r) != AEG_RAFT_LEADER) {
		/* try whom it names as leader, else anyone */
		uint32_t lead = nd->up ? aeg_raft_lead(r) : 0;
		cl->target = lead != 0 && lead != cl->target ? lead
			     : 1 + (uint32_t)rng_below(&s->rng, s->n);
		return false;
	}
	if (rp->n_pend >= sizeof(rp->pend) / sizeof(rp->pend[0]))
		return false;
	struct sim_pending_op *p = &rp->pend[rp->n_pend];
	memset(p, 0, sizeof(*p));
	p->op = (uint32_t)cl->op;
	int rc;
	if (op->kind == OP_PUT) {
		uint8_t *buf;
		uint32_t len = put_payload(s, op, (uint32_t)cl->op, &buf);
		struct aeg_raft_payload pl = { .data = buf, .len = len };
		rc = aeg_gd_propose(nd->gd, g + 1, &pl, 1, &p->index);
		if (len > 13)
			free(buf);
		p->term = aeg_raft_term(r);
		if (rc == 0)
			node_maybe_crash_within(s, nd, sim_crash_after_propose_pct(s), "took a proposal", 0,
						s->fig8 ? FIG8_PROPOSE_US : 3000);
		op->index = p->index;
		op->term = p->term;
	} else {
		rc = aeg_gd_read_index(nd->gd, g + 1, (uint64_t)cl->op + 1);
		op->how = s->mix->lease_read ? "lease" : "read_index";
	}
	if (rc != 0)
		return false;
	rp->n_pend++;
	node_loop(s, nd->id);
	return true;
}

void client_start(struct sim *s)
{
	for (uint32_t g = 0; g < s->groups; g++) {
		for (uint32_t c = 0; c < SIM_CLIENTS; c++) {
			s->grp[g].clients[c].op = -1;
			s->grp[g].clients[c].target = 1 + (uint32_t)rng_below(&s->rng, s->n);
			sim_push(s, 200000 + rng_below(&s->rng, 20000), EV_CLIENT, 0,
				 (uint64_t)g * SIM_CLIENTS + c, NULL);
		}
	}
}

void client_event(struct sim *s, uint64_t arg)
{
	uint32_t g = (uint32_t)(arg / SIM_CLIENTS), c = (uint32_t)(arg % SIM_CLIENTS);
	struct sim_group *gr = &s->grp[g];
	struct sim_client *cl = &gr->clients[c];
	if (cl->op >= 0) {
		if (s->now >= cl->deadline) {
			sim_trace(s, "g%u client %u: op %d timed out", g, c, cl->op);
			forget(s, g, (uint32_t)cl->op);
			cl->op = -1;  /* stays open in the history */
			cl->target = 1 + (uint32_t)rng_below(&s->rng, s->n);
			schedule(s, g, c, 1000);
			return;
		}
		if (!cl->submitted) {
			int32_t mine = cl->op;
			cl->submitted = submit(s, g, c);
			if (cl->op == mine)  /* a stale read is answered at once */
				schedule(s, g, c, cl->submitted ? cl->deadline - s->now : RETRY_US);
		}
		return;
	}
	uint32_t cap = s->healed_t != 0 ? SIM_OPS_MAX : SIM_OPS_MAX - OPS_AFTER_HEAL;
	if (gr->n_ops >= cap || s->now >= s->end_t)
		return;
	uint32_t i = gr->n_ops++;
	struct sim_op *op = &gr->ops[i];
	memset(op, 0, sizeof(*op));
	op->client = c;
	uint64_t dice = rng_below(&s->rng, 100);
	op->kind = dice < 55 ? OP_PUT : dice < 90 ? OP_GET : OP_GET_STALE;
	op->key = (uint32_t)rng_below(&s->rng, SIM_KEYS);
	op->value = op->kind == OP_PUT ? ++gr->next_value : 0;
	op->invoke_t = s->now;
	op->how = "log";
	cl->op = (int32_t)i;
	cl->deadline = s->now + OP_TIMEOUT_US;
	sim_trace(s, "g%u client %u: invoke op %u %s key %u %llu", g, c, i,
		  op->kind == OP_PUT ? "put" : op->kind == OP_GET ? "get" : "stale get", op->key,
		  (unsigned long long)op->value);
	cl->submitted = submit(s, g, c);
	if (cl->op == (int32_t)i)
		schedule(s, g, c, cl->submitted ? OP_TIMEOUT_US : RETRY_US);
}

static void answer_reads(struct sim *s, struct sim_rep *rp)
{
	const struct sim_group *gr = &s->grp[rp->g];
	for (uint32_t k = 0; k < rp->n_pend;) {
		struct sim_pending_op *p = &rp->pend[k];
		if (p->read_ready && rp->applied >= p->index) {
			finish(s, rp->g, p->op, true, rp->kv[gr->ops[p->op].key]);
			pend_remove(rp, k);
		} else {
			k++;
		}
	}
}

void client_applied(struct sim *s, struct sim_rep *rp, const struct aeg_raft_entry *e)
{
	struct sim_group *gr = &s->grp[rp->g];
	for (uint32_t k = 0; k < rp->n_pend;) {
		struct sim_pending_op *p = &rp->pend[k];
		if (gr->ops[p->op].kind != OP_PUT || p->index != e->index) {
			k++;
			continue;
		}
		if (e->term == p->term) {
			finish(s, rp->g, p->op, true, 0);
		} else {
			/* another entry holds its index: it never happened */
			gr->ops[p->op].failed = true;
			finish(s, rp->g, p->op, false, 0);
		}
		pend_remove(rp, k);
	}
	answer_reads(s, rp);
}

void client_read_ready(struct sim *s, struct sim_rep *rp, uint64_t ctx, uint64_t index)
{
	const struct sim_group *gr = &s->grp[rp->g];
	for (uint32_t k = 0; k < rp->n_pend; k++) {
		struct sim_pending_op *p = &rp->pend[k];
		if (gr->ops[p->op].kind == OP_GET && (uint64_t)p->op + 1 == ctx) {
			p->read_ready = true;
			p->index = index;
		}
	}
	answer_reads(s, rp);
}

void client_node_lost(struct sim *s, struct sim_rep *rp)
{
	(void)s;
	rp->n_pend = 0;
}
