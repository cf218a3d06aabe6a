/* aegis-dpnode: a dataplane-only test node (no Raft). It opens a port
 * (kernel UDP, or a DPDK ethdev after rte_eal_init), runs one worker per
 * queue, and moves test messages: echo them back, send and verify a
 * numbered series, or count what arrives (usage: aeg_node_args_usage).
 * Exit codes: 0 ok, 1 run failed, 2 usage/config error, 3 port/EAL setup. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aegis/msg.h"

#include "dp_clock.h"
#include "dp_node.h"
#include "dp_runtime.h"
#include "json_out.h"
#include "node_args.h"
#include "node_config.h"
#include "stats_json.h"

#define MSG_HDR_BYTES 16      /* node, worker, index, length: 4 bytes each */
#define RESEND_NS 200000000ull /* send mode: resend what is unanswered after this */
#define MAIN_SLEEP_NS 1000000 /* main loop period */

static volatile sig_atomic_t g_stop;
static uint32_t g_node;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "aegis-dpnode[node %u]: ", g_node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- per-worker test state -------------------------------------------- */

struct app;

struct app_worker {
	struct app *app;
	uint16_t q;
	uint8_t *seen;           /* send: echoes per message index */
	uint8_t *body;           /* send: msg_bytes, the message being built */
	uint32_t next;           /* send: next index to send */
	uint32_t base;           /* send: lowest index not yet echoed */
	uint32_t echoed, dup, bad, resent, send_fail, echo_fail;
	uint32_t echoed_seen;    /* echoed when the tick last looked */
	uint64_t progress_ns;
	bool done;               /* all echoed (read by main) */
};

struct app {
	struct aeg_node_args a;
	struct app_worker aw[AEG_DP_WORKERS_MAX];
	bool go;                 /* send mode: the destination is reachable */
	double elapsed_s;
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint8_t body_byte(uint32_t node, uint32_t index, uint32_t j)
{
	return (uint8_t)(index * 131u + j * 7u + node);
}

static void body_fill(uint8_t *b, uint32_t node, uint32_t worker, uint32_t index, uint32_t len)
{
	uint32_t h[4] = { node, worker, index, len };
	memcpy(b, h, sizeof(h));
	for (uint32_t j = MSG_HDR_BYTES; j < len; j++)
		b[j] = body_byte(node, index, j);
}

static int send_one(struct app_worker *s, struct aeg_worker *w, uint32_t index)
{
	const struct aeg_node_args *a = &s->app->a;
	body_fill(s->body, a->dp.node, s->q, index, a->msg_bytes);
	int r = aeg_worker_send(w, a->dst, s->q, AEG_MSG_TEST, index % 1024, s->body, a->msg_bytes);
	if (r != 0)
		s->send_fail++;
	return r;
}

static uint32_t send_tick(void *arg, struct aeg_worker *w, uint64_t now_ns)
{
	struct app_worker *s = arg;
	const struct aeg_node_args *a = &s->app->a;
	if (!__atomic_load_n(&s->app->go, __ATOMIC_ACQUIRE) || s->done)
		return 0;
	uint32_t did = 0;
	while (s->next < a->msgs && s->next - s->base < a->window && send_one(s, w, s->next) == 0) {
		s->next++;
		did++;
	}
	if (s->echoed != s->echoed_seen || s->progress_ns == 0) {
		s->echoed_seen = s->echoed;
		s->progress_ns = now_ns;
	} else if (now_ns - s->progress_ns > RESEND_NS) {
		/* Lost on the way (no neighbour yet, a full ring): send again. */
		for (uint32_t i = s->base; i < s->next; i++) {
			if (s->seen[i])
				continue;
			if (send_one(s, w, i) != 0)
				break;
			s->resent++;
		}
		s->progress_ns = now_ns;
	}
	return did;
}

static void send_on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
			const struct aeg_wire_msg *m)
{
	(void)w;
	struct app_worker *s = arg;
	const struct aeg_node_args *a = &s->app->a;
	uint32_t index = m->body_len >= MSG_HDR_BYTES ? rd32(m->body + 8) : UINT32_MAX;
	bool ok = src_node == a->dst && src_worker == s->q && m->type == AEG_MSG_TEST &&
		  m->body_len == a->msg_bytes && index < s->next &&
		  rd32(m->body) == a->dp.node && rd32(m->body + 4) == s->q &&
		  rd32(m->body + 12) == a->msg_bytes && m->group == index % 1024;
	for (uint32_t j = MSG_HDR_BYTES; ok && j < m->body_len; j++)
		ok = m->body[j] == body_byte(a->dp.node, index, j);
	if (!ok) {
		s->bad++;
		return;
	}
	if (s->seen[index]) {
		s->dup++;
		return;
	}
	s->seen[index] = 1;
	s->echoed++;
	while (s->base < s->next && s->seen[s->base])
		s->base++;
	if (s->echoed == a->msgs)
		__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
}

