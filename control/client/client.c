/* The client library's setup and bookkeeping (the I/O is in client_io.c):
 * open and close, addresses, the shard map and the leader cache, the seq
 * table, submit, completion and the synchronous calls built on poll. */
#define _GNU_SOURCE
#include "client_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t client_now_ms(void)
{
	struct timespec ts;
	int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
	assert(rc == 0);
	(void)rc;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- lists and the seq table -------------------------------------------- */

void op_list_push(struct op_list *l, struct aeg_client_op *op)
{
	op->priv.next = NULL;
	op->priv.prev = l->tail;
	if (l->tail != NULL)
		l->tail->priv.next = op;
	else
		l->head = op;
	l->tail = op;
}

void op_list_remove(struct op_list *l, struct aeg_client_op *op)
{
	if (op->priv.prev != NULL)
		op->priv.prev->priv.next = op->priv.next;
	else
		l->head = op->priv.next;
	if (op->priv.next != NULL)
		op->priv.next->priv.prev = op->priv.prev;
	else
		l->tail = op->priv.prev;
	op->priv.next = op->priv.prev = NULL;
}

static uint32_t seq_hash(uint64_t seq)
{
	return (uint32_t)((seq * 0x9e3779b97f4a7c15ull) >> 32);
}

/* Linear probing; the table has at least twice the entries it may hold. */
void table_put(struct aeg_client *c, struct aeg_client_op *op)
{
	uint32_t i = seq_hash(op->priv.seq) & c->table_mask;
	while (c->table[i] != NULL)
		i = (i + 1) & c->table_mask;
	c->table[i] = op;
}

struct aeg_client_op *table_find(const struct aeg_client *c, uint64_t seq)
{
	for (uint32_t i = seq_hash(seq) & c->table_mask; c->table[i] != NULL;
	     i = (i + 1) & c->table_mask)
		if (c->table[i]->priv.seq == seq)
			return c->table[i];
	return NULL;
}

/* Deletion by backward shift, so that no tombstones pile up. */
void table_del(struct aeg_client *c, uint64_t seq)
{
	uint32_t i = seq_hash(seq) & c->table_mask;
	while (c->table[i] != NULL && c->table[i]->priv.seq != seq)
		i = (i + 1) & c->table_mask;
	assert(c->table[i] != NULL);
	for (uint32_t j = (i + 1) & c->table_mask; c->table[j] != NULL;
	     j = (j + 1) & c->table_mask) {
		uint32_t home = seq_hash(c->table[j]->priv.seq) & c->table_mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & c->table_mask) >= ((j - i) & c->table_mask)) {
			c->table[i] = c->table[j];
			i = j;
		}
	}
	c->table[i] = NULL;
}

/* ---- routing and the map ------------------------------------------------- */

bool op_is_write(const struct aeg_client_op *op)
{
	return op->op == AEG_CLIENT_PUT || op->op == AEG_CLIENT_DEL || op->op == AEG_CLIENT_CAS;
}

bool op_is_large(const struct aeg_client *c, const struct aeg_client_op *op)
{
	if (op->op == AEG_CLIENT_GET || op->op == AEG_CLIENT_SCAN)
		return op->buf_cap > c->cfg.dgram_bytes;
	return (op->op == AEG_CLIENT_PUT || op->op == AEG_CLIENT_CAS) &&
	       op->value_len > c->cfg.dgram_bytes;
}

bool client_local_worker(const struct aeg_client *c, uint32_t ipv4, uint16_t port,
			 uint16_t *worker)
{
	const struct aeg_client_local *l = c->cfg.local;
	if (l == NULL || ipv4 != l->ipv4 || port < l->port_base || port - l->port_base >= l->workers)
		return false;
	if (worker != NULL)
		*worker = (uint16_t)(port - l->port_base);
	return true;
}

/* Any member the nodes name as a shard's leader, not only the map's
 * replicas: a move brings a replica to a node the map does not list for
 * the shard, and the nodes that know redirect there. */
