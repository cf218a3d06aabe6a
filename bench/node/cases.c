/* The cases of aegis-bench-node (bench_node.h): each starts its own
 * cluster (or uses --nodes), measures, prints a table and one JSON line,
 * stops the nodes (SIGTERM, exit 0 expected) and removes the run dir. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aegis/client.h"
#include "alloc_count.h"
#include "bench_node.h"
#include "common.h"

/* Sums the nodes' status until every shard has a leader (or timeout). */
static int wait_leaders(const struct cluster *c, uint32_t shards, double timeout_s, uint32_t *leaders)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	uint64_t pause_us = shards > 1000 ? 200000 : 50000; /* a big status costs the node CPU */
	for (;;) {
		uint32_t n = 0;
		for (int i = 0; i < CLUSTER_NODES; i++) {
			char sock[300];
			struct node_view v;
			cluster_socket_path(c, i, sock, sizeof(sock));
			if (cluster_status(sock, 10, &v) == 0)
				n += v.leaders;
		}
		*leaders = n;
		if (n >= shards)
			return 0;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep((useconds_t)pause_us);
	}
}

/* Waits until every group of every node is quiet (quiescence: no ticks,
 * no heartbeats of their own); false at the timeout. */
static bool wait_quiet(const struct cluster *c, double timeout_s, uint32_t quiet[CLUSTER_NODES])
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	for (;;) {
		bool all = true;
		for (int i = 0; i < CLUSTER_NODES; i++) {
			char sock[300];
			struct node_view v = { 0 };
			cluster_socket_path(c, i, sock, sizeof(sock));
			if (cluster_status(sock, 10, &v) != 0)
				v.groups = 1; /* no answer: not known to be quiet */
			quiet[i] = v.quiet;
			all = all && v.quiet == v.groups;
		}
		if (all)
			return true;
		if (bench_now_ns() > deadline)
			return false;
		usleep(500000);
	}
}

struct cpu_mark {
	const struct cluster *c;
	uint64_t cpu[2][CLUSTER_NODES];
};

static void mark_cpu(void *arg, int end)
{
	struct cpu_mark *m = arg;
	for (int i = 0; m->c != NULL && i < CLUSTER_NODES; i++)
		m->cpu[end][i] = proc_cpu_ns(m->c->pid[i]);
}

