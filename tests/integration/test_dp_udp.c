/* The worker loop over the kernel-UDP fallback port on 127.0.0.1: node 1
 * (driven by the test thread) sends numbered messages to node 2 (its own
 * thread, aeg_worker_run) which echoes each one back; a raw UDP socket
 * (node 3) injects damaged frames that must be dropped and counted under
 * the right reason while valid traffic goes on; the test thread talks to
 * B's worker through its control rings. Bounded: every wait has a
 * deadline of a few seconds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
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

#include "aegis/msg.h"
#include "aegis/port.h"
#include "aegis/wire.h"
#include "aegis/worker.h"
#include "ctl_ring.h"

#define CLUSTER 0xa5a5c1u
#define NODE_A 1
#define NODE_B 2
#define NODE_INJ 3
#define WINDOW_MSGS 512   /* messages A lets be in flight */
#define WAIT_NS 5000000000ull

struct ctx {
	struct aeg_wire_key key;
	struct aeg_wire_mac *mac; /* of key, for frames the test makes itself */
	struct aeg_wire_key key_next; /* B also accepts it, as key id 5 (a rotation) */
	struct aeg_worker_peer peers[3];
	struct aeg_port *port_a, *port_b;
	struct aeg_worker *a, *b;
	pthread_t b_thread;
	int inj_fd;
	uint64_t seq_inj;
	/* A's view of the echoes. */
	uint8_t *seen;
	uint32_t seen_cap, received, dup, bad;
	uint32_t echo_fail;  /* B's failed echoes (atomic) */
	struct aeg_ctl_ring *b_ctl_in, *b_ctl_out; /* main <-> B control rings */
	uint32_t ctl_reply_fail; /* B's refused replies (atomic) */
};

static struct ctx c;

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t body_len_of(uint32_t i)
{
	return 8 + (i * 37) % 113;
}

static uint8_t body_byte(uint32_t i, uint32_t j)
{
	return (uint8_t)(i * 31 + j * 7);
}

/* B: echo every message to its sender. */
static void on_msg_b(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		     const struct aeg_wire_msg *m)
{
	(void)arg;
	if (aeg_worker_send(w, src_node, src_worker, m->type, m->group, m->body, m->body_len) != 0)
		__atomic_add_fetch(&c.echo_fail, 1, __ATOMIC_RELAXED);
}

/* A: check each echo against what was sent and mark it seen. */
static void on_msg_a(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		     const struct aeg_wire_msg *m)
{
	(void)arg;
	(void)w;
	uint32_t i;
	if (src_node != NODE_B || src_worker != 0 || m->type != AEG_MSG_TEST || m->body_len < 4) {
		c.bad++;
		return;
	}
	memcpy(&i, m->body, 4);
	bool ok = i < c.seen_cap && m->body_len == body_len_of(i) && m->group == i % 1000;
	for (uint32_t j = 4; ok && j < m->body_len; j++)
		ok = m->body[j] == body_byte(i, j);
	if (!ok) {
		c.bad++;
		return;
	}
	if (c.seen[i]++ != 0)
		c.dup++;
	else
		c.received++;
}

/* B answers control message k with (k, f(k)) on its out ring. */
static uint64_t ctl_f(uint64_t k)
{
	return k * 0x9e3779b97f4a7c15ull + 1;
}

static void on_ctl_b(void *arg, struct aeg_worker *w, const struct aeg_ctl_msg *m)
{
	(void)arg;
	struct aeg_ctl_msg r = { .type = m->type + 1, .len = 16, .arg = { m->arg[0], ctl_f(m->arg[0]) } };
	if (aeg_worker_ctl_reply(w, &r) != 0)
		__atomic_add_fetch(&c.ctl_reply_fail, 1, __ATOMIC_RELAXED);
}

static void *run_b(void *arg)
{
	aeg_worker_run(arg);
	return NULL;
}

/* A port of `queues` queues on free loopback ports (base .. base + queues - 1),
 * base picked from the pid and salt; NULL if 50 tries found none free. */
static struct aeg_port *open_free_port(uint16_t queues, uint32_t salt, uint16_t *base)
{
	for (uint32_t attempt = 0; attempt < 50; attempt++) {
		*base = (uint16_t)(20000 + ((uint32_t)getpid() * 13 + salt + attempt * 211) % 40000);
		struct aeg_port_udp_config pc = {
			.ipv4 = INADDR_LOOPBACK, .base_port = *base, .queue_count = queues,
			.sock_buf_bytes = 1 << 20,
		};
		struct aeg_port *p;
		if (aeg_port_udp_open(&pc, &p) == 0)
			return p;
	}
	return NULL;
}

