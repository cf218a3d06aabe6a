/* Recovery scanner over one segment image: finds the valid prefix and says
 * whether what follows is a clean end, a torn last write or damage.
 *
 * Why the torn window: the writer keeps at most (batches in flight x batch
 * bytes) unsynced, and a crash may persist any subset of those blocks. So
 * valid records may follow a hole only within that distance of it; valid
 * records further on mean the hole is in data that was once durable. */
#include "aegis/wal.h"
#include "zero.h"
#include "common/codec.h"

#include <errno.h>

/* End of the last valid record of this segment at or after from, or 0. */
static size_t last_valid_end(const uint8_t *buf, size_t len, size_t from, uint64_t seq)
{
	size_t last = 0;
	struct aeg_wal_rec r;
	for (size_t q = from; q + AEG_WAL_REC_HDR_BYTES <= len;) {
		/* Cheap filter before the checksum: sequence field and type. */
		const uint8_t *h = buf + q;
		struct aeg_reader rd;
		aeg_reader_init(&rd, h + 12, 4);
		uint32_t seq_lo = aeg_get_u32(&rd);
		if (seq_lo != (uint32_t)seq || h[4] == 0 || h[4] > AEG_WAL_TYPE_MAX) {
			q += AEG_WAL_ALIGN;
			continue;
		}
		int rc = aeg_wal_rec_decode(&r, h, len - q, seq);
		if (rc > 0) {
			q += (size_t)rc;
			last = q;
		} else {
			q += AEG_WAL_ALIGN;
		}
	}
	return last;
}

static void classify_tail(struct aeg_wal_scan *out, const uint8_t *buf, size_t len, int rc)
{
	size_t p = out->valid_end;
	const uint8_t *h = buf + p;
	size_t left = len - p;
	size_t hdr_left = left < AEG_WAL_REC_HDR_BYTES ? left : AEG_WAL_REC_HDR_BYTES;
	bool clean = left == 0 || rc == -ESTALE || wal_all_zero(h, hdr_left);
	size_t later = left > AEG_WAL_ALIGN ? last_valid_end(buf, len, p + AEG_WAL_ALIGN, out->hdr.seq) : 0;

	out->garbage_end = later > p ? later : p;
	if (clean && later == 0) {
		out->status = AEG_WAL_SCAN_CLEAN;
		return;
	}
	out->damage_off = p;
	if (later != 0 && later - p > out->hdr.torn_window_bytes)
		out->status = AEG_WAL_SCAN_DAMAGED;
	else
		out->status = AEG_WAL_SCAN_TORN;
}

int aeg_wal_scan_segment(struct aeg_wal_scan *out, const uint8_t *buf, size_t len)
{
	if (out == NULL || (buf == NULL && len != 0))
		return -EINVAL;
	*out = (struct aeg_wal_scan){ .status = AEG_WAL_SCAN_BAD_HEADER };
	int rc = aeg_wal_seg_hdr_decode(&out->hdr, buf, len);
	if (rc < 0) {
		out->hdr_error = rc;
		return 0;
	}
	if (len > out->hdr.segment_bytes)
		len = out->hdr.segment_bytes;

	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	struct aeg_wal_rec r;
	/* Each iteration consumes at least one record header: bounded by len. */
	for (;;) {
		rc = pos < len ? aeg_wal_rec_decode(&r, buf + pos, len - pos, out->hdr.seq) : -EINVAL;
		if (rc <= 0)
			break;
		pos += (size_t)rc;
		out->records++;
		if (r.type == AEG_WAL_SEAL) {
			out->valid_end = pos;
			out->garbage_end = pos;
			out->status = AEG_WAL_SCAN_SEALED;
			return 0;
		}
	}
	out->valid_end = pos;
	classify_tail(out, buf, len, rc);
	return 0;
}

int aeg_wal_next(struct aeg_wal_rec *r, const uint8_t *buf, size_t valid_end, size_t *pos, uint64_t seg_seq)
{
	if (*pos >= valid_end)
		return 0;
	int rc = aeg_wal_rec_decode(r, buf + *pos, valid_end - *pos, seg_seq);
	if (rc <= 0)
		return rc == 0 ? -EINVAL : rc;
	*pos += (size_t)rc;
	return 1;
}

const char *aeg_wal_scan_status_name(enum aeg_wal_scan_status s)
{
	switch (s) {
	case AEG_WAL_SCAN_CLEAN: return "clean";
	case AEG_WAL_SCAN_SEALED: return "sealed";
	case AEG_WAL_SCAN_TORN: return "torn tail";
	case AEG_WAL_SCAN_DAMAGED: return "damaged";
	case AEG_WAL_SCAN_BAD_HEADER: return "bad header";
	}
	return "?";
}
