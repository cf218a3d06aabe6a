/* The client's I/O: packing queued requests into one datagram per node
 * worker, sendmmsg/recvmmsg on the one socket, answers to operations
 * (redirects, stale maps, parts of large replies), timeouts and the poll
 * loop that drives them. */
#define _GNU_SOURCE
#include "client_int.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---- sending ------------------------------------------------------------- */

void client_requeue(struct aeg_client *c, struct aeg_client_op *op)
{
	if (op->priv.state == OP_PENDING)
		return;
	if (op->priv.state == OP_INFLIGHT)
		op_list_remove(&c->inflight, op);
	if (op->priv.state == OP_BACKOFF)
		op_list_remove(&c->backoff, op);
	/* A write keeps its shard slot: a later write of the shard must not
	 * overtake it (the node's session keeps only the last seq). */
	op->priv.state = OP_PENDING;
	op->priv.part_next = 0;
	op_list_push(&c->pending, op);
}

/* One datagram for a worker of the embedded node (cfg.local): 1 sent (or
 * refused: lost like a datagram without a route), 0 the ring is full. */
static int send_local(struct aeg_client *c, const struct out_slot *o, uint16_t worker)
{
	int rc = c->cfg.local->send(c->cfg.local->ctx, worker, o->b.buf, o->len);
	if (rc == -ENOBUFS) {
		c->stats.send_again++;
		return 0;
	}
	if (rc != 0)
		c->stats.send_errors++;
	else
		c->stats.local_dgrams_sent++;
	return 1;
}

/* Hands the sealed datagrams to the kernel (or to the embedded node's
 * rings). A full socket buffer keeps the rest for the next poll; a
 * datagram the kernel refuses outright (no route) is dropped: its
 * operations time out and go again. */
static int send_out(struct aeg_client *c)
{
	while (c->out_sent < c->out_used) {
		struct mmsghdr msgs[CLIENT_OUT_MAX];
		struct iovec iov[CLIENT_OUT_MAX];
		struct sockaddr_in sa[CLIENT_OUT_MAX];
		const struct out_slot *first = &c->out[c->out_sent];
		uint16_t worker;
		if (client_local_worker(c, first->ipv4, first->port, &worker)) {
			if (send_local(c, first, worker) == 0)
				return 0;
			c->out_sent++;
			continue;
		}
		uint32_t n = 0; /* the run of datagrams for the socket */
		while (c->out_sent + n < c->out_used &&
		       !client_local_worker(c, c->out[c->out_sent + n].ipv4, c->out[c->out_sent + n].port, NULL))
			n++;
		for (uint32_t i = 0; i < n; i++) {
			const struct out_slot *o = &c->out[c->out_sent + i];
			assert(o->len > 0);
			sa[i] = (struct sockaddr_in){.sin_family = AF_INET,
				.sin_port = htons(o->port), .sin_addr.s_addr = htonl(o->ipv4)};
			iov[i] = (struct iovec){.iov_base = o->b.buf, .iov_len = o->len};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &sa[i],
				.msg_namelen = sizeof(sa[i]), .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int rc = sendmmsg(c->fd, msgs, n, MSG_DONTWAIT);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				c->stats.send_again++;
				return 0;
			}
			if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)
				return -errno;
			rc = 1; /* this datagram only: count it as lost */
			c->stats.send_errors++;
		} else {
			c->stats.dgrams_sent += (uint64_t)rc;
		}
		c->out_sent += (uint32_t)rc;
	}
	c->out_used = c->out_sent = 0;
	return 0;
}

static void seal_all(struct aeg_client *c)
{
	for (uint32_t i = c->out_sent; i < c->out_used; i++) {
		struct out_slot *o = &c->out[i];
		if (o->len == 0) {
			int len = aeg_client_builder_seal(&o->b, &c->cfg.key);
			assert(len > 0);
			o->len = (uint16_t)len;
		}
	}
}

/* Adds one item for (ipv4, port): into the open datagram for it, or a new
 * one. -ENOBUFS when every buffer is taken. */
