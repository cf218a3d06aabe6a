/* A node's dataplane at run time: the peer table, one worker per port
 * queue, and starting/stopping them, on pthreads (kernel-UDP port) or
 * through a launcher (DPDK lcores, dp_eal.h). Shared by aegis-dpnode and
 * aegisd; the node decides what its workers do through on_msg/on_tick.
 *
 * Sizes: the runtime struct itself (fixed arrays, ~2 KiB) plus the
 * workers (worker.h). */
#ifndef AEGIS_DATAPLANE_DP_RUNTIME_H
#define AEGIS_DATAPLANE_DP_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aegis/port.h"
#include "aegis/worker.h"
#include "dp_config.h"

/* Runs fn(arg) for worker w somewhere else (an lcore); returns 0 or a
 * negative errno. wait blocks until that fn returned. */
struct aeg_dp_launcher {
	int (*launch)(void *ctx, uint16_t worker, void (*fn)(void *), void *arg);
	void (*wait)(void *ctx, uint16_t worker);
	void *ctx;
};

struct aeg_dp_runtime {
	struct aeg_port *port;
	uint16_t workers;
	uint32_t self_node;
	struct aeg_worker_peer peers[AEG_DP_PEERS_MAX + 1]; /* self first */
	uint32_t peer_count;
	uint32_t peer_cap;       /* the workers' room: peer_count + AEG_DP_JOIN_ROOM at start */
	struct aeg_worker *w[AEG_DP_WORKERS_MAX];
	const struct aeg_dp_launcher *launcher; /* NULL: pthreads */
	pthread_t threads[AEG_DP_WORKERS_MAX];
	bool running[AEG_DP_WORKERS_MAX];
	struct aeg_ctl_ring *ctl_in[AEG_DP_WORKERS_MAX];  /* when the callbacks have on_ctl */
};

/* Nodes that may join (aeg_dp_runtime_peer_add) beyond the start's
 * peers; each costs the workers a stream per worker (mostly untouched
 * fragment buffers). */
#define AEG_DP_JOIN_ROOM 16u

/* Allowed wall-clock difference between nodes (aeg_wire_replay_floor). */
#define AEG_DP_REPLAY_SKEW_NS 10000000000ull

/* Builds the peer table from args (self + --peer)
 * and one worker per port queue; worker w gets arg[w] (arg may be NULL).
 * Returns 0, -EINVAL or -ENOMEM; on error nothing is left allocated. */
int aeg_dp_runtime_init(struct aeg_dp_runtime *rt, const struct aeg_dp_config *args,
			struct aeg_port *port, aeg_worker_msg_fn on_msg, aeg_worker_tick_fn on_tick,
			void *const *arg);
/* What a node's workers do: the callbacks of struct aeg_worker_config. */
struct aeg_dp_callbacks {
	aeg_worker_msg_fn on_msg;
	aeg_worker_tick_fn on_tick;
	aeg_worker_raw_fn on_raw;
	aeg_worker_tick_fn on_rx_done;
	void (*on_exit)(void *arg, struct aeg_worker *w);
	int (*wake_fd)(void *arg);  /* aeg_worker_config's */
	aeg_worker_ctl_fn on_ctl;  /* set: each worker gets a control ring (aeg_dp_runtime_ctl_send) */
	uint32_t msg_bytes_max;  /* 0: the worker's default */
};

/* Like aeg_dp_runtime_init with every callback. */
int aeg_dp_runtime_init_cb(struct aeg_dp_runtime *rt, const struct aeg_dp_config *args,
			   struct aeg_port *port, const struct aeg_dp_callbacks *cb, void *const *arg);
/* Starts aeg_worker_run on every worker. Returns 0 or a negative errno
 * (workers already started are stopped again). */
int aeg_dp_runtime_start(struct aeg_dp_runtime *rt, const struct aeg_dp_launcher *launcher);
/* Asks every worker to stop and waits for them. */
void aeg_dp_runtime_stop(struct aeg_dp_runtime *rt);
/* Stops if needed and frees the workers (not the port). */
void aeg_dp_runtime_fini(struct aeg_dp_runtime *rt);

/* The slow path's message to a worker (one producer thread). 0,
 * -ENOBUFS (the ring is full: try later), -ENOTCONN (no ring). */
int aeg_dp_runtime_ctl_send(struct aeg_dp_runtime *rt, uint16_t worker, const struct aeg_ctl_msg *m);

/* A node that joined: the workers send to and take frames from it
 * (AEG_CTL_WORKER_PEERS after the entry is written). From the control
 * ring's producer thread only. 0 (also when it is a peer already),
 * -ENOSPC (no room: peer_cap), -ENOBUFS (a worker's ring stayed full; the
 * entry is kept, call again). */
int aeg_dp_runtime_peer_add(struct aeg_dp_runtime *rt, const struct aeg_worker_peer *p);

/* Sum of every worker's counters. */
void aeg_dp_runtime_totals(const struct aeg_dp_runtime *rt, struct aeg_worker_stats *out);

#endif
