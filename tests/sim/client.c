/* Client workload and the kv state machine's answers. Each client runs one
 * operation at a time against the node it believes leads: put(key, unique
 * value) is a log entry, acknowledged when that node applies it; get is a
 * ReadIndex (a lease read when the mix enables leases), answered once the
 * node has applied the read index. An operation that gets no answer before
 * its deadline stays open in the history (it may or may not have happened).
 * A put whose index is taken by another entry provably never happened and
 * leaves the history. Every op is recorded for the linearizability check. */
#include "sim.h"

#include <string.h>

#define OP_TIMEOUT_US 400000
#define RETRY_US 5000
#define THINK_US_MIN 2000
#define THINK_US_MAX 40000
#define OPS_AFTER_HEAL 100   /* reserved so that liveness can be probed */

static void schedule(struct sim *s, uint32_t c, uint64_t delay)
{
	sim_push(s, s->now + delay, EV_CLIENT, 0, c, NULL);
}

static void finish(struct sim *s, uint32_t op_i, bool ok, uint64_t value)
{
	struct sim_op *op = &s->ops[op_i];
	struct sim_client *cl = &s->clients[op->client];
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
	sim_trace(s, "client %u: op %u %s key %u = %llu -> %s", op->client, op_i,
		  op->kind == OP_PUT ? "put" : op->kind == OP_GET ? "get" : "stale get", op->key,
		  (unsigned long long)op->value, ok ? "ok" : "failed");
	if (ok && op->kind == OP_PUT && s->healed_t != 0 && op->invoke_t >= s->healed_t &&
	    s->live_t == 0) {
		s->live_t = s->now;
		s->live_index = s->ops[op_i].index;
	}
	uint64_t think_max = s->mix->think_ms_max ? (uint64_t)s->mix->think_ms_max * 1000 : THINK_US_MAX;
	schedule(s, op->client, THINK_US_MIN + rng_below(&s->rng, think_max - THINK_US_MIN));
}

static void pend_remove(struct sim_node *nd, uint32_t k)
{
	nd->pend[k] = nd->pend[--nd->n_pend];
}

/* The op's pending entries at every node (it timed out). */
static void forget(struct sim *s, uint32_t op)
{
	for (uint32_t id = 1; id <= s->n; id++) {
		struct sim_node *nd = &s->nodes[id];
		for (uint32_t k = 0; k < nd->n_pend;) {
			if (nd->pend[k].op == op)
				pend_remove(nd, k);
			else
				k++;
		}
	}
}

static bool submit(struct sim *s, uint32_t c)
{
	struct sim_client *cl = &s->clients[c];
	struct sim_node *nd = &s->nodes[cl->target];
	struct sim_op *op = &s->ops[cl->op];
	if (op->kind == OP_GET_STALE) {
		/* Level "one": whatever this replica has applied, at once. */
		if (!nd->up) {
			cl->target = 1 + (uint32_t)rng_below(&s->rng, s->n);
			return false;
		}
		op->how = "stale";
		finish(s, (uint32_t)cl->op, true, nd->kv[op->key]);
		return true;
	}
	if (!nd->up || aeg_raft_role(nd->r) != AEG_RAFT_LEADER) {
		/* try whom it names as leader, else anyone */
		uint32_t lead = nd->up ? aeg_raft_lead(nd->r) : 0;
		cl->target = lead != 0 && lead != cl->target ? lead
			     : 1 + (uint32_t)rng_below(&s->rng, s->n);
		return false;
	}
	if (nd->n_pend >= sizeof(nd->pend) / sizeof(nd->pend[0]))
		return false;
	struct sim_pending_op *p = &nd->pend[nd->n_pend];
	memset(p, 0, sizeof(*p));
	p->op = (uint32_t)cl->op;
	int rc;
	if (op->kind == OP_PUT) {
		uint8_t buf[13];
		buf[0] = (uint8_t)op->key;
		uint32_t id = (uint32_t)cl->op;
		memcpy(buf + 1, &id, 4);
		memcpy(buf + 5, &op->value, 8);
		struct aeg_raft_payload pl = { .data = buf, .len = sizeof(buf) };
		rc = aeg_raft_propose(nd->r, &pl, 1, &p->index);
		p->term = aeg_raft_term(nd->r);
		if (rc == 0)
			node_maybe_crash_soon(s, nd, s->mix->crash_after_propose_pct, "took a proposal");
		op->index = p->index;
		op->term = p->term;
	} else {
		rc = aeg_raft_read_index(nd->r, (uint64_t)cl->op + 1);
		op->how = s->mix->lease_read ? "lease" : "read_index";
	}
	if (rc != 0)
		return false;
	nd->n_pend++;
	node_ready(s, nd->id);
	return true;
}

