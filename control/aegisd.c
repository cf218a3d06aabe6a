/* aegisd: the replicated key-value node. Reads the config file (TOML,
 * control/config.h), builds the shard map every node computes the same
 * way (lib/shard), opens the port (kernel UDP, or DPDK after rte_eal_init),
 * recovers each worker's shards from its log (dataplane/replica), runs the
 * workers, and serves the admin socket on the main thread until SIGINT or
 * SIGTERM, then stops the workers, flushes and syncs the logs, exits 0.
 *
 *   aegisd [EAL args --] --config FILE [--set section.key=value ...]
 *
 * Exit codes: 0 clean stop, 1 failed while running, 2 usage or config
 * error (nothing started), 3 start-up failed (port, EAL, log recovery). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aegis/client_proto.h"
#include "aegis/hash.h"
#include "aegis/shard.h"
#include "admin.h"
#include "node_status.h"
#include "config.h"
#include "dp_clock.h"
#include "dp_node.h"
#include "dp_runtime.h"
#include "replica.h"

#define SETS_MAX 64
#define MAIN_SLEEP_NS 1000000

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_stop_pid; /* who sent it: an unexpected stop names its sender */
static uint32_t g_node;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	g_stop_pid = si != NULL ? (sig_atomic_t)si->si_pid : 0;
	g_stop = sig;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "aegisd[%u]: ", g_node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct cli {
	int eal_argc;
	char **eal_argv;
	const char *config;
	const char *sets[SETS_MAX];
	int n_sets;
	const char *ready_file;
	bool help;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegisd [EAL args --] --config FILE [options]\n"
		"\n"
		"The Aegis replicated key-value node. Everything is in the config file\n"
		"(TOML: [replication], [raft], [sharding], [node], [limits], [wal]; see\n"
		"README.md); options override single keys.\n"
		"\n"
		"  -c, --config FILE        the config file (required)\n"
		"  -s, --set SEC.KEY=VALUE  override one key, e.g. --set node.workers=2\n"
		"                           (repeatable; the command line wins)\n"
		"      --ready-file FILE    write the pid to FILE once serving\n"
		"  -h, --help               this text\n"
		"\n"
		"DPDK: with node.transport = \"dpdk\", EAL arguments come from node.eal_args\n"
		"and from the command line before \"--\" (both are used, file first).\n"
		"Exit codes: 0 stopped cleanly, 1 failed while running, 2 usage/config\n"
		"error, 3 start-up failed (port, EAL, log).\n");
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	int split = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			split = i;
			break;
		}
	c->eal_argc = split > 0 ? split - 1 : 0;
	c->eal_argv = split > 0 ? argv + 1 : NULL;
	int oargc = split > 0 ? argc - split : argc;
	char **oargv = split > 0 ? argv + split : argv;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "set", required_argument, NULL, 's' },
		{ "ready-file", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(oargc, oargv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': c->config = optarg; break;
		case 's':
			if (c->n_sets == SETS_MAX) {
				fprintf(stderr, "aegisd: more than %d --set\n", SETS_MAX);
				return -EINVAL;
			}
			c->sets[c->n_sets++] = optarg;
			break;
		case 'r': c->ready_file = optarg; break;
		case 'h': c->help = true; return 0;
		default:
			fprintf(stderr, "aegisd: unknown or incomplete option %s (see --help)\n",
				oargv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < oargc) {
		fprintf(stderr, "aegisd: unexpected argument %s (see --help)\n", oargv[optind]);
		return -EINVAL;
	}
	if (c->config == NULL) {
		fprintf(stderr, "aegisd: --config FILE is required (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

static int load_config(const struct cli *c, struct aeg_config *cfg)
{
	char err[512];
	aeg_config_defaults(cfg);
	int rc = aeg_config_load(cfg, c->config, err, sizeof(err));
	for (int i = 0; rc == 0 && i < c->n_sets; i++) {
		char key[128];
		const char *eq = strchr(c->sets[i], '=');
		size_t klen = eq != NULL ? (size_t)(eq - c->sets[i]) : 0;
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			snprintf(err, sizeof(err), "--set %s: expected SECTION.KEY=VALUE", c->sets[i]);
			rc = -EINVAL;
			break;
		}
		memcpy(key, c->sets[i], klen);
		key[klen] = '\0';
		rc = aeg_config_set(cfg, key, eq + 1, err, sizeof(err));
	}
	if (rc == 0)
		rc = aeg_config_validate(cfg, err, sizeof(err));
	if (rc == 0 && cfg->node_id == 0) {
		snprintf(err, sizeof(err), "%s: node.id is required", c->config);
		rc = -EINVAL;
	}
	if (rc != 0)
		fprintf(stderr, "aegisd: %s\n", err);
	return rc;
}

/* The dataplane's arguments from the config (and the command line's EAL part). */
static int node_args_of(const struct aeg_config *cfg, const struct cli *c, struct aeg_node_args *a,
			char **eal, int eal_cap)
{
	memset(a, 0, sizeof(*a));
	int n = 0;
	eal[n++] = "aegisd";
	for (uint32_t i = 0; i < cfg->eal_argc && n < eal_cap - 1; i++)
		eal[n++] = (char *)aeg_config_eal_arg(cfg, i);
	for (int i = 0; i < c->eal_argc && n < eal_cap - 1; i++)
		eal[n++] = c->eal_argv[i];
	eal[n] = NULL;
	a->eal_argc = n;
	a->eal_argv = eal;
	for (int i = 1; i < n; i++)
		if (strcmp(eal[i], "-l") == 0 || strcmp(eal[i], "-c") == 0 || strncmp(eal[i], "--lcores", 8) == 0 ||
		    (strncmp(eal[i], "-l", 2) == 0 && eal[i][2] != '\0'))
			a->eal_cores_given = true;
	a->port = cfg->transport == AEG_CONFIG_TRANSPORT_DPDK ? AEG_NODE_PORT_ETHDEV : AEG_NODE_PORT_UDP;
	a->node = cfg->node_id;
	a->ipv4 = cfg->ipv4;
	a->base_port = cfg->base_port;
	a->workers = (uint16_t)cfg->workers;
	a->cluster = cfg->cluster_id;
	a->static_arp = cfg->static_arp;
	for (uint32_t i = 0; i < cfg->peer_count; i++) {
		const struct aeg_config_peer *p = &cfg->peers[i];
		a->peers[a->peer_count++] = (struct aeg_node_peer){
			.node = p->node, .ipv4 = p->ipv4, .base_port = p->base_port, .has_mac = p->has_mac,
			.mac = p->mac,
		};
	}
	if (cfg->cluster_key_file[0] != '\0') {
		char err[256];
		if (aeg_config_load_key(cfg->cluster_key_file, a->key.bytes, err, sizeof(err)) != 0) {
			fprintf(stderr, "aegisd: %s\n", err);
			return -EINVAL;
		}
		a->key_given = true;
	}
	return 0;
}

static int build_map(const struct aeg_config *cfg, struct aeg_shard_map **out)
{
	struct aeg_shard_node nodes[AEG_CONFIG_PEERS_MAX + 1];
	uint32_t n = 0;
	nodes[n++] = (struct aeg_shard_node){ .id = cfg->node_id, .ipv4 = cfg->ipv4,
					      .udp_port_base = cfg->base_port, .weight = AEG_HASH_WEIGHT_ONE };
	for (uint32_t i = 0; i < cfg->peer_count; i++)
		nodes[n++] = (struct aeg_shard_node){
			.id = cfg->peers[i].node, .ipv4 = cfg->peers[i].ipv4,
			.udp_port_base = cfg->peers[i].base_port ? cfg->peers[i].base_port : cfg->base_port,
			.weight = AEG_HASH_WEIGHT_ONE,
		};
	static struct aeg_shard_split splits[AEG_CONFIG_SPLITS_MAX];
	for (uint32_t i = 0; i < cfg->split_point_count; i++) {
		splits[i].key = aeg_config_split_point(cfg, i);
		splits[i].len = (uint32_t)strlen(splits[i].key);
	}
	struct aeg_shard_map_params p = {
		.epoch = 1, .workers = cfg->workers,
		.strategy = cfg->strategy == AEG_CONFIG_STRATEGY_RANGE ? AEG_SHARD_RANGE : AEG_SHARD_HASH,
		.shard_count = cfg->shard_count, .replication_factor = cfg->replication_factor,
		.nodes = nodes, .node_count = n, .splits = cfg->split_point_count ? splits : NULL,
	};
	int rc = aeg_shard_map_build(out, &p);
	if (rc != 0)
		fprintf(stderr, "aegisd: shard map: %s\n", strerror(-rc));
	return rc;
}

static uint8_t level_of(enum aeg_config_consistency c)
{
	return c == AEG_CONFIG_CONSISTENCY_ONE ? AEG_CLIENT_ONE
	       : c == AEG_CONFIG_CONSISTENCY_ALL ? AEG_CLIENT_ALL : AEG_CLIENT_QUORUM;
}

static int replicas_open(const struct aeg_config *cfg, const struct aeg_shard_map *map,
			 const struct aeg_wire_key *client_key, struct aeg_replica **rps)
{
	for (uint32_t w = 0; w < cfg->workers; w++) {
		struct aeg_replica_config rc = {
			.node = cfg->node_id, .worker = (uint16_t)w, .workers = (uint16_t)cfg->workers, .map = map,
			.data_dir = cfg->data_dir, .tick_ms = cfg->tick_ms,
			.election_ms_min = cfg->election_timeout_ms_min, .election_ms_max = cfg->election_timeout_ms_max,
			.heartbeat_ms = cfg->heartbeat_interval_ms, .pre_vote = cfg->pre_vote,
			.check_quorum = cfg->check_quorum, .lease_read = cfg->lease_read,
			.quiesce_ms = cfg->quiesce_after_ms, .log_entries_max = cfg->log_entries_max,
			.snapshot_every = cfg->snapshot_every_entries,
			.consistency_default = level_of(cfg->consistency_level),
			.kv = { .key_bytes_max = cfg->key_bytes_max, .value_bytes_max = cfg->value_bytes_max,
				.mem_bytes_max = cfg->memory_bytes_max / (cfg->shard_count ? cfg->shard_count : 1) },
			.segment_bytes = cfg->wal_segment_bytes, .wal_batch_bytes_max = cfg->wal_batch_bytes_max,
			.wal_dsync = cfg->wal_dsync, .client_key = client_key, .log = logf_,
		};
		int r = aeg_replica_new(&rps[w], &rc);
		if (r != 0) {
			logf_("worker %u: recovery failed: %s", w, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* One line per worker at stop: what the operator would ask first. */
static void log_summary(struct aeg_replica **rps, uint32_t workers, struct aeg_dp_runtime *rt)
{
	static struct aeg_replica_group_status gs[4096];
	for (uint32_t w = 0; w < workers; w++) {
		struct aeg_replica_status st;
		uint32_t n = aeg_replica_status_read(rps[w], &st, gs, 4096);
		uint32_t leaders = 0;
		uint64_t applied = 0;
		for (uint32_t i = 0; i < n && i < 4096; i++) {
			leaders += gs[i].role == AEG_RAFT_LEADER;
			applied += gs[i].applied;
		}
		logf_("worker %u: %u groups, %u led here, %llu entries applied, %llu log syncs, "
		      "%llu client requests, %llu writes and %llu reads answered ok", w, n, leaders,
		      (unsigned long long)applied, (unsigned long long)st.wal_syncs,
		      (unsigned long long)st.client_reqs, (unsigned long long)st.writes_ok,
		      (unsigned long long)st.reads_ok);
		struct aeg_worker_stats ws;
		aeg_worker_stats_read(rt->w[w], &ws);
		char drops[512];
		int len = 0;
		for (int d = 1; d < AEG_WIRE_DROP_NR && len < 400; d++)
			if (ws.drops[d] != 0)
				len += snprintf(drops + len, sizeof(drops) - (size_t)len, " %s=%llu", aeg_wire_drop_name(d),
						(unsigned long long)ws.drops[d]);
		drops[len] = '\0';
		logf_("worker %u: packets rx %llu tx %llu (tx dropped %llu, no buffer %llu), drops:%s; large "
		      "messages sent %llu failed %llu busy %llu, retransmits %llu; raft msgs bad %llu, unknown group "
		      "%llu, send errors %llu, held dropped %llu, log retries %llu", w,
		      (unsigned long long)ws.rx_pkts, (unsigned long long)ws.tx_pkts,
		      (unsigned long long)ws.tx_dropped, (unsigned long long)ws.tx_no_buf, len ? drops : " none",
		      (unsigned long long)ws.frag.tx_msgs, (unsigned long long)ws.frag.tx_failed,
		      (unsigned long long)ws.frag.tx_busy, (unsigned long long)ws.frag.tx_rtx,
		      (unsigned long long)st.gd.bad_msgs, (unsigned long long)st.gd.unknown_group,
		      (unsigned long long)st.gd.send_errors, (unsigned long long)st.gd.held_dropped,
		      (unsigned long long)st.gd.log_retries);
	}
}

/* The command line of the process that stopped us, if it still runs. */
static void sender_cmdline(int pid, char *out, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	if (f == NULL)
		return;
	size_t len = fread(out, 1, n - 1, f);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[len] = '\0';
}

static int write_ready(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) == 0 ? 0 : -EIO;
}

static int serve(const struct aeg_config *cfg, const struct cli *c, struct aeg_dp_node *dn,
		 const struct aeg_node_args *args, struct aeg_replica **rps, const struct aeg_shard_map *map)
{
	void *wargs[AEG_NODE_WORKERS_MAX];
	for (uint32_t w = 0; w < cfg->workers; w++)
		wargs[w] = rps[w];
	struct aeg_dp_callbacks cb = {
		.on_msg = aeg_replica_on_msg, .on_tick = aeg_replica_on_tick, .on_raw = aeg_replica_on_raw,
		.on_rx_done = aeg_replica_on_rx_done,
	};
	struct aeg_dp_runtime rt;
	int r = aeg_dp_runtime_init_cb(&rt, args, aeg_dp_node_port(dn), &cb, wargs);
	if (r != 0) {
		logf_("workers: %s", strerror(-r));
		return 3;
	}
	char sock[AEG_CONFIG_SOCKET_PATH_BYTES] = "";
	struct aeg_node_status ns = { .cfg = cfg, .map = map, .rps = rps, .workers = cfg->workers, .rt = &rt,
				      .dn = dn, .started_ns = aeg_dp_now_ns() };
	struct aeg_admin *admin = NULL;
	if (aeg_config_admin_socket_path(cfg, sock, sizeof(sock)) == 0 &&
	    (r = aeg_admin_open(&admin, sock, aeg_node_status_handler, &ns)) != 0)
		logf_("admin socket %s: %s (aegisctl will not reach this node)", sock, strerror(-r));
	r = aeg_dp_runtime_start(&rt, aeg_dp_node_launcher(dn));
	if (r != 0) {
		logf_("starting workers: %s", strerror(-r));
		aeg_admin_close(admin);
		aeg_dp_runtime_fini(&rt);
		return 3;
	}
	logf_("serving: %u shards, %u workers, transport %s, admin %s", aeg_shard_map_shard_count(map), cfg->workers,
	      aeg_dp_node_driver(dn), admin != NULL ? sock : "(none)");
	if (c->ready_file != NULL && (r = write_ready(c->ready_file)) != 0)
		logf_("ready file %s: %s", c->ready_file, strerror(-r));
	while (!g_stop) {
		uint64_t now = aeg_dp_now_ns();
		aeg_dp_node_poll(dn, now);
		if (admin != NULL)
			aeg_admin_poll(admin);
		struct timespec ts = { .tv_nsec = MAIN_SLEEP_NS };
		(void)nanosleep(&ts, NULL);
	}
	char who[160] = "";
	sender_cmdline((int)g_stop_pid, who, sizeof(who));
	logf_("stopping (%s from pid %d%s%s): workers first, then the logs are flushed and synced",
	      strsignal(g_stop), (int)g_stop_pid, who[0] ? ", " : "", who);
	aeg_dp_runtime_stop(&rt);
	log_summary(rps, cfg->workers, &rt);
	aeg_admin_close(admin);
	aeg_dp_runtime_fini(&rt);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	if (parse_cli(argc, argv, &c) != 0)
		return 2;
	if (c.help) {
		usage(stdout);
		return 0;
	}
	static struct aeg_config cfg;
	if (load_config(&c, &cfg) != 0)
		return 2;
	g_node = cfg.node_id;
	static struct aeg_node_args args;
	static char *eal[AEG_CONFIG_EAL_ARGS_MAX + 64];
	if (node_args_of(&cfg, &c, &args, eal, (int)(sizeof(eal) / sizeof(eal[0]))) != 0)
		return 2;
	struct aeg_wire_key client_key = { { 0 } };
	if (cfg.client_key_file[0] != '\0') {
		char err[256];
		if (aeg_config_load_key(cfg.client_key_file, client_key.bytes, err, sizeof(err)) != 0) {
			fprintf(stderr, "aegisd: %s\n", err);
			return 2;
		}
	} else {
		logf_("warning: no node.client_key_file: clients authenticate with the all-zero test key");
	}
	if (!args.key_given)
		logf_("warning: no node.cluster_key_file: nodes authenticate with the fixed test key");
	struct aeg_shard_map *map = NULL;
	if (build_map(&cfg, &map) != 0)
		return 2;
	if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		logf_("data dir %s: %s", cfg.data_dir, strerror(errno));
		return 3;
	}
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return 3;
	signal(SIGPIPE, SIG_IGN);
	struct aeg_replica *rps[AEG_NODE_WORKERS_MAX] = { 0 };
	int rc = replicas_open(&cfg, map, &client_key, rps);
	struct aeg_dp_node *dn = NULL;
	if (rc == 0) {
		rc = aeg_dp_node_open(&args, logf_, &dn);
		if (rc != 0)
			logf_("port: %s", strerror(-rc));
	}
	int code = rc == 0 ? serve(&cfg, &c, dn, &args, rps, map) : 3;
	for (uint32_t w = 0; w < cfg.workers; w++)
		aeg_replica_free(rps[w]);
	aeg_dp_node_close(dn);
	aeg_shard_map_free(map);
	logf_("stopped (exit %d)", code);
	return code;
}
