/* aegis/client_scan.h — the SCAN request (AEG_CLIENT_SCAN): a range read of
 * one shard, the building block of the client's scatter read over all
 * shards (aeg_client_scan in aegis/client.h merges the replies).
 *
 * Request item: key = the first key (inclusive; empty: from the first),
 * value = args:
 *   args  = limit varint (1 .. AEG_CLIENT_SCAN_LIMIT_MAX) |
 *           bytes_max varint (>= AEG_CLIENT_SCAN_BYTES_MIN) |
 *           end key (the rest, exclusive; empty: to the last key)
 * Reply item (status OK): value = the shard's smallest keys in the range,
 * ascending (memcmp order, a prefix before its extensions), no more than
 * limit of them and, beyond the first, no more than bytes_max bytes:
 *   reply = flags u8 (bit 0 MORE: the shard holds more keys in the range
 *           than the reply carries) | count u32 |
 *           count x (key_len varint | key | version varint |
 *                    value_len varint | value)
 * A client continues from the last key it got followed by a zero byte.
 *
 * Pure: no allocation; decoders validate everything (ascending keys, the
 * count, no trailing bytes) before handing out a view. */
#ifndef AEGIS_CLIENT_SCAN_H
#define AEGIS_CLIENT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_CLIENT_SCAN_LIMIT_MAX 10000u
#define AEG_CLIENT_SCAN_BYTES_MIN 256u
#define AEG_CLIENT_SCAN_MORE 0x01u
#define AEG_CLIENT_SCAN_HDR_BYTES 5u

struct aeg_client_scan_args {
	uint32_t limit;
	uint32_t bytes_max;
	const uint8_t *end;
	uint32_t end_len;
};

/* Bytes of the args. */
size_t aeg_client_scan_args_size(const struct aeg_client_scan_args *a);
/* Bytes written, -EINVAL (limit or bytes_max out of range), -EMSGSIZE. */
int aeg_client_scan_args_encode(const struct aeg_client_scan_args *a, uint8_t *buf, size_t cap);
/* 0 and *a (end points into v), or -EINVAL (malformed, out of range). */
int aeg_client_scan_args_decode(struct aeg_client_scan_args *a, const uint8_t *v, size_t len);

struct aeg_client_scan_item {
	const uint8_t *key;
	const uint8_t *value;
	uint32_t key_len, value_len;
	uint64_t version;
};

/* Encoded bytes of one item in a reply. */
size_t aeg_client_scan_item_size(const struct aeg_client_scan_item *it);

struct aeg_client_scan_writer {
	uint8_t *buf;
	size_t cap, len;
	uint32_t count;
};

/* Starts a reply in buf: 0, or -EMSGSIZE (cap below the header). */
int aeg_client_scan_reply_begin(struct aeg_client_scan_writer *w, uint8_t *buf, size_t cap);
/* 0, or -ENOSPC (does not fit in what is left; nothing written). The
 * caller adds keys in ascending order (the decoder refuses others). */
int aeg_client_scan_reply_add(struct aeg_client_scan_writer *w, const struct aeg_client_scan_item *it);
/* Writes flags and count; returns the reply's length. */
size_t aeg_client_scan_reply_finish(struct aeg_client_scan_writer *w, bool more);

struct aeg_client_scan_reader {
	const uint8_t *buf;
	size_t len, pos;
	uint32_t count, left;
	bool more;
	const uint8_t *last_key; /* the reply's last key (count > 0) */
	uint32_t last_key_len;
};

/* Validates the whole reply first: 0 (count, more, last key filled), or
 * -EINVAL; a reply flagged MORE must carry a key. */
int aeg_client_scan_reply_open(struct aeg_client_scan_reader *r, const uint8_t *v, size_t len);
/* 1 and the next item (views into v), 0 after the last. */
int aeg_client_scan_reply_next(struct aeg_client_scan_reader *r, struct aeg_client_scan_item *it);

/* One shard's reply in a merge: open it with aeg_client_scan_reply_open. */
struct aeg_client_scan_cursor {
	struct aeg_client_scan_reader r;
	struct aeg_client_scan_item head;
	bool has;
};

/* Merges the replies of n shards (keys are disjoint across shards) into
 * out: the smallest keys that are certain, ascending, up to limit. A reply
 * flagged MORE vouches only for keys up to its last one, so nothing past
 * the least such key is taken. Returns how many; *more = keys past the last
 * one may exist (continue from it). -EINVAL if a key comes from two
 * replies. heap: scratch of n. O((n + out) log n). */
int aeg_client_scan_merge(struct aeg_client_scan_cursor *cur, uint32_t n, uint32_t *heap,
			  struct aeg_client_scan_item *out, uint32_t limit, bool *more);

AEG_API_END

#endif
