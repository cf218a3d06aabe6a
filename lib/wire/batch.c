/* The message batch inside a frame: the builder that appends messages into
 * the caller's packet buffer and seals the frame, and the message codec
 * and iterator used on the receive side. */
#include "wire_internal.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* ---- message codec ----------------------------------------------------- */

size_t wire_msg_hdr_bytes(uint32_t group, size_t body_len)
{
	return 1 + aeg_varint_size(group) + aeg_varint_size(body_len);
}

/* True if the varint at r ends past the batch (every byte left carries the
 * continuation bit), as opposed to being malformed. */
static bool varint_runs_off(const uint8_t *p, size_t left)
{
	for (size_t i = 0; i < left && i < 10; i++) {
		if ((p[i] & 0x80) == 0)
			return false;
	}
	return left < 10;
}

static uint32_t get_varint32_checked(struct aeg_reader *r, enum aeg_wire_drop *why)
{
	const uint8_t *at = r->buf + r->pos;
	size_t left = aeg_reader_left(r);
	uint32_t v = aeg_get_varint32(r);
	if (r->error && *why == AEG_WIRE_OK)
		*why = varint_runs_off(at, left) ? AEG_WIRE_DROP_TRUNCATED_MSG
						 : AEG_WIRE_DROP_BAD_MSG;
	return v;
}

enum aeg_wire_drop wire_msg_decode(struct aeg_reader *r, struct aeg_wire_msg *m)
{
	enum aeg_wire_drop why = AEG_WIRE_OK;
	if (aeg_reader_left(r) == 0)
		return AEG_WIRE_DROP_TRUNCATED_MSG;
	m->type = aeg_get_u8(r);
	m->group = get_varint32_checked(r, &why);
	if (why != AEG_WIRE_OK)
		return why;
	m->body_len = get_varint32_checked(r, &why);
	if (why != AEG_WIRE_OK)
		return why;
	m->body = aeg_get_bytes(r, m->body_len);
	if (m->body == NULL)
		return AEG_WIRE_DROP_TRUNCATED_MSG;
	return AEG_WIRE_OK;
}

enum aeg_wire_drop wire_batch_check(const uint8_t *batch, uint32_t len, uint32_t count)
{
	struct aeg_reader r;
	aeg_reader_init(&r, batch, len);
	/* Bounded by count, and count was checked against len / MSG_BYTES_MIN. */
	for (uint32_t i = 0; i < count; i++) {
		struct aeg_wire_msg m;
		enum aeg_wire_drop why = wire_msg_decode(&r, &m);
		if (why != AEG_WIRE_OK)
			return why;
	}
	/* Bytes after the last counted message: the count is wrong. */
	return aeg_reader_left(&r) == 0 ? AEG_WIRE_OK : AEG_WIRE_DROP_BAD_COUNT;
}

/* ---- iterator ---------------------------------------------------------- */

void aeg_wire_iter_init(struct aeg_wire_iter *it, const struct aeg_wire_frame *f)
{
	it->batch = f->batch;
	it->batch_len = f->hdr.batch_len;
	it->pos = 0;
	it->left = f->hdr.msg_count;
}

int aeg_wire_iter_next(struct aeg_wire_iter *it, struct aeg_wire_msg *m)
{
	if (it->left == 0)
		return 0;
	struct aeg_reader r;
	aeg_reader_init(&r, it->batch, it->batch_len);
	r.pos = it->pos;
	if (wire_msg_decode(&r, m) != AEG_WIRE_OK)
		return -EBADMSG;
	it->pos = (uint32_t)r.pos;
	it->left--;
	return 1;
}

/* ---- builder ----------------------------------------------------------- */

int aeg_wire_builder_begin(struct aeg_wire_builder *b, uint8_t *buf, size_t cap,
			   const struct aeg_wire_hdr *hdr)
{
	b->open = false;
	if (buf == NULL || (hdr->flags & ~AEG_WIRE_FLAGS_KNOWN) != 0 || hdr->seq == 0)
		return -EINVAL;
	if (cap > AEG_WIRE_FRAME_BYTES_MAX)
		cap = AEG_WIRE_FRAME_BYTES_MAX;
	if (cap < AEG_WIRE_FRAME_BYTES_MIN)
		return -EMSGSIZE;
	struct aeg_wire_hdr h = *hdr;
	h.version = AEG_WIRE_VERSION;
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

/* Largest body L with hdr_fixed + varint_size(L) + L <= avail. */
static size_t body_max(size_t avail, uint32_t group)
{
	size_t fixed = 1 + aeg_varint_size(group);
	if (avail <= fixed)
		return 0;
	size_t rem = avail - fixed;
	for (size_t k = 1; k <= 5 && k <= rem; k++) {
		if (aeg_varint_size(rem - k) <= k)
			return rem - k;
	}
	return 0;
}

size_t aeg_wire_msg_body_max(size_t frame_cap, uint32_t group)
{
	if (frame_cap > AEG_WIRE_FRAME_BYTES_MAX)
		frame_cap = AEG_WIRE_FRAME_BYTES_MAX;
	if (frame_cap < AEG_WIRE_FRAME_BYTES_MIN)
		return 0;
	return body_max(frame_cap - AEG_WIRE_FRAME_BYTES_MIN, group);
}

size_t aeg_wire_builder_room(const struct aeg_wire_builder *b, uint32_t group)
{
	assert(b->open && b->len + AEG_WIRE_TAG_BYTES <= b->cap);
	return body_max(b->cap - b->len - AEG_WIRE_TAG_BYTES, group);
}

int aeg_wire_builder_reserve(struct aeg_wire_builder *b, uint8_t type, uint32_t group,
			     size_t body_len, uint8_t **body)
{
	if (!b->open)
		return -EINVAL;
	/* Compare in this order so that no sum can overflow. */
	if (body_len > AEG_WIRE_FRAME_BYTES_MAX)
		return -EMSGSIZE;
	size_t need = wire_msg_hdr_bytes(group, body_len) + body_len;
	if (need > b->cap - AEG_WIRE_FRAME_BYTES_MIN)
		return -EMSGSIZE;
	if (need > b->cap - AEG_WIRE_TAG_BYTES - b->len)
		return -ENOSPC;
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + b->len, need);
	aeg_put_u8(&w, type);
	aeg_put_varint(&w, group);
	aeg_put_varint(&w, body_len);
	assert(!w.error && w.len + body_len == need);
	*body = b->buf + b->len + w.len;
	b->len += need;
	b->msg_count++;
	return 0;
}

int aeg_wire_builder_add(struct aeg_wire_builder *b, uint8_t type, uint32_t group,
			 const void *body, size_t body_len)
{
	uint8_t *dst;
	int rc = aeg_wire_builder_reserve(b, type, group, body_len, &dst);
	if (rc != 0)
		return rc;
	if (body_len != 0)
		memcpy(dst, body, body_len);
	return 0;
}

int aeg_wire_builder_seal(struct aeg_wire_builder *b, const struct aeg_wire_key *key)
{
	if (!b->open)
		return -EINVAL;
	assert(b->len >= AEG_WIRE_HDR_BYTES && b->len + AEG_WIRE_TAG_BYTES <= b->cap);
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + WIRE_OFF_BATCH_LEN, 8);
	aeg_put_u32(&w, (uint32_t)(b->len - AEG_WIRE_HDR_BYTES));
	aeg_put_u32(&w, b->msg_count);
	assert(!w.error);
	aeg_wire_tag(key, b->buf, b->len, b->buf + b->len);
	b->open = false;
	return (int)(b->len + AEG_WIRE_TAG_BYTES);
}