static int add_item(struct aeg_client *c, const struct aeg_client_op *op,
		    const struct aeg_client_req *req, uint64_t seq_floor)
{
	for (uint32_t i = c->out_sent; i < c->out_used; i++) {
		struct out_slot *o = &c->out[i];
		if (o->len != 0 || o->ipv4 != op->priv.ipv4 || o->port != op->priv.port)
			continue;
		int rc = aeg_client_add_request(&o->b, req);
		if (rc == 0)
			return 0;
		assert(rc == -ENOSPC);
		o->len = (uint16_t)aeg_client_builder_seal(&o->b, &c->cfg.key);
	}
	if (c->out_used == CLIENT_OUT_MAX)
		return -ENOBUFS;
	struct out_slot *o = &c->out[c->out_used++];
	*o = (struct out_slot){.ipv4 = op->priv.ipv4, .port = op->priv.port};
	int rc = aeg_client_builder_begin(&o->b, c->out_mem + (size_t)(o - c->out) *
					  c->cfg.dgram_bytes, c->cfg.dgram_bytes,
					  AEG_CLIENT_KIND_REQUEST, c->cfg.client_id, seq_floor);
	assert(rc == 0);
	rc = aeg_client_add_request(&o->b, req);
	assert(rc == 0); /* sizes were checked at submit */
	return rc;
}

/* Queues op's items (all its remaining parts). 0 or -ENOBUFS (part_next
 * says where to go on). */
static int pack(struct aeg_client *c, struct aeg_client_op *op, uint64_t seq_floor)
{
	bool writes_value = op->op == AEG_CLIENT_PUT || op->op == AEG_CLIENT_CAS || op->op == AEG_CLIENT_SCAN;
	struct aeg_client_req req = {
		.seq = op->priv.seq, .op = op->op,
		.consistency = op->consistency != AEG_CLIENT_DEFAULT ? op->consistency
								     : c->cfg.consistency,
		.shard = op->priv.shard, .epoch = aeg_client_map_epoch(c),
		.expect_version = op->expect_version, .key = op->key, .key_len = op->key_len,
		.value = writes_value ? op->value : NULL,
		.value_len = writes_value ? op->value_len : 0,
	};
	if (aeg_client_req_size(&req) <= c->cfg.dgram_bytes - AEG_CLIENT_DGRAM_BYTES_MIN) {
		c->stats.items_sent++;
		return add_item(c, op, &req, seq_floor);
	}
	uint32_t L = (uint32_t)aeg_client_req_part_max(c->cfg.dgram_bytes, op->key_len);
	uint32_t n = aeg_client_part_count(op->value_len, L);
	for (; op->priv.part_next < n; op->priv.part_next++) {
		uint32_t len;
		req.part = aeg_client_part_nth(op->value_len, L, op->priv.part_next, &len);
		req.value = (const uint8_t *)op->value + req.part.offset;
		req.value_len = len;
		int rc = add_item(c, op, &req, seq_floor);
		if (rc != 0)
			return rc;
		c->stats.items_sent++;
	}
	return 0;
}

/* The lowest seq still outstanding (next_seq if none). Every outstanding
 * operation is in the seq table and new ones take next_seq, so the lowest
 * only moves up: it is kept, and moved past completed seqs one lookup each
 * (once per seq in all), not found by walking every operation per flush. */
static uint64_t seq_floor_of(struct aeg_client *c)
{
	while (c->seq_floor < c->next_seq && table_find(c, c->seq_floor) == NULL) {
		uint16_t *e = &c->floor_ring[c->seq_floor & (FLOOR_RING - 1)];
		if (*e == FLOOR_OLD_MAP) {
			assert(c->above_floor_old > 0);
			c->above_floor_old--;
		} else if (*e != 0) {
			assert(*e <= c->shard_count && c->above_floor[*e - 1] > 0);
			c->above_floor[*e - 1]--;
		}
		*e = 0;
		c->seq_floor++;
	}
	return c->seq_floor;
}

/* Counts a write to its shard's session window the first time it is sent
 * (client_int.h); false while that would overfill the window. */
static bool floor_window_take(struct aeg_client *c, const struct aeg_client_op *op)
{
	uint64_t seq = op->priv.seq;
	assert(seq >= c->seq_floor);
	if (seq - c->seq_floor >= FLOOR_RING)
		return false; /* cannot be tracked yet: wait for the floor */
	uint16_t *e = &c->floor_ring[seq & (FLOOR_RING - 1)];
	if (*e != 0)
		return true; /* counted at its first send */
	uint32_t shard = op->priv.shard;
	if ((uint32_t)c->above_floor[shard] + c->above_floor_old >= c->cfg.session_results_max)
		return false;
	c->above_floor[shard]++;
	*e = (uint16_t)(shard + 1);
	return true;
}

