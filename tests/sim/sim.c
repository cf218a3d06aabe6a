/* Simulator driver: event heap in virtual time, the run of one seed, and
 * the command line. See sim.h and README.md for what is simulated.
 *
 *   aegis-sim --seed S [--seeds N] [--mix NAME|all] [--nodes 3|5|0] [--trace]
 *             [--expect-bug]
 * A failure prints the one command that replays it with a trace. */
#include "sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIX(n, loss, dup, dmin, dmax, part, crash, xfer, drift, kmin, kmax, torn_, lease_) \
	.name = n, .loss_pct = loss, .dup_pct = dup, .delay_us_min = dmin, .delay_us_max = dmax, \
	.partition_every_ms = part, .crash_every_ms = crash, .transfer_every_ms = xfer, \
	.drift_pct = drift, .disk_us_min = kmin, .disk_us_max = kmax, .torn = torn_, \
	.lease_read = lease_

const struct sim_mix sim_mixes[] = {
	/*      name     loss dup delay us    part crash xfer drift disk us     torn lease */
	{ MIX("calm",      0,  0, 100,  2000,   0,   0,   0,  0, 100,  1000, false, false) },
	{ MIX("lossy",    10,  5, 100, 30000,   0,   0,   0,  5, 100,  3000, false, false) },
	{ MIX("partition", 2,  2, 100, 10000, 150,   0,   0,  5, 100,  3000, false, false),
	  .snap_every = 16 },
	{ MIX("crash",     2,  2, 100, 10000,   0, 150,   0,  5, 100, 20000, true, false),
	  .snap_every = 16 },
	{ MIX("transfer",  2,  2, 100, 10000, 300,   0, 150,  5, 100,  3000, false, false) },
	{ MIX("chaos",     5,  5, 100, 30000, 200, 200, 400, 10, 100, 30000, true, false),
	  .snap_every = 12 },
	{ MIX("lease",     2,  2, 100, 10000, 200, 200, 400, 10, 100, 10000, true, true),
	  .snap_every = 16 },
	/* plain Raft: an isolated leader keeps leading */
	{ MIX("nocq",      2,  2, 100, 20000, 100, 300,   0,  5, 100, 10000, true, false),
	  .no_prevote = true, .no_check_quorum = true, .snap_every = 24, .partition_ms_max = 1200 },
	/* Figure 8 hunting: one entry per append, slow disks, leaders crash
	 * right after their commit index moves */
	{ MIX("figure8",   5,  2, 100, 40000, 150, 400,   0, 10, 1000, 60000, true, false),
	  .no_prevote = true, .batch_entries = 1, .crash_after_commit_pct = 50,
	  .crash_after_propose_pct = 30 },
	/* split votes and crashes right after voting */
	{ MIX("votes",     5,  2, 1000, 60000, 300, 400,  0, 10, 1000, 40000, true, false),
	  .no_prevote = true, .crash_after_vote_pct = 30, .snap_every = 16 },
	/* membership changes (joint consensus, learners) among all of it;
	 * nodes beyond the first 3 start outside the config */
	{ MIX("members",   2,  2, 100, 20000, 300, 300, 400, 10, 100, 20000, true, false),
	  .conf_every_ms = 150, .initial_voters = 3, .snap_every = 16 },
	/* quiescence: clients pause long enough for groups to go quiet; a
	 * node-level failure detector wakes followers of unreachable leaders */
	{ MIX("quiet",     2,  2, 100, 10000, 300, 300, 400,  5, 100, 10000, true, true),
	  .quiesce_ticks = 20, .think_ms_max = 600, .snap_every = 16 },
};
const uint32_t sim_mixes_n = sizeof(sim_mixes) / sizeof(sim_mixes[0]);

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct sim_rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct sim_rng *g)
{
	uint64_t *s = g->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

uint64_t rng_below(struct sim_rng *g, uint64_t n)
{
	return n == 0 ? 0 : rng_next(g) % n;
}

bool rng_pct(struct sim_rng *g, uint32_t pct)
{
	return pct > 0 && rng_below(g, 100) < pct;
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (s->failure[0] != '\0')
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
	va_end(ap);
	if (s->failure[0] == '\0')
		snprintf(s->failure, sizeof(s->failure), "failure");
	sim_trace(s, "INVARIANT VIOLATED: %s", s->failure);
}

void sim_trace(struct sim *s, const char *fmt, ...)
{
	if (!s->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("%9.3f ms  ", (double)s->now / 1000.0);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static bool ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

void sim_push(struct sim *s, uint64_t t, uint32_t type, uint32_t node, uint64_t arg, void *ptr)
{
	if (s->heap_n == s->heap_cap) {
		s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 1024;
		s->heap = realloc(s->heap, s->heap_cap * sizeof(*s->heap));
		if (s->heap == NULL)
			abort();
	}
	struct sim_ev ev = { .t = t, .seq = ++s->ev_seq, .type = type, .node = node,
			     .arg = arg, .ptr = ptr };
	uint32_t i = s->heap_n++;
	while (i > 0 && ev_less(&ev, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = ev;
}

static struct sim_ev pop(struct sim *s)
{
	struct sim_ev top = s->heap[0];
	struct sim_ev last = s->heap[--s->heap_n];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= s->heap_n)
			break;
		if (c + 1 < s->heap_n && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_n > 0)
		s->heap[i] = last;
	return top;
}

uint32_t sim_leader(const struct sim *s)
{
	uint32_t lead = 0;
	uint64_t term = 0;
	for (uint32_t id = 1; id <= s->n; id++) {
		const struct sim_node *nd = &s->nodes[id];
		if (nd->up && aeg_raft_role(nd->r) == AEG_RAFT_LEADER && aeg_raft_term(nd->r) >= term) {
			lead = id;
			term = aeg_raft_term(nd->r);
		}
	}
	return lead;
}

static void heal_all(struct sim *s)
{
	s->healed_t = s->now;
	net_heal(s);
	for (uint32_t id = 1; id <= s->n; id++)
		if (s->nodes[id].up)
			aeg_raft_wake(s->nodes[id].r);  /* the detector sees links return */
	sim_trace(s, "heal: network whole, every node up, no more loss");
	for (uint32_t id = 1; id <= s->n; id++)
		if (!s->nodes[id].up && node_start(s, id) == 0)
			node_ready(s, id);
}

static bool converged(const struct sim *s)
{
	if (s->live_t == 0)
		return false;
	for (uint32_t id = 1; id <= s->n; id++)
		if (!s->nodes[id].up || s->nodes[id].applied < s->live_index)
			return false;
	return true;
}

static void handle(struct sim *s, const struct sim_ev *ev)
{
	struct sim_node *nd = &s->nodes[ev->node];
	switch (ev->type) {
	case EV_TICK:
		if (nd->up && ev->arg == nd->incarnation)
			node_tick(s, ev->node);
		break;
	case EV_DELIVER:
		net_deliver(s, ev->ptr);
		break;
	case EV_DISK_DONE:
		if (nd->up)
			disk_complete(s, nd, ev->arg);
		break;
	case EV_CLIENT:
		client_event(s, (uint32_t)ev->arg);
		break;
	case EV_FAULT:
		net_fault(s);
		break;
	case EV_HEAL:
		if (ev->arg == 1)
			heal_all(s);
		else if (s->healed_t == 0)
			net_heal(s);
		break;
	case EV_CRASH:
		if (nd->up && ev->arg == nd->incarnation && s->healed_t == 0) {
			sim_trace(s, "crash n%u", ev->node);
			node_stop(s, ev->node);
			s->crashes++;
			/* back quickly: messages of the moment are still in flight */
			sim_push(s, s->now + 1000 + rng_below(&s->rng, 50000), EV_RESTART,
				 ev->node, 0, NULL);
		}
		break;
	case EV_RESTART:
		if (!nd->up && s->healed_t == 0) {
			sim_trace(s, "restart n%u", ev->node);
			if (node_start(s, ev->node) == 0)
				node_ready(s, ev->node);
		}
		break;
	}
}

static void sim_reset(struct sim *s)
{
	struct sim_ev *heap = s->heap;
	uint32_t cap = s->heap_cap;
	memset(s, 0, sizeof(*s));
	s->heap = heap;
	s->heap_cap = cap;
}

void sim_free(struct sim *s)
{
	for (uint32_t id = 1; id <= s->n; id++) {
		node_free_raft(s, &s->nodes[id]);  /* r is NULL while down */
		disk_free(&s->nodes[id].disk);
		net_drop_held(s, id);
	}
	while (s->heap_n > 0) {
		struct sim_ev ev = pop(s);
		if (ev.type == EV_DELIVER)
			net_msg_free(ev.ptr);
	}
}

int sim_run(struct sim *s, uint64_t seed, const struct sim_mix *mix, uint32_t nodes, bool trace)
{
	sim_reset(s);
	s->seed = seed;
	s->mix = mix;
	s->n = nodes;
	s->trace = trace;
	rng_seed(&s->rng, seed);
	s->fault_end_t = 1500000;
	s->liveness_bound_us = 3000000;  /* 10 maximum election timeouts */
	s->end_t = s->fault_end_t + s->liveness_bound_us + 1;
	for (uint32_t id = 1; id <= nodes; id++) {
		struct sim_node *nd = &s->nodes[id];
		nd->id = id;
		int64_t drift = mix->drift_pct == 0 ? 0 :
			(int64_t)rng_below(&s->rng, 2 * mix->drift_pct + 1) - mix->drift_pct;
		nd->tick_us = (uint32_t)(10000 + 100 * drift);
		disk_init(&nd->disk);
		if (node_start(s, id) != 0)
			return 1;
	}
	for (uint32_t c = 0; c < SIM_CLIENTS; c++) {
		s->clients[c].op = -1;
		s->clients[c].target = 1 + (uint32_t)rng_below(&s->rng, nodes);
		sim_push(s, 200000 + rng_below(&s->rng, 20000), EV_CLIENT, 0, c, NULL);
	}
	if (mix->partition_every_ms || mix->crash_every_ms || mix->transfer_every_ms ||
	    mix->conf_every_ms)
		sim_push(s, 100000 + rng_below(&s->rng, 200000), EV_FAULT, 0, 0, NULL);
	sim_push(s, s->fault_end_t, EV_HEAL, 0, 1, NULL);
	while (s->heap_n > 0 && s->failure[0] == '\0') {
		struct sim_ev ev = pop(s);
		if (ev.t > s->end_t) {
			if (ev.type == EV_DELIVER)
				net_msg_free(ev.ptr);
			break;
		}
		s->now = ev.t;
		handle(s, &ev);
		s->events++;
		check_all(s, ev.node);
		if (converged(s))
			break;
	}
	check_end(s);
	sim_free(s);
	return s->failure[0] != '\0';
}

static const struct sim_mix *mix_by_name(const char *name)
{
	for (uint32_t i = 0; i < sim_mixes_n; i++)
		if (strcmp(sim_mixes[i].name, name) == 0)
			return &sim_mixes[i];
	return NULL;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seed S] [--seeds N] [--mix NAME|all] [--nodes 3|5|0]"
		" [--trace] [--expect-bug] [--quiet]\nmixes:", argv0);
	for (uint32_t i = 0; i < sim_mixes_n; i++)
		fprintf(stderr, " %s", sim_mixes[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, seeds = 1;
	const char *mix_name = "all";
	uint32_t nodes = 0;
	bool trace = false, expect_bug = false, quiet = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--seed") == 0 && v != NULL) {
			seed = strtoull(v, NULL, 0);
			i++;
		} else if (strcmp(a, "--seeds") == 0 && v != NULL) {
			seeds = strtoull(v, NULL, 0);
			i++;
		} else if (strcmp(a, "--mix") == 0 && v != NULL) {
			mix_name = v;
			i++;
		} else if (strcmp(a, "--nodes") == 0 && v != NULL) {
			nodes = (uint32_t)strtoul(v, NULL, 0);
			i++;
		} else if (strcmp(a, "--trace") == 0) {
			trace = true;
		} else if (strcmp(a, "--expect-bug") == 0) {
			expect_bug = true;
		} else if (strcmp(a, "--quiet") == 0) {
			quiet = true;
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if ((nodes != 0 && nodes != 3 && nodes != 5) ||
	    (strcmp(mix_name, "all") != 0 && mix_by_name(mix_name) == NULL)) {
		usage(argv[0]);
		return 2;
	}
	static struct sim s;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t events = 0, msgs = 0, ops = 0, acked = 0, reads = 0, crashes = 0;
	uint64_t parts = 0, xfers = 0, elections = 0, gaveup = 0, snaps = 0, installs = 0, confs = 0, wakes = 0;
	int rc = expect_bug ? 1 : 0;
	for (uint64_t k = 0; k < seeds; k++) {
		uint64_t sd = seed + k;
		const struct sim_mix *mix = strcmp(mix_name, "all") == 0
			? &sim_mixes[sd % sim_mixes_n] : mix_by_name(mix_name);
		uint32_t n = nodes != 0 ? nodes : ((sd / sim_mixes_n) % 2 ? 5 : 3);
		int failed = sim_run(&s, sd, mix, n, trace);
		events += s.events;
		msgs += s.msgs;
		ops += s.n_ops;
		acked += s.acked_writes;
		reads += s.reads_ok;
		crashes += s.crashes;
		parts += s.partitions;
		xfers += s.transfers;
		elections += s.elections;
		gaveup += s.lin_gaveup;
		snaps += s.snaps_taken;
		installs += s.snap_installs;
		confs += s.conf_changes;
		wakes += s.wakes;
		if (failed) {
			printf("FAIL seed %llu (mix %s, %u nodes): %s\n", (unsigned long long)sd,
			       mix->name, n, s.failure);
			printf("replay: %s --seed %llu --mix %s --nodes %u --trace\n", argv[0],
			       (unsigned long long)sd, mix->name, n);
			if (expect_bug)
				printf("bug caught after %llu seeds\n", (unsigned long long)(k + 1));
			rc = expect_bug ? 0 : 1;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!quiet || rc != 0)
		printf("sim: seeds %llu..%llu mix %s: %llu events, %llu msgs, %llu ops (%llu puts acked, %llu reads), %llu elections, %llu crashes, %llu partitions, %llu transfers, %llu lin checks gave up, %llu snapshots taken, %llu installed, %llu conf changes, %llu detector wakes, %.2f s\n",
		       (unsigned long long)seed, (unsigned long long)(seed + seeds - 1), mix_name,
		       (unsigned long long)events, (unsigned long long)msgs,
		       (unsigned long long)ops, (unsigned long long)acked,
		       (unsigned long long)reads, (unsigned long long)elections,
		       (unsigned long long)crashes, (unsigned long long)parts,
		       (unsigned long long)xfers, (unsigned long long)gaveup,
		       (unsigned long long)snaps, (unsigned long long)installs,
		       (unsigned long long)confs, (unsigned long long)wakes, secs);
	if (expect_bug && rc != 0)
		printf("bug NOT caught in %llu seeds\n", (unsigned long long)seeds);
	free(s.heap);
	return rc;
}
