/* LWW-Map: per key the version (value or tombstone) with the greatest HLC
 * timestamp; see aegis/crdt_map.h. */
#include "aegis/crdt_map.h"

#include "slot_table.h"

enum { KIND_VALUE = 0, KIND_TOMB = 1 };

/* Slot: packed key | timestamp (16) | kind (1) | packed value. */
struct layout {
	uint32_t key_bytes_max;
	uint32_t value_bytes_max;
};

struct version {
	struct aeg_hlc_ts ts;
	uint8_t kind;
	const uint8_t *value; /* value bytes (empty for a tombstone) */
	size_t value_len;
};

static struct layout layout_of(const struct aeg_lwwmap *m)
{
	return (struct layout){ m->key_bytes_max, m->value_bytes_max };
}

static size_t ts_off(struct layout l)
{
	return aeg_elem_slot_bytes(l.key_bytes_max);
}

static uint8_t *kind_ptr(uint8_t *slot, struct layout l)
{
	return slot + ts_off(l) + AEG_HLC_TS_ENCODED_SIZE;
}

static struct version version_of(const uint8_t *slot, struct layout l)
{
	struct version v;
	aeg_hlc_ts_decode(&v.ts, slot + ts_off(l));
	const uint8_t *packed = kind_ptr((uint8_t *)slot, l) + 1;
	v.kind = *kind_ptr((uint8_t *)slot, l);
	v.value = aeg_elem_data(packed);
	v.value_len = aeg_elem_len(packed);
	return v;
}

/* Total order on versions; > 0 when a wins over b. */
static int version_cmp(const struct version *a, const struct version *b)
{
	int c = aeg_hlc_ts_compare(&a->ts, &b->ts);
	if (c != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind > b->kind ? 1 : -1; /* tombstone wins a tie */
	if (a->value_len != b->value_len)
		return a->value_len > b->value_len ? 1 : -1;
	return a->value_len == 0 ? 0 : memcmp(a->value, b->value, a->value_len);
}

static void version_store(uint8_t *slot, struct layout l, const struct version *v)
{
	aeg_hlc_ts_encode(&v->ts, slot + ts_off(l));
	*kind_ptr(slot, l) = v->kind;
	aeg_elem_pack(kind_ptr(slot, l) + 1, l.value_bytes_max, v->value, v->value_len);
}

int aeg_lwwmap_init(struct aeg_lwwmap *m, uint32_t entries_max, uint32_t key_bytes_max,
		    uint32_t value_bytes_max)
{
	memset(m, 0, sizeof(*m));
	m->key_bytes_max = key_bytes_max;
	m->value_bytes_max = value_bytes_max;
	if (key_bytes_max > AEG_CRDT_ELEM_BYTES_MAX || value_bytes_max > AEG_CRDT_ELEM_BYTES_MAX)
		return -EINVAL;
	size_t slot = aeg_elem_slot_bytes(key_bytes_max) + AEG_HLC_TS_ENCODED_SIZE + 1 +
		      aeg_elem_slot_bytes(value_bytes_max);
	return aeg_slot_table_init(&m->entries, entries_max, slot);
}

void aeg_lwwmap_fini(struct aeg_lwwmap *m)
{
	aeg_slot_table_fini(&m->entries);
}

void aeg_lwwmap_clear(struct aeg_lwwmap *m)
{
	aeg_slot_table_clear(&m->entries);
}

static int check_args(const struct aeg_lwwmap *m, size_t key_len, size_t value_len,
		      const struct aeg_hlc_ts *ts, const struct aeg_lwwmap *delta)
{
	if (ts == NULL || delta == m)
		return -EINVAL;
	if (key_len > m->key_bytes_max || value_len > m->value_bytes_max)
		return -EMSGSIZE;
	if (delta != NULL && (key_len > delta->key_bytes_max || value_len > delta->value_bytes_max))
		return -EMSGSIZE;
	return 0;
}

/* Join of the singleton {key: (ts, kind, value)}: the body of put and remove. */
static int write_version(struct aeg_lwwmap *m, const void *key, size_t key_len,
			 const void *value, size_t value_len, const struct aeg_hlc_ts *ts,
			 uint8_t kind, struct aeg_lwwmap *delta)
{
	uint32_t idx;
	uint8_t *slot;
	if ((key == NULL && key_len != 0) || (value == NULL && value_len != 0))
		return -EINVAL;
	int err = check_args(m, key_len, value_len, ts, delta);
	if (err < 0)
		return err;
	struct version v = { *ts, kind, value, value_len };
	bool found = aeg_elems_find(&m->entries, key, key_len, &idx);
	if (!found && m->entries.len == m->entries.cap)
		return -ENOSPC;
	if (delta != NULL) {
		aeg_lwwmap_clear(delta);
		slot = aeg_slot_table_insert_at(&delta->entries, 0);
		aeg_elem_pack(slot, delta->key_bytes_max, key, key_len);
		version_store(slot, layout_of(delta), &v);
	}
	if (found) {
		slot = aeg_slot_at(&m->entries, idx);
		struct version cur = version_of(slot, layout_of(m));
		if (version_cmp(&v, &cur) <= 0)
			return 0; /* a greater version is already here */
	} else {
		/* key and value may point into this map (got from it). */
		key = aeg_slot_follow_insert(&m->entries, idx, key);
		v.value = aeg_slot_follow_insert(&m->entries, idx, v.value);
		slot = aeg_slot_table_insert_at(&m->entries, idx);
		aeg_elem_pack(slot, m->key_bytes_max, key, key_len);
	}
	version_store(slot, layout_of(m), &v);
	return 0;
}

int aeg_lwwmap_put(struct aeg_lwwmap *m, const void *key, size_t key_len, const void *value,
		   size_t value_len, const struct aeg_hlc_ts *ts, struct aeg_lwwmap *delta)
{
	return write_version(m, key, key_len, value, value_len, ts, KIND_VALUE, delta);
}

int aeg_lwwmap_remove(struct aeg_lwwmap *m, const void *key, size_t key_len,
		      const struct aeg_hlc_ts *ts, struct aeg_lwwmap *delta)
{
	return write_version(m, key, key_len, NULL, 0, ts, KIND_TOMB, delta);
}

int aeg_lwwmap_get(const struct aeg_lwwmap *m, const void *key, size_t key_len,
		   const uint8_t **value, size_t *value_len, struct aeg_hlc_ts *ts)
{
	uint32_t idx;
	if (!aeg_elems_find(&m->entries, key, key_len, &idx))
		return -ENOENT;
	struct version v = version_of(aeg_slot_at(&m->entries, idx), layout_of(m));
	if (v.kind == KIND_TOMB)
		return -ENOENT;
	if (value != NULL)
		*value = v.value;
	if (value_len != NULL)
		*value_len = v.value_len;
	if (ts != NULL)
		*ts = v.ts;
	return 0;
}

uint32_t aeg_lwwmap_size(const struct aeg_lwwmap *m)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->entries.len; i++)
		n += *kind_ptr(aeg_slot_at(&m->entries, i), layout_of(m)) == KIND_VALUE;
	return n;
}

