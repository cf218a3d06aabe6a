/* The SCAN request's args and reply value (layout in aegis/client_scan.h). */
#include "aegis/client_scan.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/codec.h"
#include "common/key_order.h"

static bool args_ok(const struct aeg_client_scan_args *a)
{
	return a->limit >= 1 && a->limit <= AEG_CLIENT_SCAN_LIMIT_MAX && a->bytes_max >= AEG_CLIENT_SCAN_BYTES_MIN &&
	       (a->end_len == 0 || a->end != NULL);
}

size_t aeg_client_scan_args_size(const struct aeg_client_scan_args *a)
{
	return aeg_varint_size(a->limit) + aeg_varint_size(a->bytes_max) + a->end_len;
}

int aeg_client_scan_args_encode(const struct aeg_client_scan_args *a, uint8_t *buf, size_t cap)
{
	if (!args_ok(a))
		return -EINVAL;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_varint(&w, a->limit);
	aeg_put_varint(&w, a->bytes_max);
	aeg_put_bytes(&w, a->end, a->end_len);
	if (w.error || w.len > INT32_MAX)
		return -EMSGSIZE;
	return (int)w.len;
}

int aeg_client_scan_args_decode(struct aeg_client_scan_args *a, const uint8_t *v, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, v, len);
	a->limit = aeg_get_varint32(&r);
	a->bytes_max = aeg_get_varint32(&r);
	if (r.error)
		return -EINVAL;
	a->end_len = (uint32_t)aeg_reader_left(&r);
	a->end = a->end_len ? v + r.pos : NULL;
	return args_ok(a) ? 0 : -EINVAL;
}

size_t aeg_client_scan_item_size(const struct aeg_client_scan_item *it)
{
	return aeg_varint_size(it->key_len) + it->key_len + aeg_varint_size(it->version) +
	       aeg_varint_size(it->value_len) + it->value_len;
}

int aeg_client_scan_reply_begin(struct aeg_client_scan_writer *w, uint8_t *buf, size_t cap)
{
	if (cap < AEG_CLIENT_SCAN_HDR_BYTES)
		return -EMSGSIZE;
	*w = (struct aeg_client_scan_writer){ .buf = buf, .cap = cap, .len = AEG_CLIENT_SCAN_HDR_BYTES };
	return 0;
}

int aeg_client_scan_reply_add(struct aeg_client_scan_writer *w, const struct aeg_client_scan_item *it)
{
	size_t need = aeg_client_scan_item_size(it);
	if (need > w->cap - w->len || w->count == UINT32_MAX)
		return -ENOSPC;
	struct aeg_writer wr;
	aeg_writer_init(&wr, w->buf + w->len, need);
	aeg_put_varint(&wr, it->key_len);
	aeg_put_bytes(&wr, it->key, it->key_len);
	aeg_put_varint(&wr, it->version);
	aeg_put_varint(&wr, it->value_len);
	aeg_put_bytes(&wr, it->value, it->value_len);
	assert(!wr.error && wr.len == need);
	w->len += need;
	w->count++;
	return 0;
}

size_t aeg_client_scan_reply_finish(struct aeg_client_scan_writer *w, bool more)
{
	struct aeg_writer wr;
	aeg_writer_init(&wr, w->buf, AEG_CLIENT_SCAN_HDR_BYTES);
	aeg_put_u8(&wr, more ? AEG_CLIENT_SCAN_MORE : 0);
	aeg_put_u32(&wr, w->count);
	assert(!wr.error);
	return w->len;
}

static bool read_item(struct aeg_reader *r, struct aeg_client_scan_item *it)
{
	it->key_len = aeg_get_varint32(r);
	it->key = aeg_get_bytes(r, it->key_len);
	it->version = aeg_get_varint(r);
	it->value_len = aeg_get_varint32(r);
	it->value = aeg_get_bytes(r, it->value_len);
	return !r->error;
}

