/* The ethdev port's hot path, called by worker q on queue q only: rx
 * (frames other queues steered here, then the device queue, each frame
 * parsed once and routed), tx (neighbour lookup, the 42 header bytes
 * written in the headroom kept at alloc, checksum offload flags), and
 * packet buffers that are the mbufs themselves (struct aeg_pkt in the
 * mbuf's private area). */
#define _GNU_SOURCE
#include <assert.h>
#include <string.h>
#include <time.h>

#include "dp_clock.h"
#include "port_ethdev_int.h"

#define ARP_PER_BURST_MAX 4u
#define CTL_BURST 16u

bool ethdev_paused(struct ethdev_queue *q)
{
	uint32_t g = __atomic_load_n(&q->pause_gen, __ATOMIC_ACQUIRE);
	if ((g & 1) == 0)
		return false;
	__atomic_store_n(&q->pause_ack, g, __ATOMIC_RELEASE);
	return true;
}

unsigned ethdev_rx_flags(const struct rte_mbuf *m)
{
	unsigned f = 0;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= AEG_NET_RX_IPV4_CSUM_GOOD;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		f |= AEG_NET_RX_UDP_CSUM_GOOD;
	return f;
}

enum ethdev_route ethdev_rx_route(struct ethdev_port *e, uint16_t q, struct rte_mbuf *m,
				  struct aeg_port_counters *c, struct aeg_net_parsed *pr)
{
	ethdev_count(&c->rx_frames, 1);
	/* Our frames fit one mbuf; a chained one is somebody else's jumbo. */
	enum aeg_net_drop d = m->nb_segs != 1 ? AEG_NET_DROP_TRUNCATED :
			      aeg_net_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
					    e->rx_csum ? ethdev_rx_flags(m) : 0, pr);
	if (d != AEG_NET_OK) {
		ethdev_count(&c->net_drops[d], 1);
		rte_pktmbuf_free(m);
		return ROUTE_GONE;
	}
	if (pr->kind != AEG_NET_UDP)
		return ROUTE_SLOW;
	const struct aeg_net_udp *u = &pr->udp;
	uint32_t w = (uint32_t)u->dst_port - e->cfg.base_port;
	if (u->dst_ip != e->cfg.ipv4 || u->dst_port < e->cfg.base_port ||
	    w >= e->cfg.queue_count) {
		ethdev_count(&c->not_ours, 1);
		rte_pktmbuf_free(m);
		return ROUTE_GONE;
	}
	struct aeg_pkt *pkt = ethdev_pkt(m);
	*pkt = (struct aeg_pkt){
		.data = rte_pktmbuf_mtod_offset(m, uint8_t *, u->payload_off),
		.len = u->payload_len, .cap = u->payload_len,
		.ipv4 = u->src_ip, .udp_port = u->src_port, .queue = (uint16_t)w,
	};
	if (w == q)
		return ROUTE_MINE;
	/* Software steering: the owner dequeues it at its next rx burst. */
	if (rte_ring_mp_enqueue(e->q[w].steer, m) == 0) {
		ethdev_count(&c->steered, 1);
	} else {
		ethdev_count(&c->steer_drops, 1);
		rte_pktmbuf_free(m);
	}
	return ROUTE_GONE;
}

struct rte_mbuf *ethdev_arp_mbuf(struct ethdev_port *e, struct rte_mempool *pool, uint16_t op,
				 const struct aeg_net_mac *eth_dst, const struct aeg_net_mac *tha,
				 uint32_t tpa)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		return NULL;
	uint8_t *frame = (uint8_t *)rte_pktmbuf_append(m, AEG_NET_ARP_FRAME_LEN);
	assert(frame != NULL);
	struct aeg_net_mac own;
	memcpy(own.b, e->mac.addr_bytes, sizeof(own.b));
	aeg_net_arp_build(frame, op, eth_dst, &own, e->cfg.ipv4, tha, tpa);
	return m;
}

/* The queue's clock for neighbour ages: read when the TSC says a
 * millisecond has passed (a clock read per burst cost a few percent of a
 * small-frame run); never goes backwards, as the table requires. */
static uint64_t queue_now(const struct ethdev_port *e, struct ethdev_queue *q)
{
	uint64_t tsc = rte_rdtsc();
	if (q->now_ns == 0 || tsc - q->now_tsc >= e->tsc_per_ms) {
		q->now_ns = aeg_dp_now_ns();
		q->now_tsc = tsc;
	}
	return q->now_ns;
}

