/* aegis/raft_codec.h — one Raft message (struct aeg_raft_msg) as bytes: the
 * body of a wire message of type AEG_MSG_RAFT (aegis/msg.h). The group id is
 * not in the body: it travels in the wire message header.
 *
 * Layout (every number a minimal LEB128 varint, lib/common/codec.h):
 *
 *   msg   = hdr u8 | from | to | term | fields of the type
 *   hdr   = type (bits 0-3) | REJECT 0x10 | QUIESCE 0x20 | HINT 0x40
 *
 *   APPEND          index | log_term | commit | n | entry * n
 *   APPEND_RESP     index [| hint | log_term]   REJECT allowed; HINT set iff
 *                                               hint or log_term is not 0
 *   VOTE, PRE_VOTE  index | log_term | ctx
 *   VOTE_RESP, PRE_VOTE_RESP  (nothing)         REJECT allowed
 *   HEARTBEAT       commit | ctx                QUIESCE allowed
 *   HEARTBEAT_RESP  ctx
 *   SNAPSHOT        commit | snap_index | snap_term | snap_total |
 *                   snap_offset | conf_len | conf | snap_len | chunk bytes
 *                   (conf = aeg_raft_conf_encode(snap_conf))
 *   TIMEOUT_NOW     (nothing)
 *
 *   entry = meta | [zigzag(term - previous term) if NEW_TERM] | data
 *   meta  = len << 3 | type << 1 | NEW_TERM
 *
 * An entry's index is implicit (index + 1 + i); its term is carried only
 * where it differs from the previous entry's (the first entry's previous
 * term is log_term), so a batch of one term costs 1-2 bytes per entry
 * besides its data. The zigzag delta keeps every term representable.
 *
 * One message has one encoding: a field a type does not use is not on the
 * wire, and the encoder refuses (-EINVAL) a message that sets one (a
 * non-zero field, a flag, reject, entries, a conf or chunk bytes), so that
 * decode(encode(m)) == m always holds and a raft change that starts using a
 * field shows up at once instead of being dropped silently. The decoder
 * refuses everything the encoder cannot produce.
 *
 * The codec checks the encoding, not Raft's rules (term 0, from == to,
 * offsets beyond the snapshot's total...): aeg_raft_step() checks those.
 *
 * Pure: no allocation; decoded entries and chunk bytes point into the
 * input buffer.
 *
 * Cost (aegis-bench-raft-codec, CPU time on the shared 2-core dev machine,
 * AMD EPYC, asserts on; ranges over runs): an append of 64 entries of 64 B
 * of one term (4236 B) encodes in 350-530 ns (size pass, writes, 4 KiB of
 * copies) and decodes in 240-430 ns; a heartbeat (8 B) 20-30 ns to encode,
 * 28-42 ns to decode. */
#ifndef AEGIS_RAFT_CODEC_H
#define AEGIS_RAFT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/raft.h"

AEG_API_BEGIN

/* Largest entry payload or snapshot chunk: 16 MiB, as AEG_WAL_PAYLOAD_MAX,
 * so that whatever the log accepts can be sent (etcd's default request
 * limit is 1.5 MiB; values of 1 MiB + headers must replicate). */
#define AEG_RAFT_CODEC_DATA_BYTES_MAX (16u << 20)
/* Largest encoded message (keeps sizes in an int). */
#define AEG_RAFT_CODEC_MSG_BYTES_MAX (1u << 30)
/* Largest encoded snap_conf: count and AEG_RAFT_CONF_MAX (id, role) pairs. */
#define AEG_RAFT_CODEC_CONF_BYTES_MAX (1u + AEG_RAFT_CONF_MAX * 6u)
/* Smallest message: hdr and three one-byte varints (TIMEOUT_NOW). */
#define AEG_RAFT_CODEC_MSG_BYTES_MIN 4u

/* Bytes aeg_raft_msg_encode() writes for m, or 0 if m cannot be encoded
 * (the -EINVAL cases of aeg_raft_msg_encode). */
size_t aeg_raft_msg_size(const struct aeg_raft_msg *m);

/* Writes m into buf. Returns the bytes written, -EMSGSIZE if cap is too
 * small (nothing useful written), or -EINVAL: unknown type, unknown flags,
 * a field the type does not use is set, an entry whose index is not
 * index + 1 + i or whose type is not an aeg_raft_entry_type, a payload or
 * chunk over AEG_RAFT_CODEC_DATA_BYTES_MAX, a SNAPSHOT without a valid
 * snap_conf, or a message over AEG_RAFT_CODEC_MSG_BYTES_MAX. */
int aeg_raft_msg_encode(const struct aeg_raft_msg *m, uint8_t *buf, size_t cap);

/* Reads one message of exactly len bytes into *m (fully overwritten).
 * m->entries = ents (room for ents_max entries); entries' data and
 * m->snap_data point into buf (NULL when their length is 0); for a
 * SNAPSHOT, *conf is filled and m->snap_conf = conf (conf must not be NULL
 * then), else m->snap_conf = NULL. Returns 0; -EMSGSIZE when buf ends
 * before the message does; -EINVAL when it is malformed (unknown type,
 * flag bits the type may not have, trailing bytes, a non-minimal varint,
 * a number out of range, a bad conf) or conf is NULL for a SNAPSHOT;
 * -ENOBUFS when it has more than ents_max entries. Errors are reported in
 * the order the bytes are read, so a prefix of a valid message is always
 * -EMSGSIZE (given room for its entries). On error *m, ents and *conf are
 * unspecified. */
int aeg_raft_msg_decode(struct aeg_raft_msg *m, struct aeg_raft_entry *ents, uint32_t ents_max,
			struct aeg_raft_conf *conf, const uint8_t *buf, size_t len);

AEG_API_END

#endif
