/* Views for snapshots written off the kv's thread (aegis/kv.h). The kv
 * never changes an entry in place: a write makes a new one and lets the
 * old go, a delete lets it go. While a view is open, "let go" means "kept
 * for the view", so the entries the view captured stay as they were until
 * it closes. Room to keep them is reserved before an apply changes
 * anything (kv_view_reserve), so keeping never fails. */
#include "aegis/kv.h"
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/codec.h"

struct aeg_kv_view {
	struct aeg_kv *kv;            /* NULL once the kv is freed */
	struct aeg_kv_alloc a;        /* the view's own memory: not in the kv's count */
	struct kv_snap_head head;
	struct kv_sort_key *keys;     /* head.keys entries (.e only until write) */
	uint8_t *tail;                /* sessions, fence, base: written at open */
	size_t tail_len;
	size_t size;                  /* the snapshot's bytes, 0 until computed */
	struct kv_ent **kept;         /* let go of by the kv since open */
	size_t n_kept, cap_kept;
	struct kv_slot *orphans;      /* the kv's table when it was freed */
	size_t orphans_cap;
};

static void *view_alloc(const struct aeg_kv_view *v, size_t n)
{
	return n == 0 ? NULL : v->a.alloc(v->a.ctx, n);
}

static void view_free(const struct aeg_kv_view *v, void *p, size_t n)
{
	if (p != NULL)
		v->a.free(v->a.ctx, p, n);
}

int aeg_kv_view_open(struct aeg_kv *kv, struct aeg_kv_view **out)
{
	if (kv->view != NULL)
		return -EBUSY;
	const struct kv_state *st = &kv->st;
	struct aeg_kv_view *v = kv->a.alloc(kv->a.ctx, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	memset(v, 0, sizeof(*v));
	v->a = kv->a;
	kv_snap_head_of(st, &v->head);
	v->tail_len = kv_snap_tail_size(st);
	v->keys = view_alloc(v, st->keys.len * sizeof(*v->keys));
	v->tail = view_alloc(v, v->tail_len);
	if ((st->keys.len != 0 && v->keys == NULL) || (v->tail_len != 0 && v->tail == NULL)) {
		view_free(v, v->keys, st->keys.len * sizeof(*v->keys));
		view_free(v, v->tail, v->tail_len);
		kv->a.free(kv->a.ctx, v, sizeof(*v));
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < st->keys.cap; i++)
		if (st->keys.slots[i].p != NULL)
			v->keys[n++].e = st->keys.slots[i].p;
	assert(n == st->keys.len);
	struct aeg_writer w;
	aeg_writer_init(&w, v->tail, v->tail_len);
	kv_snap_put_tail(&w, st);
	assert(!w.error && w.len == v->tail_len);
	v->kv = kv;
	kv->view = v;
	*out = v;
	return 0;
}

size_t aeg_kv_view_size(struct aeg_kv_view *v)
{
	if (v->size == 0) {
		size_t n = AEG_KV_SNAP_HDR_BYTES + v->tail_len;
		for (size_t i = 0; i < v->head.keys; i++)
			n += kv_snap_ent_bytes(v->keys[i].e);
		v->size = n;
	}
	return v->size;
}

int aeg_kv_view_write(struct aeg_kv_view *v, uint8_t *buf, size_t cap)
{
	size_t size = aeg_kv_view_size(v);
	if (cap < size)
		return -EMSGSIZE;
	for (size_t i = 0; i < v->head.keys; i++)
		v->keys[i] = kv_sort_key_of(v->keys[i].e);
	kv_snap_write(buf, size, &v->head, v->keys, v->tail, v->tail_len);
	return 0;
}

uint64_t aeg_kv_view_applied(const struct aeg_kv_view *v)
{
	return v->head.applied;
}

void aeg_kv_view_close(struct aeg_kv_view *v)
{
	if (v == NULL)
		return;
	if (v->kv != NULL) {
		assert(v->kv->view == v);
		v->kv->view = NULL;
	}
	for (size_t i = 0; i < v->n_kept; i++)
		view_free(v, v->kept[i], kv_ent_bytes(v->kept[i]->key_len, v->kept[i]->value_len));
	for (size_t i = 0; i < v->orphans_cap; i++) {
		struct kv_ent *e = v->orphans[i].p;
		if (e != NULL)
			view_free(v, e, kv_ent_bytes(e->key_len, e->value_len));
	}
	view_free(v, v->orphans, v->orphans_cap * sizeof(*v->orphans));
	view_free(v, v->kept, v->cap_kept * sizeof(*v->kept));
	view_free(v, v->keys, v->head.keys * sizeof(*v->keys));
	view_free(v, v->tail, v->tail_len);
	struct aeg_kv_alloc a = v->a;
	a.free(a.ctx, v, sizeof(*v));
}

int kv_view_reserve(struct aeg_kv *kv, size_t n)
{
	struct aeg_kv_view *v = kv->view;
	if (v == NULL || v->cap_kept - v->n_kept >= n)
		return 0;
	size_t cap = v->cap_kept ? v->cap_kept : 64;
	while (cap - v->n_kept < n)
		cap *= 2;
	struct kv_ent **k = view_alloc(v, cap * sizeof(*k));
	if (k == NULL)
		return -ENOMEM;
	if (v->n_kept != 0)
		memcpy(k, v->kept, v->n_kept * sizeof(*k));
	view_free(v, v->kept, v->cap_kept * sizeof(*v->kept));
	v->kept = k;
	v->cap_kept = cap;
	return 0;
}

void kv_ent_free(struct aeg_kv *kv, struct kv_ent *e)
{
	size_t bytes = kv_ent_bytes(e->key_len, e->value_len);
	struct aeg_kv_view *v = kv->view;
	if (v == NULL) {
		kv_dealloc(kv, e, bytes);
		return;
	}
	/* The view's now: out of the kv's count, freed when it closes. */
	assert(v->n_kept < v->cap_kept);  /* kv_view_reserve came first */
	v->kept[v->n_kept++] = e;
	assert(kv->mem_bytes >= bytes);
	kv->mem_bytes -= bytes;
}

void kv_view_orphan(struct aeg_kv *kv)
{
	struct aeg_kv_view *v = kv->view;
	struct kv_table *t = &kv->st.keys;
	for (size_t i = 0; i < t->cap; i++) {
		const struct kv_ent *e = t->slots[i].p;
		if (e != NULL)
			kv->mem_bytes -= kv_ent_bytes(e->key_len, e->value_len);
	}
	kv->mem_bytes -= t->cap * sizeof(*t->slots);
	v->orphans = t->slots;
	v->orphans_cap = t->cap;
	memset(t, 0, sizeof(*t));
	v->kv = NULL;
	kv->view = NULL;
}
