/* Jump consistent hash: Lamping & Veach, "A Fast, Minimal Memory,
 * Consistent Hash Algorithm" (2014), transcribed from the paper. */
#include "aegis/hash.h"

#include <errno.h>

int32_t aeg_jump_hash(uint64_t key_hash, int32_t buckets)
{
	if (buckets <= 0)
		return -EINVAL;
	int64_t b = -1, j = 0;
	while (j < buckets) {
		b = j;
		key_hash = key_hash * 2862933555777941757ull + 1;
		/* IEEE double division is exact-rounded: same on every machine. */
		j = (int64_t)((double)(b + 1) *
			      ((double)(1ll << 31) / (double)((key_hash >> 33) + 1)));
	}
	return (int32_t)b;
}
