/* The benchmark endpoint (endpoint.h): a port, one worker, a command loop.
 * The loop is aeg_worker_poll busy-polled (like a DPDK lcore), plus a
 * flush after every burst that received something, so that echoes leave
 * at once instead of at the 20 us drain timer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aegis/msg.h"
#include "aegis/worker.h"

#include "alloc_count.h"
#include "common.h"
#include "endpoint.h"
#include "ep_port.h"

#define CTL_NS 1000000ull          /* between two looks at the command pipe */
#define ROUND_TIMEOUT_NS 1000000000ull /* a round not back by then counts as lost */
#define PP_MSGS_MAX 512u

struct ep {
	struct ep_opts o;
	struct ep_port port;
	struct aeg_worker *w;
	struct aeg_worker_peer peers[2];
	struct aeg_wire_key key;
	uint64_t replay_floor;
	bool streaming, bouncing, pausing, paused, quit;
	uint64_t link_deadline;       /* "link" pending until then (0: none) */
	uint64_t now;                 /* CLOCK_MONOTONIC at the last poll */
	uint64_t ctl_last;            /* ... and at the last look at the pipe */
	uint32_t chunk;               /* messages sent per loop iteration */
	uint32_t body_bytes;          /* of stream and bounce messages */
	uint64_t next_id;
	uint32_t pp_round, pp_got, pp_bad;
	uint64_t send_errors;
	char cbuf[512];
	size_t clen;
};

uint32_t ep_frame_bytes(uint32_t msgs)
{
	return AEG_WIRE_FRAME_BYTES_MIN + msgs * (AEG_WIRE_MSG_BYTES_MIN + EP_BODY_BYTES);
}

uint32_t ep_msgs_per_frame(uint32_t frame_bytes)
{
	return ep_msgs_per_frame_of(frame_bytes, EP_BODY_BYTES);
}

uint32_t ep_msgs_per_frame_of(uint32_t frame_bytes, uint32_t body_bytes)
{
	if (frame_bytes < AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_BYTES_MIN + body_bytes)
		return 0;
	return (frame_bytes - AEG_WIRE_FRAME_BYTES_MIN) / (AEG_WIRE_MSG_BYTES_MIN + body_bytes);
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		n = (int)strlen(buf);
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(EP_CTL_OUT, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(1); /* the parent is gone */
		off += (int)w;
	}
}

/* ---- messages ------------------------------------------------------------ */

static void on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
		   const struct aeg_wire_msg *m)
{
	struct ep *e = arg;
	if (m->type != AEG_MSG_TEST)
		return;
	if (m->group == EP_MSG_PING || (m->group == EP_MSG_BOUNCE && e->bouncing)) {
		uint32_t back = m->group == EP_MSG_PING ? EP_MSG_PONG : EP_MSG_BOUNCE;
		if (aeg_worker_send(w, src_node, src_worker, AEG_MSG_TEST, back, m->body,
				    m->body_len) != 0)
			e->send_errors++;
	} else if (m->group == EP_MSG_PONG) {
		uint32_t round = UINT32_MAX;
		if (m->body_len == EP_BODY_BYTES)
			memcpy(&round, m->body, sizeof(round));
		if (round == e->pp_round)
			e->pp_got++;
		else
			e->pp_bad++;
	}
	/* EP_MSG_SINK (and a late bounce): counted by the worker (rx_msgs) only. */
}

static int worker_new(struct ep *e, uint32_t frame_bytes)
{
	aeg_worker_fini(e->w);
	e->w = NULL;
	struct aeg_worker_config cfg = {
		.port = &e->port.port, .queue = 0, .cluster = EP_CLUSTER, .key = &e->key,
		.self_node = e->o.node, .peers = e->peers, .peer_count = 2, .workers_per_node = 1,
		.frame_bytes_max = frame_bytes, .replay_floor = e->replay_floor,
		.on_msg = on_msg, .arg = e,
	};
	int r = aeg_worker_init(&e->w, &cfg);
	if (r != 0)
		fprintf(stderr, "endpoint: aeg_worker_init: %s\n", strerror(-r));
	return r;
}

static int send_msg_of(struct ep *e, uint32_t kind, uint32_t round, uint64_t id,
		       uint32_t body_bytes)
{
	static uint8_t body[AEG_WIRE_BODY_BYTES_MAX];
	memcpy(body, &round, sizeof(round));
	memcpy(body + 4, &id, sizeof(id));
	if (body[12] != 0x5a)
		memset(body + 12, 0x5a, sizeof(body) - 12);
	return aeg_worker_send(e->w, e->o.peer_node, 0, AEG_MSG_TEST, kind, body, body_bytes);
}

