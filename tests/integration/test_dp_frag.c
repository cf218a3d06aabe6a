/* Large messages through the worker (lib/frag) over the kernel-UDP port on
 * 127.0.0.1, between two processes: the child (node B) echoes every
 * message; the parent (node A) sends messages of up to 1 MiB + 64 KiB and
 * checks every echo arrives once and intact. Both ports are wrapped in a
 * lossy port that drops and reorders datagrams with a seeded PRNG (frames
 * of every kind: fragments, acks, small messages).
 *
 *   test_dp_frag                   the checks (meson test)
 *   test_dp_frag bench LOSS_PM REORDER_PM MSGS BYTES WINDOW [FRAG_WINDOW]
 *                                  one run, figures on stdout
 *   test_dp_frag bench1 ...        the same with both nodes polled in turn by
 *                                  one thread (no scheduler delays: the cost)
 *
 * Every wait has a deadline. AEGIS_TEST_SEED picks the loss pattern. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aegis/port.h"
#include "aegis/wire.h"
#include "aegis/worker.h"
#include "test_prng.h"

#define CLUSTER 0xf4a6u
#define NODE_A 1
#define NODE_B 2
#define MSG_TYPE 1
#define MSG_MAX ((1u << 20) + (64u << 10))

/* ---- a port that loses and reorders ---------------------------------------- */

#define HOLD_MAX 32u

struct lossy {
	struct aeg_port port;          /* first: the worker sees this */
	struct aeg_port *inner;
	struct prng rng;
	uint32_t loss_pm, reorder_pm;
	struct aeg_pkt *held[HOLD_MAX]; /* sent late, after a few more bursts */
	uint32_t held_n, held_age;
	uint64_t dropped, reordered;
};

static void lossy_release(struct lossy *l, uint16_t q, bool all)
{
	if (l->held_n == 0 || (!all && ++l->held_age < 3))
		return;
	/* newest first: the held ones overtake each other too */
	struct aeg_pkt *out[HOLD_MAX];
	for (uint32_t i = 0; i < l->held_n; i++)
		out[i] = l->held[l->held_n - 1 - i];
	int sent = aeg_port_tx_burst(l->inner, q, out, (uint16_t)l->held_n);
	for (int i = sent < 0 ? 0 : sent; i < (int)l->held_n; i++)
		aeg_port_pkt_free(l->inner, out[i]);
	l->held_n = 0;
	l->held_age = 0;
}

static int lossy_tx(struct aeg_port *p, uint16_t q, struct aeg_pkt **pkts, uint16_t n)
{
	struct lossy *l = (struct lossy *)p;
	struct aeg_pkt *pass[256];
	uint16_t k = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (prng_below(&l->rng, 1000) < l->loss_pm) {
			aeg_port_pkt_free(l->inner, pkts[i]);
			l->dropped++;
		} else if (l->held_n < HOLD_MAX && prng_below(&l->rng, 1000) < l->reorder_pm) {
			l->held[l->held_n++] = pkts[i];
			l->reordered++;
		} else {
			pass[k++] = pkts[i];
		}
	}
	int sent = k > 0 ? aeg_port_tx_burst(l->inner, q, pass, k) : 0;
	for (int i = sent < 0 ? 0 : sent; i < k; i++)
		aeg_port_pkt_free(l->inner, pass[i]); /* taken: a full socket is loss too */
	lossy_release(l, q, false);
	return n;
}

static int lossy_rx(struct aeg_port *p, uint16_t q, struct aeg_pkt **pkts, uint16_t n)
{
	struct lossy *l = (struct lossy *)p;
	lossy_release(l, q, false); /* nothing held for long when tx is quiet */
	return aeg_port_rx_burst(l->inner, q, pkts, n);
}

static struct aeg_pkt *lossy_alloc(struct aeg_port *p, uint16_t q)
{
	return aeg_port_pkt_alloc(((struct lossy *)p)->inner, q);
}