/* Learned neighbours pushed by the main lcore. */
static void ctl_drain(const struct ethdev_port *e, struct ethdev_queue *q)
{
	struct aeg_ctl_msg msgs[CTL_BURST];
	uint32_t n = aeg_ctl_ring_pop_burst(q->ctl, msgs, CTL_BURST);
	if (n == 0)
		return;
	uint64_t now = queue_now(e, q);
	for (uint32_t i = 0; i < n; i++) {
		assert(msgs[i].type == ETHDEV_CTL_NEIGH);
		struct aeg_net_mac mac;
		memcpy(mac.b, &msgs[i].arg[1], sizeof(mac.b));
		/* -ENOSPC (table full) leaves the peer unresolved: counted at tx. */
		(void)aeg_net_neigh_learn(&q->neigh, (uint32_t)msgs[i].arg[0], &mac, now, true);
	}
}

/* Slow-path frames the main lcore could not send itself (no tx queue of
 * its own): queue 0 sends them. */
static void slow_out_drain(struct ethdev_port *e)
{
	struct rte_mbuf *m[CTL_BURST];
	unsigned n = rte_ring_sc_dequeue_burst(e->slow_out, (void **)m, CTL_BURST, NULL);
	uint16_t sent = n == 0 ? 0 : rte_eth_tx_burst(e->cfg.port_id, 0, m, (uint16_t)n);
	for (unsigned i = sent; i < n; i++) {
		ethdev_count(&e->q[0].c.slow_drops, 1);
		rte_pktmbuf_free(m[i]);
	}
}

static int ethdev_rx_burst(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n)
{
	struct ethdev_port *e = ethdev_of(p);
	struct ethdev_queue *q = &e->q[queue];
	assert(queue < p->queue_count && n <= p->burst_max);
	if (ethdev_paused(q))
		return 0;
	ctl_drain(e, q);
	if (queue == 0 && e->slow_out != NULL)
		slow_out_drain(e);
	struct rte_mbuf *m[ETHDEV_BURST_MAX];
	uint16_t got = (uint16_t)rte_ring_sc_dequeue_burst(q->steer, (void **)m, n, NULL);
	for (uint16_t i = 0; i < got; i++)
		pkts[i] = ethdev_pkt(m[i]);
	uint16_t r = got < n ? rte_eth_rx_burst(e->cfg.port_id, queue, m, (uint16_t)(n - got)) : 0;
	for (uint16_t i = 0; i < r; i++) {
		struct aeg_net_parsed pr;
		switch (ethdev_rx_route(e, queue, m[i], &q->c, &pr)) {
		case ROUTE_MINE:
			pkts[got++] = ethdev_pkt(m[i]);
			break;
		case ROUTE_SLOW:
			if (rte_ring_sp_enqueue(q->slow, m[i]) != 0) {
				ethdev_count(&q->c.slow_drops, 1);
				rte_pktmbuf_free(m[i]);
			}
			break;
		case ROUTE_GONE:
			break;
		}
	}
	return got;
}

/* Headers for pkt, in the headroom in front of pkt->data. Returns false
 * (and counts no_neigh) when the peer's MAC is not known yet; an ARP
 * request is then added to out when the table says so. */
