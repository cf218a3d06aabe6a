/* Vector clocks: a sorted, fixed-capacity array of (node, counter) pairs.
 * Missing nodes count as 0 and zero counters are never stored, so a clock
 * has exactly one in-memory form. Merge and compare are single sorted-merge
 * passes, O(a.len + b.len). */
#include "common/sorted_max_merge.h"
#include "order.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void aeg_vclock_init(struct aeg_vclock *vc)
{
	assert(vc != NULL);
	vc->len = 0;
	/* Not needed for correctness; keeps copies and padding deterministic. */
	memset(vc->entries, 0, sizeof(vc->entries));
}

/* Index of node if present (*found = true), else where it would be inserted. */
static uint32_t vclock_find(const struct aeg_vclock *vc, uint32_t node, bool *found)
{
	uint32_t lo = 0, hi = vc->len;

	assert(vc->len <= AEG_VCLOCK_NODES_MAX);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (vc->entries[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < vc->len && vc->entries[lo].node == node;
	return lo;
}

uint64_t aeg_vclock_get(const struct aeg_vclock *vc, uint32_t node)
{
	bool found;
	uint32_t i = vclock_find(vc, node, &found);
	return found ? vc->entries[i].counter : 0;
}

int aeg_vclock_set(struct aeg_vclock *vc, uint32_t node, uint64_t counter)
{
	bool found;
	uint32_t i = vclock_find(vc, node, &found);
	struct aeg_vclock_entry *e = &vc->entries[i];

	if (found && counter != 0) {
		e->counter = counter;
	} else if (found) {
		memmove(e, e + 1, (vc->len - i - 1) * sizeof(*e));
		vc->len--;
		vc->entries[vc->len] = (struct aeg_vclock_entry){ 0 };
	} else if (counter != 0) {
		if (vc->len == AEG_VCLOCK_NODES_MAX)
			return -ENOSPC;
		memmove(e + 1, e, (vc->len - i) * sizeof(*e));
		e->node = node;
		e->counter = counter;
		vc->len++;
	}
	return 0;
}

int aeg_vclock_increment(struct aeg_vclock *vc, uint32_t node, uint64_t *counter_out)
{
	uint64_t c = aeg_vclock_get(vc, node);

	if (c == UINT64_MAX)
		return -EOVERFLOW;
	int rc = aeg_vclock_set(vc, node, c + 1);
	if (rc != 0)
		return rc;
	if (counter_out != NULL)
		*counter_out = c + 1;
	return 0;
}

AEG_SORTED_MAX_MERGE_DEFINE(vclock_entries, struct aeg_vclock_entry, node, counter)

int aeg_vclock_merge(struct aeg_vclock *dst, const struct aeg_vclock *src)
{
	uint32_t n = vclock_entries_union_len(dst->entries, dst->len, src->entries, src->len);

	if (n > AEG_VCLOCK_NODES_MAX)
		return -ENOSPC;
	vclock_entries_merge(dst->entries, dst->len, src->entries, src->len, n);
	dst->len = n;
	return 0;
}

enum aeg_order aeg_vclock_compare(const struct aeg_vclock *a, const struct aeg_vclock *b)
{
	bool a_less = false, b_less = false; /* some entry of a < b / of b < a */
	uint32_t i = 0, j = 0;

	while (i < a->len && j < b->len) {
		const struct aeg_vclock_entry *ea = &a->entries[i], *eb = &b->entries[j];
		if (ea->node < eb->node) {
			b_less = true; /* b has 0 there */
			i++;
		} else if (ea->node > eb->node) {
			a_less = true;
			j++;
		} else {
			a_less |= ea->counter < eb->counter;
			b_less |= ea->counter > eb->counter;
			i++;
			j++;
		}
	}
	b_less |= i < a->len;
	a_less |= j < b->len;
	return aeg_order_of(!b_less, !a_less);
}

bool aeg_vclock_descends(const struct aeg_vclock *a, const struct aeg_vclock *b)
{
	enum aeg_order o = aeg_vclock_compare(a, b);
	return o == AEG_ORDER_AFTER || o == AEG_ORDER_EQUAL;
}

bool aeg_vclock_equal(const struct aeg_vclock *a, const struct aeg_vclock *b)
{
	if (a->len != b->len)
		return false;
	for (uint32_t i = 0; i < a->len; i++) {
		if (a->entries[i].node != b->entries[i].node ||
		    a->entries[i].counter != b->entries[i].counter)
			return false;
	}
	return true;
}

bool aeg_vclock_valid(const struct aeg_vclock *vc)
{
	if (vc->len > AEG_VCLOCK_NODES_MAX)
		return false;
	for (uint32_t i = 0; i < vc->len; i++) {
		if (vc->entries[i].counter == 0)
			return false;
		if (i > 0 && vc->entries[i - 1].node >= vc->entries[i].node)
			return false;
	}
	return true;
}