static void lossy_free(struct aeg_port *p, struct aeg_pkt *pkt)
{
	aeg_port_pkt_free(((struct lossy *)p)->inner, pkt);
}

static void lossy_close(struct aeg_port *p)
{
	struct lossy *l = (struct lossy *)p;
	for (uint32_t i = 0; i < l->held_n; i++)
		aeg_port_pkt_free(l->inner, l->held[i]);
	aeg_port_close(l->inner);
}

static const struct aeg_port_ops lossy_ops = {
	.rx_burst = lossy_rx, .tx_burst = lossy_tx, .pkt_alloc = lossy_alloc,
	.pkt_free = lossy_free, .close = lossy_close,
};

static void lossy_wrap(struct lossy *l, struct aeg_port *inner, uint64_t seed, uint32_t loss_pm,
		       uint32_t reorder_pm)
{
	*l = (struct lossy){ .port = *inner, .inner = inner, .loss_pm = loss_pm,
			     .reorder_pm = reorder_pm };
	l->port.ops = &lossy_ops;
	prng_init_seed(&l->rng, seed);
}

/* ---- the two nodes ------------------------------------------------------------ */

static struct aeg_wire_key key = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
static struct aeg_worker_peer peers[2];

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct aeg_port *open_port(uint32_t salt, uint16_t *base)
{
	for (uint32_t attempt = 0; attempt < 50; attempt++) {
		*base = (uint16_t)(20000 + ((uint32_t)getpid() * 29 + salt + attempt * 401) % 40000);
		struct aeg_port_udp_config pc = {
			.ipv4 = INADDR_LOOPBACK, .base_port = *base, .queue_count = 1,
			.bufs_per_queue = 1024, .sock_buf_bytes = 4u << 20,
		};
		struct aeg_port *p;
		if (aeg_port_udp_open(&pc, &p) == 0)
			return p;
	}
	return NULL;
}

static uint32_t echo_retry(void *arg, struct aeg_worker *w, uint64_t now_ns);

static uint16_t frag_window; /* 0: the worker's default */

static struct aeg_worker *worker_new(struct aeg_port *port, uint32_t self, aeg_worker_msg_fn fn,
				     void *arg)
{
	struct aeg_worker_config c = {
		.port = port, .cluster = CLUSTER, .key = &key, .self_node = self, .peers = peers,
		.peer_count = 2, .workers_per_node = 1, .on_msg = fn, .arg = arg,
		.on_tick = self == NODE_B ? echo_retry : NULL, .frag_window = frag_window,
		.replay_floor = aeg_wire_replay_floor(now_ns(CLOCK_REALTIME), 0),
	};
	struct aeg_worker *w;
	return aeg_worker_init(&w, &c) == 0 ? w : NULL;
}

static struct aeg_worker *echo_w;
static uint64_t echo_fail;

/* Nonzero drop counters of a worker, on stderr. */
static void drops_print(const char *who, const struct aeg_worker_stats *s)
{
	fprintf(stderr, "# %s drops:", who);
	for (int d = 1; d < AEG_WIRE_DROP_NR; d++)
		if (s->drops[d] != 0)
			fprintf(stderr, " wire.%s=%llu", aeg_wire_drop_name(d),
				(unsigned long long)s->drops[d]);
	for (int d = 1; d < AEG_FRAG_DROP_NR; d++)
		if (s->frag.drops[d] != 0)
			fprintf(stderr, " frag.%s=%llu", aeg_frag_drop_name(d),
				(unsigned long long)s->frag.drops[d]);
	fprintf(stderr, " tx_dropped=%llu tx_no_buf=%llu idle_sleeps=%llu\n",
		(unsigned long long)s->tx_dropped, (unsigned long long)s->tx_no_buf,
		(unsigned long long)s->idle_sleeps);
}

/* Echoes refused for now (every large-message slot busy) wait here and
 * are retried every iteration, in order. */
#define PENDING_MAX 8u

struct pending {
	uint32_t node, worker, group, len;
	uint8_t type;
	uint8_t *body;
};

