/* The fake cluster of fake_cluster.h: sockets, map, and the request handler. */
#define _GNU_SOURCE
#include "fake_cluster.h"

#include "aegis/client_scan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIE(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), abort())

static int bind_port(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		DIE("socket: %s", strerror(errno));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	int bytes = 4 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	return fd;
}

/* WORKERS consecutive ports per node: try bases until all bind. */
static void bind_node(struct fake *f, uint32_t id)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint16_t base = (uint16_t)(20000 + (unsigned)rand() % 40000);
		int w;
		for (w = 0; w < FAKE_WORKERS; w++)
			if ((f->fd[id][w] = bind_port((uint16_t)(base + w))) < 0)
				break;
		if (w == FAKE_WORKERS) {
			f->base[id] = base;
			return;
		}
		while (w-- > 0)
			close(f->fd[id][w]);
	}
	DIE("no free ports");
}

static void build_map(struct fake *f)
{
	struct aeg_shard_node nodes[FAKE_NODES];
	for (uint32_t i = 0; i < FAKE_NODES; i++)
		nodes[i] = (struct aeg_shard_node){.id = i + 1, .ipv4 = INADDR_LOOPBACK,
			.udp_port_base = f->base[i + 1], .weight = 1000};
	static char split_keys[FAKE_SHARDS - 1][16];
	struct aeg_shard_split splits[FAKE_SHARDS - 1];
	for (uint32_t i = 0; i + 1 < FAKE_SHARDS; i++) {
		int n = snprintf(split_keys[i], sizeof(split_keys[i]), "rscan/%04u", (i + 1) * 50);
		splits[i] = (struct aeg_shard_split){.key = split_keys[i], .len = (uint32_t)n};
	}
	struct aeg_shard_map_params p = {.epoch = f->epoch, .nodes = nodes,
		.node_count = FAKE_NODES, .shard_count = FAKE_SHARDS, .replication_factor = 3,
		.workers = FAKE_WORKERS, .strategy = f->strategy,
		.splits = f->strategy == AEG_SHARD_RANGE ? splits : NULL};
	struct aeg_shard_assign assign[] = {{"pin:", 4, 5, true}, {"pin:x", 5, 2, false}};
	if (f->strategy == AEG_SHARD_LIST)
		p.assign = assign, p.assign_count = 2;
	if (f->strategy == AEG_SHARD_TIME)
		p.time_bucket = 100;
	aeg_shard_map_free(f->map);
	if (aeg_shard_map_build(&f->map, &p) != 0)
		DIE("map build");
	f->map_len = (uint32_t)aeg_shard_map_encoded_size(f->map);
	free(f->map_enc);
	f->map_enc = malloc(f->map_len);
	if (f->map_enc == NULL || aeg_shard_map_encode(f->map, f->map_enc, f->map_len) < 0)
		DIE("map encode");
}

static uint8_t status_of(enum aeg_kv_status s)
{
	static const uint8_t to[] = {
		[AEG_KV_OK] = AEG_CLIENT_OK, [AEG_KV_NOT_FOUND] = AEG_CLIENT_NOT_FOUND,
		[AEG_KV_VERSION_MISMATCH] = AEG_CLIENT_VERSION_MISMATCH,
		[AEG_KV_TOO_LARGE] = AEG_CLIENT_TOO_LARGE, [AEG_KV_NO_SPACE] = AEG_CLIENT_NO_SPACE,
		[AEG_KV_SESSION_EXPIRED] = AEG_CLIENT_SESSION_EXPIRED, [AEG_KV_MOVED] = AEG_CLIENT_BUSY};
	return to[s];
}

/* One request on (node, worker): the answer in *s (value may point into
 * the kv or the map). */
