/* The ethdev port's setup and teardown (port_ethdev.h): queues, pools and
 * rings sized at open on the port's NUMA socket, checksum offloads where
 * the device has them, rte_flow steering where the driver takes it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_flow.h>
#include <rte_malloc.h>

#include "port_ethdev_int.h"

#define MBUFS_PER_QUEUE_DEFAULT 4096u
#define DESC_DEFAULT 1024u
#define POOL_CACHE 256u

static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	fputs("port_ethdev: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err;
}

static struct rte_mempool *pool_create(const char *name, unsigned n, int socket)
{
	/* struct aeg_pkt lives in the mbuf's private area: rx and tx never
	 * allocate anything but the mbuf. */
	uint16_t priv = RTE_ALIGN(sizeof(struct aeg_pkt), RTE_MBUF_PRIV_ALIGN);
	struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, POOL_CACHE, priv,
							 RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (mp == NULL && socket != SOCKET_ID_ANY)
		mp = rte_pktmbuf_pool_create(name, n, POOL_CACHE, priv, RTE_MBUF_DEFAULT_BUF_SIZE,
					     SOCKET_ID_ANY);
	return mp;
}

static struct rte_ring *ring_create(const char *fmt, uint16_t port, uint16_t q, unsigned esize,
				    unsigned flags, int socket)
{
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), fmt, port, q);
	struct rte_ring *r = rte_ring_create_elem(name, esize, ETHDEV_RING_SIZE, socket, flags);
	return r != NULL ? r : rte_ring_create_elem(name, esize, ETHDEV_RING_SIZE, SOCKET_ID_ANY,
						    flags);
}

static int neigh_init(struct ethdev_port *e, struct aeg_net_neigh *t)
{
	struct aeg_net_neigh_config nc = { .capacity = 256 };
	if (aeg_net_neigh_init(t, &nc) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->cfg.static_count; i++)
		if (aeg_net_neigh_add_static(t, e->cfg.statics[i].ipv4, &e->cfg.statics[i].mac) != 0)
			return -ENOSPC;
	return 0;
}

static int queue_init(struct ethdev_port *e, uint16_t i, int socket)
{
	struct ethdev_queue *q = &e->q[i];
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "aeg_p%u_q%u", e->cfg.port_id, i);
	q->pool = pool_create(name, e->cfg.mbufs_per_queue, socket);
	q->steer = ring_create("aeg_st%u_%u", e->cfg.port_id, i, sizeof(void *),
			       RING_F_SC_DEQ, socket);
	q->slow = ring_create("aeg_sl%u_%u", e->cfg.port_id, i, sizeof(void *),
			      RING_F_SP_ENQ | RING_F_SC_DEQ, socket);
	if (aeg_ctl_ring_init(&q->ctl, ETHDEV_RING_SIZE) != 0)
		q->ctl = NULL;
	if (q->pool == NULL || q->steer == NULL || q->slow == NULL || q->ctl == NULL)
		return fail(-ENOMEM, "queue %u: pool/rings: %s", i, rte_strerror(rte_errno));
	int r = neigh_init(e, &q->neigh);
	if (r != 0)
		return fail(r, "queue %u: neighbour table", i);
	r = rte_eth_rx_queue_setup(e->cfg.port_id, i, e->cfg.rx_desc, socket, NULL, q->pool);
	if (r == 0)
		r = rte_eth_tx_queue_setup(e->cfg.port_id, i, e->cfg.tx_desc, socket, NULL);
	return r == 0 ? 0 : fail(r, "queue %u setup: %s", i, rte_strerror(-r));
}

/* ETH / IPV4 dst=ours / UDP dst=base+w -> QUEUE w, for every worker. */
static bool flows_create(struct ethdev_port *e)
{
	for (uint16_t w = 0; w < e->cfg.queue_count; w++) {
		struct rte_flow_item_ipv4 ip_spec = { .hdr.dst_addr = rte_cpu_to_be_32(e->cfg.ipv4) };
		struct rte_flow_item_ipv4 ip_mask = { .hdr.dst_addr = RTE_BE32(0xffffffff) };
		struct rte_flow_item_udp udp_spec = {
			.hdr.dst_port = rte_cpu_to_be_16((uint16_t)(e->cfg.base_port + w)) };
		struct rte_flow_item_udp udp_mask = { .hdr.dst_port = RTE_BE16(0xffff) };
		struct rte_flow_item pattern[] = {
			{ .type = RTE_FLOW_ITEM_TYPE_ETH },
			{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask },
			{ .type = RTE_FLOW_ITEM_TYPE_END },
		};
		struct rte_flow_action_queue queue = { .index = w };
		struct rte_flow_action actions[] = {
			{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue },
			{ .type = RTE_FLOW_ACTION_TYPE_END },
		};
		struct rte_flow_attr attr = { .ingress = 1 };
		struct rte_flow_error err;
		if (rte_flow_validate(e->cfg.port_id, &attr, pattern, actions, &err) != 0)
			return false;
		e->flows[w] = rte_flow_create(e->cfg.port_id, &attr, pattern, actions, &err);
		if (e->flows[w] == NULL)
			return false;
		e->flow_count = (uint16_t)(w + 1);
	}
	return true;
}