static int open_ports(void)
{
	c.peers[0] = (struct aeg_worker_peer){ .node = NODE_A, .ipv4 = INADDR_LOOPBACK };
	c.peers[1] = (struct aeg_worker_peer){ .node = NODE_B, .ipv4 = INADDR_LOOPBACK };
	c.port_a = open_free_port(1, 0, &c.peers[0].udp_base_port);
	c.port_b = open_free_port(1, 7, &c.peers[1].udp_base_port);
	return c.port_a != NULL && c.port_b != NULL ? 0 : -EADDRINUSE;
}

static int open_injector(void)
{
	c.inj_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c.inj_fd < 0)
		return -errno;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (bind(c.inj_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(c.inj_fd, (struct sockaddr *)&a, &alen) != 0)
		return -errno;
	c.peers[2] = (struct aeg_worker_peer){ NODE_INJ, INADDR_LOOPBACK, ntohs(a.sin_port) };
	return 0;
}

static struct aeg_worker_config worker_cfg(struct aeg_port *port, uint32_t self,
					   aeg_worker_msg_fn fn)
{
	return (struct aeg_worker_config){
		.port = port, .queue = 0, .cluster = CLUSTER, .key = &c.key,
		.self_node = self, .peers = c.peers, .peer_count = 3, .workers_per_node = 1,
		.replay_floor = aeg_wire_replay_floor(now_ns(CLOCK_REALTIME), 0), .on_msg = fn,
	};
}

static int group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		c.key.bytes[i] = (uint8_t)(0x3b * i + 1);
	if (aeg_wire_mac_new(&c.mac, &c.key, 0, CLUSTER, NODE_INJ, NODE_B, 0) != 0)
		return -1;
	c.seen_cap = 1u << 16;
	c.seen = calloc(c.seen_cap, 1);
	if (c.seen == NULL || open_injector() != 0 || open_ports() != 0)
		return -1;
	struct aeg_worker_config ca = worker_cfg(c.port_a, NODE_A, on_msg_a);
	struct aeg_worker_config cb = worker_cfg(c.port_b, NODE_B, on_msg_b);
	/* Small rings so that the control test runs into full ones. */
	if (aeg_ctl_ring_init(&c.b_ctl_in, 64) != 0 || aeg_ctl_ring_init(&c.b_ctl_out, 256) != 0)
		return -1;
	cb.ctl_in = c.b_ctl_in;
	cb.ctl_out = c.b_ctl_out;
	cb.on_ctl = on_ctl_b;
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		c.key_next.bytes[i] = (uint8_t)(0x5d * i + 7);
	cb.accept_key = &c.key_next;
	cb.accept_key_id = 5;
	if (aeg_worker_init(&c.a, &ca) != 0 || aeg_worker_init(&c.b, &cb) != 0)
		return -1;
	return pthread_create(&c.b_thread, NULL, run_b, c.b) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	aeg_worker_stop(c.b);
	int r = pthread_join(c.b_thread, NULL);
	aeg_worker_fini(c.a);
	aeg_worker_fini(c.b);
	aeg_port_close(c.port_a);
	aeg_port_close(c.port_b);
	aeg_ctl_ring_fini(c.b_ctl_in);
	aeg_ctl_ring_fini(c.b_ctl_out);
	close(c.inj_fd);
	free(c.seen);
	aeg_wire_mac_free(c.mac);
	return r == 0 ? 0 : -1;
}

/* A sends messages [first, first + n) and polls until all echoes are back. */
static void exchange(uint32_t first, uint32_t n)
{
	assert_true(first + n <= c.seen_cap);
	uint8_t body[128];
	uint32_t next = first, received0 = c.received;
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
	while (c.received - received0 < n && now_ns(CLOCK_MONOTONIC) < deadline) {
		while (next < first + n && next - first - (c.received - received0) < WINDOW_MSGS) {
			uint32_t len = body_len_of(next);
			memcpy(body, &next, 4);
			for (uint32_t j = 4; j < len; j++)
				body[j] = body_byte(next, j);
			int r = aeg_worker_send(c.a, NODE_B, 0, AEG_MSG_TEST, next % 1000, body, len);
			if (r == -ENOBUFS)
				break; /* pool held by frames in flight: poll first */
			assert_int_equal(r, 0);
			next++;
		}
		aeg_worker_poll(c.a, now_ns(CLOCK_MONOTONIC));
	}
	aeg_worker_flush(c.a);
	assert_int_equal(c.received - received0, n);
	assert_int_equal(c.dup, 0);
	assert_int_equal(c.bad, 0);
	assert_int_equal(__atomic_load_n(&c.echo_fail, __ATOMIC_RELAXED), 0);
}

