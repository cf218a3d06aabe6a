/* WAL segment header and record encoding (layout in aegis/wal.h). */
#include "aegis/wal.h"
#include "zero.h"
#include "common/codec.h"

#include <assert.h>
#include <errno.h>

int aeg_wal_seg_hdr_encode(const struct aeg_wal_seg_hdr *h, uint8_t *buf, size_t cap)
{
	if (h == NULL || buf == NULL || h->seq == 0)
		return -EINVAL;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_WAL_MAGIC);
	aeg_put_u32(&w, 0); /* crc, filled below */
	aeg_put_u32(&w, h->version);
	aeg_put_u32(&w, h->worker_id);
	aeg_put_u64(&w, h->seq);
	aeg_put_u64(&w, h->log_start_seq);
	aeg_put_u64(&w, h->segment_bytes);
	aeg_put_u32(&w, h->block_bytes);
	aeg_put_u32(&w, h->torn_window_bytes);
	aeg_put_u64(&w, 0);
	aeg_put_u64(&w, 0);
	if (w.error)
		return -EMSGSIZE;
	assert(w.len == AEG_WAL_SEG_HDR_BYTES);
	uint32_t crc = aeg_crc32c(0, buf + 8, AEG_WAL_SEG_HDR_BYTES - 8);
	aeg_writer_init(&w, buf + 4, 4);
	aeg_put_u32(&w, crc);
	return AEG_WAL_SEG_HDR_BYTES;
}

int aeg_wal_seg_hdr_decode(struct aeg_wal_seg_hdr *h, const uint8_t *buf, size_t len)
{
	if (h == NULL || (buf == NULL && len != 0))
		return -EINVAL;
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	uint32_t magic = aeg_get_u32(&r);
	uint32_t crc = aeg_get_u32(&r);
	h->version = aeg_get_u32(&r);
	h->worker_id = aeg_get_u32(&r);
	h->seq = aeg_get_u64(&r);
	h->log_start_seq = aeg_get_u64(&r);
	h->segment_bytes = aeg_get_u64(&r);
	h->block_bytes = aeg_get_u32(&r);
	h->torn_window_bytes = aeg_get_u32(&r);
	uint64_t reserved = aeg_get_u64(&r) | aeg_get_u64(&r);
	if (r.error)
		return -EMSGSIZE;
	if (magic != AEG_WAL_MAGIC)
		return -EINVAL;
	if (crc != aeg_crc32c(0, buf + 8, AEG_WAL_SEG_HDR_BYTES - 8))
		return -EBADMSG;
	if (h->version < AEG_WAL_VERSION_MIN || h->version > AEG_WAL_VERSION)
		return -EPROTONOSUPPORT;
	if (reserved != 0 || h->seq == 0 || h->log_start_seq > h->seq || h->block_bytes < 512 ||
	    (h->block_bytes & (h->block_bytes - 1)) != 0 || h->segment_bytes % h->block_bytes != 0 ||
	    h->segment_bytes < 2u * h->block_bytes)
		return -EINVAL;
	return AEG_WAL_SEG_HDR_BYTES;
}

/* Header without the crc; the crc is computed over it and the payload. */
static uint32_t rec_crc(const uint8_t *rec, size_t size)
{
	return aeg_crc32c(0, rec + 4, size - 4);
}

int aeg_wal_rec_encode(uint8_t *buf, size_t cap, uint64_t seg_seq, const struct aeg_wal_rec *r)
{
	if (buf == NULL || r == NULL || r->type == 0 || r->type > AEG_WAL_TYPE_MAX ||
	    r->len > AEG_WAL_PAYLOAD_MAX || r->entry_type > AEG_WAL_ENTRY_TYPE_MAX ||
	    (r->entry_type != 0 && r->type != AEG_WAL_ENTRY))
		return -EINVAL;
	size_t size = aeg_wal_rec_size(r->len);
	if (size > cap)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, 0);
	aeg_put_u32(&w, r->type | r->entry_type << 8);
	aeg_put_u32(&w, r->len);
	aeg_put_u32(&w, (uint32_t)seg_seq);
	aeg_put_u64(&w, r->group);
	aeg_put_u64(&w, r->term);
	aeg_put_u64(&w, r->index);
	assert(!w.error && w.len == AEG_WAL_REC_HDR_BYTES);
	/* A NULL payload stands for zeroes (PAD records). */
	if (r->payload != NULL)
		memcpy(buf + AEG_WAL_REC_HDR_BYTES, r->payload, r->len);
	else
		memset(buf + AEG_WAL_REC_HDR_BYTES, 0, r->len);
	memset(buf + AEG_WAL_REC_HDR_BYTES + r->len, 0, size - AEG_WAL_REC_HDR_BYTES - r->len);
	uint32_t crc = rec_crc(buf, size);
	aeg_writer_init(&w, buf, 4);
	aeg_put_u32(&w, crc);
	return (int)size;
}

