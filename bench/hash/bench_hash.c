/* aegis-bench-hash: lookup cost of the ring, jump and rendezvous hashing,
 * and how evenly each spreads keys over 10 nodes.
 *
 * Keys are random 16-byte strings generated before timing; every timed
 * lookup includes hashing its key with aeg_hash_key (XXH3-64), and an
 * "xxh3 only" row gives that share. A figure is the best of up to 5 passes
 * over all keys (fewer when the passes take over half a second), in wall
 * time and in this thread's CPU time; the weighted
 * rendezvous rows use the first 200000 keys only. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/hash.h"
#include "common.h"

#define BENCH_NAME "aegis-bench-hash"
#define KEY_BYTES 16
#define KEYS_DEFAULT 1000000u
#define PASSES_MAX 5
#define BALANCE_NODES 10u
#define WEIGHTED_KEYS_MAX 200000u

struct key {
	uint8_t bytes[KEY_BYTES];
};

/* What one timed pass runs over; exactly one scheme is set. */
struct scheme {
	const char *name;
	const struct aeg_ring *ring;
	const struct aeg_hrw *hrw;
	int32_t buckets; /* jump, or 0 */
	uint32_t nodes;
	uint32_t n; /* replicas per lookup */
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void die_rc(const char *what, int rc)
{
	fprintf(stderr, "%s: %s failed: %s\n", BENCH_NAME, what, strerror(-rc));
	exit(1);
}

/* One lookup of key k; returns the primary (bucket or node id). */
static uint32_t lookup(const struct scheme *s, const struct key *k, uint32_t *out)
{
	uint64_t h = aeg_hash_key(k->bytes, KEY_BYTES, 0);
	int rc = 0;
	if (s->ring != NULL)
		rc = aeg_ring_get_nodes(s->ring, h, out, s->n);
	else if (s->hrw != NULL)
		rc = aeg_hrw_get_nodes(s->hrw, h, out, s->n);
	else if (s->buckets > 0)
		out[0] = (uint32_t)aeg_jump_hash(h, s->buckets);
	else
		out[0] = (uint32_t)h; /* xxh3 only */
	if (rc != 0)
		die_rc(s->name, rc);
	return out[0];
}

/* CPU time of this thread: on a shared 2-core machine a pass is often
 * descheduled, which wall time counts and CPU time does not. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct timing {
	double wall_ns; /* per lookup, best pass */
	double cpu_ns; /* per lookup, best pass */
};

static struct timing time_lookups(const struct scheme *s, const struct key *keys,
				  size_t keys_len)
{
	struct timing best = { INFINITY, INFINITY };
	uint64_t spent_ns = 0;
	for (int pass = 0; pass < PASSES_MAX && spent_ns < 500000000ull; pass++) {
		uint32_t out[AEG_HRW_N_MAX];
		uint64_t sum = 0, start = bench_now_ns(), cpu_start = thread_cpu_ns();
		for (size_t i = 0; i < keys_len; i++)
			sum += lookup(s, &keys[i], out);
		uint64_t cpu = thread_cpu_ns() - cpu_start, wall = bench_now_ns() - start;
		bench_consume_u64(sum);
		spent_ns += wall;
		best.wall_ns = fmin(best.wall_ns, (double)wall / keys_len);
		best.cpu_ns = fmin(best.cpu_ns, (double)cpu / keys_len);
	}
	return best;
}

static void report_speed(const struct scheme *s, const struct key *keys, size_t keys_len)
{
	struct timing t = time_lookups(s, keys, keys_len);
	printf("%-22s %6u %3u %12.1f %12.1f %12.2f\n", s->name, s->nodes, s->n, t.wall_ns,
	       t.cpu_ns, 1e3 / t.wall_ns);
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "metric", "lookup");
	bench_json_str(&j, "scheme", s->name);
	bench_json_u64(&j, "nodes", s->nodes);
	bench_json_u64(&j, "n", s->n);
	bench_json_u64(&j, "keys", keys_len);
	bench_json_u64(&j, "key_bytes", KEY_BYTES);
	bench_json_str(&j, "key_hash", "xxh3-64 included");
	bench_json_f64(&j, "ns_per_lookup", t.wall_ns);
	bench_json_f64(&j, "cpu_ns_per_lookup", t.cpu_ns);
	bench_json_end(&j);
}

static void report_balance(const struct scheme *s, const struct key *keys, size_t keys_len)
{
	uint32_t counts[BALANCE_NODES + 1] = { 0 };
	uint32_t out[AEG_HRW_N_MAX];
	for (size_t i = 0; i < keys_len; i++) {
		uint32_t id = lookup(s, &keys[i], out);
		/* Node ids are 1..10; jump buckets are 0..9. */
		counts[s->buckets > 0 ? id : id - 1]++;
	}
	double mean = (double)keys_len / BALANCE_NODES, max = 0, sq = 0;
	for (uint32_t i = 0; i < BALANCE_NODES; i++) {
		max = counts[i] > max ? counts[i] : max;
		sq += (counts[i] - mean) * (counts[i] - mean);
	}
	double std = sqrt(sq / BALANCE_NODES);
	printf("%-22s %6u %12.4f %12.4f\n", s->name, BALANCE_NODES, max / mean, std / mean);
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "metric", "balance");
	bench_json_str(&j, "scheme", s->name);
	bench_json_u64(&j, "nodes", BALANCE_NODES);
	bench_json_u64(&j, "keys", keys_len);
	bench_json_f64(&j, "max_over_mean", max / mean);
	bench_json_f64(&j, "stddev_over_mean", std / mean);
	bench_json_end(&j);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--keys N] [--help]\n"
		   "  --keys N  random %d-byte keys per pass and for the balance table"
		   " (default %u)\n", BENCH_NAME, KEY_BYTES, KEYS_DEFAULT);
}

