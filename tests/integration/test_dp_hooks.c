/* The worker's hooks for the node (worker.h), over the kernel-UDP port on
 * 127.0.0.1, driven from this one thread with explicit clocks:
 *   on_raw       gets every datagram that is no cluster frame, with the
 *                sender's address; frames still go to on_msg;
 *   send_raw     and the zero-copy reserve/commit answer a plain socket;
 *   on_rx_done   runs once per iteration, after the burst's callbacks and
 *                before tx: what it sends is on the wire when poll returns;
 *   index/now_ns the worker's queue and the iteration's clock. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aegis/port.h"
#include "aegis/wire.h"
#include "aegis/worker.h"

#define CLUSTER 0x600du
#define NODE_A 1
#define NODE_B 2
#define MSG_TYPE 1

struct ctx {
	struct aeg_wire_key key;
	struct aeg_worker_peer peers[2];
	struct aeg_port *port_a, *port_b;
	struct aeg_worker *a, *b;
	int cli;                 /* a plain UDP socket: the "client" */
	uint16_t cli_port;
	/* What B's callbacks saw. */
	uint32_t raw_n, msg_n, rx_done_n, bad;
	uint32_t msgs_at_rx_done; /* msg_n when on_rx_done last ran */
	uint64_t expect_now;      /* the now_ns B's current poll was given */
	bool zero_copy;           /* answer raw datagrams through reserve/commit */
	bool reply_in_rx_done;    /* on_rx_done sends one raw datagram per call with work */
	uint32_t pending_replies;
};

static struct ctx c;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* B answers a raw datagram "AEGC<payload>" with "ACK:<payload>". */
static void on_raw_b(void *arg, struct aeg_worker *w, const struct aeg_pkt *pkt)
{
	(void)arg;
	c.raw_n++;
	if (aeg_worker_now_ns(w) != c.expect_now || pkt->ipv4 != INADDR_LOOPBACK ||
	    pkt->udp_port != c.cli_port || pkt->len < 4 || memcmp(pkt->data, "AEGC", 4) != 0) {
		c.bad++;
		return;
	}
	if (c.reply_in_rx_done) {
		c.pending_replies++;
		return;
	}
	uint8_t out[256];
	uint32_t n = pkt->len - 4 > 200 ? 200 : pkt->len - 4;
	memcpy(out, "ACK:", 4);
	memcpy(out + 4, pkt->data + 4, n);
	if (!c.zero_copy) {
		if (aeg_worker_send_raw(w, pkt->ipv4, pkt->udp_port, out, n + 4) != 0)
			c.bad++;
		return;
	}
	uint32_t cap = 0;
	struct aeg_pkt *tx = aeg_worker_raw_reserve(w, pkt->ipv4, pkt->udp_port, &cap);
	if (tx == NULL || cap < n + 4) {
		c.bad++;
		return;
	}
	memcpy(tx->data, out, n + 4);
	if (aeg_worker_raw_commit(w, tx, n + 4) != 0)
		c.bad++;
}

static void on_msg_b(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		     const struct aeg_wire_msg *m)
{
	(void)arg;
	if (aeg_worker_now_ns(w) != c.expect_now || src_node != NODE_A || src_worker != 0 ||
	    m->type != MSG_TYPE)
		c.bad++;
	c.msg_n++;
}

static uint32_t on_rx_done_b(void *arg, struct aeg_worker *w, uint64_t now_ns)
{
	(void)arg;
	c.rx_done_n++;
	c.msgs_at_rx_done = c.msg_n;
	if (now_ns != c.expect_now || aeg_worker_now_ns(w) != now_ns)
		c.bad++;
	uint32_t work = 0;
	for (; c.pending_replies > 0; c.pending_replies--, work++)
		if (aeg_worker_send_raw(w, INADDR_LOOPBACK, c.cli_port, "LATE", 4) != 0)
			c.bad++;
	return work;
}

static void on_msg_a(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		     const struct aeg_wire_msg *m)
{
	(void)arg, (void)w, (void)src_node, (void)src_worker, (void)m;
}

