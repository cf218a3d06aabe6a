/* Client requests on one worker: parse the datagram (client key), route
 * each request (shard, epoch, leadership), stage writes as one Raft
 * proposal per group per iteration, answer at the requested level, and
 * batch the answers per client into datagrams.
 *
 * What each level answers after (DESIGN.md "Consistency"):
 *   write ONE     the leader's own log write is durable (PUT/DEL answer OK
 *                 with version = the entry's index; CAS waits for apply,
 *                 as its outcome needs the state). A leader that fails
 *                 before the entry commits may lose it.
 *   write QUORUM  committed and applied on the leader: survives any
 *                 minority of failures.
 *   write ALL     applied on the leader and durable on every voter.
 *   read ONE      this replica's applied state, leader or not (may be stale).
 *   read QUORUM   linearizable: ReadIndex (or the lease where enabled),
 *                 then served once applied up to the read index.
 *   read ALL      QUORUM, and every voter holds the read index durably:
 *                 the value read is on every replica's disk. */
#define _GNU_SOURCE
#include "replica_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "local_chan.h"
#include "aegis/client_scan.h"
#include "common/key_order.h"

static uint32_t pidx(const struct aeg_replica *rp, const struct rp_pending *p)
{
	return (uint32_t)(p - rp->pend) + 1;
}

static struct rp_pending *pat(struct aeg_replica *rp, uint32_t i)
{
	return i == 0 ? NULL : &rp->pend[i - 1];
}

int rp_client_init(struct aeg_replica *rp)
{
	uint32_t kmax = rp->cfg.kv.key_bytes_max ? rp->cfg.kv.key_bytes_max : AEG_KV_KEY_BYTES_MAX_DEFAULT;
	rp->dgram_cap = rp->cfg.dgram_bytes_max ? rp->cfg.dgram_bytes_max : AEG_CLIENT_DGRAM_BYTES_DEFAULT;
	rp->pend = calloc(RP_PENDING_MAX, sizeof(*rp->pend));
	rp->read_keys = malloc((size_t)RP_READS_MAX * kmax);
	rp->read_free = malloc(RP_READS_MAX * sizeof(uint32_t));
	rp->stage = malloc(RP_STAGE_BYTES);
	rp->staged = calloc(RP_STAGE_ITEMS, sizeof(*rp->staged));
	rp->stage_groups = calloc(rp->groups_max, sizeof(uint32_t));
	rp->payloads = calloc(RP_STAGE_ITEMS, sizeof(*rp->payloads));
	if (rp->pend == NULL || rp->read_keys == NULL || rp->read_free == NULL || rp->stage == NULL ||
	    rp->staged == NULL || rp->stage_groups == NULL || rp->payloads == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < RP_PENDING_MAX; i++)
		rp->pend[i].next = i + 2 <= RP_PENDING_MAX ? i + 2 : 0;
	rp->pend_free = 1;
	for (uint32_t i = 0; i < RP_READS_MAX; i++)
		rp->read_free[i] = RP_READS_MAX - 1 - i;
	rp->n_read_free = RP_READS_MAX;
	uint32_t vmax_scan = rp->cfg.kv.value_bytes_max ? rp->cfg.kv.value_bytes_max : AEG_KV_VALUE_BYTES_MAX_DEFAULT;
	/* One key of the largest size always fits a SCAN reply. */
	rp->scan_reply_cap = AEG_CLIENT_SCAN_HDR_BYTES + 3 * 10 + kmax + vmax_scan;
	rp->scan_ends = malloc((size_t)RP_SCANS_MAX * kmax);
	rp->scan_items = calloc(AEG_CLIENT_SCAN_LIMIT_MAX, sizeof(*rp->scan_items));
	rp->scan_reply = malloc(rp->scan_reply_cap);
	if (rp->scan_ends == NULL || rp->scan_items == NULL || rp->scan_reply == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < RP_SCANS_MAX; i++)
		rp->scan_free[i] = RP_SCANS_MAX - 1 - i;
	rp->n_scan_free = RP_SCANS_MAX;
	for (uint32_t i = 0; i < RP_REPLY_SLOTS; i++) {
		rp->replies[i].buf = malloc(rp->dgram_cap);
		if (rp->replies[i].buf == NULL)
			return -ENOMEM;
	}
	uint32_t vmax = rp->cfg.kv.value_bytes_max ? rp->cfg.kv.value_bytes_max : AEG_KV_VALUE_BYTES_MAX_DEFAULT;
	struct aeg_client_reasm_cfg rc_cfg = {
		.slots = RP_REASM_SLOTS, .value_bytes_max = vmax,
		.parts_max = (uint32_t)(vmax / 512 + 2), .timeout_ms = RP_REQUEST_TIMEOUT_MS,
	};
	size_t rbytes = aeg_client_reasm_mem_bytes(&rc_cfg);
	rp->reasm_mem = rbytes ? aligned_alloc(8, (rbytes + 7) & ~(size_t)7) : NULL;
	if (rp->reasm_mem == NULL || aeg_client_reasm_init(&rp->reasm, &rc_cfg, rp->reasm_mem, rbytes) != 0)
		return -ENOMEM;
	size_t len = aeg_shard_map_encoded_size(rp->cfg.map);
	rp->map_bytes = malloc(len);
	if (rp->map_bytes == NULL)
		return -ENOMEM;
	int rc = aeg_shard_map_encode(rp->cfg.map, rp->map_bytes, len);
	if (rc < 0)
		return rc;
	rp->map_len = (size_t)rc;
	rp->map_own = rp->map_bytes;
	return 0;
}