int aeg_client_scan_reply_open(struct aeg_client_scan_reader *rd, const uint8_t *v, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, v, len);
	uint8_t flags = aeg_get_u8(&r);
	uint32_t count = aeg_get_u32(&r);
	if (r.error || (flags & ~AEG_CLIENT_SCAN_MORE) != 0)
		return -EINVAL;
	/* Each item takes at least 3 bytes: a count past that is a lie. */
	if (count > aeg_reader_left(&r) / 3)
		return -EINVAL;
	struct aeg_client_scan_item prev = { 0 }, it;
	for (uint32_t i = 0; i < count; i++) {
		if (!read_item(&r, &it) || (i > 0 && aeg_key_cmp(prev.key, prev.key_len, it.key, it.key_len) >= 0))
			return -EINVAL;
		prev = it;
	}
	bool more = (flags & AEG_CLIENT_SCAN_MORE) != 0;
	if (aeg_reader_left(&r) != 0 || (more && count == 0))
		return -EINVAL;
	*rd = (struct aeg_client_scan_reader){ .buf = v, .len = len, .pos = AEG_CLIENT_SCAN_HDR_BYTES,
					       .count = count, .left = count, .more = more,
					       .last_key = prev.key, .last_key_len = prev.key_len };
	return 0;
}

int aeg_client_scan_reply_next(struct aeg_client_scan_reader *rd, struct aeg_client_scan_item *it)
{
	if (rd->left == 0)
		return 0;
	struct aeg_reader r;
	aeg_reader_init(&r, rd->buf, rd->len);
	r.pos = rd->pos;
	bool ok = read_item(&r, it);
	assert(ok); /* open validated it */
	(void)ok;
	rd->pos = r.pos;
	rd->left--;
	return 1;
}

/* ---- merge ---------------------------------------------------------------- */

static bool head_less(const struct aeg_client_scan_cursor *cur, uint32_t a, uint32_t b)
{
	return aeg_key_cmp(cur[a].head.key, cur[a].head.key_len, cur[b].head.key, cur[b].head.key_len) < 0;
}

static void heap_down(const struct aeg_client_scan_cursor *cur, uint32_t *heap, uint32_t n, uint32_t i)
{
	for (uint32_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && head_less(cur, heap[c + 1], heap[c]))
			c++;
		if (!head_less(cur, heap[c], heap[i]))
			return;
		uint32_t t = heap[i];
		heap[i] = heap[c];
		heap[c] = t;
	}
}

int aeg_client_scan_merge(struct aeg_client_scan_cursor *cur, uint32_t n, uint32_t *heap,
			  struct aeg_client_scan_item *out, uint32_t limit, bool *more)
{
	/* The bound: the least last key of the replies that say MORE. */
	const uint8_t *bound = NULL;
	uint32_t bound_len = 0;
	bool have_bound = false;
	uint32_t h = 0;
	*more = false;
	for (uint32_t i = 0; i < n; i++) {
		struct aeg_client_scan_reader *r = &cur[i].r;
		if (r->more) {
			*more = true;
			if (!have_bound || aeg_key_cmp(r->last_key, r->last_key_len, bound, bound_len) < 0) {
				bound = r->last_key;
				bound_len = r->last_key_len;
				have_bound = true;
			}
		}
		cur[i].has = aeg_client_scan_reply_next(r, &cur[i].head) == 1;
		if (cur[i].has)
			heap[h++] = i;
	}
	for (uint32_t i = h / 2; i-- > 0;)
		heap_down(cur, heap, h, i);
	uint32_t got = 0;
	while (h > 0) {
		struct aeg_client_scan_cursor *c = &cur[heap[0]];
		if (have_bound && aeg_key_cmp(c->head.key, c->head.key_len, bound, bound_len) > 0)
			break;
		if (got == limit) {
			*more = true;
			break;
		}
		if (got > 0 && aeg_key_cmp(out[got - 1].key, out[got - 1].key_len, c->head.key, c->head.key_len) >= 0)
			return -EINVAL;
		out[got++] = c->head;
		c->has = aeg_client_scan_reply_next(&c->r, &c->head) == 1;
		if (!c->has)
			heap[0] = heap[--h];
		heap_down(cur, heap, h, 0);
	}
	return (int)got;
}
