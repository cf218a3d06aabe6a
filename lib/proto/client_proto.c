/* The client protocol codec (layout and rules: aegis/client_proto.h): item
 * encoders and decoders, the builder that fills a packet buffer, and the
 * parser that checks a datagram from the outside in (cheap checks first,
 * the tag before anything that trusts the items). */
#include "client_proto_internal.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/codec.h"

/* Part fields take at most this many bytes (four varints of values below
 * 2^32), and a value length varint at most 3 (values below 2^21). */
#define PART_BYTES_MAX 20
#define VALUE_LEN_BYTES_MAX 3

/* codec.h has no 16-bit fields; the header's count and body_len are. */
static void put_u16(struct aeg_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	aeg_put_bytes(w, b, sizeof(b));
}

static uint16_t get_u16(struct aeg_reader *r)
{
	const uint8_t *p = aeg_get_bytes(r, 2);
	return p == NULL ? 0 : (uint16_t)(p[0] | p[1] << 8);
}

/* ---- items ------------------------------------------------------------- */

static bool is_part(const struct aeg_client_part *p)
{
	return p->count >= 2;
}

static bool part_ok(const struct aeg_client_part *p, uint32_t value_len)
{
	if (!is_part(p))
		return true;
	return value_len > 0 && p->index < p->count && p->count <= p->total &&
	       p->total <= AEG_CLIENT_VALUE_BYTES_MAX && p->offset <= p->total &&
	       value_len <= p->total - p->offset;
}

static size_t part_size(const struct aeg_client_part *p)
{
	if (!is_part(p))
		return 0;
	return aeg_varint_size(p->index) + aeg_varint_size(p->count) +
	       aeg_varint_size(p->total) + aeg_varint_size(p->offset);
}

size_t aeg_client_req_size(const struct aeg_client_req *r)
{
	return AEG_CLIENT_REQ_BYTES_MIN - 2 + aeg_varint_size(r->key_len) + r->key_len +
	       aeg_varint_size(r->value_len) + r->value_len + part_size(&r->part);
}

size_t aeg_client_resp_size(const struct aeg_client_resp *r)
{
	return AEG_CLIENT_RESP_BYTES_MIN - 1 + aeg_varint_size(r->value_len) + r->value_len +
	       part_size(&r->part);
}

static size_t part_max(size_t dgram_cap, size_t fixed)
{
	if (dgram_cap > AEG_CLIENT_DGRAM_BYTES_MAX)
		dgram_cap = AEG_CLIENT_DGRAM_BYTES_MAX;
	size_t need = AEG_CLIENT_DGRAM_BYTES_MIN + fixed + VALUE_LEN_BYTES_MAX + PART_BYTES_MAX;
	return dgram_cap > need ? dgram_cap - need : 0;
}

size_t aeg_client_req_part_max(size_t dgram_cap, size_t key_len)
{
	if (key_len > AEG_CLIENT_DGRAM_BYTES_MAX)
		return 0;
	return part_max(dgram_cap, AEG_CLIENT_REQ_BYTES_MIN - 2 + aeg_varint_size(key_len) + key_len);
}

size_t aeg_client_resp_part_max(size_t dgram_cap)
{
	return part_max(dgram_cap, AEG_CLIENT_RESP_BYTES_MIN - 1);
}

static void put_tail(struct aeg_writer *w, const uint8_t *value, uint32_t value_len,
		     const struct aeg_client_part *p)
{
	aeg_put_varint(w, value_len);
	aeg_put_bytes(w, value, value_len);
	if (!is_part(p))
		return;
	aeg_put_varint(w, p->index);
	aeg_put_varint(w, p->count);
	aeg_put_varint(w, p->total);
	aeg_put_varint(w, p->offset);
}