void client_set_leader(struct aeg_client *c, uint32_t shard, uint32_t node)
{
	if (c->map != NULL && shard < c->shard_count && aeg_shard_map_node(c->map, node) != NULL)
		c->leader[shard] = node;
}

void client_rotate_leader(struct aeg_client *c, const struct aeg_client_op *op)
{
	uint32_t n, shard = op->priv.shard;
	if (c->map == NULL || shard >= c->shard_count || c->leader[shard] != op->priv.node)
		return; /* someone moved it already */
	const uint32_t *r = aeg_shard_replicas(c->map, shard, &n);
	for (uint32_t i = 0; i < n; i++)
		if (r[i] == op->priv.node) {
			c->leader[shard] = r[(i + 1) % n];
			return;
		}
	c->leader[shard] = r[0];
}

/* The map's index of node id, or UINT32_MAX. */
static uint32_t node_index(const struct aeg_client *c, uint32_t node)
{
	uint32_t n;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(c->map, &n);
	const struct aeg_shard_node *a = aeg_shard_map_node(c->map, node);
	if (a == NULL)
		return UINT32_MAX;
	assert(a >= nodes && a < nodes + n && n == c->node_count);
	return (uint32_t)(a - nodes);
}

static bool node_suspect(const struct aeg_client *c, uint32_t node)
{
	uint32_t i = c->map != NULL ? node_index(c, node) : UINT32_MAX;
	return i != UINT32_MAX && c->now_ms < c->suspect_until[i];
}

void client_node_heard(struct aeg_client *c, uint32_t node, uint64_t now_ms)
{
	uint32_t i = c->map != NULL ? node_index(c, node) : UINT32_MAX;
	if (i == UINT32_MAX)
		return;
	if (now_ms > c->heard_ms[i])
		c->heard_ms[i] = now_ms;
	c->suspect_until[i] = 0;
}

void client_node_timed_out(struct aeg_client *c, uint32_t node, uint64_t sent_ms,
			   uint64_t now_ms)
{
	uint32_t i = c->map != NULL ? node_index(c, node) : UINT32_MAX;
	if (i == UINT32_MAX || c->heard_ms[i] >= sent_ms)
		return; /* it answered something since: a lost datagram, not a dead node */
	if (c->suspect_until[i] <= now_ms)
		c->stats.suspects++;
	/* Long enough for an election to settle; an answer clears it sooner. */
	c->suspect_until[i] = now_ms + 4 * (uint64_t)c->cfg.timeout_ms;
}

/* The shard's cached leader, or the first replica after it that is not
 * suspected (the cache moves there). All suspected: the cached one. */
static uint32_t route_leader(struct aeg_client *c, uint32_t shard)
{
	uint32_t n, at = 0, cur = c->leader[shard];
	if (!node_suspect(c, cur))
		return cur;
	const uint32_t *r = aeg_shard_replicas(c->map, shard, &n);
	for (uint32_t i = 0; i < n; i++)
		if (r[i] == cur)
			at = i;
	for (uint32_t k = 1; k < n; k++) {
		uint32_t cand = r[(at + k) % n];
		if (!node_suspect(c, cand)) {
			c->stats.suspect_skips++;
			c->leader[shard] = cand;
			return cand;
		}
	}
	return cur;
}

/* Reads at ONE: any replica answers from what it applied, so they spread
 * over the shard's replicas (by seq, the next one on each resend), not
 * suspected ones first; a replica that lost the shard redirects. */
static bool read_any_replica(const struct aeg_client *c, const struct aeg_client_op *op)
{
	uint8_t level = op->consistency != AEG_CLIENT_DEFAULT ? op->consistency : c->cfg.consistency;
	return level == AEG_CLIENT_ONE && (op->op == AEG_CLIENT_GET || op->op == AEG_CLIENT_SCAN);
}

