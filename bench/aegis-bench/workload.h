/* The load of aegis-bench: one thread per aeg_client, each with its own
 * preallocated operation slots, keys and value buffers, histograms and
 * counters (nothing shared on the hot path but a relaxed version table for
 * CAS). Closed loop: every free slot is refilled at once. Open loop: the
 * thread's share of --rate, each operation due at an intended time from
 * which its latency is measured, so a slow cluster shows as latency and as
 * late or never-sent operations instead of as a lower offered rate.
 *
 * Per second, each thread fills one slot of a small ring (histogram and
 * counters of the operations that COMPLETED in that second) and publishes
 * it with a release store; the main thread merges the slots of a second
 * once every thread has published it (wl_collect_second), then frees them.
 *
 * Measured window: operations STARTED (intended, in the open loop) after
 * the warm-up and before the end of --duration (or the first --ops of
 * them); they are waited for after the window and counted even if they
 * complete late. Every acknowledged write (any phase) goes to --record. */
#ifndef AEGIS_BENCH_WORKLOAD_H
#define AEGIS_BENCH_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "aegis/client.h"
#include "hist.h"
#include "zipf.h"

enum wl_kind { WL_READ, WL_WRITE, WL_CAS, WL_KINDS };
/* Status index: a node's answer (enum aeg_client_status) or a local error. */
#define WL_ST_LOCAL AEG_CLIENT_STATUS_NR
#define WL_STATUSES (AEG_CLIENT_STATUS_NR + 1)
/* Behind schedule by more than this at submit: "late" (open loop). */
#define WL_LATE_NS 1000000ull
#define WL_SEC_RING 8

struct wl_params {
	uint32_t threads;
	uint32_t outstanding;      /* per thread: closed loop in flight; open loop cap */
	double rate;               /* total ops/s; 0: closed loop */
	uint64_t keys;
	bool zipf;
	struct zipf zipf_gen;      /* when zipf */
	uint32_t key_bytes, value_bytes;
	double reads_pct, cas_pct; /* the rest writes */
	uint8_t write_cl, read_cl; /* enum aeg_client_consistency */
	double duration_s;         /* 0 with ops: no time limit */
	double warmup_s;
	uint64_t ops;              /* measured operations in total; 0: duration */
	uint64_t seed;             /* key and op choice */
	uint64_t nonce;            /* run-unique bits of the write tags */
	int record_fd;             /* -1: no --record */
	int history_fd;            /* -1: no --history (aegis-lincheck's input) */
	uint32_t drain_ms;         /* wait for in-flight ops after the window */
};

/* One second's slot of a thread. */
struct wl_sec {
	struct hist lat;            /* answered operations */
	uint64_t done, errors, timeouts, started, started_measured, late;
};

/* What the report needs from one thread (summed over threads). */
struct wl_totals {
	uint64_t started, done, good, late, not_sent, unfinished;
	uint64_t by_status[WL_KINDS][WL_STATUSES];
	uint64_t acked_writes, read_foreign;
	uint64_t window_end_ns;    /* when this thread's window closed */
	uint64_t cpu_ns;           /* this thread's CPU time in its window */
	int first_local_error;     /* negative errno of the first local failure */
	struct hist lat, lat_kind[WL_KINDS], lag;
	struct aeg_client_stats cs;
};

struct wl_slot;
struct wl_run;

struct wl_thread {
	struct wl_run *run;
	uint32_t index;
	pthread_t tid;
	struct aeg_client *client;
	struct wl_slot *slots;
	uint32_t *free_stack, n_free;
	uint8_t *mem;              /* keys and value buffers of all slots */
	uint32_t buf_cap;
	uint64_t rng, write_count;
	uint64_t quota, measured_started; /* --ops share */
	bool in_window, stopping, closing;
	uint64_t cpu0_ns;
	int fatal;                 /* negative errno: a client failure */
	char *rec_buf;             /* --record lines waiting for write() */
	uint32_t rec_len, rec_cap;
	char *his_buf;             /* --history lines waiting for write() */
	uint32_t his_len, his_cap;
	struct wl_totals tot;
	/* the ring of seconds */
	uint64_t cur_sec;
	struct wl_sec ring[WL_SEC_RING];
	_Atomic uint64_t published; /* seconds [0, published) are final */
	_Atomic uint64_t consumed;  /* main has merged seconds [0, consumed) */
	_Atomic bool finished;
};

struct wl_run {
	const struct wl_params *p;
	uint64_t t0_ns, warm_end_ns, window_end_ns; /* window_end: UINT64_MAX with --ops only */
	_Atomic uint64_t *versions; /* CAS: last version seen per key (hashed), or NULL */
	uint64_t versions_mask;
	atomic_bool *stop;          /* set by a signal: end the window now */
	struct wl_thread *threads;
};

/* Allocates everything of thread i (slots, buffers, ring); the client is
 * the caller's, opened with outstanding_max >= p->outstanding. 0 or -ENOMEM. */
int wl_thread_init(struct wl_thread *t, struct wl_run *run, uint32_t index, struct aeg_client *c);
void wl_thread_free(struct wl_thread *t);
/* pthread entry: runs the loop, drains, flushes the record, closes the client. */
void *wl_thread_main(void *arg);

/* Merges second s of every thread into *out once all have published it (or
 * finished): true then (and the slots are released); false if not yet, or
 * never (every thread finished before s). */
bool wl_collect_second(struct wl_run *run, uint64_t s, struct wl_sec *out);
/* True when every thread has finished and published everything. */
bool wl_all_finished(struct wl_run *run);

#endif
