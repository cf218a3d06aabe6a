/* aegis/hash.h — key hashing and consistent hashing: a ring with virtual
 * nodes, jump consistent hash, and rendezvous (highest random weight).
 * Pure: no clock, no syscalls; memory is allocated at init only. */
#ifndef AEGIS_HASH_H
#define AEGIS_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XXH3-64 of the key with a seed. The same key and seed give the same hash
 * on every machine and every run. */
uint64_t aeg_hash_key(const void *key, size_t len, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif
