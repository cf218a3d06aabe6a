/* aegis/wire.h — the packet wire format between Aegis workers: one UDP
 * payload is one authenticated frame carrying a batch of messages.
 *
 *   frame   = header(40) | message* | tag(16)
 *   header  = magic u32 "AEGW" | version u8 (2) | flags u8 | key_id u8 |
 *             reserved u8 (0) | cluster u32 | src_node u32 | dst_node u32 |
 *             seq u64 | src_worker u16 | dst_worker u16 | batch_len u32 |
 *             msg_count u32                                 (little-endian)
 *   message = body_len u16 | type u8 | group u24 | body      (6-byte header)
 *   tag     = AES-128-GMAC(K_sd, IV = seq | src_worker | dst_worker (header
 *             bytes 20..31), AAD = header | messages)
 *   K_sd    = AES-128(cluster key key_id, src_node | dst_node | cluster | "AEG2")
 *
 * Message bodies are opaque bytes here (Raft, client, txn and CRDT
 * messages of many groups share one packet). The message header has one
 * fixed layout, so that a receiver decodes it with one load and a few
 * shifts and no data-dependent branch (version 1's varints cost a branch
 * per field); group ids are at most AEG_WIRE_GROUP_MAX.
 *
 * Why AES-GMAC (version 1 used SipHash-2-4-128): measured per frame by
 * aegis-bench-mac, it is 2x faster at 64 bytes and 7.4x at 1514 bytes
 * on a CPU with AES-NI and carry-less multiply (VAES/VPCLMULQDQ here):
 * 22 GB/s against 3 GB/s, which is what lets a core authenticate a
 * 25 Gbit/s stream with most of the core left. The code is libipsec-mb's (Intel, packaged in Debian,
 * already a DPDK dependency); aeg_wire_mac_new() picks its AVX-512, AVX2,
 * AVX or SSE code by CPUID, or on a CPU without AES-NI and PCLMULQDQ a
 * portable constant-time AES and GHASH of our own (lib/wire/gmac_soft.c,
 * 50-170x slower; AEG_WIRE_MAC_SOFTWARE forces it; the tags are the same).
 * lib/wire/README.md has the table and the argument.
 *
 * GMAC's security needs a nonce that never repeats under one key: two
 * frames with one nonce give away the hash key and with it forgeries. Each
 * ordered pair of nodes has its own key, derived from the cluster key
 * (K_sd above: AES as a PRF on distinct blocks), so the nonce only has to
 * be unique among the frames from one node to another: the 12-byte IV is
 * the frame's sequence number and the two workers. A sender numbers the
 * frames of each (worker, worker) stream strictly upwards
 * (aeg_wire_seq_next, below), so the IV is unique per key as long as a
 * restarted sender's wall clock is ahead of what it sent before (the same
 * assumption replay protection makes). If a clock was stepped back by more
 * than the downtime, rotate the key. A 12-byte IV is GCM's fast path: a
 * longer one (the whole stream id) is hashed first, ~15-20 ns more per
 * frame here, which was 10% of a small-frame bounce. Keys rotate without
 * downtime: the header names the key (key_id) and a receiver accepts up to
 * AEG_WIRE_RX_KEYS keys at once; install the new key everywhere, switch
 * senders to it, then retire the old one. Every member holds the cluster
 * key: per-pair keys keep nonces apart, they do not tell members apart.
 * A blind forgery succeeds with probability about n/2^128 for an n-block
 * frame. There is no encryption: the data is replicated state, the threat
 * is forgery and replay; confidentiality, if wanted, belongs to the link
 * (IPsec, MACsec).
 *
 * Replay: a stream is (source node, source worker) -> (destination node,
 * destination worker). The sending worker numbers frames per destination
 * (one counter next to each open builder), and the receiving worker keeps
 * one replay window per source (struct aeg_wire_replay, 40 bytes). The header names the destination
 * node and worker and both are authenticated, so a frame cannot be
 * replayed to another node or worker that shares the cluster key.
 * Senders must never reuse a sequence number under one key, also across
 * restarts: aeg_wire_seq_next() counts frames up by one and re-anchors the
 * count to the wall clock in ns only when it has fallen more than
 * AEG_WIRE_SEQ_RESYNC_NS behind it, so consecutive frames of a stream
 * have consecutive numbers (the window then tolerates reordering by up to
 * AEG_WIRE_REPLAY_WINDOW frames, whatever the rate) while every number
 * stays within AEG_WIRE_SEQ_RESYNC_NS of the sender's wall clock. A
 * restarted sender starts at its wall clock, above everything it sent
 * before (it cannot send a frame per ns). A receiver that restarts creates
 * its windows with a floor of its own start time minus the allowed clock
 * skew minus AEG_WIRE_SEQ_RESYNC_NS, so that frames captured before the
 * restart are refused.
 *
 * One pass: aeg_wire_parse() checks the header, the replay window and the
 * tag; the messages are checked as aeg_wire_iter_next() hands them out (a
 * frame whose batch is malformed can only come from a sender that holds
 * the key, i.e. a bug: the iterator stops there and says why).
 *
 * Pure: no clock, no syscalls; memory only in aeg_wire_mac_new(). The
 * builder writes straight into the caller's packet buffer (an mbuf's data
 * room) and the parser hands out pointers into the received packet: no
 * copies besides the one write of each message body into the packet.
 *
 * aeg_wire_tag() (SipHash-2-4-128 under a plain 16-byte key) stays for the
 * client protocol and join requests (aegis/client_proto.h, join_req.h):
 * small datagrams from clients that have no stream to number. */
