/* The memif transport of the benchmark endpoints (ep_port.h): EAL from
 * the arguments after "--", the ethdev port (dataplane/port_ethdev.c) on
 * the one net_memif vdev, static neighbours (each side's MAC is set with
 * the vdev's mac= argument by the parent), the worker loop on the one
 * worker lcore and the slow path on the main lcore, as dpnode does. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "aegis/port_ethdev.h"
#include "common.h"
#include "ep_port.h"

#define MEMIF_NET 0x0a580000u /* 10.88.0.0/24: node N is 10.88.0.N */

static uint32_t ip_of(uint32_t node)
{
	return MEMIF_NET | (node & 0xffu);
}

int ep_memif_open(const struct ep_opts *o, struct aeg_port **out, struct aeg_worker_peer peers[2])
{
	/* The port keeps pointers to these for its whole life. */
	static struct aeg_port_ethdev_neigh neigh;
	static uint32_t resolve;
	if (rte_eal_init(o->eal_argc, o->eal_argv) < 0) {
		fprintf(stderr, "endpoint: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -ENODEV;
	}
	if (rte_eth_dev_count_avail() < 1 || rte_lcore_count() != 2) {
		fprintf(stderr, "endpoint: need one ethdev port (net_memif vdev) and 2 lcores\n");
		return -ENODEV;
	}
	neigh.ipv4 = ip_of(o->peer_node);
	neigh.mac = (struct aeg_net_mac){ { 0x02, 0, 0, 0, 0, (uint8_t)o->peer_node } };
	resolve = neigh.ipv4;
	struct aeg_port_ethdev_config cfg = {
		.port_id = 0, .queue_count = 1, .ipv4 = ip_of(o->node), .base_port = o->udp_port,
		.statics = &neigh, .static_count = 1, .resolve = &resolve, .resolve_count = 1,
		.static_only = true,
	};
	char info[512] = "";
	int r = aeg_port_ethdev_open(&cfg, out, info, sizeof(info));
	if (r != 0)
		return r;
	fprintf(stderr, "endpoint: %s\n", info);
	peers[0] = (struct aeg_worker_peer){ o->node, ip_of(o->node), o->udp_port };
	peers[1] = (struct aeg_worker_peer){ o->peer_node, neigh.ipv4, o->peer_udp_port };
	return 0;
}

struct launch {
	int (*loop)(void *);
	void *arg;
	int rc;
	bool done;
};

static int on_lcore(void *arg)
{
	struct launch *l = arg;
	l->rc = l->loop(l->arg);
	__atomic_store_n(&l->done, true, __ATOMIC_RELEASE);
	return l->rc;
}

int ep_memif_run(struct ep_port *p, int (*loop)(void *), void *arg)
{
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	struct launch l = { loop, arg, 0, false };
	if (lcore >= RTE_MAX_LCORE || rte_eal_remote_launch(on_lcore, &l, lcore) != 0) {
		fprintf(stderr, "endpoint: no worker lcore to launch on\n");
		return -ENODEV;
	}
	uint32_t peer = ip_of(p->o->peer_node);
	while (!__atomic_load_n(&l.done, __ATOMIC_ACQUIRE)) {
		/* Paused, the polling thread leaves the device alone; so does
		 * the slow path from then on (its link watch would restart the
		 * port when the peer leaves, its ARP would transmit). */
		if (__atomic_load_n(&p->pause_req, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&p->pause_done, true, __ATOMIC_RELEASE);
		} else {
			aeg_port_ethdev_slow_poll(p->inner, bench_now_ns());
			struct rte_eth_link link = { 0 };
			bool up = rte_eth_link_get_nowait(0, &link) == 0 &&
				  link.link_status == RTE_ETH_LINK_UP;
			__atomic_store_n(&p->link_ok, up && aeg_port_ethdev_reachable(p->inner, peer),
					 __ATOMIC_RELEASE);
		}
		struct timespec ms = { .tv_nsec = 1000000 };
		nanosleep(&ms, NULL);
	}
	(void)rte_eal_wait_lcore(lcore);
	return l.rc;
}

void ep_memif_fini(void)
{
	/* --no-shconf leaves the runtime directory empty but still creates
	 * it: remove it too. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	(void)rte_eal_cleanup();
	(void)rmdir(dir);
}
