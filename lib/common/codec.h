/* Bounds-checked binary encoding shared by lib/ decoders and encoders.
 *
 * Writers and readers carry a sticky error: once a put overflows or a get
 * runs past the end (or meets a malformed varint), every later call is a
 * no-op and the caller checks once at the end. Decoders must still check
 * every count against their own capacity before looping on it.
 *
 * Integers are little-endian; varints are unsigned LEB128 and must be
 * minimal (a non-canonical encoding is an error, so that one value has one
 * encoding and decode(encode(x)) == x == encode(decode(bytes))). */
#ifndef AEGIS_COMMON_CODEC_H
#define AEGIS_COMMON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct aeg_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool error;
};

struct aeg_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool error;
};

static inline void aeg_writer_init(struct aeg_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->error = false;
}

static inline void aeg_reader_init(struct aeg_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->error = (buf == NULL && len != 0);
}

static inline size_t aeg_reader_left(const struct aeg_reader *r)
{
	return r->error ? 0 : r->len - r->pos;
}

static inline void aeg_put_bytes(struct aeg_writer *w, const void *src, size_t n)
{
	if (w->error || n > w->cap - w->len) {
		w->error = true;
		return;
	}
	if (n != 0)
		memcpy(w->buf + w->len, src, n);
	w->len += n;
}

static inline void aeg_put_u8(struct aeg_writer *w, uint8_t v)
{
	aeg_put_bytes(w, &v, 1);
}

static inline void aeg_put_u16(struct aeg_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	aeg_put_bytes(w, b, sizeof(b));
}

static inline void aeg_put_u32(struct aeg_writer *w, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aeg_put_bytes(w, b, sizeof(b));
}

static inline void aeg_put_u64(struct aeg_writer *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aeg_put_bytes(w, b, sizeof(b));
}

static inline size_t aeg_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void aeg_put_varint(struct aeg_writer *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	aeg_put_bytes(w, b, n);
}

static inline const uint8_t *aeg_get_bytes(struct aeg_reader *r, size_t n)
{
	if (r->error || n > r->len - r->pos) {
		r->error = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static inline uint8_t aeg_get_u8(struct aeg_reader *r)
{
	const uint8_t *p = aeg_get_bytes(r, 1);
	return p == NULL ? 0 : p[0];
}

static inline uint16_t aeg_get_u16(struct aeg_reader *r)
{
	const uint8_t *p = aeg_get_bytes(r, 2);
	return p == NULL ? 0 : (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t aeg_get_u32(struct aeg_reader *r)
{
	const uint8_t *p = aeg_get_bytes(r, 4);
	if (p == NULL)
		return 0;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline uint64_t aeg_get_u64(struct aeg_reader *r)
{
	const uint8_t *p = aeg_get_bytes(r, 8);
	if (p == NULL)
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint64_t aeg_get_varint(struct aeg_reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
		const uint8_t *p = aeg_get_bytes(r, 1);
		if (p == NULL)
			return 0;
		uint8_t byte = *p;
		/* The 10th byte may carry only bit 63. */
		if (i == 9 && byte > 1)
			break;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if ((byte & 0x80) == 0) {
			/* Minimal: no trailing zero group unless the value is 0. */
			if (byte == 0 && i != 0)
				break;
			return v;
		}
	}
	r->error = true;
	return 0;
}

/* A varint that must fit in 32 bits. */
static inline uint32_t aeg_get_varint32(struct aeg_reader *r)
{
	uint64_t v = aeg_get_varint(r);
	if (v > UINT32_MAX) {
		r->error = true;
		return 0;
	}
	return (uint32_t)v;
}

#endif
