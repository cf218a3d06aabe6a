/* The order of keys everywhere Aegis sorts them (snapshots, range shards,
 * scans): memcmp over the common length, then a prefix before its
 * extensions. An empty key is the least. */
#ifndef AEGIS_COMMON_KEY_ORDER_H
#define AEGIS_COMMON_KEY_ORDER_H

#include <stddef.h>
#include <string.h>

static inline int aeg_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = alen == 0 || blen == 0 ? 0 : memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

#endif