int client_flush(struct aeg_client *c, uint64_t now_ms)
{
	uint64_t seq_floor = seq_floor_of(c);
	struct aeg_client_op *next;
	c->now_ms = now_ms;
	for (struct aeg_client_op *op = c->pending.head; op != NULL; op = next) {
		next = op->priv.next;
		if (!client_route(c, op))
			continue;
		if (!(op->priv.flags & (OPF_LARGE | OPF_INTERNAL)) && op_is_large(c, op)) {
			if (c->large_inflight >= c->cfg.large_inflight_max) {
				c->stats.large_waits++;
				continue;
			}
			c->large_inflight++;
			op->priv.flags |= OPF_LARGE;
		}
		if (op_is_write(op) && !(op->priv.flags & OPF_SLOT)) {
			if (c->writes[op->priv.shard] >= c->cfg.writes_per_shard_max)
				continue;
			if (!floor_window_take(c, op)) {
				c->stats.session_waits++;
				continue;
			}
			c->writes[op->priv.shard]++;
			op->priv.flags |= OPF_SLOT;
		}
		int rc;
		while ((rc = pack(c, op, seq_floor)) == -ENOBUFS) {
			seal_all(c);
			if ((rc = send_out(c)) < 0)
				return rc;
			if (c->out_used == CLIENT_OUT_MAX)
				break; /* the socket is full: go on at the next poll */
		}
		if (rc == -ENOBUFS)
			break;
		op_list_remove(&c->pending, op);
		op_list_push(&c->inflight, op);
		op->priv.state = OP_INFLIGHT;
		op->priv.attempts++;
		op->priv.deadline_ms = now_ms + c->cfg.timeout_ms;
	}
	seal_all(c);
	return send_out(c);
}

/* ---- answers ------------------------------------------------------------- */

/* Try again after a timeout, as if the reply had been lost. */
static void defer(struct aeg_client *c, struct aeg_client_op *op, uint64_t now_ms)
{
	op_list_remove(&c->inflight, op);
	op_list_push(&c->inflight, op);
	op->priv.deadline_ms = now_ms + c->cfg.timeout_ms;
}

static void final(struct aeg_client *c, struct aeg_client_op *op, const struct aeg_client_resp *s);

/* BUSY: the node is alive and refused for now (its Raft log window or
 * request slots are full: back-pressure). The op goes again after a short
 * pause, not a whole timeout, and the pause does not use up a retry; an op
 * fails with BUSY only after about as long as its retries would take. */
static void busy_backoff(struct aeg_client *c, struct aeg_client_op *op, uint64_t now_ms)
{
	c->stats.busy_retries++;
	if (op->priv.busy >= c->busy_tries_max) {
		struct aeg_client_resp s = {.seq = op->priv.seq, .status = AEG_CLIENT_BUSY};
		final(c, op, &s);
		return;
	}
	op->priv.busy++;
	assert(op->priv.attempts > 0);
	op->priv.attempts--; /* answered: not a lost send */
	op_list_remove(&c->inflight, op);
	op_list_push(&c->backoff, op);
	op->priv.state = OP_BACKOFF;
	op->priv.deadline_ms = now_ms + c->busy_backoff_ms;
}

/* An answer that is not final (redirect, retry later). Acted on only when
 * it comes from where the op's current attempt went: a late answer to an
 * earlier attempt must not move the op again. */
static void not_final(struct aeg_client *c, struct aeg_client_op *op,
		      const struct aeg_client_resp *s, uint64_t now_ms)
{
	op->priv.last_status = s->status;
	if (s->status == AEG_CLIENT_NOT_LEADER) {
		c->stats.redirects++;
		if (s->leader_hint != 0 && s->leader_hint != op->priv.node &&
		    !(op->priv.flags & OPF_INTERNAL)) {
			/* A live node names the leader: try it even if it is
			 * suspected (a timeout will suspect it again). */
			client_node_heard(c, s->leader_hint, 0);
			client_set_leader(c, op->priv.shard, s->leader_hint);
			client_requeue(c, op);
			return;
		}
		if (!(op->priv.flags & OPF_INTERNAL))
			client_rotate_leader(c, op);
		defer(c, op, now_ms); /* no leader known yet: an election */
	} else if (s->status == AEG_CLIENT_STALE_EPOCH) {
		c->stats.stale_epochs++;
		client_requeue(c, op);
		client_want_map(c);
	} else if (s->status == AEG_CLIENT_BUSY) {
		busy_backoff(c, op, now_ms);
	} else {
		defer(c, op, now_ms); /* UNAVAILABLE, TIMEOUT */
	}
}

