/* OR-Set dot index: the entries' dots in (node, counter) order with the
 * entry position of each, so that a merge finds the entries a small
 * context covers without walking them all. Entry positions move when
 * entries are inserted or removed; the mutators shift them here. */
#include "orset_internal.h"

static int ref_cmp(const struct aeg_orset_dot_ref *a, const struct aeg_orset_dot_ref *b)
{
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	if (a->entry != b->entry)
		return a->entry < b->entry ? -1 : 1;
	return 0;
}

static struct aeg_orset_dot_ref ref_of(const struct aeg_orset *s, uint32_t entry)
{
	struct aeg_dot d = aeg_orset_dot_at(s, entry);
	struct aeg_orset_dot_ref r = { d.counter, d.node, entry };
	return r;
}

/* Lower bound of key. */
static uint32_t ref_search(const struct aeg_orset *s, const struct aeg_orset_dot_ref *key)
{
	uint32_t lo = 0, hi = s->by_dot_len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ref_cmp(&s->by_dot[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void aeg_orset_dots_forget(struct aeg_orset *s, uint32_t entry)
{
	if (!s->by_dot_ok)
		return;
	struct aeg_orset_dot_ref key = ref_of(s, entry);
	uint32_t k = ref_search(s, &key);
	assert(k < s->by_dot_len && ref_cmp(&s->by_dot[k], &key) == 0);
	memmove(&s->by_dot[k], &s->by_dot[k + 1], (s->by_dot_len - k - 1) * sizeof(key));
	s->by_dot_len--;
}

void aeg_orset_dots_shift(struct aeg_orset *s, uint32_t from, int32_t delta)
{
	if (!s->by_dot_ok || delta == 0)
		return;
	/* Dot order is unrelated to entry order: without a branch, as a
	 * mispredicted one per ref costs more than the whole loop. */
	uint32_t step = (uint32_t)delta; /* modulo 2^32, as the sum wraps back */
	for (uint32_t k = 0; k < s->by_dot_len; k++)
		s->by_dot[k].entry += step & -(uint32_t)(s->by_dot[k].entry >= from);
}

void aeg_orset_dots_place(struct aeg_orset *s, uint32_t entry)
{
	if (!s->by_dot_ok)
		return;
	assert(s->by_dot_len < s->entries.cap);
	struct aeg_orset_dot_ref key = ref_of(s, entry);
	uint32_t k = ref_search(s, &key);
	memmove(&s->by_dot[k + 1], &s->by_dot[k], (s->by_dot_len - k) * sizeof(key));
	s->by_dot[k] = key;
	s->by_dot_len++;
}

static void sift_down(struct aeg_orset_dot_ref *a, uint32_t root, uint32_t n)
{
	for (;;) {
		uint32_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && ref_cmp(&a[child], &a[child + 1]) < 0)
			child++;
		if (ref_cmp(&a[root], &a[child]) >= 0)
			return;
		struct aeg_orset_dot_ref t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

void aeg_orset_dots_rebuild(struct aeg_orset *s)
{
	uint32_t n = s->entries.len;
	struct aeg_orset_dot_ref *a = s->by_dot;
	for (uint32_t i = 0; i < n; i++)
		a[i] = ref_of(s, i);
	for (uint32_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (uint32_t end = n; end-- > 1;) {
		struct aeg_orset_dot_ref t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
	s->by_dot_len = n;
	s->by_dot_ok = true;
	s->by_dot_walks = 0;
}

uint32_t aeg_orset_dots_after(const struct aeg_orset *s, uint32_t node, uint64_t counter)
{
	assert(s->by_dot_ok);
	/* Past every entry of (node, counter): the next counter's first, or
	 * the next node's when counter is the last one. */
	struct aeg_orset_dot_ref key = { counter + 1, node, 0 };
	if (counter == UINT64_MAX) {
		if (node == UINT32_MAX)
			return s->by_dot_len;
		key.node = node + 1;
		key.counter = 0;
	}
	return ref_search(s, &key);
}

bool aeg_orset_dots_consistent(const struct aeg_orset *s)
{
	if (!s->by_dot_ok || s->by_dot_len != s->entries.len)
		return false;
	for (uint32_t k = 0; k < s->by_dot_len; k++) {
		const struct aeg_orset_dot_ref *r = &s->by_dot[k];
		struct aeg_orset_dot_ref want;
		if (r->entry >= s->entries.len)
			return false;
		want = ref_of(s, r->entry);
		if (ref_cmp(r, &want) != 0 || (k > 0 && ref_cmp(&s->by_dot[k - 1], r) >= 0))
			return false;
	}
	return true;
}
