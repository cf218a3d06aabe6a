/* lib/frag: the receiving side — fragments into reassembly slots, checked
 * against their message's geometry, delivered once; acks owed and written
 * by the poll; partial messages dropped when idle or abandoned. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "frag_int.h"

static void drop(struct aeg_frag *f, enum aeg_frag_drop why)
{
	assert(why > AEG_FRAG_OK && why < AEG_FRAG_DROP_NR);
	f->st.drops[why]++;
}

static void rx_free(struct stream *s, struct rx_slot *r)
{
	assert(r->live && s->rx_live > 0);
	if (r->ack_owed)
		s->rx_owed--;
	r->ack_owed = false;
	r->live = false;
	s->rx_live--;
}

static void ack_owe(struct stream *s, struct rx_slot *r)
{
	if (!r->ack_owed)
		s->rx_owed++;
	r->ack_owed = true;
}

/* The sender let go of every id below base: forget them. */
static void floor_advance(struct aeg_frag *f, struct stream *s, uint64_t base)
{
	if (base <= s->floor)
		return;
	uint64_t d = base - s->floor;
	s->done = d >= 64 ? 0 : s->done >> d;
	s->done_owed = d >= 64 ? 0 : s->done_owed >> d;
	s->floor = base;
	for (uint32_t j = 0; j < f->cfg.rx_slots; j++) {
		if (s->rx[j].live && s->rx[j].id < base) {
			rx_free(s, &s->rx[j]);
			f->st.rx_abandoned++;
		}
	}
}

/* Every fragment but the last is unit bytes long and fragment i sits at
 * i x unit; the last ends at total. unit is learnt from the first
 * fragment that arrives (0: not known yet). */
static bool geometry_ok(const struct aeg_frag_hdr *h, uint32_t *unit)
{
	uint32_t u = *unit;
	if (h->index + 1u < h->count) {
		if (u == 0)
			u = h->len;
		if (h->len != u)
			return false;
	} else {
		if (h->offset + h->len != h->total)
			return false;
		if (u == 0 && h->index == 0)
			u = h->len;
		else if (u == 0 && h->offset % h->index == 0)
			u = h->offset / h->index;
		if (u == 0 || h->len > u)
			return false;
	}
	if ((uint64_t)h->index * u != h->offset ||
	    (uint64_t)(h->count - 1u) * u >= h->total || (uint64_t)h->count * u < h->total)
		return false;
	*unit = u;
	return true;
}

static struct rx_slot *slot_find(struct aeg_frag *f, struct stream *s, uint64_t id)
{
	for (uint32_t j = 0; j < f->cfg.rx_slots; j++)
		if (s->rx[j].live && s->rx[j].id == id)
			return &s->rx[j];
	return NULL;
}

static struct rx_slot *slot_open(struct aeg_frag *f, struct stream *s,
				 const struct aeg_frag_hdr *h, uint32_t group, uint32_t unit)
{
	struct rx_slot *r = NULL;
	for (uint32_t j = 0; j < f->cfg.rx_slots && r == NULL; j++)
		if (!s->rx[j].live)
			r = &s->rx[j];
	if (r == NULL)
		return NULL;
	memset(r->got, 0, (h->count + 63u) / 64 * sizeof(uint64_t));
	r->id = h->msg_id;
	r->type = h->type;
	r->group = group;
	r->total = h->total;
	r->count = h->count;
	r->unit = unit;
	r->got_n = r->cum = 0;
	r->live = true;
	r->ack_owed = false;
	s->rx_live++;
	return r;
}

/* Checks h against the stream's state; the slot it goes to in *slot (NULL
 * for a new message), or the reason to drop it. */
static enum aeg_frag_drop data_check(struct aeg_frag *f, struct stream *s,
				     const struct aeg_frag_hdr *h, uint32_t group,
				     struct rx_slot **slot, uint32_t *unit)
{
	if (h->total > f->cfg.msg_bytes_max || h->count > f->frags_max)
		return AEG_FRAG_DROP_TOO_BIG;
	floor_advance(f, s, h->msg_id - h->base_delta);
	if (h->msg_id < s->floor)
		return AEG_FRAG_DROP_STALE;
	uint64_t k = h->msg_id - s->floor;
	assert(k < AEG_FRAG_ID_SPAN); /* base_delta < SPAN and floor >= base */
	if ((s->done >> k) & 1u) {
		s->done_owed |= 1ull << k; /* its sender missed the complete ack */
		return AEG_FRAG_DROP_DUP;
	}
	struct rx_slot *r = slot_find(f, s, h->msg_id);
	if (r != NULL && (r->type != h->type || r->group != group || r->total != h->total ||
			  r->count != h->count))
		return AEG_FRAG_DROP_MISMATCH;
	*unit = r != NULL ? r->unit : 0;
	if (!geometry_ok(h, unit))
		return AEG_FRAG_DROP_GEOMETRY;
	if (r != NULL && bit_get(r->got, h->index)) {
		ack_owe(s, r); /* our ack may have been lost */
		return AEG_FRAG_DROP_DUP;
	}
	*slot = r;
	return AEG_FRAG_OK;
}

