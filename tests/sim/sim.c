/* Simulator driver: event heap in virtual time, the run of one seed, and
 * the command line. See sim.h and README.md for what is simulated.
 *
 *   aegis-sim --seed S [--seeds N] [--mix NAME|all] [--nodes 3|5|0] [--trace]
 *             [--expect-bug]
 * A failure prints the one command that replays it with a trace. */
#include "sim.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

uint32_t sim_leader(const struct sim *s, uint32_t g)
{
	uint32_t lead = 0;
	uint64_t term = 0;
	for (uint32_t id = 1; id <= s->n; id++) {
		const struct aeg_raft *r = sim_raft(s, id, g);
		if (r != NULL && aeg_raft_role(r) == AEG_RAFT_LEADER && aeg_raft_term(r) >= term) {
			lead = id;
			term = aeg_raft_term(r);
		}
	}
	return lead;
}

static void heal_all(struct sim *s)
{
	s->healed_t = s->now;
	net_heal(s);
	for (uint32_t id = 1; id <= s->n; id++) {
		if (!s->nodes[id].up)
			continue;
		for (uint32_t g = 0; g < s->groups; g++) {
			aeg_raft_wake(sim_raft(s, id, g));  /* the detector sees links return */
			aeg_gd_touch(s->nodes[id].gd, g + 1);
		}
		node_loop(s, id);
	}
	sim_trace(s, "heal: network whole, every node up, no more loss");
	for (uint32_t id = 1; id <= s->n; id++)
		if (!s->nodes[id].up && node_start(s, id) == 0)
			node_loop(s, id);
}

static bool converged(const struct sim *s)
{
	for (uint32_t g = 0; g < s->groups; g++) {
		const struct sim_group *gr = &s->grp[g];
		if (gr->live_t == 0)
			return false;
		for (uint32_t id = 1; id <= s->n; id++)
			if (!s->nodes[id].up || s->nodes[id].reps[g].applied < gr->live_index)
				return false;
	}
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
		client_event(s, ev->arg);
		break;
	case EV_FAULT:
		net_fault(s);
		break;
	case EV_MOVE:
		moves_step(s);
		break;
	case EV_PLAN:
		churn_plan(s);
		break;
	case EV_INSTALL_DONE:
		if (nd->up && ev->arg == nd->incarnation)
			sm_install_done(s, nd, ev->ptr);
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
				node_loop(s, ev->node);
		}
		break;
	}
}

/* Clears the run's state; the large per-group arrays are kept (valid
 * only in the ranges their counters give) so that a seed costs no MiBs of
 * clearing. */
static void sim_reset(struct sim *s)
{
	struct sim_ev *heap = s->heap;
	uint32_t cap = s->heap_cap;
	struct sim_group *grp = s->grp;
	struct aeg_raft_entry *scratch = s->scratch;
	struct sim_rep *reps[SIM_NODES_MAX + 1];
	memcpy(reps, s->reps_mem, sizeof(reps));
	memset(s, 0, sizeof(*s));
	s->heap = heap;
	s->heap_cap = cap;
	s->grp = grp != NULL ? grp : malloc(SIM_GROUPS_MAX * sizeof(*grp));
	s->scratch = scratch != NULL ? scratch : calloc(1024, sizeof(*scratch));
	if (s->grp == NULL || s->scratch == NULL)
		abort();
	for (uint32_t g = 0; g < SIM_GROUPS_MAX; g++) {
		memset(&s->grp[g], 0, offsetof(struct sim_group, gchain));
		s->grp[g].gchain[0] = s->grp[g].gterm[0] = s->grp[g].gcterm[0] = 0;
	}
	for (uint32_t id = 1; id <= SIM_NODES_MAX; id++) {
		s->reps_mem[id] = reps[id] != NULL ? reps[id] : malloc(SIM_GROUPS_MAX * sizeof(struct sim_rep));
		if (s->reps_mem[id] == NULL)
			abort();
		for (uint32_t g = 0; g < SIM_GROUPS_MAX; g++) {
			struct sim_rep *rp = &s->reps_mem[id][g];
			memset(rp, 0, offsetof(struct sim_rep, disk));
			memset(&rp->disk, 0, offsetof(struct sim_gdisk, log));
			rp->mterm[0] = rp->mchain[0] = 0;
		}
	}
}