static struct pending pend[PENDING_MAX];
static uint32_t pend_head, pend_n;

static void echo_msg(void *arg, struct aeg_worker *w, uint32_t node, uint32_t worker,
		     const struct aeg_wire_msg *m)
{
	(void)arg;
	if (pend_n == 0 &&
	    aeg_worker_send(w, node, worker, m->type, m->group, m->body, m->body_len) == 0)
		return;
	if (pend_n == PENDING_MAX) {
		echo_fail++; /* the sender resends after its timeout */
		return;
	}
	struct pending *p = &pend[(pend_head + pend_n++) % PENDING_MAX];
	*p = (struct pending){ node, worker, m->group, m->body_len, m->type, p->body };
	memcpy(p->body, m->body, m->body_len);
}

static uint32_t echo_retry(void *arg, struct aeg_worker *w, uint64_t now_ns)
{
	(void)arg, (void)now_ns;
	uint32_t done = 0;
	while (pend_n > 0) {
		struct pending *p = &pend[pend_head];
		if (aeg_worker_send(w, p->node, p->worker, p->type, p->group, p->body, p->len) != 0)
			break;
		pend_head = (pend_head + 1) % PENDING_MAX;
		pend_n--;
		done++;
	}
	return done;
}

static void on_term(int sig)
{
	(void)sig;
	aeg_worker_stop(echo_w);
}

static void child_echo(struct lossy *lb)
{
	echo_w = worker_new(&lb->port, NODE_B, echo_msg, NULL);
	for (uint32_t i = 0; i < PENDING_MAX; i++)
		if ((pend[i].body = malloc(MSG_MAX)) == NULL)
			_exit(3);
	if (echo_w == NULL)
		_exit(3);
	signal(SIGTERM, on_term);
	aeg_worker_run(echo_w);
	struct aeg_worker_stats s;
	aeg_worker_stats_read(echo_w, &s);
	fprintf(stderr, "# B: frag rx %llu msgs, tx %llu done %llu failed %llu rtx %llu busy;"
		" echo_fail %llu, lossy dropped %llu reordered %llu\n",
		(unsigned long long)s.frag.rx_msgs, (unsigned long long)s.frag.tx_done,
		(unsigned long long)s.frag.tx_failed, (unsigned long long)s.frag.tx_rtx,
		(unsigned long long)s.frag.tx_busy, (unsigned long long)echo_fail,
		(unsigned long long)lb->dropped, (unsigned long long)lb->reordered);
	drops_print("B", &s);
	aeg_worker_fini(echo_w);
	_exit(0);
}

/* ---- the sender: node A --------------------------------------------------- */

struct sender {
	uint32_t msgs, window, fixed_bytes;
	uint32_t next, base, echoed, dup, bad, resent;
	uint8_t *seen;
	uint64_t *first_ns;
	uint64_t lat_sum_ns, lat_max_ns, bytes, progress_ns;
	uint8_t *buf;
};

static uint32_t len_of(const struct sender *s, uint32_t i)
{
	if (s->fixed_bytes != 0)
		return s->fixed_bytes;
	static const uint32_t mix[] = { MSG_MAX, 1u << 20, 40000, 100, 3000, 1473, 65536, 9 };
	return mix[i % 8];
}

static uint8_t byte_of(uint32_t i, uint32_t j)
{
	return (uint8_t)(i * 151u + j * 13u + (j >> 11));
}

static int send_msg(struct aeg_worker *w, struct sender *s, uint32_t i)
{
	uint32_t len = len_of(s, i);
	for (uint32_t j = 0; j < len; j++)
		s->buf[j] = byte_of(i, j);
	if (len >= 8) {
		memcpy(s->buf, &i, 4);
		memcpy(s->buf + 4, &len, 4);
	}
	return aeg_worker_send(w, NODE_B, 0, MSG_TYPE, i, s->buf, len);
}

