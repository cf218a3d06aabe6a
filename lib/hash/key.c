/* Key hashing: XXH3-64, seedable. */
#include "aegis/hash.h"

#include <xxhash.h>

uint64_t aeg_hash_key(const void *key, size_t len, uint64_t seed)
{
	return XXH3_64bits_withSeed(key, len, seed);
}
