/* lib/kv internals: the open addressing table, entries, sessions and the
 * state a snapshot replaces as a whole. */
#ifndef AEGIS_KV_INT_H
#define AEGIS_KV_INT_H

#include "aegis/kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/key_order.h"

/* One key: a single block of header, key bytes, value bytes. */
struct kv_ent {
	uint64_t version;
	uint32_t key_len;
	uint32_t value_len;
	uint8_t data[]; /* key, then value */
};

static inline size_t kv_ent_bytes(uint32_t key_len, uint32_t value_len)
{
	return sizeof(struct kv_ent) + (size_t)key_len + value_len;
}

/* Logical bytes of a key: what the budget counts on every replica alike. */
static inline uint64_t kv_logical(uint32_t key_len, uint32_t value_len)
{
	return (uint64_t)key_len + value_len + AEG_KV_KEY_OVERHEAD;
}

/* One remembered result of a session. */
struct kv_res {
	uint64_t seq;
	uint64_t version;
	uint8_t status; /* enum aeg_kv_status, never SESSION_EXPIRED */
};

/* One client session, on a list from least to most recently used.
 * res[0..n) ascending by seq, all > floor; n <= session_results_max. */
struct kv_sess {
	uint64_t client_id;
	uint64_t floor;   /* every seq <= floor is forgotten */
	uint64_t last_ms; /* state time when last used */
	struct kv_res *res;
	uint32_t n;
	uint32_t cap;
	struct kv_sess *older;
	struct kv_sess *newer;
};

static inline uint64_t kv_sess_logical(uint32_t n)
{
	return AEG_KV_SESSION_OVERHEAD + (uint64_t)n * AEG_KV_RESULT_BYTES;
}

/* Linear probing, backward-shift deletion (no tombstones). p == NULL is an
 * empty slot; hash is kept so that growth and probing never touch the
 * items. cap is 0 or a power of two; len <= cap * 3 / 4. */
struct kv_slot {
	uint64_t hash;
	void *p;
};

struct kv_table {
	struct kv_slot *slots;
	size_t cap;
	size_t len;
};

/* Everything a snapshot load replaces. */
struct kv_state {
	struct kv_table keys;  /* struct kv_ent */
	struct kv_table sess;  /* struct kv_sess, by client_id */
	struct kv_sess *oldest;
	struct kv_sess *newest;
	uint64_t applied;
	uint64_t now_ms;       /* largest cmd.time_ms applied */
	uint64_t logical_bytes; /* keys and sessions */
	uint64_t results;       /* remembered, over all sessions */
	uint64_t vbase;         /* version base: a write's version is index + vbase */
	bool fenced;            /* FENCE: writes of keys >= fence are MOVED */
	uint8_t *fence;         /* fence_len bytes from the allocator (NULL if 0) */
	uint32_t fence_len;
};

/* One key of a COPY_BATCH value (kv_cmd.c): its parts, views into the value. */
struct kv_copy_item {
	const uint8_t *key, *value;
	uint32_t key_len, value_len;
	uint64_t version;
};
/* The next item of a COPY_BATCH value at *pos (advanced): 1, 0 at the end,
 * -1 malformed (truncated, an empty key, version 0). */
int kv_copy_next(const uint8_t *v, uint32_t len, uint32_t *pos, struct kv_copy_item *it);

/* A write of this key is refused by the fence. */
static inline bool kv_fenced(const struct kv_state *st, const void *key, uint32_t len)
{
	return st->fenced && aeg_key_cmp(key, len, st->fence, st->fence_len) >= 0;
}

struct aeg_kv {
	struct aeg_kv_limits lim;
	struct aeg_kv_alloc a;
	uint64_t mem_bytes;
	struct kv_state st;
	struct aeg_kv_view *view;  /* open: entries let go of are kept for it */
};

/* kv_snapshot.c: the writer, shared by aeg_kv_snapshot_write and views. */
struct kv_sort_key {
	uint64_t hi, lo;
	const struct kv_ent *e;
};
struct kv_sort_key kv_sort_key_of(const struct kv_ent *e);
void kv_sort_keys(struct kv_sort_key *v, size_t n);
struct kv_snap_head {
	uint64_t applied, now_ms, keys, sessions;
	uint32_t flags;
};
void kv_snap_head_of(const struct kv_state *st, struct kv_snap_head *h);
size_t kv_snap_ent_bytes(const struct kv_ent *e);
/* Sessions, fence and version base: the bytes after the keys. */
size_t kv_snap_tail_size(const struct kv_state *st);
struct aeg_writer;
void kv_snap_put_tail(struct aeg_writer *w, const struct kv_state *st);
/* The whole snapshot of size bytes: v (h->keys entries, sorted here) then
 * the tail. */
