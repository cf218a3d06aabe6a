/* Worker internals shared by worker.c (the loop, frames, raw datagrams)
 * and worker_frag.c (messages larger than a frame through lib/frag). */
#ifndef AEGIS_DATAPLANE_WORKER_INT_H
#define AEGIS_DATAPLANE_WORKER_INT_H

#include "aegis/frag.h"
#include "aegis/worker.h"
#include "ctl_ring.h"
#include "dp_tsc.h"

/* The frame keys of one peer node (aegis/wire.h: one key per ordered pair
 * of nodes): frames to it, and frames from it under up to two key ids. */
struct peer_keys {
	struct aeg_wire_mac *tx;
	struct aeg_wire_mac *rx[AEG_WIRE_RX_KEYS];
};

/* One (peer node, peer worker): its replay window and our open frame. */
struct stream {
	struct aeg_wire_replay replay;
	struct aeg_wire_builder b;
	struct aeg_pkt *pkt;     /* buffer of the open frame, NULL if none */
	uint64_t seq_last;
};

struct aeg_worker {
	struct aeg_worker_config cfg;
	struct aeg_wire_rx rx;
	struct peer_keys *keys;          /* peer_cap, made as peers arrive */
	struct aeg_wire_key key, accept_key; /* copies of cfg's (cfg.accept_key: NULL if none) */
	uint32_t body_max;               /* largest body of a message in one frame */
	struct stream *streams;  /* peer_count x workers_per_node */
	struct aeg_pkt **rx_pkts;
	struct aeg_pkt **tx_q;
	uint16_t tx_n;
	uint32_t tx_q_bytes;     /* bytes in tx_q */
	bool in_rx;              /* working through rx bursts (early tx) */
	uint32_t frames_open;    /* streams with pkt != NULL */
	uint64_t drain_last_ns;
	/* The wall clock for sequence numbers, kept from the monotonic time of
	 * each iteration: a clock read per frame cost ~12% of a small-frame
	 * run on a VM (58 ns each). CLOCK_REALTIME is read once a second. */
	uint64_t wall_ns, wall_offset, wall_synced_ns;
	uint64_t now_ns;         /* the iteration's monotonic time */
	struct aeg_dp_tsc clk;   /* read once per iteration of aeg_worker_run */
	uint32_t idle_polls;
	uint64_t sleep_ns;
	int wake_fd;             /* cfg.wake_fd's answer: -1 none */
	bool stop;
	/* Messages over a frame (worker_frag.c); NULL when msg_bytes_max
	 * leaves nothing to fragment. */
	struct aeg_frag *frag;
	bool frag_dirty;         /* its counters changed since the last copy */
	struct aeg_worker_stats stats;
};

/* Single writer: a relaxed load and store, no locked read-modify-write. */
static inline void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline int peer_index(const struct aeg_worker *w, uint32_t node)
{
	for (uint32_t i = 0; i < w->cfg.peer_count; i++)
		if (w->cfg.peers[i].node == node)
			return (int)i;
	return -1;
}

static inline struct stream *stream_of(struct aeg_worker *w, uint32_t node, uint32_t worker)
{
	int i = peer_index(w, node);
	if (i < 0 || worker >= w->cfg.workers_per_node)
		return NULL;
	return &w->streams[(uint32_t)i * w->cfg.workers_per_node + worker];
}

/* worker.c: a new frame for stream s (node, worker) in a fresh packet
 * (0 or -ENOBUFS); seal the open one and queue it for tx. */
int aeg_wk_frame_open(struct aeg_worker *w, struct stream *s, uint32_t node, uint32_t worker);
void aeg_wk_frame_close(struct aeg_worker *w, struct stream *s);

/* worker_frag.c */
int aeg_wk_frag_init(struct aeg_worker *w);
void aeg_wk_frag_fini(struct aeg_worker *w);
/* A message over one frame into lib/frag: 0, -ENOBUFS, -EMSGSIZE. */
int aeg_wk_frag_send(struct aeg_worker *w, struct stream *s, uint8_t type, uint32_t group,
		     const void *body, uint32_t body_len);
/* A FRAG or FRAG_ACK message from (node, worker); a whole message goes to on_msg. */
void aeg_wk_frag_rx(struct aeg_worker *w, uint32_t node, uint32_t worker,
		    const struct aeg_wire_msg *m);
/* Acks, fragments and timers of this iteration; returns messages written. */
uint32_t aeg_wk_frag_poll(struct aeg_worker *w, uint64_t now_ns);
/* Copies lib/frag's counters into the worker's (relaxed stores). */
void aeg_wk_frag_stats_sync(struct aeg_worker *w);

#endif
