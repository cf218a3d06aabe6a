/* Helpers shared by the counter and register sources: the common encoding
 * header (type tag + format version), reader error mapping, byte-string
 * order, and the G-Counter body that the PN-Counter encodes twice. */
#ifndef AEGIS_CRDT_CR_INTERNAL_H
#define AEGIS_CRDT_CR_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "aegis/crdt_counter.h"
#include "common/codec.h"

static inline void cr_put_header(struct aeg_writer *w, uint8_t tag, uint8_t format)
{
	aeg_put_u8(w, tag);
	aeg_put_u8(w, format);
}

/* A reader that failed ran out of input (pos stopped at the end) or met a
 * malformed varint inside the input. */
static inline int cr_reader_error(const struct aeg_reader *r)
{
	return r->pos >= r->len ? -EMSGSIZE : -EINVAL;
}

/* aeg_get_bytes that marks a short input as truncated (pos at the end),
 * so cr_reader_error tells it from a malformed one. */
static inline const uint8_t *cr_get_bytes(struct aeg_reader *r, size_t n)
{
	if (!r->error && n > r->len - r->pos) {
		r->pos = r->len;
		r->error = true;
		return NULL;
	}
	return aeg_get_bytes(r, n);
}

/* 0, -EMSGSIZE if truncated, -EINVAL for another type or format. */
static inline int cr_get_header(struct aeg_reader *r, uint8_t tag, uint8_t format)
{
	uint8_t t = aeg_get_u8(r);
	uint8_t f = aeg_get_u8(r);
	if (r->error)
		return cr_reader_error(r);
	return (t == tag && f == format) ? 0 : -EINVAL;
}

/* The common decoder frame: header, body, bytes consumed; on any error
 * the object is cleared so that it is left valid and empty. */
static inline int cr_decode(void *obj, const uint8_t *buf, size_t len, uint8_t tag,
			    uint8_t format, int (*body)(struct aeg_reader *r, void *obj),
			    void (*clear)(void *obj))
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	clear(obj);
	int rc = cr_get_header(&r, tag, format);
	if (rc == 0)
		rc = body(&r, obj);
	if (rc < 0) {
		clear(obj);
		return rc;
	}
	return r.pos > INT32_MAX ? -EMSGSIZE : (int)r.pos;
}

/* Bytes written, or -ENOBUFS. */
static inline int cr_encode_result(const struct aeg_writer *w)
{
	if (w->error || w->len > INT32_MAX)
		return -ENOBUFS;
	return (int)w->len;
}

/* Total order on byte strings: memcmp over the common prefix, then length. */
static inline int cr_bytes_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n == 0 ? 0 : memcmp(a, b, n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return (a_len > b_len) - (a_len < b_len);
}

/* Number of distinct replicas in a and b together. */
uint32_t aeg_cr_gcounter_union_len(const struct aeg_gcounter *a, const struct aeg_gcounter *b);
size_t aeg_cr_gcounter_body_size(const struct aeg_gcounter *gc);
void aeg_cr_gcounter_body_put(struct aeg_writer *w, const struct aeg_gcounter *gc);
/* Reads one body into gc (cleared first). 0 or a negative error; gc is
 * left empty on error. */
int aeg_cr_gcounter_body_get(struct aeg_reader *r, struct aeg_gcounter *gc);

#endif
