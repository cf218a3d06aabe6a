/* aegis-bench-raft: throughput of the Raft core alone. Three replicas in one
 * process on one core, zero-latency in-process delivery (a message is
 * stepped into its destination as soon as its sender's ready hands it out),
 * in-memory storage (a write is durable as soon as it is handed out). The
 * leader proposes batches of B entries of P bytes; we count entries
 * committed and applied on all three replicas per second, and heap
 * allocations per committed entry (malloc/calloc/realloc are wrapped at
 * link time and counted after setup). */
#include "common.h"

#include "aegis/raft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	allocs++;
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

#define NODES 3

struct cluster {
	struct aeg_raft *r[NODES + 1];
	uint64_t applied[NODES + 1];
	uint64_t checksum;
};

static int cluster_init(struct cluster *c)
{
	struct aeg_raft_conf conf = { .n = NODES };
	for (uint32_t i = 0; i < NODES; i++) {
		conf.ids[i] = i + 1;
		conf.roles[i] = AEG_RAFT_MEMBER_VOTER;
	}
	for (uint32_t id = 1; id <= NODES; id++) {
		struct aeg_raft_config cfg;
		aeg_raft_config_default(&cfg, id, 7 * id, 10);
		cfg.peers_max = NODES;
		cfg.log_entries_max = 1u << 16;
		cfg.log_bytes_max = 32u << 20;
		cfg.outbox_max = 1024;
		cfg.inflight_max = 256;
		cfg.batch_entries_max = 256;
		cfg.batch_bytes_max = 1u << 20;
		int rc = aeg_raft_new(&c->r[id], &cfg, &conf);
		if (rc != 0)
			return rc;
		c->applied[id] = 0;
	}
	return 0;
}

static void cluster_fini(struct cluster *c)
{
	for (uint32_t id = 1; id <= NODES; id++)
		aeg_raft_free(c->r[id]);
}

static void deliver(struct cluster *c, const struct aeg_raft_msg *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = aeg_raft_step(c->r[m[i].to], &m[i]);
		if (rc != 0) {
			fprintf(stderr, "step: %d\n", rc);
			exit(1);
		}
	}
}

/* One ready of one node; returns whether there was one. */
static bool process(struct cluster *c, uint32_t id)
{
	struct aeg_raft *r = c->r[id];
	if (!aeg_raft_has_ready(r))
		return false;
	struct aeg_raft_ready rd;
	aeg_raft_ready(r, &rd);
	deliver(c, rd.msgs_now, rd.n_msgs_now);
	if (rd.persist_hi >= rd.persist_lo)
		aeg_raft_persisted(r, rd.persist_hi, aeg_raft_entry_at(r, rd.persist_hi)->term);
	deliver(c, rd.msgs, rd.n_msgs);
	for (uint64_t i = rd.apply_lo; i <= rd.apply_hi; i++) {
		const struct aeg_raft_entry *e = aeg_raft_entry_at(r, i);
		c->checksum += e->len > 0 ? e->data[0] : 1;  /* "apply": touch it */
	}
	if (rd.apply_hi >= rd.apply_lo)
		c->applied[id] = rd.apply_hi;
	aeg_raft_advance(r, &rd);
	return true;
}

static void settle(struct cluster *c)
{
	bool any = true;
	while (any) {
		any = false;
		for (uint32_t id = 1; id <= NODES; id++)
			any |= process(c, id);
	}
}

static uint64_t min_applied(const struct cluster *c)
{
	uint64_t m = UINT64_MAX;
	for (uint32_t id = 1; id <= NODES; id++)
		if (c->applied[id] < m)
			m = c->applied[id];
	return m;
}

struct result {
	double entries_per_s;
	double allocs_per_entry;
	uint64_t entries;
	double secs;
};

