/* aegis/msg.h — the one registry of wire message types.
 *
 * Every message in a cluster frame (aegis/wire.h: type u8 | group | body)
 * carries one of these types; a program never invents its own numbers, so a
 * test payload can never be taken for a Raft message by a real node. A
 * change of a body's format takes a new number (the body has no version
 * byte of its own). 0 is never a valid type. */
#ifndef AEGIS_MSG_H
#define AEGIS_MSG_H

#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

enum aeg_msg_type {
	AEG_MSG_TEST = 1,     /* aegis-dpnode, benchmarks and tests: opaque payloads */
	AEG_MSG_RAFT = 2,     /* one Raft message: aeg_raft_msg_encode(), group = group id */
	AEG_MSG_RAFT_HB = 3,  /* coalesced heartbeats of many groups: aeg_raft_hb_batch_encode() */
	AEG_MSG_FRAG = 4,     /* fragment of a message larger than a frame (lib/frag) */
	AEG_MSG_FRAG_ACK = 5, /* fragment acknowledgements (lib/frag) */
	AEG_MSG_META = 6,     /* a record asked of the meta group's leader (dataplane/replica/replica_meta.c) */
	AEG_MSG_PLACE = 7,    /* replica placement of a shard move: aeg_place_msg (shard_move.h) */
	AEG_MSG_TYPE_MAX = 7, /* highest defined type, for arrays of [MAX + 1] */
};

/* "test", "raft", "raft_hb", "frag", "frag_ack"; "unknown" for any other
 * value. snake_case, usable as a metric label. */
const char *aeg_msg_type_name(uint8_t type);

AEG_API_END

#endif
