/* Scatter reads (aeg_client_scan): one SCAN per shard the range touches,
 * all in flight at once through the client's own pipeline, the replies
 * merged by lib/proto's aeg_client_scan_merge. Allocates per page only
 * when a page needs more room than the last one. */
#include "client_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/client_scan.h"
#include "common/key_order.h"

#define SCAN_LIMIT_DEFAULT 1000u
#define SCAN_SHARD_BYTES_DEFAULT (256u << 10)

struct scan_priv {
	uint32_t shards_cap;
	uint32_t *shard_ids;
	struct aeg_client_op *ops;
	uint8_t **bufs;
	uint32_t *buf_caps;
	struct aeg_client_scan_cursor *cur;
	uint32_t *heap;
	uint32_t items_cap;
	struct aeg_client_scan_item *merged;
	struct aeg_client_kv *items;
	uint8_t *args, *start, *next;
	uint32_t args_cap, start_cap, next_cap;
	uint32_t pending;
};

/* realloc that keeps *p on failure. */
static int grow(void **p, size_t n)
{
	void *q = realloc(*p, n ? n : 1);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	return 0;
}

static int reserve_shards(struct scan_priv *sp, uint32_t n)
{
	if (n <= sp->shards_cap)
		return 0;
	if (grow((void **)&sp->shard_ids, n * sizeof(*sp->shard_ids)) || grow((void **)&sp->ops, n * sizeof(*sp->ops)) ||
	    grow((void **)&sp->bufs, n * sizeof(*sp->bufs)) || grow((void **)&sp->buf_caps, n * sizeof(*sp->buf_caps)) ||
	    grow((void **)&sp->cur, n * sizeof(*sp->cur)) || grow((void **)&sp->heap, n * sizeof(*sp->heap)))
		return -ENOMEM;
	for (uint32_t i = sp->shards_cap; i < n; i++) {
		sp->bufs[i] = NULL;
		sp->buf_caps[i] = 0;
	}
	sp->shards_cap = n;
	return 0;
}

/* The shards [start, end) touches: every one with hash sharding (and the
 * others), the ranges it meets with range sharding (spare shards none). */
static uint32_t pick_shards(const struct aeg_shard_map *m, const struct aeg_client_scan *s, uint32_t *ids)
{
	uint32_t n = 0, ranges = aeg_shard_map_range_count(m);
	if (ranges == 0) {
		for (uint32_t i = 0; i < aeg_shard_map_shard_count(m); i++)
			ids[n++] = i;
		return n;
	}
	for (uint32_t k = 0; k < ranges; k++) {
		struct aeg_shard_range r;
		const void *hi;
		uint32_t hi_len;
		(void)aeg_shard_map_range(m, k, &r, &hi, &hi_len);
		if (s->end_len != 0 && r.lo_len != 0 && aeg_key_cmp(r.lo, r.lo_len, s->end, s->end_len) >= 0)
			continue; /* starts at or past the end */
		if (hi != NULL && aeg_key_cmp(hi, hi_len, s->start, s->start_len) <= 0)
			continue; /* ends at or before the start */
		ids[n++] = r.shard;
	}
	return n;
}

static void scan_done(struct aeg_client_op *op)
{
	struct scan_priv *sp = op->user;
	assert(sp->pending > 0);
	sp->pending--;
}

static int submit(struct aeg_client *c, struct aeg_client_op *op)
{
	int rc;
	while ((rc = aeg_client_submit(c, op)) == -EAGAIN)
		if ((rc = aeg_client_poll(c, -1)) < 0)
			return rc;
	return rc;
}

/* Sends every shard's SCAN and waits for all of them; a reply larger than
 * its buffer (one big key) is asked again with the room it said it needs. */
static int ask_all(struct aeg_client *c, struct aeg_client_scan *s, struct scan_priv *sp, uint32_t n,
		   uint32_t args_len)
{
	for (int round = 0; round < 2; round++) {
		sp->pending = 0;
		for (uint32_t i = 0; i < n; i++) {
			struct aeg_client_op *op = &sp->ops[i];
			if (round == 1 && op->status != -ENOBUFS)
				continue;
			uint32_t need = round == 0 ? s->shard_bytes + 4096 : op->value_len;
			if (need > sp->buf_caps[i]) {
				if (grow((void **)&sp->bufs[i], need))
					return -ENOMEM;
				sp->buf_caps[i] = need;
			}
			*op = (struct aeg_client_op){ .op = AEG_CLIENT_SCAN, .consistency = s->consistency,
						      .key = sp->start, .key_len = s->start_len, .value = sp->args,
						      .value_len = args_len, .buf = sp->bufs[i],
						      .buf_cap = sp->buf_caps[i], .shard = sp->shard_ids[i],
						      .done = scan_done, .user = sp };
			int rc = submit(c, op);
			if (rc != 0) {
				while (sp->pending > 0 && aeg_client_poll(c, -1) >= 0)
					;
				return rc;
			}
			sp->pending++;
		}
		while (sp->pending > 0) {
			int rc = aeg_client_poll(c, -1);
			if (rc < 0)
				return rc;
		}
		bool again = false;
		for (uint32_t i = 0; i < n; i++)
			again |= sp->ops[i].status == -ENOBUFS;
		if (!again)
			break;
	}
	for (uint32_t i = 0; i < n; i++)
		if (sp->ops[i].status != AEG_CLIENT_OK)
			return sp->ops[i].status;
	return AEG_CLIENT_OK;
}