static void req_encode(struct aeg_writer *w, const struct aeg_client_req *r)
{
	aeg_put_u64(w, r->seq);
	aeg_put_u8(w, r->op);
	aeg_put_u8(w, r->consistency);
	aeg_put_u8(w, is_part(&r->part) ? AEG_CLIENT_ITEM_PART : 0);
	aeg_put_u32(w, r->shard);
	aeg_put_u64(w, r->epoch);
	aeg_put_u64(w, r->expect_version);
	aeg_put_varint(w, r->key_len);
	aeg_put_bytes(w, r->key, r->key_len);
	put_tail(w, r->value, r->value_len, &r->part);
}

static void resp_encode(struct aeg_writer *w, const struct aeg_client_resp *r)
{
	aeg_put_u64(w, r->seq);
	aeg_put_u8(w, r->status);
	aeg_put_u8(w, is_part(&r->part) ? AEG_CLIENT_ITEM_PART : 0);
	aeg_put_u64(w, r->version);
	aeg_put_u32(w, r->leader_hint);
	put_tail(w, r->value, r->value_len, &r->part);
}

/* A 32-bit varint; on failure *why says whether the body ended inside it
 * (every byte left has the continuation bit) or it is malformed. */
static uint32_t get_varint32(struct aeg_reader *r, enum aeg_client_drop *why)
{
	const uint8_t *at = r->buf + r->pos;
	size_t left = aeg_reader_left(r);
	uint32_t v = aeg_get_varint32(r);
	if (!r->error || *why != AEG_CLIENT_DROP_OK)
		return v;
	size_t i = 0;
	while (i < left && i < 5 && (at[i] & 0x80) != 0)
		i++;
	*why = i == left ? AEG_CLIENT_DROP_TRUNCATED_ITEM : AEG_CLIENT_DROP_BAD_ITEM;
	return v;
}

/* Bytes of a length-prefixed field; a length past the body is truncation. */
static const uint8_t *get_blob(struct aeg_reader *r, uint32_t *len, enum aeg_client_drop *why)
{
	*len = get_varint32(r, why);
	if (*why != AEG_CLIENT_DROP_OK)
		return NULL;
	const uint8_t *p = aeg_get_bytes(r, *len);
	if (p == NULL)
		*why = AEG_CLIENT_DROP_TRUNCATED_ITEM;
	return p;
}

/* Value, then the part fields if iflags says so; fills a whole-value part
 * otherwise. */
static enum aeg_client_drop get_tail(struct aeg_reader *r, uint8_t iflags,
				     const uint8_t **value, uint32_t *value_len,
				     struct aeg_client_part *p)
{
	enum aeg_client_drop why = AEG_CLIENT_DROP_OK;
	if ((iflags & ~AEG_CLIENT_ITEM_FLAGS_KNOWN) != 0)
		return AEG_CLIENT_DROP_BAD_ITEM;
	*value = get_blob(r, value_len, &why);
	if (why != AEG_CLIENT_DROP_OK)
		return why;
	if ((iflags & AEG_CLIENT_ITEM_PART) == 0) {
		*p = (struct aeg_client_part){.index = 0, .count = 1, .total = *value_len};
		return AEG_CLIENT_DROP_OK;
	}
	p->index = get_varint32(r, &why);
	p->count = get_varint32(r, &why);
	p->total = get_varint32(r, &why);
	p->offset = get_varint32(r, &why);
	if (why != AEG_CLIENT_DROP_OK)
		return why;
	/* A part flag on a one-part value would be a second encoding. */
	if (!is_part(p) || !part_ok(p, *value_len))
		return AEG_CLIENT_DROP_BAD_ITEM;
	return AEG_CLIENT_DROP_OK;
}

static enum aeg_client_drop req_decode(struct aeg_reader *r, struct aeg_client_req *q)
{
	enum aeg_client_drop why = AEG_CLIENT_DROP_OK;
	if (aeg_reader_left(r) < AEG_CLIENT_REQ_BYTES_MIN)
		return AEG_CLIENT_DROP_TRUNCATED_ITEM;
	q->seq = aeg_get_u64(r);
	q->op = aeg_get_u8(r);
	q->consistency = aeg_get_u8(r);
	uint8_t iflags = aeg_get_u8(r);
	q->shard = aeg_get_u32(r);
	q->epoch = aeg_get_u64(r);
	q->expect_version = aeg_get_u64(r);
	assert(!r->error);
	if (q->op < AEG_CLIENT_GET || q->op > AEG_CLIENT_OP_MAX ||
	    q->consistency > AEG_CLIENT_CONSISTENCY_MAX)
		return AEG_CLIENT_DROP_BAD_ITEM;
	q->key = get_blob(r, &q->key_len, &why);
	if (why != AEG_CLIENT_DROP_OK)
		return why;
	return get_tail(r, iflags, &q->value, &q->value_len, &q->part);
}

