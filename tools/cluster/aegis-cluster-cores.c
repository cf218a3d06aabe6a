/* aegis-cluster-cores: where tools/aegis-cluster puts N nodes (W workers
 * each, plus a main lcore) and the load generator, with the dataplane's
 * hwloc rules (dataplane/cores.h): PUs are taken in aeg_cores_pick order
 * (one PU per physical core first, NUMA-near first, SMT siblings last), and
 * the main lcores, which mostly sleep, get the PU workers want least.
 *
 * Placement over the P allowed PUs, in that order o[0..P-1]:
 *   - client PUs: --client-cpus C reserves the last C PUs for the client
 *     (when P > C); default C = 0: the client gets the PUs no worker or
 *     main lcore has, or all PUs when there are none;
 *   - workers: node-major, worker j of all N*W on o[j mod Pn] (Pn = PUs
 *     left for nodes): one worker per PU while PUs last, then shared
 *     round-robin (oversubscribed: a 2-PU machine with 3 nodes);
 *   - main lcores: with a spare node PU (Pn > N*W), all on the last node
 *     PU; else node i's main on the PU after its last worker's, so that a
 *     node's main lcore and its own worker do not share a PU when P > 1.
 *
 * Output (stdout): KEY=VALUE lines for `eval` (CPUS, MODE, NODE_<i>_MAIN,
 * NODE_<i>_WORKERS, NODE_<i>_LCORES (the EAL --lcores value), NODE_<i>_CPUS,
 * CLIENT_CPUS, NODE_CPU_COUNT, CLIENT_CPU_COUNT) and "# " lines for people.
 * Exit: 0, 1 (hwloc failed), 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cores.h"

#define NODES_MAX 64
#define WORKERS_MAX 16

struct opts {
	unsigned nodes, workers, client_cpus;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: aegis-cluster-cores --nodes N --workers W [--client-cpus C]\n"
		   "Prints where tools/aegis-cluster places each node's lcores and the client\n"
		   "(KEY=VALUE lines, and '# ' lines describing the layout).\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "nodes", required_argument, NULL, 'n' }, { "workers", required_argument, NULL, 'w' },
		{ "client-cpus", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .nodes = 3, .workers = 1 };
	int c;
	while ((c = getopt_long(argc, argv, "n:w:c:h", lo, NULL)) != -1) {
		char *end = NULL;
		unsigned long v = optarg != NULL ? strtoul(optarg, &end, 10) : 0;
		if (optarg != NULL && (*optarg == '\0' || *end != '\0' || v > 4096))
			return -EINVAL;
		switch (c) {
		case 'n': o->nodes = (unsigned)v; break;
		case 'w': o->workers = (unsigned)v; break;
		case 'c': o->client_cpus = (unsigned)v; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc || o->nodes < 1 || o->nodes > NODES_MAX || o->workers < 1 ||
	    o->workers > WORKERS_MAX)
		return -EINVAL;
	return 0;
}

/* "a,b,c" of n cpus, each once. */
static void print_list(const char *key, const int *cpu, unsigned n)
{
	printf("%s=", key);
	for (unsigned i = 0; i < n; i++) {
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen |= cpu[j] == cpu[i];
		if (!seen)
			printf("%s%d", i ? "," : "", cpu[i]);
	}
	printf("\n");
}