static void handle(struct fake *f, uint32_t node, uint32_t worker, uint64_t client,
		   const struct aeg_client_req *q, struct aeg_client_resp *s)
{
	*s = (struct aeg_client_resp){.seq = q->seq};
	if (q->op == AEG_CLIENT_MAP) {
		f->maps++;
		s->value = f->map_enc, s->value_len = f->map_len;
		return;
	}
	if (q->op == AEG_CLIENT_PING)
		return;
	if (q->epoch != f->epoch) {
		f->stale++;
		s->status = AEG_CLIENT_STALE_EPOCH;
		return;
	}
	if (q->shard >= FAKE_SHARDS ||
	    (q->op != AEG_CLIENT_SCAN && q->shard != aeg_shard_for_key(f->map, q->key, q->key_len))) {
		f->wrong_shard++;
		s->status = AEG_CLIENT_BAD_REQUEST;
		return;
	}
	if (worker != aeg_shard_worker(q->shard, FAKE_WORKERS))
		f->wrong_worker++;
	bool any = q->consistency == AEG_CLIENT_ONE && (q->op == AEG_CLIENT_GET || q->op == AEG_CLIENT_SCAN);
	if (any)
		f->replica_reads[node]++;
	if (f->leader[q->shard] != node && !any) {
		f->not_leader++;
		s->status = AEG_CLIENT_NOT_LEADER;
		s->leader_hint = f->hint ? f->leader[q->shard] : 0;
		return;
	}
	struct aeg_kv *kv = f->kv[q->shard];
	if (q->op == AEG_CLIENT_SCAN) {
		static struct aeg_kv_item items[AEG_CLIENT_SCAN_LIMIT_MAX];
		static uint8_t buf[1u << 20];
		struct aeg_client_scan_args a;
		if (aeg_client_scan_args_decode(&a, q->value, q->value_len) != 0) {
			s->status = AEG_CLIENT_BAD_REQUEST;
			return;
		}
		uint32_t max = f->scan_limit && f->scan_limit < a.limit ? f->scan_limit : a.limit;
		struct aeg_kv_range r = {.start = q->key, .start_len = q->key_len, .end = a.end, .end_len = a.end_len};
		bool more;
		int n = aeg_kv_scan(kv, &r, items, max, &more);
		struct aeg_client_scan_writer w;
		if (n < 0 || aeg_client_scan_reply_begin(&w, buf, sizeof(buf)) != 0)
			DIE("scan");
		for (int i = 0; i < n; i++) {
			struct aeg_client_scan_item it = {.key = items[i].key, .key_len = items[i].key_len,
				.value = items[i].value, .value_len = items[i].value_len, .version = items[i].version};
			if ((w.count > 0 && w.len + aeg_client_scan_item_size(&it) > a.bytes_max) ||
			    aeg_client_scan_reply_add(&w, &it) != 0) {
				more = true;
				break;
			}
		}
		s->value = buf;
		s->value_len = (uint32_t)aeg_client_scan_reply_finish(&w, more);
		f->scans++;
		return;
	}
	if (q->op == AEG_CLIENT_GET) {
		const uint8_t *v;
		if (aeg_kv_get(kv, q->key, q->key_len, &v, &s->value_len, &s->version) != 0)
			s->status = AEG_CLIENT_NOT_FOUND;
		else
			s->value = v;
		return;
	}
	static uint8_t cmd[(1u << 20) + 4096];
	struct aeg_kv_cmd c = {.op = q->op == AEG_CLIENT_PUT ? AEG_KV_PUT
				     : q->op == AEG_CLIENT_DEL ? AEG_KV_DEL : AEG_KV_CAS,
		.client_id = client, .seq = q->seq, .expect_version = q->expect_version,
		.key = q->key, .key_len = q->key_len, .value = q->value, .value_len = q->value_len};
	int len = aeg_kv_cmd_encode(&c, cmd, sizeof(cmd));
	struct aeg_kv_result res;
	if (len < 0 || aeg_kv_apply(kv, ++f->index[q->shard], cmd, (uint32_t)len, &res) != 0)
		DIE("kv apply");
	if (res.duplicate)
		f->duplicates++;
	else if (res.status == AEG_KV_OK)
		f->applied++;
	s->status = status_of(res.status);
	s->version = res.version;
}

struct out {
	struct fake *f;
	int fd;
	const struct sockaddr_in *to;
	uint64_t client;
	uint8_t buf[FAKE_REPLY_BYTES];
	struct aeg_client_builder b;
	bool drop; /* drop this datagram when it is sent */
};

