/* aegis/node.h — an Aegis node inside your own process (libaegis_node).
 *
 * The same node as `aegisd` (which is a thin main around this API): the
 * config file and overrides, the shard map, the port (kernel UDP, or DPDK),
 * one worker thread per node.workers with its shards' Raft groups over its
 * own io_uring log, and the admin socket (aegisctl). The node is a full
 * member of its cluster: peers reach it over the network as usual.
 *
 *   struct aeg_node_opts o = { .sets = sets, .set_count = n };
 *   struct aeg_node *node;  char err[256];
 *   aeg_node_start(&node, &o, err, sizeof(err));     // returns once serving
 *   struct aeg_client *c;
 *   aeg_node_client(node, NULL, &c);                 // aegis/client.h API
 *   aeg_client_put(c, "k", 1, "v", 1, AEG_CLIENT_DEFAULT, NULL);
 *   aeg_client_close(c);
 *   aeg_node_stop(node);                             // workers, logs synced
 *
 * Clients from aeg_node_client() send the requests for shards whose leader
 * is this node to the owning worker through in-process rings (no socket,
 * no kernel); the worker runs its usual request path on them and answers
 * the same way. Requests for other shards go over UDP as with any client.
 * Counters: aeg_client_get_stats() local_dgrams_sent/received, local_ops.
 *
 * Threads: start, stop, poll and client are called from one thread (any);
 * each client is used by one thread at a time. Close every client before
 * aeg_node_stop(). Logging goes through opts.log (or stderr).
 * Limits: AEG_NODE_CLIENTS_MAX embedded clients at once. A node with DPDK
 * transport starts once per process (EAL cannot start again); with UDP it
 * can be stopped and started again (same or another data dir). */
#ifndef AEGIS_NODE_H
#define AEGIS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/client.h"

AEG_API_BEGIN

#define AEG_NODE_CLIENTS_MAX 8

struct aeg_node;

typedef void (*aeg_node_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct aeg_node_opts {
	const char *config_file;       /* TOML, as aegisd --config; NULL: defaults + sets */
	const char *const *sets;       /* "section.key=value" overrides, after the file */
	uint32_t set_count;
	char *const *eal_args;         /* DPDK EAL arguments after node.eal_args (transport dpdk) */
	uint32_t eal_arg_count;
	const char *name;              /* argv[0] for EAL and the default log prefix; NULL: "aegis" */
	bool no_admin;                 /* no admin socket (default: node.admin_socket) */
	/* true: the caller calls aeg_node_poll() every millisecond or so (aegisd
	 * does, on its main thread); false: the node runs a thread for it. */
	bool caller_polls;
	aeg_node_log_fn log;           /* one line without its newline; NULL: stderr */
};

/* Reads and validates the configuration (file, sets, key files, shard map)
 * without starting anything: 0 and the node id in *node_id (may be NULL),
 * or -EINVAL with the reason in err ("file:line: key: ..."). */
int aeg_node_check(const struct aeg_node_opts *o, uint32_t *node_id, char *err, size_t err_len);

/* Checks as above, creates the data dir, recovers every worker's shards
 * from its log, opens the port, starts the workers and the admin socket;
 * returns once serving. 0 and *out, -EINVAL (configuration, nothing was
 * started) or another negative errno (start-up failed: port, EAL, log),
 * with the reason in err; everything started is stopped again. */
int aeg_node_start(struct aeg_node **out, const struct aeg_node_opts *o, char *err, size_t err_len);

/* Clean stop: no more requests taken, workers stopped, the logs flushed
 * and fdatasync'ed, the port and admin socket closed, a summary logged.
 * NULL is fine. */
/* 0, or -EIO when a log could not be made durable at the end (a process
 * should then exit non-zero: acknowledged writes may be missing locally). */
int aeg_node_stop(struct aeg_node *n);

/* The slow path (ARP on DPDK ports, the admin socket), when the caller
 * asked to drive it (opts.caller_polls). Never blocks. */
void aeg_node_poll(struct aeg_node *n);

uint32_t aeg_node_id(const struct aeg_node *n);

/* The status aegisctl shows ({"ok":true,"node":...,"workers":[...],
 * "members":[...],"shards":[...],"memory":{...}}), as a NUL-terminated
 * string the caller frees. 0, -ENOMEM or -EMSGSIZE. */
int aeg_node_status_json(struct aeg_node *n, char **json, size_t *len);

/* A client of the cluster (aegis/client.h) with the in-process path to
 * this node: base gives timeouts, limits, consistency (NULL: defaults);
 * its node list, key and local path are replaced by this node's (its map
 * comes from this node, through the local path). 0 and *out, -EBUSY
 * (AEG_NODE_CLIENTS_MAX clients are open), or aeg_client_open's errors. */
int aeg_node_client(struct aeg_node *n, const struct aeg_client_cfg *base, struct aeg_client **out);

AEG_API_END

#endif