static int open_client(const struct opts *o, const struct cluster *c, struct aeg_client **out)
{
	const char *nodes[CLUSTER_NODES];
	/* Writes in flight per shard: twice the mean share of --outstanding (keys
	 * are uniform), at least the library's 64 and at most 512, half of the
	 * session window aegisd keeps per client and shard (control/node.c:
	 * session_results_max 1024). Else the client holds back what is over
	 * 64 per shard and --outstanding above 1024 is not in flight. */
	uint32_t per_shard = 2 * ((o->load.outstanding + o->shards - 1) / (o->shards ? o->shards : 1));
	struct aeg_client_cfg cfg = { .nodes = nodes, .node_count = CLUSTER_NODES,
				      .outstanding_max = o->load.outstanding > 1024 ? o->load.outstanding : 1024,
				      .writes_per_shard_max = per_shard < 64 ? 64 : per_shard > 512 ? 512 : per_shard,
				      .consistency = AEG_CLIENT_QUORUM, .timeout_ms = 500 };
	if (c != NULL) {
		for (int i = 0; i < CLUSTER_NODES; i++)
			nodes[i] = c->nodes_arg[i];
		memcpy(cfg.key.bytes, c->client_key, sizeof(c->client_key));
	} else {
		cfg.node_count = o->n_nodes;
		for (uint32_t i = 0; i < o->n_nodes; i++)
			nodes[i] = o->nodes[i];
		int r = read_hex_key(o->key_file, cfg.key.bytes);
		if (r != 0) {
			fprintf(stderr, BENCH_NAME ": %s: %s (expected 32 hex digits)\n", o->key_file, strerror(-r));
			return r;
		}
	}
	int r = aeg_client_open(out, &cfg);
	if (r != 0)
		fprintf(stderr, BENCH_NAME ": cannot open the client (shard map): %s\n", strerror(-r));
	return r;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void report_writes(const struct opts *o, const struct load_result *res, const struct cpu_mark *m,
			  bool local, double elect_s)
{
	double wps = res->seconds > 0 ? (double)res->writes_ok / res->seconds : 0;
	double w = res->writes_ok ? (double)res->writes_ok : 1;
	const struct hist *h = &res->lat;
	double node_us[CLUSTER_NODES] = { 0 }, node_pct[CLUSTER_NODES] = { 0 }, mean_us = 0, mean_pct = 0;
	for (int i = 0; local && i < CLUSTER_NODES; i++) {
		uint64_t d = m->cpu[1][i] - m->cpu[0][i];
		node_us[i] = us(d) / w;
		node_pct[i] = res->seconds > 0 ? 100.0 * (double)d / 1e9 / res->seconds : 0;
		mean_us += node_us[i] / CLUSTER_NODES;
		mean_pct += node_pct[i] / CLUSTER_NODES;
	}
	bool counted = alloc_count_enabled();
	printf("# writes: %u shards, %u outstanding, %u B keys, %u B values, quorum, %.1f s measured\n",
	       o->shards, o->load.outstanding, o->load.key_bytes, o->load.value_bytes, res->seconds);
	printf("%-28s %12.0f\n", "writes/s", wps);
	printf("%-28s %12llu (errors %llu, timeouts %llu, client retransmits %llu, redirects %llu)\n",
	       "writes ok", (unsigned long long)res->writes_ok, (unsigned long long)res->errors,
	       (unsigned long long)res->timeouts, (unsigned long long)res->cs.retransmits,
	       (unsigned long long)res->cs.redirects);
	printf("%-28s p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  mean %.0f\n", "latency us",
	       us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.9)), us(hist_quantile(h, 0.99)),
	       us(hist_quantile(h, 0.999)), us(h->max), h->n ? us(h->sum / h->n) : 0);
	if (local)
		printf("%-28s %.1f us (nodes: %.1f, %.1f, %.1f; node CPU %.0f%%, %.0f%%, %.0f%% of a core)\n",
		       "CPU per write per replica", mean_us, node_us[0], node_us[1], node_us[2], node_pct[0],
		       node_pct[1], node_pct[2]);
	else
		printf("%-28s not measured (--nodes: the processes are not ours)\n", "CPU per write per replica");
	printf("%-28s %.1f us\n", "client CPU per write", us(res->client_cpu_ns) / w);
	if (counted)
		printf("%-28s %.4f (%llu in the window; nodes not counted: no allocation counter in aegisd)\n",
		       "client allocs per write", (double)res->allocs / w, (unsigned long long)res->allocs);
	else
		printf("%-28s not counted (sanitizer build)\n", "client allocs per write");
	if (res->first_error != 0)
		printf("# first error: %s\n", res->first_error < 0 ? strerror(-res->first_error)
						 : aeg_client_status_name(res->first_error));
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "case", "writes");
	bench_json_u64(&j, "nodes", CLUSTER_NODES);
	bench_json_u64(&j, "shards", o->shards);
	bench_json_u64(&j, "workers", o->workers);
	bench_json_u64(&j, "outstanding", o->load.outstanding);
	bench_json_u64(&j, "key_bytes", o->load.key_bytes);
	bench_json_u64(&j, "value_bytes", o->load.value_bytes);
	bench_json_str(&j, "consistency", "quorum");
	bench_json_f64(&j, "seconds", res->seconds);
	bench_json_u64(&j, "writes", res->writes_ok);
	bench_json_u64(&j, "errors", res->errors);
	bench_json_f64(&j, "writes_per_s", wps);
	bench_json_f64(&j, "p50_us", us(hist_quantile(h, 0.5)));
	bench_json_f64(&j, "p90_us", us(hist_quantile(h, 0.9)));
	bench_json_f64(&j, "p99_us", us(hist_quantile(h, 0.99)));
	bench_json_f64(&j, "p999_us", us(hist_quantile(h, 0.999)));
	bench_json_f64(&j, "max_us", us(h->max));
	if (local) {
		bench_json_f64(&j, "cpu_us_per_write_per_replica", mean_us);
		bench_json_f64(&j, "cpu_us_per_write_max", node_us[0] > node_us[1] ? (node_us[0] > node_us[2] ? node_us[0] : node_us[2])
										   : (node_us[1] > node_us[2] ? node_us[1] : node_us[2]));
		bench_json_f64(&j, "node_cpu_pct_mean", mean_pct);
		bench_json_f64(&j, "elect_s", elect_s);
	}
	bench_json_f64(&j, "client_cpu_us_per_write", us(res->client_cpu_ns) / w);
	if (counted)
		bench_json_f64(&j, "client_allocs_per_write", (double)res->allocs / w);
	bench_json_str(&j, "node_allocs", "not counted");
	bench_json_end(&j);
}

