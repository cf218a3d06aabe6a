/* aegis/port_ethdev.h — the port layer (aegis/port.h) over one DPDK ethdev
 * port (libaegis_node), opened after the caller's rte_eal_init (this header
 * needs no DPDK header; the program links DPDK for EAL itself): one rx/tx queue pair per worker plus a queue pair for the
 * main lcore's slow path, Ethernet/IPv4/UDP/ARP with lib/net, neighbours
 * per queue (shared-nothing), and frames steered to the worker that owns
 * their UDP port: by the NIC with rte_flow where the driver accepts the
 * rules, else in software through a ring per destination queue.
 *
 * Threads: queue q's rx/tx/alloc calls come from worker q only;
 * aeg_port_ethdev_slow_poll and _reachable from the main lcore only;
 * aeg_port_stats_read from any thread.
 *
 * Sizes, all at open, on the port's NUMA socket: per worker a mempool of
 * mbufs_per_queue mbufs (2176 B data room + 32 B private area holding the
 * struct aeg_pkt, ~2.4 KiB each: 4096 -> ~10 MiB), a steering ring and a
 * slow-path ring (1024 pointers each), a control ring (dataplane/ctl_ring.h,
 * 1024 x 64 B) and a neighbour table (256 x 32 B); for the slow path one
 * pool of 2047 mbufs and the main lcore's neighbour table.
 * Nothing is allocated per packet: rx and tx use the mbufs themselves. */
#ifndef AEGIS_PORT_ETHDEV_H
#define AEGIS_PORT_ETHDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/net.h"
#include "aegis/port.h"

AEG_API_BEGIN

struct aeg_port_ethdev_neigh {
	uint32_t ipv4;        /* host order */
	struct aeg_net_mac mac;
};

struct aeg_port_ethdev_config {
	uint16_t port_id;
	uint16_t queue_count;      /* workers */
	uint32_t ipv4;             /* ours, host order */
	uint16_t base_port;        /* worker w owns UDP base_port + w */
	uint16_t burst_max;        /* default 32 */
	uint32_t mbufs_per_queue;  /* default 4096 */
	uint16_t rx_desc, tx_desc; /* default 1024 each */
	/* Static neighbour entries (--peer ID=IP@MAC). */
	const struct aeg_port_ethdev_neigh *statics;
	uint32_t static_count;
	/* Peers to resolve with ARP from the start (and keep fresh). */
	const uint32_t *resolve;
	uint32_t resolve_count;
	bool static_only;          /* --static-arp: never send ARP requests */
	bool no_flow;              /* do not try rte_flow (tests of software steering) */
};

/* Configures and starts the port. Returns 0 and the port, or a negative
 * errno (-EINVAL: the device cannot have that many queues, ...); a line
 * saying what failed goes to stderr. On success, info (if not NULL)
 * receives a description: driver, queues, steering mode, offloads, pools. */
int aeg_port_ethdev_open(const struct aeg_port_ethdev_config *cfg, struct aeg_port **out,
			 char *info, size_t info_len);

/* The slow path, on the main lcore, every millisecond or so: polls the
 * slow-path rx queue and the frames workers passed up (ARP, other),
 * answers ARP requests for our address, learns neighbours and pushes them
 * to every queue, sends ARP requests for the configured peers, and
 * restarts the port when its link stays down (a memif peer that went
 * away), pausing the workers' bursts meanwhile. now_ns: CLOCK_MONOTONIC. */
void aeg_port_ethdev_slow_poll(struct aeg_port *p, uint64_t now_ns);

/* Whether the main lcore knows ipv4's MAC (it has been pushed to every
 * queue by then). Main lcore only. */
bool aeg_port_ethdev_reachable(struct aeg_port *p, uint32_t ipv4);

/* A peer to resolve from now on (a node that joined the cluster). Main
 * lcore only. 0 (also when it is resolved already) or -ENOSPC (64 past the
 * configured peers). */
int aeg_port_ethdev_resolve_add(struct aeg_port *p, uint32_t ipv4);

AEG_API_END

#endif
