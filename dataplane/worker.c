/* The worker loop (worker.h): aeg_worker_poll reads like l2fwd's main
 * loop; stream lookup, frame coalescing and the idle back-off are below it. */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_clock.h"
#include "worker_int.h"

#define FRAME_BYTES_DEFAULT 1472u
#define DRAIN_NS_DEFAULT 20000u
/* Idle back-off: empty polls spent busy-polling, then yielding, then
 * sleeping from SLEEP_NS_MIN doubling up to SLEEP_NS_MAX. */
#define IDLE_SPIN_POLLS 256u
/* A port that can wait (kernel UDP) spins only a few polls: each empty one
 * is a recvmmsg syscall, and on cores shared with other processes (three
 * nodes and a client on two) the spinning takes the CPU they need; its wait
 * wakes at once when a packet or the log's completion arrives. */
#define IDLE_SPIN_POLLS_WAIT 4u
#define IDLE_YIELD_POLLS 512u
#define SLEEP_NS_MIN 16000u
#define SLEEP_NS_MAX 1000000u
#define WAIT_NS_MAX 5000000u
#define CTL_BURST 16u
/* While an rx burst is being worked through, a tx burst leaves early once
 * it holds this many bytes: the peer can start on it meanwhile (full
 * frames bounced back and forth moved in lock-step clumps, each core idle
 * while the other worked). Small frames wait for the burst: a tx call per
 * few packets would cost more than it saves; a sender that receives
 * nothing fills whole bursts. */
#define TX_EARLY_BYTES 12000u
#define RX_BURSTS 8u   /* rx bursts per iteration at most (while they come full) */

static bool src_lookup(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out)
{
	struct aeg_worker *w = arg;
	int i = peer_index(w, node);
	if (i < 0 || worker >= w->cfg.workers_per_node)
		return false;
	out->replay = &w->streams[(uint32_t)i * w->cfg.workers_per_node + worker].replay;
	out->keys = (const struct aeg_wire_mac *const *)w->keys[i].rx;
	return true;
}

/* Derives the keys of peers[i] (a few us each: at init and when a peer
 * joins, never per packet). */
static int peer_keys_make(struct aeg_worker *w, uint32_t i)
{
	struct peer_keys *k = &w->keys[i];
	uint32_t peer = w->cfg.peers[i].node, self = w->cfg.self_node;
	unsigned fl = w->cfg.mac_flags;
	int r = aeg_wire_mac_new(&k->tx, &w->key, w->cfg.key_id, w->cfg.cluster, self, peer, fl);
	if (r == 0)
		r = aeg_wire_mac_new(&k->rx[0], &w->key, w->cfg.key_id, w->cfg.cluster, peer, self, fl);
	if (r == 0 && w->cfg.accept_key != NULL)
		r = aeg_wire_mac_new(&k->rx[1], &w->accept_key, w->cfg.accept_key_id, w->cfg.cluster,
				     peer, self, fl);
	return r;
}

static void peer_keys_free(struct peer_keys *k)
{
	aeg_wire_mac_free(k->tx);
	for (int j = 0; j < AEG_WIRE_RX_KEYS; j++)
		aeg_wire_mac_free(k->rx[j]);
	memset(k, 0, sizeof(*k));
}

/* ---- the loop ------------------------------------------------------------ */

static void rx_one(struct aeg_worker *w, const struct aeg_pkt *pkt);
static void drain(struct aeg_worker *w);
static void tx_flush(struct aeg_worker *w);

#define WALL_RESYNC_NS 1000000000ull

static void clock_set(struct aeg_worker *w, uint64_t now_ns)
{
	if (w->wall_synced_ns == 0 || now_ns - w->wall_synced_ns >= WALL_RESYNC_NS) {
		w->wall_offset = aeg_dp_wall_ns() - now_ns;
		w->wall_synced_ns = now_ns;
	}
	w->wall_ns = now_ns + w->wall_offset;
	w->now_ns = now_ns;
}

/* One iteration with the clocks already set for now_ns. Returns the
 * packets received; *work += what on_rx_done did. */