void rp_client_fini(struct aeg_replica *rp)
{
	free(rp->pend);
	free(rp->read_keys);
	free(rp->read_free);
	free(rp->scan_ends);
	free(rp->scan_items);
	free(rp->scan_reply);
	free(rp->stage);
	free(rp->staged);
	free(rp->stage_groups);
	free(rp->payloads);
	for (uint32_t i = 0; i < RP_REPLY_SLOTS; i++)
		free(rp->replies[i].buf);
	free(rp->map_own);  /* a map the control plane handed over is its own */
	free(rp->reasm_mem);
}

static struct rp_pending *pend_alloc(struct aeg_replica *rp)
{
	struct rp_pending *p = pat(rp, rp->pend_free);
	if (p == NULL)
		return NULL;
	rp->pend_free = p->next;
	memset(p, 0, sizeof(*p));
	rp->n_pend++;
	return p;
}

static void pend_release(struct aeg_replica *rp, struct rp_pending *p)
{
	if (p->kind == RP_READ)
		rp->read_free[rp->n_read_free++] = p->read_slot;
	if (p->scan_slot != 0)
		rp->scan_free[rp->n_scan_free++] = p->scan_slot - 1;
	p->kind = RP_FREE;
	p->next = rp->pend_free;
	rp->pend_free = pidx(rp, p);
	rp->n_pend--;
}

/* ---- answers -------------------------------------------------------------- */

static void reply_send(struct aeg_replica *rp, struct rp_reply *r)
{
	int len = aeg_client_builder_seal(&r->b, rp->cfg.client_key);
	r->open = false;
	if (len < 0 || r->b.count == 0)
		return;
	int rc = r->ipv4 == AEG_LOCAL_IPV4 ? rp_local_reply(rp, r->port, r->buf, (uint32_t)len)
					     : aeg_worker_send_raw(rp->w, r->ipv4, r->port, r->buf, (uint32_t)len);
	if (rc == 0)
		rp->st.client_replies += r->b.count;
}

void rp_replies_flush(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < RP_REPLY_SLOTS; i++)
		if (rp->replies[i].open)
			reply_send(rp, &rp->replies[i]);
}

static struct rp_reply *reply_slot(struct aeg_replica *rp, uint32_t ipv4, uint16_t port, uint64_t client_id)
{
	struct rp_reply *free_slot = NULL;
	for (uint32_t i = 0; i < RP_REPLY_SLOTS; i++) {
		struct rp_reply *r = &rp->replies[i];
		if (r->open && r->ipv4 == ipv4 && r->port == port && r->client_id == client_id)
			return r;
		if (!r->open && free_slot == NULL)
			free_slot = r;
	}
	if (free_slot == NULL) {
		rp_replies_flush(rp);
		free_slot = &rp->replies[0];
	}
	free_slot->open = true;
	free_slot->ipv4 = ipv4;
	free_slot->port = port;
	free_slot->client_id = client_id;
	int rc = aeg_client_builder_begin(&free_slot->b, free_slot->buf, rp->dgram_cap, AEG_CLIENT_KIND_RESPONSE,
					  client_id, 0);
	assert(rc == 0);
	(void)rc;
	return free_slot;
}

/* A value larger than a datagram goes as parts, one datagram each. */
static void reply_parts(struct aeg_replica *rp, uint32_t ipv4, uint16_t port, uint64_t client_id,
			const struct aeg_client_resp *resp)
{
	size_t part_max = aeg_client_resp_part_max(rp->dgram_cap);
	uint32_t count = (uint32_t)((resp->value_len + part_max - 1) / part_max);
	for (uint32_t i = 0; i < count; i++) {
		struct aeg_client_resp p = *resp;
		p.part = (struct aeg_client_part){ .index = i, .count = count, .total = resp->value_len,
						   .offset = (uint32_t)(i * part_max) };
		p.value = resp->value + p.part.offset;
		p.value_len = (uint32_t)(resp->value_len - p.part.offset < part_max ? resp->value_len - p.part.offset
										     : part_max);
		struct rp_reply *r = reply_slot(rp, ipv4, port, client_id);
		if (r->b.count > 0) {
			reply_send(rp, r);
			r = reply_slot(rp, ipv4, port, client_id);
		}
		if (aeg_client_add_response(&r->b, &p) == 0)
			reply_send(rp, r);
	}
}

