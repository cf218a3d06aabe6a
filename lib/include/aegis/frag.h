/* aegis/frag.h — reliable delivery of messages larger than a frame over the
 * unreliable, reordering datagram stream between two workers.
 *
 * A message (type, group, up to msg_bytes_max bytes) is cut into fragments
 * of frag_bytes; each travels as one AEG_FRAG_TYPE_DATA message of a
 * cluster frame (aegis/wire.h: frames are authenticated there, so nothing
 * here needs a MAC). The receiver reassembles into one of a fixed number of
 * slots per peer stream and answers with AEG_FRAG_TYPE_ACK messages:
 * cumulative index plus a 128-fragment selective-ack bitmap, sent in the
 * next poll after any fragment arrived (so at most one per slot per worker
 * iteration, coalesced into frames by the worker), and a "complete" ack
 * once the message is whole. The sender keeps each message until it is
 * fully acknowledged and resends only missing fragments: at once when a
 * fragment sent later has arrived (RACK-style, with a reorder allowance of
 * a quarter of the smoothed RTT), else after a retransmission timeout
 * (2 x srtt + 4 x rttvar, clamped, doubled on each expiry). It gives up on
 * a message (counted: the caller — Raft — resends at its own level) when no
 * fragment was acknowledged for give_up_ns or the message is older than
 * msg_timeout_ns; the receiver drops a partial message idle for
 * rx_timeout_ns.
 *
 * Pacing: at most window_frags fragments of a stream are unacknowledged
 * (default 64, ~90 KB: fits a kernel socket's default 208 KB receive
 * buffer and a NIC's rx ring, one 64 KiB Raft batch goes in one window) and
 * a poll sends at most burst_frags fragments over all streams (default 32:
 * one tx burst), so a 1 MiB message never fills the tx ring ahead of the
 * heartbeats queued in the same iteration. A fragment is never sent beyond
 * what an ack can describe (cumulative + 128).
 *
 * Exactly once: message ids count up per stream from msg_id_first (the
 * wall clock in ns at start, so a restarted sender never reuses an id);
 * every fragment also says the lowest id its sender still has in flight
 * (base), and a sender never has ids more than AEG_FRAG_ID_SPAN apart in
 * flight. The receiver keeps, per stream, the highest base seen (floor) and
 * a bitmap of ids in [floor, floor + SPAN) already delivered: a fragment of
 * a delivered message is answered with a complete ack and never delivered
 * again; anything below the floor is stale (its sender has let go of it).
 * A receiver that restarts forgets that bitmap: a message whose complete
 * ack was lost may then be delivered a second time (Raft messages are
 * idempotent).
 *
 * Every received fragment is checked against its message's first one (type,
 * group, total, count) and against the geometry (all fragments but the
 * last have the same length, fragment i sits at i x that length, the last
 * ends at total): anything else is dropped and counted, never written.
 *
 * Pure: no clock (now_ns is an argument, > 0), no syscalls, memory
 * allocated once at init (aeg_frag_mem_bytes says how much). Output goes
 * through the caller's reserve callback (aeg_frag_out), straight into the
 * packet. Single-threaded. */
#ifndef AEGIS_FRAG_H
#define AEGIS_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

/* Wire message types: AEG_MSG_FRAG and AEG_MSG_FRAG_ACK of aegis/msg.h. */
#define AEG_FRAG_TYPE_DATA 4u
#define AEG_FRAG_TYPE_ACK 5u

/* FRAG body (little-endian), the wire message's group = the message's:
 *   msg_id u64 | total u32 | offset u32 | index u16 | count u16 |
 *   type u8 | base_delta u8 | data (1 .. total bytes)
 * base_delta = msg_id - the lowest id the sender has in flight. */
#define AEG_FRAG_HDR_BYTES 22u
/* ACK body, wire group 0:
 *   msg_id u64 | flags u8 | cum u16 | sack u64 x 2
 * cum: fragments [0, cum) arrived; sack bit j (word j / 64, bit j % 64):
 * fragment cum + 1 + j arrived. flags: COMPLETE (all arrived, cum = 0 and
 * sack empty). */
