/* Snapshots of a kv (layout in aegis/kv.h). Keys go out sorted so that the
 * bytes depend only on the state, never on the table's history. A load
 * checks everything first, builds the new state aside, and swaps it in only
 * when complete: a bad or unaffordable snapshot leaves the kv unchanged. */
#include "aegis/kv.h"
#include "aegis/wal.h"
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/codec.h"

#define SNAP_CRC_OFF 40u

static size_t ent_snap_bytes(const struct kv_ent *e)
{
	return aeg_varint_size(e->key_len) + aeg_varint_size(e->value_len) +
	       aeg_varint_size(e->version) + e->key_len + e->value_len;
}

static size_t sess_snap_bytes(const struct kv_sess *s)
{
	return aeg_varint_size(s->client_id) + aeg_varint_size(s->seq) +
	       aeg_varint_size(s->last_ms) + aeg_varint_size(s->version) + 1;
}

size_t aeg_kv_snapshot_size(const struct aeg_kv *kv)
{
	size_t n = AEG_KV_SNAP_HDR_BYTES;
	for (size_t i = 0; i < kv->st.keys.cap; i++) {
		const struct kv_ent *e = kv->st.keys.slots[i].p;
		if (e != NULL)
			n += ent_snap_bytes(e);
	}
	for (const struct kv_sess *s = kv->st.oldest; s != NULL; s = s->newer)
		n += sess_snap_bytes(s);
	return n;
}

/* memcmp order, a prefix before its extensions. */
static int key_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static bool ent_less(const struct kv_ent *a, const struct kv_ent *b)
{
	return key_cmp(a->data, a->key_len, b->data, b->key_len) < 0;
}

/* Heapsort: in place, O(n log n), no allocation (qsort may malloc). */
static void sift_down(const struct kv_ent **v, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && ent_less(v[child], v[child + 1]))
			child++;
		if (!ent_less(v[root], v[child]))
			return;
		const struct kv_ent *t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

static void sort_ents(const struct kv_ent **v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		const struct kv_ent *t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

static void put_header(uint8_t *buf, const struct kv_state *st, uint32_t crc)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, AEG_KV_SNAP_HDR_BYTES);
	aeg_put_u32(&w, AEG_KV_SNAP_MAGIC);
	aeg_put_u32(&w, AEG_KV_SNAP_FORMAT);
	aeg_put_u64(&w, st->applied);
	aeg_put_u64(&w, st->now_ms);
	aeg_put_u64(&w, st->keys.len);
	aeg_put_u64(&w, st->sess.len);
	aeg_put_u32(&w, crc);
	aeg_put_u32(&w, 0);
	assert(!w.error && w.len == AEG_KV_SNAP_HDR_BYTES);
}

static uint32_t snap_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = aeg_crc32c(0, buf, SNAP_CRC_OFF);
	crc = aeg_crc32c(crc, zero, sizeof(zero));
	return aeg_crc32c(crc, buf + SNAP_CRC_OFF + 4, len - SNAP_CRC_OFF - 4);
}

int aeg_kv_snapshot_write(const struct aeg_kv *kv, uint8_t *buf, size_t cap)
{
	const struct kv_state *st = &kv->st;
	size_t size = aeg_kv_snapshot_size(kv);
	if (cap < size)
		return -EMSGSIZE;
	const struct kv_ent **v = NULL;
	size_t v_bytes = st->keys.len * sizeof(*v);
	if (st->keys.len != 0) {
		/* Scratch for this call only: not counted in mem_bytes. */
		v = kv->a.alloc(kv->a.ctx, v_bytes);
		if (v == NULL)
			return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < st->keys.cap; i++) {
		if (st->keys.slots[i].p != NULL)
			v[n++] = st->keys.slots[i].p;
	}
	assert(n == st->keys.len);
	sort_ents(v, n);
	struct aeg_writer w;
	aeg_writer_init(&w, buf, size);
	w.len = AEG_KV_SNAP_HDR_BYTES;
	for (size_t i = 0; i < n; i++) {
		aeg_put_varint(&w, v[i]->key_len);
		aeg_put_varint(&w, v[i]->value_len);
		aeg_put_varint(&w, v[i]->version);
		aeg_put_bytes(&w, v[i]->data, (size_t)v[i]->key_len + v[i]->value_len);
	}
	if (v != NULL)
		kv->a.free(kv->a.ctx, v, v_bytes);
	for (const struct kv_sess *s = st->oldest; s != NULL; s = s->newer) {
		aeg_put_varint(&w, s->client_id);
		aeg_put_varint(&w, s->seq);
		aeg_put_varint(&w, s->last_ms);
		aeg_put_varint(&w, s->version);
		aeg_put_u8(&w, s->status);
	}
	assert(!w.error && w.len == size);
	put_header(buf, st, 0);
	put_header(buf, st, snap_crc(buf, size));
	return 0;
}

struct snap_hdr {
	uint64_t applied, now_ms, keys, sessions;
};

/* One key or session record as read from the body. */
struct snap_ent {
	uint32_t key_len, value_len;
	uint64_t version;
	const uint8_t *data;
};

