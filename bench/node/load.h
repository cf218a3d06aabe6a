/* Closed-loop write load for aegis-bench-node: `outstanding` puts always in
 * flight through one asynchronous client (aegis/client.h), fixed-size keys
 * and values, latencies in a log-linear histogram (no allocation after
 * load_init: the measured window counts the client's own allocations). */
#ifndef AEGIS_BENCH_NODE_LOAD_H
#define AEGIS_BENCH_NODE_LOAD_H

#include <stdint.h>

#include "aegis/client.h"

/* Log-linear latency histogram in ns: 32 sub-buckets per power of two,
 * so a reported quantile is within ~3% of the true one. */
#define HIST_SUB_BITS 5
#define HIST_BUCKETS (64 << HIST_SUB_BITS)
struct hist {
	uint64_t n, max, sum;
	uint32_t b[HIST_BUCKETS];
};
void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* The q-quantile (0 < q <= 1) in ns, as the upper end of its bucket. */
uint64_t hist_quantile(const struct hist *h, double q);

struct load_params {
	uint32_t outstanding;
	uint32_t key_bytes, value_bytes;
	uint32_t keys;        /* key space: writes pick keys uniformly */
	uint8_t consistency;  /* AEG_CLIENT_QUORUM */
	double seconds;       /* measured */
	double warmup_s;      /* before the measured window (not counted) */
	int progress;         /* print one line per second */
};

struct load_result {
	uint64_t writes_ok, errors, timeouts;
	int first_error;      /* a status or negative errno */
	double seconds;       /* the measured window */
	struct hist lat;      /* OK writes in the window */
	uint64_t allocs;      /* client process allocations in the window */
	uint64_t client_cpu_ns;
	struct aeg_client_stats cs; /* client counters over the whole run */
};

/* Callbacks at the window's edges, e.g. to read nodes' CPU time. */
typedef void (*load_mark_fn)(void *arg, int end);

/* Runs warmup then the window; 0 or a negative errno (client failure). */
int load_run(struct aeg_client *c, const struct load_params *p, load_mark_fn mark, void *arg,
	     struct load_result *out);

#endif
