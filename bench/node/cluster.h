/* A local cluster of aegisd processes for aegis-bench-node: generated
 * configs and keys in a temporary directory, free loopback ports, one
 * child process per node (killed by the kernel if the bench dies first),
 * the admin socket for leaders, quiet groups and memory, and /proc for CPU
 * time and RSS. Everything here is slow path: it may allocate and block. */
#ifndef AEGIS_BENCH_NODE_CLUSTER_H
#define AEGIS_BENCH_NODE_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CLUSTER_NODES 3

struct cluster_params {
	const char *aegisd;   /* path of the aegisd executable */
	uint32_t shards;      /* sharding.shard_count */
	uint32_t workers;     /* node.workers */
	uint32_t value_bytes_max;
	uint32_t election_ms_min, election_ms_max, heartbeat_ms; /* [raft] */
	bool keep;            /* keep the temp dir (logs) */
};

struct cluster {
	char dir[256];        /* the temp dir: keys, n<i>.toml, n<i>/, n<i>.log */
	uint16_t port[CLUSTER_NODES];
	pid_t pid[CLUSTER_NODES];
	char nodes_arg[CLUSTER_NODES][48]; /* "ID=127.0.0.1:PORT" for the client */
	uint8_t client_key[16];
	struct cluster_params p;
};

/* Temp dir, keys, configs, starts the nodes and waits for their ready
 * files (up to timeout_s). 0 or a negative errno (logs are printed). */
int cluster_start(struct cluster *c, const struct cluster_params *p, double timeout_s);
/* SIGTERM to each node, waits; 0 if all exited 0 within 30 s (others are
 * killed). Removes the temp dir unless p.keep or a node failed. */
int cluster_stop(struct cluster *c);

/* Nodes that exited on their own (reaped and reported): a case that
 * measured a dead node must not print its figures as valid. */
int cluster_dead(struct cluster *c);

/* What one node's status says (admin socket). */
struct node_view {
	uint32_t groups, leaders, quiet;
	uint64_t bytes_per_group; /* memory.bytes_per_group: Raft state of one group */
	uint64_t total_bytes;     /* memory.total_bytes: driver + every group */
	uint64_t writes_ok;       /* summed over workers */
};
/* 0, or a negative errno (no answer within timeout_s, unreadable reply). */
int cluster_status(const char *socket_path, double timeout_s, struct node_view *out);
void cluster_socket_path(const struct cluster *c, int i, char *out, size_t cap);

/* utime + stime of a process (all its threads), in ns; 0 when unreadable. */
uint64_t proc_cpu_ns(pid_t pid);
/* VmRSS of a process in bytes; 0 when unreadable. */
uint64_t proc_rss_bytes(pid_t pid);

/* Hex key file (what aegisd reads): 32 hex digits, whitespace ignored. */
int read_hex_key(const char *path, uint8_t out[16]);

#endif
