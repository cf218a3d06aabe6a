/* Fuzz kv snapshot loading: never crash; a refused snapshot leaves the kv
 * as it was; an accepted one writes back to exactly the same bytes (an
 * older format: to the current one, which then round-trips) and keeps
 * working. A second pass fixes the CRC so that the fuzzer reaches the
 * structural checks behind it. */
#include "aegis/kv.h"
#include "aegis/wal.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *snap_of(const struct aeg_kv *kv, size_t *len)
{
	*len = aeg_kv_snapshot_size(kv);
	uint8_t *buf = malloc(*len);
	if (buf == NULL || aeg_kv_snapshot_write(kv, buf, *len) != 0)
		abort();
	return buf;
}

static void load_and_check(const uint8_t *data, size_t size)
{
	/* Limits no snapshot of the fuzzer can exceed, so an accepted one
	 * loads whole (nothing dropped) and writes back to the same bytes. */
	struct aeg_kv_limits lim = { .sessions_max = 1u << 20, .session_results_max = 1u << 20 };
	struct aeg_kv *kv;
	if (aeg_kv_new(&kv, &lim, NULL) != 0)
		abort();
	struct aeg_kv_cmd c = { .op = AEG_KV_PUT, .key = "k", .key_len = 1, .value = "v",
				.value_len = 1, .client_id = 1, .seq = 1 };
	uint8_t cmd[64];
	int n = aeg_kv_cmd_encode(&c, cmd, sizeof(cmd));
	struct aeg_kv_result res;
	if (n <= 0 || aeg_kv_apply(kv, 1, cmd, (uint32_t)n, &res) != 0)
		abort();
	size_t before_len;
	uint8_t *before = snap_of(kv, &before_len);
	int rc = aeg_kv_snapshot_load(kv, data, size);
	size_t after_len;
	uint8_t *after = snap_of(kv, &after_len);
	if (rc != 0) {
		assert(rc == -EINVAL || rc == -EMSGSIZE);
		assert(after_len == before_len && memcmp(after, before, after_len) == 0);
	} else {
		uint32_t format;
		memcpy(&format, data + 4, sizeof(format));  /* little-endian, as the format says */
		if (format == AEG_KV_SNAP_FORMAT) {
			assert(after_len == size && memcmp(after, data, size) == 0);
		} else {
			/* An older format is written back as the current one, which
			 * round-trips byte for byte. */
			struct aeg_kv *again;
			if (aeg_kv_new(&again, &lim, NULL) != 0)
				abort();
			assert(aeg_kv_snapshot_load(again, after, after_len) == 0);
			size_t again_len;
			uint8_t *bytes = snap_of(again, &again_len);
			assert(again_len == after_len && memcmp(bytes, after, after_len) == 0);
			free(bytes);
			aeg_kv_free(again);
		}
		uint64_t next = aeg_kv_applied(kv) + 1;
		c.time_ms = 1ull << 40; /* expires every session */
		n = aeg_kv_cmd_encode(&c, cmd, sizeof(cmd));
		if (n <= 0 || (next != 0 && aeg_kv_apply(kv, next, cmd, (uint32_t)n, &res) != 0))
			abort();
	}
	free(before);
	free(after);
	aeg_kv_free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load_and_check(data, size);
	if (size < AEG_KV_SNAP_HDR_BYTES || size > (1u << 20))
		return 0;
	uint8_t *img = malloc(size);
	if (img == NULL)
		abort();
	memcpy(img, data, size);
	memset(img + 40, 0, 4);
	uint32_t crc = aeg_crc32c(0, img, size);
	for (int i = 0; i < 4; i++)
		img[40 + i] = (uint8_t)(crc >> (8 * i));
	load_and_check(img, size);
	free(img);
	return 0;
}