static uint32_t route_replica(struct aeg_client *c, const struct aeg_client_op *op, uint32_t shard)
{
	uint32_t n;
	const uint32_t *r = aeg_shard_replicas(c->map, shard, &n);
	uint64_t at = op->priv.seq + op->priv.attempts;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t cand = r[(at + k) % n];
		if (!node_suspect(c, cand)) {
			if (cand != c->leader[shard])
				c->stats.replica_reads++;
			return cand;
		}
	}
	return route_leader(c, shard);
}

bool client_route(struct aeg_client *c, struct aeg_client_op *op)
{
	if ((op->priv.flags & OPF_INTERNAL)) {
		/* Any node answers MAP: the map's nodes once we have one (the
		 * boot list may be gone), worker 0's port. */
		uint32_t n = 0;
		const struct aeg_shard_node *nodes =
			c->map != NULL ? aeg_shard_map_nodes(c->map, &n) : NULL;
		if (n > 0) {
			const struct aeg_shard_node *a = &nodes[c->boot_next++ % n];
			op->priv.node = a->id, op->priv.ipv4 = a->ipv4;
			op->priv.port = a->udp_port_base;
		} else {
			const struct aeg_client_addr *a = &c->boot[c->boot_next++ % c->boot_count];
			op->priv.node = a->id, op->priv.ipv4 = a->ipv4, op->priv.port = a->port;
		}
		return true;
	}
	if (c->map == NULL || c->map_wanted)
		return false;
	uint32_t shard = op->op == AEG_CLIENT_SCAN ? op->shard : aeg_shard_for_key(c->map, op->key, op->key_len);
	if (shard >= c->shard_count)
		shard = 0; /* a SCAN of a shard the new map lacks: the node says STALE_EPOCH, never data */
	uint32_t leader = read_any_replica(c, op) ? route_replica(c, op, shard) : route_leader(c, shard);
	int rc = aeg_shard_addr(c->map, shard, leader, &op->priv.ipv4, &op->priv.port);
	assert(rc == 0);
	(void)rc;
	op->priv.shard = shard;
	op->priv.node = leader;
	return true;
}

static void map_start(struct aeg_client *c)
{
	struct aeg_client_op *m = &c->map_op;
	memset(m, 0, sizeof(*m));
	m->op = AEG_CLIENT_MAP;
	m->buf = c->map_buf;
	m->buf_cap = c->cfg.value_bytes_max;
	m->priv.flags = OPF_INTERNAL;
	m->priv.seq = c->next_seq++;
	m->priv.last_status = OP_STATUS_NONE;
	table_put(c, m);
	c->stats.map_fetches++;
	client_requeue(c, m);
}

void client_want_map(struct aeg_client *c)
{
	c->map_wanted = true;
	if (c->map_op.priv.state == OP_IDLE)
		map_start(c);
}

