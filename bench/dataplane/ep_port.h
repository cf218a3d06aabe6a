/* The transport under a benchmark endpoint: the kernel-UDP port on
 * 127.0.0.1, or the DPDK ethdev port on net_memif. Either is
 * wrapped so that every packet buffer the worker takes from the port's
 * pool is counted (rx buffers are the port's own business). */
#ifndef AEGIS_BENCH_EP_PORT_H
#define AEGIS_BENCH_EP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/port.h"
#include "aegis/worker.h"

struct ep_opts {
	char transport[16];  /* "udp" or "memif" */
	uint32_t node, peer_node;
	uint16_t udp_port, peer_udp_port;
	int cpu;             /* udp: pin to this CPU (-1: no pinning) */
	bool memif_server;   /* memif: our role */
	/* EAL arguments (after "--"), memif only. */
	int eal_argc;
	char **eal_argv;
};

struct ep_port {
	struct aeg_port port;   /* what the worker sees */
	struct aeg_port *inner;
	uint64_t gets;          /* pkt_alloc calls that returned a buffer */
	const struct ep_opts *o;
	uint32_t peer_ipv4;
	/* Between the polling thread and (DPDK) the main lcore. */
	bool pause_req;         /* set by the polling thread */
	bool pause_done;        /* the device is quiesced */
	bool link_ok;           /* link up and the peer's MAC known */
};

/* Opens the transport and fills peers[0] (us) and peers[1] (the peer).
 * 0 or a negative errno after printing why. */
int ep_port_open(struct ep_port *p, const struct ep_opts *o, struct aeg_worker_peer peers[2]);
void ep_port_close(struct ep_port *p);
/* Runs loop(arg) on the polling core until it returns. With DPDK it runs
 * on the one worker lcore while the calling (main) lcore does the slow
 * path (link, ARP) and keeps link_ok current until pause_req is set; over
 * UDP it runs right here. Returns loop's value. */
int ep_port_run(struct ep_port *p, int (*loop)(void *), void *arg);
/* From the polling thread, which has stopped polling: ask the slow path
 * to leave the device alone too, and whether it does. */
void ep_port_pause(struct ep_port *p);
bool ep_port_paused(struct ep_port *p);
bool ep_port_link_ok(struct ep_port *p);
/* The memif transport (ep_memif.c). */
int ep_memif_open(const struct ep_opts *o, struct aeg_port **out, struct aeg_worker_peer peers[2]);
int ep_memif_run(struct ep_port *p, int (*loop)(void *), void *arg);
void ep_memif_fini(void);

#endif