static int rx_data(struct aeg_frag *f, struct stream *s, uint32_t group, const uint8_t *body,
		   uint32_t len, uint64_t now_ns, struct aeg_frag_msg *out)
{
	struct aeg_frag_hdr h;
	struct rx_slot *r = NULL;
	uint32_t unit = 0;
	enum aeg_frag_drop why = aeg_frag_hdr_decode(&h, body, len) != 0 ?
		AEG_FRAG_DROP_MALFORMED : data_check(f, s, &h, group, &r, &unit);
	if (why == AEG_FRAG_OK && r == NULL) {
		r = slot_open(f, s, &h, group, unit);
		why = r == NULL ? AEG_FRAG_DROP_NO_SLOT : AEG_FRAG_OK;
	}
	if (why != AEG_FRAG_OK) {
		drop(f, why);
		return -EBADMSG;
	}
	assert(h.offset + h.len <= f->cfg.msg_bytes_max && !bit_get(r->got, h.index));
	r->unit = unit;
	memcpy(r->buf + h.offset, h.data, h.len);
	bit_set(r->got, h.index);
	r->got_n++;
	while (r->cum < r->count && bit_get(r->got, r->cum))
		r->cum++;
	r->last_ns = now_ns;
	ack_owe(s, r);
	f->st.rx_frags++;
	if (r->got_n < r->count)
		return 0;
	uint64_t k = r->id - s->floor;
	s->done |= 1ull << k;
	s->done_owed |= 1ull << k;
	*out = (struct aeg_frag_msg){ .type = r->type, .group = r->group, .body = r->buf,
				      .len = r->total };
	rx_free(s, r); /* the buffer stays as it is until the next fragment */
	f->st.rx_msgs++;
	return 1;
}

int aeg_frag_rx(struct aeg_frag *f, uint32_t stream, uint8_t wire_type, uint32_t group,
		const uint8_t *body, uint32_t len, uint64_t now_ns, struct aeg_frag_msg *out)
{
	if (stream >= f->cfg.streams || (wire_type != AEG_FRAG_TYPE_DATA &&
					 wire_type != AEG_FRAG_TYPE_ACK)) {
		drop(f, AEG_FRAG_DROP_MALFORMED);
		return -EBADMSG;
	}
	struct stream *s = &f->streams[stream];
	bool was = stream_active(s);
	int r = wire_type == AEG_FRAG_TYPE_DATA ? rx_data(f, s, group, body, len, now_ns, out) :
		aeg_frag_rx_ack(f, s, body, len, now_ns);
	active_update(f, was, s);
	return r;
}

/* ---- poll: the receiving side -------------------------------------------- */

/* 64 bits of b starting at bit pos (zeros past words). */
static uint64_t bits_at(const uint64_t *b, uint32_t words, uint32_t pos)
{
	uint32_t w = pos / 64, o = pos % 64;
	uint64_t lo = w < words ? b[w] >> o : 0;
	uint64_t hi = o != 0 && w + 1 < words ? b[w + 1] << (64 - o) : 0;
	return lo | hi;
}

static bool ack_emit(struct aeg_frag *f, uint32_t si, const struct aeg_frag_ack *a,
		     const struct aeg_frag_out *out)
{
	uint8_t *p = out->reserve(out->arg, si, AEG_FRAG_TYPE_ACK, 0, AEG_FRAG_ACK_BYTES);
	if (p == NULL)
		return false;
	aeg_frag_ack_encode(a, p);
	f->st.tx_acks++;
	return true;
}

uint32_t aeg_frag_rx_poll(struct aeg_frag *f, uint32_t si, uint64_t now_ns,
			  const struct aeg_frag_out *out)
{
	struct stream *s = &f->streams[si];
	uint32_t n = 0;
	for (uint32_t j = 0; j < f->cfg.rx_slots && (s->rx_live > 0); j++) {
		struct rx_slot *r = &s->rx[j];
		if (!r->live)
			continue;
		if (now_ns - r->last_ns >= f->cfg.rx_timeout_ns) {
			rx_free(s, r);
			f->st.rx_timeout++;
			continue;
		}
		if (!r->ack_owed)
			continue;
		uint32_t words = (r->count + 63) / 64;
		struct aeg_frag_ack a = { .msg_id = r->id, .cum = (uint16_t)r->cum };
		a.sack[0] = bits_at(r->got, words, r->cum + 1);
		a.sack[1] = bits_at(r->got, words, r->cum + 65);
		if (!ack_emit(f, si, &a, out))
			return n;
		r->ack_owed = false;
		s->rx_owed--;
		n++;
	}
	while (s->done_owed != 0) {
		uint32_t k = (uint32_t)__builtin_ctzll(s->done_owed);
		struct aeg_frag_ack a = { .msg_id = s->floor + k, .flags = AEG_FRAG_ACK_COMPLETE };
		if (!ack_emit(f, si, &a, out))
			return n;
		s->done_owed &= s->done_owed - 1;
		n++;
	}
	return n;
}
