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
/* Entries are scattered over the heap: the walks below fetch the one this
 * many places ahead while they copy the current one. */
#define SNAP_PREFETCH 8u

static size_t ent_snap_bytes(const struct kv_ent *e)
{
	return aeg_varint_size(e->key_len) + aeg_varint_size(e->value_len) +
	       aeg_varint_size(e->version) + e->key_len + e->value_len;
}

static size_t sess_snap_bytes(const struct kv_sess *s)
{
	size_t n = aeg_varint_size(s->client_id) + aeg_varint_size(s->floor) +
		   aeg_varint_size(s->last_ms) + aeg_varint_size(s->n);
	for (uint32_t i = 0; i < s->n; i++)
		n += aeg_varint_size(s->res[i].seq) + aeg_varint_size(s->res[i].version) + 1;
	return n;
}

size_t kv_snap_tail_size(const struct kv_state *st)
{
	size_t n = 0;
	for (const struct kv_sess *s = st->oldest; s != NULL; s = s->newer)
		n += sess_snap_bytes(s);
	if (st->fenced)
		n += aeg_varint_size(st->fence_len) + st->fence_len;
	if (st->vbase != 0)
		n += aeg_varint_size(st->vbase);
	return n;
}

size_t kv_snap_ent_bytes(const struct kv_ent *e)
{
	return ent_snap_bytes(e);
}

size_t aeg_kv_snapshot_size(const struct aeg_kv *kv)
{
	size_t n = AEG_KV_SNAP_HDR_BYTES;
	const struct kv_slot *slots = kv->st.keys.slots;
	for (size_t i = 0; i < kv->st.keys.cap; i++) {
		if (i + SNAP_PREFETCH < kv->st.keys.cap && slots[i + SNAP_PREFETCH].p != NULL)
			__builtin_prefetch(slots[i + SNAP_PREFETCH].p);
		const struct kv_ent *e = slots[i].p;
		if (e != NULL)
			n += ent_snap_bytes(e);
	}
	return n + kv_snap_tail_size(&kv->st);
}

/* A key to sort: its first 16 bytes, zero-padded, as two big-endian
 * numbers. Comparing those is aeg_key_cmp's order whenever they differ (a byte
 * past a short key's end reads as 0, which is never above the longer key's
 * byte); equal prefixes fall back to aeg_key_cmp. The sort then reads the
 * entries only for ties, not at every comparison (a cache miss each). */

static uint64_t be64_prefix(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? p[i] : 0);
	return v;
}

struct kv_sort_key kv_sort_key_of(const struct kv_ent *e)
{
	uint32_t len = e->key_len;
	return (struct kv_sort_key){ .hi = be64_prefix(e->data, len),
				  .lo = len > 8 ? be64_prefix(e->data + 8, len - 8) : 0, .e = e };
}

static bool key_less(const struct kv_sort_key *a, const struct kv_sort_key *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi;
	if (a->lo != b->lo)
		return a->lo < b->lo;
	return aeg_key_cmp(a->e->data, a->e->key_len, b->e->data, b->e->key_len) < 0;
}

/* Heapsort: in place, O(n log n), no allocation (qsort may malloc). */
static void sift_down(struct kv_sort_key *v, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && key_less(&v[child], &v[child + 1]))
			child++;
		if (!key_less(&v[root], &v[child]))
			return;
		struct kv_sort_key t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