static void answer(struct aeg_replica *rp, uint32_t ipv4, uint16_t port, uint64_t client_id,
		   const struct aeg_client_resp *resp)
{
	struct rp_reply *r = reply_slot(rp, ipv4, port, client_id);
	int rc = aeg_client_add_response(&r->b, resp);
	if (rc == -ENOSPC) {
		reply_send(rp, r);
		r = reply_slot(rp, ipv4, port, client_id);
		rc = aeg_client_add_response(&r->b, resp);
	}
	if (rc == -EMSGSIZE || rc == -ENOSPC)
		reply_parts(rp, ipv4, port, client_id, resp);
}

static void answer_status(struct aeg_replica *rp, uint32_t ipv4, uint16_t port, uint64_t client_id,
			  uint64_t seq, uint8_t status, uint32_t hint)
{
	struct aeg_client_resp resp = { .seq = seq, .status = status, .leader_hint = hint };
	if (status == AEG_CLIENT_NOT_LEADER)
		rp->st.redirects++;
	if (status == AEG_CLIENT_BUSY)
		rp->st.busy++;
	answer(rp, ipv4, port, client_id, &resp);
}

static uint8_t status_of_kv(enum aeg_kv_status s)
{
	switch (s) {
	case AEG_KV_OK: return AEG_CLIENT_OK;
	case AEG_KV_NOT_FOUND: return AEG_CLIENT_NOT_FOUND;
	case AEG_KV_VERSION_MISMATCH: return AEG_CLIENT_VERSION_MISMATCH;
	case AEG_KV_TOO_LARGE: return AEG_CLIENT_TOO_LARGE;
	case AEG_KV_NO_SPACE: return AEG_CLIENT_NO_SPACE;
	case AEG_KV_SESSION_EXPIRED: return AEG_CLIENT_SESSION_EXPIRED;
	case AEG_KV_MOVED: return AEG_CLIENT_BUSY;  /* a split moves the key: retry, then the new map */
	}
	return AEG_CLIENT_UNAVAILABLE;
}

static void answer_write(struct aeg_replica *rp, struct rp_pending *p, uint8_t status, uint64_t version)
{
	struct aeg_client_resp resp = { .seq = p->seq, .status = status, .version = version };
	answer(rp, p->ipv4, p->port, p->client_id, &resp);
	if (status == AEG_CLIENT_BUSY)
		rp->st.busy++;  /* MOVED: fenced by a split */
	if (status == AEG_CLIENT_OK) {
		rp->st.writes_ok++;
		rp->st.write_ns += rp->now_ns - p->born_ns;
	}
	p->replied = true;
}

static void serve_get(struct aeg_replica *rp, struct rp_shard *s, uint32_t ipv4, uint16_t port,
		      uint64_t client_id, uint64_t seq, const uint8_t *key, uint32_t key_len)
{
	struct aeg_client_resp resp = { .seq = seq };
	const uint8_t *v = NULL;
	uint32_t vlen = 0;
	if (aeg_kv_get(s->kv, key, key_len, &v, &vlen, &resp.version) == 0) {
		resp.value = v;
		resp.value_len = vlen;
		rp->st.reads_ok++;
	} else if (rp_split_fenced(rp, s, key, key_len, NULL, 0, true)) {
		/* Fenced by a split: the key may have moved (and been dropped
		 * here); the client retries, then with the new map. */
		answer_status(rp, ipv4, port, client_id, seq, AEG_CLIENT_BUSY, 0);
		return;
	} else {
		resp.status = AEG_CLIENT_NOT_FOUND;
	}
	answer(rp, ipv4, port, client_id, &resp);
}

/* A range read of the shard as this replica has applied it: the smallest
 * keys of [start, end), up to limit of them and (past the first) bytes_max
 * bytes of reply. Walks the whole shard (lib/kv is a hash table). */