static int send_msg(struct ep *e, uint32_t kind, uint32_t round, uint64_t id)
{
	return send_msg_of(e, kind, round, id, EP_BODY_BYTES);
}

/* One poll; what arrived may have queued echoes: send them now. */
static uint32_t poll_once(struct ep *e)
{
	e->now = aeg_worker_clock_ns(e->w); /* the TSC, as aeg_worker_run reads it */
	uint32_t n = aeg_worker_poll(e->w, e->now);
	if (n > 0)
		aeg_worker_flush(e->w);
	return n;
}

/* ---- commands ------------------------------------------------------------ */

static void snap(struct ep *e)
{
	/* Counters first: formatting the reply is not part of the interval. */
	struct alloc_count a;
	alloc_count_read(&a);
	uint64_t t = bench_clock_ns(CLOCK_MONOTONIC);
	uint64_t cpu = bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct aeg_worker_stats s;
	aeg_worker_stats_read(e->w, &s);
	uint64_t drops = 0;
	for (int i = 1; i < AEG_WIRE_DROP_NR; i++)
		drops += s.drops[i];
	reply("snap t=%llu cpu=%llu rx_batches=%llu rx_pkts=%llu rx_msgs=%llu rx_bytes=%llu tx_pkts=%llu tx_msgs=%llu "
	      "tx_bytes=%llu tx_dropped=%llu tx_no_buf=%llu drops=%llu allocs=%llu frees=%llu "
	      "gets=%llu send_errors=%llu",
	      (unsigned long long)t, (unsigned long long)cpu, (unsigned long long)s.rx_batches,
	      (unsigned long long)s.rx_pkts, (unsigned long long)s.rx_msgs,
	      (unsigned long long)s.rx_bytes, (unsigned long long)s.tx_pkts,
	      (unsigned long long)s.tx_msgs, (unsigned long long)s.tx_bytes,
	      (unsigned long long)s.tx_dropped, (unsigned long long)s.tx_no_buf,
	      (unsigned long long)drops, (unsigned long long)a.allocs, (unsigned long long)a.frees,
	      (unsigned long long)e->port.gets, (unsigned long long)e->send_errors);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* `rounds` round trips of `msgs` pings each (one frame when they fit). A
 * round whose pongs are not all back in ROUND_TIMEOUT_NS is lost (dropped,
 * or its process was descheduled that long): counted and reported, and
 * its pongs count as bad if they come later. */
static void pingpong(struct ep *e, uint32_t rounds, uint32_t msgs)
{
	uint64_t *rtt = calloc(rounds ? rounds : 1, sizeof(*rtt));
	if (rtt == NULL || msgs == 0 || msgs > PP_MSGS_MAX || worker_new(e, 0) != 0) {
		free(rtt);
		reply("pingpong ok=0 error=setup");
		return;
	}
	uint32_t warm = rounds / 10 + 10, done = 0, lost = 0;
	struct alloc_count a0 = { 0 }, a1;
	uint64_t gets0 = 0;
	int err = 0;
	for (uint32_t i = 0; err == 0 && i < warm + rounds; i++) {
		if (i == warm) {
			alloc_count_read(&a0);
			gets0 = e->port.gets;
		}
		e->pp_round = i;
		e->pp_got = 0;
		uint64_t t0 = bench_clock_ns(CLOCK_MONOTONIC), t = t0;
		for (uint32_t m = 0; err == 0 && m < msgs; m++)
			err = send_msg(e, EP_MSG_PING, i, m);
		aeg_worker_flush(e->w);
		while (err == 0 && e->pp_got < msgs && t - t0 < ROUND_TIMEOUT_NS) {
			poll_once(e);
			t = bench_clock_ns(CLOCK_MONOTONIC);
		}
		if (i < warm)
			continue;
		if (e->pp_got < msgs)
			lost++;
		else
			rtt[done++] = t - t0;
	}
	alloc_count_read(&a1);
	uint64_t gets = e->port.gets - gets0;
	struct aeg_worker_stats s;
	aeg_worker_stats_read(e->w, &s);
	bool ok = err == 0 && done > 0;
	uint64_t sum = 0;
	for (uint32_t i = 0; i < done; i++)
		sum += rtt[i];
	if (done > 0)
		qsort(rtt, done, sizeof(*rtt), cmp_u64);
	else
		done = 1; /* rtt[0] == 0: report zeros */
	reply("pingpong ok=%d n=%u lost=%u p50=%llu p99=%llu p999=%llu mean=%llu min=%llu max=%llu "
	      "allocs=%llu frees=%llu gets=%llu bad=%u send_error=%d tx_dropped=%llu tx_no_buf=%llu",
	      ok ? 1 : 0, done, lost, (unsigned long long)rtt[done / 2],
	      (unsigned long long)rtt[done * 99ull / 100],
	      (unsigned long long)rtt[done * 999ull / 1000], (unsigned long long)(sum / done),
	      (unsigned long long)rtt[0], (unsigned long long)rtt[done - 1],
	      (unsigned long long)(a1.allocs - a0.allocs), (unsigned long long)(a1.frees - a0.frees),
	      (unsigned long long)gets, e->pp_bad, err, (unsigned long long)s.tx_dropped,
	      (unsigned long long)s.tx_no_buf);
	free(rtt);
}

static void stream_start(struct ep *e, uint32_t frame_bytes, uint32_t body_bytes)
{
	uint32_t per_frame = ep_msgs_per_frame_of(frame_bytes, body_bytes);
	e->body_bytes = body_bytes;
	if (per_frame == 0 || worker_new(e, frame_bytes) != 0) {
		reply("streaming ok=0");
		return;
	}
	/* Enough to fill one tx burst of frames per loop iteration. */
	e->chunk = per_frame * e->port.port.burst_max;
	e->streaming = true;
	reply("streaming ok=1 msgs_per_frame=%u", per_frame);
}

static void stream_step(struct ep *e)
{
	for (uint32_t i = 0; i < e->chunk; i++) {
		int r = send_msg_of(e, EP_MSG_SINK, 0, e->next_id, e->body_bytes);
		if (r == -ENOBUFS)
			break; /* pool empty: the port still holds our frames */
		if (r != 0)
			e->send_errors++;
		e->next_id++;
	}
}

/* Fills `frames` frames with bounce messages and sends them: the burst
 * that testpmd's tx_first would send. */
static void bounce_start(struct ep *e, uint32_t frame_bytes, uint32_t frames, uint32_t body_bytes)
{
	uint32_t per_frame = ep_msgs_per_frame_of(frame_bytes, body_bytes);
	int r = per_frame == 0 ? -EINVAL : worker_new(e, frame_bytes);
	for (uint64_t i = 0; r == 0 && i < (uint64_t)per_frame * frames; i++)
		r = send_msg_of(e, EP_MSG_BOUNCE, 0, i, body_bytes);
	if (r == 0)
		aeg_worker_flush(e->w);
	e->bouncing = r == 0;
	reply("bouncing ok=%d msgs_per_frame=%u", r == 0 ? 1 : 0, per_frame);
}

static void command(struct ep *e, const char *line)
{
	unsigned a, b, c = EP_BODY_BYTES;
	if (sscanf(line, "pingpong %u %u", &a, &b) == 2) {
		pingpong(e, a, b);
	} else if (sscanf(line, "stream %u %u", &a, &c) >= 1) {
		stream_start(e, a, c);
	} else if (sscanf(line, "bounce %u %u %u", &a, &b, &c) >= 2) {
		bounce_start(e, a, b, c);
	} else if (strcmp(line, "halt") == 0) {
		bool was_bouncing = e->bouncing;
		e->streaming = false;
		e->bouncing = false;
		aeg_worker_flush(e->w);
		/* Back to full-size frames for what comes next. */
		int r = was_bouncing ? worker_new(e, 0) : 0;
		reply("halted ok=%d", r == 0 ? 1 : 0);
	} else if (strcmp(line, "snap") == 0) {
		snap(e);
	} else if (strcmp(line, "link") == 0) {
		e->link_deadline = bench_clock_ns(CLOCK_MONOTONIC) + 10000000000ull;
	} else if (strcmp(line, "pause") == 0) {
		e->streaming = false;
		aeg_worker_flush(e->w);
		ep_port_pause(&e->port);
		e->pausing = true;
	} else if (strcmp(line, "quit") == 0) {
		e->quit = true;
	} else {
		reply("error unknown command '%s'", line);
	}
}

/* Reads what the parent wrote and runs complete lines. When paused, waits
 * for the next one. EOF = the parent is gone: quit. */
static void ctl_check(struct ep *e)
{
	if (e->paused) {
		struct pollfd p = { .fd = EP_CTL_IN, .events = POLLIN };
		(void)poll(&p, 1, 1);
	}
	ssize_t r = read(EP_CTL_IN, e->cbuf + e->clen, sizeof(e->cbuf) - 1 - e->clen);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		e->quit = true;
		return;
	}
	if (r > 0)
		e->clen += (size_t)r;
	char *nl;
	while (!e->quit && (nl = memchr(e->cbuf, '\n', e->clen)) != NULL) {
		*nl = '\0';
		command(e, e->cbuf);
		e->clen -= (size_t)(nl + 1 - e->cbuf);
		memmove(e->cbuf, nl + 1, e->clen);
	}
	if (e->clen == sizeof(e->cbuf) - 1)
		e->clen = 0; /* a line that long is garbage */
}

