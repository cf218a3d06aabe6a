/* aegis/client_proto.h — the client protocol: one UDP datagram carries a
 * batch of requests (client -> a node's worker port) or of responses (node ->
 * client), authenticated with the CLIENT key, never the cluster key, so that
 * no client can forge a Raft message (and the magics differ, too).
 *
 *   datagram = header(27) | item* | tag(16)
 *   header   = magic u32 "AEGC" | version u8 | kind u8 | flags u8 |
 *              client_id u64 | seq_floor u64 | count u16 | body_len u16
 *   request  = seq u64 | op u8 | consistency u8 | iflags u8 | shard u32 |
 *              epoch u64 | expect_version u64 | key_len varint | key |
 *              value_len varint | value | [part]
 *   response = seq u64 | status u8 | iflags u8 | version u64 |
 *              leader_hint u32 | value_len varint | value | [part]
 *   part     = index varint | count varint | total varint | offset varint
 *              (present iff iflags has AEG_CLIENT_ITEM_PART)
 *   tag      = SipHash-2-4-128(client key, header | items)  (aeg_wire_tag)
 *
 * Integers little-endian, varints minimal LEB128 (lib/common/codec.h), so a
 * datagram has exactly one encoding. body_len is the bytes of items.
 *
 * Sequence numbers and sessions. seq is the client's request number, unique
 * and increasing per client id; a response carries it back so the client
 * matches it. A write (PUT, DEL, CAS) with seq != 0 is session-tracked: the
 * node applies (client_id, seq) once and answers a retry (same seq) with the
 * first result. Reads, MAP and PING are never session-tracked: their seq only
 * matches the reply. seq 0 means "no session, no matching" (one request at
 * a time tools). seq_floor in a request header: every request of this client
 * below it has had its reply, so the node may forget their results (0: the
 * client says nothing); responses carry 0.
 *
 * Replay: the tag stops forgery, not replay. A replayed write finds its
 * (client, seq) in the session table and is answered, not applied again,
 * until the session expires (then SESSION_EXPIRED); a replayed read is
 * harmless.
 *
 * Large values (up to AEG_CLIENT_VALUE_BYTES_MAX). An item whose value does
 * not fit in one datagram is sent as `count` part items (one per datagram),
 * each repeating the item's fields and key and carrying value bytes
 * [offset, offset + value_len) of a value of `total` bytes. The receiver
 * reassembles them in bounded memory (aegis/client_reasm.h), keyed by
 * (client id, seq) on the node and by seq on the client. Nothing asks for a
 * lost part: a client that misses a reply part, or whose request part was
 * lost (no reply comes), resends the WHOLE request after its timeout with the
 * same seq; the session table keeps a write applying once.
 *
 * Pure: no allocation, no clock, no syscalls. The builder writes straight
 * into the caller's packet buffer; item views point into the datagram. */
#ifndef AEGIS_CLIENT_PROTO_H
#define AEGIS_CLIENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/wire.h"

AEG_API_BEGIN

#define AEG_CLIENT_MAGIC 0x43474541u /* "AEGC" as little-endian bytes */
#define AEG_CLIENT_VERSION 1
#define AEG_CLIENT_HDR_BYTES 27
#define AEG_CLIENT_TAG_BYTES AEG_WIRE_TAG_BYTES
#define AEG_CLIENT_DGRAM_BYTES_MIN (AEG_CLIENT_HDR_BYTES + AEG_CLIENT_TAG_BYTES)
/* The largest IPv4 UDP payload (kernel sockets), and the default over the
 * DPDK ports (1500 MTU - IPv4 20 - UDP 8). */
#define AEG_CLIENT_DGRAM_BYTES_MAX 65507u
#define AEG_CLIENT_DGRAM_BYTES_DEFAULT 1472u
/* Results a node keeps per client session and shard (lib/kv's
 * session_results_max as aegisd and the embedded node set it): the window a
 * pipelining client may have unsettled per shard (aeg_client_cfg). */
#define AEG_CLIENT_SESSION_WINDOW 1024u
/* Items in one datagram at most (the count field is u16; the node may set a
 * lower limit in struct aeg_client_rx). */
#define AEG_CLIENT_ITEMS_MAX 2048u
/* Smallest items: every fixed field, empty key and value, no part. */
#define AEG_CLIENT_REQ_BYTES_MIN 33
#define AEG_CLIENT_RESP_BYTES_MIN 23
/* Protocol limit of a (reassembled) value: part totals above it are
 * malformed. Nodes and clients configure their own, smaller limit (1 MiB by
 * default; etcd's request limit is 1.5 MiB) and answer TOO_LARGE above it. */
#define AEG_CLIENT_VALUE_BYTES_MAX (64u << 20)

/* Datagram flags: none in version 1; unknown bits are refused. */
#define AEG_CLIENT_FLAGS_KNOWN 0x00u
/* Item flags. */
#define AEG_CLIENT_ITEM_PART 0x01u /* part fields follow the value */
#define AEG_CLIENT_ITEM_FLAGS_KNOWN 0x01u