static struct aeg_port *open_free_port(uint32_t salt, uint16_t *base)
{
	for (uint32_t attempt = 0; attempt < 50; attempt++) {
		*base = (uint16_t)(20000 + ((uint32_t)getpid() * 17 + salt + attempt * 307) % 40000);
		struct aeg_port_udp_config pc = {
			.ipv4 = INADDR_LOOPBACK, .base_port = *base, .queue_count = 1,
		};
		struct aeg_port *p;
		if (aeg_port_udp_open(&pc, &p) == 0)
			return p;
	}
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		c.key.bytes[i] = (uint8_t)(0x17 * i + 3);
	c.peers[0] = (struct aeg_worker_peer){ .node = NODE_A, .ipv4 = INADDR_LOOPBACK };
	c.peers[1] = (struct aeg_worker_peer){ .node = NODE_B, .ipv4 = INADDR_LOOPBACK };
	c.port_a = open_free_port(0, &c.peers[0].udp_base_port);
	c.port_b = open_free_port(11, &c.peers[1].udp_base_port);
	if (c.port_a == NULL || c.port_b == NULL)
		return -1;
	c.cli = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (c.cli < 0 || bind(c.cli, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(c.cli, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	c.cli_port = ntohs(a.sin_port);
	uint64_t floor = aeg_wire_replay_floor(wall_ns(), 0);
	struct aeg_worker_config ca = {
		.port = c.port_a, .cluster = CLUSTER, .key = &c.key, .self_node = NODE_A,
		.peers = c.peers, .peer_count = 2, .workers_per_node = 1, .replay_floor = floor,
		.on_msg = on_msg_a,
	};
	struct aeg_worker_config cb = ca;
	cb.port = c.port_b;
	cb.self_node = NODE_B;
	cb.on_msg = on_msg_b;
	cb.on_raw = on_raw_b;
	cb.on_rx_done = on_rx_done_b;
	if (aeg_worker_init(&c.a, &ca) != 0 || aeg_worker_init(&c.b, &cb) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	aeg_worker_fini(c.a);
	aeg_worker_fini(c.b);
	aeg_port_close(c.port_a);
	aeg_port_close(c.port_b);
	close(c.cli);
	return 0;
}

static void cli_send(const void *data, size_t len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(c.peers[1].udp_base_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	assert_int_equal(sendto(c.cli, data, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

/* A datagram already waiting on the client socket (no wait: loopback
 * delivers during sendmmsg); -1 if none. */
static ssize_t cli_recv_now(uint8_t *buf, size_t cap)
{
	return recv(c.cli, buf, cap, MSG_DONTWAIT);
}

/* Polls B (one iteration at a time) until it has seen `raw` raw datagrams,
 * `msgs` messages, or 3 s passed. Returns the iterations used. */
static uint32_t poll_b_until(uint32_t raw, uint32_t msgs)
{
	uint64_t deadline = mono_ns() + 3000000000ull;
	uint32_t iters = 0;
	while ((c.raw_n < raw || c.msg_n < msgs) && mono_ns() < deadline) {
		c.expect_now = mono_ns();
		aeg_worker_poll(c.b, c.expect_now);
		iters++;
	}
	return iters;
}

static void test_index_and_clock(void **state)
{
	(void)state;
	assert_int_equal(aeg_worker_index(c.b), 0);
	uint64_t t = mono_ns() + 12345;
	c.expect_now = t;
	uint32_t before = c.rx_done_n;
	aeg_worker_poll(c.b, t);
	assert_int_equal(aeg_worker_now_ns(c.b), t);
	/* on_rx_done runs every iteration, also when nothing arrived. */
	aeg_worker_poll(c.b, t + 1);
	assert_int_equal(c.rx_done_n - before, 2);
	assert_int_equal(c.bad, 1); /* the second poll's clock was not expect_now */
	c.bad = 0;
}

static void test_raw_roundtrip(void **state)
{
	(void)state;
	for (int zc = 0; zc < 2; zc++) {
		c.zero_copy = zc;
		uint32_t raw0 = c.raw_n;
		cli_send("AEGChello", 9);
		cli_send("AEGCworld!", 10);
		poll_b_until(raw0 + 2, 0);
		assert_int_equal(c.raw_n - raw0, 2);
		assert_int_equal(c.bad, 0);
		/* The answers left in the iteration that received the requests. */
		uint8_t buf[256];
		assert_int_equal(cli_recv_now(buf, sizeof(buf)), 9);
		assert_memory_equal(buf, "ACK:hello", 9);
		assert_int_equal(cli_recv_now(buf, sizeof(buf)), 10);
		assert_memory_equal(buf, "ACK:world!", 10);
	}
	struct aeg_worker_stats s;
	aeg_worker_stats_read(c.b, &s);
	assert_int_equal(s.rx_raw, 4);
	assert_int_equal(s.tx_raw, 4);
	assert_int_equal(s.drops[AEG_WIRE_DROP_BAD_MAGIC], 0);
}

/* Cluster frames still reach on_msg when on_raw is set; a short datagram
 * (under 4 bytes) is raw. */
static void test_frames_and_raw_mixed(void **state)
{
	(void)state;
	uint32_t msg0 = c.msg_n, raw0 = c.raw_n;
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(aeg_worker_send(c.a, NODE_B, 0, MSG_TYPE, i, &i, 4), 0);
	aeg_worker_flush(c.a);
	c.zero_copy = false;
	cli_send("AE", 2);
	poll_b_until(raw0 + 1, msg0 + 10);
	assert_int_equal(c.msg_n - msg0, 10);
	assert_int_equal(c.raw_n - raw0, 1);
	assert_int_equal(c.bad, 1); /* "AE" is no AEGC request: on_raw refused it */
	c.bad = 0;
	/* on_rx_done ran after the burst's on_msg calls. */
	assert_int_equal(c.msgs_at_rx_done, c.msg_n);
}

/* Replies queued by on_rx_done are on the wire when poll returns: the
 * client socket holds them without waiting. */
static void test_rx_done_before_tx(void **state)
{
	(void)state;
	c.reply_in_rx_done = true;
	uint32_t raw0 = c.raw_n;
	cli_send("AEGCa", 5);
	cli_send("AEGCb", 5);
	poll_b_until(raw0 + 2, 0);
	c.reply_in_rx_done = false;
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.pending_replies, 0);
	uint8_t buf[16];
	assert_int_equal(cli_recv_now(buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "LATE", 4);
	assert_int_equal(cli_recv_now(buf, sizeof(buf)), 4);
	assert_int_equal(cli_recv_now(buf, sizeof(buf)), -1);
}

static void test_raw_errors(void **state)
{
	(void)state;
	static uint8_t big[2000];
	struct aeg_worker_stats s0, s1;
	aeg_worker_stats_read(c.b, &s0);
	assert_int_equal(aeg_worker_send_raw(c.b, INADDR_LOOPBACK, c.cli_port, big, 1473),
			 -EMSGSIZE);
	uint32_t cap = 0;
	struct aeg_pkt *p = aeg_worker_raw_reserve(c.b, INADDR_LOOPBACK, c.cli_port, &cap);
	assert_non_null(p);
	assert_int_equal(cap, 1472);
	assert_int_equal(aeg_worker_raw_commit(c.b, p, cap + 1), -EMSGSIZE);
	p = aeg_worker_raw_reserve(c.b, INADDR_LOOPBACK, c.cli_port, &cap);
	assert_non_null(p);
	aeg_worker_raw_cancel(c.b, p);
	assert_int_equal(aeg_worker_send_raw(c.b, INADDR_LOOPBACK, c.cli_port, big, 1472), 0);
	aeg_worker_flush(c.b);
	aeg_worker_stats_read(c.b, &s1);
	assert_int_equal(s1.tx_raw - s0.tx_raw, 1);
	assert_int_equal(s1.tx_pkts - s0.tx_pkts, 1);
	uint8_t buf[2048];
	struct pollfd pfd = { .fd = c.cli, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(recv(c.cli, buf, sizeof(buf), 0), 1472);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_and_clock),
		cmocka_unit_test(test_raw_roundtrip),
		cmocka_unit_test(test_frames_and_raw_mixed),
		cmocka_unit_test(test_rx_done_before_tx),
		cmocka_unit_test(test_raw_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