static void flows_destroy(struct ethdev_port *e)
{
	struct rte_flow_error err;
	for (uint16_t w = 0; w < e->flow_count; w++)
		(void)rte_flow_destroy(e->cfg.port_id, e->flows[w], &err);
	e->flow_count = 0;
}

/* Offloads the device has; the rest is done in software. */
static void offloads_pick(struct ethdev_port *e, const struct rte_eth_dev_info *di,
			  struct rte_eth_conf *conf)
{
	uint64_t rx = di->rx_offload_capa &
		      (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	conf->rxmode.offloads = rx;
	e->rx_csum = rx != 0;
	e->tsc_per_ms = rte_get_tsc_hz() / 1000; /* 0 (unknown): read the clock every burst */
	if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		e->tx_offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		e->tx_ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		e->tx_net_flags |= AEG_NET_TX_IPV4_CSUM_HW;
	}
	/* Without UDP offload the UDP checksum stays 0 (allowed for IPv4):
	 * the wire tag authenticates the payload, a software checksum would
	 * only add a pass over every byte. */
	if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		e->tx_offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		e->tx_ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		e->tx_net_flags |= AEG_NET_TX_UDP_CSUM_HW;
	}
	conf->txmode.offloads = e->tx_offloads;
}

static bool memif_client(const struct rte_eth_dev_info *di)
{
	const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
	return strcmp(di->driver_name, "net_memif") == 0 && da != NULL && da->args != NULL &&
	       strstr(da->args, "role=client") != NULL;
}

static int configure(struct ethdev_port *e, int socket)
{
	struct rte_eth_dev_info di;
	uint16_t port = e->cfg.port_id, n = e->cfg.queue_count;
	int r = rte_eth_dev_info_get(port, &di);
	if (r != 0)
		return fail(r, "port %u: dev_info: %s", port, rte_strerror(-r));
	snprintf(e->driver, sizeof(e->driver), "%s", di.driver_name);
	if (di.max_rx_queues < n || di.max_tx_queues < n)
		return fail(-EINVAL, "port %u (%s): %u worker queues wanted, device has rx %u tx %u%s",
			    port, e->driver, n, di.max_rx_queues, di.max_tx_queues,
			    strcmp(e->driver, "net_af_packet") == 0 ? " (devarg qpairs=N)" : "");
	/* The main lcore's queue pair when the device has room for it; else
	 * its frames leave through queue 0 and it reads what workers pass up.
	 * Its rx queue must exist where the device spreads frames over every
	 * queue it has (af_packet's fanout over qpairs=N sockets) or needs as
	 * many rx as tx rings (memif); it carries data only in the first case,
	 * polled every millisecond: give af_packet qpairs = workers. */
	e->slow_tx = di.max_tx_queues > n;
	e->slow_rx = di.max_rx_queues > n;
	e->slow_q = n;
	e->restart_on_link_down = memif_client(&di);
	struct rte_eth_conf conf = { 0 };
	offloads_pick(e, &di, &conf);
	uint16_t nrx = (uint16_t)(n + e->slow_rx), ntx = (uint16_t)(n + e->slow_tx);
	r = rte_eth_dev_configure(port, nrx, ntx, &conf);
	if (r == 0)
		r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &e->cfg.rx_desc, &e->cfg.tx_desc);
	if (r != 0)
		return fail(r, "port %u: configure %u rx / %u tx queues: %s", port, nrx, ntx,
			    rte_strerror(-r));
	for (uint16_t i = 0; i < n; i++)
		if ((r = queue_init(e, i, socket)) != 0)
			return r;
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "aeg_p%u_slow", port);
	e->slow_pool = pool_create(name, ETHDEV_SLOW_POOL_MBUFS, socket);
	if (e->slow_pool == NULL)
		return fail(-ENOMEM, "slow-path pool: %s", rte_strerror(rte_errno));
	if (e->slow_rx && (r = rte_eth_rx_queue_setup(port, n, ETHDEV_SLOW_DESC, socket, NULL,
						      e->slow_pool)) != 0)
		return fail(r, "slow rx queue: %s", rte_strerror(-r));
	if (e->slow_tx && (r = rte_eth_tx_queue_setup(port, n, ETHDEV_SLOW_DESC, socket, NULL)) != 0)
		return fail(r, "slow tx queue: %s", rte_strerror(-r));
	if (!e->slow_tx && (e->slow_out = ring_create("aeg_so%u_%u", port, 0, sizeof(void *),
						       RING_F_SP_ENQ | RING_F_SC_DEQ,
						       socket)) == NULL)
		return fail(-ENOMEM, "slow-path ring: %s", rte_strerror(rte_errno));
	return neigh_init(e, &e->neigh);
}