#ifndef AEGIS_WIRE_H
#define AEGIS_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_WIRE_MAGIC 0x57474541u /* "AEGW" as little-endian bytes */
#define AEG_WIRE_VERSION 2
#define AEG_WIRE_HDR_BYTES 40
#define AEG_WIRE_TAG_BYTES 16
#define AEG_WIRE_KEY_BYTES 16
/* The GMAC IV: header bytes [20, 32): seq, src_worker, dst_worker. */
#define AEG_WIRE_IV_OFFSET 20
#define AEG_WIRE_IV_BYTES 12
/* Workers are u16 on the wire. */
#define AEG_WIRE_WORKER_MAX 0xffffu
/* Largest frame: the largest IPv4 UDP payload. */
#define AEG_WIRE_FRAME_BYTES_MAX 65507u
/* Smallest frame holding nothing: header and tag. */
#define AEG_WIRE_FRAME_BYTES_MIN (AEG_WIRE_HDR_BYTES + AEG_WIRE_TAG_BYTES)
/* A message header: body length u16, type u8, group u24. */
#define AEG_WIRE_MSG_HDR_BYTES 6
/* Smallest message: a header and an empty body. */
#define AEG_WIRE_MSG_BYTES_MIN AEG_WIRE_MSG_HDR_BYTES
#define AEG_WIRE_GROUP_MAX 0xffffffu
/* Largest message body in any frame. */
#define AEG_WIRE_BODY_BYTES_MAX (AEG_WIRE_FRAME_BYTES_MAX - AEG_WIRE_FRAME_BYTES_MIN - AEG_WIRE_MSG_HDR_BYTES)
/* Flags: none are defined in version 2; unknown bits are refused so that
 * a later version can give them a meaning. The reserved byte must be 0. */
#define AEG_WIRE_FLAGS_KNOWN 0x00u
/* Keys a receiver accepts at once (the current one and the next or the
 * previous during a rotation). */
#define AEG_WIRE_RX_KEYS 2

/* Why a packet was dropped. The values and names are stable: the dataplane
 * counts drops in an array indexed by this enum and exports the names. */
enum aeg_wire_drop {
	AEG_WIRE_OK = 0,            /* accepted, not a drop */
	AEG_WIRE_DROP_TRUNCATED,    /* shorter than its header says */
	AEG_WIRE_DROP_BAD_MAGIC,    /* not an Aegis frame */
	AEG_WIRE_DROP_BAD_VERSION,  /* a version this node does not speak */
	AEG_WIRE_DROP_BAD_FLAGS,    /* unknown flag bits, or the reserved byte not 0 */
	AEG_WIRE_DROP_BAD_LENGTH,   /* longer than its header says, or over the max */
	AEG_WIRE_DROP_BAD_COUNT,    /* message count impossible or not matching */
	AEG_WIRE_DROP_WRONG_CLUSTER,
	AEG_WIRE_DROP_WRONG_DEST,   /* addressed to another node or worker */
	AEG_WIRE_DROP_UNKNOWN_NODE, /* (src node, src worker) not in the peer table */
	AEG_WIRE_DROP_REPLAYED,     /* sequence already seen in the window */
	AEG_WIRE_DROP_TOO_OLD,      /* sequence below the window */
	AEG_WIRE_DROP_BAD_TAG,      /* authentication failed */
	AEG_WIRE_DROP_TRUNCATED_MSG, /* a message runs past the batch */
	AEG_WIRE_DROP_BAD_MSG,      /* a message header is malformed (version 1 only: varints) */
	AEG_WIRE_DROP_UNKNOWN_KEY,  /* key_id is not one of the receiver's keys */
	AEG_WIRE_DROP_NR        /* number of values, for arrays */
};