/* A MAP reply: decode, swap, reset the leader cache to preferred leaders. */
static int map_install(struct aeg_client *c, const uint8_t *buf, uint32_t len)
{
	struct aeg_shard_map *m;
	int rc = aeg_shard_map_decode(&m, buf, len);
	if (rc != 0)
		return rc;
	if (c->map != NULL && aeg_shard_map_epoch(m) < aeg_shard_map_epoch(c->map)) {
		aeg_shard_map_free(m); /* a lagging node's map: keep ours */
		return 0;
	}
	uint32_t n = aeg_shard_map_shard_count(m), nn;
	(void)aeg_shard_map_nodes(m, &nn);
	uint32_t *leader = calloc(n, sizeof(*leader));
	uint16_t *writes = calloc(n, sizeof(*writes));
	uint16_t *above = calloc(n, sizeof(*above));
	uint64_t *suspect = calloc(nn + 1, sizeof(*suspect));
	uint64_t *heard = calloc(nn + 1, sizeof(*heard));
	if (n >= FLOOR_OLD_MAP || leader == NULL || writes == NULL || above == NULL || suspect == NULL ||
	    heard == NULL) {
		free(leader), free(writes), free(above), free(suspect), free(heard), aeg_shard_map_free(m);
		return n >= FLOOR_OLD_MAP ? -EINVAL : -ENOMEM;
	}
	/* Writes above the floor were counted under the old shard numbers:
	 * from now on each counts against every shard until the floor passes it. */
	for (uint64_t s = c->seq_floor; s < c->next_seq && s - c->seq_floor < FLOOR_RING; s++) {
		uint16_t *e = &c->floor_ring[s & (FLOOR_RING - 1)];
		if (*e != 0 && *e != FLOOR_OLD_MAP) {
			*e = FLOOR_OLD_MAP;
			c->above_floor_old++;
		}
	}
	/* Writes holding a shard slot count again under the new shard numbers,
	 * so that the per-shard limit and the release at completion hold. */
	struct op_list *lists[3] = {&c->pending, &c->inflight, &c->backoff};
	for (int l = 0; l < 3; l++)
		for (struct aeg_client_op *op = lists[l]->head; op != NULL; op = op->priv.next)
			if (op->priv.flags & OPF_SLOT) {
				op->priv.shard = aeg_shard_for_key(m, op->key, op->key_len);
				writes[op->priv.shard]++;
			}
	for (uint32_t s = 0; s < n; s++) {
		uint32_t k;
		leader[s] = aeg_shard_replicas(m, s, &k)[0];
	}
	aeg_shard_map_free(c->map);
	free(c->leader), free(c->writes), free(c->above_floor), free(c->suspect_until), free(c->heard_ms);
	c->map = m, c->leader = leader, c->writes = writes, c->above_floor = above, c->shard_count = n;
	c->suspect_until = suspect, c->heard_ms = heard, c->node_count = nn;
	c->map_wanted = false;
	return 0;
}

void client_complete(struct aeg_client *c, struct aeg_client_op *op, int status)
{
	assert(op->priv.state != OP_IDLE);
	op_list_remove(op->priv.state == OP_PENDING ? &c->pending
		       : op->priv.state == OP_BACKOFF ? &c->backoff : &c->inflight, op);
	table_del(c, op->priv.seq);
	(void)aeg_client_reasm_drop(&c->reasm, 0, op->priv.seq);
	if (op->priv.flags & OPF_SLOT) {
		assert(op->priv.shard < c->shard_count && c->writes[op->priv.shard] > 0);
		c->writes[op->priv.shard]--;
		op->priv.flags &= (uint8_t)~OPF_SLOT;
	}
	if (op->priv.flags & OPF_LARGE) {
		assert(c->large_inflight > 0);
		c->large_inflight--;
		op->priv.flags &= (uint8_t)~OPF_LARGE;
	}
	op->priv.state = OP_IDLE;
	op->status = status;
	if ((op->priv.flags & OPF_INTERNAL)) {
		if (status == AEG_CLIENT_OK)
			c->map_error = map_install(c, op->buf, op->value_len);
		else
			c->map_error = status < 0 ? status
				     : status == AEG_CLIENT_TIMEOUT ? -ETIMEDOUT : -EPROTO;
		/* Ops waiting for the map go on with what we have: one that
		 * still meets STALE_EPOCH asks again, within its retries. */
		c->map_wanted = false;
		return;
	}
	c->outstanding--;
	c->completed++;
	c->stats.ops_completed++;
	if (op->done != NULL)
		op->done(op);
}

/* ---- open / close -------------------------------------------------------- */

