/* Range reads of lib/kv (aeg_kv_scan): one pass over the table keeps the
 * `max` smallest keys in range in a max-heap (the caller's array), then
 * sorts them. O(keys + hits x log max), no allocation: a scan costs a walk
 * of the whole shard, which is why callers bound how often and how much. */
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>

static bool item_less(const struct aeg_kv_item *a, const struct aeg_kv_item *b)
{
	return aeg_key_cmp(a->key, a->key_len, b->key, b->key_len) < 0;
}

static void sift_down(struct aeg_kv_item *v, uint32_t root, uint32_t n)
{
	for (uint32_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && item_less(&v[child], &v[child + 1]))
			child++;
		if (!item_less(&v[root], &v[child]))
			return;
		struct aeg_kv_item t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

static void sift_up(struct aeg_kv_item *v, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!item_less(&v[parent], &v[i]))
			return;
		struct aeg_kv_item t = v[parent];
		v[parent] = v[i];
		v[i] = t;
		i = parent;
	}
}

static bool in_range(const struct kv_ent *e, const struct aeg_kv_range *r)
{
	if (aeg_key_cmp(e->data, e->key_len, r->start, r->start_len) < 0)
		return false;
	return r->end_len == 0 || aeg_key_cmp(e->data, e->key_len, r->end, r->end_len) < 0;
}

int aeg_kv_scan(const struct aeg_kv *kv, const struct aeg_kv_range *r, struct aeg_kv_item *items,
		uint32_t max, bool *more)
{
	if (max == 0 || items == NULL || (r->start_len != 0 && r->start == NULL) ||
	    (r->end_len != 0 && r->end == NULL))
		return -EINVAL;
	*more = false;
	uint32_t n = 0;
	const struct kv_table *t = &kv->st.keys;
	for (size_t i = 0; i < t->cap; i++) {
		const struct kv_ent *e = t->slots[i].p;
		if (e == NULL || !in_range(e, r))
			continue;
		struct aeg_kv_item it = { .key = e->data, .key_len = e->key_len, .value = e->data + e->key_len,
					  .value_len = e->value_len, .version = e->version };
		if (n < max) {
			items[n] = it;
			sift_up(items, n++);
			continue;
		}
		*more = true;
		if (item_less(&it, &items[0])) {
			items[0] = it;
			sift_down(items, 0, n);
		}
	}
	/* Heapsort the kept ones: the largest goes last, one at a time. */
	for (uint32_t end = n; end > 1; end--) {
		struct aeg_kv_item top = items[0];
		items[0] = items[end - 1];
		items[end - 1] = top;
		sift_down(items, 0, end - 1);
	}
	for (uint32_t i = 1; i < n; i++)
		assert(item_less(&items[i - 1], &items[i]));
	return (int)n;
}

int aeg_kv_sample(const struct aeg_kv *kv, const struct aeg_kv_range *r, struct aeg_kv_item *items, uint32_t max)
{
	if (max == 0 || items == NULL || (r->start_len != 0 && r->start == NULL) ||
	    (r->end_len != 0 && r->end == NULL))
		return -EINVAL;
	uint32_t n = 0;
	const struct kv_table *t = &kv->st.keys;
	for (size_t i = 0; i < t->cap && n < max; i++) {
		const struct kv_ent *e = t->slots[i].p;
		if (e == NULL || !in_range(e, r))
			continue;
		items[n] = (struct aeg_kv_item){ .key = e->data, .key_len = e->key_len, .value = e->data + e->key_len,
						 .value_len = e->value_len, .version = e->version };
		sift_up(items, n++);
	}
	for (uint32_t end = n; end > 1; end--) {
		struct aeg_kv_item top = items[0];
		items[0] = items[end - 1];
		items[end - 1] = top;
		sift_down(items, 0, end - 1);
	}
	return (int)n;
}
