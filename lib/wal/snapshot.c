/* Snapshot file header: encode and verify (layout in aegis/wal_snapshot.h). */
#include "aegis/wal_snapshot.h"
#include "aegis/wal.h"
#include "common/codec.h"

#include <errno.h>
#include <string.h>

/* hdr: the header and conf (contiguous), then data. */
static uint32_t snap_crc(const uint8_t *hdr, uint32_t conf_len, const void *data, uint64_t len)
{
	uint32_t crc = aeg_crc32c(0, hdr + 8, AEG_WAL_SNAP_HDR_BYTES - 8 + conf_len);
	return aeg_crc32c(crc, data, (size_t)len);
}

int aeg_wal_snap_hdr_encode(uint8_t *buf, size_t cap, const struct aeg_wal_snap_meta *m, const void *data)
{
	if ((m->len != 0 && data == NULL) || m->conf_len > AEG_WAL_SNAP_CONF_MAX)
		return -EINVAL;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_WAL_SNAP_MAGIC);
	aeg_put_u32(&w, 0);
	aeg_put_u32(&w, AEG_WAL_SNAP_VERSION);
	aeg_put_u32(&w, m->conf_len);
	aeg_put_u64(&w, m->group);
	aeg_put_u64(&w, m->index);
	aeg_put_u64(&w, m->term);
	aeg_put_u64(&w, m->len);
	if (w.error || cap - AEG_WAL_SNAP_HDR_BYTES < m->conf_len)
		return -EMSGSIZE;
	memcpy(buf + AEG_WAL_SNAP_HDR_BYTES, m->conf, m->conf_len);
	uint32_t crc = snap_crc(buf, m->conf_len, data, m->len);
	aeg_writer_init(&w, buf + 4, 4);
	aeg_put_u32(&w, crc);
	return (int)aeg_wal_snap_hdr_size(m);
}

int aeg_wal_snap_decode(struct aeg_wal_snap_meta *m, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	uint32_t magic = aeg_get_u32(&r);
	uint32_t crc = aeg_get_u32(&r);
	uint32_t version = aeg_get_u32(&r);
	uint32_t conf_len = aeg_get_u32(&r);
	m->group = aeg_get_u64(&r);
	m->index = aeg_get_u64(&r);
	m->term = aeg_get_u64(&r);
	m->len = aeg_get_u64(&r);
	if (r.error)
		return -EMSGSIZE;
	if (magic != AEG_WAL_SNAP_MAGIC)
		return -EINVAL;
	/* Other versions may lay out the rest differently: say so before
	 * reading it as ours. */
	if (version != AEG_WAL_SNAP_VERSION && version != AEG_WAL_SNAP_VERSION_NOCONF)
		return -EPROTONOSUPPORT;
	if (conf_len > AEG_WAL_SNAP_CONF_MAX || (version == AEG_WAL_SNAP_VERSION_NOCONF && conf_len != 0))
		return -EINVAL;
	if (aeg_reader_left(&r) < conf_len || m->len != aeg_reader_left(&r) - conf_len)
		return -EMSGSIZE;
	const uint8_t *data = buf + AEG_WAL_SNAP_HDR_BYTES + conf_len;
	if (crc != snap_crc(buf, conf_len, data, m->len))
		return -EBADMSG;
	m->conf_len = conf_len;
	memcpy(m->conf, buf + AEG_WAL_SNAP_HDR_BYTES, conf_len);
	return 0;
}