static void serve_scan(struct aeg_replica *rp, struct rp_shard *s, uint32_t ipv4, uint16_t port,
		       uint64_t client_id, uint64_t seq, const uint8_t *start, uint32_t start_len,
		       const uint8_t *end, const struct rp_scan_args *a)
{
	struct aeg_kv_range r = { .start = start, .start_len = start_len, .end = end, .end_len = a->end_len };
	/* Not past the shard's range (a split's keys may still be here), and
	 * BUSY where the range still reaches a split's fence. */
	uint32_t k = aeg_shard_map_range_index(rp->cfg.map, s->shard);
	struct aeg_shard_range sr;
	const void *hi;
	uint32_t hi_len;
	if (k != UINT32_MAX && aeg_shard_map_range(rp->cfg.map, k, &sr, &hi, &hi_len) == 0 && hi != NULL &&
	    (r.end_len == 0 || aeg_key_cmp(r.end, r.end_len, hi, hi_len) > 0)) {
		r.end = hi;
		r.end_len = hi_len;
	}
	if (rp_split_fenced(rp, s, r.start, r.start_len, r.end, r.end_len, false)) {
		answer_status(rp, ipv4, port, client_id, seq, AEG_CLIENT_BUSY, 0);
		return;
	}
	bool more = false;
	int n = aeg_kv_scan(s->kv, &r, rp->scan_items, a->limit, &more);
	assert(n >= 0);
	struct aeg_client_scan_writer w;
	int rc = aeg_client_scan_reply_begin(&w, rp->scan_reply, rp->scan_reply_cap);
	assert(rc == 0);
	(void)rc;
	for (int i = 0; i < n; i++) {
		const struct aeg_kv_item *k = &rp->scan_items[i];
		struct aeg_client_scan_item it = { .key = k->key, .key_len = k->key_len, .value = k->value,
						   .value_len = k->value_len, .version = k->version };
		if ((w.count > 0 && w.len + aeg_client_scan_item_size(&it) > a->bytes_max) ||
		    aeg_client_scan_reply_add(&w, &it) != 0) {
			more = true;
			break;
		}
	}
	struct aeg_client_resp resp = { .seq = seq, .version = aeg_kv_applied(s->kv), .value = rp->scan_reply };
	resp.value_len = (uint32_t)aeg_client_scan_reply_finish(&w, more);
	rp->st.scans++;
	rp->st.scan_keys += w.count;
	answer(rp, ipv4, port, client_id, &resp);
}

static void serve_read(struct aeg_replica *rp, struct rp_shard *s, const struct rp_pending *p)
{
	uint32_t kmax = rp->cfg.kv.key_bytes_max ? rp->cfg.kv.key_bytes_max : AEG_KV_KEY_BYTES_MAX_DEFAULT;
	const uint8_t *key = rp->read_keys + (size_t)p->read_slot * kmax;
	if (p->op == AEG_CLIENT_SCAN) {
		uint32_t slot = p->scan_slot - 1;
		serve_scan(rp, s, p->ipv4, p->port, p->client_id, p->seq, key, p->key_len,
			   rp->scan_ends + (size_t)slot * kmax, &rp->scans[slot]);
		return;
	}
	serve_get(rp, s, p->ipv4, p->port, p->client_id, p->seq, key, p->key_len);
}

/* ---- requests ------------------------------------------------------------- */

/* For a shard without a replica here: the leader when ours left, else the
 * map's first replica that is not us. */
static uint32_t leader_hint(struct aeg_replica *rp, uint32_t shard)
{
	uint32_t hint = rp_moved_hint(rp, shard);
	if (hint != 0)
		return hint;
	uint32_t n = 0;
	const uint32_t *reps = aeg_shard_replicas(rp->cfg.map, shard, &n);
	for (uint32_t i = 0; i < n; i++)
		if (reps[i] != rp->cfg.node)
			return reps[i];
	return 0;
}

static void stage_write(struct aeg_replica *rp, struct rp_shard *s, uint32_t ipv4, uint16_t port,
			uint64_t client_id, uint64_t seq_floor, const struct aeg_client_req *req,
			uint8_t level)
{
	static const uint8_t kv_op[] = { [AEG_CLIENT_PUT] = AEG_KV_PUT, [AEG_CLIENT_DEL] = AEG_KV_DEL,
					 [AEG_CLIENT_CAS] = AEG_KV_CAS };
	struct aeg_kv_cmd cmd = {
		.op = kv_op[req->op], .client_id = client_id, .seq = req->seq, .seq_floor = seq_floor,
		.expect_version = req->op == AEG_CLIENT_CAS ? req->expect_version : 0, .time_ms = rp->wall_ms,
		.key = req->key, .key_len = req->key_len, .value = req->value, .value_len = req->value_len,
	};
	size_t need = aeg_kv_cmd_size(&cmd);
	if (rp->n_staged == RP_STAGE_ITEMS || rp->stage_len + need > RP_STAGE_BYTES)
		rp_propose_staged(rp);
	struct rp_pending *p = need <= RP_STAGE_BYTES ? pend_alloc(rp) : NULL;
	if (p == NULL) {
		answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_BUSY, 0);
		return;
	}
	int len = aeg_kv_cmd_encode(&cmd, rp->stage + rp->stage_len, need);
	assert(len == (int)need);
	*p = (struct rp_pending){ .kind = RP_WRITE, .op = req->op, .level = level, .group = s->group,
				  .ipv4 = ipv4, .port = port, .client_id = client_id, .seq = req->seq,
				  .born_ms = rp->now_ms, .born_ns = rp->now_ns };
	struct rp_staged *it = &rp->staged[rp->n_staged];
	*it = (struct rp_staged){ .off = rp->stage_len, .len = (uint32_t)len, .pending = pidx(rp, p) };
	rp->stage_len += (uint32_t)len;
	if (s->staged_first == 0) {
		s->staged_first = rp->n_staged + 1;
		rp->stage_groups[rp->n_stage_groups++] = s->group;
	} else {
		rp->staged[s->staged_last - 1].next = rp->n_staged + 1;
	}
	s->staged_last = rp->n_staged + 1;
	rp->n_staged++;
}

