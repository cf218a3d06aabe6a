/* Kernel-UDP fallback port: one non-blocking socket per queue, bursts
 * through recvmmsg/sendmmsg, packet buffers and message headers
 * preallocated at open (nothing is allocated per packet). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aegis/port.h"

struct udp_queue {
	int fd;
	uint8_t *buf_mem;
	struct aeg_pkt *pkts;
	struct aeg_pkt **free;   /* stack of free buffers */
	uint32_t free_n;
	uint32_t bufs;
	struct mmsghdr *msgs;    /* burst_max each */
	struct iovec *iovs;
	struct sockaddr_in *addrs;
};

struct udp_port {
	struct aeg_port port;    /* first: the generic view */
	struct udp_queue *q;
};

static struct udp_port *udp_of(struct aeg_port *p)
{
	return (struct udp_port *)p;
}

static struct aeg_pkt *udp_pkt_alloc(struct aeg_port *p, uint16_t queue)
{
	assert(queue < p->queue_count);
	struct udp_queue *q = &udp_of(p)->q[queue];
	if (q->free_n == 0)
		return NULL;
	struct aeg_pkt *pkt = q->free[--q->free_n];
	pkt->len = 0;
	pkt->oversize = false;
	return pkt;
}

static void udp_pkt_free(struct aeg_port *p, struct aeg_pkt *pkt)
{
	struct udp_queue *q = &udp_of(p)->q[pkt->queue];
	assert(q->free_n < q->bufs);
	q->free[q->free_n++] = pkt;
}

static void msg_setup(struct udp_queue *q, uint32_t i, struct aeg_pkt *pkt, size_t iov_len)
{
	q->iovs[i] = (struct iovec){ .iov_base = pkt->data, .iov_len = iov_len };
	q->msgs[i].msg_hdr = (struct msghdr){
		.msg_name = &q->addrs[i], .msg_namelen = sizeof(q->addrs[i]),
		.msg_iov = &q->iovs[i], .msg_iovlen = 1,
	};
	q->msgs[i].msg_len = 0;
}

static int udp_rx_burst(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n)
{
	assert(queue < p->queue_count && n <= p->burst_max);
	struct udp_queue *q = &udp_of(p)->q[queue];
	uint16_t got = 0;
	while (got < n && q->free_n > 0) {
		pkts[got] = udp_pkt_alloc(p, queue);
		msg_setup(q, got, pkts[got], pkts[got]->cap);
		got++;
	}
	int r = got == 0 ? 0 : recvmmsg(q->fd, q->msgs, got, MSG_DONTWAIT, NULL);
	int err = r < 0 ? errno : 0;
	uint16_t filled = r > 0 ? (uint16_t)r : 0;
	for (uint16_t i = 0; i < filled; i++) {
		pkts[i]->len = q->msgs[i].msg_len;
		pkts[i]->oversize = (q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		pkts[i]->ipv4 = ntohl(q->addrs[i].sin_addr.s_addr);
		pkts[i]->udp_port = ntohs(q->addrs[i].sin_port);
	}
	/* Give back what was not filled, newest first so the stack order holds. */
	for (uint16_t i = got; i > filled; i--)
		udp_pkt_free(p, pkts[i - 1]);
	if (r < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
		return -err;
	return filled;
}

static int udp_tx_burst(struct aeg_port *p, uint16_t queue, struct aeg_pkt **pkts, uint16_t n)
{
	assert(queue < p->queue_count && n <= p->burst_max);
	struct udp_queue *q = &udp_of(p)->q[queue];
	for (uint16_t i = 0; i < n; i++) {
		msg_setup(q, i, pkts[i], pkts[i]->len);
		q->addrs[i] = (struct sockaddr_in){
			.sin_family = AF_INET,
			.sin_port = htons(pkts[i]->udp_port),
			.sin_addr.s_addr = htonl(pkts[i]->ipv4),
		};
	}
	int r = n == 0 ? 0 : sendmmsg(q->fd, q->msgs, n, MSG_DONTWAIT);
	if (r < 0) {
		int err = errno;
		return (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) ? 0 : -err;
	}
	for (int i = 0; i < r; i++)
		udp_pkt_free(p, pkts[i]);
	return r;
}

static void queue_fini(struct udp_queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf_mem);
	free(q->pkts);
	free(q->free);
	free(q->msgs);
	free(q->iovs);
	free(q->addrs);
}

static void udp_close(struct aeg_port *p)
{
	struct udp_port *u = udp_of(p);
	for (uint16_t i = 0; i < p->queue_count; i++)
		queue_fini(&u->q[i]);
	free(u->q);
	free(u);
}

static void udp_wait(struct aeg_port *p, uint16_t queue, uint64_t timeout_ns)
{
	struct pollfd pfd = { .fd = udp_of(p)->q[queue].fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000u),
			       .tv_nsec = (long)(timeout_ns % 1000000000u) };
	(void)ppoll(&pfd, 1, &ts, NULL); /* EINTR or a timeout: the loop polls anyway */
}