void sim_free(struct sim *s)
{
	for (uint32_t id = 1; id <= s->n; id++) {
		struct sim_node *nd = &s->nodes[id];
		if (nd->up)
			node_stop(s, id);
		for (uint32_t g = 0; nd->reps != NULL && g < s->groups; g++)
			disk_free(&nd->reps[g].disk);
		nd->reps = NULL;
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
	s->groups = mix->groups ? mix->groups : 1;
	s->trace = trace;
	rng_seed(&s->rng, seed);
	s->fig8 = rng_pct(&s->rng, mix->fig8_pct);
	if (s->fig8)
		s->groups = SIM_GROUPS_MAX;  /* more leaders to churn: more chances */
	s->fault_end_t = 1500000;
	s->liveness_bound_us = 3000000;  /* 10 maximum election timeouts */
	s->end_t = s->fault_end_t + s->liveness_bound_us + 1;
	if (s->fig8)
		sim_trace(s, "Figure 8 adversary: one entry per append, leaders crash after proposing or committing");
	for (uint32_t id = 1; id <= nodes; id++) {
		struct sim_node *nd = &s->nodes[id];
		nd->sim = s;
		nd->id = id;
		nd->reps = s->reps_mem[id];
		for (uint32_t g = 0; g < s->groups; g++) {
			nd->reps[g].node = id;
			nd->reps[g].g = g;
		}
		int64_t drift = mix->drift_pct == 0 ? 0 :
			(int64_t)rng_below(&s->rng, 2 * mix->drift_pct + 1) - mix->drift_pct;
		nd->tick_us = (uint32_t)(10000 + 100 * drift);
	}
	for (uint32_t id = 1; id <= nodes; id++)
		if (node_start(s, id) != 0)
			break;
	client_start(s);
	s->moves_voters = mix->initial_voters ? mix->initial_voters : nodes;
	if (mix->churn_every_ms)
		churn_init(s);
	if (mix->partition_every_ms || mix->crash_every_ms || mix->transfer_every_ms ||
	    mix->conf_every_ms || mix->moves_every_ms || mix->churn_every_ms)
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
		if (converged(s) && moves_idle(s) && churn_settled(s))
			break;
	}
	check_end(s);
	if (s->failure[0] == '\0')
		moves_check_end(s);
	churn_check_end(s);
	uint32_t n_ops = 0;
	for (uint32_t g = 0; g < s->groups; g++)
		n_ops += s->grp[g].n_ops;
	s->ops_total = n_ops;
	sim_free(s);
	return s->failure[0] != '\0';
}

