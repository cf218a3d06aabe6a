/* The reports of report.h. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const char *const kind_name[WL_KINDS] = { "read", "write", "cas" };

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static const char *status_name(int i)
{
	return i == WL_ST_LOCAL ? "local_error" : aeg_client_status_name(i);
}

static const char *cl_name(uint8_t cl)
{
	return aeg_client_consistency_name(cl);
}

void report_row(struct sec_row *row, uint32_t t_s, char phase, const struct wl_sec *s)
{
	*row = (struct sec_row){ .t_s = t_s, .phase = phase, .done = s->done, .errors = s->errors,
				 .timeouts = s->timeouts, .late = s->late, .started = s->started,
				 .p50 = hist_quantile(&s->lat, 0.5), .p90 = hist_quantile(&s->lat, 0.9),
				 .p99 = hist_quantile(&s->lat, 0.99), .p999 = hist_quantile(&s->lat, 0.999),
				 .max = s->lat.n ? s->lat.max : 0 };
}

void report_progress(FILE *f, const struct sec_row *row, bool open_loop)
{
	fprintf(f, "[%4u s] %9" PRIu64 " ops/s  p50 %8.3f ms  p99 %8.3f ms  errors %" PRIu64 "  timeouts %" PRIu64,
		row->t_s, row->done, ms(row->p50), ms(row->p99), row->errors, row->timeouts);
	if (open_loop)
		fprintf(f, "  late %" PRIu64, row->late);
	fprintf(f, "%s\n", row->phase == 'w' ? "  (warm-up)" : row->phase == 'd' ? "  (drain)" : "");
	fflush(f);
}

void report_setup(FILE *f, const struct report *r)
{
	const struct wl_params *p = r->p;
	fprintf(f, "# aegis-bench: %u node%s:", r->n_nodes, r->n_nodes == 1 ? "" : "s");
	for (uint32_t i = 0; i < r->n_nodes; i++)
		fprintf(f, " %s", r->nodes[i]);
	fprintf(f, "\n# client: %u thread%s, %d usable cores (%ld online), %s\n", p->threads,
		p->threads == 1 ? "" : "s", bench_cores_usable(), sysconf(_SC_NPROCESSORS_ONLN), bench_cpu_model());
	if (p->rate > 0)
		fprintf(f, "# load: open loop at %.0f ops/s in total (at most %u in flight per thread)\n", p->rate,
			p->outstanding);
	else
		fprintf(f, "# load: closed loop, %u in flight per thread (%u in all)\n", p->outstanding,
			p->outstanding * p->threads);
	fprintf(f, "# keys: %" PRIu64 " %s", p->keys, p->zipf ? "zipf" : "uniform");
	if (p->zipf)
		fprintf(f, " (theta %.3g)", p->zipf_gen.theta);
	fprintf(f, ", key %u B, value %u B; mix: %.3g%% reads (%s), %.3g%% cas, %.3g%% writes (%s)\n",
		p->key_bytes, p->value_bytes, p->reads_pct, cl_name(p->read_cl), p->cas_pct,
		100.0 - p->reads_pct - p->cas_pct, cl_name(p->write_cl));
	if (p->ops > 0)
		fprintf(f, "# run: %" PRIu64 " measured operations after %.3g s of warm-up\n", p->ops, p->warmup_s);
	else
		fprintf(f, "# run: %.3g s measured after %.3g s of warm-up\n", p->duration_s, p->warmup_s);
	fflush(f);
}

static void lat_line(FILE *f, const char *name, const struct hist *h)
{
	if (h->n == 0)
		return;
	fprintf(f, "  %-7s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %10" PRIu64 "\n", name, ms(hist_quantile(h, 0.5)),
		ms(hist_quantile(h, 0.9)), ms(hist_quantile(h, 0.99)), ms(hist_quantile(h, 0.999)), ms(h->max),
		hist_mean(h) / 1e6, h->n);
}

void report_verify(FILE *f, const struct verify_result *v, const char *path)
{
	fprintf(f, "verify %s: %" PRIu64 " keys (%" PRIu64 " acknowledged writes) read back at quorum in %.2f s: "
		"%" PRIu64 " ok (%" PRIu64 " newer than recorded), %" PRIu64 " missing, %" PRIu64 " older, %" PRIu64
		" wrong, %" PRIu64 " foreign, %" PRIu64 " stale, %" PRIu64 " unanswered: %s\n",
		path, v->keys, v->writes, v->seconds, v->ok, v->newer, v->missing, v->older, v->wrong, v->foreign,
		v->stale, v->unanswered, v->ok == v->keys ? "PASSED" : "FAILED");
}

void report_summary(FILE *f, const struct report *r)
{
	const struct wl_params *p = r->p;
	const struct wl_totals *t = &r->tot;
	uint64_t errors = t->done - t->good;
	fprintf(f, "throughput: %.1f ops/s (%" PRIu64 " operations in %.3f s; %" PRIu64 " answered, %" PRIu64
		" errors)\n", r->window_s > 0 ? (double)t->done / r->window_s : 0.0, t->done, r->window_s,
		t->good, errors);
	fprintf(f, "latency (ms)%s     p50       p90       p99     p99.9       max      mean          n\n",
		p->rate > 0 ? ", from the intended send time," : "");
	lat_line(f, "all", &t->lat);
	for (int k = 0; k < WL_KINDS; k++)
		lat_line(f, kind_name[k], &t->lat_kind[k]);
	if (p->rate > 0)
		fprintf(f, "open loop: %" PRIu64 " late (sent > %.0f ms behind schedule), %" PRIu64 " never sent, "
			"schedule lag p99 %.3f ms, max %.3f ms\n", t->late, ms(WL_LATE_NS), t->not_sent,
			ms(hist_quantile(&t->lag, 0.99)), ms(t->lag.max));
	fprintf(f, "answers:");
	for (int k = 0; k < WL_KINDS; k++)
		for (int s = 0; s < WL_STATUSES; s++)
			if (t->by_status[k][s] > 0)
				fprintf(f, " %s %s %" PRIu64 ";", kind_name[k], status_name(s), t->by_status[k][s]);
	fprintf(f, "\n");
	if (t->first_local_error != 0)
		fprintf(f, "first local error: %s\n", strerror(-t->first_local_error));
	if (t->unfinished > 0)
		fprintf(f, "unfinished: %" PRIu64 " operations still in flight after the drain\n", t->unfinished);
	if (t->read_foreign > 0)
		fprintf(f, "reads of values aegis-bench did not write: %" PRIu64 "\n", t->read_foreign);
	double cpu = (double)t->cpu_ns / 1e9;
	fprintf(f, "client: %.2f CPU s in the window (%.0f%% of one core, %.2f us per op)", cpu,
		r->window_s > 0 ? 100 * cpu / r->window_s : 0.0, t->done ? cpu * 1e6 / (double)t->done : 0.0);
	if (r->allocs >= 0)
		fprintf(f, ", %" PRId64 " heap allocations", r->allocs);
	fprintf(f, "; %" PRIu64 " datagrams sent, %" PRIu64 " received, %" PRIu64 " retransmits, %" PRIu64
		" redirects\n", t->cs.dgrams_sent, t->cs.dgrams_received, t->cs.retransmits, t->cs.redirects);
	if (r->record_path != NULL)
		fprintf(f, "record: %" PRIu64 " acknowledged writes appended to %s\n", t->acked_writes, r->record_path);
	fflush(f);
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_lat(FILE *f, const char *name, const struct hist *h)
{
	fprintf(f, ",\"%s\":{\"n\":%" PRIu64 ",\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
		"\"mean\":%.1f}", name, h->n, us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.9)),
		us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->n ? h->max : 0), hist_mean(h) / 1e3);
}

static void json_setup(FILE *f, const struct report *r)
{
	const struct wl_params *p = r->p;
	fprintf(f, ",\"mode\":\"%s\",\"threads\":%u,\"outstanding\":%u,\"rate\":%.0f", p->rate > 0 ? "open" : "closed",
		p->threads, p->outstanding, p->rate);
	fprintf(f, ",\"keys\":%" PRIu64 ",\"dist\":\"%s\",\"theta\":%.4g,\"key_bytes\":%u,\"value_bytes\":%u", p->keys,
		p->zipf ? "zipf" : "uniform", p->zipf ? p->zipf_gen.theta : 0.0, p->key_bytes, p->value_bytes);
	fprintf(f, ",\"reads_pct\":%.4g,\"cas_pct\":%.4g,\"writes_pct\":%.4g,\"write_consistency\":\"%s\","
		"\"read_consistency\":\"%s\"", p->reads_pct, p->cas_pct, 100.0 - p->reads_pct - p->cas_pct,
		cl_name(p->write_cl), cl_name(p->read_cl));
	fprintf(f, ",\"duration_s\":%.4g,\"warmup_s\":%.4g,\"ops_target\":%" PRIu64, p->duration_s, p->warmup_s, p->ops);
}

static void json_results(FILE *f, const struct report *r)
{
	const struct wl_totals *t = &r->tot;
	fprintf(f, ",\"window_s\":%.4f,\"ops\":%" PRIu64 ",\"ops_per_s\":%.1f,\"answered\":%" PRIu64
		",\"errors\":%" PRIu64, r->window_s, t->done, r->window_s > 0 ? (double)t->done / r->window_s : 0.0,
		t->good, t->done - t->good);
	fprintf(f, ",\"timeouts\":%" PRIu64 ",\"started\":%" PRIu64 ",\"late\":%" PRIu64 ",\"not_sent\":%" PRIu64
		",\"unfinished\":%" PRIu64, t->by_status[0][AEG_CLIENT_TIMEOUT] + t->by_status[1][AEG_CLIENT_TIMEOUT] +
		t->by_status[2][AEG_CLIENT_TIMEOUT], t->started, t->late, t->not_sent, t->unfinished);
	json_lat(f, "latency_us", &t->lat);
	for (int k = 0; k < WL_KINDS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s_latency_us", kind_name[k]);
		json_lat(f, name, &t->lat_kind[k]);
	}
	if (r->p->rate > 0)
		json_lat(f, "schedule_lag_us", &t->lag);
	fprintf(f, ",\"status\":{");
	for (int k = 0; k < WL_KINDS; k++) {
		fprintf(f, "%s\"%s\":{", k ? "," : "", kind_name[k]);
		for (int s = 0, n = 0; s < WL_STATUSES; s++)
			if (t->by_status[k][s] > 0)
				fprintf(f, "%s\"%s\":%" PRIu64, n++ ? "," : "", status_name(s), t->by_status[k][s]);
		fprintf(f, "}");
	}
	double cpu = (double)t->cpu_ns / 1e9;
	fprintf(f, "},\"acked_writes\":%" PRIu64 ",\"read_foreign\":%" PRIu64 ",\"client_cpu_s\":%.3f,"
		"\"client_cpu_us_per_op\":%.3f,\"allocs_in_window\":%" PRId64, t->acked_writes, t->read_foreign, cpu,
		t->done ? cpu * 1e6 / (double)t->done : 0.0, r->allocs);
	fprintf(f, ",\"client\":{\"dgrams_sent\":%" PRIu64 ",\"dgrams_received\":%" PRIu64 ",\"items_sent\":%" PRIu64
		",\"retransmits\":%" PRIu64 ",\"redirects\":%" PRIu64 ",\"stale_epochs\":%" PRIu64 ",\"map_fetches\":%"
		PRIu64 ",\"timeouts\":%" PRIu64 ",\"send_again\":%" PRIu64 ",\"send_errors\":%" PRIu64
		",\"large_waits\":%" PRIu64 ",\"session_waits\":%" PRIu64 ",\"busy_retries\":%" PRIu64 "}",
		t->cs.dgrams_sent, t->cs.dgrams_received, t->cs.items_sent, t->cs.retransmits, t->cs.redirects,
		t->cs.stale_epochs, t->cs.map_fetches, t->cs.timeouts, t->cs.send_again, t->cs.send_errors,
		t->cs.large_waits, t->cs.session_waits, t->cs.busy_retries);
}

void report_json(FILE *f, const struct report *r)
{
	fprintf(f, "{\"bench\":\"aegis-bench\",\"cpu\":");
	json_str(f, bench_cpu_model());
	fprintf(f, ",\"cores_online\":%ld,\"cores_usable\":%d,\"nodes\":[", sysconf(_SC_NPROCESSORS_ONLN),
		bench_cores_usable());
	for (uint32_t i = 0; i < r->n_nodes; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_str(f, r->nodes[i]);
	}
	fprintf(f, "]");
	if (r->p != NULL) {
		json_setup(f, r);
		json_results(f, r);
	}
	if (r->record_path != NULL) {
		fprintf(f, ",\"record\":");
		json_str(f, r->record_path);
	}
	if (r->verify != NULL) {
		const struct verify_result *v = r->verify;
		fprintf(f, ",\"verify\":{\"file\":");
		json_str(f, r->verify_path);
		fprintf(f, ",\"keys\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"newer\":%" PRIu64
			",\"missing\":%" PRIu64 ",\"older\":%" PRIu64 ",\"wrong\":%" PRIu64 ",\"foreign\":%" PRIu64
			",\"stale\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"seconds\":%.3f,\"passed\":%s}", v->keys,
			v->writes, v->ok, v->newer, v->missing, v->older, v->wrong, v->foreign, v->stale, v->unanswered,
			v->seconds, v->ok == v->keys ? "true" : "false");
	}
	if (r->fatal != NULL) {
		fprintf(f, ",\"fatal\":");
		json_str(f, r->fatal);
	}
	fprintf(f, ",\"exit_code\":%d}\n", r->exit_code);
	fflush(f);
}

/* ---- CSV and plot -------------------------------------------------------- */