static uint32_t poll_at(struct aeg_worker *w, uint64_t now_ns, uint32_t *work)
{
	struct aeg_port *port = w->cfg.port;
	/* Take what is queued (up to RX_BURSTS bursts) before the iteration's
	 * work: a Raft frame queued behind a flood of client datagrams waits
	 * one iteration, not one per burst ahead of it, and the iteration's
	 * proposals, appends and log batch cover all of it. */
	uint32_t total = 0;
	w->in_rx = true;
	for (uint32_t b = 0; b < RX_BURSTS; b++) {
		int n = aeg_port_rx_burst(port, w->cfg.queue, w->rx_pkts, port->burst_max);
		if (n < 0) {
			stat_add(&w->stats.port_errors, 1);
			break;
		}
		if (n > 0)
			stat_add(&w->stats.rx_batches, 1);
		for (int i = 0; i < n; i++) {
			rx_one(w, w->rx_pkts[i]);
			aeg_port_pkt_free(port, w->rx_pkts[i]);
		}
		total += (uint32_t)n;
		if (n < port->burst_max)
			break;
	}
	w->in_rx = false;
	if (w->cfg.on_rx_done != NULL)
		*work += w->cfg.on_rx_done(w->cfg.arg, w, now_ns);
	if (w->frag != NULL && aeg_frag_busy(w->frag))
		*work += aeg_wk_frag_poll(w, now_ns);
	if (w->frag_dirty)
		aeg_wk_frag_stats_sync(w);
	if (now_ns - w->drain_last_ns >= w->cfg.drain_ns) {
		drain(w);
		w->drain_last_ns = now_ns;
	}
	tx_flush(w);
	return total;
}

uint32_t aeg_worker_poll(struct aeg_worker *w, uint64_t now_ns)
{
	clock_set(w, now_ns);
	uint32_t work = 0;
	return poll_at(w, now_ns, &work);
}

uint32_t aeg_worker_index(const struct aeg_worker *w)
{
	return w->cfg.queue;
}

uint64_t aeg_worker_now_ns(const struct aeg_worker *w)
{
	return w->now_ns;
}

uint64_t aeg_worker_clock_ns(struct aeg_worker *w)
{
	return aeg_dp_tsc_now_ns(&w->clk);
}

const char *aeg_worker_mac_impl(const struct aeg_worker *w)
{
	return aeg_wire_mac_impl(w->keys[0].tx); /* peer_count >= 1: made at init */
}

static uint32_t ctl_poll(struct aeg_worker *w)
{
	if (w->cfg.ctl_in == NULL)
		return 0;
	struct aeg_ctl_msg m[CTL_BURST];
	uint32_t n = aeg_ctl_ring_pop_burst(w->cfg.ctl_in, m, CTL_BURST);
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].type != AEG_CTL_WORKER_PEERS) {
			w->cfg.on_ctl(w->cfg.arg, w, &m[i]);
		} else if (m[i].arg[0] > w->cfg.peer_count && m[i].arg[0] <= w->cfg.peer_cap) {
			/* Keys first: a peer without them would be unknown anyway. */
			uint32_t n = w->cfg.peer_count;
			while (n < m[i].arg[0] && peer_keys_make(w, n) == 0)
				n++;
			/* Out of memory: the rest stay unknown (their frames count as
			 * unknown_node) until the next such message. */
			if (n < m[i].arg[0])
				peer_keys_free(&w->keys[n]);
			w->cfg.peer_count = n;
		}
	}
	if (n > 0)
		stat_add(&w->stats.ctl_msgs, n);
	return n;
}

int aeg_worker_ctl_reply(struct aeg_worker *w, const struct aeg_ctl_msg *m)
{
	if (w->cfg.ctl_out == NULL)
		return -ENOTCONN;
	return aeg_ctl_ring_push(w->cfg.ctl_out, m) ? 0 : -ENOBUFS;
}