static void heap_sort(struct kv_sort_key *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		struct kv_sort_key t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

static void swap_keys(struct kv_sort_key *a, struct kv_sort_key *b)
{
	struct kv_sort_key t = *a;
	*a = *b;
	*b = t;
}

/* Introsort: quicksort (median of three, recursion on the smaller side
 * only), insertion sort for short runs, heapsort past the depth limit, so
 * O(n log n) always, in place, no allocation. Quicksort's sequential scans
 * suit a large array; heapsort alone jumps across it at every level. */
static void sort_keys_depth(struct kv_sort_key *v, size_t n, uint32_t depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			heap_sort(v, n);
			return;
		}
		size_t mid = n / 2, last = n - 1;
		if (key_less(&v[mid], &v[0]))
			swap_keys(&v[mid], &v[0]);
		if (key_less(&v[last], &v[0]))
			swap_keys(&v[last], &v[0]);
		if (key_less(&v[last], &v[mid]))
			swap_keys(&v[last], &v[mid]);
		/* v[0] <= v[mid] <= v[last]: the pivot goes to n - 2. */
		swap_keys(&v[mid], &v[last - 1]);
		const struct kv_sort_key pivot = v[last - 1];
		size_t i = 0, j = last - 1;
		for (;;) {
			while (key_less(&v[++i], &pivot))
				;
			while (key_less(&pivot, &v[--j]))
				;
			if (i >= j)
				break;
			swap_keys(&v[i], &v[j]);
		}
		swap_keys(&v[i], &v[last - 1]);
		/* [0, i) <= pivot = v[i] <= (i, n) */
		if (i < n - i - 1) {
			sort_keys_depth(v, i, depth);
			v += i + 1;
			n -= i + 1;
		} else {
			sort_keys_depth(v + i + 1, n - i - 1, depth);
			n = i;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct kv_sort_key x = v[i];
		size_t j = i;
		for (; j > 0 && key_less(&x, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

void kv_sort_keys(struct kv_sort_key *v, size_t n)
{
	uint32_t depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	sort_keys_depth(v, n, depth);
}

void kv_snap_head_of(const struct kv_state *st, struct kv_snap_head *h)
{
	*h = (struct kv_snap_head){ .applied = st->applied, .now_ms = st->now_ms, .keys = st->keys.len,
				    .sessions = st->sess.len,
				    .flags = (st->fenced ? AEG_KV_SNAP_FENCE : 0) |
					     (st->vbase != 0 ? AEG_KV_SNAP_VBASE : 0) };
}

static void put_header(uint8_t *buf, const struct kv_snap_head *h, uint32_t crc)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, AEG_KV_SNAP_HDR_BYTES);
	aeg_put_u32(&w, AEG_KV_SNAP_MAGIC);
	aeg_put_u32(&w, AEG_KV_SNAP_FORMAT);
	aeg_put_u64(&w, h->applied);
	aeg_put_u64(&w, h->now_ms);
	aeg_put_u64(&w, h->keys);
	aeg_put_u64(&w, h->sessions);
	aeg_put_u32(&w, crc);
	aeg_put_u32(&w, h->flags);
	assert(!w.error && w.len == AEG_KV_SNAP_HDR_BYTES);
}

static uint32_t snap_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = aeg_crc32c(0, buf, SNAP_CRC_OFF);
	crc = aeg_crc32c(crc, zero, sizeof(zero));
	return aeg_crc32c(crc, buf + SNAP_CRC_OFF + 4, len - SNAP_CRC_OFF - 4);
}

void kv_snap_put_tail(struct aeg_writer *w, const struct kv_state *st)
{
	for (const struct kv_sess *s = st->oldest; s != NULL; s = s->newer) {
		aeg_put_varint(w, s->client_id);
		aeg_put_varint(w, s->floor);
		aeg_put_varint(w, s->last_ms);
		aeg_put_varint(w, s->n);
		for (uint32_t i = 0; i < s->n; i++) {
			aeg_put_varint(w, s->res[i].seq);
			aeg_put_varint(w, s->res[i].version);
			aeg_put_u8(w, s->res[i].status);
		}
	}
	if (st->fenced) {
		aeg_put_varint(w, st->fence_len);
		if (st->fence_len != 0)
			aeg_put_bytes(w, st->fence, st->fence_len);
	}
	if (st->vbase != 0)
		aeg_put_varint(w, st->vbase);
}

void kv_snap_write(uint8_t *buf, size_t size, const struct kv_snap_head *h, struct kv_sort_key *v,
		   const uint8_t *tail, size_t tail_len)
{
	size_t n = h->keys;
	kv_sort_keys(v, n);
	struct aeg_writer w;
	aeg_writer_init(&w, buf, size);
	w.len = AEG_KV_SNAP_HDR_BYTES;
	for (size_t i = 0; i < n; i++) {
		if (i + SNAP_PREFETCH < n)
			__builtin_prefetch(v[i + SNAP_PREFETCH].e);
		const struct kv_ent *e = v[i].e;
		aeg_put_varint(&w, e->key_len);
		aeg_put_varint(&w, e->value_len);
		aeg_put_varint(&w, e->version);
		aeg_put_bytes(&w, e->data, (size_t)e->key_len + e->value_len);
	}
	if (tail == buf + w.len && w.len + tail_len <= size)
		w.len += tail_len;  /* written in place already */
	else
		aeg_put_bytes(&w, tail, tail_len);
	assert(!w.error && w.len == size);
	put_header(buf, h, 0);
	put_header(buf, h, snap_crc(buf, size));
}

int aeg_kv_snapshot_write(const struct aeg_kv *kv, uint8_t *buf, size_t cap)
{
	const struct kv_state *st = &kv->st;
	size_t size = aeg_kv_snapshot_size(kv);
	if (cap < size)
		return -EMSGSIZE;
	struct kv_sort_key *v = NULL;
	size_t v_bytes = st->keys.len * sizeof(*v);
	if (st->keys.len != 0) {
		/* Scratch for this call only: not counted in mem_bytes. */
		v = kv->a.alloc(kv->a.ctx, v_bytes);
		if (v == NULL)
			return -ENOMEM;
	}
	size_t n = 0;
	const struct kv_slot *slots = st->keys.slots;
	for (size_t i = 0; i < st->keys.cap; i++) {
		if (i + SNAP_PREFETCH < st->keys.cap && slots[i + SNAP_PREFETCH].p != NULL)
			__builtin_prefetch(slots[i + SNAP_PREFETCH].p);
		if (slots[i].p != NULL)
			v[n++] = kv_sort_key_of(slots[i].p);
	}
	assert(n == st->keys.len);
	/* The tail (sessions, fence, base) goes straight into its place. */
	size_t tail_len = kv_snap_tail_size(st);
	struct aeg_writer w;
	aeg_writer_init(&w, buf + size - tail_len, tail_len);
	kv_snap_put_tail(&w, st);
	assert(!w.error && w.len == tail_len);
	struct kv_snap_head h;
	kv_snap_head_of(st, &h);
	kv_snap_write(buf, size, &h, v, buf + size - tail_len, tail_len);
	if (v != NULL)
		kv->a.free(kv->a.ctx, v, v_bytes);
	return 0;
}

struct snap_hdr {
	uint64_t applied, now_ms, keys, sessions;
	bool fenced;
	bool has_vbase;
	uint64_t vbase;   /* read by snap_check */
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

/* A session's fixed fields; its result_count results follow. */
struct snap_sess {
	uint64_t client_id, floor, last_ms, count;
};

static bool read_sess(struct aeg_reader *r, struct snap_sess *s)
{
	s->client_id = aeg_get_varint(r);
	s->floor = aeg_get_varint(r);
	s->last_ms = aeg_get_varint(r);
	s->count = aeg_get_varint(r);
	return !r->error;
}

static bool read_res(struct aeg_reader *r, struct kv_res *x)
{
	x->seq = aeg_get_varint(r);
	x->version = aeg_get_varint(r);
	x->status = aeg_get_u8(r);
	return !r->error;
}

/* Checks one session's results: ascending, above the floor, sane. */
static bool check_results(struct aeg_reader *r, const struct snap_sess *s, uint64_t *vmax)
{
	/* A result takes at least 3 bytes: bounds the loop before it runs. */
	if (s->count > aeg_reader_left(r) / 3)
		return false;
	uint64_t prev = s->floor;
	for (uint64_t i = 0; i < s->count; i++) {
		struct kv_res x;
		if (!read_res(r, &x) || x.seq <= prev || x.status > AEG_KV_STATUS_MAX ||
		    x.status == AEG_KV_SESSION_EXPIRED || x.status == AEG_KV_MOVED)
			return false;
		if (x.version > *vmax)
			*vmax = x.version;
		prev = x.seq;
	}
	return true;
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
	uint32_t crc = aeg_get_u32(&r), flags = aeg_get_u32(&r);
	if (magic != AEG_KV_SNAP_MAGIC || (format != AEG_KV_SNAP_FORMAT && format != AEG_KV_SNAP_FORMAT_V2) ||
	    (flags & ~(AEG_KV_SNAP_FENCE | AEG_KV_SNAP_VBASE)) != 0 || (format == AEG_KV_SNAP_FORMAT_V2 && flags != 0))
		return -EINVAL;
	h->fenced = (flags & AEG_KV_SNAP_FENCE) != 0;
	h->has_vbase = (flags & AEG_KV_SNAP_VBASE) != 0;
	h->vbase = 0;
	if (crc != snap_crc(buf, len))
		return -EINVAL;
	/* A key takes at least 4 bytes, a session 4: bounds both loops. */
	if (h->keys > len / 4 || h->sessions > len / 4)
		return -EINVAL;
	/* Versions are checked against applied + the base, which comes last:
	 * the largest seen is kept until then. */
	struct snap_ent prev = { 0 };
	uint64_t vmax = 0;
	for (uint64_t i = 0; i < h->keys; i++) {
		struct snap_ent e;
		if (!read_ent(&r, &e) || e.key_len == 0 || e.version == 0)
			return -EINVAL;
		if (i != 0 && aeg_key_cmp(prev.data, prev.key_len, e.data, e.key_len) >= 0)
			return -EINVAL;
		if (e.version > vmax)
			vmax = e.version;
		prev = e;
	}
	uint64_t last_ms = 0;
	for (uint64_t i = 0; i < h->sessions; i++) {
		struct snap_sess s;
		if (!read_sess(&r, &s) || s.last_ms < last_ms || s.last_ms > h->now_ms ||
		    !check_results(&r, &s, &vmax))
			return -EINVAL;
		last_ms = s.last_ms;
	}
	if (h->fenced) {
		uint32_t fl = aeg_get_varint32(&r);
		if (r.error || fl > aeg_reader_left(&r))
			return -EINVAL;
		(void)aeg_get_bytes(&r, fl);
	}
	if (h->has_vbase && ((h->vbase = aeg_get_varint(&r)) == 0 || h->vbase > UINT64_MAX - h->applied))
		return -EINVAL;
	if (r.error || r.pos != len || vmax > h->applied + h->vbase)
		return -EINVAL;
	return 0;
}

/* One checked session into st. Results over session_results_max: the
 * lowest are dropped and the floor rises to them, as if the window had
 * overflowed. A dropped session's client id stays unchecked for duplicates:
 * harmless, as it is not in st. */
static int build_sess(struct aeg_kv *kv, struct kv_state *st, struct aeg_reader *r,
		      const struct snap_sess *rs)
{
	if (kv_table_reserve(kv, &st->sess) != 0)
		return -ENOMEM;
	struct kv_sess *s = kv_alloc(kv, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	s->client_id = rs->client_id;
	s->floor = rs->floor;
	uint32_t max = kv->lim.session_results_max;
	uint64_t drop = rs->count > max ? rs->count - max : 0;
	if (rs->count > drop) {
		s->cap = (uint32_t)(rs->count - drop);
		s->res = kv_alloc(kv, (size_t)s->cap * sizeof(*s->res));
		if (s->res == NULL) {
			s->cap = 0;
			kv_sess_free(kv, s);
			return -ENOMEM;
		}
	}
	for (uint64_t j = 0; j < rs->count; j++) {
		struct kv_res x;
		bool ok = read_res(r, &x);
		assert(ok && x.seq > s->floor);
		if (j < drop)
			s->floor = x.seq;
		else
			s->res[s->n++] = x;
	}
	kv_sess_add(kv, st, s, rs->last_ms);
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
		struct snap_sess rs;
		bool ok = read_sess(&r, &rs);
		assert(ok);
		if (kv_sess_find(kv, st, rs.client_id) != NULL)
			return -EINVAL;
		if (i < skip) {
			for (uint64_t j = 0; j < rs.count; j++) {
				struct kv_res x;
				(void)read_res(&r, &x);
			}
			continue;
		}
		int rc = build_sess(kv, st, &r, &rs);
		if (rc != 0)
			return rc;
	}
	if (h->has_vbase) {
		st->vbase = h->vbase;
	}
	if (h->fenced) {
		uint32_t fl = aeg_get_varint32(&r);
		const uint8_t *f = aeg_get_bytes(&r, fl);
		assert(!r.error);
		st->fenced = true;
		st->fence_len = fl;
		if (fl != 0) {
			if ((st->fence = kv_alloc(kv, fl)) == NULL)
				return -ENOMEM;
			memcpy(st->fence, f, fl);
		}
	}
	if (h->has_vbase)
		(void)aeg_get_varint(&r);
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
	if (rc == 0 && kv_view_reserve(kv, kv->st.keys.len) != 0)
		rc = -ENOMEM;  /* the entries it replaces may be in a view */
	if (rc != 0) {
		struct aeg_kv_view *view = kv->view;
		kv->view = NULL;  /* the new state's entries were never seen */
		kv_state_clear(kv, &st);
		kv->view = view;
		return rc;
	}
	kv_state_clear(kv, &kv->st);
	kv->st = st;
	return 0;
}
