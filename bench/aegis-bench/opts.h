/* aegis-bench's command line: options, defaults, --help. */
#ifndef AEGIS_BENCH_OPTS_H
#define AEGIS_BENCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/client.h"
#include "workload.h"

#define OPTS_NODES_MAX 64

struct opts {
	const char *nodes[OPTS_NODES_MAX];
	uint32_t n_nodes;
	char *nodes_mem[OPTS_NODES_MAX]; /* the --nodes arguments, split in place */
	uint32_t n_nodes_mem;
	struct aeg_wire_key key;
	struct wl_params p;
	uint32_t timeout_ms, retries, writes_per_shard, dgram_bytes, session_window;
	const char *json, *csv, *plot, *record, *history;
	const char *verify_file; /* --verify FILE: check a record, no load */
	bool verify_after;       /* --verify with --record: check at the end */
	uint32_t verify_show;
	bool quiet;
};

/* 0, or 2 after printing why (usage error); exits 0 after --help. */
int opts_parse(int argc, char **argv, struct opts *o);
void opts_free(struct opts *o);

#endif