int aeg_wal_pad_encode(uint8_t *buf, size_t gap, uint64_t seg_seq)
{
	if (gap < AEG_WAL_REC_HDR_BYTES || gap % AEG_WAL_ALIGN != 0)
		return -EINVAL;
	struct aeg_wal_rec pad = { .type = AEG_WAL_PAD,
				   .len = (uint32_t)(gap - AEG_WAL_REC_HDR_BYTES) };
	return aeg_wal_rec_encode(buf, gap, seg_seq, &pad);
}

int aeg_wal_rec_decode(struct aeg_wal_rec *r, const uint8_t *buf, size_t len, uint64_t seg_seq)
{
	if (r == NULL || (buf == NULL && len != 0))
		return -EINVAL;
	struct aeg_reader rd;
	aeg_reader_init(&rd, buf, len);
	uint32_t crc = aeg_get_u32(&rd);
	uint32_t type_word = aeg_get_u32(&rd);
	r->type = type_word & 0xff;
	r->entry_type = type_word >> 8;
	r->len = aeg_get_u32(&rd);
	uint32_t seq_lo = aeg_get_u32(&rd);
	r->group = aeg_get_u64(&rd);
	r->term = aeg_get_u64(&rd);
	r->index = aeg_get_u64(&rd);
	if (rd.error)
		return wal_all_zero(buf, len) ? -EINVAL : -EMSGSIZE;
	if (wal_all_zero(buf, AEG_WAL_REC_HDR_BYTES))
		return -EINVAL;
	if (r->len > AEG_WAL_PAYLOAD_MAX)
		return seq_lo == (uint32_t)seg_seq ? -EBADMSG : -EINVAL;
	size_t size = aeg_wal_rec_size(r->len);
	if (size > len)
		return seq_lo == (uint32_t)seg_seq ? -EMSGSIZE : -EINVAL;
	if (crc != rec_crc(buf, size))
		return seq_lo == (uint32_t)seg_seq ? -EBADMSG : -EINVAL;
	if (seq_lo != (uint32_t)seg_seq)
		return -ESTALE;
	/* One encoding per record: the writer always pads with zeroes. */
	if (r->type == 0 || r->type > AEG_WAL_TYPE_MAX || (r->entry_type != 0 && r->type != AEG_WAL_ENTRY) ||
	    !wal_all_zero(buf + AEG_WAL_REC_HDR_BYTES + r->len, size - AEG_WAL_REC_HDR_BYTES - r->len))
		return -EINVAL;
	r->payload = buf + AEG_WAL_REC_HDR_BYTES;
	return (int)size;
}

int aeg_wal_hard_state_encode(uint8_t out[AEG_WAL_HARD_STATE_BYTES], uint64_t vote, uint64_t commit)
{
	struct aeg_writer w;
	aeg_writer_init(&w, out, AEG_WAL_HARD_STATE_BYTES);
	aeg_put_u64(&w, vote);
	aeg_put_u64(&w, commit);
	return w.error ? -EMSGSIZE : (int)w.len;
}

int aeg_wal_hard_state_decode(const struct aeg_wal_rec *r, uint64_t *vote, uint64_t *commit)
{
	if (r->type != AEG_WAL_HARD_STATE || r->len != AEG_WAL_HARD_STATE_BYTES)
		return -EINVAL;
	struct aeg_reader rd;
	aeg_reader_init(&rd, r->payload, r->len);
	*vote = aeg_get_u64(&rd);
	*commit = aeg_get_u64(&rd);
	return rd.error ? -EMSGSIZE : 0;
}

const char *aeg_wal_type_name(uint32_t type)
{
	static const char *const names[] = { "?", "entry", "hard_state", "snapshot",
					     "truncate", "pad", "seal", "remove" };
	return type <= AEG_WAL_TYPE_MAX ? names[type] : "?";
}
