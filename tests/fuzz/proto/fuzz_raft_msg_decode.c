/* libFuzzer target for the Raft message decoder (aegis/raft_codec.h). Any
 * input must decode or be refused with one of the documented errors,
 * without reading outside it (the input is copied to a buffer of exactly
 * its length); an accepted message must re-encode to exactly the input
 * bytes (one encoding per message), report that size, and point its
 * entries and chunk into the input. With fewer entry slots the same input
 * must give the same answer or -ENOBUFS. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/raft_codec.h"

#define ENTS_MAX 256

static struct aeg_raft_entry ents[ENTS_MAX];
static uint8_t out[1 << 20];

static void check_inside(const uint8_t *p, uint32_t len, const uint8_t *buf, size_t size)
{
	if (len == 0 ? p != NULL : (p < buf || p + len > buf + size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = size ? malloc(size) : NULL;
	if (size && buf == NULL)
		return 0;
	if (size)
		memcpy(buf, data, size);
	struct aeg_raft_msg m;
	struct aeg_raft_conf conf;
	int rc = aeg_raft_msg_decode(&m, ents, ENTS_MAX, &conf, buf, size);
	if (rc != 0 && rc != -EMSGSIZE && rc != -EINVAL && rc != -ENOBUFS)
		abort();
	if (rc == 0) {
		if (m.entries != ents || m.n_entries > ENTS_MAX ||
		    (m.snap_conf != NULL && m.snap_conf != &conf) ||
		    (m.snap_conf != NULL) != (m.type == AEG_RAFT_MSG_SNAPSHOT))
			abort();
		for (uint32_t i = 0; i < m.n_entries; i++)
			check_inside(ents[i].data, ents[i].len, buf, size);
		check_inside(m.snap_data, m.snap_len, buf, size);
		if (aeg_raft_msg_size(&m) != size)
			abort();
		int n = size <= sizeof(out) ? aeg_raft_msg_encode(&m, out, sizeof(out)) : -1;
		if (size <= sizeof(out) && (n != (int)size || memcmp(out, buf, size) != 0))
			abort();
		/* Too little room for the entries: refused as such, nothing else. */
		if (m.n_entries > 0) {
			struct aeg_raft_msg m2;
			int rc2 = aeg_raft_msg_decode(&m2, ents, m.n_entries - 1, &conf, buf, size);
			if (rc2 != -ENOBUFS)
				abort();
		}
	}
	free(buf);
	return 0;
}