static const struct aeg_port_ops udp_ops = {
	.wait = udp_wait,
	.rx_burst = udp_rx_burst,
	.tx_burst = udp_tx_burst,
	.pkt_alloc = udp_pkt_alloc,
	.pkt_free = udp_pkt_free,
	.close = udp_close,
};

static int socket_open(const struct aeg_port_udp_config *cfg, uint16_t queue, int *fd_out)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int sz = (int)cfg->sock_buf_bytes;
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)(cfg->base_port + queue)),
		.sin_addr.s_addr = htonl(cfg->ipv4),
	};
	/* FORCE passes over rmem_max/wmem_max where we may (CAP_NET_ADMIN). */
	if ((sz > 0 && ((setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0 &&
			 setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) != 0) ||
			(setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0 &&
			 setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) != 0))) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	*fd_out = fd;
	return 0;
}

static int queue_init(struct udp_queue *q, const struct aeg_port_udp_config *cfg,
		      uint16_t queue, uint16_t burst_max)
{
	q->fd = -1;
	q->bufs = cfg->bufs_per_queue;
	q->buf_mem = calloc(q->bufs, cfg->buf_bytes);
	q->pkts = calloc(q->bufs, sizeof(*q->pkts));
	q->free = calloc(q->bufs, sizeof(*q->free));
	q->msgs = calloc(burst_max, sizeof(*q->msgs));
	q->iovs = calloc(burst_max, sizeof(*q->iovs));
	q->addrs = calloc(burst_max, sizeof(*q->addrs));
	if (!q->buf_mem || !q->pkts || !q->free || !q->msgs || !q->iovs || !q->addrs)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->bufs; i++) {
		q->pkts[i] = (struct aeg_pkt){
			.data = q->buf_mem + (size_t)i * cfg->buf_bytes,
			.cap = cfg->buf_bytes, .queue = queue,
		};
		q->free[i] = &q->pkts[q->bufs - 1 - i];
	}
	q->free_n = q->bufs;
	return socket_open(cfg, queue, &q->fd);
}

int aeg_port_udp_open(const struct aeg_port_udp_config *cfg_in, struct aeg_port **out)
{
	struct aeg_port_udp_config cfg = *cfg_in;
	if (cfg.burst_max == 0)
		cfg.burst_max = 32;
	if (cfg.bufs_per_queue == 0)
		cfg.bufs_per_queue = 512;
	if (cfg.buf_bytes == 0)
		cfg.buf_bytes = 2048;
	if (cfg.queue_count == 0 || (uint32_t)cfg.base_port + cfg.queue_count > 65536u ||
	    cfg.bufs_per_queue < cfg.burst_max || cfg.buf_bytes > 65536u ||
	    cfg.sock_buf_bytes > (uint32_t)INT32_MAX)
		return -EINVAL;
	struct udp_port *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->port = (struct aeg_port){
		.ops = &udp_ops, .kind = "udp", .burst_max = cfg.burst_max,
	};
	u->q = calloc(cfg.queue_count, sizeof(*u->q));
	if (u->q == NULL) {
		free(u);
		return -ENOMEM;
	}
	for (uint16_t i = 0; i < cfg.queue_count; i++) {
		/* Counted before init so that close releases a half-built queue. */
		u->port.queue_count = (uint16_t)(i + 1);
		int r = queue_init(&u->q[i], &cfg, i, cfg.burst_max);
		if (r != 0) {
			udp_close(&u->port);
			return r;
		}
	}
	*out = &u->port;
	return 0;
}
