/* aegis-bench-node: the aegisd node's own benchmark (issue [E]). Starts 3
 * aegisd processes on loopback kernel UDP (or uses a running cluster with
 * --nodes), then
 *   writes:       a closed loop of durable quorum puts from one client:
 *                 writes/s, latency histogram, CPU per write per replica,
 *                 client allocations per write;
 *   groups-N:     N shards (Raft groups) per node, no load: time to elect
 *                 every leader and to go quiet, idle CPU of each node,
 *                 memory per group.
 * Uses only the installed API (aegis/client.h) and the aegisd program. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aegis/client.h"
#include "alloc_count.h"
#include "bench_node.h"
#include "cluster.h"
#include "common.h"
#include "load.h"



static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegis-bench-node [options]\n"
		"  --seconds S        measured write window (default 10)\n"
		"  --warmup S         writes before the window, not counted (default 1)\n"
		"  --outstanding N    writes in flight (default 256)\n"
		"  --key-bytes N      (default 16)   --value-bytes N (default 64)\n"
		"  --keys N           key space written uniformly (default 100000)\n"
		"  --shards N         shards of the write case (default 16)\n"
		"  --workers N        workers per node (default 1)\n"
		"  --groups LIST      group cases, e.g. 1000,10000 (default); 0: none\n"
		"  --idle-seconds S   idle CPU window of a group case (default 5)\n"
		"  --group-raft-ms MIN,MAX,HB  election timeout and heartbeat of the group\n"
		"                     cases (default 150,300,50: the sample config's)\n"
		"  --no-writes        only the group cases\n"
		"  --aegisd PATH      the node program (default: next to this build)\n"
		"  --nodes LIST       use a running cluster (ID=IP:PORT,...; writes only,\n"
		"                     no node CPU) with --key-file FILE (its client key)\n"
		"  --keep             keep the run dirs (configs, logs, data)\n"
		"The run dir is under $AEGIS_BENCH_DIR (default /var/tmp: a real disk,\n"
		"so fdatasync costs what it costs).\n");
}

static int parse_groups(struct opts *o, const char *s)
{
	o->n_groups = 0;
	for (const char *p = s; *p != '\0';) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v > 65536 || (*end != ',' && *end != '\0'))
			return -EINVAL;
		if (v > 0) {
			if (o->n_groups == GROUP_CASES_MAX)
				return -EINVAL;
			o->groups[o->n_groups++] = (uint32_t)v;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "seconds", 1, NULL, 's' }, { "warmup", 1, NULL, 'W' }, { "outstanding", 1, NULL, 'o' },
		{ "key-bytes", 1, NULL, 'k' }, { "value-bytes", 1, NULL, 'v' }, { "keys", 1, NULL, 'K' },
		{ "shards", 1, NULL, 'S' }, { "workers", 1, NULL, 'w' }, { "groups", 1, NULL, 'g' },
		{ "idle-seconds", 1, NULL, 'i' }, { "group-raft-ms", 1, NULL, 'r' }, { "no-writes", 0, NULL, 'N' }, { "aegisd", 1, NULL, 'a' },
		{ "nodes", 1, NULL, 'n' }, { "key-file", 1, NULL, 'f' }, { "keep", 0, NULL, 'x' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;
	char *nodes = NULL;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->load.seconds = atof(optarg); break;
		case 'W': o->load.warmup_s = atof(optarg); break;
		case 'o': o->load.outstanding = (uint32_t)atoi(optarg); break;
		case 'k': o->load.key_bytes = (uint32_t)atoi(optarg); break;
		case 'v': o->load.value_bytes = (uint32_t)atoi(optarg); break;
		case 'K': o->load.keys = (uint32_t)atoi(optarg); break;
		case 'S': o->shards = (uint32_t)atoi(optarg); break;
		case 'w': o->workers = (uint32_t)atoi(optarg); break;
		case 'g':
			if (parse_groups(o, optarg) != 0) {
				fprintf(stderr, BENCH_NAME ": --groups: a list of counts up to 65536\n");
				return -1;
			}
			break;
		case 'i': o->idle_s = atof(optarg); break;
		case 'r':
			if (sscanf(optarg, "%u,%u,%u", &o->election_ms[0], &o->election_ms[1], &o->heartbeat_ms) != 3 ||
			    o->heartbeat_ms == 0 || o->heartbeat_ms >= o->election_ms[0] ||
			    o->election_ms[0] >= o->election_ms[1]) {
				fprintf(stderr, BENCH_NAME ": --group-raft-ms MIN,MAX,HB with HB < MIN < MAX\n");
				return -1;
			}
			break;
		case 'N': o->writes = false; break;
		case 'a': o->aegisd = optarg; break;
		case 'n': nodes = optarg; break;
		case 'f': o->key_file = optarg; break;
		case 'x': o->keep = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc || o->load.seconds <= 0 || o->load.outstanding == 0 || o->load.key_bytes < 2 ||
	    o->load.key_bytes > 1024 || o->load.value_bytes > (1u << 20) || o->load.keys == 0 ||
	    o->shards == 0 || o->workers == 0 || o->workers > 64 || o->idle_s <= 0) {
		fprintf(stderr, BENCH_NAME ": bad arguments (see --help)\n");
		return -1;
	}
	for (char *save = NULL, *t = nodes ? strtok_r(nodes, ",", &save) : NULL; t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->n_nodes == CLUSTER_NODES) {
			fprintf(stderr, BENCH_NAME ": --nodes: at most %d\n", CLUSTER_NODES);
			return -1;
		}
		o->nodes[o->n_nodes++] = t;
	}
	if (o->n_nodes > 0 && o->key_file == NULL) {
		fprintf(stderr, BENCH_NAME ": --nodes needs --key-file (the cluster's client key)\n");
		return -1;
	}
	return 0;
}

/* aegisd next to this program's build dir (build/bench/node -> build/control),
 * then in the same directory (installed), then in PATH. */