static void on_echo(void *arg, struct aeg_worker *w, uint32_t node, uint32_t worker,
		    const struct aeg_wire_msg *m)
{
	struct sender *s = arg;
	uint32_t i = m->group;
	bool ok = node == NODE_B && worker == 0 && m->type == MSG_TYPE && i < s->next &&
		  m->body_len == len_of(s, i);
	for (uint32_t j = 8; ok && j < m->body_len; j++)
		ok = m->body[j] == byte_of(i, j);
	if (ok && m->body_len >= 8)
		ok = memcmp(m->body, &i, 4) == 0 && memcmp(m->body + 4, &m->body_len, 4) == 0;
	if (!ok) {
		s->bad++;
		return;
	}
	if (s->seen[i]++ != 0) {
		s->dup++;
		return;
	}
	uint64_t lat = aeg_worker_now_ns(w) - s->first_ns[i];
	s->lat_sum_ns += lat;
	s->lat_max_ns = lat > s->lat_max_ns ? lat : s->lat_max_ns;
	s->bytes += m->body_len;
	s->echoed++;
	s->progress_ns = aeg_worker_now_ns(w);
	while (s->base < s->next && s->seen[s->base])
		s->base++;
}

/* One process, one thread: A and B polled in turn, so that no scheduler
 * delay enters the figures (bench1): the cost of both sides on one core. */
static bool one_thread;