#define AEG_FRAG_ACK_BYTES 27u
#define AEG_FRAG_ACK_COMPLETE 0x01u
#define AEG_FRAG_SACK_BITS 128u
#define AEG_FRAG_ID_SPAN 64u
#define AEG_FRAG_COUNT_MAX 65535u

struct aeg_frag_hdr {
	uint64_t msg_id;
	uint32_t total;
	uint32_t offset;
	uint16_t index;
	uint16_t count;
	uint8_t type;
	uint8_t base_delta;
	const uint8_t *data; /* decode: points into the body */
	uint32_t len;        /* data bytes */
};

struct aeg_frag_ack {
	uint64_t msg_id;
	uint8_t flags;
	uint16_t cum;
	uint64_t sack[AEG_FRAG_SACK_BITS / 64];
};

/* Decoders check the body on its own: length, count >= 1, index < count,
 * 0 < len, offset + len <= total, base_delta < SPAN and <= msg_id, known
 * flags, a complete ack with cum 0 and no sack bits. Return 0, -EMSGSIZE
 * (truncated or trailing bytes) or -EINVAL. */
int aeg_frag_hdr_decode(struct aeg_frag_hdr *h, const uint8_t *body, size_t len);
int aeg_frag_ack_decode(struct aeg_frag_ack *a, const uint8_t *body, size_t len);
/* Write AEG_FRAG_HDR_BYTES (the data follows, the caller copies it) and
 * AEG_FRAG_ACK_BYTES. */
void aeg_frag_hdr_encode(const struct aeg_frag_hdr *h, uint8_t out[AEG_FRAG_HDR_BYTES]);
void aeg_frag_ack_encode(const struct aeg_frag_ack *a, uint8_t out[AEG_FRAG_ACK_BYTES]);

/* Why a received FRAG or ACK message was dropped (stable values, names
 * from aeg_frag_drop_name, snake_case). */
enum aeg_frag_drop {
	AEG_FRAG_OK = 0,
	AEG_FRAG_DROP_MALFORMED,  /* the decoder refused it */
	AEG_FRAG_DROP_TOO_BIG,    /* total over msg_bytes_max, count over the slot */
	AEG_FRAG_DROP_MISMATCH,   /* type/group/total/count differ from the id's first fragment */
	AEG_FRAG_DROP_GEOMETRY,   /* offset/length inconsistent: would overlap or leave a hole */
	AEG_FRAG_DROP_DUP,        /* fragment already held, or message already delivered */
	AEG_FRAG_DROP_STALE,      /* id below the floor: its sender let go of it */
	AEG_FRAG_DROP_NO_SLOT,    /* every reassembly slot of the stream is busy */
	AEG_FRAG_DROP_ACK_UNKNOWN, /* ack for an id not in flight (late duplicate) */
	AEG_FRAG_DROP_ACK_BOGUS,  /* ack naming fragments never sent */
	AEG_FRAG_DROP_NR
};
const char *aeg_frag_drop_name(enum aeg_frag_drop d);

/* Zero (or an unset field) picks the default shown. */
struct aeg_frag_config {
	uint32_t streams;          /* peer streams; every call names one by index */
	uint32_t msg_bytes_max;    /* largest message (1 MiB + 64 KiB) */
	uint32_t frag_bytes;       /* data bytes per fragment (required) */
	uint16_t tx_slots;         /* messages in flight per stream (2) */
	uint16_t rx_slots;         /* messages in reassembly per stream (2; keep >= the
				    * peer's tx_slots or its messages wait for slots) */
	uint16_t window_frags;     /* unacknowledged fragments per stream (64) */
	uint16_t burst_frags;      /* fragments per poll over all streams (32) */
	uint64_t rto_ns_min;       /* 2 ms */
	uint64_t rto_ns_max;       /* 50 ms */
	uint64_t give_up_ns;       /* no fragment acknowledged for this long: failed (250 ms) */
	uint64_t msg_timeout_ns;   /* a message older than this: failed (2 s) */
	uint64_t rx_timeout_ns;    /* a partial message with no fragment for this long (1 s) */
	uint64_t msg_id_first;     /* first id of every stream (the wall clock in ns); > 0 */
};

