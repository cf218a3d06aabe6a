/* aegis-bench-crdt: merge throughput of the CRDT types, full-state merges
 * against delta merges, at a few sizes.
 *
 * Each case is one row of `cases[]`: a setup function that builds a
 * destination and a batch of BATCH source states (or deltas) the way a
 * replica would receive them, a merge function that merges source i into
 * the destination, a reset that puts the destination back (untimed), and a
 * teardown. A measurement times whole batches (BATCH merges in order) until
 * the time budget of the case is spent; only merge calls are inside the
 * timed region. New types (sets, maps) are added as more rows. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/crdt_counter.h"
#include "aegis/crdt_register.h"
#include "common.h"

#define BATCH 1024
#define VALUE_BYTES 16

/* ---- generic state: a destination and BATCH sources of one type ---------- */

struct bench_type {
	size_t size;
	void (*fini)(void *obj);
	void (*clear)(void *obj);
	int (*merge)(void *dst, const void *src);
	size_t (*encoded_size)(const void *obj);
};

/* Defines `static const struct bench_type var` for type aeg_<prefix>. */
#define BENCH_TYPE(var, prefix)                                                            \
	static void var##_fini(void *o) { aeg_##prefix##_fini(o); }                        \
	static void var##_clear(void *o) { aeg_##prefix##_clear(o); }                      \
	static int var##_merge(void *d, const void *s) { return aeg_##prefix##_merge(d, s); } \
	static size_t var##_size(const void *o) { return aeg_##prefix##_encoded_size(o); } \
	static const struct bench_type var = { sizeof(struct aeg_##prefix), var##_fini,    \
					       var##_clear, var##_merge, var##_size }

struct bench_state {
	const struct bench_type *t;
	uint8_t *dst;
	uint8_t *base; /* what reset copies into dst */
	uint8_t *src;  /* BATCH objects of t->size bytes */
};

static void *obj_at(uint8_t *array, const struct bench_type *t, uint32_t i)
{
	return array + (size_t)i * t->size;
}

static struct bench_state *state_new(const struct bench_type *t)
{
	struct bench_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->t = t;
	s->dst = calloc(1, t->size);
	s->base = calloc(1, t->size);
	s->src = calloc(BATCH, t->size);
	if (s->dst == NULL || s->base == NULL || s->src == NULL) {
		free(s->dst);
		free(s->base);
		free(s->src);
		free(s);
		return NULL;
	}
	return s;
}

/* Frees objects that init created; all of them were initialised. */
static void state_free(void *state)
{
	struct bench_state *s = state;
	s->t->fini(s->dst);
	s->t->fini(s->base);
	for (uint32_t i = 0; i < BATCH; i++)
		s->t->fini(obj_at(s->src, s->t, i));
	free(s->dst);
	free(s->base);
	free(s->src);
	free(s);
}

static int state_merge(void *state, uint32_t i)
{
	struct bench_state *s = state;
	return s->t->merge(s->dst, obj_at(s->src, s->t, i));
}

static int state_reset(void *state)
{
	struct bench_state *s = state;
	s->t->clear(s->dst);
	return s->t->merge(s->dst, s->base);
}

static size_t state_bytes(void *state)
{
	struct bench_state *s = state;
	return s->t->encoded_size(s->dst);
}

/* ---- counters ------------------------------------------------------------ */

BENCH_TYPE(gcounter_type, gcounter);

BENCH_TYPE(pncounter_type, pncounter);

static uint32_t replica_id(uint32_t i)
{
	return 1000 + 7 * i; /* sparse ids, as real node ids are */
}

/* One counter step at replica r: G increments; PN alternates. */
static int counter_step(bool pn, void *obj, uint32_t r, uint64_t n, void *delta)
{
	if (!pn)
		return aeg_gcounter_increment(obj, replica_id(r), n, delta);
	if (n % 2 == 0)
		return aeg_pncounter_decrement(obj, replica_id(r), n, delta);
	return aeg_pncounter_increment(obj, replica_id(r), n, delta);
}

static int counter_init(bool pn, void *obj, uint32_t replicas)
{
	return pn ? aeg_pncounter_init(obj, replicas) : aeg_gcounter_init(obj, replicas);
}

/* Full: source k has every replica at count ~k, so each merge raises every
 * entry of dst. Delta: source k is the delta of one increment at a random
 * replica of a driver counter; dst starts with all replicas present. */
static void *counter_setup(bool pn, uint32_t replicas, bool delta)
{
	const struct bench_type *t = pn ? &pncounter_type : &gcounter_type;
	struct bench_state *s = state_new(t);
	if (s == NULL)
		return NULL;
	union {
		struct aeg_gcounter g;
		struct aeg_pncounter p;
	} driver;
	int rc = counter_init(pn, s->dst, replicas);
	rc = rc < 0 ? rc : counter_init(pn, s->base, replicas);
	rc = rc < 0 ? rc : counter_init(pn, &driver, replicas);
	for (uint32_t r = 0; r < replicas && rc == 0; r++)
		rc = counter_step(pn, s->base, r, 1, NULL);
	rc = rc < 0 ? rc : t->merge(&driver, s->base);
	uint64_t x = 12345;
	for (uint32_t k = 0; k < BATCH && rc == 0; k++) {
		void *src = obj_at(s->src, t, k);
		rc = counter_init(pn, src, delta ? 1 : replicas);
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		if (rc == 0 && delta)
			rc = counter_step(pn, &driver, (uint32_t)(x >> 33) % replicas, 1 + (x >> 60), src);
		for (uint32_t r = 0; r < replicas && rc == 0 && !delta; r++)
			rc = counter_step(pn, src, r, 2 + k + (x >> 62), NULL);
	}
	t->fini(&driver);
	if (rc < 0) {
		fprintf(stderr, "counter setup: %s\n", strerror(-rc));
		exit(1);
	}
	return s;
}

static void *gc_full(uint32_t n) { return counter_setup(false, n, false); }
static void *gc_delta(uint32_t n) { return counter_setup(false, n, true); }
static void *pn_full(uint32_t n) { return counter_setup(true, n, false); }
static void *pn_delta(uint32_t n) { return counter_setup(true, n, true); }

/* ---- registers ----------------------------------------------------------- */

BENCH_TYPE(lwwreg_type, lwwreg);

BENCH_TYPE(mvreg_type, mvreg);

static void setup_failed(const char *what, int rc)
{
	fprintf(stderr, "%s setup: %s\n", what, strerror(-rc));
	exit(1);
}

/* Source k is a write with a newer timestamp than source k-1, so every
 * merge replaces dst's value. A delta of an LWW write is the whole state,
 * so there is no separate delta case. */
static void *lww_full(uint32_t value_bytes)
{
	struct bench_state *s = state_new(&lwwreg_type);
	if (s == NULL)
		return NULL;
	uint8_t value[4096];
	if (value_bytes > sizeof(value))
		setup_failed("lwwreg", -EINVAL);
	memset(value, 'v', sizeof(value));
	int rc = aeg_lwwreg_init((void *)s->dst, value_bytes);
	rc = rc < 0 ? rc : aeg_lwwreg_init((void *)s->base, value_bytes);
	for (uint32_t k = 0; k < BATCH && rc == 0; k++) {
		struct aeg_hlc_ts ts = { 1000 + k, 0, k % 3 };
		value[0] = (uint8_t)k;
		rc = aeg_lwwreg_init(obj_at(s->src, s->t, k), value_bytes);
		if (rc == 0)
			rc = aeg_lwwreg_set(obj_at(s->src, s->t, k), value, value_bytes, &ts, NULL);
		rc = rc < 0 ? rc : 0;
	}
	if (rc < 0)
		setup_failed("lwwreg", rc);
	return s;
}

/* Rounds of `versions` concurrent writers: in round k each writer has seen
 * all of round k-1 and writes once, so round k's versions replace round
 * k-1's. Full: source k is the whole round (versions concurrent values).
 * Delta: the sources are the writes' deltas, one version each, in order. */
static void *mv_setup(uint32_t versions, bool delta)
{
	struct bench_state *s = state_new(&mvreg_type);
	struct aeg_mvreg writers[8], round;
	if (s == NULL || versions > 8)
		return NULL;
	uint8_t value[VALUE_BYTES];
	memset(value, 'v', sizeof(value));
	int rc = aeg_mvreg_init((void *)s->dst, versions, VALUE_BYTES);
	rc = rc < 0 ? rc : aeg_mvreg_init((void *)s->base, versions, VALUE_BYTES);
	rc = rc < 0 ? rc : aeg_mvreg_init(&round, versions, VALUE_BYTES);
	for (uint32_t j = 0; j < versions && rc == 0; j++)
		rc = aeg_mvreg_init(&writers[j], versions, VALUE_BYTES);
	for (uint32_t k = 0; k < BATCH && rc == 0; k++)
		rc = aeg_mvreg_init(obj_at(s->src, s->t, k), delta ? 1 : versions, VALUE_BYTES);
	uint32_t rounds = delta ? BATCH / versions : BATCH;
	for (uint32_t k = 0; k < rounds && rc == 0; k++) {
		for (uint32_t j = 0; j < versions && rc == 0; j++) {
			value[0] = (uint8_t)j;
			aeg_mvreg_clear(&writers[j]);
			rc = aeg_mvreg_merge(&writers[j], &round);
			void *d = delta ? obj_at(s->src, s->t, k * versions + j) : NULL;
			rc = rc < 0 ? rc : aeg_mvreg_write(&writers[j], 1 + j, value, sizeof(value), d);
		}
		aeg_mvreg_clear(&round);
		for (uint32_t j = 0; j < versions && rc == 0; j++)
			rc = aeg_mvreg_merge(&round, &writers[j]);
		if (rc == 0 && !delta)
			rc = aeg_mvreg_merge(obj_at(s->src, s->t, k), &round);
	}
	for (uint32_t j = 0; j < versions; j++)
		aeg_mvreg_fini(&writers[j]);
	aeg_mvreg_fini(&round);
	if (rc < 0)
		setup_failed("mvreg", rc);
	return s;
}

static void *mv_full(uint32_t n) { return mv_setup(n, false); }
static void *mv_delta(uint32_t n) { return mv_setup(n, true); }

/* ---- the case table ------------------------------------------------------ */

struct bench_case {
	const char *name;       /* type/kind/size, unique */
	const char *type;
	const char *kind;       /* "full" or "delta" */
	const char *size_name;  /* what `size` counts */
	uint32_t size;
	void *(*setup)(uint32_t size);
	int (*merge)(void *state, uint32_t i); /* merges source i into dst */
	int (*reset)(void *state);             /* untimed, before each batch */
	size_t (*state_bytes)(void *state);    /* encoded size of dst */
	void (*teardown)(void *state);
};

#define CASE(name, type, kind, size_name, size, setup)                                        \
	{ name, type, kind, size_name, size, setup, state_merge, state_reset, state_bytes,    \
	  state_free }

static const struct bench_case cases[] = {
	CASE("gcounter/full/3", "gcounter", "full", "replicas", 3, gc_full),
	CASE("gcounter/full/16", "gcounter", "full", "replicas", 16, gc_full),
	CASE("gcounter/full/64", "gcounter", "full", "replicas", 64, gc_full),
	CASE("gcounter/delta/3", "gcounter", "delta", "replicas", 3, gc_delta),
	CASE("gcounter/delta/16", "gcounter", "delta", "replicas", 16, gc_delta),
	CASE("gcounter/delta/64", "gcounter", "delta", "replicas", 64, gc_delta),
	CASE("pncounter/full/3", "pncounter", "full", "replicas", 3, pn_full),
	CASE("pncounter/full/16", "pncounter", "full", "replicas", 16, pn_full),
	CASE("pncounter/full/64", "pncounter", "full", "replicas", 64, pn_full),
	CASE("pncounter/delta/16", "pncounter", "delta", "replicas", 16, pn_delta),
	CASE("pncounter/delta/64", "pncounter", "delta", "replicas", 64, pn_delta),
	CASE("lwwreg/full/16", "lwwreg", "full", "value_bytes", 16, lww_full),
	CASE("lwwreg/full/1024", "lwwreg", "full", "value_bytes", 1024, lww_full),
	CASE("mvreg/full/1", "mvreg", "full", "versions", 1, mv_full),
	CASE("mvreg/full/4", "mvreg", "full", "versions", 4, mv_full),
	CASE("mvreg/delta/1", "mvreg", "delta", "versions", 1, mv_delta),
	CASE("mvreg/delta/4", "mvreg", "delta", "versions", 4, mv_delta),
};

#define CASES (sizeof(cases) / sizeof(cases[0]))

struct result {
	uint64_t merges;
	uint64_t ns;     /* wall time inside the timed region */
	uint64_t cpu_ns; /* this thread's CPU time there: steadier on a shared machine */
	size_t state_bytes;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run_case(const struct bench_case *c, double seconds, struct result *out)
{
	void *state = c->setup(c->size);
	if (state == NULL)
		return -ENOMEM;
	uint64_t budget_ns = (uint64_t)(seconds * 1e9);
	int rc = 0;
	*out = (struct result){ 0 };
	while (rc == 0 && out->ns < budget_ns) {
		rc = c->reset(state);
		uint64_t t0 = bench_now_ns(), c0 = thread_cpu_ns();
		for (uint32_t i = 0; i < BATCH && rc == 0; i++)
			rc = c->merge(state, i);
		out->cpu_ns += thread_cpu_ns() - c0;
		out->ns += bench_now_ns() - t0;
		out->merges += BATCH;
	}
	out->state_bytes = c->state_bytes(state);
	c->teardown(state);
	return rc;
}

static void print_json(const struct bench_case *c, const struct result *r)
{
	double ns_per = (double)r->ns / (double)r->merges;
	struct bench_json j;
	bench_json_begin(&j, "aegis-bench-crdt");
	bench_json_str(&j, "case", c->name);
	bench_json_str(&j, "type", c->type);
	bench_json_str(&j, "kind", c->kind);
	bench_json_u64(&j, c->size_name, c->size);
	bench_json_u64(&j, "merges", r->merges);
	bench_json_f64(&j, "merges_per_s", 1e9 / ns_per);
	bench_json_f64(&j, "ns_per_merge", ns_per);
	bench_json_f64(&j, "cpu_ns_per_merge", (double)r->cpu_ns / (double)r->merges);
	bench_json_u64(&j, "state_bytes", r->state_bytes);
	bench_json_end(&j);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegis-bench-crdt [--seconds S] [--filter SUBSTRING] [--list] [--help]\n"
		"  Merge throughput of the CRDT types: full-state and delta merges.\n"
		"  --seconds S   timed seconds per case (default 0.5; %zu cases)\n"
		"  --filter STR  run only cases whose name contains STR\n"
		"  --list        print the case names and exit\n"
		"Each case merges batches of %d prepared sources (states or deltas) into one\n"
		"destination; the destination is reset untimed between batches. merges/s and\n"
		"ns/merge are wall time; cpu_ns/mrg is this thread's CPU time (less affected\n"
		"by other load on the machine).\n",
		CASES, BATCH);
}

int main(int argc, char **argv)
{
	double seconds = 0.5;
	const char *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--list") == 0) {
			for (size_t k = 0; k < CASES; k++)
				printf("%s\n", cases[k].name);
			return 0;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
			filter = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!(seconds > 0 && seconds <= 600)) {
		fprintf(stderr, "aegis-bench-crdt: --seconds must be in (0, 600]\n");
		return 2;
	}
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "single thread; %.2f s per case; batches of %d merges; values %d bytes (mvreg)",
		 seconds, BATCH, VALUE_BYTES);
	bench_print_setup("aegis-bench-crdt", extra);
	printf("%-20s %-6s %6s %12s %10s %10s %12s\n", "case", "kind", "size", "merges/s",
	       "ns/merge", "cpu_ns/mrg", "state_bytes");
	int failed = 0;
	struct result results[CASES];
	bool ran[CASES];
	for (size_t k = 0; k < CASES; k++) {
		const struct bench_case *c = &cases[k];
		struct result *r = &results[k];
		ran[k] = filter == NULL || strstr(c->name, filter) != NULL;
		if (!ran[k])
			continue;
		int rc = run_case(c, seconds, r);
		if (rc < 0) {
			fprintf(stderr, "%s: merge failed: %s\n", c->name, strerror(-rc));
			ran[k] = false;
			failed = 1;
			continue;
		}
		double ns_per = (double)r->ns / (double)r->merges;
		printf("%-20s %-6s %6u %12.0f %10.1f %10.1f %12zu\n", c->name, c->kind, c->size,
		       1e9 / ns_per, ns_per, (double)r->cpu_ns / (double)r->merges,
		       r->state_bytes);
		fflush(stdout);
	}
	for (size_t k = 0; k < CASES; k++) {
		if (ran[k])
			print_json(&cases[k], &results[k]);
	}
	return failed;
}