static void test_exchange_batched(void **state)
{
	(void)state;
	exchange(0, 20000);
	struct aeg_worker_stats sa, sb;
	aeg_worker_stats_read(c.a, &sa);
	aeg_worker_stats_read(c.b, &sb);
	printf("# A: tx %llu msgs in %llu pkts (%llu bursts), rx %llu msgs in %llu pkts;"
	       " B idle sleeps %llu\n",
	       (unsigned long long)sa.tx_msgs, (unsigned long long)sa.tx_pkts,
	       (unsigned long long)sa.tx_batches, (unsigned long long)sa.rx_msgs,
	       (unsigned long long)sa.rx_pkts, (unsigned long long)sb.idle_sleeps);
	assert_int_equal(sb.rx_msgs, 20000);
	assert_int_equal(sa.rx_msgs, 20000);
	assert_int_equal(sa.tx_msgs, 20000);
	assert_int_equal(sa.tx_dropped + sb.tx_dropped, 0);
	/* Batched: many messages per frame (about 19 of these fit in 1472 bytes). */
	assert_true(sa.tx_pkts * 4 <= sa.tx_msgs);
	assert_true(sb.rx_pkts * 4 <= sb.rx_msgs);
	assert_int_equal(sb.rx_pkts, sa.tx_pkts);
	assert_true(sa.tx_bytes > 20000ull * 8);
	for (int r = 1; r < AEG_WIRE_DROP_NR; r++) {
		assert_int_equal(sa.drops[r], 0);
		assert_int_equal(sb.drops[r], 0);
	}
}

/* A frame with one message from src_node to B's worker 0. */
static size_t inj_frame(uint8_t *buf, size_t cap, uint32_t cluster, uint32_t src_node)
{
	struct aeg_wire_builder bld;
	struct aeg_wire_hdr h = {
		.cluster = cluster, .src_node = src_node, .dst_node = NODE_B,
		.seq = ++c.seq_inj,
	};
	assert_int_equal(aeg_wire_builder_begin(&bld, buf, cap, &h), 0);
	assert_int_equal(aeg_wire_builder_add(&bld, AEG_MSG_TEST, 1, "hello", 5), 0);
	/* Another cluster or node: signed with that pair's key (the receiver
	 * drops it on the header, before any key). */
	struct aeg_wire_mac *other = NULL;
	if (cluster != CLUSTER || src_node != NODE_INJ)
		assert_int_equal(aeg_wire_mac_new(&other, &c.key, 0, cluster, src_node, NODE_B, 0), 0);
	int len = aeg_wire_builder_seal(&bld, other != NULL ? other : c.mac);
	aeg_wire_mac_free(other);
	assert_true(len > 0);
	return (size_t)len;
}

/* A valid 2,500-byte frame: cut by the port to its 2,048-byte buffer, it
 * must count as bad_length (oversized), not as truncated. */
static uint8_t big[3000];

static size_t inj_big_frame(void)
{
	struct aeg_wire_builder bld;
	struct aeg_wire_hdr h = {
		.cluster = CLUSTER, .src_node = NODE_INJ, .dst_node = NODE_B, .seq = ++c.seq_inj,
	};
	static const uint8_t body[2400];
	assert_int_equal(aeg_wire_builder_begin(&bld, big, sizeof(big), &h), 0);
	assert_int_equal(aeg_wire_builder_add(&bld, AEG_MSG_TEST, 1, body, sizeof(body)), 0);
	int len = aeg_wire_builder_seal(&bld, c.mac);
	assert_true(len > 2048);
	return (size_t)len;
}