static enum aeg_client_drop resp_decode(struct aeg_reader *r, struct aeg_client_resp *s)
{
	if (aeg_reader_left(r) < AEG_CLIENT_RESP_BYTES_MIN)
		return AEG_CLIENT_DROP_TRUNCATED_ITEM;
	s->seq = aeg_get_u64(r);
	s->status = aeg_get_u8(r);
	uint8_t iflags = aeg_get_u8(r);
	s->version = aeg_get_u64(r);
	s->leader_hint = aeg_get_u32(r);
	assert(!r->error);
	if (s->status >= AEG_CLIENT_STATUS_NR)
		return AEG_CLIENT_DROP_BAD_ITEM;
	return get_tail(r, iflags, &s->value, &s->value_len, &s->part);
}

/* ---- builder ----------------------------------------------------------- */

int aeg_client_builder_begin(struct aeg_client_builder *b, uint8_t *buf, size_t cap,
			     uint8_t kind, uint64_t client_id, uint64_t seq_floor)
{
	b->open = false;
	if (buf == NULL || (kind != AEG_CLIENT_KIND_REQUEST && kind != AEG_CLIENT_KIND_RESPONSE))
		return -EINVAL;
	if (kind == AEG_CLIENT_KIND_RESPONSE && seq_floor != 0)
		return -EINVAL;
	if (cap > AEG_CLIENT_DGRAM_BYTES_MAX)
		cap = AEG_CLIENT_DGRAM_BYTES_MAX;
	if (cap < AEG_CLIENT_DGRAM_BYTES_MIN)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_CLIENT_MAGIC);
	aeg_put_u8(&w, AEG_CLIENT_VERSION);
	aeg_put_u8(&w, kind);
	aeg_put_u8(&w, 0);
	aeg_put_u64(&w, client_id);
	aeg_put_u64(&w, seq_floor);
	aeg_put_u32(&w, 0); /* count and body_len, patched by seal */
	assert(!w.error && w.len == AEG_CLIENT_HDR_BYTES);
	*b = (struct aeg_client_builder){
		.buf = buf, .cap = cap, .len = w.len, .count = 0, .kind = kind, .open = true};
	return 0;
}

/* Room checks shared by both kinds: 0, -ENOSPC or -EMSGSIZE. */
static int builder_room(const struct aeg_client_builder *b, size_t need)
{
	assert(b->open && b->len + AEG_CLIENT_TAG_BYTES <= b->cap);
	if (need > b->cap - AEG_CLIENT_DGRAM_BYTES_MIN)
		return -EMSGSIZE;
	if (need > b->cap - AEG_CLIENT_TAG_BYTES - b->len || b->count >= AEG_CLIENT_ITEMS_MAX)
		return -ENOSPC;
	return 0;
}

int aeg_client_add_request(struct aeg_client_builder *b, const struct aeg_client_req *r)
{
	if (!b->open || b->kind != AEG_CLIENT_KIND_REQUEST)
		return -EINVAL;
	if (r->op < AEG_CLIENT_GET || r->op > AEG_CLIENT_OP_MAX ||
	    r->consistency > AEG_CLIENT_CONSISTENCY_MAX || !part_ok(&r->part, r->value_len))
		return -EINVAL;
	/* Checked apart so that the size sum below cannot overflow. */
	if (r->key_len > AEG_CLIENT_DGRAM_BYTES_MAX || r->value_len > AEG_CLIENT_DGRAM_BYTES_MAX)
		return -EMSGSIZE;
	size_t need = aeg_client_req_size(r);
	int rc = builder_room(b, need);
	if (rc != 0)
		return rc;
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + b->len, need);
	req_encode(&w, r);
	assert(!w.error && w.len == need);
	b->len += need;
	b->count++;
	return 0;
}

