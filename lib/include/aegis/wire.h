/* aegis/wire.h — the packet wire format between Aegis workers: one UDP
 * payload is one authenticated frame carrying a batch of messages.
 *
 *   frame   = header(42) | message* | tag(16)
 *   header  = magic u32 "AEGW" | version u8 | flags u8 | cluster u32 |
 *             src_node u32 | dst_node u32 | src_worker u32 | dst_worker u32 |
 *             seq u64 | batch_len u32 | msg_count u32          (little-endian)
 *   message = type u8 | group varint | body_len varint | body
 *   tag     = SipHash-2-4-128(cluster key, header | messages)
 *
 * Message bodies are opaque bytes here (Raft, client, txn and CRDT
 * messages of many groups share one packet). Varints are minimal LEB128
 * (lib/common/codec.h), so every frame has exactly one encoding.
 *
 * Why SipHash-2-4 with a 128-bit output: it is a keyed PRF built for
 * short inputs (most frames are heartbeats and small appends), it is
 * ~80 lines of plain C here checked against the reference vectors, and it
 * needs no new dependency (libsodium is not part of the toolchain). Cost,
 * measured by aegis-bench-wire on the 2-core dev machine (AMD EPYC), CPU
 * time: ~40 ns for a 64-byte frame, ~0.6 us for 1400 bytes, i.e. about
 * 0.4 ns per byte plus ~20 ns. HMAC-SHA-256 and keyed BLAKE2b need 2-4
 * compression calls even for a heartbeat, so they lose on small frames;
 * on full 1400-byte frames a SIMD Poly1305 or AES-GMAC (libsodium,
 * OpenSSL) would be 2-3x cheaper per byte. If the dataplane benchmark
 * shows the tag is the limit, a later version can switch: the version
 * byte and aeg_wire_tag() are the only places that know the algorithm.
 * If SipHash-2-4-128 is a good PRF, a blind forgery succeeds with
 * probability 2^-128 per try (its authors note the 128-bit output mode
 * is less studied than the 64-bit one). There is no encryption: the data is
 * replicated state, the threat is forgery and replay; confidentiality,
 * if wanted, belongs to the link (IPsec, MACsec).
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
 * Pure: no allocation, no clock, no syscalls. The builder writes straight
 * into the caller's packet buffer (an mbuf's data room) and the parser
 * hands out pointers into the received packet: no copies besides the one
 * write of each message body into the packet. */
#ifndef AEGIS_WIRE_H
#define AEGIS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_WIRE_MAGIC 0x57474541u /* "AEGW" as little-endian bytes */
#define AEG_WIRE_VERSION 1
#define AEG_WIRE_HDR_BYTES 42
#define AEG_WIRE_TAG_BYTES 16
#define AEG_WIRE_KEY_BYTES 16
/* Largest frame: the largest IPv4 UDP payload. */
#define AEG_WIRE_FRAME_BYTES_MAX 65507u
/* Smallest frame holding nothing: header and tag. */
#define AEG_WIRE_FRAME_BYTES_MIN (AEG_WIRE_HDR_BYTES + AEG_WIRE_TAG_BYTES)
/* Smallest message: type, group 0, empty body. */
#define AEG_WIRE_MSG_BYTES_MIN 3
/* Flags: none are defined in version 1; unknown bits are refused so that
 * a later version can give them a meaning. */
#define AEG_WIRE_FLAGS_KNOWN 0x00u

/* Why a packet was dropped. The values and names are stable: the dataplane
 * counts drops in an array indexed by this enum and exports the names. */
enum aeg_wire_drop {
	AEG_WIRE_OK = 0,            /* accepted, not a drop */
	AEG_WIRE_DROP_TRUNCATED,    /* shorter than its header says */
	AEG_WIRE_DROP_BAD_MAGIC,    /* not an Aegis frame */
	AEG_WIRE_DROP_BAD_VERSION,  /* a version this node does not speak */
	AEG_WIRE_DROP_BAD_FLAGS,    /* unknown flag bits */
	AEG_WIRE_DROP_BAD_LENGTH,   /* longer than its header says, or over the max */
	AEG_WIRE_DROP_BAD_COUNT,    /* message count impossible or not matching */
	AEG_WIRE_DROP_WRONG_CLUSTER,
	AEG_WIRE_DROP_WRONG_DEST,   /* addressed to another node or worker */
	AEG_WIRE_DROP_UNKNOWN_NODE, /* (src node, src worker) not in the peer table */
	AEG_WIRE_DROP_REPLAYED,     /* sequence already seen in the window */
	AEG_WIRE_DROP_TOO_OLD,      /* sequence below the window */
	AEG_WIRE_DROP_BAD_TAG,      /* authentication failed */
	AEG_WIRE_DROP_TRUNCATED_MSG, /* a message runs past the batch */
	AEG_WIRE_DROP_BAD_MSG,      /* a message header is malformed (non-minimal varint) */
	AEG_WIRE_DROP_NR        /* number of values, for arrays */
};

