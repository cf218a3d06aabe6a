/* The kv state machine of one shard: apply, get, limits, accounting.
 * Apply first decides the outcome and takes every allocation it needs, and
 * only then changes state, so that -ENOMEM leaves the kv as it was. */
#include "aegis/kv.h"
#include "aegis/hash.h"
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KV_HASH_SEED_DEFAULT 0x61656769736b7673ull /* "aegiskvs" */

static void *malloc_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void malloc_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

void *kv_alloc(struct aeg_kv *kv, size_t n)
{
	void *p = kv->a.alloc(kv->a.ctx, n);
	if (p != NULL)
		kv->mem_bytes += n;
	return p;
}

void kv_dealloc(struct aeg_kv *kv, void *p, size_t n)
{
	assert(kv->mem_bytes >= n);
	kv->mem_bytes -= n;
	kv->a.free(kv->a.ctx, p, n);
}

const char *aeg_kv_status_name(enum aeg_kv_status s)
{
	switch (s) {
	case AEG_KV_OK: return "ok";
	case AEG_KV_NOT_FOUND: return "not_found";
	case AEG_KV_VERSION_MISMATCH: return "version_mismatch";
	case AEG_KV_TOO_LARGE: return "too_large";
	case AEG_KV_NO_SPACE: return "no_space";
	case AEG_KV_SESSION_EXPIRED: return "session_expired";
	case AEG_KV_MOVED: return "moved";
	}
	return "unknown";
}

uint64_t kv_key_hash(const struct aeg_kv *kv, const void *key, uint32_t key_len)
{
	return aeg_hash_key(key, key_len, kv->lim.hash_seed);
}