int aeg_client_add_response(struct aeg_client_builder *b, const struct aeg_client_resp *r)
{
	if (!b->open || b->kind != AEG_CLIENT_KIND_RESPONSE)
		return -EINVAL;
	if (r->status >= AEG_CLIENT_STATUS_NR || !part_ok(&r->part, r->value_len))
		return -EINVAL;
	if (r->value_len > AEG_CLIENT_DGRAM_BYTES_MAX)
		return -EMSGSIZE;
	size_t need = aeg_client_resp_size(r);
	int rc = builder_room(b, need);
	if (rc != 0)
		return rc;
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + b->len, need);
	resp_encode(&w, r);
	assert(!w.error && w.len == need);
	b->len += need;
	b->count++;
	return 0;
}

int aeg_client_builder_seal(struct aeg_client_builder *b, const struct aeg_wire_key *key)
{
	if (!b->open)
		return -EINVAL;
	assert(b->len >= AEG_CLIENT_HDR_BYTES && b->len + AEG_CLIENT_TAG_BYTES <= b->cap);
	struct aeg_writer w;
	aeg_writer_init(&w, b->buf + CLIENT_OFF_COUNT, 4);
	put_u16(&w, b->count);
	put_u16(&w, (uint16_t)(b->len - AEG_CLIENT_HDR_BYTES));
	assert(!w.error);
	aeg_wire_tag(key, b->buf, b->len, b->buf + b->len);
	b->open = false;
	return (int)(b->len + AEG_CLIENT_TAG_BYTES);
}

/* ---- parser ------------------------------------------------------------ */

static void hdr_decode(struct aeg_reader *r, struct aeg_client_hdr *h)
{
	(void)aeg_get_u32(r); /* magic, checked by the caller */
	h->version = aeg_get_u8(r);
	h->kind = aeg_get_u8(r);
	h->flags = aeg_get_u8(r);
	h->client_id = aeg_get_u64(r);
	h->seq_floor = aeg_get_u64(r);
	h->count = get_u16(r);
	h->body_len = get_u16(r);
}

/* Exactly count well-formed items of the kind, no bytes left. */
static enum aeg_client_drop body_check(const uint8_t *body, uint16_t len, uint16_t count,
				       uint8_t kind)
{
	struct aeg_reader r;
	aeg_reader_init(&r, body, len);
	/* Bounded by count, checked against len / item minimum. */
	for (uint32_t i = 0; i < count; i++) {
		struct aeg_client_req q;
		struct aeg_client_resp s;
		enum aeg_client_drop why = kind == AEG_CLIENT_KIND_REQUEST ? req_decode(&r, &q)
									   : resp_decode(&r, &s);
		if (why != AEG_CLIENT_DROP_OK)
			return why;
	}
	return aeg_reader_left(&r) == 0 ? AEG_CLIENT_DROP_OK : AEG_CLIENT_DROP_BAD_COUNT;
}