uint32_t aeg_lwwmap_entries(const struct aeg_lwwmap *m)
{
	return m->entries.len;
}

void aeg_lwwmap_entry(const struct aeg_lwwmap *m, uint32_t i, const uint8_t **key,
		      size_t *key_len, const uint8_t **value, size_t *value_len,
		      struct aeg_hlc_ts *ts)
{
	assert(i < m->entries.len);
	const uint8_t *slot = aeg_slot_at(&m->entries, i);
	struct version v = version_of(slot, layout_of(m));
	*key = aeg_elem_data(slot);
	*key_len = aeg_elem_len(slot);
	*value = v.kind == KIND_TOMB ? NULL : v.value;
	*value_len = v.value_len;
	*ts = v.ts;
}

uint32_t aeg_lwwmap_purge_tombstones(struct aeg_lwwmap *m, const struct aeg_hlc_ts *stable_ts)
{
	uint32_t w = 0, n = m->entries.len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *slot = aeg_slot_at(&m->entries, i);
		struct version v = version_of(slot, layout_of(m));
		if (v.kind == KIND_TOMB && aeg_hlc_ts_compare(&v.ts, stable_ts) < 0)
			continue;
		if (w != i)
			memcpy(aeg_slot_at(&m->entries, w), slot, m->entries.slot_bytes);
		w++;
	}
	m->entries.len = w;
	return n - w;
}

/* ---- merge -------------------------------------------------------------- */

struct merge_arg {
	struct layout dst;
	struct layout src;
};

static int merge_cmp(const uint8_t *d, const uint8_t *s, const void *arg)
{
	(void)arg;
	return aeg_elem_cmp(d, s);
}

static int merge_fits(const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct version v = version_of(s, a->src);
	return aeg_elem_len(s) > a->dst.key_bytes_max ||
	       v.value_len > a->dst.value_bytes_max ? -EMSGSIZE : 0;
}

static void merge_update(uint8_t *d, const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct version dv = version_of(d, a->dst), sv = version_of(s, a->src);
	if (version_cmp(&sv, &dv) > 0)
		version_store(d, a->dst, &sv);
}

static void merge_copy(uint8_t *d, const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct version sv = version_of(s, a->src);
	aeg_elem_pack(d, a->dst.key_bytes_max, aeg_elem_data(s), aeg_elem_len(s));
	version_store(d, a->dst, &sv);
}

