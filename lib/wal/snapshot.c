/* Snapshot file header: encode and verify (layout in aegis/wal_snapshot.h). */
#include "aegis/wal_snapshot.h"
#include "aegis/wal.h"
#include "common/codec.h"

#include <errno.h>

static uint32_t snap_crc(const uint8_t *hdr, const void *data, uint64_t len)
{
	uint32_t crc = aeg_crc32c(0, hdr + 8, AEG_WAL_SNAP_HDR_BYTES - 8);
	return aeg_crc32c(crc, data, (size_t)len);
}

int aeg_wal_snap_hdr_encode(uint8_t *buf, size_t cap, const struct aeg_wal_snap_meta *m, const void *data)
{
	if (m->len != 0 && data == NULL)
		return -EINVAL;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_WAL_SNAP_MAGIC);
	aeg_put_u32(&w, 0);
	aeg_put_u32(&w, AEG_WAL_SNAP_VERSION);
	aeg_put_u32(&w, 0);
	aeg_put_u64(&w, m->group);
	aeg_put_u64(&w, m->index);
	aeg_put_u64(&w, m->term);
	aeg_put_u64(&w, m->len);
	if (w.error)
		return -EMSGSIZE;
	uint32_t crc = snap_crc(buf, data, m->len);
	aeg_writer_init(&w, buf + 4, 4);
	aeg_put_u32(&w, crc);
	return AEG_WAL_SNAP_HDR_BYTES;
}

int aeg_wal_snap_decode(struct aeg_wal_snap_meta *m, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	uint32_t magic = aeg_get_u32(&r);
	uint32_t crc = aeg_get_u32(&r);
	uint32_t version = aeg_get_u32(&r);
	uint32_t zero = aeg_get_u32(&r);
	m->group = aeg_get_u64(&r);
	m->index = aeg_get_u64(&r);
	m->term = aeg_get_u64(&r);
	m->len = aeg_get_u64(&r);
	if (r.error)
		return -EMSGSIZE;
	if (magic != AEG_WAL_SNAP_MAGIC || zero != 0)
		return -EINVAL;
	if (m->len != aeg_reader_left(&r))
		return -EMSGSIZE;
	if (crc != snap_crc(buf, buf + AEG_WAL_SNAP_HDR_BYTES, m->len))
		return -EBADMSG;
	if (version != AEG_WAL_SNAP_VERSION)
		return -EPROTONOSUPPORT;
	return 0;
}