int aeg_client_parse_addr(const char *s, struct aeg_client_addr *out)
{
	char host[INET_ADDRSTRLEN];
	char *end;
	errno = 0;
	unsigned long id = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '=' || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	const char *h = end + 1, *colon = strrchr(h, ':');
	if (colon == NULL || (size_t)(colon - h) >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	struct in_addr in;
	if (inet_pton(AF_INET, host, &in) != 1)
		return -EINVAL;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	*out = (struct aeg_client_addr){.id = (uint32_t)id, .ipv4 = ntohl(in.s_addr),
					.port = (uint16_t)port};
	return 0;
}

static int cfg_normalize(struct aeg_client_cfg *n, const struct aeg_client_cfg *cfg)
{
	*n = *cfg;
	n->timeout_ms = n->timeout_ms ? n->timeout_ms : 200;
	n->retries = n->retries ? n->retries : 5;
	n->outstanding_max = n->outstanding_max ? n->outstanding_max : 1024;
	n->writes_per_shard_max = n->writes_per_shard_max ? n->writes_per_shard_max : 64;
	n->session_results_max = n->session_results_max ? n->session_results_max : AEG_CLIENT_SESSION_WINDOW;
	n->dgram_bytes = n->dgram_bytes ? n->dgram_bytes : AEG_CLIENT_DGRAM_BYTES_DEFAULT;
	n->value_bytes_max = n->value_bytes_max ? n->value_bytes_max : 1u << 20;
	n->reasm_slots = n->reasm_slots ? n->reasm_slots : 8;
	n->large_inflight_max = n->large_inflight_max ? n->large_inflight_max : 4;
	if (n->large_inflight_max > n->reasm_slots)
		n->large_inflight_max = n->reasm_slots;
	if (n->node_count + n->addr_count == 0 || n->outstanding_max > (1u << 20) ||
	    n->retries > 1000 || n->writes_per_shard_max > UINT16_MAX ||
	    n->session_results_max > UINT16_MAX ||
	    n->dgram_bytes < 512 || n->dgram_bytes > AEG_CLIENT_DGRAM_BYTES_MAX ||
	    n->value_bytes_max > AEG_CLIENT_VALUE_BYTES_MAX || n->value_bytes_max < 1024 ||
	    n->consistency > AEG_CLIENT_CONSISTENCY_MAX ||
	    (n->local != NULL && (n->local->workers == 0 || n->local->send == NULL ||
				  n->local->receive == NULL)))
		return -EINVAL;
	n->nodes = NULL, n->addrs = NULL;
	return 0;
}

static int open_socket(struct aeg_client *c)
{
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* Room for a few 1 MiB values' parts in one burst. The FORCE options
	 * pass over wmem_max/rmem_max (212992 B on a stock kernel) where we may
	 * (CAP_NET_ADMIN); otherwise the kernel caps the plain ones. A full send
	 * buffer only delays sends (client_io.c); large replies in flight are
	 * limited by large_inflight_max. */
	int bytes = 4 << 20;
	if ((setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
	     setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0) ||
	    (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
	     setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0))
		return -errno;
	struct sockaddr_in any = {.sin_family = AF_INET};
	if (bind(c->fd, (struct sockaddr *)&any, sizeof(any)) != 0)
		return -errno;
	return 0;
}

static int alloc_all(struct aeg_client *c, const struct aeg_client_cfg *cfg)
{
	c->boot = calloc(cfg->node_count + cfg->addr_count, sizeof(*c->boot));
	uint32_t cap = 16;
	while (cap < 2 * (c->cfg.outstanding_max + 1))
		cap *= 2;
	c->table = calloc(cap, sizeof(*c->table));
	c->table_mask = cap - 1;
	c->floor_ring = calloc(FLOOR_RING, sizeof(*c->floor_ring));
	c->map_buf = malloc(c->cfg.value_bytes_max);
	c->out_mem = malloc((size_t)CLIENT_OUT_MAX * c->cfg.dgram_bytes);
	c->in_mem = malloc((size_t)CLIENT_IN_MAX * CLIENT_IN_BYTES);
	struct aeg_client_reasm_cfg rc = {.slots = c->cfg.reasm_slots,
		.value_bytes_max = c->cfg.value_bytes_max,
		.parts_max = c->cfg.value_bytes_max / 256, .timeout_ms = c->cfg.timeout_ms};
	size_t mem = aeg_client_reasm_mem_bytes(&rc);
	c->reasm_mem = mem != 0 ? aligned_alloc(8, (mem + 7) & ~(size_t)7) : NULL;
	if (c->boot == NULL || c->table == NULL || c->floor_ring == NULL || c->map_buf == NULL || c->out_mem == NULL ||
	    c->in_mem == NULL || c->reasm_mem == NULL)
		return -ENOMEM;
	return aeg_client_reasm_init(&c->reasm, &rc, c->reasm_mem, mem);
}

static int boot_addrs(struct aeg_client *c, const struct aeg_client_cfg *cfg)
{
	for (uint32_t i = 0; i < cfg->node_count; i++)
		if (cfg->nodes[i] == NULL || aeg_client_parse_addr(cfg->nodes[i], &c->boot[i]) != 0)
			return -EINVAL;
	for (uint32_t i = 0; i < cfg->addr_count; i++)
		c->boot[cfg->node_count + i] = cfg->addrs[i];
	c->boot_count = cfg->node_count + cfg->addr_count;
	return 0;
}

int aeg_client_open(struct aeg_client **out, const struct aeg_client_cfg *cfg)
{
	struct aeg_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->fd = -1;
	int rc = cfg_normalize(&c->cfg, cfg);
	if (rc == 0)
		rc = alloc_all(c, cfg);
	if (rc == 0)
		rc = boot_addrs(c, cfg);
	while (rc == 0 && c->cfg.client_id == 0)
		if (getrandom(&c->cfg.client_id, sizeof(c->cfg.client_id), 0) !=
		    sizeof(c->cfg.client_id))
			rc = -errno;
	if (rc == 0)
		rc = open_socket(c);
	c->next_seq = 1;
	c->seq_floor = 1;
	c->busy_backoff_ms = c->cfg.timeout_ms / 20 > 2 ? c->cfg.timeout_ms / 20 : 2;
	uint64_t busy_max = (uint64_t)c->cfg.timeout_ms * (c->cfg.retries + 1) / c->busy_backoff_ms;
	c->busy_tries_max = busy_max < UINT16_MAX ? (uint32_t)busy_max : UINT16_MAX;
	/* One fetch per boot address at most, each with its own retries. */
	for (uint32_t i = 0; rc == 0 && c->map == NULL && i < c->boot_count; i++) {
		client_want_map(c);
		while (rc >= 0 && c->map_op.priv.state != OP_IDLE)
			rc = aeg_client_poll(c, (int)c->cfg.timeout_ms);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && c->map == NULL)
		rc = c->map_error == -ETIMEDOUT || c->map_error == 0 ? -ETIMEDOUT : c->map_error;
	if (rc != 0) {
		aeg_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void aeg_client_close(struct aeg_client *c)
{
	if (c == NULL)
		return;
	c->map_wanted = false;
	while (c->pending.head != NULL)
		client_complete(c, c->pending.head, -ECANCELED);
	while (c->inflight.head != NULL)
		client_complete(c, c->inflight.head, -ECANCELED);
	while (c->backoff.head != NULL)
		client_complete(c, c->backoff.head, -ECANCELED);
	if (c->cfg.local != NULL && c->cfg.local->release != NULL)
		c->cfg.local->release(c->cfg.local->ctx);
	if (c->fd >= 0)
		close(c->fd);
	aeg_shard_map_free(c->map);
	free(c->leader), free(c->writes), free(c->above_floor), free(c->floor_ring), free(c->boot), free(c->table);
	free(c->suspect_until), free(c->heard_ms);
	free(c->map_buf), free(c->out_mem), free(c->in_mem), free(c->reasm_mem);
	free(c);
}

uint64_t aeg_client_id(const struct aeg_client *c)
{
	return c->cfg.client_id;
}

uint64_t aeg_client_map_epoch(const struct aeg_client *c)
{
	return c->map != NULL ? aeg_shard_map_epoch(c->map) : 0;
}

uint32_t aeg_client_outstanding(const struct aeg_client *c)
{
	return c->outstanding;
}

void aeg_client_get_stats(const struct aeg_client *c, struct aeg_client_stats *out)
{
	*out = c->stats;
}