static void out_send(struct out *o)
{
	if (o->b.open && o->b.count > 0) {
		int len = aeg_client_builder_seal(&o->b, &o->f->key);
		if (!o->drop && sendto(o->fd, o->buf, (size_t)len, 0, (const struct sockaddr *)o->to,
				       sizeof(*o->to)) != len)
			DIE("sendto: %s", strerror(errno));
	}
	o->drop = false;
	if (aeg_client_builder_begin(&o->b, o->buf, sizeof(o->buf), AEG_CLIENT_KIND_RESPONSE,
				     o->client, 0) != 0)
		DIE("begin");
}

static void out_add(struct out *o, const struct aeg_client_resp *s)
{
	int rc = aeg_client_add_response(&o->b, s);
	if (rc == -ENOSPC) {
		out_send(o);
		rc = aeg_client_add_response(&o->b, s);
	}
	if (rc != 0)
		DIE("add_response %d", rc);
}

/* A reply, in parts when it does not fit one datagram. */
static void reply(struct out *o, struct aeg_client_resp *s)
{
	if (aeg_client_resp_size(s) <= sizeof(o->buf) - AEG_CLIENT_DGRAM_BYTES_MIN) {
		out_add(o, s);
		return;
	}
	const uint8_t *value = s->value;
	uint32_t total = s->value_len, L = (uint32_t)aeg_client_resp_part_max(sizeof(o->buf));
	for (uint32_t i = 0; i < aeg_client_part_count(total, L); i++) {
		s->part = aeg_client_part_nth(total, L, i, &s->value_len);
		s->value = value + s->part.offset;
		if ((int)i == o->f->drop_resp_part) {
			o->f->drop_resp_part = -1;
			continue;
		}
		out_add(o, s);
	}
}

static void on_packet(struct fake *f, uint32_t node, uint32_t worker, const uint8_t *pkt,
		      size_t len, const struct sockaddr_in *from)
{
	struct aeg_client_rx rx = {.key = &f->key, .kind = AEG_CLIENT_KIND_REQUEST};
	struct aeg_client_dgram d;
	if (aeg_client_parse(&rx, pkt, len, &d) != AEG_CLIENT_DROP_OK) {
		f->parse_drops++;
		return;
	}
	if (f->dead[node]) {
		f->to_dead[node]++;
		return;
	}
	if (f->drop_requests != 0) {
		f->drop_requests -= f->drop_requests > 0;
		return;
	}
	f->dgrams++;
	f->by_node[node]++;
	static struct out o;
	o = (struct out){.f = f, .fd = f->fd[node][worker], .to = from, .client = d.hdr.client_id};
	out_send(&o);
	struct aeg_client_iter it;
	struct aeg_client_req q;
	aeg_client_iter_init(&it, &d);
	while (aeg_client_next_request(&it, &q) == 1) {
		f->items++;
		if (q.part.count >= 2) {
			if ((int)q.part.index == f->drop_req_part) {
				f->drop_req_part = -1;
				continue;
			}
			struct aeg_client_reasm_done done;
			uint64_t meta = q.op ^ (uint64_t)q.shard << 8 ^ q.epoch << 40;
			if (aeg_client_reasm_add(&f->reasm, d.hdr.client_id, q.seq, meta, &q.part,
						 q.value, q.value_len, 0, &done) != 1)
				continue;
			q.value = done.value, q.value_len = done.len;
			q.part = (struct aeg_client_part){.count = 1, .total = done.len};
		}
		struct aeg_client_resp s;
		handle(f, node, worker, d.hdr.client_id, &q, &s);
		bool write = q.op == AEG_CLIENT_PUT || q.op == AEG_CLIENT_DEL || q.op == AEG_CLIENT_CAS;
		if (write && s.status != AEG_CLIENT_NOT_LEADER && s.status != AEG_CLIENT_STALE_EPOCH &&
		    f->drop_write_replies > 0) {
			f->drop_write_replies--;
			o.drop = true;
		}
		reply(&o, &s);
	}
	out_send(&o);
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	static uint8_t pkt[65536];
	struct pollfd p[FAKE_NODES * FAKE_WORKERS];
	for (uint32_t n = 1; n <= FAKE_NODES; n++)
		for (uint32_t w = 0; w < FAKE_WORKERS; w++)
			p[(n - 1) * FAKE_WORKERS + w] = (struct pollfd){.fd = f->fd[n][w],
									.events = POLLIN};
	while (!f->stop) {
		if (poll(p, FAKE_NODES * FAKE_WORKERS, 5) < 0 && errno != EINTR)
			DIE("poll: %s", strerror(errno));
		for (int i = 0; i < FAKE_NODES * FAKE_WORKERS; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(p[i].fd, pkt, sizeof(pkt), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl);
			if (n < 0)
				continue;
			pthread_mutex_lock(&f->mu);
			on_packet(f, (uint32_t)(i / FAKE_WORKERS + 1), (uint32_t)(i % FAKE_WORKERS),
				  pkt, (size_t)n, &from);
			pthread_mutex_unlock(&f->mu);
		}
	}
	return NULL;
}

