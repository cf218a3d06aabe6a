/* aegis/client_reasm.h — reassembly of client values larger than one
 * datagram (parts: see aegis/client_proto.h), in bounded memory.
 *
 * The node keeps one per worker for requests, keyed by (client id, seq);
 * the client library keeps one for replies, keyed by (node id, seq). A
 * fixed number of slots, each holding up to value_bytes_max bytes and a
 * bitmap of parts_max parts, all in one block the caller gives at init.
 *
 * Parts are uniform: with part length L (the same for every part of a
 * value), part i holds bytes [i*L, min((i+1)*L, total)). The first part of a
 * value that arrives fixes L, count and total (and a caller-given meta word:
 * a hash of the item's other fields, so that parts of two different
 * requests under one seq are not glued together). aeg_client_part_nth()
 * splits a value this way.
 *
 * What is refused (and counted): a part already received (duplicate: a
 * resend fills only what was missing), a part off the layout (overlap),
 * count, total or meta differing from the first part (inconsistent), a
 * total over value_bytes_max, a count over parts_max. When every slot is
 * taken, the slot with the oldest activity is reclaimed (evicted). A slot
 * with no new part for timeout_ms is freed by aeg_client_reasm_expire().
 *
 * Nothing here asks for a lost part: the sender's timeout resends the whole
 * request (same seq), or the client resends the request whose reply part
 * was lost. Lookups scan the slots (O(slots) per part): keep slots in the
 * tens to hundreds.
 *
 * Pure: no allocation, no clock (now_ms is the caller's), no syscalls. */
#ifndef AEGIS_CLIENT_REASM_H
#define AEGIS_CLIENT_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/client_proto.h"

AEG_API_BEGIN

struct aeg_client_reasm_cfg {
	uint32_t slots;           /* values being reassembled at once, >= 1 */
	uint32_t value_bytes_max; /* largest value, <= AEG_CLIENT_VALUE_BYTES_MAX */
	uint32_t parts_max;       /* most parts per value, >= 2 */
	uint64_t timeout_ms;      /* a slot without progress for this long is freed */
};

struct aeg_client_reasm_stats {
	uint64_t parts;          /* accepted */
	uint64_t completed;      /* values handed out */
	uint64_t duplicates;     /* -EEXIST */
	uint64_t overlaps;       /* -EBADMSG */
	uint64_t inconsistent;   /* -EPROTO */
	uint64_t too_large;      /* -EMSGSIZE */
	uint64_t too_many_parts; /* -E2BIG */
	uint64_t timed_out;      /* slots freed by expire */
	uint64_t evicted;        /* slots reclaimed because all were taken */
	uint64_t dropped;        /* slots freed by aeg_client_reasm_drop */
};

struct client_reasm_slot; /* private */

struct aeg_client_reasm {
	struct aeg_client_reasm_cfg cfg;
	struct client_reasm_slot *slots;
	uint64_t *bits;  /* slots x words_per_slot */
	uint8_t *data;   /* slots x value_bytes_max */
	uint32_t words_per_slot;
	uint32_t used;   /* slots taken */
	struct aeg_client_reasm_stats stats;
};

/* A completed value. value points into the reassembly memory and stays valid
 * until the next add, expire or drop call on this reassembler. */
struct aeg_client_reasm_done {
	uint64_t a, b; /* the key it was added under */
	uint64_t meta;
	const uint8_t *value;
	uint32_t len;
};

/* Bytes of memory init needs for cfg (0 if cfg is invalid). */
size_t aeg_client_reasm_mem_bytes(const struct aeg_client_reasm_cfg *cfg);
/* 0, or -EINVAL (cfg invalid, mem NULL or smaller than mem_bytes). mem must
 * be 8-byte aligned and live as long as r. */
int aeg_client_reasm_init(struct aeg_client_reasm *r, const struct aeg_client_reasm_cfg *cfg,
			  void *mem, size_t mem_len);

/* Adds part p (value_len bytes at data) of value (a, b). Returns 1 and fills
 * *done when the value is complete (its slot is free again), 0 when more
 * parts are missing, or a refusal: -EEXIST duplicate, -EBADMSG overlap (off
 * the uniform layout), -EPROTO inconsistent with the slot's first part,
 * -EMSGSIZE total > value_bytes_max, -E2BIG count > parts_max, -EINVAL not
 * a valid part (count < 2: whole values need no reassembly). */
int aeg_client_reasm_add(struct aeg_client_reasm *r, uint64_t a, uint64_t b, uint64_t meta,
			 const struct aeg_client_part *p, const uint8_t *data, uint32_t value_len,
			 uint64_t now_ms, struct aeg_client_reasm_done *done);
/* Frees every slot whose last accepted part is timeout_ms or more before
 * now_ms. Returns how many. */
uint32_t aeg_client_reasm_expire(struct aeg_client_reasm *r, uint64_t now_ms);
/* Frees the slot of (a, b) if there is one (its request was answered or
 * abandoned). Returns 1 if a slot was freed, else 0. */
int aeg_client_reasm_drop(struct aeg_client_reasm *r, uint64_t a, uint64_t b);

/* ---- splitting --------------------------------------------------------- */

/* Parts of a value of total bytes in parts of part_len (>= 1): 1 means it
 * goes whole. */
uint32_t aeg_client_part_count(uint32_t total, uint32_t part_len);
/* Part index of a value of total bytes split every part_len bytes: the part
 * fields and, in *len, how many bytes from p->offset it carries. */
struct aeg_client_part aeg_client_part_nth(uint32_t total, uint32_t part_len, uint32_t index,
					   uint32_t *len);

AEG_API_END

#endif