/* "ok", "truncated", "bad_magic", ...: snake_case, usable as a metric
 * label. Out-of-range values give "invalid". */
const char *aeg_wire_drop_name(enum aeg_wire_drop reason);

/* ---- authentication ---------------------------------------------------- */

struct aeg_wire_key {
	uint8_t bytes[AEG_WIRE_KEY_BYTES];
};

/* SipHash-2-4-128 of len bytes at data (the client protocol's tag). */
void aeg_wire_tag(const struct aeg_wire_key *key, const void *data, size_t len,
		  uint8_t tag[AEG_WIRE_TAG_BYTES]);
/* Recomputes the tag and compares in constant time. */
bool aeg_wire_tag_verify(const struct aeg_wire_key *key, const void *data, size_t len,
			 const uint8_t tag[AEG_WIRE_TAG_BYTES]);

/* The key of the frames from one node to another, ready to use: AES-128
 * round keys, GHASH key powers and the chosen code. Read only after
 * aeg_wire_mac_new(): any number of threads may use one. ~1.3 KB. */
struct aeg_wire_mac;

/* Flags of aeg_wire_mac_new. */
#define AEG_WIRE_MAC_SOFTWARE 0x1u /* no AES-NI/PCLMULQDQ: the portable code */

/* Derives and expands K_sd, the key of frames from src_node to dst_node in
 * cluster under the cluster key key (named key_id in the frames). Returns
 * 0, -EINVAL (unknown flags) or -ENOMEM. */
int aeg_wire_mac_new(struct aeg_wire_mac **out, const struct aeg_wire_key *key, uint8_t key_id,
		     uint32_t cluster, uint32_t src_node, uint32_t dst_node, unsigned flags);
void aeg_wire_mac_free(struct aeg_wire_mac *mac);
uint8_t aeg_wire_mac_key_id(const struct aeg_wire_mac *mac);
/* The code in use: "avx512", "avx2", "avx", "sse" or "software". */
const char *aeg_wire_mac_impl(const struct aeg_wire_mac *mac);
/* The GMAC tag of len bytes at data with the 12-byte iv. */
void aeg_wire_mac_tag(const struct aeg_wire_mac *mac, const uint8_t iv[AEG_WIRE_IV_BYTES],
		      const void *data, size_t len, uint8_t tag[AEG_WIRE_TAG_BYTES]);

/* ---- replay window ----------------------------------------------------- */

#define AEG_WIRE_REPLAY_BITS 256
/* Sequences more than this far below the highest one seen are too old;
 * one word of the ring holds the newest bits, hence BITS - 64. */
#define AEG_WIRE_REPLAY_WINDOW (AEG_WIRE_REPLAY_BITS - 64)

/* Bitmap ring over the highest sequence accepted (RFC 6479 layout): bit
 * (s mod BITS) says s was seen; moving the top forward clears whole words,
 * so an update is O(1) for small steps and O(BITS/64) for any jump. */
struct aeg_wire_replay {
	uint64_t top; /* highest sequence accepted (or the floor) */
	uint64_t bits[AEG_WIRE_REPLAY_BITS / 64];
};

/* How far a stream's sequence may fall behind the sender's wall clock
 * before it jumps to it (see "Replay" above). A frame reordered across
 * such a jump (once a second per busy stream) is refused as too old. */
#define AEG_WIRE_SEQ_RESYNC_NS 1000000000ull

/* The sequence of a stream's next frame: prev + 1, or wall_ns when prev + 1
 * is more than AEG_WIRE_SEQ_RESYNC_NS behind wall_ns (prev 0: a new
 * stream). Never returns 0 or a value <= prev. */
uint64_t aeg_wire_seq_next(uint64_t prev, uint64_t wall_ns);

/* The floor for a receiver that started at start_wall_ns (its wall clock)
 * when senders' clocks may differ by up to skew_ns: start minus skew minus
 * the most a sender's numbers lag its clock (AEG_WIRE_SEQ_RESYNC_NS); 0 if
 * that is before the epoch. */
uint64_t aeg_wire_replay_floor(uint64_t start_wall_ns, uint64_t skew_ns);

/* Every sequence <= floor is refused (as replayed or too old). */
void aeg_wire_replay_init(struct aeg_wire_replay *w, uint64_t floor);
/* AEG_WIRE_OK if seq would be accepted, else REPLAYED or TOO_OLD. Does not
 * change the window. */