static void echo_on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
			const struct aeg_wire_msg *m)
{
	struct app_worker *s = arg;
	if (aeg_worker_send(w, src_node, src_worker, m->type, m->group, m->body, m->body_len) != 0)
		s->echo_fail++;
}

static void sink_on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
			const struct aeg_wire_msg *m)
{
	(void)arg, (void)w, (void)src_node, (void)src_worker, (void)m;
}

static void stats_extra(struct aeg_json_out *j, void *arg, int worker)
{
	struct app *app = arg;
	static const char *const modes[] = { "echo", "send", "sink" };
	if (worker < 0) {
		aeg_json_kv_str(j, "mode", modes[app->a.mode]);
		aeg_json_kv_double(j, "elapsed_s", app->elapsed_s);
		return;
	}
	const struct app_worker *s = &app->aw[worker];
	/* Read after the workers stopped: plain loads are fine. */
	aeg_json_kv_u64(j, "sent", s->next);
	aeg_json_kv_u64(j, "echoed", s->echoed);
	aeg_json_kv_u64(j, "dup", s->dup);
	aeg_json_kv_u64(j, "bad", s->bad);
	aeg_json_kv_u64(j, "resent", s->resent);
	aeg_json_kv_u64(j, "send_fail", s->send_fail);
	aeg_json_kv_u64(j, "echo_fail", s->echo_fail);
}

/* ---- main ------------------------------------------------------------- */

