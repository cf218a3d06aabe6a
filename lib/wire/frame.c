/* The frame: header codec, drop reason names, and the parser that checks a
 * received packet from the outside in (cheap checks first, the tag before
 * anything that trusts the contents, the replay window last). The
 * messages are checked by the iterator as they are delivered (one pass). */
#include "wire_internal.h"

#include <assert.h>
#include <string.h>

static const char *const drop_names[AEG_WIRE_DROP_NR] = {
	[AEG_WIRE_OK] = "ok",
	[AEG_WIRE_DROP_TRUNCATED] = "truncated",
	[AEG_WIRE_DROP_BAD_MAGIC] = "bad_magic",
	[AEG_WIRE_DROP_BAD_VERSION] = "bad_version",
	[AEG_WIRE_DROP_BAD_FLAGS] = "bad_flags",
	[AEG_WIRE_DROP_BAD_LENGTH] = "bad_length",
	[AEG_WIRE_DROP_BAD_COUNT] = "bad_count",
	[AEG_WIRE_DROP_WRONG_CLUSTER] = "wrong_cluster",
	[AEG_WIRE_DROP_WRONG_DEST] = "wrong_destination",
	[AEG_WIRE_DROP_UNKNOWN_NODE] = "unknown_node",
	[AEG_WIRE_DROP_REPLAYED] = "replayed",
	[AEG_WIRE_DROP_TOO_OLD] = "too_old",
	[AEG_WIRE_DROP_BAD_TAG] = "bad_tag",
	[AEG_WIRE_DROP_TRUNCATED_MSG] = "truncated_message",
	[AEG_WIRE_DROP_BAD_MSG] = "bad_message",
	[AEG_WIRE_DROP_UNKNOWN_KEY] = "unknown_key",
};

const char *aeg_wire_drop_name(enum aeg_wire_drop reason)
{
	if ((unsigned)reason >= AEG_WIRE_DROP_NR)
		return "invalid";
	return drop_names[reason];
}

/* Fixed offsets, one bounds check per header: the header codec runs twice
 * per frame in a bounce, and field-by-field checked reads showed up in
 * profiles of small frames. */
static inline uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, sizeof(v));
}

void wire_hdr_encode(struct aeg_writer *w, const struct aeg_wire_hdr *h)
{
	if (w->error || w->cap - w->len < AEG_WIRE_HDR_BYTES) {
		w->error = true;
		return;
	}
	uint8_t *p = w->buf + w->len;
	st32(p, AEG_WIRE_MAGIC);
	p[WIRE_OFF_VERSION] = h->version;
	p[WIRE_OFF_FLAGS] = h->flags;
	p[WIRE_OFF_KEY_ID] = h->key_id;
	p[WIRE_OFF_RESERVED] = 0;
	st32(p + WIRE_OFF_CLUSTER, h->cluster);
	st32(p + WIRE_OFF_SRC_NODE, h->src_node);
	st32(p + WIRE_OFF_DST_NODE, h->dst_node);
	st32(p + WIRE_OFF_SEQ, (uint32_t)h->seq);
	st32(p + WIRE_OFF_SEQ + 4, (uint32_t)(h->seq >> 32));
	st16(p + WIRE_OFF_SRC_WORKER, (uint16_t)h->src_worker);
	st16(p + WIRE_OFF_DST_WORKER, (uint16_t)h->dst_worker);
	st32(p + WIRE_OFF_BATCH_LEN, h->batch_len);
	st32(p + WIRE_OFF_MSG_COUNT, h->msg_count);
	w->len += AEG_WIRE_HDR_BYTES;
}

/* The caller has checked the magic already (check_preamble) and the
 * reserved byte apart (check_header). */
void wire_hdr_decode(struct aeg_reader *r, struct aeg_wire_hdr *h)
{
	const uint8_t *p = aeg_get_bytes(r, AEG_WIRE_HDR_BYTES);
	if (p == NULL) {
		memset(h, 0, sizeof(*h));
		return;
	}
	assert(ld32(p) == AEG_WIRE_MAGIC);
	h->version = p[WIRE_OFF_VERSION];
	h->flags = p[WIRE_OFF_FLAGS];
	h->key_id = p[WIRE_OFF_KEY_ID];
	h->cluster = ld32(p + WIRE_OFF_CLUSTER);
	h->src_node = ld32(p + WIRE_OFF_SRC_NODE);
	h->dst_node = ld32(p + WIRE_OFF_DST_NODE);
	h->seq = ld64(p + WIRE_OFF_SEQ);
	h->src_worker = ld16(p + WIRE_OFF_SRC_WORKER);
	h->dst_worker = ld16(p + WIRE_OFF_DST_WORKER);
	h->batch_len = ld32(p + WIRE_OFF_BATCH_LEN);
	h->msg_count = ld32(p + WIRE_OFF_MSG_COUNT);
}

/* Magic and version come first and alone: a future version may change
 * everything after them, and a stray non-Aegis packet should be counted
 * as such even when it is short. */
