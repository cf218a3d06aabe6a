/* aegis-bench: a load generator against a running Aegis cluster, through
 * the public client API only (aegis/client.h). Parses the options (opts.c),
 * opens one client per thread, runs the threads (workload.c) while this
 * thread merges and prints each second, then reports (report.c) and, with
 * --verify, reads every acknowledged write back (verify.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "common.h"
#include "keyval.h"
#include "opts.h"
#include "record.h"
#include "report.h"
#include "verify.h"
#include "workload.h"

static atomic_bool stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, true);
}

static int open_client(const struct opts *o, uint32_t outstanding, struct aeg_client **out)
{
	struct aeg_client_cfg cfg = {
		.nodes = o->nodes, .node_count = o->n_nodes, .key = o->key, .timeout_ms = o->timeout_ms,
		.retries = o->retries, .outstanding_max = outstanding, .writes_per_shard_max = o->writes_per_shard,
		.dgram_bytes = o->dgram_bytes, .session_results_max = o->session_window,
		.value_bytes_max = o->p.value_bytes > (1u << 20) ? o->p.value_bytes : 1u << 20,
	};
	int rc = aeg_client_open(out, &cfg);
	if (rc != 0)
		fprintf(stderr, "aegis-bench: cannot reach the cluster (no shard map from --nodes): %s\n",
			strerror(-rc));
	return rc;
}

/* --verify: read back every key of the record at `path`. 0 passed, 1 not. */
static int verify_file(const struct opts *o, const char *path, struct verify_result *vr)
{
	struct record rec;
	char err[512];
	if (record_load(path, &rec, err, sizeof(err)) != 0) {
		fprintf(stderr, "aegis-bench: verify: %s\n", err);
		return 1;
	}
	struct aeg_client *c;
	int rc = open_client(o, 512, &c);
	if (rc == 0) {
		rc = verify_run(c, &rec, 512, o->verify_show, vr);
		aeg_client_close(c);
		if (rc < 0)
			fprintf(stderr, "aegis-bench: verify: client failure: %s\n", strerror(-rc));
		else
			report_verify(stdout, vr, path);
	}
	record_free(&rec);
	return rc == 0 ? 0 : 1;
}

static void sum_totals(struct wl_totals *s, const struct wl_totals *t)
{
	s->started += t->started;
	s->done += t->done;
	s->good += t->good;
	s->late += t->late;
	s->not_sent += t->not_sent;
	s->unfinished += t->unfinished;
	s->acked_writes += t->acked_writes;
	s->read_foreign += t->read_foreign;
	s->cpu_ns += t->cpu_ns;
	if (t->window_end_ns > s->window_end_ns)
		s->window_end_ns = t->window_end_ns;
	if (s->first_local_error == 0)
		s->first_local_error = t->first_local_error;
	for (int k = 0; k < WL_KINDS; k++) {
		for (int i = 0; i < WL_STATUSES; i++)
			s->by_status[k][i] += t->by_status[k][i];
		hist_merge(&s->lat_kind[k], &t->lat_kind[k]);
	}
	hist_merge(&s->lat, &t->lat);
	hist_merge(&s->lag, &t->lag);
	const uint64_t *a = (const uint64_t *)&t->cs;
	uint64_t *b = (uint64_t *)&s->cs;
	_Static_assert(sizeof(t->cs) % sizeof(uint64_t) == 0, "client stats are u64 counters");
	for (size_t i = 0; i < sizeof(t->cs) / sizeof(uint64_t); i++)
		b[i] += a[i];
}

struct rows {
	struct sec_row *v;
	uint32_t n, cap;
};

static void rows_add(struct rows *r, const struct sec_row *row)
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? 2 * r->cap : 1024;
		struct sec_row *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL)
			return; /* the CSV loses seconds; the run goes on */
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *row;
}

static uint64_t now_ns(void)
{
	return bench_now_ns();
}

