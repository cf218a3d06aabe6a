/* The node's lifecycle (aegis/node.h): config -> shard map -> data dir ->
 * per-worker replicas (log recovery) -> port -> workers -> admin socket,
 * and the clean stop in reverse. aegisd.c is a thin main around it; an
 * embedder calls the same functions. */
#define _GNU_SOURCE
#include "node_int.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aegis/client_proto.h"
#include "aegis/hash.h"
#include "dp_clock.h"

#define POLL_SLEEP_NS 1000000
#define SUMMARY_GROUPS_MAX 4096

/* Default log: the replicas and the port log without a context, so the
 * prefix is per process (the last node started names it). */
static uint32_t default_log_node;

static void default_log(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "aegis[%u]: ", default_log_node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- configuration -------------------------------------------------------- */

static int load_config(const struct aeg_node_opts *o, struct aeg_config *cfg, char *err, size_t err_len)
{
	aeg_config_defaults(cfg);
	int rc = o->config_file != NULL ? aeg_config_load(cfg, o->config_file, err, err_len) : 0;
	for (uint32_t i = 0; rc == 0 && i < o->set_count; i++) {
		char key[128];
		const char *s = o->sets[i];
		const char *eq = s != NULL ? strchr(s, '=') : NULL;
		size_t klen = eq != NULL ? (size_t)(eq - s) : 0;
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			snprintf(err, err_len, "--set %s: expected SECTION.KEY=VALUE", s != NULL ? s : "(null)");
			return -EINVAL;
		}
		memcpy(key, s, klen);
		key[klen] = '\0';
		rc = aeg_config_set(cfg, key, eq + 1, err, err_len);
	}
	if (rc == 0)
		rc = aeg_config_validate(cfg, err, err_len);
	if (rc == 0 && cfg->node_id == 0) {
		snprintf(err, err_len, "%s: node.id is required", o->config_file != NULL ? o->config_file : "config");
		rc = -EINVAL;
	}
	return rc;
}

/* The dataplane's settings from the config (and the caller's EAL part). */
static int dp_config_of(struct aeg_node *n, const struct aeg_node_opts *o, char *err, size_t err_len)
{
	const struct aeg_config *cfg = &n->cfg;
	struct aeg_dp_config *a = &n->dp;
	memset(a, 0, sizeof(*a));
	int k = 0;
	n->eal[k++] = (char *)(o->name != NULL ? o->name : "aegis");
	for (uint32_t i = 0; i < cfg->eal_argc && k < NODE_EAL_MAX - 1; i++)
		n->eal[k++] = (char *)aeg_config_eal_arg(cfg, i);
	for (uint32_t i = 0; i < o->eal_arg_count && k < NODE_EAL_MAX - 1; i++)
		n->eal[k++] = o->eal_args[i];
	n->eal[k] = NULL;
	a->eal_argc = k;
	a->eal_argv = n->eal;
	for (int i = 1; i < k; i++) {
		const char *e = n->eal[i];
		if (strcmp(e, "-l") == 0 || strcmp(e, "-c") == 0 || strncmp(e, "--lcores", 8) == 0 ||
		    (strncmp(e, "-l", 2) == 0 && e[2] != '\0'))
			a->eal_cores_given = true;
	}
	a->port = cfg->transport == AEG_CONFIG_TRANSPORT_DPDK ? AEG_DP_PORT_ETHDEV : AEG_DP_PORT_UDP;
	a->node = cfg->node_id;
	a->ipv4 = cfg->ipv4;
	a->base_port = cfg->base_port;
	a->workers = (uint16_t)cfg->workers;
	a->cluster = cfg->cluster_id;
	a->static_arp = cfg->static_arp;
	a->frame_bytes = cfg->frame_bytes;
	for (uint32_t i = 0; i < cfg->peer_count; i++) {
		const struct aeg_config_peer *p = &cfg->peers[i];
		a->peers[a->peer_count++] = (struct aeg_dp_peer){
			.node = p->node, .ipv4 = p->ipv4, .base_port = p->base_port, .has_mac = p->has_mac,
			.mac = p->mac,
		};
	}
	if (cfg->cluster_key_file[0] != '\0') {
		if (aeg_config_load_key(cfg->cluster_key_file, a->key.bytes, err, err_len) != 0)
			return -EINVAL;
	}
	a->key_id = (uint8_t)cfg->cluster_key_id;
	if (cfg->cluster_key_accept_file[0] != '\0') {
		if (aeg_config_load_key(cfg->cluster_key_accept_file, a->accept_key.bytes, err, err_len) != 0)
			return -EINVAL;
		a->has_accept_key = true;
		a->accept_key_id = (uint8_t)cfg->cluster_key_accept_id;
	}
	/* Both keys, and different ones: with the client key a client must
	 * never be able to send Raft messages. */
	if (cfg->client_key_file[0] == '\0' || cfg->cluster_key_file[0] == '\0') {
		snprintf(err, err_len, "node.cluster_key_file and node.client_key_file are both required: files "
			 "of 32 hex digits, mode 0600, different keys (make one with: head -c16 /dev/urandom | "
			 "od -An -tx1 | tr -d ' \\n' > FILE)");
		return -EINVAL;
	}
	if (aeg_config_load_key(cfg->client_key_file, n->client_key.bytes, err, err_len) != 0)
		return -EINVAL;
	if (memcmp(n->client_key.bytes, a->key.bytes, sizeof(n->client_key.bytes)) == 0) {
		snprintf(err, err_len, "the client key equals the cluster key: a client could then send Raft "
			 "messages; use two different keys");
		return -EINVAL;
	}
	return 0;
}