static void find_aegisd(struct opts *o, char *buf, size_t cap)
{
	if (o->aegisd != NULL)
		return;
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(buf, cap, "%s/../../control/aegisd", self);
			if (access(buf, X_OK) == 0) {
				o->aegisd = buf;
				return;
			}
			snprintf(buf, cap, "%s/aegisd", self);
			if (access(buf, X_OK) == 0) {
				o->aegisd = buf;
				return;
			}
		}
	}
	o->aegisd = "aegisd"; /* execl does not search PATH: resolved below */
	const char *path = getenv("PATH");
	for (char *dup = path ? strdup(path) : NULL, *save = NULL, *d = dup ? strtok_r(dup, ":", &save) : NULL;
	     d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, cap, "%s/aegisd", d);
		if (access(buf, X_OK) == 0) {
			o->aegisd = buf;
			break;
		}
	}
}


int main(int argc, char **argv)
{
	struct opts o = {
		.load = { .outstanding = 256, .key_bytes = 16, .value_bytes = 64, .keys = 100000,
			  .consistency = AEG_CLIENT_QUORUM, .seconds = 10, .warmup_s = 1, .progress = 1 },
		.shards = 16, .workers = 1, .groups = { 1000, 10000 }, .n_groups = 2, .idle_s = 5,
		.election_ms = { 150, 300 }, .heartbeat_ms = 50,
		.writes = true,
	};
	if (parse(argc, argv, &o) != 0)
		return 2;
	char aegisd[PATH_MAX + 64];
	if (o.n_nodes == 0)
		find_aegisd(&o, aegisd, sizeof(aegisd));
	setvbuf(stdout, NULL, _IOLBF, 0);
	char extra[512];
	snprintf(extra, sizeof(extra),
		 "%s; %d cores shared by the 3 nodes (%u worker%s each + main thread) and the one client "
		 "process; kernel UDP on loopback; WAL fdatasync on %s; client allocations %s",
		 o.n_nodes ? "a running cluster (--nodes)" : "3 aegisd processes started here", bench_cores_usable(),
		 o.workers, o.workers > 1 ? "s" : "", getenv("AEGIS_BENCH_DIR") ? getenv("AEGIS_BENCH_DIR") : "/var/tmp",
		 alloc_count_enabled() ? "counted (malloc wrapper in this process)" : "not counted (sanitizer build)");
	bench_print_setup(BENCH_NAME, extra);
	int failed = 0;
	if (o.writes)
		failed += case_writes(&o) != 0;
	for (uint32_t i = 0; o.n_nodes == 0 && i < o.n_groups; i++)
		failed += case_groups(&o, o.groups[i]) != 0;
	if (failed)
		fprintf(stderr, BENCH_NAME ": %d case(s) failed\n", failed);
	return failed ? 1 : 0;
}
