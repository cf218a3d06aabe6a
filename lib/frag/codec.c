/* Fragment and ack bodies (aegis/frag.h): fixed little-endian layouts,
 * each decoded message checked on its own before anyone trusts it. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "aegis/frag.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void aeg_frag_hdr_encode(const struct aeg_frag_hdr *h, uint8_t out[AEG_FRAG_HDR_BYTES])
{
	assert(h->index < h->count && h->base_delta < AEG_FRAG_ID_SPAN);
	put64(out, h->msg_id);
	put32(out + 8, h->total);
	put32(out + 12, h->offset);
	put16(out + 16, h->index);
	put16(out + 18, h->count);
	out[20] = h->type;
	out[21] = h->base_delta;
}

int aeg_frag_hdr_decode(struct aeg_frag_hdr *h, const uint8_t *body, size_t len)
{
	if (len <= AEG_FRAG_HDR_BYTES)
		return -EMSGSIZE; /* a fragment carries at least one byte */
	h->msg_id = get64(body);
	h->total = get32(body + 8);
	h->offset = get32(body + 12);
	h->index = get16(body + 16);
	h->count = get16(body + 18);
	h->type = body[20];
	h->base_delta = body[21];
	h->data = body + AEG_FRAG_HDR_BYTES;
	if (len - AEG_FRAG_HDR_BYTES > UINT32_MAX)
		return -EMSGSIZE;
	h->len = (uint32_t)(len - AEG_FRAG_HDR_BYTES);
	/* base = msg_id - base_delta is an id too: > 0 */
	if (h->count == 0 || h->index >= h->count || h->base_delta >= AEG_FRAG_ID_SPAN ||
	    h->base_delta >= h->msg_id)
		return -EINVAL;
	/* offset + len <= total without overflow */
	if (h->offset > h->total || h->len > h->total - h->offset)
		return -EINVAL;
	assert(h->len > 0 && h->total > 0);
	return 0;
}

void aeg_frag_ack_encode(const struct aeg_frag_ack *a, uint8_t out[AEG_FRAG_ACK_BYTES])
{
	put64(out, a->msg_id);
	out[8] = a->flags;
	put16(out + 9, a->cum);
	put64(out + 11, a->sack[0]);
	put64(out + 19, a->sack[1]);
}

int aeg_frag_ack_decode(struct aeg_frag_ack *a, const uint8_t *body, size_t len)
{
	if (len != AEG_FRAG_ACK_BYTES)
		return -EMSGSIZE;
	a->msg_id = get64(body);
	a->flags = body[8];
	a->cum = get16(body + 9);
	a->sack[0] = get64(body + 11);
	a->sack[1] = get64(body + 19);
	if (a->msg_id == 0 || (a->flags & ~AEG_FRAG_ACK_COMPLETE) != 0)
		return -EINVAL;
	if ((a->flags & AEG_FRAG_ACK_COMPLETE) && (a->cum != 0 || a->sack[0] || a->sack[1]))
		return -EINVAL;
	return 0;
}

const char *aeg_frag_drop_name(enum aeg_frag_drop d)
{
	static const char *const names[AEG_FRAG_DROP_NR] = {
		[AEG_FRAG_OK] = "ok",
		[AEG_FRAG_DROP_MALFORMED] = "malformed",
		[AEG_FRAG_DROP_TOO_BIG] = "too_big",
		[AEG_FRAG_DROP_MISMATCH] = "mismatch",
		[AEG_FRAG_DROP_GEOMETRY] = "geometry",
		[AEG_FRAG_DROP_DUP] = "dup",
		[AEG_FRAG_DROP_STALE] = "stale",
		[AEG_FRAG_DROP_NO_SLOT] = "no_slot",
		[AEG_FRAG_DROP_ACK_UNKNOWN] = "ack_unknown",
		[AEG_FRAG_DROP_ACK_BOGUS] = "ack_bogus",
	};
	return (unsigned)d < AEG_FRAG_DROP_NR ? names[d] : "invalid";
}