static int start(struct ethdev_port *e)
{
	uint16_t port = e->cfg.port_id;
	(void)rte_eth_promiscuous_enable(port); /* vdevs without it still work */
	int r = rte_eth_dev_start(port);
	e->started = r == 0;
	if (r != 0 && !e->restart_on_link_down)
		return fail(r, "port %u: start: %s", port, rte_strerror(-r));
	if (r != 0)
		fprintf(stderr, "port_ethdev: port %u: start failed (memif server not up yet?); "
			"retrying from the slow path\n", port);
	/* Workers stay off the device until it runs. */
	for (uint16_t i = 0; i < e->cfg.queue_count; i++)
		e->q[i].pause_gen = e->started ? 0 : 1;
	r = rte_eth_macaddr_get(port, &e->mac);
	if (r != 0)
		return fail(r, "port %u: MAC address: %s", port, rte_strerror(-r));
	e->steering = !e->cfg.no_flow && e->started && flows_create(e) ? "rte_flow" : "software";
	if (strcmp(e->steering, "software") == 0)
		flows_destroy(e);
	return 0;
}

static void describe(const struct ethdev_port *e, int socket, char *info, size_t len)
{
	char mac[18], ip[16];
	struct aeg_net_mac m;
	memcpy(m.b, e->mac.addr_bytes, sizeof(m.b));
	aeg_net_mac_format(&m, mac);
	aeg_net_ipv4_format(e->cfg.ipv4, ip);
	snprintf(info, len,
		 "port %u driver %s mac %s ip %s udp %u..%u, NUMA socket %d, %u worker queue "
		 "pair(s), slow path rx %s tx %s, steering %s, tx checksum %s/%s, "
		 "rx checksum %s, pools %u x %u mbufs + %u (slow), %u/%u descriptors",
		 e->cfg.port_id, e->driver, mac, ip, e->cfg.base_port,
		 e->cfg.base_port + e->cfg.queue_count - 1, socket, e->cfg.queue_count,
		 e->slow_rx ? "own queue" : "from workers",
		 e->slow_tx ? "own queue" : "via queue 0", e->steering,
		 e->tx_net_flags & AEG_NET_TX_IPV4_CSUM_HW ? "ipv4 hw" : "ipv4 sw",
		 e->tx_net_flags & AEG_NET_TX_UDP_CSUM_HW ? "udp hw" : "udp 0",
		 e->rx_csum ? "hw" : "sw", e->cfg.queue_count, e->cfg.mbufs_per_queue,
		 ETHDEV_SLOW_POOL_MBUFS, e->cfg.rx_desc, e->cfg.tx_desc);
}