int case_writes(const struct opts *o)
{
	bool local = o->n_nodes == 0;
	struct cluster *c = local ? calloc(1, sizeof(*c)) : NULL;
	double elect_s = 0;
	printf("\n# case writes: starting %s\n", local ? "3 nodes" : "(running cluster)");
	if (local) {
		struct cluster_params p = { .aegisd = o->aegisd, .shards = o->shards, .workers = o->workers,
					    .value_bytes_max = o->load.value_bytes > (1u << 20) ? o->load.value_bytes : 1u << 20,
					    .election_ms_min = 150, .election_ms_max = 300, .heartbeat_ms = 50,
					    .keep = o->keep };
		if (c == NULL || cluster_start(c, &p, 60) != 0) {
			free(c);
			return 1;
		}
		uint64_t t0 = bench_now_ns();
		uint32_t leaders;
		if (wait_leaders(c, o->shards, 30, &leaders) != 0) {
			fprintf(stderr, BENCH_NAME ": only %u of %u shards have a leader after 30 s\n", leaders,
				o->shards);
			cluster_stop(c);
			free(c);
			return 1;
		}
		elect_s = (double)(bench_now_ns() - t0) / 1e9;
	}
	struct aeg_client *cl = NULL;
	int r = open_client(o, c, &cl);
	static struct load_result res;
	struct cpu_mark m = { .c = c };
	if (r == 0) {
		r = load_run(cl, &o->load, mark_cpu, &m, &res);
		if (r != 0)
			fprintf(stderr, BENCH_NAME ": load: %s\n", strerror(-r));
		else if (local && cluster_dead(c) != 0)
			r = -ECHILD;
		else
			report_writes(o, &res, &m, local, elect_s);
		aeg_client_close(cl);
	}
	int stopped = local ? cluster_stop(c) : 0;
	free(c);
	if (r == 0 && res.writes_ok == 0)
		fprintf(stderr, BENCH_NAME ": no write succeeded\n");
	return r != 0 || stopped != 0 || res.writes_ok == 0;
}

/* RSS per node of the previous group case: the marginal memory of a group. */
static uint32_t prev_groups;
static double prev_rss;

