/* What aegis-bench prints: the progress line of each second (stderr), the
 * human summary, ONE JSON line with everything, the per-second CSV and the
 * gnuplot PNG of throughput and latency over time. */
#ifndef AEGIS_BENCH_REPORT_H
#define AEGIS_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "verify.h"
#include "workload.h"

/* One second of the run (operations that completed in it). */
struct sec_row {
	uint32_t t_s;     /* the second's end, since the start */
	char phase;       /* 'w' warm-up, 'r' measured window, 'd' drain */
	uint64_t done, errors, timeouts, late, started;
	uint64_t p50, p90, p99, p999, max; /* ns, answered operations */
};

struct report {
	const struct wl_params *p;   /* NULL: --verify of a file only */
	const char *const *nodes;
	uint32_t n_nodes;
	double window_s;             /* the measured window */
	struct wl_totals tot;        /* summed over the threads */
	int64_t allocs;              /* heap allocations in the window; -1 not counted */
	const struct sec_row *rows;
	uint32_t n_rows;
	const char *record_path, *verify_path;
	const struct verify_result *verify; /* NULL: no verify */
	const char *fatal;           /* why the run failed, or NULL */
	int exit_code;
};

void report_row(struct sec_row *row, uint32_t t_s, char phase, const struct wl_sec *s);
void report_progress(FILE *f, const struct sec_row *row, bool open_loop);
void report_setup(FILE *f, const struct report *r);
void report_summary(FILE *f, const struct report *r);
void report_verify(FILE *f, const struct verify_result *v, const char *path);
void report_json(FILE *f, const struct report *r);
/* 0 or -errno. */
int report_csv(const char *path, const struct sec_row *rows, uint32_t n);
/* 0 drawn, 1 skipped (no gnuplot: said so on stderr), -errno failed. */
int report_plot(const char *png, const struct sec_row *rows, uint32_t n, const char *title);

#endif