static bool all_done(const struct app *app)
{
	for (uint16_t q = 0; q < app->a.dp.workers; q++)
		if (!__atomic_load_n(&app->aw[q].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

static int write_ready(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) == 0 ? 0 : -EIO;
}

/* Until the run ends (send: all echoed; duration; signal). */
static void main_loop(struct app *app, struct aeg_dp_runtime *rt, struct aeg_dp_node *dn)
{
	const struct aeg_node_args *a = &app->a;
	uint64_t t0 = aeg_dp_now_ns();
	double limit_s = a->duration_s > 0 ? a->duration_s : a->mode == AEG_NODE_MODE_SEND ? 30 : 0;
	uint64_t deadline = limit_s > 0 ? t0 + (uint64_t)(limit_s * 1e9) : 0;
	uint64_t interval = (uint64_t)(a->stats_interval_s * 1e9), next_stats = t0 + interval;
	while (!g_stop) {
		uint64_t now = aeg_dp_now_ns();
		aeg_dp_node_poll(dn, now);
		if (a->mode == AEG_NODE_MODE_SEND && !app->go &&
		    aeg_dp_node_reachable(dn, aeg_dp_config_peer(&a->dp, a->dst)->ipv4)) {
			logf_("destination node %u reachable after %.3f s: sending", a->dst,
			      (double)(now - t0) / 1e9);
			__atomic_store_n(&app->go, true, __ATOMIC_RELEASE);
		}
		if (a->mode == AEG_NODE_MODE_SEND && all_done(app))
			break;
		if (deadline != 0 && now >= deadline)
			break;
		if (interval > 0 && now >= next_stats) {
			fprintf(stderr, "aegis-dpnode[node %u]: stats: ", g_node);
			aeg_stats_line(stderr, rt);
			fputc('\n', stderr);
			next_stats += interval;
		}
		struct timespec ts = { .tv_nsec = MAIN_SLEEP_NS };
		(void)nanosleep(&ts, NULL);
	}
	app->elapsed_s = (double)(aeg_dp_now_ns() - t0) / 1e9;
}

static bool run_ok(const struct app *app)
{
	if (app->a.mode != AEG_NODE_MODE_SEND)
		return true;
	if (!app->go)
		logf_("destination node %u never became reachable (no ARP answer?)", app->a.dst);
	for (uint16_t q = 0; q < app->a.dp.workers; q++) {
		const struct app_worker *s = &app->aw[q];
		if (!s->done || s->bad != 0) {
			logf_("worker %u: %u of %u echoed, %u corrupted, %u resent", q, s->echoed,
			      app->a.msgs, s->bad, s->resent);
			return false;
		}
	}
	return true;
}

static int setup_app(struct app *app, void **args)
{
	for (uint16_t q = 0; q < app->a.dp.workers; q++) {
		app->aw[q] = (struct app_worker){ .app = app, .q = q };
		args[q] = &app->aw[q];
		if (app->a.mode == AEG_NODE_MODE_SEND &&
		    ((app->aw[q].seen = calloc(app->a.msgs, 1)) == NULL ||
		     (app->aw[q].body = malloc(app->a.msg_bytes)) == NULL))
			return -ENOMEM;
	}
	return 0;
}

static int run(struct app *app, struct aeg_dp_node *dn)
{
	const struct aeg_node_args *a = &app->a;
	static const aeg_worker_msg_fn on_msg[] = { echo_on_msg, send_on_msg, sink_on_msg };
	void *args[AEG_DP_WORKERS_MAX];
	struct aeg_dp_runtime rt;
	int r = setup_app(app, args);
	if (r == 0)
		r = aeg_dp_runtime_init(&rt, &a->dp, aeg_dp_node_port(dn), on_msg[a->mode],
					a->mode == AEG_NODE_MODE_SEND ? send_tick : NULL, args);
	if (r != 0) {
		logf_("workers: %s", strerror(-r));
		return 3;
	}
	r = aeg_dp_runtime_start(&rt, aeg_dp_node_launcher(dn));
	if (r != 0) {
		logf_("starting workers: %s", strerror(-r));
		aeg_dp_runtime_fini(&rt);
		return 3;
	}
	if (a->ready_file != NULL && (r = write_ready(a->ready_file)) != 0)
		logf_("ready file %s: %s", a->ready_file, strerror(-r));
	main_loop(app, &rt, dn);
	aeg_dp_runtime_stop(&rt);
	bool ok = run_ok(app);
	logf_("%s after %.3f s", ok ? "done" : "FAILED", app->elapsed_s);
	fprintf(stderr, "aegis-dpnode[node %u]: totals: ", g_node);
	aeg_stats_line(stderr, &rt);
	fputc('\n', stderr);
	if (a->stats_json != NULL && (r = aeg_stats_json_save(a->stats_json, &rt, ok, stats_extra,
							       app)) != 0)
		logf_("stats json %s: %s", a->stats_json, strerror(-r));
	aeg_dp_runtime_fini(&rt);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct app app;
	char err[256];
	/* --config FILE: the file's settings first, the command line's after.
	 * The merged argv lives until exit (the args point into it). */
	static struct aeg_node_argv merged;
	int c = aeg_node_config_apply(argc, argv, &merged, err, sizeof(err));
	if (c < 0) {
		fprintf(stderr, "aegis-dpnode: %s\n", err);
		return 2;
	}
	if (c == 1) {
		argc = merged.argc;
		argv = merged.argv;
	}
	if (aeg_node_args_parse(argc, argv, &app.a, err, sizeof(err)) != 0) {
		fprintf(stderr, "aegis-dpnode: %s (see --help)\n", err);
		return 2;
	}
	if (app.a.help) {
		aeg_node_args_usage(stdout, "aegis-dpnode");
		return 0;
	}
	g_node = app.a.dp.node;
	if (!app.a.key_given)
		logf_("warning: no --key, using the fixed test key");
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return 3;
	struct aeg_dp_node *dn;
	int r = aeg_dp_node_open(&app.a.dp, logf_, &dn);
	if (r != 0)
		return r == -EINVAL ? 2 : 3;
	int rc = run(&app, dn);
	aeg_dp_node_close(dn);
	for (uint16_t q = 0; q < app.a.dp.workers; q++) {
		free(app.aw[q].seen);
		free(app.aw[q].body);
	}
	return rc;
}