enum aeg_client_kind {
	AEG_CLIENT_KIND_REQUEST = 1,
	AEG_CLIENT_KIND_RESPONSE = 2,
};

enum aeg_client_opcode {
	AEG_CLIENT_GET = 1,
	AEG_CLIENT_PUT = 2,
	AEG_CLIENT_DEL = 3,
	AEG_CLIENT_CAS = 4,  /* put if the key's version == expect_version (0: absent) */
	AEG_CLIENT_MAP = 5,  /* fetch the shard map: the reply's value */
	AEG_CLIENT_PING = 6,
	AEG_CLIENT_SCAN = 7, /* a range read of one shard: aegis/client_scan.h */
	AEG_CLIENT_OP_MAX = AEG_CLIENT_SCAN
};

enum aeg_client_consistency {
	AEG_CLIENT_DEFAULT = 0, /* the node's configured level */
	AEG_CLIENT_ONE = 1,
	AEG_CLIENT_QUORUM = 2,
	AEG_CLIENT_ALL = 3,
	AEG_CLIENT_CONSISTENCY_MAX = AEG_CLIENT_ALL
};

/* A node's answer to one request. Stable values: counted in arrays. */
enum aeg_client_status {
	AEG_CLIENT_OK = 0,
	AEG_CLIENT_NOT_FOUND,        /* GET, DEL, CAS with expect_version != 0 */
	AEG_CLIENT_VERSION_MISMATCH, /* CAS: version = the key's current one */
	AEG_CLIENT_NOT_LEADER,       /* leader_hint = node id, 0 unknown */
	AEG_CLIENT_STALE_EPOCH,      /* refetch the shard map (MAP) and route again */
	AEG_CLIENT_UNAVAILABLE,      /* no leader or no quorum yet: retry later */
	AEG_CLIENT_TOO_LARGE,        /* key or value over the node's limit */
	AEG_CLIENT_NO_SPACE,         /* node memory budget reached */
	AEG_CLIENT_BAD_REQUEST,      /* well-formed but meaningless (see req_check) */
	AEG_CLIENT_TIMEOUT,          /* not done in time (node), or no reply (client) */
	AEG_CLIENT_SESSION_EXPIRED,  /* (client, seq) forgotten: outcome unknown */
	AEG_CLIENT_BUSY,             /* overloaded: back off and retry */
	AEG_CLIENT_STATUS_NR
};

/* Why a datagram was dropped. Stable values: counted in arrays. */
enum aeg_client_drop {
	AEG_CLIENT_DROP_OK = 0,          /* accepted, not a drop */
	AEG_CLIENT_DROP_TRUNCATED,       /* shorter than its header says */
	AEG_CLIENT_DROP_BAD_MAGIC,       /* not a client datagram */
	AEG_CLIENT_DROP_BAD_VERSION,
	AEG_CLIENT_DROP_BAD_KIND,        /* a response sent to a node, or the reverse */
	AEG_CLIENT_DROP_BAD_FLAGS,       /* unknown header flag bits */
	AEG_CLIENT_DROP_BAD_LENGTH,      /* longer than its header says, or over the max */
	AEG_CLIENT_DROP_BAD_COUNT,       /* count impossible for body_len, or not matching */
	AEG_CLIENT_DROP_TOO_MANY_ITEMS,  /* count over the receiver's items_max */
	AEG_CLIENT_DROP_BAD_TAG,         /* authentication failed */
	AEG_CLIENT_DROP_TRUNCATED_ITEM,  /* an item runs past the body */
	AEG_CLIENT_DROP_BAD_ITEM,        /* malformed item (varint, op, flags, parts) */
	AEG_CLIENT_DROP_NR
};

/* snake_case names, usable as metric labels; "invalid" when out of range. */
const char *aeg_client_status_name(int status);
const char *aeg_client_drop_name(int reason);
const char *aeg_client_op_name(int op);
const char *aeg_client_consistency_name(int consistency);

/* Where an item's value sits in a larger one. count <= 1: the value is whole
 * (the decoder then says index 0, count 1, offset 0, total = value_len; the
 * encoder ignores index, total and offset). count >= 2: 0 < value_len,
 * index < count <= total, offset + value_len <= total. */
struct aeg_client_part {
	uint32_t index;
	uint32_t count;
	uint32_t total;  /* bytes of the whole value */
	uint32_t offset; /* of this part's bytes in the whole value */
};

struct aeg_client_req {
	uint64_t seq;
	uint8_t op;          /* enum aeg_client_opcode */
	uint8_t consistency; /* enum aeg_client_consistency */
	uint32_t shard;
	uint64_t epoch;          /* of the shard map the client routed with */
	uint64_t expect_version; /* CAS only */
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *value;
	uint32_t value_len;
	struct aeg_client_part part;
};

