/* Pointwise-max merge of two arrays of (id, count) pairs sorted by id: the
 * join of vector clocks and of G-Counters. Their entry structs differ in
 * field names, so the functions are generated per type:
 *
 *   AEG_SORTED_MAX_MERGE_DEFINE(prefix, type, id_field, count_field)
 *
 * defines prefix_union_len(a, a_len, b, b_len): distinct ids in a ∪ b, and
 * prefix_merge(dst, dst_len, src, src_len, n): dst = max(dst, src) in place,
 * where n = prefix_union_len(...) and dst has room for n entries. */
#ifndef AEGIS_COMMON_SORTED_MAX_MERGE_H
#define AEGIS_COMMON_SORTED_MAX_MERGE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define AEG_SORTED_MAX_MERGE_DEFINE(prefix, type, id, count)                           \
	static inline uint32_t prefix##_union_len(const type *a, uint32_t a_len,        \
						   const type *b, uint32_t b_len)        \
	{                                                                               \
		uint32_t i = 0, j = 0, n = 0;                                           \
		while (i < a_len && j < b_len) {                                        \
			uint32_t ia = a[i].id, ib = b[j].id;                            \
			i += ia <= ib;                                                  \
			j += ib <= ia;                                                  \
			n++;                                                            \
		}                                                                       \
		return n + (a_len - i) + (b_len - j);                                   \
	}                                                                               \
                                                                                        \
	/* Fill from the back so dst's unread entries are never overwritten          \
	 * (k >= i at every step), as in the classic in-place merge. */              \
	static inline void prefix##_merge(type *dst, uint32_t dst_len, const type *src, \
					  uint32_t src_len, uint32_t n)                 \
	{                                                                               \
		uint32_t i = dst_len, j = src_len, k = n;                               \
		while (j > 0) {                                                         \
			const type *s = &src[j - 1];                                    \
			type *d = i > 0 ? &dst[i - 1] : NULL;                           \
			assert(k > 0);                                                  \
			if (d != NULL && d->id > s->id) {                               \
				dst[--k] = *d;                                          \
				i--;                                                    \
			} else if (d != NULL && d->id == s->id) {                       \
				type m = *s;                                            \
				if (d->count > m.count)                                 \
					m.count = d->count;                             \
				dst[--k] = m;                                           \
				i--;                                                    \
				j--;                                                    \
			} else {                                                        \
				dst[--k] = *s;                                          \
				j--;                                                    \
			}                                                               \
		}                                                                       \
		/* What is left of dst already sits at its final place. */             \
		assert(k == i);                                                         \
		(void)i;                                                                \
	}

#endif