static void inj_send(const uint8_t *buf, size_t len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_port = htons(c.peers[1].udp_base_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	assert_int_equal(sendto(c.inj_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

/* A frame from the injector under key (id key_id) to B. */
static size_t inj_frame_under(uint8_t *buf, size_t cap, const struct aeg_wire_key *key,
			      uint8_t key_id)
{
	struct aeg_wire_mac *mac;
	assert_int_equal(aeg_wire_mac_new(&mac, key, key_id, CLUSTER, NODE_INJ, NODE_B, 0), 0);
	struct aeg_wire_builder bld;
	struct aeg_wire_hdr h = {
		.cluster = CLUSTER, .src_node = NODE_INJ, .dst_node = NODE_B, .seq = ++c.seq_inj,
	};
	assert_int_equal(aeg_wire_builder_begin(&bld, buf, cap, &h), 0);
	assert_int_equal(aeg_wire_builder_add(&bld, AEG_MSG_TEST, 1, "hello", 5), 0);
	int len = aeg_wire_builder_seal(&bld, mac);
	aeg_wire_mac_free(mac);
	assert_true(len > 0);
	return (size_t)len;
}

/* During a key rotation B accepts its key (id 0) and the next one (id 5):
 * frames under either are delivered; a third id is unknown_key; the next
 * key's bytes under id 0 fail the tag. */
static void test_key_rotation(void **state)
{
	(void)state;
	c.seq_inj = now_ns(CLOCK_REALTIME);
	struct aeg_wire_key other = c.key_next;
	other.bytes[0] ^= 0xff;
	struct aeg_worker_stats before, after;
	aeg_worker_stats_read(c.b, &before);
	uint8_t buf[256];
	inj_send(buf, inj_frame_under(buf, sizeof(buf), &c.key, 0));      /* current */
	inj_send(buf, inj_frame_under(buf, sizeof(buf), &c.key_next, 5)); /* next */
	inj_send(buf, inj_frame_under(buf, sizeof(buf), &other, 6));      /* unknown id */
	inj_send(buf, inj_frame_under(buf, sizeof(buf), &c.key_next, 0)); /* wrong bytes for id 0 */
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
	do {
		aeg_worker_stats_read(c.b, &after);
		struct timespec ts = { .tv_nsec = 1000000 };
		nanosleep(&ts, NULL);
	} while (after.rx_pkts - before.rx_pkts < 4 && now_ns(CLOCK_MONOTONIC) < deadline);
	assert_int_equal(after.rx_pkts - before.rx_pkts, 4);
	assert_int_equal(after.rx_msgs - before.rx_msgs, 2);
	assert_int_equal(after.drops[AEG_WIRE_DROP_UNKNOWN_KEY] - before.drops[AEG_WIRE_DROP_UNKNOWN_KEY], 1);
	assert_int_equal(after.drops[AEG_WIRE_DROP_BAD_TAG] - before.drops[AEG_WIRE_DROP_BAD_TAG], 1);
}

static void test_bad_packets_counted(void **state)
{
	(void)state;
	c.seq_inj = now_ns(CLOCK_REALTIME);
	struct aeg_worker_stats before, after;
	aeg_worker_stats_read(c.b, &before);
	uint8_t good[256], bad[256];
	size_t len = inj_frame(good, sizeof(good), CLUSTER, NODE_INJ);

	inj_send(good, 30);                                       /* truncated */
	memset(bad, 0, 64);
	inj_send(bad, 64);                                        /* bad magic */
	inj_send(bad, inj_frame(bad, sizeof(bad), CLUSTER + 1, NODE_INJ)); /* wrong cluster */
	inj_send(bad, inj_frame(bad, sizeof(bad), CLUSTER, 9));   /* unknown node */
	size_t blen = inj_frame(bad, sizeof(bad), CLUSTER, NODE_INJ);
	bad[blen - 1] ^= 0x01;
	inj_send(bad, blen);                                      /* bad tag */
	inj_send(good, len);                                      /* valid */
	inj_send(good, len);                                      /* replayed */
	inj_send(big, inj_big_frame());                          /* over B's 2048-byte buffers */
	const uint64_t sent = 8;

	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
	do {
		aeg_worker_stats_read(c.b, &after);
		struct timespec ts = { .tv_nsec = 1000000 };
		nanosleep(&ts, NULL);
	} while (after.rx_pkts - before.rx_pkts < sent && now_ns(CLOCK_MONOTONIC) < deadline);
	assert_int_equal(after.rx_pkts - before.rx_pkts, sent);
	assert_int_equal(after.rx_msgs - before.rx_msgs, 1);
	uint64_t expect[AEG_WIRE_DROP_NR] = { 0 };
	expect[AEG_WIRE_DROP_TRUNCATED] = 1;
	expect[AEG_WIRE_DROP_BAD_MAGIC] = 1;
	expect[AEG_WIRE_DROP_WRONG_CLUSTER] = 1;
	expect[AEG_WIRE_DROP_UNKNOWN_NODE] = 1;
	expect[AEG_WIRE_DROP_BAD_TAG] = 1;
	expect[AEG_WIRE_DROP_REPLAYED] = 1;
	expect[AEG_WIRE_DROP_BAD_LENGTH] = 1;
	for (int r = 1; r < AEG_WIRE_DROP_NR; r++) {
		if (after.drops[r] - before.drops[r] != expect[r])
			fail_msg("drop reason %s: %llu, expected %llu", aeg_wire_drop_name(r),
				 (unsigned long long)(after.drops[r] - before.drops[r]),
				 (unsigned long long)expect[r]);
	}

	/* B echoed the one valid message to the injector (node 3, worker 0). */
	struct pollfd pfd = { .fd = c.inj_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	ssize_t got = recv(c.inj_fd, bad, sizeof(bad), 0);
	assert_true(got >= (ssize_t)(AEG_WIRE_FRAME_BYTES_MIN + 5));

	/* Valid traffic goes on. */
	exchange(20000, 5000);
}

static void test_errors(void **state)
{
	(void)state;
	struct aeg_port *p = NULL;
	struct aeg_port_udp_config pc = {
		.ipv4 = INADDR_LOOPBACK, .base_port = c.peers[1].udp_base_port, .queue_count = 1,
	};
	assert_int_equal(aeg_port_udp_open(&pc, &p), -EADDRINUSE);
	pc.queue_count = 0;
	assert_int_equal(aeg_port_udp_open(&pc, &p), -EINVAL);
	pc = (struct aeg_port_udp_config){ .ipv4 = INADDR_LOOPBACK, .queue_count = 1,
					   .burst_max = 4, .bufs_per_queue = 4 };
	assert_int_equal(aeg_port_udp_open(&pc, &p), 0); /* port 0: any free port */

	struct aeg_worker *w;
	struct aeg_worker_config wc = worker_cfg(p, NODE_A, on_msg_a);
	wc.queue = 1;
	assert_int_equal(aeg_worker_init(&w, &wc), -EINVAL);
	wc.queue = 0;
	wc.frame_bytes_max = 10;
	assert_int_equal(aeg_worker_init(&w, &wc), -EINVAL);
	wc.frame_bytes_max = 0;
	wc.workers_per_node = 2;
	assert_int_equal(aeg_worker_init(&w, &wc), 0);
	static uint8_t body[(1u << 20) + (64u << 10) + 1];
	assert_int_equal(aeg_worker_send(w, 42, 0, AEG_MSG_TEST, 1, body, 1), -ENOENT);
	assert_int_equal(aeg_worker_send(w, NODE_B, 2, AEG_MSG_TEST, 1, body, 1), -ENOENT);
	assert_int_equal(aeg_worker_send(w, NODE_B, 0, AEG_MSG_TEST, 1, body, (1u << 20) + (64u << 10) + 1),
			 -EMSGSIZE); /* over msg_bytes_max (fragmentation is on by default) */
	/* Four buffers, six streams: each open frame holds one. */
	int res[6];
	for (int i = 0; i < 6; i++)
		res[i] = aeg_worker_send(w, c.peers[i / 2].node, (uint32_t)i % 2, AEG_MSG_TEST, 1, body, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(res[i], 0);
	assert_int_equal(res[4], -ENOBUFS);
	assert_int_equal(res[5], -ENOBUFS);
	struct aeg_worker_stats s;
	aeg_worker_stats_read(w, &s);
	assert_int_equal(s.tx_no_buf, 2);
	aeg_worker_fini(w); /* returns the four held buffers; nothing was sent */
	aeg_port_close(p);
}

/* An idle worker backs off to sleeping: B's thread spends well under half
 * of a quiet 300 ms on the CPU (a busy-polling one would spend all of it). */
static void test_idle_backoff(void **state)
{
	(void)state;
	clockid_t cpu;
	assert_int_equal(pthread_getcpuclockid(c.b_thread, &cpu), 0);
	struct aeg_worker_stats s0, s1;
	aeg_worker_stats_read(c.b, &s0);
	uint64_t cpu0 = now_ns(cpu), wall0 = now_ns(CLOCK_MONOTONIC);
	struct timespec ts = { .tv_nsec = 300000000 };
	assert_int_equal(nanosleep(&ts, NULL), 0);
	uint64_t cpu_ns = now_ns(cpu) - cpu0, wall_ns = now_ns(CLOCK_MONOTONIC) - wall0;
	aeg_worker_stats_read(c.b, &s1);
	printf("# B idle: %llu us CPU in %llu us, %llu sleeps\n",
	       (unsigned long long)(cpu_ns / 1000), (unsigned long long)(wall_ns / 1000),
	       (unsigned long long)(s1.idle_sleeps - s0.idle_sleeps));
	assert_true(s1.idle_sleeps - s0.idle_sleeps >= 20);
	assert_true(cpu_ns * 2 < wall_ns);
}

/* The control channel: the test thread (the main lcore's role) pushes
 * 20,000 numbered messages through a 64-slot ring to B's running worker,
 * which answers each on its out ring; every answer arrives once, in
 * order, with the right content, also when B was asleep before. */
static void test_control_rings(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct aeg_worker_stats s0, s1;
	aeg_worker_stats_read(c.b, &s0);
	uint64_t sent = 0, got = 0, deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
	while (got < N) {
		assert_true(now_ns(CLOCK_MONOTONIC) < deadline);
		while (sent < N && sent - got < 200) {
			struct aeg_ctl_msg m = { .type = 40, .len = 8, .arg = { sent } };
			if (!aeg_ctl_ring_push(c.b_ctl_in, &m))
				break;
			sent++;
		}
		struct aeg_ctl_msg r[32];
		uint32_t n = aeg_ctl_ring_pop_burst(c.b_ctl_out, r, 32);
		for (uint32_t i = 0; i < n; i++, got++) {
			assert_int_equal(r[i].type, 41);
			assert_int_equal(r[i].arg[0], got);
			assert_int_equal(r[i].arg[1], ctl_f(got));
		}
		if (n == 0)
			sched_yield();
	}
	aeg_worker_stats_read(c.b, &s1);
	assert_int_equal(s1.ctl_msgs - s0.ctl_msgs, N);
	assert_int_equal(__atomic_load_n(&c.ctl_reply_fail, __ATOMIC_RELAXED), 0);
	assert_true(aeg_ctl_ring_empty(c.b_ctl_out));
}

/* Two workers of one node on queues 0 and 1 (ports base and base + 1):
 * worker 0 sends to (node, worker 1), which echoes back to worker 0. */
static uint32_t q_echoes, q_bad;

static void on_msg_q0(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		      const struct aeg_wire_msg *m)
{
	(void)arg;
	(void)w;
	if (src_node == NODE_A && src_worker == 1 && m->body_len == 4)
		q_echoes++;
	else
		q_bad++;
}

static void test_two_queues(void **state)
{
	(void)state;
	struct aeg_worker_peer peer = { .node = NODE_A, .ipv4 = INADDR_LOOPBACK };
	struct aeg_port *p = open_free_port(2, 3001, &peer.udp_base_port);
	assert_non_null(p);
	struct aeg_worker *w0, *w1;
	struct aeg_worker_config wc = worker_cfg(p, NODE_A, on_msg_q0);
	wc.peers = &peer;
	wc.peer_count = 1;
	wc.workers_per_node = 2;
	assert_int_equal(aeg_worker_init(&w0, &wc), 0);
	wc.queue = 1;
	wc.on_msg = on_msg_b;
	assert_int_equal(aeg_worker_init(&w1, &wc), 0);
	const uint32_t n = 1000;
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(aeg_worker_send(w0, NODE_A, 1, AEG_MSG_TEST, 0, &i, 4), 0);
	aeg_worker_flush(w0);
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + WAIT_NS;
	while (q_echoes + q_bad < n && now_ns(CLOCK_MONOTONIC) < deadline) {
		aeg_worker_poll(w1, now_ns(CLOCK_MONOTONIC));
		aeg_worker_flush(w1);
		aeg_worker_poll(w0, now_ns(CLOCK_MONOTONIC));
	}
	struct aeg_worker_stats s1;
	aeg_worker_stats_read(w1, &s1);
	aeg_worker_fini(w0);
	aeg_worker_fini(w1);
	aeg_port_close(p);
	assert_int_equal(q_echoes, n);
	assert_int_equal(q_bad, 0);
	assert_int_equal(s1.rx_msgs, n);
	assert_true(s1.rx_pkts * 10 <= n); /* 4-byte messages: ~200 per frame */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_batched),
		cmocka_unit_test(test_bad_packets_counted),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_idle_backoff),
		cmocka_unit_test(test_control_rings),
		cmocka_unit_test(test_two_queues),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