enum aeg_wire_drop aeg_wire_replay_check(const struct aeg_wire_replay *w, uint64_t seq);
/* Records seq as seen; call only after the frame's tag verified and
 * aeg_wire_replay_check() accepted seq. */
void aeg_wire_replay_commit(struct aeg_wire_replay *w, uint64_t seq);

/* ---- frame header ------------------------------------------------------ */

struct aeg_wire_hdr {
	uint8_t version;
	uint8_t flags;
	uint8_t key_id;
	uint32_t cluster;
	uint32_t src_node;
	uint32_t dst_node;
	uint32_t src_worker; /* u16 on the wire: at most AEG_WIRE_WORKER_MAX */
	uint32_t dst_worker;
	uint64_t seq;
	uint32_t batch_len; /* bytes of messages between header and tag */
	uint32_t msg_count;
};

/* ---- builder: messages into one packet buffer -------------------------- */

/* One frame being filled. The caller keeps one per (peer node, peer
 * worker) on the send side, sends when add returns -ENOSPC (or the drain
 * timer fires), then begins the next frame in a new buffer. */
struct aeg_wire_builder {
	uint8_t *buf;
	size_t cap; /* frame bytes allowed: min(buffer room, path MTU payload) */
	size_t len; /* header + messages written so far */
	uint32_t msg_count;
	bool open;  /* between begin and seal */
};

/* Starts a frame in buf (cap bytes, at most AEG_WIRE_FRAME_BYTES_MAX are
 * used). hdr supplies cluster, nodes, workers, seq and flags; its version,
 * key_id, batch_len and msg_count are ignored (set by the builder and the
 * seal). Returns 0, -EINVAL (buf NULL, unknown flags, seq 0, a worker over
 * AEG_WIRE_WORKER_MAX) or -EMSGSIZE (cap < header + tag). */
int aeg_wire_builder_begin(struct aeg_wire_builder *b, uint8_t *buf, size_t cap,
			   const struct aeg_wire_hdr *hdr);

/* Largest body a message can have in an empty frame of frame_cap bytes
 * (the same for every group: the message header has one size). */
static inline size_t aeg_wire_msg_body_max(size_t frame_cap)
{
	if (frame_cap > AEG_WIRE_FRAME_BYTES_MAX)
		frame_cap = AEG_WIRE_FRAME_BYTES_MAX;
	if (frame_cap < AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_HDR_BYTES)
		return 0;
	return frame_cap - AEG_WIRE_FRAME_BYTES_MIN - AEG_WIRE_MSG_HDR_BYTES;
}

/* Largest body of a message that still fits in the open frame (0 if none;
 * a zero-length body may still fit, check with add). */
static inline size_t aeg_wire_builder_room(const struct aeg_wire_builder *b)
{
	size_t free_bytes = b->cap - AEG_WIRE_TAG_BYTES - b->len;
	return free_bytes > AEG_WIRE_MSG_HDR_BYTES ? free_bytes - AEG_WIRE_MSG_HDR_BYTES : 0;
}

/* Like add, but returns in *body a place for body_len bytes that the
 * caller fills before the next call (encode straight into the packet).
 * Returns 0, -ENOSPC (seal, send, and add it to a new frame), -EMSGSIZE
 * (would not fit even into an empty frame of this capacity: an error for
 * the caller, never silently dropped), -EINVAL (builder not open, group
 * over AEG_WIRE_GROUP_MAX). Inline: it runs once per message. */
static inline int aeg_wire_builder_reserve(struct aeg_wire_builder *b, uint8_t type,
					   uint32_t group, size_t body_len, uint8_t **body)
{
	if (!b->open || group > AEG_WIRE_GROUP_MAX)
		return -EINVAL;
	/* Compare in this order so that no sum can overflow. */
	if (b->cap < AEG_WIRE_FRAME_BYTES_MIN + AEG_WIRE_MSG_HDR_BYTES ||
	    body_len > aeg_wire_msg_body_max(b->cap))
		return -EMSGSIZE;
	size_t need = AEG_WIRE_MSG_HDR_BYTES + body_len;
	if (need > b->cap - AEG_WIRE_TAG_BYTES - b->len)
		return -ENOSPC;
	uint8_t *p = b->buf + b->len;
	p[0] = (uint8_t)body_len;
	p[1] = (uint8_t)(body_len >> 8);
	p[2] = type;
	p[3] = (uint8_t)group;
	p[4] = (uint8_t)(group >> 8);
	p[5] = (uint8_t)(group >> 16);
	*body = p + AEG_WIRE_MSG_HDR_BYTES;
	b->len += need;
	b->msg_count++;
	return 0;
}