static int run(uint32_t batch, uint32_t payload, double secs_target, struct result *res)
{
	static struct cluster c;
	int rc = cluster_init(&c);
	if (rc != 0)
		return rc;
	aeg_raft_campaign(c.r[1]);
	settle(&c);
	if (aeg_raft_role(c.r[1]) != AEG_RAFT_LEADER)
		return -EAGAIN;
	uint8_t data[256][128];
	struct aeg_raft_payload p[256];
	for (uint32_t i = 0; i < batch; i++) {
		memset(data[i], (int)(i + 1), payload);
		p[i] = (struct aeg_raft_payload){ .data = data[i], .len = payload };
	}
	uint64_t start_applied = min_applied(&c);
	uint64_t allocs0 = allocs;
	uint64_t t0 = bench_now_ns(), t = t0;
	uint64_t deadline = t0 + (uint64_t)(secs_target * 1e9);
	for (uint32_t round = 0; t < deadline; round++) {
		rc = aeg_raft_propose(c.r[1], p, batch, NULL);
		if (rc != 0)
			return rc;
		settle(&c);
		/* Keep the window small: everything applied everywhere can go. */
		uint64_t done = min_applied(&c);
		struct aeg_raft_status st;
		aeg_raft_status(c.r[1], &st);
		if (st.last_index - st.first_index > (1u << 14))
			for (uint32_t id = 1; id <= NODES; id++)
				if (aeg_raft_compact(c.r[id], done) != 0)
					return -EINVAL;
		if ((round & 63) == 0)
			t = bench_now_ns();
	}
	t = bench_now_ns();
	uint64_t entries = min_applied(&c) - start_applied;
	res->entries = entries;
	res->secs = (double)(t - t0) / 1e9;
	res->entries_per_s = (double)entries / res->secs;
	res->allocs_per_entry = (double)(allocs - allocs0) / (double)(entries ? entries : 1);
	bench_consume_u64(c.checksum);
	cluster_fini(&c);
	return 0;
}

struct peer_result {
	uint32_t batch, payload;
	double entries_per_s, allocs_per_entry;
	bool have;
};