/* Pending replies that wait for the port's other thread. */
static void pending(struct ep *e)
{
	if (e->link_deadline != 0) {
		bool ok = ep_port_link_ok(&e->port);
		if (ok || bench_clock_ns(CLOCK_MONOTONIC) > e->link_deadline) {
			e->link_deadline = 0;
			reply("link ok=%d", ok ? 1 : 0);
		}
	}
	if (e->pausing && ep_port_paused(&e->port)) {
		e->pausing = false;
		e->paused = true;
		reply("paused");
	}
}

/* The polling core. Paused, it leaves the port alone and only waits for
 * commands. */
static int loop(void *arg)
{
	struct ep *e = arg;
	while (!e->quit) {
		if (e->streaming)
			stream_step(e);
		if (e->pausing || e->paused)
			e->now = bench_clock_ns(CLOCK_MONOTONIC);
		else
			poll_once(e);
		/* By time, not by polls: a poll of 32 full frames can take long. */
		if (e->paused || e->pausing || e->link_deadline != 0 || e->now - e->ctl_last >= CTL_NS) {
			e->ctl_last = e->now;
			pending(e);
			ctl_check(e);
		}
	}
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

static int parse_opts(struct ep_opts *o, int argc, char **argv)
{
	*o = (struct ep_opts){ .cpu = -1 };
	snprintf(o->transport, sizeof(o->transport), "udp");
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];
		unsigned v;
		if (strcmp(s, "--") == 0) {
			o->eal_argc = argc - i;
			o->eal_argv = argv + i; /* argv[i] stands in for the program name */
			break;
		}
		if (strncmp(s, "transport=", 10) == 0)
			snprintf(o->transport, sizeof(o->transport), "%s", s + 10);
		else if (sscanf(s, "node=%u", &v) == 1)
			o->node = v;
		else if (sscanf(s, "peer=%u", &v) == 1)
			o->peer_node = v;
		else if (sscanf(s, "udp_port=%u", &v) == 1 && v < 65536)
			o->udp_port = (uint16_t)v;
		else if (sscanf(s, "peer_udp_port=%u", &v) == 1 && v < 65536)
			o->peer_udp_port = (uint16_t)v;
		else if (sscanf(s, "cpu=%u", &v) == 1)
			o->cpu = (int)v;
		else if (strcmp(s, "role=server") == 0)
			o->memif_server = true;
		else if (strcmp(s, "role=client") == 0)
			o->memif_server = false;
		else
			return -EINVAL;
	}
	return o->node != 0 && o->peer_node != 0 && o->node != o->peer_node ? 0 : -EINVAL;
}

int endpoint_main(int argc, char **argv)
{
	static struct ep e;
	if (parse_opts(&e.o, argc, argv) != 0) {
		fprintf(stderr, "endpoint: bad arguments\n");
		return 2;
	}
	int fl = fcntl(EP_CTL_IN, F_GETFL);
	if (fl < 0 || fcntl(EP_CTL_IN, F_SETFL, fl | O_NONBLOCK) != 0) {
		fprintf(stderr, "endpoint: no command pipe on fd %d\n", EP_CTL_IN);
		return 2;
	}
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		e.key.bytes[i] = (uint8_t)(0x5d * i + 7);
	e.replay_floor = aeg_wire_replay_floor(bench_clock_ns(CLOCK_REALTIME), 0);
	if (ep_port_open(&e.port, &e.o, e.peers) != 0)
		return 3;
	if (worker_new(&e, 0) != 0) {
		ep_port_close(&e.port);
		return 3;
	}
	reply("ready");
	int r = ep_port_run(&e.port, loop, &e);
	aeg_worker_fini(e.w);
	ep_port_close(&e.port);
	return r;
}