/* "ok", "truncated", "bad_magic", ...: snake_case, usable as a metric
 * label. Out-of-range values give "invalid". */
const char *aeg_wire_drop_name(enum aeg_wire_drop reason);

/* ---- authentication ---------------------------------------------------- */

struct aeg_wire_key {
	uint8_t bytes[AEG_WIRE_KEY_BYTES];
};

/* The tag of len bytes at data. */
void aeg_wire_tag(const struct aeg_wire_key *key, const void *data, size_t len,
		  uint8_t tag[AEG_WIRE_TAG_BYTES]);
/* Recomputes the tag and compares in constant time. */
bool aeg_wire_tag_verify(const struct aeg_wire_key *key, const void *data, size_t len,
			 const uint8_t tag[AEG_WIRE_TAG_BYTES]);

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
	uint32_t cluster;
	uint32_t src_node;
	uint32_t dst_node;
	uint32_t src_worker;
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
 * batch_len and msg_count are ignored (set by the builder). Returns 0,
 * -EINVAL (unknown flags, seq 0) or -EMSGSIZE (cap < header + tag). */
int aeg_wire_builder_begin(struct aeg_wire_builder *b, uint8_t *buf, size_t cap,
			   const struct aeg_wire_hdr *hdr);
/* Appends a message and copies its body. Returns 0; -ENOSPC when it does
 * not fit in what is left (seal, send, and add it to a new frame);
 * -EMSGSIZE when it would not fit even into an empty frame of this
 * capacity (an error for the caller, never silently dropped). */
int aeg_wire_builder_add(struct aeg_wire_builder *b, uint8_t type, uint32_t group,
			 const void *body, size_t body_len);
/* Like add, but returns in *body a place for body_len bytes that the
 * caller fills before the next call (encode straight into the packet). */
int aeg_wire_builder_reserve(struct aeg_wire_builder *b, uint8_t type, uint32_t group,
			     size_t body_len, uint8_t **body);
/* Largest body of a message for group that still fits in the open frame
 * (0 if none; a zero-length body may still fit, check with add). */
size_t aeg_wire_builder_room(const struct aeg_wire_builder *b, uint32_t group);
/* Largest body a message can have in an empty frame of frame_cap bytes. */
size_t aeg_wire_msg_body_max(size_t frame_cap, uint32_t group);
/* Writes batch length, count and tag. Returns the frame length (the UDP
 * payload length), or -EINVAL if the builder is not open. */
int aeg_wire_builder_seal(struct aeg_wire_builder *b, const struct aeg_wire_key *key);

/* ---- parser ------------------------------------------------------------ */

/* The receiving worker's view. peer_lookup returns the replay window of
 * the stream (src_node, src_worker), or NULL if the node is unknown (not
 * in the cluster map). It must not fail in other ways and must not
 * allocate; it is called once per packet, before the tag is checked. */
struct aeg_wire_rx {
	const struct aeg_wire_key *key;
	uint32_t cluster;
	uint32_t self_node;
	uint32_t self_worker;
	struct aeg_wire_replay *(*peer_lookup)(void *arg, uint32_t node, uint32_t worker);
	void *peer_arg;
};

/* An accepted frame: the header and a view of the messages inside pkt. */
struct aeg_wire_frame {
	struct aeg_wire_hdr hdr;
	const uint8_t *batch;
};

/* Checks, in this order: length and magic, version, flags, lengths and
 * count, cluster, destination, peer, replay window (read only), tag, every
 * message header, then records seq in the window. Returns AEG_WIRE_OK and
 * fills *out, or the reason to drop (and *out is unspecified). */
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
};

void aeg_wire_iter_init(struct aeg_wire_iter *it, const struct aeg_wire_frame *f);
/* 1 and the next message in *m, 0 at the end, or -EBADMSG (never for a
 * frame that aeg_wire_parse accepted: it checked every message). */
int aeg_wire_iter_next(struct aeg_wire_iter *it, struct aeg_wire_msg *m);

AEG_API_END

#endif