void kv_snap_write(uint8_t *buf, size_t size, const struct kv_snap_head *h, struct kv_sort_key *v,
		   const uint8_t *tail, size_t tail_len);

/* kv_view.c. An entry the kv lets go of: freed, or kept for the open view
 * (room reserved by kv_view_reserve before the change began). */
void kv_ent_free(struct aeg_kv *kv, struct kv_ent *e);
/* Room to keep n more entries for the open view (0 without one). 0 or
 * -ENOMEM (nothing changed). */
int kv_view_reserve(struct aeg_kv *kv, size_t n);
/* aeg_kv_free with a view open: the view takes the entries. */
void kv_view_orphan(struct aeg_kv *kv);

/* kv.c: allocation through the caller's allocator, counted. */
void *kv_alloc(struct aeg_kv *kv, size_t n);
void kv_dealloc(struct aeg_kv *kv, void *p, size_t n);
/* Frees every key, session and table of st (st left empty). */
void kv_state_clear(struct aeg_kv *kv, struct kv_state *st);

/* kv_table.c */
typedef bool (*kv_eq_fn)(const void *item, const void *ctx);
/* Slot index of the item with this hash that eq accepts, or SIZE_MAX. */
size_t kv_table_find(const struct kv_table *t, uint64_t hash, kv_eq_fn eq, const void *ctx);
/* Room for one more item (doubling when 3/4 full). 0 or -ENOMEM (t unchanged). */
int kv_table_reserve(struct aeg_kv *kv, struct kv_table *t);
/* Room for n more items at once. */
int kv_table_reserve_n(struct aeg_kv *kv, struct kv_table *t, size_t n);
/* Needs room (kv_table_reserve); the item must not be in t. */
void kv_table_insert(struct kv_table *t, uint64_t hash, void *p);
void kv_table_remove_at(struct kv_table *t, size_t idx);
void kv_table_free(struct aeg_kv *kv, struct kv_table *t);

uint64_t kv_key_hash(const struct aeg_kv *kv, const void *key, uint32_t key_len);
uint64_t kv_client_hash(const struct aeg_kv *kv, uint64_t client_id);

/* kv_session.c */
struct kv_sess *kv_sess_find(const struct aeg_kv *kv, const struct kv_state *st,
			     uint64_t client_id);
bool kv_sess_expired(const struct aeg_kv *kv, const struct kv_sess *s, uint64_t now_ms);
/* Drops every session expired at now_ms (oldest first). */
void kv_sess_purge(struct aeg_kv *kv, struct kv_state *st, uint64_t now_ms);
/* Unlinks and frees s (and its results). */
void kv_sess_drop(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s);
/* Frees s and its results; s must not be in a state. */
void kv_sess_free(struct aeg_kv *kv, struct kv_sess *s);
/* Moves s to the newest end of the list. */
void kv_sess_touch(struct kv_state *st, struct kv_sess *s, uint64_t now_ms);
/* Adds s (allocated, client_id, floor and results set; table room
 * reserved) as the newest, evicting the least recently used first when
 * sessions_max are in use. */
void kv_sess_add(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s, uint64_t now_ms);

/* kv_window.c: what a session command does to its session, decided and
 * allocated by begin (nothing changes), done by commit (nothing fails). */
struct kv_sess_plan {
	struct kv_sess *s;     /* the live session, or NULL */
	struct kv_sess *fresh; /* a new session, added at commit */
	struct kv_res *grown;  /* a larger results array, swapped in at commit */
	uint32_t grown_cap;
	uint64_t floor;        /* the session's floor after the floor raise */
	bool answered;         /* res is the answer: nothing to apply or record */
	int64_t logical_delta; /* what the session's logical bytes change by */
};
/* 0 or -ENOMEM (nothing held). */
int kv_sess_begin(struct aeg_kv *kv, const struct aeg_kv_cmd *c, uint64_t now_ms,
		  struct kv_sess_plan *p, struct aeg_kv_result *res);
void kv_sess_abort(struct aeg_kv *kv, struct kv_sess_plan *p);
/* After kv_sess_purge(now_ms): raises the floor, remembers res (unless
 * answered), touches the session. */
void kv_sess_commit(struct aeg_kv *kv, struct kv_state *st, struct kv_sess_plan *p,
		    uint64_t seq, const struct aeg_kv_result *res, uint64_t now_ms);
/* Forgets results <= floor and raises s->floor to it (if higher). */
void kv_sess_raise_floor(struct kv_state *st, struct kv_sess *s, uint64_t floor);

#endif
