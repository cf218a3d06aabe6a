/* The ethdev port's slow path on the main lcore: ARP (answer, learn,
 * resolve the configured peers, push what it learns to every queue), the
 * frames no worker wants, and the link watch that restarts a port whose
 * peer went away (memif does not reconnect by itself). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "port_ethdev_int.h"

#define SLOW_BURST 32u
#define LINK_DOWN_RESTART_NS 1000000000ull /* restart after the link stayed down this long */
#define RESTART_GAP_NS 2000000000ull       /* and at most this often */
#define PAUSE_WAIT_MS 200u

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	(void)nanosleep(&ts, NULL);
}

bool ethdev_pause_all(struct ethdev_port *e, uint32_t wait_ms)
{
	for (uint16_t i = 0; i < e->cfg.queue_count; i++) {
		struct ethdev_queue *q = &e->q[i];
		uint32_t g = __atomic_load_n(&q->pause_gen, __ATOMIC_RELAXED);
		if ((g & 1) == 0)
			__atomic_store_n(&q->pause_gen, g + 1, __ATOMIC_SEQ_CST);
	}
	/* Workers sleep at most ~1 ms when idle, so they answer quickly. */
	for (uint32_t waited = 0;; waited++) {
		bool all = true;
		for (uint16_t i = 0; i < e->cfg.queue_count; i++)
			all = all && __atomic_load_n(&e->q[i].pause_ack, __ATOMIC_ACQUIRE) ==
				     __atomic_load_n(&e->q[i].pause_gen, __ATOMIC_RELAXED);
		if (all)
			return true;
		if (waited >= wait_ms)
			return false;
		sleep_ms(1);
	}
}

void ethdev_resume_all(struct ethdev_port *e)
{
	for (uint16_t i = 0; i < e->cfg.queue_count; i++) {
		struct ethdev_queue *q = &e->q[i];
		uint32_t g = __atomic_load_n(&q->pause_gen, __ATOMIC_RELAXED);
		if (g & 1)
			__atomic_store_n(&q->pause_gen, g + 1, __ATOMIC_SEQ_CST);
	}
}

static void slow_send(struct ethdev_port *e, struct rte_mbuf *m)
{
	bool ok = e->slow_tx ? rte_eth_tx_burst(e->cfg.port_id, e->slow_q, &m, 1) == 1 :
			       rte_ring_sp_enqueue(e->slow_out, m) == 0;
	if (!ok) {
		ethdev_count(&e->c.slow_drops, 1);
		rte_pktmbuf_free(m);
	}
}

static void arp_request(struct ethdev_port *e, uint32_t ipv4)
{
	static const struct aeg_net_mac zero;
	struct rte_mbuf *m = ethdev_arp_mbuf(e, e->slow_pool, AEG_NET_ARP_REQUEST,
					     &aeg_net_mac_broadcast, &zero, ipv4);
	if (m == NULL)
		return;
	ethdev_count(&e->c.arp_requests_tx, 1);
	slow_send(e, m);
}

/* A neighbour learned here goes to every queue's table. */
static void neigh_push(struct ethdev_port *e, uint32_t ipv4, const struct aeg_net_mac *mac)
{
	struct aeg_ctl_msg msg = { .type = ETHDEV_CTL_NEIGH, .len = 16, .arg = { ipv4 } };
	memcpy(&msg.arg[1], mac->b, sizeof(mac->b));
	for (uint16_t i = 0; i < e->cfg.queue_count; i++)
		if (!aeg_ctl_ring_push(e->q[i].ctl, &msg))
			ethdev_count(&e->c.slow_drops, 1);
	for (uint32_t i = 0; i < e->cfg.resolve_count; i++)
		if (e->cfg.resolve[i] == ipv4)
			e->known[i] = 1;
}

static void arp_in(struct ethdev_port *e, const struct aeg_net_arp *a, uint64_t now)
{
	bool for_us = a->tpa == e->cfg.ipv4;
	ethdev_count(a->op == AEG_NET_ARP_REQUEST ? &e->c.arp_requests_rx : &e->c.arp_replies_rx, 1);
	/* RFC 826: create an entry when the packet is for us, else only
	 * refresh an existing one. */
	if (a->spa != 0 && aeg_net_neigh_learn(&e->neigh, a->spa, &a->sha, now, for_us) == 0 &&
	    for_us)
		neigh_push(e, a->spa, &a->sha);
	if (a->op == AEG_NET_ARP_REQUEST && for_us) {
		struct rte_mbuf *m = ethdev_arp_mbuf(e, e->slow_pool, AEG_NET_ARP_REPLY, &a->sha,
						     &a->sha, a->spa);
		if (m != NULL) {
			ethdev_count(&e->c.arp_replies_tx, 1);
			slow_send(e, m);
		}
	}
}

