/* aegis-bench-node's options and cases (bench_node.c parses, cases.c runs). */
#ifndef AEGIS_BENCH_NODE_H
#define AEGIS_BENCH_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "load.h"

#define BENCH_NAME "aegis-bench-node"
#define GROUP_CASES_MAX 8

struct opts {
	struct load_params load;
	uint32_t shards, workers;
	uint32_t groups[GROUP_CASES_MAX], n_groups;
	double idle_s;
	uint32_t election_ms[2], heartbeat_ms; /* of the group cases */
	bool writes, keep;
	const char *aegisd;
	const char *nodes[CLUSTER_NODES];
	uint32_t n_nodes;
	const char *key_file;
};

/* 0, or nonzero when the case failed (a message was printed). */
int case_writes(const struct opts *o);
int case_groups(const struct opts *o, uint32_t groups);

#endif