void client_event(struct sim *s, uint32_t c)
{
	struct sim_client *cl = &s->clients[c];
	if (cl->op >= 0) {
		struct sim_op *op = &s->ops[cl->op];
		if (s->now >= cl->deadline) {
			sim_trace(s, "client %u: op %d timed out", c, cl->op);
			forget(s, (uint32_t)cl->op);
			cl->op = -1;  /* stays open in the history */
			cl->target = 1 + (uint32_t)rng_below(&s->rng, s->n);
			schedule(s, c, 1000);
			return;
		}
		(void)op;
		if (!cl->submitted) {
			int32_t mine = cl->op;
			cl->submitted = submit(s, c);
			if (cl->op == mine)  /* a stale read is answered at once */
				schedule(s, c, cl->submitted ? cl->deadline - s->now : RETRY_US);
		}
		return;
	}
	uint32_t cap = s->healed_t != 0 ? SIM_OPS_MAX : SIM_OPS_MAX - OPS_AFTER_HEAL;
	if (s->n_ops >= cap || s->now >= s->end_t)
		return;
	uint32_t i = s->n_ops++;
	struct sim_op *op = &s->ops[i];
	memset(op, 0, sizeof(*op));
	op->client = c;
	uint64_t dice = rng_below(&s->rng, 100);
	op->kind = dice < 55 ? OP_PUT : dice < 90 ? OP_GET : OP_GET_STALE;
	op->key = (uint32_t)rng_below(&s->rng, SIM_KEYS);
	op->value = op->kind == OP_PUT ? ++s->next_value : 0;
	op->invoke_t = s->now;
	op->how = "log";
	cl->op = (int32_t)i;
	cl->deadline = s->now + OP_TIMEOUT_US;
	sim_trace(s, "client %u: invoke op %u %s key %u %llu", c, i,
		  op->kind == OP_PUT ? "put" : op->kind == OP_GET ? "get" : "stale get", op->key,
		  (unsigned long long)op->value);
	cl->submitted = submit(s, c);
	if (cl->op == (int32_t)i)
		schedule(s, c, cl->submitted ? OP_TIMEOUT_US : RETRY_US);
}

static void answer_reads(struct sim *s, struct sim_node *nd)
{
	for (uint32_t k = 0; k < nd->n_pend;) {
		struct sim_pending_op *p = &nd->pend[k];
		if (p->read_ready && nd->applied >= p->index) {
			finish(s, p->op, true, nd->kv[s->ops[p->op].key]);
			pend_remove(nd, k);
		} else {
			k++;
		}
	}
}

void client_applied(struct sim *s, struct sim_node *nd, const struct aeg_raft_entry *e)
{
	for (uint32_t k = 0; k < nd->n_pend;) {
		struct sim_pending_op *p = &nd->pend[k];
		if (s->ops[p->op].kind != OP_PUT || p->index != e->index) {
			k++;
			continue;
		}
		if (e->term == p->term) {
			finish(s, p->op, true, 0);
		} else {
			/* another entry holds its index: it never happened */
			s->ops[p->op].failed = true;
			finish(s, p->op, false, 0);
		}
		pend_remove(nd, k);
	}
	answer_reads(s, nd);
}

void client_read_state(struct sim *s, struct sim_node *nd, const struct aeg_raft_read_state *rs)
{
	for (uint32_t k = 0; k < nd->n_pend; k++) {
		struct sim_pending_op *p = &nd->pend[k];
		if (s->ops[p->op].kind == OP_GET && (uint64_t)p->op + 1 == rs->ctx) {
			p->read_ready = true;
			p->index = rs->index;
		}
	}
	answer_reads(s, nd);
}

void client_node_lost(struct sim *s, struct sim_node *nd)
{
	(void)s;
	nd->n_pend = 0;
}
