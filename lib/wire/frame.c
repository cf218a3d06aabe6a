/* The frame: header codec, drop reason names, and the parser that checks a
 * received packet from the outside in (cheap checks first, the tag before
 * anything that trusts the contents, the replay window last). The
 * messages are checked by the iterator as they are delivered (one pass). */
#include "wire_internal.h"

#include <assert.h>

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

void wire_hdr_encode(struct aeg_writer *w, const struct aeg_wire_hdr *h)
{
	aeg_put_u32(w, AEG_WIRE_MAGIC);
	aeg_put_u8(w, h->version);
	aeg_put_u8(w, h->flags);
	aeg_put_u8(w, h->key_id);
	aeg_put_u8(w, 0); /* reserved */
	aeg_put_u32(w, h->cluster);
	aeg_put_u32(w, h->src_node);
	aeg_put_u32(w, h->dst_node);
	aeg_put_u32(w, h->src_worker);
	aeg_put_u32(w, h->dst_worker);
	aeg_put_u64(w, h->seq);
	aeg_put_u32(w, h->batch_len);
	aeg_put_u32(w, h->msg_count);
}

/* The caller has checked the magic already (check_preamble) and the
 * reserved byte apart (check_header). */
void wire_hdr_decode(struct aeg_reader *r, struct aeg_wire_hdr *h)
{
	uint32_t magic = aeg_get_u32(r);
	assert(r->error || magic == AEG_WIRE_MAGIC);
	(void)magic; /* unused when NDEBUG */
	h->version = aeg_get_u8(r);
	h->flags = aeg_get_u8(r);
	h->key_id = aeg_get_u8(r);
	(void)aeg_get_u8(r); /* reserved */
	h->cluster = aeg_get_u32(r);
	h->src_node = aeg_get_u32(r);
	h->dst_node = aeg_get_u32(r);
	h->src_worker = aeg_get_u32(r);
	h->dst_worker = aeg_get_u32(r);
	h->seq = aeg_get_u64(r);
	h->batch_len = aeg_get_u32(r);
	h->msg_count = aeg_get_u32(r);
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
	struct aeg_wire_replay *win =
		rx->peer_lookup(rx->peer_arg, out->hdr.src_node, out->hdr.src_worker);
	if (win == NULL)
		return AEG_WIRE_DROP_UNKNOWN_NODE;
	/* Read-only here: a forged sequence must not move the window. */
	why = aeg_wire_replay_check(win, out->hdr.seq);
	if (why != AEG_WIRE_OK)
		return why;
	if (check_tag) {
		const struct aeg_wire_mac *mac = NULL;
		for (int i = 0; i < AEG_WIRE_RX_KEYS; i++)
			if (rx->keys[i] != NULL && aeg_wire_mac_key_id(rx->keys[i]) == out->hdr.key_id)
				mac = rx->keys[i];
		if (mac == NULL)
			return AEG_WIRE_DROP_UNKNOWN_KEY;
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
