/* Client sessions: client_id -> (last seq, its result), kept on a list from
 * least to most recently used. Time is the state's own (the largest
 * cmd.time_ms applied), which only moves forward, so last_ms never
 * decreases along the list and expiry only ever looks at its oldest end. */
#include "kv/kv_int.h"

#include <assert.h>
#include <string.h>

static bool sess_eq(const void *item, const void *ctx)
{
	return ((const struct kv_sess *)item)->client_id == *(const uint64_t *)ctx;
}

static size_t sess_slot(const struct aeg_kv *kv, const struct kv_state *st, uint64_t client_id)
{
	return kv_table_find(&st->sess, kv_client_hash(kv, client_id), sess_eq, &client_id);
}

struct kv_sess *kv_sess_find(const struct aeg_kv *kv, const struct kv_state *st,
			     uint64_t client_id)
{
	size_t i = sess_slot(kv, st, client_id);
	return i == SIZE_MAX ? NULL : st->sess.slots[i].p;
}

bool kv_sess_expired(const struct aeg_kv *kv, const struct kv_sess *s, uint64_t now_ms)
{
	assert(s->last_ms <= now_ms);
	return now_ms - s->last_ms > kv->lim.session_ttl_ms;
}

static void list_unlink(struct kv_state *st, struct kv_sess *s)
{
	if (s->older != NULL)
		s->older->newer = s->newer;
	else
		st->oldest = s->newer;
	if (s->newer != NULL)
		s->newer->older = s->older;
	else
		st->newest = s->older;
	s->older = s->newer = NULL;
}

static void list_push_newest(struct kv_state *st, struct kv_sess *s)
{
	s->older = st->newest;
	s->newer = NULL;
	if (st->newest != NULL)
		st->newest->newer = s;
	else
		st->oldest = s;
	st->newest = s;
}

void kv_sess_drop(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s)
{
	size_t i = sess_slot(kv, st, s->client_id);
	assert(i != SIZE_MAX && st->sess.slots[i].p == s);
	kv_table_remove_at(&st->sess, i);
	list_unlink(st, s);
	kv_dealloc(kv, s, sizeof(*s));
}

void kv_sess_purge(struct aeg_kv *kv, struct kv_state *st, uint64_t now_ms)
{
	/* Bounded by the number of sessions. */
	while (st->oldest != NULL && kv_sess_expired(kv, st->oldest, now_ms))
		kv_sess_drop(kv, st, st->oldest);
}

void kv_sess_touch(struct kv_state *st, struct kv_sess *s, uint64_t now_ms)
{
	assert(now_ms >= s->last_ms);
	assert(st->newest == NULL || st->newest->last_ms <= now_ms);
	s->last_ms = now_ms;
	if (st->newest != s) {
		list_unlink(st, s);
		list_push_newest(st, s);
	}
}

void kv_sess_add(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s, uint64_t now_ms)
{
	assert(kv_sess_find(kv, st, s->client_id) == NULL);
	assert(st->sess.len <= kv->lim.sessions_max);
	if (st->sess.len == kv->lim.sessions_max)
		kv_sess_drop(kv, st, st->oldest);
	s->last_ms = now_ms;
	kv_table_insert(&st->sess, kv_client_hash(kv, s->client_id), s);
	list_push_newest(st, s);
}