int aeg_lwwmap_merge(struct aeg_lwwmap *dst, const struct aeg_lwwmap *src)
{
	const struct merge_arg arg = { layout_of(dst), layout_of(src) };
	const struct aeg_slot_merge_ops ops = {
		.cmp = merge_cmp, .take = aeg_elems_always,
		.fits = merge_fits, .copy = merge_copy, .update = merge_update, .arg = &arg,
	};
	if (dst == src)
		return 0;
	return aeg_slot_table_merge(&dst->entries, &src->entries, &ops);
}

static int entry_cmp(const uint8_t *a, const uint8_t *b, const void *arg)
{
	const struct merge_arg *l = arg;
	int c = aeg_elem_cmp(a, b);
	if (c != 0)
		return c;
	struct version va = version_of(a, l->dst), vb = version_of(b, l->src);
	return version_cmp(&va, &vb);
}

bool aeg_lwwmap_equal(const struct aeg_lwwmap *a, const struct aeg_lwwmap *b)
{
	const struct merge_arg arg = { layout_of(a), layout_of(b) };
	return aeg_slot_table_equal(&a->entries, &b->entries, entry_cmp, &arg);
}

/* ---- encoding ------------------------------------------------------------- */

size_t aeg_lwwmap_encoded_size(const struct aeg_lwwmap *m)
{
	size_t n = 2 + aeg_varint_size(m->entries.len);
	for (uint32_t i = 0; i < m->entries.len; i++) {
		const uint8_t *slot = aeg_slot_at(&m->entries, i);
		struct version v = version_of(slot, layout_of(m));
		n += aeg_elem_encoded_size(slot) + AEG_HLC_TS_ENCODED_SIZE + 1;
		if (v.kind == KIND_VALUE)
			n += aeg_varint_size(v.value_len) + v.value_len;
	}
	return n;
}

static void put_body(struct aeg_writer *w, const void *obj)
{
	const struct aeg_lwwmap *m = obj;
	aeg_put_varint(w, m->entries.len);
	for (uint32_t i = 0; i < m->entries.len; i++) {
		const uint8_t *slot = aeg_slot_at(&m->entries, i);
		struct version v = version_of(slot, layout_of(m));
		aeg_elem_put(w, slot);
		aeg_put_bytes(w, slot + ts_off(layout_of(m)), AEG_HLC_TS_ENCODED_SIZE);
		aeg_put_u8(w, v.kind);
		if (v.kind == KIND_VALUE) {
			aeg_put_varint(w, v.value_len);
			aeg_put_bytes(w, v.value, v.value_len);
		}
	}
}

int aeg_lwwmap_encode(const struct aeg_lwwmap *m, uint8_t *buf, size_t cap)
{
	return aeg_crdt_encode(buf, cap, AEG_CRDT_TAG_LWWMAP, m, put_body);
}

static int get_entry(struct aeg_reader *r, struct aeg_lwwmap *m)
{
	const uint8_t *key, *ts_bytes;
	size_t key_len;
	struct version v = { .value = NULL, .value_len = 0 };
	int err = aeg_elem_get(r, m->key_bytes_max, &key, &key_len);
	if (err < 0)
		return err;
	ts_bytes = aeg_get_bytes(r, AEG_HLC_TS_ENCODED_SIZE);
	v.kind = aeg_get_u8(r);
	if (r->error)
		return aeg_codec_error(r);
	if (v.kind != KIND_VALUE && v.kind != KIND_TOMB)
		return -EINVAL;
	if (v.kind == KIND_VALUE) {
		err = aeg_elem_get(r, m->value_bytes_max, &v.value, &v.value_len);
		if (err < 0)
			return err;
	}
	struct aeg_slot_table *t = &m->entries;
	if (t->len > 0 && aeg_elem_cmp_raw(aeg_slot_at(t, t->len - 1), key, key_len) >= 0)
		return -EINVAL;
	aeg_hlc_ts_decode(&v.ts, ts_bytes);
	uint8_t *slot = aeg_slot_table_insert_at(t, t->len);
	aeg_elem_pack(slot, m->key_bytes_max, key, key_len);
	version_store(slot, layout_of(m), &v);
	return 0;
}

static int get_body(struct aeg_reader *r, void *obj)
{
	struct aeg_lwwmap *m = obj;
	uint64_t count = aeg_get_varint(r);
	if (r->error)
		return aeg_codec_error(r);
	if (count > m->entries.cap)
		return -ENOSPC;
	int err = 0;
	for (uint64_t i = 0; err == 0 && i < count; i++)
		err = get_entry(r, m);
	return err;
}

static void clear(void *obj)
{
	aeg_lwwmap_clear(obj);
}

int aeg_lwwmap_decode(struct aeg_lwwmap *m, const uint8_t *buf, size_t len)
{
	return aeg_crdt_decode(buf, len, AEG_CRDT_TAG_LWWMAP, m, get_body, clear);
}
