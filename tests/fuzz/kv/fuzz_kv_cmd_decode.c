/* Fuzz the kv command decoder: never crash or read out of bounds; an
 * accepted command re-encodes to exactly the input (one command, one
 * encoding; format 1 re-encodes as format 2 with seq_floor 0), and
 * applying it (then its retry) to a kv keeps the kv sane. */
#include "aegis/kv.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aeg_kv_cmd c;
	int rc = aeg_kv_cmd_decode(&c, data, size);
	assert(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE);
	if (rc == 0 && data[0] == AEG_KV_CMD_FORMAT_V1) {
		/* The old format: the same command with seq_floor 0, re-encoded
		 * as format 2 (one byte more: the floor's varint 0). */
		assert(c.seq_floor == 0 && aeg_kv_cmd_size(&c) == size + 1);
		uint8_t *again = malloc(size + 1);
		if (again == NULL)
			abort();
		assert(aeg_kv_cmd_encode(&c, again, size + 1) == (int)size + 1);
		struct aeg_kv_cmd d;
		assert(aeg_kv_cmd_decode(&d, again, size + 1) == 0);
		assert(d.op == c.op && d.client_id == c.client_id && d.seq == c.seq &&
		       d.seq_floor == 0 && d.expect_version == c.expect_version &&
		       d.time_ms == c.time_ms && d.key_len == c.key_len && d.value_len == c.value_len);
		assert(memcmp(d.key, c.key, c.key_len) == 0);
		assert(c.value_len == 0 || memcmp(d.value, c.value, c.value_len) == 0);
		free(again);
	} else if (rc == 0) {
		assert(aeg_kv_cmd_size(&c) == size);
		uint8_t *again = malloc(size);
		if (again == NULL)
			abort();
		assert(aeg_kv_cmd_encode(&c, again, size) == (int)size);
		assert(memcmp(again, data, size) == 0);
		free(again);
	}
	if (size > UINT32_MAX)
		return 0;
	struct aeg_kv_limits lim = { .key_bytes_max = 64, .value_bytes_max = 256,
				     .mem_bytes_max = 512, .sessions_max = 2 };
	struct aeg_kv *kv;
	if (aeg_kv_new(&kv, &lim, NULL) != 0)
		abort();
	struct aeg_kv_result res[2];
	for (uint64_t i = 0; i < 2; i++) {
		int arc = aeg_kv_apply(kv, i + 1, data, (uint32_t)size, &res[i]);
		assert(arc == (rc == 0 || size == 0 ? 0 : -EINVAL));
	}
	if (rc == 0 && c.seq != 0 && res[0].status != AEG_KV_SESSION_EXPIRED) {
		assert(res[1].duplicate);
		assert(res[1].status == res[0].status && res[1].version == res[0].version);
	}
	/* Below its own floor: refused both times, nothing remembered. */
	if (rc == 0 && c.seq != 0 && c.seq_floor > c.seq)
		assert(res[0].status == AEG_KV_SESSION_EXPIRED && res[1].status == res[0].status);
	struct aeg_kv_stats st;
	aeg_kv_stats_get(kv, &st);
	/* An accepted write counts its session's growth: never over budget. */
	/* One key a command, but a COPY_BATCH (every key of it, or none). */
	assert((st.keys <= 1 || (rc == 0 && c.op == AEG_KV_COPY_BATCH)) && st.logical_bytes <= lim.mem_bytes_max &&
	       st.sessions <= 1);
	assert(st.session_results <= 1);
	assert(aeg_kv_applied(kv) == 2);
	aeg_kv_free(kv);
	return 0;
}