void aeg_worker_run(struct aeg_worker *w)
{
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		uint64_t now = aeg_dp_tsc_now_ns(&w->clk);
		clock_set(w, now);
		uint32_t busy = ctl_poll(w);
		busy += w->cfg.on_tick == NULL ? 0 : w->cfg.on_tick(w->cfg.arg, w, now);
		if (poll_at(w, now, &busy) + busy > 0) {
			w->idle_polls = 0;
			w->sleep_ns = SLEEP_NS_MIN;
			continue;
		}
		w->idle_polls++;
		bool can_wait = w->cfg.port->ops->wait != NULL;
		if (w->idle_polls <= (can_wait ? IDLE_SPIN_POLLS_WAIT : IDLE_SPIN_POLLS))
			continue;
		/* Idle: nothing more will join the open frames soon. */
		aeg_worker_flush(w);
		if (!can_wait && w->idle_polls <= IDLE_SPIN_POLLS + IDLE_YIELD_POLLS) {
			sched_yield();
			continue;
		}
		if (can_wait) {
			w->cfg.port->ops->wait(w->cfg.port, w->cfg.queue, w->wake_fd, w->sleep_ns);
		} else if (w->wake_fd >= 0) {
			struct pollfd pfd = { .fd = w->wake_fd, .events = POLLIN };
			struct timespec ts = { .tv_nsec = (long)w->sleep_ns };
			(void)ppoll(&pfd, 1, &ts, NULL); /* as nanosleep, but the fd ends it */
		} else {
			struct timespec ts = { .tv_nsec = (long)w->sleep_ns };
			(void)nanosleep(&ts, NULL); /* EINTR only shortens one idle pause */
		}
		stat_add(&w->stats.idle_sleeps, 1);
		/* A waiting port wakes on a packet: it may sleep longer (timers of
		 * the caller's on_tick are then at most this late). */
		uint64_t cap = can_wait ? WAIT_NS_MAX : SLEEP_NS_MAX;
		if (w->sleep_ns < cap)
			w->sleep_ns = w->sleep_ns * 2 > cap ? cap : w->sleep_ns * 2;
	}
	aeg_worker_flush(w); /* what the callbacks queued last still leaves */
	if (w->cfg.on_exit != NULL)
		w->cfg.on_exit(w->cfg.arg, w);
}

void aeg_worker_stop(struct aeg_worker *w)
{
	__atomic_store_n(&w->stop, true, __ATOMIC_RELAXED);
}

/* ---- rx ------------------------------------------------------------------ */