static bool read_ent(struct aeg_reader *r, struct snap_ent *e)
{
	e->key_len = aeg_get_varint32(r);
	e->value_len = aeg_get_varint32(r);
	e->version = aeg_get_varint(r);
	size_t n = (size_t)e->key_len + e->value_len;
	if (r->error || n > aeg_reader_left(r))
		return false;
	e->data = aeg_get_bytes(r, n);
	return e->data != NULL;
}

static bool read_sess(struct aeg_reader *r, struct kv_sess *s)
{
	s->client_id = aeg_get_varint(r);
	s->seq = aeg_get_varint(r);
	s->last_ms = aeg_get_varint(r);
	s->version = aeg_get_varint(r);
	s->status = aeg_get_u8(r);
	return !r->error;
}

/* Checks the whole snapshot without building anything. */
static int snap_check(const uint8_t *buf, size_t len, struct snap_hdr *h)
{
	if (len < AEG_KV_SNAP_HDR_BYTES)
		return -EMSGSIZE;
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	uint32_t magic = aeg_get_u32(&r), format = aeg_get_u32(&r);
	h->applied = aeg_get_u64(&r);
	h->now_ms = aeg_get_u64(&r);
	h->keys = aeg_get_u64(&r);
	h->sessions = aeg_get_u64(&r);
	uint32_t crc = aeg_get_u32(&r), pad = aeg_get_u32(&r);
	if (magic != AEG_KV_SNAP_MAGIC || format != AEG_KV_SNAP_FORMAT || pad != 0)
		return -EINVAL;
	if (crc != snap_crc(buf, len))
		return -EINVAL;
	/* A key takes at least 4 bytes, a session 5: bounds both loops. */
	if (h->keys > len / 4 || h->sessions > len / 5)
		return -EINVAL;
	struct snap_ent prev = { 0 };
	for (uint64_t i = 0; i < h->keys; i++) {
		struct snap_ent e;
		if (!read_ent(&r, &e) || e.key_len == 0 || e.version == 0 || e.version > h->applied)
			return -EINVAL;
		if (i != 0 && key_cmp(prev.data, prev.key_len, e.data, e.key_len) >= 0)
			return -EINVAL;
		prev = e;
	}
	uint64_t last_ms = 0;
	for (uint64_t i = 0; i < h->sessions; i++) {
		struct kv_sess s;
		if (!read_sess(&r, &s) || s.seq == 0 || s.status > AEG_KV_STATUS_MAX ||
		    s.version > h->applied || s.last_ms < last_ms || s.last_ms > h->now_ms)
			return -EINVAL;
		last_ms = s.last_ms;
	}
	if (r.error || r.pos != len)
		return -EINVAL;
	return 0;
}

/* Builds st from a checked snapshot: 0, -ENOMEM, or -EINVAL (a duplicate
 * client id, the one thing the check cannot see without a table). */
static int snap_build(struct aeg_kv *kv, struct kv_state *st, const uint8_t *buf, size_t len,
		      const struct snap_hdr *h)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	(void)aeg_get_bytes(&r, AEG_KV_SNAP_HDR_BYTES);
	st->applied = h->applied;
	st->now_ms = h->now_ms;
	for (uint64_t i = 0; i < h->keys; i++) {
		struct snap_ent se;
		bool ok = read_ent(&r, &se);
		assert(ok);
		if (kv_table_reserve(kv, &st->keys) != 0)
			return -ENOMEM;
		struct kv_ent *e = kv_alloc(kv, kv_ent_bytes(se.key_len, se.value_len));
		if (e == NULL)
			return -ENOMEM;
		e->version = se.version;
		e->key_len = se.key_len;
		e->value_len = se.value_len;
		memcpy(e->data, se.data, (size_t)se.key_len + se.value_len);
		kv_table_insert(&st->keys, kv_key_hash(kv, e->data, e->key_len), e);
		st->logical_bytes += kv_logical(e->key_len, e->value_len);
	}
	/* Over sessions_max: the oldest are dropped. */
	uint64_t skip = h->sessions > kv->lim.sessions_max ? h->sessions - kv->lim.sessions_max : 0;
	for (uint64_t i = 0; i < h->sessions; i++) {
		struct kv_sess rs;
		bool ok = read_sess(&r, &rs);
		assert(ok);
		if (kv_sess_find(kv, st, rs.client_id) != NULL)
			return -EINVAL;
		if (i < skip)
			continue;
		if (kv_table_reserve(kv, &st->sess) != 0)
			return -ENOMEM;
		struct kv_sess *s = kv_alloc(kv, sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		*s = rs;
		s->older = s->newer = NULL;
		kv_sess_add(kv, st, s, rs.last_ms);
	}
	assert(r.pos == len);
	return 0;
}

int aeg_kv_snapshot_load(struct aeg_kv *kv, const uint8_t *buf, size_t len)
{
	struct snap_hdr h;
	int rc = snap_check(buf, len, &h);
	if (rc != 0)
		return rc;
	struct kv_state st;
	memset(&st, 0, sizeof(st));
	rc = snap_build(kv, &st, buf, len, &h);
	if (rc != 0) {
		kv_state_clear(kv, &st);
		return rc;
	}
	kv_state_clear(kv, &kv->st);
	kv->st = st;
	return 0;
}