static enum aeg_client_drop parse(const struct aeg_client_rx *rx, const uint8_t *pkt,
				  size_t len, struct aeg_client_dgram *out, bool check_tag)
{
	/* Magic and version alone first: a stray packet is counted as such
	 * even when short, and a later version may change everything else. */
	if (len < 5)
		return len >= 4 && memcmp(pkt, "AEGC", 4) != 0 ? AEG_CLIENT_DROP_BAD_MAGIC
							       : AEG_CLIENT_DROP_TRUNCATED;
	if (memcmp(pkt, "AEGC", 4) != 0)
		return AEG_CLIENT_DROP_BAD_MAGIC;
	if (pkt[CLIENT_OFF_VERSION] != AEG_CLIENT_VERSION)
		return AEG_CLIENT_DROP_BAD_VERSION;
	if (len < AEG_CLIENT_DGRAM_BYTES_MIN)
		return AEG_CLIENT_DROP_TRUNCATED;
	if (len > AEG_CLIENT_DGRAM_BYTES_MAX)
		return AEG_CLIENT_DROP_BAD_LENGTH;
	struct aeg_reader r;
	aeg_reader_init(&r, pkt, len);
	struct aeg_client_hdr *h = &out->hdr;
	hdr_decode(&r, h);
	assert(!r.error && r.pos == AEG_CLIENT_HDR_BYTES);
	if (h->kind != rx->kind)
		return AEG_CLIENT_DROP_BAD_KIND;
	if (h->flags & ~AEG_CLIENT_FLAGS_KNOWN)
		return AEG_CLIENT_DROP_BAD_FLAGS;
	size_t room = len - AEG_CLIENT_DGRAM_BYTES_MIN;
	if (h->body_len > room)
		return AEG_CLIENT_DROP_TRUNCATED;
	if (h->body_len < room)
		return AEG_CLIENT_DROP_BAD_LENGTH;
	uint32_t items_max = rx->items_max != 0 ? rx->items_max : AEG_CLIENT_ITEMS_MAX;
	if (h->count > items_max || h->count > AEG_CLIENT_ITEMS_MAX)
		return AEG_CLIENT_DROP_TOO_MANY_ITEMS;
	size_t item_min = h->kind == AEG_CLIENT_KIND_REQUEST ? AEG_CLIENT_REQ_BYTES_MIN
							     : AEG_CLIENT_RESP_BYTES_MIN;
	if ((size_t)h->count * item_min > h->body_len)
		return AEG_CLIENT_DROP_BAD_COUNT;
	/* Responses carry no seq_floor: one encoding per meaning. */
	if (h->kind == AEG_CLIENT_KIND_RESPONSE && h->seq_floor != 0)
		return AEG_CLIENT_DROP_BAD_FLAGS;
	size_t signed_len = AEG_CLIENT_HDR_BYTES + h->body_len;
	if (check_tag && !aeg_wire_tag_verify(rx->key, pkt, signed_len, pkt + signed_len))
		return AEG_CLIENT_DROP_BAD_TAG;
	out->body = pkt + AEG_CLIENT_HDR_BYTES;
	return body_check(out->body, h->body_len, h->count, h->kind);
}

enum aeg_client_drop aeg_client_parse(const struct aeg_client_rx *rx, const uint8_t *pkt,
				      size_t len, struct aeg_client_dgram *out)
{
	return parse(rx, pkt, len, out, true);
}

enum aeg_client_drop client_parse_untagged_for_test(const struct aeg_client_rx *rx,
						    const uint8_t *pkt, size_t len,
						    struct aeg_client_dgram *out)
{
	return parse(rx, pkt, len, out, false);
}

void aeg_client_iter_init(struct aeg_client_iter *it, const struct aeg_client_dgram *d)
{
	it->body = d->body;
	it->body_len = d->hdr.body_len;
	it->pos = 0;
	it->left = d->hdr.count;
	it->kind = d->hdr.kind;
}

static int iter_next(struct aeg_client_iter *it, uint8_t kind, struct aeg_client_req *q,
		     struct aeg_client_resp *s)
{
	if (it->kind != kind)
		return -EINVAL;
	if (it->left == 0)
		return 0;
	struct aeg_reader r;
	aeg_reader_init(&r, it->body, it->body_len);
	r.pos = it->pos;
	enum aeg_client_drop why = q != NULL ? req_decode(&r, q) : resp_decode(&r, s);
	if (why != AEG_CLIENT_DROP_OK)
		return -EBADMSG;
	it->pos = (uint16_t)r.pos;
	it->left--;
	return 1;
}

int aeg_client_next_request(struct aeg_client_iter *it, struct aeg_client_req *r)
{
	return iter_next(it, AEG_CLIENT_KIND_REQUEST, r, NULL);
}

int aeg_client_next_response(struct aeg_client_iter *it, struct aeg_client_resp *r)
{
	return iter_next(it, AEG_CLIENT_KIND_RESPONSE, NULL, r);
}