static int merge(struct aeg_client_scan *s, struct scan_priv *sp, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (aeg_client_scan_reply_open(&sp->cur[i].r, sp->bufs[i], sp->ops[i].value_len) != 0)
			return -EBADMSG;
	bool more = false;
	int got = aeg_client_scan_merge(sp->cur, n, sp->heap, sp->merged, s->limit, &more);
	if (got < 0)
		return -EBADMSG;
	for (int i = 0; i < got; i++) {
		const struct aeg_client_scan_item *it = &sp->merged[i];
		sp->items[i] = (struct aeg_client_kv){ .key = it->key, .key_len = it->key_len, .value = it->value,
						       .value_len = it->value_len, .version = it->version };
	}
	s->items = sp->items;
	s->n = (uint32_t)got;
	s->more = more;
	s->next = NULL;
	s->next_len = 0;
	if (more && got > 0) {
		const struct aeg_client_scan_item *last = &sp->merged[got - 1];
		if (last->key_len + 1 > sp->next_cap) {
			if (grow((void **)&sp->next, last->key_len + 1))
				return -ENOMEM;
			sp->next_cap = last->key_len + 1;
		}
		memcpy(sp->next, last->key, last->key_len);
		sp->next[last->key_len] = 0;
		s->next = sp->next;
		s->next_len = last->key_len + 1;
	}
	return AEG_CLIENT_OK;
}

int aeg_client_scan(struct aeg_client *c, struct aeg_client_scan *s)
{
	if (s->limit == 0)
		s->limit = SCAN_LIMIT_DEFAULT;
	if (s->shard_bytes == 0)
		s->shard_bytes = SCAN_SHARD_BYTES_DEFAULT;
	if (s->limit > AEG_CLIENT_SCAN_LIMIT_MAX || s->shard_bytes < AEG_CLIENT_SCAN_BYTES_MIN ||
	    s->shard_bytes > c->cfg.value_bytes_max || s->consistency > AEG_CLIENT_CONSISTENCY_MAX ||
	    (s->start_len != 0 && s->start == NULL) || (s->end_len != 0 && s->end == NULL))
		return -EINVAL;
	s->items = NULL;
	s->n = 0;
	s->more = false;
	/* Route with a map: open fetched one; wait out a refetch. */
	while (c->map == NULL)
		if (aeg_client_poll(c, -1) < 0)
			return -EIO;
	struct scan_priv *sp = s->priv;
	if (sp == NULL) {
		sp = calloc(1, sizeof(*sp));
		if (sp == NULL)
			return -ENOMEM;
		s->priv = sp;
	}
	uint32_t count = aeg_shard_map_shard_count(c->map);
	if (reserve_shards(sp, count))
		return -ENOMEM;
	if (s->limit > sp->items_cap) {
		if (grow((void **)&sp->merged, s->limit * sizeof(*sp->merged)) ||
		    grow((void **)&sp->items, s->limit * sizeof(*sp->items)))
			return -ENOMEM;
		sp->items_cap = s->limit;
	}
	/* The start may be the last page's next: copy it before anything is reused. */
	if (s->start_len > sp->start_cap) {
		if (grow((void **)&sp->start, s->start_len))
			return -ENOMEM;
		sp->start_cap = s->start_len;
	}
	if (s->start_len != 0)
		memmove(sp->start, s->start, s->start_len);
	struct aeg_client_scan_args a = { .limit = s->limit, .bytes_max = s->shard_bytes, .end = s->end,
					  .end_len = s->end_len };
	size_t alen = aeg_client_scan_args_size(&a);
	if (alen > sp->args_cap) {
		if (grow((void **)&sp->args, alen))
			return -ENOMEM;
		sp->args_cap = (uint32_t)alen;
	}
	int rc = aeg_client_scan_args_encode(&a, sp->args, sp->args_cap);
	if (rc < 0)
		return rc;
	struct aeg_client_scan range = *s;
	range.start = sp->start;
	uint32_t n = pick_shards(c->map, &range, sp->shard_ids);
	s->shards = n;
	rc = ask_all(c, s, sp, n, (uint32_t)rc);
	if (rc != AEG_CLIENT_OK)
		return rc;
	return merge(s, sp, n);
}

void aeg_client_scan_free(struct aeg_client_scan *s)
{
	struct scan_priv *sp = s->priv;
	if (sp == NULL)
		return;
	for (uint32_t i = 0; i < sp->shards_cap; i++)
		free(sp->bufs[i]);
	free(sp->shard_ids), free(sp->ops), free(sp->bufs), free(sp->buf_caps), free(sp->cur), free(sp->heap);
	free(sp->merged), free(sp->items), free(sp->args), free(sp->start), free(sp->next);
	free(sp);
	s->priv = NULL;
	s->items = NULL;
	s->n = 0;
	s->next = NULL;
}