/* A frame a worker passed up (already parsed once; parsed again here). */
static void slow_in(struct ethdev_port *e, struct rte_mbuf *m, uint64_t now)
{
	struct aeg_net_parsed pr;
	enum aeg_net_drop d = aeg_net_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
					    e->rx_csum ? ethdev_rx_flags(m) : 0, &pr);
	if (d == AEG_NET_OK && pr.kind == AEG_NET_ARP)
		arp_in(e, &pr.arp, now);
	else
		ethdev_count(&e->c.other, 1);
	rte_pktmbuf_free(m);
}

static void slow_rx(struct ethdev_port *e, uint64_t now)
{
	struct rte_mbuf *m[SLOW_BURST];
	if (e->slow_rx && e->started) {
		uint16_t n = rte_eth_rx_burst(e->cfg.port_id, e->slow_q, m, SLOW_BURST);
		for (uint16_t i = 0; i < n; i++) {
			struct aeg_net_parsed pr;
			if (ethdev_rx_route(e, e->slow_q, m[i], &e->c, &pr) != ROUTE_SLOW)
				continue; /* dropped, or handed to its worker */
			if (pr.kind == AEG_NET_ARP)
				arp_in(e, &pr.arp, now);
			else
				ethdev_count(&e->c.other, 1);
			rte_pktmbuf_free(m[i]);
		}
	}
	for (uint16_t i = 0; i < e->cfg.queue_count; i++) {
		unsigned n = rte_ring_sc_dequeue_burst(e->q[i].slow, (void **)m, SLOW_BURST, NULL);
		for (unsigned j = 0; j < n; j++)
			slow_in(e, m[j], now);
	}
}

static void resolve_peers(struct ethdev_port *e, uint64_t now)
{
	for (uint32_t i = 0; i < e->cfg.resolve_count; i++) {
		struct aeg_net_mac mac;
		bool req = false;
		if (aeg_net_neigh_lookup(&e->neigh, e->cfg.resolve[i], now, &mac, &req) == 0 &&
		    !e->known[i])
			neigh_push(e, e->cfg.resolve[i], &mac); /* a static entry */
		if (req && !e->cfg.static_only)
			arp_request(e, e->cfg.resolve[i]);
	}
}

/* (Re)start with the workers kept off the device. */
static void port_restart(struct ethdev_port *e, uint64_t now)
{
	e->last_restart_ns = now;
	if (!ethdev_pause_all(e, PAUSE_WAIT_MS)) {
		fprintf(stderr, "port %u: workers did not pause; restart postponed\n", e->cfg.port_id);
		return;
	}
	if (e->started)
		(void)rte_eth_dev_stop(e->cfg.port_id);
	int r = rte_eth_dev_start(e->cfg.port_id);
	e->started = r == 0;
	if (r == 0) {
		ethdev_count(&e->c.link_restarts, 1);
		e->link_down_since_ns = 0;
		ethdev_resume_all(e);
	}
}

static void link_watch(struct ethdev_port *e, uint64_t now)
{
	struct rte_eth_link link = { 0 };
	if (e->started && rte_eth_link_get_nowait(e->cfg.port_id, &link) == 0 &&
	    link.link_status == RTE_ETH_LINK_UP) {
		e->link_down_since_ns = 0;
		return;
	}
	if (e->link_down_since_ns == 0)
		e->link_down_since_ns = now;
	/* Only memif needs it (its client never reconnects on its own, and
	 * a client started before its server fails to start); a real NIC's
	 * link comes back by itself. */
	if (e->restart_on_link_down && now - e->link_down_since_ns >= LINK_DOWN_RESTART_NS &&
	    now - e->last_restart_ns >= RESTART_GAP_NS)
		port_restart(e, now);
}

void aeg_port_ethdev_slow_poll(struct aeg_port *p, uint64_t now_ns)
{
	struct ethdev_port *e = ethdev_of(p);
	link_watch(e, now_ns);
	slow_rx(e, now_ns);
	/* Requests sent while the link is down would be lost and then wait
	 * for the retry interval. */
	if (e->started && e->link_down_since_ns == 0)
		resolve_peers(e, now_ns);
}

int aeg_port_ethdev_resolve_add(struct aeg_port *p, uint32_t ipv4)
{
	struct ethdev_port *e = ethdev_of(p);
	for (uint32_t i = 0; i < e->cfg.resolve_count; i++)
		if (e->resolve[i] == ipv4)
			return 0;
	if (e->cfg.resolve_count >= e->resolve_cap)
		return -ENOSPC;
	e->resolve[e->cfg.resolve_count++] = ipv4;  /* resolved by the next slow poll */
	return 0;
}

bool aeg_port_ethdev_reachable(struct aeg_port *p, uint32_t ipv4)
{
	struct ethdev_port *e = ethdev_of(p);
	for (uint32_t i = 0; i < e->cfg.resolve_count; i++)
		if (e->cfg.resolve[i] == ipv4)
			return e->known[i] != 0;
	return false;
}
