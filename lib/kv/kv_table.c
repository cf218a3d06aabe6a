/* The open addressing table of lib/kv: linear probing over (hash, pointer)
 * slots, backward-shift deletion so that no tombstones pile up, doubling
 * through the caller's allocator when 3/4 full (growth is rare; a shard
 * that stops growing never allocates a table again). The layout depends on
 * history, which is why snapshots sort keys instead of walking slots. */
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define KV_TABLE_CAP_MIN 16u

size_t kv_table_find(const struct kv_table *t, uint64_t hash, kv_eq_fn eq, const void *ctx)
{
	if (t->cap == 0)
		return SIZE_MAX;
	size_t mask = t->cap - 1;
	/* Bounded: len < cap, so an empty slot ends every probe. */
	for (size_t i = (size_t)hash & mask, n = 0; n < t->cap; i = (i + 1) & mask, n++) {
		const struct kv_slot *s = &t->slots[i];
		if (s->p == NULL)
			return SIZE_MAX;
		if (s->hash == hash && eq(s->p, ctx))
			return i;
	}
	assert(!"kv table without an empty slot");
	return SIZE_MAX;
}

static void table_put(struct kv_slot *slots, size_t cap, uint64_t hash, void *p)
{
	size_t mask = cap - 1;
	size_t i = (size_t)hash & mask;
	while (slots[i].p != NULL)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].p = p;
}

int kv_table_reserve(struct aeg_kv *kv, struct kv_table *t)
{
	return kv_table_reserve_n(kv, t, 1);
}

int kv_table_reserve_n(struct aeg_kv *kv, struct kv_table *t, size_t n)
{
	if ((t->len + n) * 4 <= t->cap * 3)
		return 0;
	size_t cap = t->cap == 0 ? KV_TABLE_CAP_MIN : t->cap * 2;
	while ((t->len + n) * 4 > cap * 3 && cap <= SIZE_MAX / 4)
		cap *= 2;
	assert(cap > t->cap && (cap & (cap - 1)) == 0);
	if (cap > SIZE_MAX / sizeof(struct kv_slot))
		return -ENOMEM;
	struct kv_slot *slots = kv_alloc(kv, cap * sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	memset(slots, 0, cap * sizeof(*slots));
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].p != NULL)
			table_put(slots, cap, t->slots[i].hash, t->slots[i].p);
	}
	if (t->slots != NULL)
		kv_dealloc(kv, t->slots, t->cap * sizeof(*t->slots));
	t->slots = slots;
	t->cap = cap;
	return 0;
}

void kv_table_insert(struct kv_table *t, uint64_t hash, void *p)
{
	assert(p != NULL);
	assert((t->len + 1) * 4 <= t->cap * 3);
	table_put(t->slots, t->cap, hash, p);
	t->len++;
}

/* Knuth 6.4 algorithm R: pull later items of the cluster back into the hole
 * unless that would move them before their home slot. */
void kv_table_remove_at(struct kv_table *t, size_t idx)
{
	assert(idx < t->cap && t->slots[idx].p != NULL);
	size_t mask = t->cap - 1;
	size_t hole = idx;
	for (size_t j = (idx + 1) & mask; t->slots[j].p != NULL; j = (j + 1) & mask) {
		size_t home = (size_t)t->slots[j].hash & mask;
		/* Movable iff home is not cyclically within (hole, j]. */
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	t->slots[hole].p = NULL;
	t->slots[hole].hash = 0;
	t->len--;
}

void kv_table_free(struct aeg_kv *kv, struct kv_table *t)
{
	if (t->slots != NULL)
		kv_dealloc(kv, t->slots, t->cap * sizeof(*t->slots));
	memset(t, 0, sizeof(*t));
}