uint64_t kv_client_hash(const struct aeg_kv *kv, uint64_t client_id)
{
	/* splitmix64's finalizer: client ids are often sequential. */
	uint64_t z = client_id ^ kv->lim.hash_seed;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int aeg_kv_new(struct aeg_kv **out, const struct aeg_kv_limits *lim,
	       const struct aeg_kv_alloc *a)
{
	struct aeg_kv_alloc al = { malloc_alloc, malloc_free, NULL };
	if (a != NULL && a->alloc != NULL && a->free != NULL)
		al = *a;
	struct aeg_kv *kv = al.alloc(al.ctx, sizeof(*kv));
	if (kv == NULL)
		return -ENOMEM;
	memset(kv, 0, sizeof(*kv));
	kv->a = al;
	kv->mem_bytes = sizeof(*kv);
	if (lim != NULL)
		kv->lim = *lim;
	if (kv->lim.key_bytes_max == 0)
		kv->lim.key_bytes_max = AEG_KV_KEY_BYTES_MAX_DEFAULT;
	if (kv->lim.value_bytes_max == 0)
		kv->lim.value_bytes_max = AEG_KV_VALUE_BYTES_MAX_DEFAULT;
	if (kv->lim.sessions_max == 0)
		kv->lim.sessions_max = AEG_KV_SESSIONS_MAX_DEFAULT;
	if (kv->lim.session_ttl_ms == 0)
		kv->lim.session_ttl_ms = AEG_KV_SESSION_TTL_MS_DEFAULT;
	if (kv->lim.session_results_max == 0)
		kv->lim.session_results_max = AEG_KV_SESSION_RESULTS_MAX_DEFAULT;
	if (kv->lim.hash_seed == 0)
		kv->lim.hash_seed = KV_HASH_SEED_DEFAULT;
	*out = kv;
	return 0;
}

void kv_state_clear(struct aeg_kv *kv, struct kv_state *st)
{
	for (size_t i = 0; i < st->keys.cap; i++) {
		struct kv_ent *e = st->keys.slots[i].p;
		if (e != NULL)
			kv_ent_free(kv, e);
	}
	kv_table_free(kv, &st->keys);
	for (struct kv_sess *s = st->oldest, *next; s != NULL; s = next) {
		next = s->newer;
		kv_sess_free(kv, s);
	}
	kv_table_free(kv, &st->sess);
	if (st->fence != NULL)
		kv_dealloc(kv, st->fence, st->fence_len);
	memset(st, 0, sizeof(*st));
}

void aeg_kv_free(struct aeg_kv *kv)
{
	if (kv == NULL)
		return;
	if (kv->view != NULL)
		kv_view_orphan(kv);  /* its entries go with the view */
	kv_state_clear(kv, &kv->st);
	assert(kv->mem_bytes == sizeof(*kv));
	struct aeg_kv_alloc a = kv->a;
	a.free(a.ctx, kv, sizeof(*kv));
}

void aeg_kv_limits_get(const struct aeg_kv *kv, struct aeg_kv_limits *lim)
{
	*lim = kv->lim;
}

struct key_ref {
	const void *key;
	uint32_t len;
};

static bool key_eq(const void *item, const void *ctx)
{
	const struct kv_ent *e = item;
	const struct key_ref *k = ctx;
	return e->key_len == k->len && memcmp(e->data, k->key, k->len) == 0;
}

static size_t key_find(const struct aeg_kv *kv, uint64_t hash, const void *key, uint32_t len)
{
	struct key_ref k = { key, len };
	return kv_table_find(&kv->st.keys, hash, key_eq, &k);
}

void aeg_kv_prefetch(const struct aeg_kv *kv, const uint8_t *cmd, uint32_t len, int stage)
{
	const struct kv_table *t = &kv->st.keys;
	struct aeg_kv_cmd c;
	if (t->cap == 0 || aeg_kv_cmd_decode(&c, cmd, len) != 0)
		return;
	uint64_t hash = kv_key_hash(kv, c.key, c.key_len);
	size_t mask = t->cap - 1, i = (size_t)hash & mask;
	if (stage == 0) {
		__builtin_prefetch(&t->slots[i]);
		return;
	}
	/* The probe as in kv_table_find, hashes only, a few slots at most. */
	for (size_t n = 0; n < 4 && t->slots[i].p != NULL; n++, i = (i + 1) & mask) {
		if (t->slots[i].hash == hash) {
			__builtin_prefetch(t->slots[i].p);
			return;
		}
	}
}

int aeg_kv_get(const struct aeg_kv *kv, const void *key, uint32_t key_len,
	       const uint8_t **value, uint32_t *value_len, uint64_t *version)
{
	size_t i = key_find(kv, kv_key_hash(kv, key, key_len), key, key_len);
	if (i == SIZE_MAX)
		return -ENOENT;
	const struct kv_ent *e = kv->st.keys.slots[i].p;
	assert(e->version != 0 && e->version <= kv->st.applied + kv->st.vbase);
	if (value != NULL)
		*value = e->data + e->key_len;
	if (value_len != NULL)
		*value_len = e->value_len;
	if (version != NULL)
		*version = e->version;
	return 0;
}

bool aeg_kv_fence(const struct aeg_kv *kv, const uint8_t **key, uint32_t *key_len)
{
	*key = kv->st.fence;
	*key_len = kv->st.fence_len;
	return kv->st.fenced;
}

uint64_t aeg_kv_applied(const struct aeg_kv *kv)
{
	return kv->st.applied;
}

uint64_t aeg_kv_version_base(const struct aeg_kv *kv)
{
	return kv->st.vbase;
}

void aeg_kv_stats_get(const struct aeg_kv *kv, struct aeg_kv_stats *st)
{
	st->keys = kv->st.keys.len;
	st->logical_bytes = kv->st.logical_bytes;
	st->sessions = kv->st.sess.len;
	st->session_results = kv->st.results;
	st->mem_bytes = kv->mem_bytes;
}

/* What a write will do, decided before anything changes. */
struct kv_plan {
	struct aeg_kv_result res;
	uint64_t hash;
	size_t slot;          /* the key's slot, SIZE_MAX if absent */
	struct kv_ent *ent;   /* PUT/CAS that succeed: the new block */
};

/* sess_delta: what the command's session grows by (it counts in the budget
 * too, so that an accepted write never takes the shard over it). */
static void plan_write(struct aeg_kv *kv, const struct aeg_kv_cmd *c, uint64_t index,
		       int64_t sess_delta, struct kv_plan *p)
{
	const struct kv_ent *old = p->slot == SIZE_MAX ? NULL : kv->st.keys.slots[p->slot].p;
	if (c->key_len > kv->lim.key_bytes_max || c->value_len > kv->lim.value_bytes_max) {
		p->res.status = AEG_KV_TOO_LARGE;
		return;
	}
	if (c->op == AEG_KV_DEL) {
		p->res.status = old == NULL ? AEG_KV_NOT_FOUND : AEG_KV_OK;
		p->res.version = old == NULL ? 0 : index + kv->st.vbase;
		return;
	}
	uint64_t cur = old == NULL ? 0 : old->version;
	if (c->op == AEG_KV_CAS && cur != c->expect_version) {
		p->res.status = AEG_KV_VERSION_MISMATCH;
		p->res.version = cur;
		return;
	}
	uint64_t old_bytes = old == NULL ? 0 : kv_logical(old->key_len, old->value_len);
	uint64_t new_bytes = kv_logical(c->key_len, c->value_len);
	uint64_t after = kv->st.logical_bytes - old_bytes + new_bytes;
	after = sess_delta < 0 ? after - (uint64_t)-sess_delta : after + (uint64_t)sess_delta;
	/* A write that shrinks a key is always allowed: it frees budget. */
	if (kv->lim.mem_bytes_max != 0 && new_bytes > old_bytes && after > kv->lim.mem_bytes_max) {
		p->res.status = AEG_KV_NO_SPACE;
		return;
	}
	p->res.status = AEG_KV_OK;
	p->res.version = c->op == AEG_KV_COPY ? c->expect_version : index + kv->st.vbase;
}

/* Takes the memory the plan needs: 0 or -ENOMEM (nothing held). */
static int plan_alloc(struct aeg_kv *kv, const struct aeg_kv_cmd *c, uint64_t index,
		      struct kv_plan *p)
{
	if (p->res.status != AEG_KV_OK)
		return 0;
	if (p->slot != SIZE_MAX && kv_view_reserve(kv, 1) != 0)
		return -ENOMEM;  /* the entry it replaces may be in a view */
	if (c->op == AEG_KV_DEL)
		return 0;
	if (p->slot == SIZE_MAX && kv_table_reserve(kv, &kv->st.keys) != 0)
		return -ENOMEM;
	struct kv_ent *e = kv_alloc(kv, kv_ent_bytes(c->key_len, c->value_len));
	if (e == NULL)
		return -ENOMEM;
	(void)index;
	e->version = p->res.version;
	e->key_len = c->key_len;
	e->value_len = c->value_len;
	memcpy(e->data, c->key, c->key_len);
	if (c->value_len != 0)
		memcpy(e->data + c->key_len, c->value, c->value_len);
	p->ent = e;
	return 0;
}

static void plan_commit(struct aeg_kv *kv, const struct aeg_kv_cmd *c, struct kv_plan *p)
{
	struct kv_state *st = &kv->st;
	if (p->res.status != AEG_KV_OK)
		return;
	if (p->slot != SIZE_MAX) {
		struct kv_ent *old = st->keys.slots[p->slot].p;
		uint64_t old_bytes = kv_logical(old->key_len, old->value_len);
		assert(st->logical_bytes >= old_bytes);
		st->logical_bytes -= old_bytes;
		if (c->op == AEG_KV_DEL)
			kv_table_remove_at(&st->keys, p->slot);
		else
			st->keys.slots[p->slot].p = p->ent;
		kv_ent_free(kv, old);
	} else {
		assert(c->op != AEG_KV_DEL);
		kv_table_insert(&st->keys, p->hash, p->ent);
	}
	if (p->ent != NULL)
		st->logical_bytes += kv_logical(p->ent->key_len, p->ent->value_len);
}

/* After a COPY of version v at index: every later write's version is above v. */
static void vbase_raise(struct kv_state *st, uint64_t index, uint64_t v)
{
	if (v > index && v - index > st->vbase)
		st->vbase = v - index;
}

/* FENCE: the new fence's bytes are taken before the old go. */
static int apply_fence(struct aeg_kv *kv, const struct aeg_kv_cmd *c)
{
	struct kv_state *st = &kv->st;
	uint8_t *f = NULL;
	if (c->op == AEG_KV_FENCE && c->key_len != 0) {
		if ((f = kv_alloc(kv, c->key_len)) == NULL)
			return -ENOMEM;
		memcpy(f, c->key, c->key_len);
	}
	if (st->fence != NULL)
		kv_dealloc(kv, st->fence, st->fence_len);
	st->fence = f;
	st->fence_len = f != NULL ? c->key_len : 0;
	st->fenced = c->op == AEG_KV_FENCE;
	return 0;
}

/* DROP_FROM: the keys >= K are listed first (the only allocation), then
 * removed one by one (a removal shifts the table, so not while walking it). */
static int apply_drop_from(struct aeg_kv *kv, const struct aeg_kv_cmd *c, uint64_t *dropped)
{
	struct kv_state *st = &kv->st;
	size_t n = 0;
	for (size_t i = 0; i < st->keys.cap; i++) {
		const struct kv_ent *e = st->keys.slots[i].p;
		n += e != NULL && aeg_key_cmp(e->data, e->key_len, c->key, c->key_len) >= 0;
	}
	*dropped = n;
	if (n == 0)
		return 0;
	if (kv_view_reserve(kv, n) != 0)
		return -ENOMEM;
	struct kv_ent **v = kv_alloc(kv, n * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < st->keys.cap; i++) {
		struct kv_ent *e = st->keys.slots[i].p;
		if (e != NULL && aeg_key_cmp(e->data, e->key_len, c->key, c->key_len) >= 0)
			v[k++] = e;
	}
	assert(k == n);
	for (size_t j = 0; j < n; j++) {
		struct kv_ent *e = v[j];
		size_t slot = key_find(kv, kv_key_hash(kv, e->data, e->key_len), e->data, e->key_len);
		assert(slot != SIZE_MAX && st->keys.slots[slot].p == e);
		uint64_t bytes = kv_logical(e->key_len, e->value_len);
		assert(st->logical_bytes >= bytes);
		st->logical_bytes -= bytes;
		kv_table_remove_at(&st->keys, slot);
		kv_ent_free(kv, e);
	}
	kv_dealloc(kv, v, n * sizeof(*v));
	return 0;
}

/* COPY_BATCH: every key or none. Checked first (limits, fence, the
 * budget for the sum), then every block taken (-ENOMEM: all given back,
 * nothing changed), then committed. */
static int apply_copy_batch(struct aeg_kv *kv, uint64_t index, const struct aeg_kv_cmd *c,
			    struct aeg_kv_result *res)
{
	struct kv_state *st = &kv->st;
	const uint8_t *v = c->value;
	uint32_t pos = 0, n = 0, fresh = 0;
	uint64_t vmax = 0, grow = 0, shrink = 0;
	struct kv_copy_item it;
	*res = (struct aeg_kv_result){ .status = AEG_KV_OK };
	while (kv_copy_next(v, c->value_len, &pos, &it) == 1) {
		n++;
		if (it.key_len > kv->lim.key_bytes_max || it.value_len > kv->lim.value_bytes_max)
			res->status = AEG_KV_TOO_LARGE;
		else if (kv_fenced(st, it.key, it.key_len) && res->status == AEG_KV_OK)
			res->status = AEG_KV_MOVED;
		size_t slot = key_find(kv, kv_key_hash(kv, it.key, it.key_len), it.key, it.key_len);
		const struct kv_ent *old = slot == SIZE_MAX ? NULL : st->keys.slots[slot].p;
		fresh += old == NULL;
		grow += kv_logical(it.key_len, it.value_len);
		shrink += old == NULL ? 0 : kv_logical(old->key_len, old->value_len);
		if (it.version > vmax)
			vmax = it.version;
	}
	assert(n > 0);  /* decode checked the value */
	if (res->status == AEG_KV_OK && kv->lim.mem_bytes_max != 0 && grow > shrink &&
	    st->logical_bytes + (grow - shrink) > kv->lim.mem_bytes_max)
		res->status = AEG_KV_NO_SPACE;
	if (res->status != AEG_KV_OK)
		return 0;
	if (kv_view_reserve(kv, n - fresh) != 0)
		return -ENOMEM;
	struct kv_ent **ents = kv_alloc(kv, n * sizeof(*ents));
	if (ents == NULL || kv_table_reserve_n(kv, &st->keys, fresh) != 0) {
		if (ents != NULL)
			kv_dealloc(kv, ents, n * sizeof(*ents));
		return -ENOMEM;
	}
	pos = 0;
	for (uint32_t i = 0; i < n; i++) {
		(void)kv_copy_next(v, c->value_len, &pos, &it);
		ents[i] = kv_alloc(kv, kv_ent_bytes(it.key_len, it.value_len));
		if (ents[i] == NULL) {
			pos = 0;
			for (uint32_t j = 0; j < i; j++) {
				(void)kv_copy_next(v, c->value_len, &pos, &it);
				kv_dealloc(kv, ents[j], kv_ent_bytes(it.key_len, it.value_len));
			}
			kv_dealloc(kv, ents, n * sizeof(*ents));
			return -ENOMEM;
		}
		struct kv_ent *e = ents[i];
		e->version = it.version;
		e->key_len = it.key_len;
		e->value_len = it.value_len;
		memcpy(e->data, it.key, it.key_len);
		if (it.value_len != 0)
			memcpy(e->data + it.key_len, it.value, it.value_len);
	}
	/* Nothing can fail from here on. */
	for (uint32_t i = 0; i < n; i++) {
		struct kv_ent *e = ents[i];
		uint64_t hash = kv_key_hash(kv, e->data, e->key_len);
		size_t slot = key_find(kv, hash, e->data, e->key_len);
		if (slot != SIZE_MAX) {
			struct kv_ent *old = st->keys.slots[slot].p;
			st->logical_bytes -= kv_logical(old->key_len, old->value_len);
			st->keys.slots[slot].p = e;
			kv_ent_free(kv, old);
		} else {
			kv_table_insert(&st->keys, hash, e);
		}
		st->logical_bytes += kv_logical(e->key_len, e->value_len);
	}
	kv_dealloc(kv, ents, n * sizeof(*ents));
	vbase_raise(st, index, vmax);
	res->version = vmax;
	return 0;
}

static int apply_cmd(struct aeg_kv *kv, uint64_t index, const struct aeg_kv_cmd *c,
		     struct aeg_kv_result *res)
{
	struct kv_state *st = &kv->st;
	uint64_t now_ms = c->time_ms > st->now_ms ? c->time_ms : st->now_ms;
	if (c->op == AEG_KV_COPY_BATCH) {
		int rc = apply_copy_batch(kv, index, c, res);
		if (rc == 0)
			st->now_ms = now_ms;
		return rc;
	}
	if (c->op == AEG_KV_FENCE || c->op == AEG_KV_UNFENCE || c->op == AEG_KV_DROP_FROM) {
		uint64_t dropped = 0;
		int rc = c->op == AEG_KV_DROP_FROM ? apply_drop_from(kv, c, &dropped) : apply_fence(kv, c);
		if (rc != 0)
			return rc;
		st->now_ms = now_ms;
		*res = (struct aeg_kv_result){ .status = AEG_KV_OK, .version = index };
		return 0;
	}
	struct kv_sess_plan sp = { 0 };
	if (c->seq != 0 && kv_sess_begin(kv, c, now_ms, &sp, res) != 0)
		return -ENOMEM;
	bool answered = c->seq != 0 && sp.answered;
	if (!answered && kv_fenced(st, c->key, c->key_len)) {
		/* Not applied and not remembered: the write goes to the shard
		 * that holds the key now, where it applies once. */
		if (c->seq != 0)
			kv_sess_abort(kv, &sp);
		*res = (struct aeg_kv_result){ .status = AEG_KV_MOVED };
		return 0;
	}
	struct kv_plan p = { .slot = SIZE_MAX };
	if (!answered) {
		p.hash = kv_key_hash(kv, c->key, c->key_len);
		p.slot = key_find(kv, p.hash, c->key, c->key_len);
		plan_write(kv, c, index, sp.logical_delta, &p);
		if (plan_alloc(kv, c, index, &p) != 0) {
			kv_sess_abort(kv, &sp);
			return -ENOMEM;
		}
		*res = p.res;
	}
	/* Nothing can fail from here on. */
	kv_sess_purge(kv, st, now_ms);
	st->now_ms = now_ms;
	if (!answered)
		plan_commit(kv, c, &p);
	if (c->op == AEG_KV_COPY && p.res.status == AEG_KV_OK)
		vbase_raise(st, index, c->expect_version);
	if (c->seq != 0)
		kv_sess_commit(kv, st, &sp, c->seq, res, now_ms);
	return 0;
}

int aeg_kv_apply(struct aeg_kv *kv, uint64_t index, const uint8_t *cmd, uint32_t len,
		 struct aeg_kv_result *res)
{
	memset(res, 0, sizeof(*res));
	if (index == 0 || index <= kv->st.applied)
		return -ERANGE;
	int rc = 0;
	if (len != 0) {
		struct aeg_kv_cmd c;
		rc = aeg_kv_cmd_decode(&c, cmd, len);
		if (rc == 0) {
			if (apply_cmd(kv, index, &c, res) != 0) {
				memset(res, 0, sizeof(*res));
				return -ENOMEM;
			}
		} else {
			rc = -EINVAL;
		}
	}
	kv->st.applied = index;
	assert(kv->st.keys.len * 4 <= kv->st.keys.cap * 3);
	return rc;
}

int aeg_kv_apply_noop(struct aeg_kv *kv, uint64_t index)
{
	struct aeg_kv_result res;
	return aeg_kv_apply(kv, index, NULL, 0, &res);
}
