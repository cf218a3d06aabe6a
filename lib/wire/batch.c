/* The frame builder: header at begin, messages through the inline
 * reserve/add of aegis/wire.h, lengths, key id and tag at seal. */
#include "wire_internal.h"

#include <assert.h>

int aeg_wire_builder_begin(struct aeg_wire_builder *b, uint8_t *buf, size_t cap,
			   const struct aeg_wire_hdr *hdr)
{
	b->open = false;
	if (buf == NULL || (hdr->flags & ~AEG_WIRE_FLAGS_KNOWN) != 0 || hdr->seq == 0 ||
	    hdr->src_worker > AEG_WIRE_WORKER_MAX || hdr->dst_worker > AEG_WIRE_WORKER_MAX)
		return -EINVAL;
	if (cap > AEG_WIRE_FRAME_BYTES_MAX)
		cap = AEG_WIRE_FRAME_BYTES_MAX;
	if (cap < AEG_WIRE_FRAME_BYTES_MIN)
		return -EMSGSIZE;
	struct aeg_wire_hdr h = *hdr;
	h.version = AEG_WIRE_VERSION;
	h.key_id = 0;    /* set by seal */
	h.batch_len = 0; /* patched by seal */
	h.msg_count = 0;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	wire_hdr_encode(&w, &h);
	assert(!w.error && w.len == AEG_WIRE_HDR_BYTES);
	b->buf = buf;
	b->cap = cap;
	b->len = w.len;
	b->msg_count = 0;
	b->open = true;
	return 0;
}

int aeg_wire_builder_seal(struct aeg_wire_builder *b, const struct aeg_wire_mac *mac)
{
	if (!b->open)
		return -EINVAL;
	assert(b->len >= AEG_WIRE_HDR_BYTES && b->len + AEG_WIRE_TAG_BYTES <= b->cap);
	struct aeg_reader r;
	aeg_reader_init(&r, b->buf + WIRE_OFF_CLUSTER, 12);
	uint32_t cluster = aeg_get_u32(&r), src = aeg_get_u32(&r), dst = aeg_get_u32(&r);
	if (!wire_mac_is_for(mac, cluster, src, dst))
		return -EINVAL; /* the receiver would drop it as bad_tag */
	b->buf[WIRE_OFF_KEY_ID] = aeg_wire_mac_key_id(mac);
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + WIRE_OFF_BATCH_LEN, 8);
	aeg_put_u32(&w, (uint32_t)(b->len - AEG_WIRE_HDR_BYTES));
	aeg_put_u32(&w, b->msg_count);
	assert(!w.error);
	aeg_wire_mac_tag(mac, b->buf + AEG_WIRE_IV_OFFSET, b->buf, b->len, b->buf + b->len);
	b->open = false;
	return (int)(b->len + AEG_WIRE_TAG_BYTES);
}