static void start_read(struct aeg_replica *rp, struct rp_shard *s, uint32_t ipv4, uint16_t port,
		       uint64_t client_id, const struct aeg_client_req *req, uint8_t level,
		       const struct aeg_client_scan_args *scan)
{
	uint32_t kmax = rp->cfg.kv.key_bytes_max ? rp->cfg.kv.key_bytes_max : AEG_KV_KEY_BYTES_MAX_DEFAULT;
	bool room = rp->n_read_free > 0 && (scan == NULL || rp->n_scan_free > 0);
	struct rp_pending *p = room ? pend_alloc(rp) : NULL;
	if (p == NULL) {
		answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_BUSY, 0);
		return;
	}
	uint32_t slot = rp->read_free[--rp->n_read_free];
	*p = (struct rp_pending){ .kind = RP_READ, .op = req->op, .level = level, .group = s->group,
				  .ipv4 = ipv4, .port = port, .client_id = client_id, .seq = req->seq,
				  .born_ms = rp->now_ms, .read_slot = slot, .key_len = req->key_len };
	if (req->key_len != 0)
		memcpy(rp->read_keys + (size_t)slot * kmax, req->key, req->key_len);
	if (scan != NULL) {
		uint32_t ss = rp->scan_free[--rp->n_scan_free];
		p->scan_slot = ss + 1;
		rp->scans[ss] = (struct rp_scan_args){ .end_len = scan->end_len, .limit = scan->limit,
						       .bytes_max = scan->bytes_max };
		if (scan->end_len != 0)
			memcpy(rp->scan_ends + (size_t)ss * kmax, scan->end, scan->end_len);
	}
	p->read_ctx = (++rp->read_gen << 24) | pidx(rp, p);
	int rc = aeg_gd_read_index(rp->gd, s->group, p->read_ctx);
	if (rc != 0) {
		uint8_t st = rc == -EAGAIN ? AEG_CLIENT_UNAVAILABLE : rc == -ENOBUFS ? AEG_CLIENT_BUSY
											: AEG_CLIENT_NOT_LEADER;
		answer_status(rp, ipv4, port, client_id, req->seq, st, leader_hint(rp, s->shard));
		pend_release(rp, p);
	}
}

/* seq_floor: the datagram header's (the kv forgets the client's results
 * below it, at the same index on every replica). */