/* Counters (plain: the caller copies them where other threads read). */
struct aeg_frag_stats {
	uint64_t tx_msgs;     /* messages accepted by aeg_frag_send */
	uint64_t tx_done;     /* ... fully acknowledged */
	uint64_t tx_failed;   /* ... given up (timeout) */
	uint64_t tx_busy;     /* sends refused: no free slot or id span (-ENOBUFS) */
	uint64_t tx_frags;    /* fragments sent, first time */
	uint64_t tx_rtx;      /* fragments sent again */
	uint64_t tx_rto;      /* retransmission timeouts */
	uint64_t tx_acks;     /* acks sent */
	uint64_t rx_frags;    /* fragments taken into a slot */
	uint64_t rx_msgs;     /* messages delivered */
	uint64_t rx_acks;     /* acks taken */
	uint64_t rx_timeout;  /* partial messages dropped: idle */
	uint64_t rx_abandoned; /* partial messages dropped: their sender gave up */
	uint64_t drops[AEG_FRAG_DROP_NR];
};

/* A delivered message: body points into the slot, valid until the next
 * aeg_frag_rx call on the endpoint. */
struct aeg_frag_msg {
	uint8_t type;
	uint32_t group;
	const uint8_t *body;
	uint32_t len;
};

/* Where fragments and acks go: a place for a wire message of len body
 * bytes to stream, or NULL when nothing more can be sent now (no buffer:
 * the endpoint stops and tries again at the next poll). */
struct aeg_frag_out {
	uint8_t *(*reserve)(void *arg, uint32_t stream, uint8_t type, uint32_t group,
			    uint32_t len);
	void *arg;
};

struct aeg_frag;

/* Bytes aeg_frag_init allocates for this config (after defaults), and of
 * them per stream; 0 for an invalid config. */
size_t aeg_frag_mem_bytes(const struct aeg_frag_config *cfg, size_t *per_stream);
/* Returns 0, -EINVAL (streams 0, frag_bytes 0, msg_bytes_max over
 * COUNT_MAX fragments, window over the sack span, min > max, id 0) or
 * -ENOMEM. */
int aeg_frag_init(struct aeg_frag **out, const struct aeg_frag_config *cfg);
void aeg_frag_fini(struct aeg_frag *f);

/* Takes a copy of the message for stream; its fragments leave in the next
 * polls. Returns 0, -EMSGSIZE (0 bytes or over msg_bytes_max), -ENOBUFS
 * (every tx slot of the stream busy, or the id span full: counted in
 * tx_busy) or -EINVAL (stream out of range). */
int aeg_frag_send(struct aeg_frag *f, uint32_t stream, uint8_t type, uint32_t group,
		  const void *body, uint32_t len, uint64_t now_ns);

/* One received wire message of type AEG_FRAG_TYPE_DATA or _ACK from
 * stream. Returns 1 with a whole message in *out, 0 when taken, or
 * -EBADMSG when dropped (the reason counted in drops[]). */
int aeg_frag_rx(struct aeg_frag *f, uint32_t stream, uint8_t wire_type, uint32_t group,
		const uint8_t *body, uint32_t len, uint64_t now_ns, struct aeg_frag_msg *out);

/* Timers and output: owed acks, retransmissions, new fragments within the
 * window, give-ups and reassembly timeouts. Returns the messages written
 * through out (0: nothing to do). O(1) when nothing is in flight. */
uint32_t aeg_frag_poll(struct aeg_frag *f, uint64_t now_ns, const struct aeg_frag_out *out);
/* True when some message is being sent or reassembled or an ack is owed. */
bool aeg_frag_busy(const struct aeg_frag *f);

const struct aeg_frag_stats *aeg_frag_stats(const struct aeg_frag *f);
/* The config after defaults. */
const struct aeg_frag_config *aeg_frag_config(const struct aeg_frag *f);

AEG_API_END

#endif
