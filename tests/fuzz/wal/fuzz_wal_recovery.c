/* Fuzz the recovery stager and the snapshot file decoder. The input is read
 * as records (type, group, index, term, payload length: 6 bytes each) fed
 * to the stager; whatever it accepts, the result must hold its promise:
 * every entry in (snap_index, last_index] is there, nothing outside. The
 * same bytes go to the snapshot decoder, whose accepted images re-encode to
 * the same header. */
#include "aegis/wal.h"
#include "aegis/wal_recovery.h"
#include "aegis/wal_snapshot.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_group(const struct aeg_wal_recovery *r, const struct aeg_wal_group_state *st)
{
	assert(st->first_index == st->snap_index + 1 && st->last_index >= st->snap_index);
	struct aeg_wal_entry_view e;
	assert(aeg_wal_recovery_entry(r, st->group, st->snap_index, &e) == -ENOENT || st->snap_index == 0);
	assert(aeg_wal_recovery_entry(r, st->group, st->last_index + 1, &e) == -ENOENT);
	for (uint64_t i = st->first_index; i <= st->last_index; i++) {
		assert(aeg_wal_recovery_entry(r, st->group, i, &e) == 0);
		assert(e.index == i && (e.len == 0 || e.data != NULL));
	}
}

static void stage(const uint8_t *data, size_t size)
{
	struct aeg_wal_recovery *r;
	if (aeg_wal_recovery_new(&r) != 0)
		return;
	static const uint8_t payload[256];
	for (size_t off = 0; off + 6 <= size; off += 6) {
		const uint8_t *p = data + off;
		struct aeg_wal_rec rec = { .type = p[0] % 9, .group = p[1] % 8, .index = p[2] | (p[3] & 1u) << 8,
					   .term = p[4] % 4, .len = p[5] };
		if (rec.type == AEG_WAL_ENTRY)
			rec.payload = payload;
		if (rec.type == AEG_WAL_HARD_STATE) {
			rec.len = p[5] & 1 ? AEG_WAL_HARD_STATE_BYTES : p[5] % 24;
			rec.payload = payload;
		}
		int rc = aeg_wal_recovery_add(r, &rec);
		assert(rc == 0 || rc == -EINVAL || rc == -EBADMSG || rc == -ENOMEM);
	}
	int rc = aeg_wal_recovery_finish(r);
	assert(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	size_t n = rc == 0 ? aeg_wal_recovery_group_count(r) : 0;
	uint64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		struct aeg_wal_group_state st;
		assert(aeg_wal_recovery_group_at(r, i, &st) == 0);
		assert(i == 0 || st.group > prev);
		prev = st.group;
		check_group(r, &st);
	}
	aeg_wal_recovery_free(r);
}

static void snapshot(const uint8_t *data, size_t size)
{
	struct aeg_wal_snap_meta m;
	if (aeg_wal_snap_decode(&m, data, size) != 0)
		return;
	assert(m.conf_len <= AEG_WAL_SNAP_CONF_MAX && aeg_wal_snap_hdr_size(&m) + m.len == size);
	uint8_t hdr[AEG_WAL_SNAP_HDR_BYTES_MAX];
	int n = aeg_wal_snap_hdr_encode(hdr, sizeof(hdr), &m, data + aeg_wal_snap_hdr_size(&m));
	assert(n == (int)aeg_wal_snap_hdr_size(&m));
	/* Version 1 images re-encode as version 2: compare all but the
	 * version and crc then. */
	assert(memcmp(hdr + 16, data + 16, (size_t)n - 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stage(data, size);
	snapshot(data, size);
	return 0;
}