/* Runs the etcd peer (bench/raft_core/etcd) and reads its lines. */
static uint32_t run_peer(const char *path, double secs, struct peer_result *out, uint32_t max)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "'%s' %.3f", path, secs);
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return 0;
	uint32_t n = 0;
	char line[256];
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		struct peer_result *p = &out[n];
		unsigned long long entries;
		double el;
		if (sscanf(line, "%u %u %lf %lf %llu %lf", &p->batch, &p->payload,
			   &p->entries_per_s, &p->allocs_per_entry, &entries, &el) == 6) {
			p->have = true;
			n++;
		}
	}
	int rc = pclose(f);
	if (rc != 0)
		fprintf(stderr, "etcd peer exited with %d\n", rc);
	return n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: aegis-bench-raft [SECONDS [ETCD_PEER]]\n"
		       "  Entries committed and applied on all 3 replicas per second (one process,\n"
		       "  zero-latency delivery, in-memory storage) for batch 1/16/256 and 16/128-byte\n"
		       "  payloads, SECONDS per case (default 1), then the same workload on etcd's raft\n"
		       "  (ETCD_PEER, else $AEGIS_ETCD_RAFT_BENCH, else etcd-raft-bench next to this\n"
		       "  binary; built by meson when golang-go and golang-etcd-server-dev are installed).\n");
		return 0;
	}
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	if (secs <= 0) {
		fprintf(stderr, "aegis-bench-raft: SECONDS must be a positive number (try --help)\n");
		return 2;
	}
	/* The etcd peer: argv[2], else $AEGIS_ETCD_RAFT_BENCH, else next to us. */
	char peer_path[512] = "";
	if (argc > 2)
		snprintf(peer_path, sizeof(peer_path), "%s", argv[2]);
	else if (getenv("AEGIS_ETCD_RAFT_BENCH") != NULL)
		snprintf(peer_path, sizeof(peer_path), "%s", getenv("AEGIS_ETCD_RAFT_BENCH"));
	else {
		snprintf(peer_path, sizeof(peer_path), "%s", argv[0]);
		char *slash = strrchr(peer_path, '/');
		size_t off = slash != NULL ? (size_t)(slash - peer_path + 1) : 0;
		snprintf(peer_path + off, sizeof(peer_path) - off, "etcd-raft-bench");
	}
	struct peer_result peer[6] = { 0 };
	uint32_t n_peer = 0;
	char extra[160];
	snprintf(extra, sizeof(extra),
		 "3 replicas in one process, zero-latency delivery, in-memory storage, %.1f s per case", secs);
	bench_print_setup("aegis-bench-raft", extra);
	printf("# heap allocations counted during setup of one case: ");
	uint64_t a0 = allocs;
	static struct cluster probe;
	if (cluster_init(&probe) == 0)
		cluster_fini(&probe);
	printf("%llu (the counter works; steady state should add none)\n",
	       (unsigned long long)(allocs - a0));
	struct result mine[6];
	uint32_t k = 0;
	static const uint32_t batches[] = { 1, 16, 256 };
	static const uint32_t payloads[] = { 16, 128 };
	for (uint32_t b = 0; b < 3; b++) {
		for (uint32_t q = 0; q < 2; q++) {
			struct result res;
			int rc = run(batches[b], payloads[q], secs, &res);
			if (rc != 0) {
				fprintf(stderr, "batch %u payload %u: error %d\n", batches[b], payloads[q], rc);
				return 1;
			}
			mine[k++] = res;
			struct bench_json j;
			bench_json_begin(&j, "aegis-bench-raft");
			bench_json_str(&j, "impl", "aegis");
			bench_json_u64(&j, "replicas", NODES);
			bench_json_u64(&j, "batch", batches[b]);
			bench_json_u64(&j, "payload_bytes", payloads[q]);
			bench_json_f64(&j, "entries_per_s", res.entries_per_s);
			bench_json_f64(&j, "allocs_per_entry", res.allocs_per_entry);
			bench_json_u64(&j, "entries", res.entries);
			bench_json_f64(&j, "seconds", res.secs);
			bench_json_end(&j);
		}
	}
	if (access(peer_path, X_OK) == 0)
		n_peer = run_peer(peer_path, secs, peer, 6);
	else
		printf("# etcd peer not found at %s (install golang-go golang-etcd-server-dev, e.g. with tools/setup.sh, and rebuild)\n", peer_path);
	printf("\n%-6s %-8s %14s %12s %14s %12s %8s\n", "batch", "payload", "aegis e/s",
	       "aegis a/e", "etcd e/s", "etcd a/e", "ratio");
	for (uint32_t i = 0; i < 6; i++) {
		uint32_t b = batches[i / 2], q = payloads[i % 2];
		const struct peer_result *p = NULL;
		for (uint32_t j = 0; j < n_peer; j++)
			if (peer[j].batch == b && peer[j].payload == q)
				p = &peer[j];
		if (p == NULL) {
			printf("%-6u %-8u %14.0f %12.4f %14s %12s %8s\n", b, q, mine[i].entries_per_s,
			       mine[i].allocs_per_entry, "-", "-", "-");
			continue;
		}
		double ratio = mine[i].entries_per_s / p->entries_per_s;
		printf("%-6u %-8u %14.0f %12.4f %14.0f %12.4f %7.1fx\n", b, q, mine[i].entries_per_s,
		       mine[i].allocs_per_entry, p->entries_per_s, p->allocs_per_entry, ratio);
		struct bench_json j;
		bench_json_begin(&j, "aegis-bench-raft");
		bench_json_str(&j, "impl", "etcd-raft (go.etcd.io/etcd/raft 3.4, Debian)");
		bench_json_u64(&j, "replicas", NODES);
		bench_json_u64(&j, "batch", b);
		bench_json_u64(&j, "payload_bytes", q);
		bench_json_f64(&j, "entries_per_s", p->entries_per_s);
		bench_json_f64(&j, "allocs_per_entry", p->allocs_per_entry);
		bench_json_str(&j, "peer", "etcd-raft");
		bench_json_f64(&j, "ours_entries_per_s", mine[i].entries_per_s);
		bench_json_f64(&j, "ratio", ratio);
		bench_json_end(&j);
	}
	return 0;
}