/* This thread while the load runs: merge, print and keep each second. */
static void watch(struct wl_run *run, const struct opts *o, struct rows *rows, int64_t *allocs)
{
	const struct wl_params *p = run->p;
	struct wl_sec *sec = malloc(sizeof(*sec));
	struct alloc_count a0 = { 0 }, a1 = { 0 };
	bool in_window = false, counted = false;
	for (uint64_t s = 0;;) {
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
		uint64_t now = now_ns();
		if (!in_window && now >= run->warm_end_ns) {
			alloc_count_read(&a0);
			in_window = true;
		}
		bool done = wl_all_finished(run);
		if (in_window && !counted && (now >= run->window_end_ns || done)) {
			alloc_count_read(&a1);
			counted = true;
			*allocs = alloc_count_enabled() ? (int64_t)(a1.allocs - a0.allocs) : -1;
		}
		for (; sec != NULL && wl_collect_second(run, s, sec); s++) {
			uint64_t start = run->t0_ns + s * 1000000000ull;
			char phase = sec->started_measured > 0 ||
					     (p->ops == 0 && start >= run->warm_end_ns && start < run->window_end_ns)
				     ? 'r' : start < run->warm_end_ns ? 'w' : 'd';
			struct sec_row row;
			report_row(&row, (uint32_t)s + 1, phase, sec);
			rows_add(rows, &row);
			if (!o->quiet)
				report_progress(stderr, &row, p->rate > 0);
		}
		if (done || sec == NULL)
			break;
	}
	free(sec);
}

static int run_load(struct opts *o, struct report *rep, struct rows *rows)
{
	struct wl_params *p = &o->p;
	struct wl_run run = { .p = p, .stop = &stop_requested };
	struct wl_thread *threads = calloc(p->threads, sizeof(*threads));
	if (p->cas_pct > 0) {
		uint64_t n = 1024;
		while (n < p->keys && n < (1ull << 22))
			n *= 2;
		run.versions = calloc(n, sizeof(*run.versions));
		run.versions_mask = n - 1;
	}
	if (threads == NULL || (p->cas_pct > 0 && run.versions == NULL))
		return -ENOMEM;
	run.threads = threads;
	int rc = 0;
	uint32_t opened = 0;
	for (; rc == 0 && opened < p->threads; opened++) {
		struct aeg_client *c;
		if ((rc = open_client(o, p->outstanding, &c)) != 0)
			break;
		if ((rc = wl_thread_init(&threads[opened], &run, opened, c)) != 0) {
			aeg_client_close(c);
			wl_thread_free(&threads[opened]);
			break;
		}
	}
	if (rc == 0) {
		report_setup(stdout, rep);
		run.t0_ns = now_ns();
		run.warm_end_ns = run.t0_ns + (uint64_t)(p->warmup_s * 1e9);
		run.window_end_ns = p->duration_s > 0 ? run.warm_end_ns + (uint64_t)(p->duration_s * 1e9) : UINT64_MAX;
		uint32_t started = 0;
		for (; started < p->threads; started++)
			if ((rc = -pthread_create(&threads[started].tid, NULL, wl_thread_main, &threads[started])) != 0)
				break;
		if (rc != 0) { /* the rest never run: mark them done so the watch ends */
			atomic_store(&stop_requested, true);
			for (uint32_t i = started; i < p->threads; i++) {
				aeg_client_close(threads[i].client);
				atomic_store(&threads[i].finished, true);
			}
		}
		watch(&run, o, rows, &rep->allocs);
		for (uint32_t i = 0; i < started; i++)
			pthread_join(threads[i].tid, NULL);
		for (uint32_t i = 0; i < p->threads; i++) {
			sum_totals(&rep->tot, &threads[i].tot);
			if (threads[i].fatal != 0 && rc == 0)
				rc = threads[i].fatal;
		}
		uint64_t end = rep->tot.window_end_ns;
		rep->window_s = end > run.warm_end_ns ? (double)(end - run.warm_end_ns) / 1e9 : 0;
	} else {
		for (uint32_t i = 0; i < opened; i++)
			aeg_client_close(threads[i].client);
	}
	for (uint32_t i = 0; i < opened; i++)
		wl_thread_free(&threads[i]);
	free(threads);
	free(run.versions);
	return rc;
}

