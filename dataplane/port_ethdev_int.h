/* Internals of the ethdev port shared by its three files: setup
 * (port_ethdev.c), the workers' bursts (port_ethdev_rxtx.c) and the slow
 * path on the main lcore (port_ethdev_slow.c). */
#ifndef AEGIS_DATAPLANE_PORT_ETHDEV_INT_H
#define AEGIS_DATAPLANE_PORT_ETHDEV_INT_H

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "aegis/port_ethdev.h"
#include "ctl_ring.h"

#define ETHDEV_RING_SIZE 1024u
/* The slow path's pool fills its rx ring (ETHDEV_SLOW_DESC) and still has
 * room for replies and requests in flight; 2^n - 1 suits rte_mempool. */
#define ETHDEV_SLOW_POOL_MBUFS 2047u
#define ETHDEV_SLOW_DESC 256u
#define ETHDEV_BURST_MAX 64u
#define ETHDEV_QUEUES_MAX 16u

/* Control messages main lcore -> queue (ctl_ring.h). */
enum {
	ETHDEV_CTL_NEIGH = 1, /* arg[0]: IPv4 (host order), arg[1]: MAC in its first 6 bytes (memcpy) */
};

struct ethdev_queue {
	struct rte_mempool *pool;
	struct rte_ring *steer;   /* frames for this worker found on other queues (MP/SC) */
	struct rte_ring *slow;    /* ARP and other frames to the main lcore (SP/SC) */
	struct aeg_ctl_ring *ctl; /* learned neighbours from the main lcore (SPSC) */
	struct aeg_net_neigh neigh;
	/* Neighbour ages only need milliseconds: tx reads the clock when the
	 * TSC says a millisecond has passed, not on every burst. */
	uint64_t now_ns, now_tsc;
	uint16_t ip_id;
	/* Pause handshake with the main lcore: odd pause_gen = stay off the
	 * device; the queue acknowledges by copying it into pause_ack. */
	uint32_t pause_gen;
	uint32_t pause_ack;
	struct aeg_port_counters c; /* single writer: this queue's worker */
} __rte_cache_aligned;

struct ethdev_port {
	struct aeg_port port;     /* first: the generic view */
	struct aeg_port_ethdev_config cfg;
	char driver[32];
	const char *steering;     /* "rte_flow" or "software" */
	struct rte_ether_addr mac;
	uint16_t slow_q;          /* the main lcore's queue index */
	bool slow_rx;             /* the slow path has an rx queue of its own */
	bool slow_tx;             /* ... and a tx queue; else it sends through queue 0 */
	bool started;
	bool restart_on_link_down; /* a memif client: stop/start when the peer went away */
	uint64_t tx_offloads;     /* RTE_ETH_TX_OFFLOAD_* in use */
	uint64_t tx_ol_flags;     /* RTE_MBUF_F_TX_* for every data frame */
	unsigned tx_net_flags;    /* AEG_NET_TX_* matching tx_offloads */
	bool rx_csum;             /* the device reports rx checksum status */
	uint64_t tsc_per_ms;
	struct ethdev_queue *q;   /* queue_count */
	/* Main lcore state. */
	struct rte_mempool *slow_pool;
	struct rte_ring *slow_out; /* slow tx via queue 0 when there is no slow tx queue */
	struct aeg_net_neigh neigh;
	uint64_t link_down_since_ns;
	uint64_t last_restart_ns;
	struct aeg_port_counters c; /* single writer: the main lcore */
	uint32_t *known;          /* cfg.resolve[i] resolved (static or learned) */
	uint32_t *resolve;        /* the port's copy of cfg.resolve, with room for joins */
	uint32_t resolve_cap;
	struct rte_flow *flows[ETHDEV_QUEUES_MAX];
	uint16_t flow_count;
};

static inline struct ethdev_port *ethdev_of(struct aeg_port *p)
{
	return (struct ethdev_port *)p;
}

static inline struct aeg_pkt *ethdev_pkt(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

static inline struct rte_mbuf *ethdev_mbuf(struct aeg_pkt *pkt)
{
	return (struct rte_mbuf *)pkt - 1;
}

/* Single writer: a relaxed load and store, no locked read-modify-write. */
static inline void ethdev_count(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* RX checksum status of m as AEG_NET_RX_* flags. */
unsigned ethdev_rx_flags(const struct rte_mbuf *m);

enum ethdev_route {
	ROUTE_GONE,  /* freed (dropped, counted) or handed to its worker's queue */
	ROUTE_MINE,  /* UDP for queue q: the aeg_pkt in m is filled */
	ROUTE_SLOW,  /* ARP or another protocol: for the main lcore (pr filled) */
};
/* Parses m (received on queue q; q = slow_q on the main lcore) and
 * routes it, counting into c. */
enum ethdev_route ethdev_rx_route(struct ethdev_port *e, uint16_t q, struct rte_mbuf *m,
				  struct aeg_port_counters *c, struct aeg_net_parsed *pr);
/* An ARP frame from (our MAC, our IP) in a new mbuf of pool, or NULL. */
struct rte_mbuf *ethdev_arp_mbuf(struct ethdev_port *e, struct rte_mempool *pool, uint16_t op,
				 const struct aeg_net_mac *eth_dst, const struct aeg_net_mac *tha,
				 uint32_t tpa);
/* rx/tx bursts check this first: true = keep off the device. */
bool ethdev_paused(struct ethdev_queue *q);
/* Main lcore: asks every queue to keep off the device and waits up to
 * wait_ms for all to acknowledge (true), or resumes them. */
bool ethdev_pause_all(struct ethdev_port *e, uint32_t wait_ms);
void ethdev_resume_all(struct ethdev_port *e);

void ethdev_close(struct aeg_port *p);
void ethdev_stats(struct aeg_port *p, struct aeg_port_stats *out);

extern const struct aeg_port_ops ethdev_ops;

#endif