int aeg_port_ethdev_open(const struct aeg_port_ethdev_config *cfg, struct aeg_port **out,
			 char *info, size_t info_len)
{
	if (cfg->queue_count == 0 || cfg->queue_count > ETHDEV_QUEUES_MAX ||
	    (uint32_t)cfg->base_port + cfg->queue_count > 65536u ||
	    cfg->burst_max > ETHDEV_BURST_MAX || !rte_eth_dev_is_valid_port(cfg->port_id))
		return fail(-EINVAL, "port %u: invalid port or queue count", cfg->port_id);
	struct ethdev_port *e = rte_zmalloc("aeg_port_ethdev", sizeof(*e), RTE_CACHE_LINE_SIZE);
	if (e == NULL)
		return -ENOMEM;
	e->cfg = *cfg;
	e->cfg.burst_max = cfg->burst_max ? cfg->burst_max : 32;
	e->cfg.mbufs_per_queue = cfg->mbufs_per_queue ? cfg->mbufs_per_queue :
				 MBUFS_PER_QUEUE_DEFAULT;
	e->cfg.rx_desc = cfg->rx_desc ? cfg->rx_desc : DESC_DEFAULT;
	e->cfg.tx_desc = cfg->tx_desc ? cfg->tx_desc : DESC_DEFAULT;
	e->port = (struct aeg_port){
		.ops = &ethdev_ops, .kind = "ethdev", .queue_count = cfg->queue_count,
		.burst_max = e->cfg.burst_max,
	};
	int socket = rte_eth_dev_socket_id(cfg->port_id);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	e->q = rte_zmalloc_socket("aeg_ethdev_q", sizeof(*e->q) * cfg->queue_count,
				  RTE_CACHE_LINE_SIZE, socket);
	/* Room for the peers of nodes that join later (aeg_port_ethdev_resolve_add). */
	e->resolve_cap = cfg->resolve_count + 64;
	e->known = calloc(e->resolve_cap, sizeof(*e->known));
	e->resolve = calloc(e->resolve_cap, sizeof(*e->resolve));
	if (e->resolve != NULL && cfg->resolve_count > 0)
		memcpy(e->resolve, cfg->resolve, cfg->resolve_count * sizeof(*e->resolve));
	e->cfg.resolve = e->resolve;
	int r = e->q == NULL || e->known == NULL || e->resolve == NULL ? -ENOMEM : configure(e, socket);
	if (r == 0)
		r = start(e);
	if (r != 0) {
		ethdev_close(&e->port);
		return r;
	}
	if (info != NULL)
		describe(e, socket, info, info_len);
	*out = &e->port;
	return 0;
}

void ethdev_close(struct aeg_port *p)
{
	struct ethdev_port *e = ethdev_of(p);
	uint16_t port = e->cfg.port_id;
	/* Workers must have stopped (close does not wait for them); one that
	 * still polled would find its bursts returning 0 from here on. */
	if (e->q != NULL)
		(void)ethdev_pause_all(e, 0);
	flows_destroy(e);
	if (e->started)
		(void)rte_eth_dev_stop(port);
	(void)rte_eth_dev_close(port); /* releases the device's mbufs before the pools go */
	for (uint16_t i = 0; e->q != NULL && i < e->cfg.queue_count; i++) {
		struct ethdev_queue *q = &e->q[i];
		struct rte_mbuf *m;
		while (q->steer != NULL && rte_ring_dequeue(q->steer, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (q->slow != NULL && rte_ring_dequeue(q->slow, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(q->steer);
		rte_ring_free(q->slow);
		if (q->ctl != NULL)
			aeg_ctl_ring_fini(q->ctl);
		aeg_net_neigh_fini(&q->neigh);
		rte_mempool_free(q->pool);
	}
	struct rte_mbuf *m;
	while (e->slow_out != NULL && rte_ring_dequeue(e->slow_out, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(e->slow_out);
	rte_mempool_free(e->slow_pool);
	aeg_net_neigh_fini(&e->neigh);
	free(e->known);
	free(e->resolve);
	rte_free(e->q);
	rte_free(e);
}

static void counters_add(struct aeg_port_counters *sum, const struct aeg_port_counters *c)
{
	_Static_assert(sizeof(*c) % sizeof(uint64_t) == 0, "u64 counters only");
	uint64_t *dst = (uint64_t *)sum;
	const uint64_t *src = (const uint64_t *)c;
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void ethdev_stats(struct aeg_port *p, struct aeg_port_stats *out)
{
	struct ethdev_port *e = ethdev_of(p);
	out->driver = e->driver;
	out->steering = e->steering;
	counters_add(&out->c, &e->c);
	for (uint16_t i = 0; i < e->cfg.queue_count; i++)
		counters_add(&out->c, &e->q[i].c);
	struct rte_eth_stats s;
	if (rte_eth_stats_get(e->cfg.port_id, &s) == 0) {
		out->dev_imissed = s.imissed;
		out->dev_ierrors = s.ierrors;
		out->dev_oerrors = s.oerrors;
		out->dev_rx_nombuf = s.rx_nombuf;
	}
}