/* Core L# and whether pu is an SMT sibling of an earlier PU in order. */
static void describe_pu(hwloc_topology_t topo, int os, char *buf, size_t n)
{
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)os);
	hwloc_obj_t core = pu != NULL ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu) : NULL;
	if (core == NULL)
		snprintf(buf, n, "cpu %d", os);
	else
		snprintf(buf, n, "cpu %d (core L#%u%s)", os, core->logical_index,
			 hwloc_bitmap_weight(core->cpuset) > 1 ? ", has SMT siblings" : "");
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	hwloc_topology_t topo;
	int rc = aeg_cores_topology_load(&topo);
	if (rc != 0) {
		fprintf(stderr, "aegis-cluster-cores: hwloc: %s\n", strerror(-rc));
		return 1;
	}
	/* The PUs this process may use (taskset, cgroup), as the dataplane
	 * takes them; the whole allowed set if the binding is unknown. */
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (set == NULL || hwloc_get_cpubind(topo, set, 0) < 0 || hwloc_bitmap_iszero(set))
		(void)hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo));
	(void)hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(topo));
	int pus = hwloc_bitmap_weight(set);
	static struct aeg_core_layout l;
	/* As many "workers" as PUs: aeg_cores_pick then lists every PU in the
	 * order the dataplane hands them to workers. */
	rc = pus > 0 && pus <= AEG_CORES_MAX ? aeg_cores_pick(topo, set, -1, (uint32_t)pus, &l) : -ENOSPC;
	hwloc_bitmap_free(set);
	if (rc != 0) {
		fprintf(stderr, "aegis-cluster-cores: placement: %s\n", strerror(-rc));
		hwloc_topology_destroy(topo);
		return 1;
	}
	const int *ord = l.worker_cpus;
	unsigned p = l.worker_count, nw = o.nodes * o.workers;
	unsigned client_n = o.client_cpus > 0 && o.client_cpus < p ? o.client_cpus : 0;
	unsigned pn = p - client_n; /* PUs for the nodes: o[0..pn-1] */
	bool spare = pn > nw;
	static int worker_cpu[NODES_MAX * WORKERS_MAX];
	for (unsigned j = 0; j < nw; j++)
		worker_cpu[j] = ord[j % pn];
	print_list("CPUS", ord, p);
	printf("MODE=%s\n", nw <= pn ? "dedicated" : "shared");
	printf("NODE_CPU_COUNT=%u\n", pn);
	char desc[128];
	printf("# %u PUs in dataplane order (one per physical core first, SMT siblings last):", p);
	for (unsigned i = 0; i < p; i++)
		printf("%s %d", i ? "," : "", ord[i]);
	printf("\n");
	for (unsigned n = 0; n < o.nodes; n++) {
		const int *w = &worker_cpu[n * o.workers];
		int main_cpu = spare ? ord[pn - 1] : ord[((n + 1) * o.workers) % pn];
		char key[64], lc[1024];
		int len = snprintf(lc, sizeof(lc), "0@%d", main_cpu);
		for (unsigned k = 0; k < o.workers && len < (int)sizeof(lc); k++)
			len += snprintf(lc + len, sizeof(lc) - (size_t)len, ",%u@%d", k + 1, w[k]);
		printf("NODE_%u_MAIN=%d\n", n + 1, main_cpu);
		snprintf(key, sizeof(key), "NODE_%u_WORKERS", n + 1);
		print_list(key, w, o.workers);
		printf("NODE_%u_LCORES=%s\n", n + 1, lc);
		snprintf(key, sizeof(key), "NODE_%u_CPUS", n + 1); /* a udp node's binding */
		print_list(key, w, o.workers);
		describe_pu(topo, main_cpu, desc, sizeof(desc));
		printf("# node %u: main lcore on %s", n + 1, desc);
		for (unsigned k = 0; k < o.workers; k++) {
			describe_pu(topo, w[k], desc, sizeof(desc));
			printf("; worker %u on %s", k, desc);
		}
		printf("\n");
	}
	/* The client: its reserved PUs, else those no worker has, else all. */
	const int *cl = client_n > 0 ? ord + pn : nw < p ? ord + nw : ord;
	unsigned cn = client_n > 0 ? client_n : nw < p ? p - nw : p;
	if (client_n == 0 && nw < p && cn >= 2)
		cn--; /* the last PU is the main lcores' */
	print_list("CLIENT_CPUS", cl, cn);
	printf("CLIENT_CPU_COUNT=%u\n", cn);
	printf("# client on %u PU(s):", cn);
	for (unsigned i = 0; i < cn; i++)
		printf("%s %d", i ? "," : "", cl[i]);
	printf("%s\n", cn == p ? " (all: shared with the nodes)" : client_n > 0 ? " (reserved)" : " (no worker there)");
	printf("# nodes: %u worker(s) on %u PU(s)%s; main lcores %s\n", nw, pn,
	       nw > pn ? " (oversubscribed: workers share PUs round-robin)" : " (one worker per PU)",
	       spare ? "share the last node PU" : "sit on the PU after their node's last worker");
	hwloc_topology_destroy(topo);
	return 0;
}