static bool tx_prepare(struct ethdev_port *e, uint16_t queue, struct aeg_pkt *pkt, uint64_t now,
		       struct rte_mbuf **out, uint16_t *k, uint32_t *arps)
{
	struct ethdev_queue *q = &e->q[queue];
	struct aeg_net_mac dst;
	bool req = false;
	int r = aeg_net_neigh_lookup(&q->neigh, pkt->ipv4, now, &dst, &req);
	if (req && !e->cfg.static_only && *arps < ARP_PER_BURST_MAX) {
		static const struct aeg_net_mac zero;
		struct rte_mbuf *a = ethdev_arp_mbuf(e, q->pool, AEG_NET_ARP_REQUEST,
						     &aeg_net_mac_broadcast, &zero, pkt->ipv4);
		if (a != NULL) {
			out[(*k)++] = a;
			(*arps)++;
			ethdev_count(&q->c.arp_requests_tx, 1);
		}
	}
	if (r != 0) {
		ethdev_count(&q->c.no_neigh, 1);
		return false;
	}
	struct rte_mbuf *m = ethdev_mbuf(pkt);
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	assert(pkt->data == frame + AEG_NET_UDP_HDRS_LEN);
	struct aeg_net_udp_tuple t = {
		.dst_mac = dst, .src_ip = e->cfg.ipv4, .dst_ip = pkt->ipv4,
		.src_port = (uint16_t)(e->cfg.base_port + queue), .dst_port = pkt->udp_port,
		.ip_id = q->ip_id++,
	};
	memcpy(t.src_mac.b, e->mac.addr_bytes, sizeof(t.src_mac.b));
	r = aeg_net_udp_build(frame, &t, pkt->len, e->tx_net_flags);
	assert(r == 0); /* len <= cap was checked by the worker */
	(void)r;
	m->data_len = (uint16_t)(AEG_NET_UDP_HDRS_LEN + pkt->len);
	m->pkt_len = m->data_len;
	m->l2_len = AEG_NET_ETH_LEN;
	m->l3_len = AEG_NET_IPV4_LEN;
	m->ol_flags = e->tx_ol_flags;
	out[(*k)++] = m;
	return true;
}

static int ethdev_tx_burst(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n)
{
	struct ethdev_port *e = ethdev_of(p);
	assert(queue < p->queue_count && n <= p->burst_max);
	if (ethdev_paused(&e->q[queue]))
		return 0;
	ctl_drain(e, &e->q[queue]); /* a neighbour learned since the last rx burst */
	struct rte_mbuf *out[ETHDEV_BURST_MAX + ARP_PER_BURST_MAX];
	int16_t orig[ETHDEV_BURST_MAX + ARP_PER_BURST_MAX]; /* index in pkts, -1: ARP */
	bool dropped[ETHDEV_BURST_MAX];
	uint16_t k = 0;
	uint32_t arps = 0;
	uint64_t now = queue_now(e, &e->q[queue]);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t k0 = k;
		dropped[i] = !tx_prepare(e, queue, pkts[i], now, out, &k, &arps);
		for (uint16_t j = k0; j < k; j++)
			orig[j] = (int16_t)(j == k - 1 && !dropped[i] ? i : -1);
	}
	uint16_t sent = k == 0 ? 0 : rte_eth_tx_burst(e->cfg.port_id, queue, out, k);
	if (sent < k) /* one more try: the ring may have drained meanwhile */
		sent += rte_eth_tx_burst(e->cfg.port_id, queue, out + sent, (uint16_t)(k - sent));
	/* Taken: everything in front of the first data packet not sent. */
	uint16_t taken = n;
	for (uint16_t j = sent; j < k; j++) {
		if (orig[j] < 0)
			rte_pktmbuf_free(out[j]);
		else if (taken == n)
			taken = (uint16_t)orig[j];
	}
	for (uint16_t i = 0; i < taken; i++)
		if (dropped[i])
			rte_pktmbuf_free(ethdev_mbuf(pkts[i]));
	return taken;
}

static struct aeg_pkt *ethdev_pkt_alloc(struct aeg_port *p, uint16_t queue)
{
	struct ethdev_port *e = ethdev_of(p);
	struct rte_mbuf *m = rte_pktmbuf_alloc(e->q[queue].pool);
	if (m == NULL)
		return NULL;
	struct aeg_pkt *pkt = ethdev_pkt(m);
	/* Headroom for the 42 header bytes aeg_net_udp_build writes at tx. */
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	*pkt = (struct aeg_pkt){
		.data = frame + AEG_NET_UDP_HDRS_LEN,
		.cap = (uint32_t)rte_pktmbuf_tailroom(m) - AEG_NET_UDP_HDRS_LEN,
		.queue = queue,
	};
	return pkt;
}

static void ethdev_pkt_free(struct aeg_port *p, struct aeg_pkt *pkt)
{
	(void)p;
	rte_pktmbuf_free(ethdev_mbuf(pkt));
}

const struct aeg_port_ops ethdev_ops = {
	.rx_burst = ethdev_rx_burst,
	.tx_burst = ethdev_tx_burst,
	.pkt_alloc = ethdev_pkt_alloc,
	.pkt_free = ethdev_pkt_free,
	.close = ethdev_close,
	.stats = ethdev_stats,
};