int case_groups(const struct opts *o, uint32_t groups)
{
	printf("\n# case groups-%u: %u shards (Raft groups) on each of 3 nodes, %u worker(s), no load; "
	       "election timeout %u-%u ms, heartbeat %u ms\n", groups, groups, o->workers, o->election_ms[0],
	       o->election_ms[1], o->heartbeat_ms);
	struct cluster *c = calloc(1, sizeof(*c));
	struct cluster_params p = { .aegisd = o->aegisd, .shards = groups, .workers = o->workers,
				    .value_bytes_max = 1u << 20, .election_ms_min = o->election_ms[0],
				    .election_ms_max = o->election_ms[1], .heartbeat_ms = o->heartbeat_ms, .keep = o->keep };
	uint64_t t0 = bench_now_ns();
	if (c == NULL || cluster_start(c, &p, 300) != 0) {
		free(c);
		return 1;
	}
	double ready_s = (double)(bench_now_ns() - t0) / 1e9;
	uint32_t leaders, quiet[CLUSTER_NODES];
	int failed = 0;
	if (wait_leaders(c, groups, 60 + groups / 100.0, &leaders) != 0) {
		fprintf(stderr, BENCH_NAME ": only %u of %u shards have a leader\n", leaders, groups);
		failed = 1;
	}
	double elect_s = (double)(bench_now_ns() - t0) / 1e9;
	bool all_quiet = !failed && wait_quiet(c, 120, quiet);
	double quiet_s = (double)(bench_now_ns() - t0) / 1e9;
	if (!failed && !all_quiet)
		printf("# not every group went quiet in 120 s (quiet: %u, %u, %u of %u): idle CPU measured anyway\n",
		       quiet[0], quiet[1], quiet[2], groups);
	sleep(1); /* the last status request's work is done */
	uint64_t cpu0[CLUSTER_NODES], cpu1[CLUSTER_NODES];
	for (int i = 0; i < CLUSTER_NODES; i++)
		cpu0[i] = proc_cpu_ns(c->pid[i]);
	uint64_t w0 = bench_now_ns();
	usleep((useconds_t)(o->idle_s * 1e6));
	double win = (double)(bench_now_ns() - w0) / 1e9;
	double pct[CLUSTER_NODES], pct_max = 0, rss_mean = 0, status_pg = 0, total_pg = 0;
	for (int i = 0; i < CLUSTER_NODES; i++) {
		cpu1[i] = proc_cpu_ns(c->pid[i]);
		pct[i] = 100.0 * (double)(cpu1[i] - cpu0[i]) / 1e9 / win;
		pct_max = pct[i] > pct_max ? pct[i] : pct_max;
		rss_mean += (double)proc_rss_bytes(c->pid[i]) / CLUSTER_NODES;
		char sock[300];
		struct node_view v = { 0 };
		cluster_socket_path(c, i, sock, sizeof(sock));
		if (cluster_status(sock, 30, &v) == 0 && v.groups > 0) {
			status_pg += (double)v.bytes_per_group / CLUSTER_NODES;
			total_pg += (double)v.total_bytes / v.groups / CLUSTER_NODES;
		}
	}
	if (cluster_dead(c) != 0) {
		cluster_stop(c);
		free(c);
		return 1;
	}
	double marginal = prev_groups && groups != prev_groups
				  ? (rss_mean - prev_rss) / ((double)groups - (double)prev_groups) : 0;
	if (failed)
		printf("%-30s %u of %u after %.2f s (ready %.2f s): ELECTIONS DID NOT CONVERGE\n", "leaders", leaders,
		       groups, elect_s, ready_s);
	else
		printf("%-30s %.2f s (ready %.2f s; all quiet at %.2f s)\n", "all leaders elected", elect_s, ready_s,
		       all_quiet ? quiet_s : 0.0);
	printf("%-30s %.2f%%, %.2f%%, %.2f%% of one core (over %.1f s%s)\n", failed ? "CPU per node" : "idle CPU per node",
	       pct[0], pct[1], pct[2], win, failed ? ", not idle: elections still running" : "");
	printf("%-30s %.0f B (status memory.bytes_per_group: Raft state)\n", "memory per group", status_pg);
	printf("%-30s %.0f B (status memory.total_bytes / groups)\n", "", total_pg);
	printf("%-30s %.0f B (RSS %.1f MiB / groups, fixed costs included)\n", "", rss_mean / groups,
	       rss_mean / 1048576.0);
	if (marginal > 0)
		printf("%-30s %.0f B (RSS difference to the %u-group case / group difference)\n", "", marginal,
		       prev_groups);
	struct bench_json j;
	char name[32];
	snprintf(name, sizeof(name), "groups-%u", groups);
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "case", name);
	bench_json_u64(&j, "groups", groups);
	bench_json_u64(&j, "workers", o->workers);
	bench_json_u64(&j, "leaders", leaders);
	bench_json_u64(&j, "election_ms_min", o->election_ms[0]);
	bench_json_u64(&j, "election_ms_max", o->election_ms[1]);
	bench_json_u64(&j, "heartbeat_ms", o->heartbeat_ms);
	bench_json_f64(&j, "ready_s", ready_s);
	bench_json_f64(&j, "elect_all_s", elect_s);
	bench_json_u64(&j, "all_quiet", all_quiet);
	bench_json_f64(&j, "quiet_s", all_quiet ? quiet_s : 0);
	bench_json_f64(&j, "idle_cpu_pct_max", pct_max);
	bench_json_f64(&j, "idle_cpu_pct_mean", (pct[0] + pct[1] + pct[2]) / 3);
	bench_json_f64(&j, "mem_bytes_per_group", status_pg);
	bench_json_f64(&j, "mem_total_bytes_per_group", total_pg);
	bench_json_f64(&j, "rss_bytes_per_group", rss_mean / groups);
	bench_json_f64(&j, "rss_mib", rss_mean / 1048576.0);
	if (marginal > 0)
		bench_json_f64(&j, "rss_marginal_bytes_per_group", marginal);
	bench_json_end(&j);
	prev_groups = groups;
	prev_rss = rss_mean;
	failed |= cluster_stop(c) != 0;
	free(c);
	return failed;
}