/* Cluster frames start with the magic; everything else is for on_raw. */
static bool is_frame(const struct aeg_pkt *pkt)
{
	const uint8_t *d = pkt->data;
	return pkt->len >= 4 &&
	       ((uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
		(uint32_t)d[3] << 24) == AEG_WIRE_MAGIC;
}

static void rx_one(struct aeg_worker *w, const struct aeg_pkt *pkt)
{
	stat_add(&w->stats.rx_pkts, 1);
	stat_add(&w->stats.rx_bytes, pkt->len);
	if (w->cfg.on_raw != NULL && !is_frame(pkt)) {
		stat_add(&w->stats.rx_raw, 1);
		w->cfg.on_raw(w->cfg.arg, w, pkt);
		return;
	}
	struct aeg_wire_frame f;
	/* A cut datagram was over the frame size this node accepts. */
	enum aeg_wire_drop why = pkt->oversize ? AEG_WIRE_DROP_BAD_LENGTH :
				 aeg_wire_parse(&w->rx, pkt->data, pkt->len, &f);
	if (why != AEG_WIRE_OK) {
		assert(why < AEG_WIRE_DROP_NR);
		stat_add(&w->stats.drops[why], 1);
		return;
	}
	struct aeg_wire_iter it;
	struct aeg_wire_msg m;
	aeg_wire_iter_init(&it, &f);
	int r;
	uint64_t delivered = 0;
	/* One pass: each message is checked as it is read and delivered. */
	while ((r = aeg_wire_iter_next(&it, &m)) == 1) {
		/* one range check: AEG_FRAG_TYPE_DATA and _ACK are adjacent */
		if (w->frag != NULL && (uint8_t)(m.type - AEG_FRAG_TYPE_DATA) < 2)
			aeg_wk_frag_rx(w, f.hdr.src_node, f.hdr.src_worker, &m);
		else
			w->cfg.on_msg(w->cfg.arg, w, f.hdr.src_node, f.hdr.src_worker, &m);
		delivered++;
	}
	stat_add(&w->stats.rx_msgs, delivered);
	/* A malformed batch under a good tag: a sender with the key and a bug.
	 * What came before the bad message was delivered; the rest is lost. */
	if (r != 0)
		stat_add(&w->stats.drops[it.why], 1);
}

/* ---- tx ------------------------------------------------------------------ */

static void tx_flush(struct aeg_worker *w)
{
	if (w->tx_n == 0)
		return;
	struct aeg_port *port = w->cfg.port;
	/* Sent packets belong to the port after the call: lengths summed first. */
	uint64_t bytes = w->tx_q_bytes;
	int sent = aeg_port_tx_burst(port, w->cfg.queue, w->tx_q, w->tx_n);
	if (sent < 0) {
		stat_add(&w->stats.port_errors, 1);
		sent = 0;
	}
	for (uint16_t i = (uint16_t)sent; i < w->tx_n; i++) {
		bytes -= w->tx_q[i]->len;
		aeg_port_pkt_free(port, w->tx_q[i]);
	}
	if (sent > 0)
		stat_add(&w->stats.tx_batches, 1);
	stat_add(&w->stats.tx_pkts, (uint64_t)sent);
	stat_add(&w->stats.tx_bytes, bytes);
	stat_add(&w->stats.tx_dropped, w->tx_n - (uint64_t)sent);
	w->tx_n = 0;
	w->tx_q_bytes = 0;
}

/* Queues a packet for this iteration's tx burst (flushing a full queue). */
static void tx_queue(struct aeg_worker *w, struct aeg_pkt *pkt)
{
	if (w->tx_n == w->cfg.port->burst_max || (w->in_rx && w->tx_q_bytes >= TX_EARLY_BYTES))
		tx_flush(w);
	assert(w->tx_n < w->cfg.port->burst_max);
	w->tx_q[w->tx_n++] = pkt;
	w->tx_q_bytes += pkt->len;
}

/* Seals the stream's frame and queues it for tx. */
void aeg_wk_frame_close(struct aeg_worker *w, struct stream *s)
{
	uint32_t peer = (uint32_t)(s - w->streams) / w->cfg.workers_per_node;
	int len = aeg_wire_builder_seal(&s->b, w->keys[peer].tx);
	assert(len > 0);
	s->pkt->len = (uint32_t)len;
	stat_add(&w->stats.tx_msgs, s->b.msg_count);
	tx_queue(w, s->pkt);
	s->pkt = NULL;
	w->frames_open--;
}

int aeg_wk_frame_open(struct aeg_worker *w, struct stream *s, uint32_t node, uint32_t worker)
{
	struct aeg_port *port = w->cfg.port;
	struct aeg_pkt *pkt = aeg_port_pkt_alloc(port, w->cfg.queue);
	if (pkt == NULL) {
		/* The pool may be held by queued frames: send them and retry. */
		tx_flush(w);
		pkt = aeg_port_pkt_alloc(port, w->cfg.queue);
		if (pkt == NULL) {
			stat_add(&w->stats.tx_no_buf, 1);
			return -ENOBUFS;
		}
	}
	s->seq_last = aeg_wire_seq_next(s->seq_last, w->wall_ns);
	struct aeg_wire_hdr h = {
		.cluster = w->cfg.cluster, .src_node = w->cfg.self_node,
		.src_worker = w->cfg.queue, .dst_node = node, .dst_worker = worker,
		.seq = s->seq_last,
	};
	size_t cap = pkt->cap < w->cfg.frame_bytes_max ? pkt->cap : w->cfg.frame_bytes_max;
	int r = aeg_wire_builder_begin(&s->b, pkt->data, cap, &h);
	assert(r == 0); /* cap checked at init, seq > 0 */
	(void)r;
	const struct aeg_worker_peer *p = &w->cfg.peers[peer_index(w, node)];
	pkt->ipv4 = p->ipv4;
	pkt->udp_port = (uint16_t)(p->udp_base_port + worker);
	s->pkt = pkt;
	w->frames_open++;
	return 0;
}

int aeg_worker_send(struct aeg_worker *w, uint32_t node, uint32_t worker, uint8_t type,
		    uint32_t group, const void *body, uint32_t body_len)
{
	struct stream *s = stream_of(w, node, worker);
	if (s == NULL)
		return -ENOENT;
	if (body_len > w->body_max)
		return w->frag != NULL ? aeg_wk_frag_send(w, s, type, group, body, body_len) :
					 -EMSGSIZE;
	/* At most two tries: into the open frame, then into a fresh one. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->pkt == NULL) {
			int r = aeg_wk_frame_open(w, s, node, worker);
			if (r != 0)
				return r;
		}
		int r = aeg_wire_builder_add(&s->b, type, group, body, body_len);
		if (r != -ENOSPC)
			return r;
		aeg_wk_frame_close(w, s);
	}
	assert(!"a message that fits an empty frame did not fit one");
	return -EMSGSIZE;
}

/* ---- raw datagrams (client replies) --------------------------------------- */

struct aeg_pkt *aeg_worker_raw_reserve(struct aeg_worker *w, uint32_t ipv4, uint16_t udp_port,
				       uint32_t *cap)
{
	struct aeg_port *port = w->cfg.port;
	struct aeg_pkt *pkt = aeg_port_pkt_alloc(port, w->cfg.queue);
	if (pkt == NULL) {
		tx_flush(w); /* as in frame_open: queued packets may hold the pool */
		pkt = aeg_port_pkt_alloc(port, w->cfg.queue);
		if (pkt == NULL) {
			stat_add(&w->stats.tx_no_buf, 1);
			return NULL;
		}
	}
	pkt->ipv4 = ipv4;
	pkt->udp_port = udp_port;
	pkt->len = 0;
	*cap = pkt->cap < w->cfg.frame_bytes_max ? pkt->cap : w->cfg.frame_bytes_max;
	return pkt;
}

int aeg_worker_raw_commit(struct aeg_worker *w, struct aeg_pkt *pkt, uint32_t len)
{
	uint32_t cap = pkt->cap < w->cfg.frame_bytes_max ? pkt->cap : w->cfg.frame_bytes_max;
	if (len > cap) {
		aeg_port_pkt_free(w->cfg.port, pkt);
		return -EMSGSIZE;
	}
	pkt->len = len;
	tx_queue(w, pkt);
	stat_add(&w->stats.tx_raw, 1);
	return 0;
}

void aeg_worker_raw_cancel(struct aeg_worker *w, struct aeg_pkt *pkt)
{
	aeg_port_pkt_free(w->cfg.port, pkt);
}

int aeg_worker_send_raw(struct aeg_worker *w, uint32_t ipv4, uint16_t udp_port,
			const void *data, uint32_t len)
{
	if (len > w->cfg.frame_bytes_max)
		return -EMSGSIZE; /* before taking a buffer */
	uint32_t cap;
	struct aeg_pkt *pkt = aeg_worker_raw_reserve(w, ipv4, udp_port, &cap);
	if (pkt == NULL)
		return -ENOBUFS;
	if (len > cap) {
		aeg_worker_raw_cancel(w, pkt);
		return -EMSGSIZE;
	}
	memcpy(pkt->data, data, len);
	return aeg_worker_raw_commit(w, pkt, len);
}

static void drain(struct aeg_worker *w)
{
	uint32_t n = w->cfg.peer_count * w->cfg.workers_per_node;
	for (uint32_t i = 0; i < n && w->frames_open > 0; i++)
		if (w->streams[i].pkt != NULL)
			aeg_wk_frame_close(w, &w->streams[i]);
}

void aeg_worker_flush(struct aeg_worker *w)
{
	drain(w);
	tx_flush(w);
}

/* ---- setup and statistics ------------------------------------------------ */

int aeg_worker_init(struct aeg_worker **out, const struct aeg_worker_config *cfg)
{
	if (cfg->port == NULL || cfg->key == NULL || cfg->on_msg == NULL ||
	    cfg->peers == NULL || cfg->peer_count == 0 || cfg->workers_per_node == 0 ||
	    cfg->workers_per_node - 1 > AEG_WIRE_WORKER_MAX ||
	    cfg->queue >= cfg->port->queue_count ||
	    (cfg->peer_cap != 0 && cfg->peer_cap < cfg->peer_count) ||
	    (cfg->peer_cap > cfg->peer_count ? cfg->peer_cap : cfg->peer_count) > UINT32_MAX / cfg->workers_per_node ||
	    (cfg->ctl_in != NULL && cfg->on_ctl == NULL))
		return -EINVAL;
	struct aeg_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->cfg = *cfg;
	aeg_dp_tsc_init(&w->clk);
	clock_set(w, aeg_dp_tsc_now_ns(&w->clk)); /* aeg_worker_send may come before any poll */
	if (w->cfg.frame_bytes_max == 0)
		w->cfg.frame_bytes_max = FRAME_BYTES_DEFAULT;
	if (w->cfg.drain_ns == 0)
		w->cfg.drain_ns = DRAIN_NS_DEFAULT;
	if (w->cfg.peer_cap == 0)
		w->cfg.peer_cap = w->cfg.peer_count;
	uint32_t streams = w->cfg.peer_cap * cfg->workers_per_node;
	w->streams = calloc(streams, sizeof(*w->streams));
	w->rx_pkts = calloc(cfg->port->burst_max, sizeof(*w->rx_pkts));
	w->tx_q = calloc(cfg->port->burst_max, sizeof(*w->tx_q));
	if (w->streams == NULL || w->rx_pkts == NULL || w->tx_q == NULL ||
	    w->cfg.frame_bytes_max < AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_BYTES_MIN ||
	    w->cfg.frame_bytes_max > AEG_WIRE_FRAME_BYTES_MAX) {
		int err = (w->streams && w->rx_pkts && w->tx_q) ? -EINVAL : -ENOMEM;
		aeg_worker_fini(w);
		return err;
	}
	for (uint32_t i = 0; i < streams; i++)
		aeg_wire_replay_init(&w->streams[i].replay, cfg->replay_floor);
	w->key = *cfg->key;
	if (cfg->accept_key != NULL)
		w->accept_key = *cfg->accept_key;
	int r = cfg->accept_key != NULL && cfg->accept_key_id == cfg->key_id ? -EINVAL : 0;
	w->keys = calloc(w->cfg.peer_cap, sizeof(*w->keys));
	if (r == 0 && w->keys == NULL)
		r = -ENOMEM;
	for (uint32_t i = 0; r == 0 && i < w->cfg.peer_count; i++)
		r = peer_keys_make(w, i);
	if (r != 0) {
		aeg_worker_fini(w);
		return r;
	}
	w->body_max = (uint32_t)aeg_wire_msg_body_max(w->cfg.frame_bytes_max);
	w->rx = (struct aeg_wire_rx){
		.cluster = cfg->cluster, .self_node = cfg->self_node, .self_worker = cfg->queue,
		.peer_lookup = src_lookup, .peer_arg = w,
	};
	w->sleep_ns = SLEEP_NS_MIN;
	w->wake_fd = cfg->wake_fd != NULL ? cfg->wake_fd(cfg->arg) : -1;
	r = aeg_wk_frag_init(w);
	if (r != 0) {
		aeg_worker_fini(w);
		return r;
	}
	*out = w;
	return 0;
}

void aeg_worker_fini(struct aeg_worker *w)
{
	if (w == NULL)
		return;
	for (uint32_t i = 0; w->streams && i < w->cfg.peer_cap * w->cfg.workers_per_node; i++)
		if (w->streams[i].pkt != NULL)
			aeg_port_pkt_free(w->cfg.port, w->streams[i].pkt);
	for (uint16_t i = 0; i < w->tx_n; i++)
		aeg_port_pkt_free(w->cfg.port, w->tx_q[i]);
	aeg_wk_frag_fini(w);
	for (uint32_t i = 0; w->keys != NULL && i < w->cfg.peer_cap; i++)
		peer_keys_free(&w->keys[i]);
	free(w->keys);
	explicit_bzero(&w->key, sizeof(w->key));
	explicit_bzero(&w->accept_key, sizeof(w->accept_key));
	free(w->streams);
	free(w->rx_pkts);
	free(w->tx_q);
	free(w);
}

void aeg_worker_stats_read(const struct aeg_worker *w, struct aeg_worker_stats *out)
{
	/* Every field is a uint64_t counter: copy them one relaxed load each. */
	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0, "stats are u64 counters only");
	const uint64_t *src = (const uint64_t *)&w->stats;
	uint64_t *dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