static void handle_request(struct aeg_replica *rp, uint32_t ipv4, uint16_t port, uint64_t client_id,
			   uint64_t seq_floor, const struct aeg_client_req *req)
{
	rp->st.client_reqs++;
	uint8_t bad = aeg_client_req_check(req);
	if (bad != AEG_CLIENT_OK || req->op == AEG_CLIENT_PING) {
		answer_status(rp, ipv4, port, client_id, req->seq, bad, 0);
		return;
	}
	if (req->op == AEG_CLIENT_MAP) {
		struct aeg_client_resp resp = { .seq = req->seq, .value = rp->map_bytes,
						.value_len = (uint32_t)rp->map_len };
		answer(rp, ipv4, port, client_id, &resp);
		return;
	}
	const struct aeg_shard_map *m = rp->cfg.map;
	/* A client behind our map learns the new one; one ahead of us (our
	 * node has not applied the records yet) is served: placement decides
	 * where a request goes, Raft whether it is right. */
	if (req->epoch < aeg_shard_map_epoch(m) || req->shard >= aeg_shard_map_shard_count(m)) {
		answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_STALE_EPOCH, 0);
		return;
	}
	struct aeg_client_req whole;
	if (req->part.count > 1) {
		/* One part of a value larger than a datagram: the request goes on
		 * once every part is here; a lost part makes the client resend. */
		struct aeg_client_reasm_done done;
		int rc = aeg_client_reasm_add(&rp->reasm, client_id, req->seq, 0, &req->part, req->value,
					      req->value_len, rp->now_ms, &done);
		if (rc == 0 || rc == -EEXIST)
			return;
		if (rc < 0) {
			answer_status(rp, ipv4, port, client_id, req->seq,
				      rc == -EMSGSIZE || rc == -E2BIG ? AEG_CLIENT_TOO_LARGE : AEG_CLIENT_BAD_REQUEST, 0);
			return;
		}
		whole = *req;
		whole.value = done.value;
		whole.value_len = done.len;
		whole.part = (struct aeg_client_part){ .index = 0, .count = 1, .total = done.len };
		req = &whole;
	}
	struct rp_shard *s = rp_shard_of(rp, aeg_shard_group(req->shard));
	if (s == NULL) {
		answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_NOT_LEADER,
			      leader_hint(rp, req->shard));
		return;
	}
	uint8_t level = req->consistency != AEG_CLIENT_DEFAULT ? req->consistency : rp->cfg.consistency_default;
	uint32_t kmax = rp->cfg.kv.key_bytes_max ? rp->cfg.kv.key_bytes_max : AEG_KV_KEY_BYTES_MAX_DEFAULT;
	struct aeg_client_scan_args scan;
	if (req->op == AEG_CLIENT_SCAN) {
		if (aeg_client_scan_args_decode(&scan, req->value, req->value_len) != 0) {
			answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_BAD_REQUEST, 0);
			return;
		}
		if (req->key_len > kmax || scan.end_len > kmax) {
			answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_TOO_LARGE, 0);
			return;
		}
		if (level == AEG_CLIENT_ONE) {
			/* Any replica answers a ONE scan from what it has applied. */
			struct rp_scan_args a = { .end_len = scan.end_len, .limit = scan.limit,
						  .bytes_max = scan.bytes_max };
			serve_scan(rp, s, ipv4, port, client_id, req->seq, req->key, req->key_len, scan.end, &a);
			return;
		}
	}
	if (req->op == AEG_CLIENT_GET && level == AEG_CLIENT_ONE) {
		serve_get(rp, s, ipv4, port, client_id, req->seq, req->key, req->key_len);
		return;
	}
	struct aeg_raft_status rs;
	aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
	if (rs.role != AEG_RAFT_LEADER) {
		if (rp->debug)
			rp_log(rp, "group %u: not leader (role %d, lead %u, term %llu, quiet %d)", s->group, rs.role,
			       rs.lead, (unsigned long long)rs.term, aeg_raft_quiescent(aeg_gd_raft(rp->gd, s->group)));
		answer_status(rp, ipv4, port, client_id, req->seq,
			      rs.lead != 0 ? AEG_CLIENT_NOT_LEADER : AEG_CLIENT_UNAVAILABLE, rs.lead);
		return;
	}
	uint32_t vmax = rp->cfg.kv.value_bytes_max ? rp->cfg.kv.value_bytes_max : AEG_KV_VALUE_BYTES_MAX_DEFAULT;
	if (req->key_len > kmax || req->value_len > vmax) {
		answer_status(rp, ipv4, port, client_id, req->seq, AEG_CLIENT_TOO_LARGE, 0);
		return;
	}
	if (req->op == AEG_CLIENT_GET || req->op == AEG_CLIENT_SCAN)
		start_read(rp, s, ipv4, port, client_id, req, level, req->op == AEG_CLIENT_SCAN ? &scan : NULL);
	else
		stage_write(rp, s, ipv4, port, client_id, seq_floor, req, level);
}

void rp_client_datagram(struct aeg_replica *rp, const struct aeg_pkt *pkt)
{
	struct aeg_client_rx rx = { .key = rp->cfg.client_key, .kind = AEG_CLIENT_KIND_REQUEST };
	struct aeg_client_dgram d;
	if (aeg_client_parse(&rx, pkt->data, pkt->len, &d) != AEG_CLIENT_DROP_OK) {
		rp->st.client_drops++;
		return;
	}
	rp->st.client_dgrams++;
	struct aeg_client_iter it;
	aeg_client_iter_init(&it, &d);
	struct aeg_client_req req;
	for (uint32_t guard = 0; guard <= AEG_CLIENT_ITEMS_MAX && aeg_client_next_request(&it, &req) == 1; guard++)
		handle_request(rp, pkt->ipv4, pkt->udp_port, d.hdr.client_id, d.hdr.seq_floor, &req);
}

/* ---- proposals and their outcomes ------------------------------------------ */

