/* Benchmark transports (ep_port.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "ep_port.h"

static struct ep_port *ep_of(struct aeg_port *p)
{
	return (struct ep_port *)p;
}

static int c_rx_burst(struct aeg_port *p, uint16_t q, struct aeg_pkt **pkts, uint16_t n)
{
	return aeg_port_rx_burst(ep_of(p)->inner, q, pkts, n);
}

static int c_tx_burst(struct aeg_port *p, uint16_t q, struct aeg_pkt **pkts, uint16_t n)
{
	return aeg_port_tx_burst(ep_of(p)->inner, q, pkts, n);
}

static struct aeg_pkt *c_pkt_alloc(struct aeg_port *p, uint16_t q)
{
	struct aeg_pkt *pkt = aeg_port_pkt_alloc(ep_of(p)->inner, q);
	if (pkt != NULL)
		ep_of(p)->gets++;
	return pkt;
}

static void c_pkt_free(struct aeg_port *p, struct aeg_pkt *pkt)
{
	aeg_port_pkt_free(ep_of(p)->inner, pkt);
}

static void c_close(struct aeg_port *p)
{
	aeg_port_close(ep_of(p)->inner);
	ep_of(p)->inner = NULL;
}

static const struct aeg_port_ops counting_ops = {
	.rx_burst = c_rx_burst, .tx_burst = c_tx_burst, .pkt_alloc = c_pkt_alloc,
	.pkt_free = c_pkt_free, .close = c_close,
};

static int open_udp(const struct ep_opts *o, struct aeg_port **out, struct aeg_worker_peer peers[2])
{
	if (o->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			fprintf(stderr, "endpoint: could not pin to CPU %d\n", o->cpu);
	}
	struct aeg_port_udp_config pc = {
		.ipv4 = INADDR_LOOPBACK, .base_port = o->udp_port, .queue_count = 1,
		.bufs_per_queue = 1024, .sock_buf_bytes = 4u << 20,
	};
	peers[0] = (struct aeg_worker_peer){ o->node, INADDR_LOOPBACK, o->udp_port };
	peers[1] = (struct aeg_worker_peer){ o->peer_node, INADDR_LOOPBACK, o->peer_udp_port };
	int r = aeg_port_udp_open(&pc, out);
	if (r != 0)
		fprintf(stderr, "endpoint: udp port 127.0.0.1:%u: %s\n", o->udp_port, strerror(-r));
	return r;
}

void ep_port_pause(struct ep_port *p)
{
	__atomic_store_n(&p->pause_req, true, __ATOMIC_RELEASE);
}

bool ep_port_paused(struct ep_port *p)
{
	return __atomic_load_n(&p->pause_done, __ATOMIC_ACQUIRE);
}

bool ep_port_link_ok(struct ep_port *p)
{
	return __atomic_load_n(&p->link_ok, __ATOMIC_ACQUIRE);
}

int ep_port_run(struct ep_port *p, int (*loop)(void *), void *arg)
{
	if (strcmp(p->o->transport, "udp") != 0)
		return ep_memif_run(p, loop, arg);
	/* No device to quiesce, nothing to resolve. */
	__atomic_store_n(&p->link_ok, true, __ATOMIC_RELEASE);
	__atomic_store_n(&p->pause_done, true, __ATOMIC_RELEASE);
	return loop(arg);
}

int ep_port_open(struct ep_port *p, const struct ep_opts *o, struct aeg_worker_peer peers[2])
{
	memset(p, 0, sizeof(*p));
	int r;
	p->o = o;
	if (strcmp(o->transport, "udp") == 0) {
		r = open_udp(o, &p->inner, peers);
	} else if (strcmp(o->transport, "memif") == 0) {
		r = ep_memif_open(o, &p->inner, peers);
	} else {
		fprintf(stderr, "endpoint: unknown transport '%s'\n", o->transport);
		r = -EINVAL;
	}
	if (r != 0)
		return r;
	p->port = *p->inner;
	p->port.ops = &counting_ops;
	return 0;
}

void ep_port_close(struct ep_port *p)
{
	if (p->inner != NULL)
		aeg_port_close(&p->port);
	if (p->o != NULL && strcmp(p->o->transport, "memif") == 0)
		ep_memif_fini();
}
