/* Fuzz the shard map decoder: never crash; an accepted map encodes back to
 * exactly the input and routes every key to a shard with distinct known
 * replicas. A second pass fixes the trailing CRC so that the fuzzer
 * reaches the structural checks. */
#include "aegis/shard.h"
#include "aegis/wal.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_and_check(const uint8_t *data, size_t size)
{
	struct aeg_shard_map *m;
	int rc = aeg_shard_map_decode(&m, data, size);
	if (rc != 0) {
		assert(rc == -EINVAL || rc == -EMSGSIZE || rc == -ENOMEM);
		return;
	}
	assert(aeg_shard_map_encoded_size(m) == size);
	uint8_t *again = malloc(size);
	if (again == NULL)
		abort();
	assert(aeg_shard_map_encode(m, again, size) == (int)size);
	assert(memcmp(again, data, size) == 0);
	free(again);
	uint32_t shards = aeg_shard_map_shard_count(m);
	for (size_t len = 0; len <= size && len < 64; len += 7) {
		uint32_t s = aeg_shard_for_key(m, data, len);
		assert(s < shards);
		uint32_t n;
		const uint32_t *r = aeg_shard_replicas(m, s, &n);
		assert(r != NULL && n == aeg_shard_map_replication_factor(m));
		for (uint32_t i = 0; i < n; i++) {
			uint32_t ip;
			uint16_t port;
			assert(aeg_shard_addr(m, s, r[i], &ip, &port) == 0);
			assert(aeg_shard_has_replica(m, s, r[i]));
		}
	}
	aeg_shard_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_and_check(data, size);
	if (size < 4 || size > (1u << 20))
		return 0;
	uint8_t *img = malloc(size);
	if (img == NULL)
		abort();
	memcpy(img, data, size);
	uint32_t crc = aeg_crc32c(0, img, size - 4);
	for (int i = 0; i < 4; i++)
		img[size - 4 + i] = (uint8_t)(crc >> (8 * i));
	decode_and_check(img, size);
	free(img);
	return 0;
}