static void propose_group(struct aeg_replica *rp, struct rp_shard *s)
{
	uint32_t items[256];
	uint32_t item = s->staged_first;
	while (item != 0) {
		uint32_t n = 0;
		for (; item != 0 && n < 256; item = rp->staged[item - 1].next) {
			const struct rp_staged *st = &rp->staged[item - 1];
			rp->payloads[n] = (struct aeg_raft_payload){ .data = rp->stage + st->off, .len = st->len };
			items[n++] = item;
		}
		uint64_t first = 0;
		int rc = aeg_gd_propose(rp->gd, s->group, rp->payloads, n, &first);
		if (rc == -ENOBUFS) {
			/* The window is full: what is applied may go now rather
			 * than at the next compaction (every window / 4 applied). */
			rp->st.log_full++;
			(void)rp_compact(rp, s);
			rc = aeg_gd_propose(rp->gd, s->group, rp->payloads, n, &first);
		}
		struct aeg_raft_status rs;
		aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
		if (rc != 0 && rp->debug)
			rp_log(rp, "group %u: propose of %u: %s (role %d, lead %u)", s->group, n, strerror(-rc), rs.role,
			       rs.lead);
		for (uint32_t i = 0; i < n; i++) {
			struct rp_pending *p = pat(rp, rp->staged[items[i] - 1].pending);
			if (rc != 0) {
				uint8_t st = rc == -EPERM ? AEG_CLIENT_NOT_LEADER
					     : rc == -EMSGSIZE ? AEG_CLIENT_TOO_LARGE : AEG_CLIENT_BUSY;
				answer_status(rp, p->ipv4, p->port, p->client_id, p->seq, st, rs.lead);
				pend_release(rp, p);
				continue;
			}
			p->index = first + i;
			p->term = rs.term;
			p->next = 0;
			if (s->pend_tail != 0)
				pat(rp, s->pend_tail)->next = pidx(rp, p);
			else
				s->pend_head = pidx(rp, p);
			s->pend_tail = pidx(rp, p);
			s->n_pending++;
			if (p->level == AEG_CLIENT_ONE && p->op != AEG_CLIENT_CAS) {
				s->n_one++;
				rp_work(rp, s);
			}
		}
	}
	s->staged_first = 0;
	s->staged_last = 0;
}

void rp_propose_staged(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < rp->n_stage_groups; i++)
		propose_group(rp, rp_shard_of(rp, rp->stage_groups[i]));
	rp->n_stage_groups = 0;
	rp->n_staged = 0;
	rp->stage_len = 0;
}

static struct rp_pending *pend_pop(struct aeg_replica *rp, struct rp_shard *s)
{
	struct rp_pending *p = pat(rp, s->pend_head);
	s->pend_head = p->next;
	if (s->pend_head == 0)
		s->pend_tail = 0;
	s->n_pending--;
	p->next = 0;
	return p;
}

void rp_client_applied(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_raft_entry *e,
		       const struct aeg_kv_result *res)
{
	for (struct rp_pending *p = pat(rp, s->pend_head); p != NULL && p->index <= e->index;
	     p = pat(rp, s->pend_head)) {
		pend_pop(rp, s);
		bool ours = p->index == e->index && p->term == e->term && res != NULL;
		if (!ours) {
			if (rp->debug)
				rp_log(rp, "group %u: pending index %llu term %llu vs applied %llu term %llu res %d",
				       s->group, (unsigned long long)p->index, (unsigned long long)p->term,
				       (unsigned long long)e->index, (unsigned long long)e->term, res != NULL);
			/* Another leader's entry took its place: the client retries. */
			if (!p->replied)
				answer_write(rp, p, AEG_CLIENT_UNAVAILABLE, 0);
			pend_release(rp, p);
			continue;
		}
		p->applied = true;
		p->res = *res;
		if (p->level == AEG_CLIENT_ALL && !p->replied && res->status == AEG_KV_OK) {
			p->next = rp->wait_all;
			rp->wait_all = pidx(rp, p);
			continue;
		}
		if (!p->replied)
			answer_write(rp, p, status_of_kv(res->status), res->version);
		pend_release(rp, p);
	}
}

void rp_client_read_ready(struct aeg_replica *rp, uint32_t group, uint64_t ctx, uint64_t index)
{
	uint32_t i = (uint32_t)(ctx & 0xffffffu);
	struct rp_pending *p = i <= RP_PENDING_MAX ? pat(rp, i) : NULL;
	if (p == NULL || p->kind != RP_READ || p->read_ctx != ctx || p->group != group)
		return;  /* timed out meanwhile */
	p->read_ready = true;
	p->index = index;
	p->next = rp->ready_reads;
	rp->ready_reads = pidx(rp, p);
}

/* Every voter of the group has index durable (its match index). */
static bool all_voters_have(struct aeg_replica *rp, uint32_t group, uint64_t index)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, group);
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(r, &conf);
	for (uint32_t i = 0; i < conf.n; i++) {
		if (!(conf.roles[i] & (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT)))
			continue;
		const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, conf.ids[i]);
		if (pr == NULL || pr->match < index)
			return false;
	}
	return true;
}

bool rp_client_check_one(struct aeg_replica *rp, struct rp_shard *s)
{
	struct aeg_raft_status rs;
	aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
	uint32_t left = 0;
	for (struct rp_pending *p = pat(rp, s->pend_head); p != NULL; p = pat(rp, p->next)) {
		if (p->replied || p->level != AEG_CLIENT_ONE || p->op == AEG_CLIENT_CAS)
			continue;
		if (p->index <= rs.persisted && p->term == rs.term)
			answer_write(rp, p, AEG_CLIENT_OK, p->index);
		else
			left++;
	}
	s->n_one = left;
	return left > 0;
}

static void check_lists(struct aeg_replica *rp)
{
	uint32_t *link = &rp->wait_all;
	while (*link != 0) {
		struct rp_pending *p = pat(rp, *link);
		bool timed_out = rp->now_ms - p->born_ms > RP_REQUEST_TIMEOUT_MS;
		if (!timed_out && !all_voters_have(rp, p->group, p->index)) {
			link = &p->next;
			continue;
		}
		*link = p->next;
		answer_write(rp, p, timed_out ? AEG_CLIENT_TIMEOUT : status_of_kv(p->res.status), p->res.version);
		pend_release(rp, p);
	}
	link = &rp->ready_reads;
	while (*link != 0) {
		struct rp_pending *p = pat(rp, *link);
		struct rp_shard *s = rp_shard_of(rp, p->group);
		bool ok = aeg_kv_applied(s->kv) >= p->index &&
			  (p->level != AEG_CLIENT_ALL || all_voters_have(rp, p->group, p->index));
		if (!ok) {
			link = &p->next;
			continue;
		}
		*link = p->next;
		serve_read(rp, s, p);
		pend_release(rp, p);
	}
}

/* Reads whose read index never came (leadership lost), writes never
 * applied: answered TIMEOUT; a write stays tracked until its index is
 * applied (or replaced), so its record is not reused early. */
static void sweep(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < RP_PENDING_MAX; i++) {
		struct rp_pending *p = &rp->pend[i];
		if (p->kind == RP_FREE || p->replied || rp->now_ms - p->born_ms <= RP_REQUEST_TIMEOUT_MS)
			continue;
		if (p->kind == RP_READ && !p->read_ready) {
			answer_status(rp, p->ipv4, p->port, p->client_id, p->seq, AEG_CLIENT_TIMEOUT, 0);
			pend_release(rp, p);
		} else if (p->kind == RP_WRITE && !p->applied) {
			answer_write(rp, p, AEG_CLIENT_TIMEOUT, 0);
		}
	}
}

void rp_client_drop_group(struct aeg_replica *rp, struct rp_shard *s, uint32_t hint)
{
	uint32_t *lists[] = { &rp->wait_all, &rp->ready_reads };
	for (uint32_t k = 0; k < 2; k++) {
		uint32_t *link = lists[k];
		while (*link != 0) {
			struct rp_pending *p = pat(rp, *link);
			if (p->group != s->group) {
				link = &p->next;
				continue;
			}
			*link = p->next;
			if (!p->replied)
				answer_status(rp, p->ipv4, p->port, p->client_id, p->seq, AEG_CLIENT_NOT_LEADER, hint);
			pend_release(rp, p);
		}
	}
	while (s->pend_head != 0) {
		struct rp_pending *p = pend_pop(rp, s);
		if (!p->replied)
			answer_status(rp, p->ipv4, p->port, p->client_id, p->seq, AEG_CLIENT_NOT_LEADER, hint);
		pend_release(rp, p);
	}
	/* Reads still waiting for their read index are on no list. */
	for (uint32_t i = 0; i < RP_PENDING_MAX; i++) {
		struct rp_pending *p = &rp->pend[i];
		if (p->kind == RP_READ && p->group == s->group) {
			if (!p->replied)
				answer_status(rp, p->ipv4, p->port, p->client_id, p->seq, AEG_CLIENT_NOT_LEADER, hint);
			pend_release(rp, p);
		}
	}
	s->n_one = 0;
}

void rp_client_check(struct aeg_replica *rp)
{
	check_lists(rp);
	if (rp->now_ms - rp->last_sweep_ms >= 100) {
		rp->last_sweep_ms = rp->now_ms;
		sweep(rp);
		(void)aeg_client_reasm_expire(&rp->reasm, rp->now_ms);
	}
}