static int write_csv(FILE *f, const struct sec_row *rows, uint32_t n)
{
	fprintf(f, "t_s,phase,ops_per_s,errors,timeouts,late,started,p50_us,p90_us,p99_us,p999_us,max_us\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct sec_row *w = &rows[i];
		fprintf(f, "%u,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.1f,%.1f,%.1f,%.1f,%.1f\n",
			w->t_s, w->phase == 'w' ? "warmup" : w->phase == 'd' ? "drain" : "run", w->done, w->errors,
			w->timeouts, w->late, w->started, us(w->p50), us(w->p90), us(w->p99), us(w->p999), us(w->max));
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int report_csv(const char *path, const struct sec_row *rows, uint32_t n)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	int rc = write_csv(f, rows, n);
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];
	for (const char *p = path ? path : "/usr/bin:/bin"; *p != '\0';) {
		size_t len = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog);
		if (len > 0 && access(buf, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

/* A string for gnuplot's single quotes ('' is a quote). */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

int report_plot(const char *png, const struct sec_row *rows, uint32_t n, const char *title)
{
	if (!in_path("gnuplot")) {
		fprintf(stderr, "aegis-bench: gnuplot is not installed (Debian: gnuplot-nox): no plot\n");
		return 1;
	}
	char csv[] = "/tmp/aegis-bench-plot-XXXXXX";
	int fd = mkstemp(csv);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int rc = f != NULL ? write_csv(f, rows, n) : -errno;
	if (f != NULL && fclose(f) != 0 && rc == 0)
		rc = -errno;
	FILE *gp = rc == 0 ? popen("gnuplot", "w") : NULL;
	if (rc == 0 && gp == NULL)
		rc = -errno;
	if (gp != NULL) {
		fprintf(gp, "set terminal pngcairo size 1000,700 noenhanced\nset output ");
		gp_str(gp, png);
		fprintf(gp, "\nset datafile separator ','\nset key left top\nset grid\nset xrange [0:*]\n");
		/* dashed lines where the measured window starts and ends */
		for (uint32_t i = 0; i < n; i++)
			if ((rows[i].phase == 'r' && (i == 0 || rows[i - 1].phase == 'w')) ||
			    (rows[i].phase == 'd' && i > 0 && rows[i - 1].phase == 'r'))
				fprintf(gp, "set arrow from %u, graph 0 to %u, graph 1 nohead dashtype 2\n", rows[i].t_s - 1,
					rows[i].t_s - 1);
		fprintf(gp, "set multiplot layout 2,1 title ");
		gp_str(gp, title);
		fprintf(gp, "\nset ylabel 'operations/s'\nset yrange [0:*]\nplot ");
		gp_str(gp, csv);
		fprintf(gp, " every ::1 using 1:3 with linespoints title 'completed per second'\n"
			"set xlabel 'time (s)'\nset ylabel 'latency (ms)'\nset logscale y\nset yrange [*:*]\nplot ");
		gp_str(gp, csv);
		fprintf(gp, " every ::1 using 1:($8 > 0 ? $8/1000 : 1/0) with lines title 'p50', '' every ::1 using "
			"1:($10 > 0 ? $10/1000 : 1/0) with lines title 'p99', '' every ::1 using 1:($12 > 0 ? $12/1000 : 1/0) "
			"with lines title 'max'\nunset multiplot\n");
		int st = pclose(gp);
		if (rc == 0 && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
			rc = -EIO;
	}
	if (fd >= 0)
		unlink(csv);
	if (rc < 0)
		fprintf(stderr, "aegis-bench: plot %s failed: %s\n", png, strerror(-rc));
	return rc;
}