/* One run; returns 0 when every message came back intact. */
static int run(uint64_t seed, uint32_t loss_pm, uint32_t reorder_pm, uint32_t msgs,
	       uint32_t bytes, uint32_t window, bool expect_clean)
{
	struct lossy la, lb;
	struct aeg_port *pa = open_port(0, &peers[0].udp_base_port);
	struct aeg_port *pb = open_port(13, &peers[1].udp_base_port);
	peers[0].node = NODE_A, peers[1].node = NODE_B;
	peers[0].ipv4 = peers[1].ipv4 = INADDR_LOOPBACK;
	if (pa == NULL || pb == NULL)
		return 2;
	lossy_wrap(&la, pa, seed, loss_pm, reorder_pm);
	lossy_wrap(&lb, pb, seed ^ 0xb, loss_pm, reorder_pm);
	fflush(stderr);
	pid_t child = 0;
	if (one_thread) {
		echo_w = worker_new(&lb.port, NODE_B, echo_msg, NULL);
		for (uint32_t i = 0; i < PENDING_MAX; i++)
			if (pend[i].body == NULL && (pend[i].body = malloc(MSG_MAX)) == NULL)
				return 2;
	} else {
		child = fork();
		if (child == 0)
			child_echo(&lb);
		aeg_port_close(pb); /* the child's now */
	}
	struct sender s = { .msgs = msgs, .window = window, .fixed_bytes = bytes };
	s.seen = calloc(msgs, 1);
	s.first_ns = calloc(msgs, sizeof(uint64_t));
	s.buf = malloc(MSG_MAX);
	struct aeg_worker *w = worker_new(&la.port, NODE_A, on_echo, &s);
	if (child < 0 || w == NULL || s.seen == NULL || s.first_ns == NULL || s.buf == NULL)
		return 2;
	size_t per_stream, mem = aeg_worker_frag_mem_bytes(w, &per_stream);
	uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), deadline = t0 + 60000000000ull;
	s.progress_ns = t0;
	while (s.echoed < msgs && now_ns(CLOCK_MONOTONIC) < deadline) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		while (s.next < msgs && s.next - s.base < window) {
			s.first_ns[s.next] = now;
			if (send_msg(w, &s, s.next) != 0)
				break; /* slots busy: poll first */
			s.next++;
		}
		if (now - s.progress_ns > 1000000000ull) { /* lost for good: send again */
			for (uint32_t i = s.base; i < s.next; i++)
				if (!s.seen[i] && send_msg(w, &s, i) == 0)
					s.resent++;
			s.progress_ns = now;
		}
		aeg_worker_poll(w, now);
		if (one_thread) {
			echo_retry(NULL, echo_w, now);
			aeg_worker_poll(echo_w, now_ns(CLOCK_MONOTONIC));
		}
	}
	double el = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	double cpu = (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1e9;
	int st = 0;
	if (one_thread) {
		aeg_worker_fini(echo_w);
		aeg_port_close(&lb.port);
	} else {
		kill(child, SIGTERM);
		waitpid(child, &st, 0);
	}
	struct aeg_worker_stats ws;
	aeg_worker_stats_read(w, &ws);
	if (one_thread)
		printf("# one thread: %.3f s CPU, %.1f MB/s echoed per CPU second, %.2f ms CPU per"
		       " message echoed\n", cpu, (double)s.bytes / cpu / 1e6, cpu / msgs * 1e3);
	printf("# loss %u.%u%% reorder %u.%u%%: %u msgs (%s) window %u: %.3f s, %.1f MB/s echoed,"
	       " latency mean %.2f ms max %.2f ms; A frag: %llu frags %llu rtx %llu rto %llu failed"
	       " %llu busy; lossy dropped %llu reordered %llu; app resent %u dup %u bad %u;"
	       " frag memory %zu B (%zu per stream)\n",
	       loss_pm / 10, loss_pm % 10, reorder_pm / 10, reorder_pm % 10, msgs,
	       bytes ? "fixed size" : "mixed sizes", window, el, (double)s.bytes / el / 1e6,
	       s.echoed ? (double)s.lat_sum_ns / s.echoed / 1e6 : 0.0, (double)s.lat_max_ns / 1e6,
	       (unsigned long long)ws.frag.tx_frags, (unsigned long long)ws.frag.tx_rtx,
	       (unsigned long long)ws.frag.tx_rto, (unsigned long long)ws.frag.tx_failed,
	       (unsigned long long)ws.frag.tx_busy, (unsigned long long)la.dropped,
	       (unsigned long long)la.reordered, s.resent, s.dup, s.bad, mem, per_stream);
	fflush(stdout);
	drops_print("A", &ws);
	int rc = s.echoed == msgs && s.bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
	/* Without loss nothing is lost: every echo came from the first send.
	 * (A frag give-up can still happen on a host so loaded that a process
	 * does not run for give_up_ns; it is printed, then resent.) */
	if (expect_clean && s.dup > s.resent)
		rc = 1;
	if (loss_pm > 0 && ws.frag.tx_rtx == 0)
		rc = 1; /* the loss must have been repaired by lib/frag */
	aeg_worker_fini(w);
	aeg_port_close(&la.port);
	free(s.seen);
	free(s.first_ns);
	free(s.buf);
	if (rc != 0)
		fprintf(stderr, "FAILED: echoed %u of %u, bad %u, child status %d\n", s.echoed,
			msgs, s.bad, st);
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t seed = test_seed(0xf4a6f4a6ull);
	if (argc >= 7 && (strcmp(argv[1], "bench") == 0 || strcmp(argv[1], "bench1") == 0)) {
		one_thread = strcmp(argv[1], "bench1") == 0;
		frag_window = argc > 7 ? (uint16_t)atoi(argv[7]) : 0;
		return run(seed, (uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
			   (uint32_t)atoi(argv[4]), (uint32_t)atoi(argv[5]),
			   (uint32_t)atoi(argv[6]), false);
	}
	test_seed_print("dp_frag", seed);
	int rc = 0;
	/* clean: mixed sizes, no loss: nothing resent, nothing failed */
	rc |= run(seed, 0, 0, 48, 0, 4, true);
	/* 5% loss and 5% reordering each way: 1 MiB messages, and a mix */
	rc |= run(seed + 1, 50, 50, 16, 1u << 20, 2, false);
	rc |= run(seed + 2, 50, 50, 48, 0, 4, false);
	/* 10% loss */
	rc |= run(seed + 3, 100, 20, 8, 1u << 20, 2, false);
	printf("%s\n", rc == 0 ? "ok" : "FAILED");
	return rc;
}