/* Appends a message and copies its body; returns as reserve. */
static inline int aeg_wire_builder_add(struct aeg_wire_builder *b, uint8_t type, uint32_t group,
				       const void *body, size_t body_len)
{
	uint8_t *dst;
	int rc = aeg_wire_builder_reserve(b, type, group, body_len, &dst);
	if (rc == 0 && body_len != 0)
		__builtin_memcpy(dst, body, body_len);
	return rc;
}

/* Writes batch length, count, key id and tag. mac must be the key of the
 * header's (cluster, src_node, dst_node). Returns the frame length (the
 * UDP payload length), or -EINVAL if the builder is not open or mac is
 * another pair's key (the frame then stays open). */
int aeg_wire_builder_seal(struct aeg_wire_builder *b, const struct aeg_wire_mac *mac);

/* ---- parser ------------------------------------------------------------ */

/* What a receiver knows of a source: the replay window of the stream
 * (src_node, src_worker) and the keys it accepts for frames from
 * src_node to itself (AEG_WIRE_RX_KEYS entries, NULL slots unused, each of
 * another key_id; found by the frame's key_id). */
struct aeg_wire_src {
	struct aeg_wire_replay *replay;
	const struct aeg_wire_mac *const *keys;
};

/* The receiving worker's view. peer_lookup fills *out for (src_node,
 * src_worker) and returns true, or false if the node is unknown (not in
 * the cluster map). It must not fail in other ways and must not allocate;
 * it is called once per packet, before the tag is checked. */
struct aeg_wire_rx {
	uint32_t cluster;
	uint32_t self_node;
	uint32_t self_worker;
	bool (*peer_lookup)(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out);
	void *peer_arg;
};

/* An accepted frame: the header and a view of the messages inside pkt. */
struct aeg_wire_frame {
	struct aeg_wire_hdr hdr;
	const uint8_t *batch;
};

/* Checks, in this order: length and magic, version, flags, lengths and
 * count, cluster, destination, peer, replay window (read only), key, tag;
 * then records seq in the window. Returns AEG_WIRE_OK and fills *out, or
 * the reason to drop (and *out is unspecified). The messages are checked
 * by the iterator as they are read (one pass). */
enum aeg_wire_drop aeg_wire_parse(const struct aeg_wire_rx *rx, const uint8_t *pkt,
				  size_t len, struct aeg_wire_frame *out);

struct aeg_wire_msg {
	uint8_t type;
	uint32_t group;
	const uint8_t *body; /* points into the packet */
	uint32_t body_len;
};

struct aeg_wire_iter {
	const uint8_t *batch;
	uint32_t batch_len;
	uint32_t pos;  /* offset of the next message in batch */
	uint32_t left; /* messages not yet returned */
	enum aeg_wire_drop why; /* after -EBADMSG: TRUNCATED_MSG or BAD_COUNT */
};

static inline void aeg_wire_iter_init(struct aeg_wire_iter *it, const struct aeg_wire_frame *f)
{
	it->batch = f->batch;
	it->batch_len = f->hdr.batch_len;
	it->pos = 0;
	it->left = f->hdr.msg_count;
	it->why = AEG_WIRE_OK;
}

/* 1 and the next message in *m; 0 at the end (every byte of the batch
 * used by msg_count messages); -EBADMSG with it->why set when a message
 * runs past the batch or the count does not match its bytes. */
static inline int aeg_wire_iter_next(struct aeg_wire_iter *it, struct aeg_wire_msg *m)
{
	uint32_t room = it->batch_len - it->pos;
	if (it->left == 0) {
		if (room == 0)
			return 0;
		it->why = AEG_WIRE_DROP_BAD_COUNT; /* bytes after the last counted message */
		return -EBADMSG;
	}
	const uint8_t *p = it->batch + it->pos;
	if (room < AEG_WIRE_MSG_HDR_BYTES)
		goto truncated;
	uint32_t body_len = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	if (body_len > room - AEG_WIRE_MSG_HDR_BYTES)
		goto truncated;
	m->type = p[2];
	m->group = (uint32_t)p[3] | (uint32_t)p[4] << 8 | (uint32_t)p[5] << 16;
	m->body = p + AEG_WIRE_MSG_HDR_BYTES;
	m->body_len = body_len;
	it->pos += AEG_WIRE_MSG_HDR_BYTES + body_len;
	it->left--;
	return 1;
truncated:
	it->why = AEG_WIRE_DROP_TRUNCATED_MSG;
	return -EBADMSG;
}

AEG_API_END

#endif
