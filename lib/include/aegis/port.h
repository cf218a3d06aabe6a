/* aegis/port.h — the port layer under the worker loop (aegis/worker.h):
 * bursts of UDP payloads in and out of one queue per worker, the same calls
 * over DPDK ethdev (aegis/port_ethdev.h) and over kernel UDP sockets
 * (aeg_port_udp_open below). Implemented in dataplane/port_*.c, linked as
 * libaegis_node (pkg-config libaegis_node).
 *
 * Why installed: aegis/node.h runs a whole node and is all most embedders
 * need. These three headers (port, port_ethdev, worker) are the raw layer
 * under it, public for bench/dataplane, which measures exactly that layer
 * (workers exchanging frames with no Raft above them), and for an embedder
 * that wants authenticated, batched UDP messaging between its own cores
 * and no replication. Node internals (control rings, the node runtime,
 * hwloc placement) stay private in dataplane/.
 *
 * Ownership follows rte_eth_rx_burst / rte_eth_tx_burst: rx hands the
 * caller packets that it must give back with aeg_port_pkt_free; tx takes
 * the first n it returns (and frees them once sent), the caller frees the
 * rest. Packet buffers come from a pool per queue, sized at open; a queue
 * is used by one thread only, so pools need no locks. The payload is the
 * UDP payload: L2/L3/UDP headers are the port's business. */
#ifndef AEGIS_PORT_H
#define AEGIS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/net.h"

AEG_API_BEGIN

/* One UDP payload. On rx, ipv4/udp_port name the sender; on tx, the
 * destination. Addresses and ports are in host byte order. */
struct aeg_pkt {
	uint8_t *data;     /* payload */
	uint32_t len;      /* payload bytes */
	uint32_t cap;      /* bytes available at data */
	uint32_t ipv4;
	uint16_t udp_port;
	uint16_t queue;    /* pool it belongs to */
	bool oversize;     /* rx: the datagram was longer than cap and was cut */
};

struct aeg_port;

/* Counters below the worker: L2/L3 parsing, ARP, neighbours, steering.
 * Ports without L2/L3 of their own (kernel UDP) leave them 0. Each is
 * written by one thread and read from any; the set is not a snapshot. */
struct aeg_port_counters {
	uint64_t rx_frames;           /* frames the port parsed */
	uint64_t net_drops[AEG_NET_DROP_NR]; /* by enum aeg_net_drop; [0] unused */
	uint64_t not_ours;            /* IPv4 for another address, UDP for another port */
	uint64_t other;               /* neither IPv4/UDP nor ARP (to the slow path) */
	uint64_t arp_requests_rx, arp_replies_rx, arp_requests_tx, arp_replies_tx;
	uint64_t no_neigh;            /* tx frames dropped: peer MAC unresolved */
	uint64_t steered;             /* frames handed to their worker's queue in software */
	uint64_t steer_drops;         /* ... dropped: that queue's ring was full */
	uint64_t slow_drops;          /* slow-path frames dropped: ring full */
	uint64_t link_restarts;       /* port stop/start after the link stayed down */
};

struct aeg_port_stats {
	const char *driver;           /* "udp", "net_memif", ... */
	const char *steering;         /* "kernel", "rte_flow" or "software" */
	struct aeg_port_counters c;   /* summed over queues and the slow path */
	uint64_t dev_imissed, dev_ierrors, dev_oerrors, dev_rx_nombuf; /* rte_eth_stats */
};

struct aeg_port_ops {
	/* Up to n received packets into pkts; returns the count (0 when
	 * nothing is waiting, never blocks) or a negative errno. */
	int (*rx_burst)(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n);
	/* Sends pkts[0..n); returns how many were taken (from the front), or
	 * a negative errno (none taken). */
	int (*tx_burst)(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n);
	/* An empty buffer for tx from the queue's pool, NULL if it is empty. */
	struct aeg_pkt *(*pkt_alloc)(struct aeg_port *p, uint16_t queue);
	void (*pkt_free)(struct aeg_port *p, struct aeg_pkt *pkt);
	void (*close)(struct aeg_port *p);
	/* Optional (NULL: all counters 0). */
	void (*stats)(struct aeg_port *p, struct aeg_port_stats *out);
	/* Optional: blocks until the queue has a packet or timeout_ns passed
	 * (an idle worker sleeps in it instead of nanosleep, so a packet wakes
	 * it at once). NULL: the worker sleeps (poll-mode ports). */
	void (*wait)(struct aeg_port *p, uint16_t queue, uint64_t timeout_ns);
};

struct aeg_port {
	const struct aeg_port_ops *ops;
	const char *kind;     /* "udp" or "ethdev" */
	uint16_t queue_count; /* one queue per worker */
	uint16_t burst_max;   /* largest n accepted by rx_burst / tx_burst */
};

static inline int aeg_port_rx_burst(struct aeg_port *p, uint16_t queue,
				    struct aeg_pkt **pkts, uint16_t n)
{
	return p->ops->rx_burst(p, queue, pkts, n);
}

static inline int aeg_port_tx_burst(struct aeg_port *p, uint16_t queue,
				    struct aeg_pkt **pkts, uint16_t n)
{
	return p->ops->tx_burst(p, queue, pkts, n);
}

static inline struct aeg_pkt *aeg_port_pkt_alloc(struct aeg_port *p, uint16_t queue)
{
	return p->ops->pkt_alloc(p, queue);
}

static inline void aeg_port_pkt_free(struct aeg_port *p, struct aeg_pkt *pkt)
{
	p->ops->pkt_free(p, pkt);
}

static inline void aeg_port_stats_read(struct aeg_port *p, struct aeg_port_stats *out)
{
	*out = (struct aeg_port_stats){ .driver = p->kind, .steering = "kernel" };
	if (p->ops->stats != NULL)
		p->ops->stats(p, out);
}

static inline void aeg_port_close(struct aeg_port *p)
{
	if (p != NULL)
		p->ops->close(p);
}

/* ---- kernel-UDP fallback (port_udp.c) ----------------------------------- */

/* Queue q is a non-blocking UDP socket bound to ipv4:(base_port + q).
 * Memory, all at open: queue_count x (bufs_per_queue x (buf_bytes + 32)
 * + burst_max x ~120 bytes of mmsghdr/iovec/sockaddr). Defaults (0):
 * burst_max 32, bufs_per_queue 512, buf_bytes 2048. A datagram longer than
 * buf_bytes arrives cut to buf_bytes with pkt->oversize set. */
struct aeg_port_udp_config {
	uint32_t ipv4;        /* bind address, host order (INADDR_LOOPBACK in tests) */
	uint16_t base_port;
	uint16_t queue_count;
	uint16_t burst_max;
	uint32_t bufs_per_queue;
	uint32_t buf_bytes;
	uint32_t sock_buf_bytes; /* SO_RCVBUF/SO_SNDBUF; 0 keeps the system's */
};

/* Returns 0 and the port in *out, or -EINVAL, -ENOMEM, or the errno of
 * socket/bind (-EADDRINUSE ...); nothing is left open on error. */
int aeg_port_udp_open(const struct aeg_port_udp_config *cfg, struct aeg_port **out);

AEG_API_END

#endif