static const struct sim_mix *mix_by_name(const char *name)
{
	for (uint32_t i = 0; i < sim_mixes_n; i++)
		if (strcmp(sim_mixes[i].name, name) == 0)
			return &sim_mixes[i];
	for (uint32_t i = 0; i < sim_extra_mixes_n; i++)
		if (strcmp(sim_extra_mixes[i].name, name) == 0)
			return &sim_extra_mixes[i];
	return NULL;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seed S] [--seeds N] [--mix NAME|all] [--nodes 3|5|0]"
		" [--trace] [--expect-bug] [--quiet] [--min-moves N]\nmixes:", argv0);
	for (uint32_t i = 0; i < sim_mixes_n; i++)
		fprintf(stderr, " %s", sim_mixes[i].name);
	fprintf(stderr, "; by name only:");
	for (uint32_t i = 0; i < sim_extra_mixes_n; i++)
		fprintf(stderr, " %s", sim_extra_mixes[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, seeds = 1;
	const char *mix_name = "all";
	uint32_t nodes = 0;
	bool trace = false, expect_bug = false, quiet = false;
	uint64_t min_moves = 0, moves_done = 0, moves_started = 0, moves_failed = 0;
	struct sim_churn churn = { 0 };
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
		} else if (strcmp(a, "--min-moves") == 0 && v != NULL) {
			min_moves = strtoull(v, NULL, 0);
			i++;
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
	uint64_t big = 0, max_msg = 0, log_full = 0;
	int rc = expect_bug ? 1 : 0;
	for (uint64_t k = 0; k < seeds; k++) {
		uint64_t sd = seed + k;
		const struct sim_mix *mix = strcmp(mix_name, "all") == 0
			? &sim_mixes[sd % sim_mixes_n] : mix_by_name(mix_name);
		uint32_t n = nodes != 0 ? nodes : ((sd / sim_mixes_n) % 2 ? 5 : 3);
		int failed = sim_run(&s, sd, mix, n, trace);
		events += s.events;
		msgs += s.msgs;
		ops += s.ops_total;
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
		moves_started += s.moves_started;
		moves_done += s.moves_done;
		moves_failed += s.moves_failed;
		churn.joins += s.churn.joins;
		churn.drains += s.churn.drains;
		churn.failures += s.churn.failures;
		churn.plans += s.churn.plans;
		churn.planned_moves += s.churn.planned_moves;
		wakes += s.wakes;
		big += s.big_msgs;
		log_full += s.log_full;
		if (s.max_msg > max_msg)
			max_msg = s.max_msg;
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
		printf("sim: seeds %llu..%llu mix %s: %llu events, %llu msgs, %llu ops (%llu puts acked, %llu reads), %llu elections, %llu crashes, %llu partitions, %llu transfers, %llu lin checks gave up, %llu snapshots taken, %llu installed, %llu conf changes, %llu detector wakes, %llu msgs over a frame (largest %llu B), %llu log-full retries, %.2f s\n",
		       (unsigned long long)seed, (unsigned long long)(seed + seeds - 1), mix_name,
		       (unsigned long long)events, (unsigned long long)msgs,
		       (unsigned long long)ops, (unsigned long long)acked,
		       (unsigned long long)reads, (unsigned long long)elections,
		       (unsigned long long)crashes, (unsigned long long)parts,
		       (unsigned long long)xfers, (unsigned long long)gaveup,
		       (unsigned long long)snaps, (unsigned long long)installs,
		       (unsigned long long)confs, (unsigned long long)wakes, (unsigned long long)big,
		       (unsigned long long)max_msg, (unsigned long long)log_full, secs);
	if (moves_started > 0 && (!quiet || rc != 0 || moves_done < min_moves))
		printf("sim: replica moves: %llu started, %llu done, %llu failed\n", (unsigned long long)moves_started,
		       (unsigned long long)moves_done, (unsigned long long)moves_failed);
	if (churn.plans > 0 && (!quiet || rc != 0))
		printf("sim: churn: %llu joins, %llu drains, %llu failures, %llu plans, %llu moves planned\n",
		       (unsigned long long)churn.joins, (unsigned long long)churn.drains,
		       (unsigned long long)churn.failures, (unsigned long long)churn.plans,
		       (unsigned long long)churn.planned_moves);
	if (rc == 0 && !expect_bug && moves_done < min_moves) {
		printf("FAIL: %llu replica moves done, fewer than --min-moves %llu\n", (unsigned long long)moves_done,
		       (unsigned long long)min_moves);
		rc = 1;
	}
	if (expect_bug && rc != 0)
		printf("bug NOT caught in %llu seeds\n", (unsigned long long)seeds);
	free(s.heap);
	free(s.grp);
	free(s.scratch);
	for (uint32_t id = 1; id <= SIM_NODES_MAX; id++)
		free(s.reps_mem[id]);
	return rc;
}