static size_t parse_args(int argc, char **argv)
{
	size_t keys = KEYS_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || v < 1000 || v > 100000000ull) {
				fprintf(stderr, "%s: --keys wants 1000..100000000\n", BENCH_NAME);
				exit(2);
			}
			keys = (size_t)v;
			continue;
		}
		fprintf(stderr, "%s: unknown option '%s'\n", BENCH_NAME, argv[i]);
		usage(stderr);
		exit(2);
	}
	return keys;
}

/* Nodes 1..nodes; every other node weighs 2.0 when weighted. */
static void build(struct aeg_ring *ring, struct aeg_hrw *hrw, struct aeg_hrw *hrw_w,
		  uint32_t nodes)
{
	int rc = aeg_ring_init(ring, nodes, nodes * AEG_RING_VNODES_DEFAULT, 0);
	if (rc == 0)
		rc = aeg_hrw_init(hrw, nodes);
	if (rc == 0)
		rc = aeg_hrw_init(hrw_w, nodes);
	for (uint32_t id = 1; rc == 0 && id <= nodes; id++) {
		rc = aeg_ring_add(ring, id, AEG_HASH_WEIGHT_ONE);
		if (rc == 0)
			rc = aeg_hrw_add(hrw, id, AEG_HASH_WEIGHT_ONE);
		if (rc == 0)
			rc = aeg_hrw_add(hrw_w, id, AEG_HASH_WEIGHT_ONE * (1 + id % 2));
	}
	if (rc != 0)
		die_rc("building the schemes", rc);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 3, 10, 100 };
	size_t keys_len = parse_args(argc, argv);
	/* Weighted scores cost a log per node: fewer keys keep the run short. */
	size_t weighted_len = keys_len < WEIGHTED_KEYS_MAX ? keys_len : WEIGHTED_KEYS_MAX;
	struct key *keys = malloc(keys_len * sizeof(*keys));
	if (keys == NULL) {
		fprintf(stderr, "%s: out of memory for %zu keys\n", BENCH_NAME, keys_len);
		return 1;
	}
	uint64_t rng = 0xbe4c4a5e;
	for (size_t i = 0; i < keys_len; i++) {
		uint64_t a = splitmix64(&rng), b = splitmix64(&rng);
		memcpy(keys[i].bytes, &a, 8);
		memcpy(keys[i].bytes + 8, &b, 8);
	}

	char extra[320];
	snprintf(extra, sizeof(extra),
		 "keys: %zu x %d B random (xxh3-64 of the key in every lookup); ring: %u vnodes"
		 " per node; nodes: 3, 10, 100; rendezvous-weighted: weights 1.0/2.0"
		 " alternating, %zu keys",
		 keys_len, KEY_BYTES, AEG_RING_VNODES_DEFAULT, weighted_len);
	bench_print_setup(BENCH_NAME, extra);

	printf("\n%-22s %6s %3s %12s %12s %12s\n", "scheme", "nodes", "n", "ns/lookup",
	       "cpu ns", "Mlookups/s");
	struct scheme xxh3 = { .name = "xxh3-only", .n = 1 };
	report_speed(&xxh3, keys, keys_len);
	struct aeg_ring rings[3];
	struct aeg_hrw hrws[3], hrws_w[3];
	for (size_t i = 0; i < 3; i++) {
		uint32_t nodes = sizes[i];
		build(&rings[i], &hrws[i], &hrws_w[i], nodes);
		for (uint32_t n = 1; n <= 3; n += 2) {
			struct scheme ring = { "ring", &rings[i], NULL, 0, nodes, n };
			struct scheme hrw = { "rendezvous", NULL, &hrws[i], 0, nodes, n };
			struct scheme hrw_w = { "rendezvous-weighted", NULL, &hrws_w[i], 0, nodes, n };
			report_speed(&ring, keys, keys_len);
			report_speed(&hrw, keys, keys_len);
			report_speed(&hrw_w, keys, weighted_len);
		}
		struct scheme jump = { "jump", NULL, NULL, (int32_t)nodes, nodes, 1 };
		report_speed(&jump, keys, keys_len);
	}

	printf("\nbalance over %zu keys (primary only)\n%-22s %6s %12s %12s\n", keys_len,
	       "scheme", "nodes", "max/mean", "stddev/mean");
	struct scheme balance[] = {
		{ "ring", &rings[1], NULL, 0, BALANCE_NODES, 1 },
		{ "jump", NULL, NULL, BALANCE_NODES, BALANCE_NODES, 1 },
		{ "rendezvous", NULL, &hrws[1], 0, BALANCE_NODES, 1 },
	};
	for (size_t i = 0; i < sizeof(balance) / sizeof(balance[0]); i++)
		report_balance(&balance[i], keys, keys_len);

	for (size_t i = 0; i < 3; i++) {
		aeg_ring_fini(&rings[i]);
		aeg_hrw_fini(&hrws[i]);
		aeg_hrw_fini(&hrws_w[i]);
	}
	free(keys);
	return 0;
}