static void final(struct aeg_client *c, struct aeg_client_op *op,
		  const struct aeg_client_resp *s)
{
	int status = s->status;
	op->version = s->version;
	if ((op->op == AEG_CLIENT_GET || op->op == AEG_CLIENT_MAP || op->op == AEG_CLIENT_SCAN) &&
	    status == AEG_CLIENT_OK) {
		op->value_len = s->value_len;
		if (s->value_len > op->buf_cap)
			status = -ENOBUFS;
		else if (s->value_len != 0)
			memcpy(op->buf, s->value, s->value_len);
	}
	client_complete(c, op, status);
}

static void on_response(struct aeg_client *c, struct aeg_client_resp *s, uint32_t ipv4,
			uint16_t port, uint64_t now_ms)
{
	struct aeg_client_op *op = table_find(c, s->seq);
	if (op == NULL) {
		c->stats.stray_replies++;
		return;
	}
	if (s->part.count >= 2) {
		struct aeg_client_reasm_done done;
		uint64_t meta = s->version ^ ((uint64_t)s->status << 56) ^ s->leader_hint;
		int rc = aeg_client_reasm_add(&c->reasm, 0, s->seq, meta, &s->part, s->value,
					      s->value_len, now_ms, &done);
		if (rc < 0 && rc != -EEXIST)
			c->stats.reasm_refused++;
		if (rc == -EMSGSIZE || rc == -E2BIG)
			client_complete(c, op, -EMSGSIZE); /* larger than we take */
		if (rc != 1)
			return;
		s->value = done.value;
		s->value_len = done.len;
	}
	bool current = op->priv.state == OP_INFLIGHT && op->priv.ipv4 == ipv4 &&
		       op->priv.port == port;
	if (current)
		client_node_heard(c, op->priv.node, now_ms);
	switch (s->status) {
	case AEG_CLIENT_NOT_LEADER:
	case AEG_CLIENT_STALE_EPOCH:
	case AEG_CLIENT_UNAVAILABLE:
	case AEG_CLIENT_BUSY:
	case AEG_CLIENT_TIMEOUT:
		if (current)
			not_final(c, op, s, now_ms);
		return;
	default:
		if (!(op->priv.flags & OPF_INTERNAL) && client_local_worker(c, ipv4, port, NULL))
			c->stats.local_ops++;
		final(c, op, s);
	}
}

static void on_dgram(struct aeg_client *c, const uint8_t *pkt, size_t len,
		     const struct sockaddr_in *from, uint64_t now_ms)
{
	struct aeg_client_rx rx = {.key = &c->cfg.key, .kind = AEG_CLIENT_KIND_RESPONSE};
	struct aeg_client_dgram d;
	enum aeg_client_drop why = aeg_client_parse(&rx, pkt, len, &d);
	if (why != AEG_CLIENT_DROP_OK) {
		c->stats.drops[why]++;
		return;
	}
	c->stats.dgrams_received++;
	if (d.hdr.client_id != c->cfg.client_id) {
		c->stats.wrong_client++;
		return;
	}
	struct aeg_client_iter it;
	struct aeg_client_resp s;
	aeg_client_iter_init(&it, &d);
	while (aeg_client_next_response(&it, &s) == 1)
		on_response(c, &s, ntohl(from->sin_addr.s_addr), ntohs(from->sin_port), now_ms);
}

static void on_local(void *arg, uint16_t worker, const uint8_t *dgram, uint32_t len)
{
	struct aeg_client *c = arg;
	const struct aeg_client_local *l = c->cfg.local;
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(l->ipv4),
				   .sin_port = htons((uint16_t)(l->port_base + worker))};
	c->stats.local_dgrams_received++;
	on_dgram(c, dgram, len, &from, c->rx_now_ms);
}