struct aeg_client_resp {
	uint64_t seq;
	uint8_t status;   /* enum aeg_client_status */
	uint64_t version; /* of the key (GET, PUT, CAS; VERSION_MISMATCH: current) */
	uint32_t leader_hint;
	const uint8_t *value; /* GET: the value; MAP: the encoded shard map */
	uint32_t value_len;
	struct aeg_client_part part;
};

/* Encoded size of an item (every field as it will be written). */
size_t aeg_client_req_size(const struct aeg_client_req *r);
size_t aeg_client_resp_size(const struct aeg_client_resp *r);

/* Largest value_len of one part item that fits in an empty datagram of
 * dgram_cap bytes, for any part fields of a value up to
 * AEG_CLIENT_VALUE_BYTES_MAX: requests with a key of key_len bytes, or
 * responses. 0 if nothing fits. Split a value into parts of this size. */
size_t aeg_client_req_part_max(size_t dgram_cap, size_t key_len);
size_t aeg_client_resp_part_max(size_t dgram_cap);

/* Meaning checks a node makes per request after the datagram parsed:
 * AEG_CLIENT_OK, or AEG_CLIENT_BAD_REQUEST (a key where none belongs or none
 * where one must be, a value on GET/DEL/MAP/PING, no value on SCAN (its args;
 * its key may be empty), expect_version off CAS, parts on anything but
 * PUT/CAS). Answer BAD_REQUEST rather than drop. */
enum aeg_client_status aeg_client_req_check(const struct aeg_client_req *r);

/* ---- builder ----------------------------------------------------------- */

struct aeg_client_builder {
	uint8_t *buf;
	size_t cap; /* datagram bytes allowed: min(buffer, path payload, MAX) */
	size_t len; /* header + items written so far */
	uint16_t count;
	uint8_t kind;
	bool open;
};

/* Starts a datagram in buf (cap bytes, at most AEG_CLIENT_DGRAM_BYTES_MAX
 * used). Returns 0, -EINVAL (unknown kind, seq_floor on a response, NULL
 * buf) or -EMSGSIZE (cap below header + tag). */
int aeg_client_builder_begin(struct aeg_client_builder *b, uint8_t *buf, size_t cap,
			     uint8_t kind, uint64_t client_id, uint64_t seq_floor);
/* Appends an item, copying key and value. 0; -ENOSPC when it does not fit in
 * what is left or the datagram has AEG_CLIENT_ITEMS_MAX items (seal, send,
 * add it to the next datagram); -EMSGSIZE when it cannot fit even in an
 * empty datagram of this cap (split the value into parts); -EINVAL for a
 * builder of the other kind, a closed one, or fields the codec cannot
 * carry (unknown op/consistency/status, bad part fields). */
int aeg_client_add_request(struct aeg_client_builder *b, const struct aeg_client_req *r);
int aeg_client_add_response(struct aeg_client_builder *b, const struct aeg_client_resp *r);
/* Writes count, body length and tag. Returns the datagram length, or
 * -EINVAL if the builder is not open. */
int aeg_client_builder_seal(struct aeg_client_builder *b, const struct aeg_wire_key *key);

/* ---- parser ------------------------------------------------------------ */

struct aeg_client_hdr {
	uint8_t version;
	uint8_t kind;
	uint8_t flags;
	uint64_t client_id;
	uint64_t seq_floor;
	uint16_t count;
	uint16_t body_len;
};

/* The receiver: the client key, the kind it accepts, and how many items it
 * takes per datagram (0: AEG_CLIENT_ITEMS_MAX). */
struct aeg_client_rx {
	const struct aeg_wire_key *key;
	uint8_t kind;
	uint16_t items_max;
};

struct aeg_client_dgram {
	struct aeg_client_hdr hdr;
	const uint8_t *body; /* the items, inside the packet */
};

/* Checks, in this order: magic, version, kind, length, flags, body length,
 * count, tag (constant time), then every item. Returns AEG_CLIENT_DROP_OK
 * and fills *out, or the reason to drop (*out is then unspecified). */
enum aeg_client_drop aeg_client_parse(const struct aeg_client_rx *rx, const uint8_t *pkt,
				      size_t len, struct aeg_client_dgram *out);

struct aeg_client_iter {
	const uint8_t *body;
	uint16_t body_len;
	uint16_t pos;  /* offset of the next item */
	uint16_t left; /* items not yet returned */
	uint8_t kind;
};

void aeg_client_iter_init(struct aeg_client_iter *it, const struct aeg_client_dgram *d);
/* 1 and the next item (views into the packet), 0 at the end, -EINVAL for
 * the wrong kind, -EBADMSG (never after aeg_client_parse accepted it). */
int aeg_client_next_request(struct aeg_client_iter *it, struct aeg_client_req *r);
int aeg_client_next_response(struct aeg_client_iter *it, struct aeg_client_resp *r);

AEG_API_END

#endif