static void outputs(const struct opts *o, struct report *rep)
{
	if (o->csv != NULL && report_csv(o->csv, rep->rows, rep->n_rows) != 0)
		fprintf(stderr, "aegis-bench: --csv %s: %s\n", o->csv, strerror(errno));
	if (o->plot != NULL) {
		char title[256];
		const struct wl_params *p = &o->p;
		char load[64];
		if (p->rate > 0)
			snprintf(load, sizeof(load), "open loop at %.0f ops/s", p->rate);
		else
			snprintf(load, sizeof(load), "closed loop %u x %u in flight", p->threads, p->outstanding);
		snprintf(title, sizeof(title), "aegis-bench: %u nodes, %s, %u B keys, %u B values, %.3g%% reads, %s writes",
			 o->n_nodes, load, p->key_bytes, p->value_bytes, p->reads_pct,
			 aeg_client_consistency_name(p->write_cl));
		(void)report_plot(o->plot, rep->rows, rep->n_rows, title);
	}
}

static int emit_json(const struct opts *o, const struct report *rep)
{
	FILE *f = o->json != NULL ? fopen(o->json, "w") : stdout;
	if (f == NULL) {
		fprintf(stderr, "aegis-bench: --json %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	report_json(f, rep);
	return f != stdout ? fclose(f) : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (opts_parse(argc, argv, &o) != 0)
		return 2;
	kv_init();
	struct report rep = { .nodes = o.nodes, .n_nodes = o.n_nodes, .allocs = -1 };
	struct verify_result vr;
	if (o.verify_file != NULL) { /* check a record, no load */
		rep.verify_path = o.verify_file;
		rep.verify = &vr;
		memset(&vr, 0, sizeof(vr));
		rep.exit_code = verify_file(&o, o.verify_file, &vr);
		if (vr.keys == 0 && rep.exit_code != 0)
			rep.verify = NULL;
		emit_json(&o, &rep);
		opts_free(&o);
		return rep.exit_code;
	}
	if (o.record != NULL &&
	    (o.p.record_fd = open(o.record, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "aegis-bench: --record %s: %s\n", o.record, strerror(errno));
		return 2;
	}
	if (o.history != NULL &&
	    (o.p.history_fd = open(o.history, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "aegis-bench: --history %s: %s\n", o.history, strerror(errno));
		return 2;
	}
	uint32_t nonce = 0;
	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		nonce = (uint32_t)now_ns() ^ (uint32_t)getpid();
	o.p.nonce = nonce & 0xffffff;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rep.p = &o.p;
	rep.record_path = o.record;
	/* every second of a --duration run, so the window allocates nothing */
	struct rows rows = { .cap = (uint32_t)(o.p.warmup_s + o.p.duration_s) + o.p.drain_ms / 1000 + 64 };
	rows.v = malloc(rows.cap * sizeof(*rows.v));
	rows.cap = rows.v != NULL ? rows.cap : 0;
	int rc = run_load(&o, &rep, &rows);
	rep.rows = rows.v;
	rep.n_rows = rows.n;
	char why[256] = "";
	if (rc != 0)
		snprintf(why, sizeof(why), "client failure: %s", strerror(-rc));
	else if (rep.tot.good == 0)
		snprintf(why, sizeof(why), "no operation was answered in the measured window");
	if (o.p.record_fd >= 0 && close(o.p.record_fd) != 0 && !why[0])
		snprintf(why, sizeof(why), "--record %s: %s", o.record, strerror(errno));
	if (o.p.history_fd >= 0 && close(o.p.history_fd) != 0 && !why[0])
		snprintf(why, sizeof(why), "--history %s: %s", o.history, strerror(errno));
	rep.fatal = why[0] ? why : NULL;
	rep.exit_code = why[0] ? 1 : 0;
	if (rep.p != NULL && rep.tot.done + rep.tot.started > 0)
		report_summary(stdout, &rep);
	if (rep.fatal != NULL)
		fprintf(stderr, "aegis-bench: FAILED: %s\n", why);
	outputs(&o, &rep);
	if (o.verify_after && rc != -ENOMEM) {
		rep.verify_path = o.record;
		rep.verify = &vr;
		memset(&vr, 0, sizeof(vr));
		if (verify_file(&o, o.record, &vr) != 0)
			rep.exit_code = 1;
	}
	emit_json(&o, &rep);
	free(rows.v);
	opts_free(&o);
	return rep.exit_code;
}