int client_receive(struct aeg_client *c, uint64_t now_ms)
{
	if (c->cfg.local != NULL) {
		c->rx_now_ms = now_ms;
		(void)c->cfg.local->receive(c->cfg.local->ctx, on_local, c, CLIENT_LOCAL_IN_MAX);
	}
	/* Bounded: a flood of datagrams cannot keep poll from returning. */
	for (int round = 0; round < 64; round++) {
		struct mmsghdr msgs[CLIENT_IN_MAX];
		struct iovec iov[CLIENT_IN_MAX];
		struct sockaddr_in from[CLIENT_IN_MAX];
		for (int i = 0; i < CLIENT_IN_MAX; i++) {
			iov[i] = (struct iovec){.iov_base = c->in_mem + (size_t)i * CLIENT_IN_BYTES,
						.iov_len = CLIENT_IN_BYTES};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
				.msg_namelen = sizeof(from[i]), .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int n = recvmmsg(c->fd, msgs, CLIENT_IN_MAX, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				c->stats.drops[AEG_CLIENT_DROP_BAD_LENGTH]++;
				continue;
			}
			on_dgram(c, iov[i].iov_base, msgs[i].msg_len, &from[i], now_ms);
		}
		if (n < CLIENT_IN_MAX)
			return 0;
	}
	return 0;
}

/* ---- timeouts and the loop ----------------------------------------------- */

void client_expire(struct aeg_client *c, uint64_t now_ms)
{
	struct aeg_client_op *next;
	/* The in-flight list is in deadline order (every push is now + timeout). */
	for (struct aeg_client_op *op = c->inflight.head;
	     op != NULL && op->priv.deadline_ms <= now_ms; op = next) {
		next = op->priv.next;
		if (op->priv.attempts > c->cfg.retries) {
			c->stats.timeouts++;
			client_complete(c, op, op->priv.last_status != OP_STATUS_NONE
						       ? op->priv.last_status : AEG_CLIENT_TIMEOUT);
			continue;
		}
		c->stats.retransmits++;
		/* The first retry goes where the first try went (a lost datagram
		 * is likelier than a dead leader) unless the node is suspected by
		 * now (routing skips it); later ones move on. */
		if (!(op->priv.flags & OPF_INTERNAL)) {
			client_node_timed_out(c, op->priv.node, op->priv.deadline_ms - c->cfg.timeout_ms,
					      now_ms);
			if (op->priv.attempts >= 2)
				client_rotate_leader(c, op);
		}
		client_requeue(c, op);
	}
	while (c->backoff.head != NULL && c->backoff.head->priv.deadline_ms <= now_ms)
		client_requeue(c, c->backoff.head);
	(void)aeg_client_reasm_expire(&c->reasm, now_ms);
}

static bool idle(const struct aeg_client *c)
{
	return c->pending.head == NULL && c->inflight.head == NULL && c->backoff.head == NULL &&
	       c->out_used == 0;
}

int aeg_client_poll(struct aeg_client *c, int timeout_ms)
{
	uint64_t now = client_now_ms();
	uint64_t end = timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)timeout_ms;
	c->completed = 0;
	for (;;) {
		client_expire(c, now);
		int rc = client_flush(c, now);
		if (rc == 0)
			rc = client_receive(c, now);
		if (rc == 0)
			rc = client_flush(c, now); /* redirects leave now */
		if (rc < 0)
			return rc;
		if (c->completed > 0 || now >= end || idle(c))
			break;
		uint64_t wait = end - now;
		for (int l = 0; l < 2; l++) {
			const struct aeg_client_op *h = l ? c->backoff.head : c->inflight.head;
			if (h != NULL) {
				uint64_t d = h->priv.deadline_ms;
				wait = d <= now ? 0 : (d - now < wait ? d - now : wait);
			}
		}
		struct pollfd p = {.fd = c->fd,
			.events = (short)(POLLIN | (c->out_used > c->out_sent ? POLLOUT : 0))};
		/* Local replies wake no fd: with an embedded node, look again soon. */
		uint64_t wait_ns = (wait > 60000 ? 60000 : wait) * 1000000u;
		if (c->cfg.local != NULL && wait_ns > CLIENT_LOCAL_WAIT_NS)
			wait_ns = CLIENT_LOCAL_WAIT_NS;
		struct timespec ts = {.tv_sec = (time_t)(wait_ns / 1000000000u),
				      .tv_nsec = (long)(wait_ns % 1000000000u)};
		if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		now = client_now_ms();
	}
	return (int)c->completed;
}