void fake_start(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		f->key.bytes[i] = (uint8_t)(0xc0 + i);
	for (uint32_t id = 1; id <= FAKE_NODES; id++)
		bind_node(f, id);
	f->epoch = 1;
	build_map(f);
	for (uint32_t s = 0; s < FAKE_SHARDS; s++) {
		uint32_t n;
		f->leader[s] = aeg_shard_replicas(f->map, s, &n)[0];
		struct aeg_kv_limits lim = {.session_results_max = AEG_CLIENT_SESSION_WINDOW};
		if (aeg_kv_new(&f->kv[s], &lim, NULL) != 0)
			DIE("kv");
	}
	f->hint = true;
	f->drop_req_part = f->drop_resp_part = -1;
	struct aeg_client_reasm_cfg rc = {.slots = 4, .value_bytes_max = 1u << 20,
					  .parts_max = 4096, .timeout_ms = 1000};
	size_t mem = aeg_client_reasm_mem_bytes(&rc);
	f->reasm_mem = aligned_alloc(8, mem);
	if (f->reasm_mem == NULL || aeg_client_reasm_init(&f->reasm, &rc, f->reasm_mem, mem) != 0)
		DIE("reasm");
	if (pthread_create(&f->thread, NULL, serve, f) != 0)
		DIE("pthread_create");
}

void fake_stop(struct fake *f)
{
	f->stop = true;
	pthread_join(f->thread, NULL);
	for (uint32_t n = 1; n <= FAKE_NODES; n++)
		for (uint32_t w = 0; w < FAKE_WORKERS; w++)
			close(f->fd[n][w]);
	for (uint32_t s = 0; s < FAKE_SHARDS; s++)
		aeg_kv_free(f->kv[s]);
	aeg_shard_map_free(f->map);
	free(f->map_enc);
	free(f->reasm_mem);
	pthread_mutex_destroy(&f->mu);
}

void fake_addr(const struct fake *f, uint32_t id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u=127.0.0.1:%u", id, f->base[id]);
}

void fake_set_strategy(struct fake *f, enum aeg_shard_strategy st)
{
	fake_lock(f);
	f->strategy = st;
	f->epoch++;
	build_map(f);
	/* Keys of the old strategy sit in the wrong shards now: start empty. */
	for (uint32_t s = 0; s < FAKE_SHARDS; s++) {
		aeg_kv_free(f->kv[s]);
		struct aeg_kv_limits lim = {.session_results_max = AEG_CLIENT_SESSION_WINDOW};
		if (aeg_kv_new(&f->kv[s], &lim, NULL) != 0)
			DIE("kv");
		f->index[s] = 0;
	}
	fake_unlock(f);
}

void fake_bump_epoch(struct fake *f)
{
	fake_lock(f);
	f->epoch++;
	build_map(f);
	fake_unlock(f);
}

void fake_lock(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
}

void fake_unlock(struct fake *f)
{
	pthread_mutex_unlock(&f->mu);
}