static int build_map(const struct aeg_config *cfg, struct aeg_shard_map **out, char *err, size_t err_len)
{
	struct aeg_shard_node nodes[AEG_CONFIG_PEERS_MAX + 1];
	uint32_t n = 0;
	/* A joining node is not among the nodes the cluster formed with: its
	 * map is theirs (the "joined" record adds it, control/node_rebalance.c). */
	if (!cfg->join)
		nodes[n++] = (struct aeg_shard_node){ .id = cfg->node_id, .ipv4 = cfg->ipv4,
						      .udp_port_base = cfg->base_port, .weight = AEG_HASH_WEIGHT_ONE };
	for (uint32_t i = 0; i < cfg->peer_count; i++)
		nodes[n++] = (struct aeg_shard_node){
			.id = cfg->peers[i].node, .ipv4 = cfg->peers[i].ipv4,
			.udp_port_base = cfg->peers[i].base_port ? cfg->peers[i].base_port : cfg->base_port,
			.weight = AEG_HASH_WEIGHT_ONE,
		};
	struct aeg_shard_split *splits = NULL;
	if (cfg->split_point_count > 0 && (splits = calloc(cfg->split_point_count, sizeof(*splits))) == NULL) {
		snprintf(err, err_len, "shard map: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->split_point_count; i++) {
		splits[i].key = aeg_config_split_point(cfg, i);
		splits[i].len = (uint32_t)strlen(splits[i].key);
	}
	struct aeg_shard_assign *assign = NULL;
	if (cfg->assign_count > 0 && (assign = calloc(cfg->assign_count, sizeof(*assign))) == NULL) {
		free(splits);
		snprintf(err, err_len, "shard map: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->assign_count; i++) {
		const char *key;
		bool ok = aeg_config_assign(cfg, i, &key, &assign[i].len, &assign[i].shard, &assign[i].prefix);
		assert(ok); /* validated */
		(void)ok;
		assign[i].key = key;
	}
	_Static_assert((int)AEG_CONFIG_STRATEGY_TIME == (int)AEG_SHARD_TIME, "strategies in the same order");
	struct aeg_shard_map_params p = {
		.epoch = 1, .workers = cfg->workers, .strategy = (enum aeg_shard_strategy)cfg->strategy,
		.shard_count = cfg->shard_count, .replication_factor = cfg->replication_factor,
		.nodes = nodes, .node_count = n, .splits = splits, .assign = assign,
		.range_count = cfg->strategy == AEG_CONFIG_STRATEGY_RANGE ? cfg->split_point_count + 1 : 0,
		.assign_count = cfg->assign_count,
		.time_bucket = cfg->strategy == AEG_CONFIG_STRATEGY_TIME ? cfg->time_bucket : 0,
	};
	int rc = aeg_shard_map_build(out, &p);
	free(splits);
	free(assign);
	if (rc != 0)
		snprintf(err, err_len, "shard map: %s", strerror(-rc));
	return rc;
}

/* Everything that can be refused before anything starts. */
static int prepare(struct aeg_node *n, const struct aeg_node_opts *o, char *err, size_t err_len)
{
	int rc = load_config(o, &n->cfg, err, err_len);
	if (rc == 0)
		rc = dp_config_of(n, o, err, err_len);
	if (rc == 0)
		rc = build_map(&n->cfg, &n->map, err, err_len);
	return rc == 0 ? 0 : -EINVAL;
}

int aeg_node_check(const struct aeg_node_opts *o, uint32_t *node_id, char *err, size_t err_len)
{
	struct aeg_node *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, err_len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	int rc = prepare(n, o, err, err_len);
	if (rc == 0 && node_id != NULL)
		*node_id = n->cfg.node_id;
	aeg_shard_map_free(n->map);
	free(n);
	return rc;
}

/* ---- start ------------------------------------------------------------------ */

static uint8_t level_of(enum aeg_config_consistency c)
{
	return c == AEG_CONFIG_CONSISTENCY_ONE ? AEG_CLIENT_ONE
	       : c == AEG_CONFIG_CONSISTENCY_ALL ? AEG_CLIENT_ALL : AEG_CLIENT_QUORUM;
}

static int replicas_open(struct aeg_node *n)
{
	const struct aeg_config *cfg = &n->cfg;
	for (uint32_t w = 0; w < cfg->workers; w++) {
		struct aeg_replica_config rc = {
			.node = cfg->node_id, .worker = (uint16_t)w, .workers = (uint16_t)cfg->workers, .map = n->map,
			.data_dir = cfg->data_dir, .tick_ms = cfg->tick_ms,
			.election_ms_min = cfg->election_timeout_ms_min, .election_ms_max = cfg->election_timeout_ms_max,
			.heartbeat_ms = cfg->heartbeat_interval_ms, .pre_vote = cfg->pre_vote,
			.check_quorum = cfg->check_quorum, .lease_read = cfg->lease_read,
			.quiesce_ms = cfg->quiesce_after_ms, .log_entries_max = cfg->log_entries_max,
			.snapshot_every = cfg->snapshot_every_entries, .dgram_bytes_max = cfg->frame_bytes,
			.snap_bytes_per_s = cfg->rebalance_bytes_per_s / cfg->workers,
			.consistency_default = level_of(cfg->consistency_level),
			.kv = { .key_bytes_max = cfg->key_bytes_max, .value_bytes_max = cfg->value_bytes_max,
				.mem_bytes_max = cfg->memory_bytes_max / (cfg->shard_count ? cfg->shard_count : 1),
				/* a pipelining client keeps writes per shard in flight;
				 * results stay until its seq_floor passes them */
				.session_results_max = AEG_CLIENT_SESSION_WINDOW },
			.segment_bytes = cfg->wal_segment_bytes, .wal_batch_bytes_max = cfg->wal_batch_bytes_max,
			.wal_dsync = cfg->wal_dsync, .wal_no_sync = !cfg->wal_sync, .client_key = &n->client_key, .log = n->log,
			.cluster_key = &n->dp.key, .cluster = cfg->cluster_id, .ipv4 = cfg->ipv4,
			.base_port = cfg->base_port,
		};
		int r = aeg_replica_new(&n->rps[w], &rc);
		if (r != 0) {
			n->log("worker %u: recovery failed: %s", w, strerror(-r));
			return r;
		}
		aeg_replica_set_local(n->rps[w], &n->chans[w]);
	}
	return 0;
}

static void *poll_thread(void *arg)
{
	struct aeg_node *n = arg;
	while (!__atomic_load_n(&n->thread_stop, __ATOMIC_ACQUIRE)) {
		aeg_node_poll(n);
		struct timespec ts = { .tv_nsec = POLL_SLEEP_NS };
		(void)nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Workers, admin socket, the slow-path thread: the node serves after this. */
static int serve(struct aeg_node *n, const struct aeg_node_opts *o, char *err, size_t err_len)
{
	void *wargs[AEG_DP_WORKERS_MAX];
	for (uint32_t w = 0; w < n->cfg.workers; w++)
		wargs[w] = n->rps[w];
	struct aeg_dp_callbacks cb = {
		.on_msg = aeg_replica_on_msg, .on_tick = aeg_replica_on_tick, .on_raw = aeg_replica_on_raw,
		.on_rx_done = aeg_replica_on_rx_done, .on_exit = aeg_replica_on_exit,
		.wake_fd = aeg_replica_wake_fd, .on_ctl = aeg_replica_on_ctl,
	};
	int r = aeg_dp_runtime_init_cb(&n->rt, &n->dp, aeg_dp_node_port(n->dn), &cb, wargs);
	if (r != 0) {
		n->log("workers: %s", strerror(-r));
		snprintf(err, err_len, "workers: %s", strerror(-r));
		return r;
	}
	n->rt_ready = true;
	uint64_t now_ns = aeg_dp_now_ns();
	r = n->cfg.node_id != 0 ? node_members_init(&n->members, &n->cfg, n->map, now_ns / 1000000u) : -EINVAL;
	n->members_on = r == 0;
	if (r != 0 && n->cfg.node_id != 0)
		n->log("membership: %s (no node states)", strerror(-r));
	r = n->members_on ? node_rebalance_init(&n->rebalance, &n->cfg, n->map) : -EINVAL;
	n->rebalance_on = r == 0;
	if (r != 0 && n->members_on)
		n->log("rebalance: %s (no rebalancing)", strerror(-r));
	if (n->rebalance_on)
		n->rebalance.dn = n->dn;
	if (n->cfg.join)
		n->log("joining the cluster of the %u peers: this node asks them to record it (or an operator "
		       "runs aegisctl node add %u ADDRESS on a member); it holds replicas once the rebalancer "
		       "moves some here", n->cfg.peer_count, n->cfg.node_id);
	n->ns = (struct aeg_node_status){ .cfg = &n->cfg, .map = n->map, .rps = n->rps, .workers = n->cfg.workers,
					  .rt = &n->rt, .dn = n->dn, .started_ns = now_ns,
					  .members = n->members_on ? &n->members : NULL,
					  .rebalance = n->rebalance_on ? &n->rebalance : NULL };
	if (!o->no_admin && aeg_config_admin_socket_path(&n->cfg, n->sock, sizeof(n->sock)) == 0 &&
	    (r = aeg_admin_open(&n->admin, n->sock, aeg_node_status_handler, &n->ns)) != 0)
		n->log("admin socket %s: %s (aegisctl will not reach this node)", n->sock, strerror(-r));
	r = aeg_dp_runtime_start(&n->rt, aeg_dp_node_launcher(n->dn));
	if (r != 0) {
		n->log("starting workers: %s", strerror(-r));
		snprintf(err, err_len, "starting workers: %s", strerror(-r));
		return r;
	}
	n->running = true;
	if (!o->caller_polls) {
		r = -pthread_create(&n->thread, NULL, poll_thread, n);
		if (r != 0) {
			snprintf(err, err_len, "slow-path thread: %s", strerror(-r));
			return r;
		}
		n->thread_started = true;
	}
	const char *mac = aeg_worker_mac_impl(n->rt.w[0]);
	n->log("serving: %u shards, %u workers, transport %s, admin %s, frame MAC AES-128-GMAC (%s, key id %u)",
	       aeg_shard_map_shard_count(n->map), n->cfg.workers, aeg_dp_node_driver(n->dn),
	       n->admin != NULL ? n->sock : "(none)", mac, n->cfg.cluster_key_id);
	if (strcmp(mac, "software") == 0)
		n->log("warning: this CPU lacks AES-NI or PCLMULQDQ: frames are authenticated by the "
		       "portable code, ~50x slower per byte");
	if (!n->cfg.wal_sync)
		n->log("NOT DURABLE: wal.sync = false, the log is never fdatasync'ed (a crash of the "
		       "machine loses acknowledged writes; for benchmarks of replication only)");
	return 0;
}

int aeg_node_start(struct aeg_node **out, const struct aeg_node_opts *o, char *err, size_t err_len)
{
	*out = NULL;
	struct aeg_node *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, err_len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	n->log = o->log != NULL ? o->log : default_log;
	int rc = prepare(n, o, err, err_len);
	if (rc != 0) {
		aeg_shard_map_free(n->map);
		free(n);
		return rc;
	}
	default_log_node = n->cfg.node_id;
	node_local_init(n);
	if (mkdir(n->cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		n->log("data dir %s: %s", n->cfg.data_dir, strerror(-rc));
		snprintf(err, err_len, "data dir %s: %s", n->cfg.data_dir, strerror(-rc));
	}
	if (rc == 0 && (rc = replicas_open(n)) != 0)
		snprintf(err, err_len, "log recovery: %s", strerror(-rc));
	if (rc == 0 && (rc = aeg_dp_node_open(&n->dp, n->log, &n->dn)) != 0) {
		n->log("port: %s", strerror(-rc));
		snprintf(err, err_len, "port: %s", strerror(-rc));
	}
	if (rc == 0)
		rc = serve(n, o, err, err_len);
	if (rc != 0) {
		rc = rc == -EINVAL ? -EIO : rc; /* -EINVAL means "configuration" to callers */
		aeg_node_stop(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* ---- running ------------------------------------------------------------------ */

void aeg_node_poll(struct aeg_node *n)
{
	uint64_t now_ns = aeg_dp_now_ns();
	aeg_dp_node_poll(n->dn, now_ns);
	if (n->members_on && n->running)
		node_members_poll(&n->members, n->rps, n->cfg.workers, now_ns / 1000000u, n->log, &n->rt);
	if (n->rebalance_on && n->running)
		node_rebalance_poll(&n->rebalance, n->rps, n->cfg.workers, &n->members, now_ns / 1000000u, n->log,
				    &n->rt);
	if (n->rebalance_on && n->running)
		node_join_poll(&n->join, &n->rebalance, n->rps[0], &n->cfg, now_ns / 1000000u, n->log, &n->rt);
	if (n->admin != NULL)
		aeg_admin_poll(n->admin);
}

uint32_t aeg_node_id(const struct aeg_node *n)
{
	return n->cfg.node_id;
}

int aeg_node_status_json(struct aeg_node *n, char **json, size_t *len)
{
	struct aeg_admin_reply r;
	aeg_json_init(&r.json, AEG_ADMIN_REPLY_BYTES_MAX);
	int rc = aeg_node_status_handler(&n->ns, "{\"cmd\":\"status\"}", &r);
	if (rc == 0 && r.json.overflow)
		rc = r.json.buf == NULL ? -ENOMEM : -EMSGSIZE;
	if (rc == 0 && r.json.buf == NULL)
		rc = -ENOMEM;
	if (rc != 0) {
		aeg_json_free(&r.json);
		return rc;
	}
	*json = r.json.buf; /* the writer's malloc'ed, NUL-terminated text */
	if (len != NULL)
		*len = r.json.len;
	return 0;
}

/* ---- stop ------------------------------------------------------------------------ */

/* One line per worker at stop: what the operator would ask first. */
static void log_summary(struct aeg_node *n)
{
	struct aeg_replica_group_status *gs = calloc(SUMMARY_GROUPS_MAX, sizeof(*gs));
	for (uint32_t w = 0; w < n->cfg.workers; w++) {
		struct aeg_replica_status st;
		uint32_t k = aeg_replica_status_read(n->rps[w], &st, gs, gs != NULL ? SUMMARY_GROUPS_MAX : 0);
		uint32_t leaders = 0;
		uint64_t applied = 0;
		for (uint32_t i = 0; gs != NULL && i < k && i < SUMMARY_GROUPS_MAX; i++) {
			leaders += gs[i].role == AEG_RAFT_LEADER;
			applied += gs[i].applied;
		}
		n->log("worker %u: %u groups, %u led here, %llu entries applied, %llu log syncs, "
		       "%llu client requests, %llu writes and %llu reads answered ok", w, k, leaders,
		       (unsigned long long)applied, (unsigned long long)st.wal_syncs,
		       (unsigned long long)st.client_reqs, (unsigned long long)st.writes_ok,
		       (unsigned long long)st.reads_ok);
		struct aeg_worker_stats ws;
		aeg_worker_stats_read(n->rt.w[w], &ws);
		char drops[512];
		int len = 0;
		for (int d = 1; d < AEG_WIRE_DROP_NR && len < 400; d++)
			if (ws.drops[d] != 0)
				len += snprintf(drops + len, sizeof(drops) - (size_t)len, " %s=%llu", aeg_wire_drop_name(d),
						(unsigned long long)ws.drops[d]);
		drops[len] = '\0';
		n->log("worker %u: packets rx %llu tx %llu (tx dropped %llu, no buffer %llu), drops:%s; large "
		       "messages sent %llu failed %llu busy %llu, retransmits %llu; raft msgs bad %llu, unknown group "
		       "%llu, send errors %llu, held dropped %llu, log retries %llu", w,
		       (unsigned long long)ws.rx_pkts, (unsigned long long)ws.tx_pkts,
		       (unsigned long long)ws.tx_dropped, (unsigned long long)ws.tx_no_buf, len ? drops : " none",
		       (unsigned long long)ws.frag.tx_msgs, (unsigned long long)ws.frag.tx_failed,
		       (unsigned long long)ws.frag.tx_busy, (unsigned long long)ws.frag.tx_rtx,
		       (unsigned long long)st.gd.bad_msgs, (unsigned long long)st.gd.unknown_group,
		       (unsigned long long)st.gd.send_errors, (unsigned long long)st.gd.held_dropped,
		       (unsigned long long)st.gd.log_retries);
		if (st.local_dgrams != 0 || st.local_drops != 0)
			n->log("worker %u: embedded clients: %llu datagrams in, %llu replies out, %llu dropped", w,
			       (unsigned long long)st.local_dgrams, (unsigned long long)st.local_replies,
			       (unsigned long long)st.local_drops);
	}
	free(gs);
}

int aeg_node_stop(struct aeg_node *n)
{
	int result = 0;
	if (n == NULL)
		return 0;
	if (n->thread_started) {
		__atomic_store_n(&n->thread_stop, true, __ATOMIC_RELEASE);
		int r = pthread_join(n->thread, NULL);
		assert(r == 0);
		(void)r;
	}
	if (n->running) {
		n->log("stopping: workers first, then the logs are flushed and synced");
		aeg_dp_runtime_stop(&n->rt);
		log_summary(n);
	}
	aeg_admin_close(n->admin);
	if (n->rebalance_on)
		node_rebalance_fini(&n->rebalance);
	n->rebalance_on = false;
	if (n->rt_ready)
		aeg_dp_runtime_fini(&n->rt);
	for (uint32_t w = 0; w < n->cfg.workers && w < AEG_DP_WORKERS_MAX; w++) {
		/* flushes and syncs the log */
		if (aeg_replica_close(n->rps[w]) != 0 && result == 0)
			result = -EIO;
	}
	aeg_dp_node_close(n->dn);
	aeg_shard_map_free(n->map);
	node_local_fini(n);
	free(n);
	return result;
}