static enum aeg_wire_drop check_preamble(const uint8_t *pkt, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, pkt, len);
	uint32_t magic = aeg_get_u32(&r);
	if (r.error)
		return AEG_WIRE_DROP_TRUNCATED;
	if (magic != AEG_WIRE_MAGIC)
		return AEG_WIRE_DROP_BAD_MAGIC;
	uint8_t version = aeg_get_u8(&r);
	if (r.error)
		return AEG_WIRE_DROP_TRUNCATED;
	if (version != AEG_WIRE_VERSION)
		return AEG_WIRE_DROP_BAD_VERSION;
	if (len < AEG_WIRE_FRAME_BYTES_MIN)
		return AEG_WIRE_DROP_TRUNCATED;
	if (len > AEG_WIRE_FRAME_BYTES_MAX)
		return AEG_WIRE_DROP_BAD_LENGTH;
	return AEG_WIRE_OK;
}

/* Header fields that need no key and no peer state. */
static enum aeg_wire_drop check_header(const struct aeg_wire_rx *rx,
				       const struct aeg_wire_hdr *h, const uint8_t *pkt, size_t len)
{
	if ((h->flags & ~AEG_WIRE_FLAGS_KNOWN) != 0 || pkt[WIRE_OFF_RESERVED] != 0)
		return AEG_WIRE_DROP_BAD_FLAGS;
	size_t batch_room = len - AEG_WIRE_FRAME_BYTES_MIN;
	if (h->batch_len > AEG_WIRE_FRAME_BYTES_MAX - AEG_WIRE_FRAME_BYTES_MIN)
		return AEG_WIRE_DROP_BAD_LENGTH;
	if (h->batch_len > batch_room)
		return AEG_WIRE_DROP_TRUNCATED;
	if (h->batch_len < batch_room)
		return AEG_WIRE_DROP_BAD_LENGTH;
	if (h->msg_count > h->batch_len / AEG_WIRE_MSG_BYTES_MIN)
		return AEG_WIRE_DROP_BAD_COUNT;
	if (h->cluster != rx->cluster)
		return AEG_WIRE_DROP_WRONG_CLUSTER;
	if (h->dst_node != rx->self_node || h->dst_worker != rx->self_worker)
		return AEG_WIRE_DROP_WRONG_DEST;
	return AEG_WIRE_OK;
}

static enum aeg_wire_drop parse(const struct aeg_wire_rx *rx, const uint8_t *pkt,
				size_t len, struct aeg_wire_frame *out, bool check_tag)
{
	enum aeg_wire_drop why = check_preamble(pkt, len);
	if (why != AEG_WIRE_OK)
		return why;
	struct aeg_reader r;
	aeg_reader_init(&r, pkt, len);
	wire_hdr_decode(&r, &out->hdr);
	assert(!r.error && r.pos == AEG_WIRE_HDR_BYTES);
	why = check_header(rx, &out->hdr, pkt, len);
	if (why != AEG_WIRE_OK)
		return why;
	struct aeg_wire_src src = { 0 };
	if (!rx->peer_lookup(rx->peer_arg, out->hdr.src_node, out->hdr.src_worker, &src))
		return AEG_WIRE_DROP_UNKNOWN_NODE;
	assert(src.replay != NULL && src.keys != NULL);
	struct aeg_wire_replay *win = src.replay;
	/* Read-only here: a forged sequence must not move the window. */
	why = aeg_wire_replay_check(win, out->hdr.seq);
	if (why != AEG_WIRE_OK)
		return why;
	if (check_tag) {
		const struct aeg_wire_mac *mac = NULL;
		for (int i = 0; i < AEG_WIRE_RX_KEYS && mac == NULL; i++)
			if (src.keys[i] != NULL && aeg_wire_mac_key_id(src.keys[i]) == out->hdr.key_id)
				mac = src.keys[i];
		if (mac == NULL)
			return AEG_WIRE_DROP_UNKNOWN_KEY;
		/* The lookup's contract: keys of frames from that node to us. */
		assert(wire_mac_is_for(mac, rx->cluster, out->hdr.src_node, rx->self_node));
		size_t signed_len = AEG_WIRE_HDR_BYTES + out->hdr.batch_len;
		if (!wire_mac_verify(mac, pkt, signed_len, pkt + signed_len))
			return AEG_WIRE_DROP_BAD_TAG;
	}
	out->batch = pkt + AEG_WIRE_HDR_BYTES;
	aeg_wire_replay_commit(win, out->hdr.seq);
	return AEG_WIRE_OK;
}

enum aeg_wire_drop aeg_wire_parse(const struct aeg_wire_rx *rx, const uint8_t *pkt,
				  size_t len, struct aeg_wire_frame *out)
{
	return parse(rx, pkt, len, out, true);
}

enum aeg_wire_drop wire_parse_untagged_for_test(const struct aeg_wire_rx *rx,
						const uint8_t *pkt, size_t len,
						struct aeg_wire_frame *out)
{
	return parse(rx, pkt, len, out, false);
}
