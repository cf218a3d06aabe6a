/* lib/kv internals: the open addressing table, entries, sessions and the
 * state a snapshot replaces as a whole. */
#ifndef AEGIS_KV_INT_H
#define AEGIS_KV_INT_H

#include "aegis/kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* One client session, on a list from least to most recently used. */
struct kv_sess {
	uint64_t client_id;
	uint64_t seq;     /* last seq applied */
	uint64_t last_ms; /* state time when last used */
	uint64_t version; /* result of seq */
	uint8_t status;   /* result of seq (enum aeg_kv_status) */
	struct kv_sess *older;
	struct kv_sess *newer;
};

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
	uint64_t logical_bytes;
};

struct aeg_kv {
	struct aeg_kv_limits lim;
	struct aeg_kv_alloc a;
	uint64_t mem_bytes;
	struct kv_state st;
};

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
/* Unlinks and frees s. */
void kv_sess_drop(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s);
/* Moves s to the newest end of the list. */
void kv_sess_touch(struct kv_state *st, struct kv_sess *s, uint64_t now_ms);
/* Adds s (allocated, client_id set; table room reserved) as the newest,
 * evicting the least recently used first when sessions_max are in use. */
void kv_sess_add(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s, uint64_t now_ms);

#endif
