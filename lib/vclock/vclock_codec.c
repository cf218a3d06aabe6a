/* Vector clock binary form:
 *
 *   varint count (<= AEG_VCLOCK_NODES_MAX)
 *   count x { varint node delta, varint counter }
 *
 * The first delta is the node itself, later ones the gap to the previous
 * node, which must be >= 1 (sorted, no duplicates); counters are >= 1. With
 * minimal varints this makes the encoding canonical: decode accepts exactly
 * the bytes encode produces. */
#include "vclock_codec.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>

#define VARINT_BYTES_MAX 10

int aeg_vclock_read_varint(struct aeg_reader *r, uint64_t *v)
{
	size_t left = aeg_reader_left(r);
	bool ends = left >= VARINT_BYTES_MAX; /* room for any varint */

	if (r->error)
		return -EINVAL;
	for (size_t i = 0; i < left && !ends; i++)
		ends = (r->buf[r->pos + i] & 0x80) == 0;
	/* Only continuation bytes up to the end of input, and fewer than a
	 * varint may have: some longer input would make this a valid varint. */
	if (!ends)
		return -EMSGSIZE;
	*v = aeg_get_varint(r);
	return r->error ? -EINVAL : 0;
}

size_t aeg_vclock_encoded_size(const struct aeg_vclock *vc)
{
	size_t n = aeg_varint_size(vc->len);
	uint32_t prev = 0;

	for (uint32_t i = 0; i < vc->len; i++) {
		n += aeg_varint_size(vc->entries[i].node - prev);
		n += aeg_varint_size(vc->entries[i].counter);
		prev = vc->entries[i].node;
	}
	return n;
}

void aeg_vclock_write(struct aeg_writer *w, const struct aeg_vclock *vc)
{
	uint32_t prev = 0;

	assert(aeg_vclock_valid(vc));
	aeg_put_varint(w, vc->len);
	for (uint32_t i = 0; i < vc->len; i++) {
		aeg_put_varint(w, vc->entries[i].node - prev);
		aeg_put_varint(w, vc->entries[i].counter);
		prev = vc->entries[i].node;
	}
}

static int vclock_get_entries(struct aeg_reader *r, struct aeg_vclock *vc)
{
	uint64_t count, delta, counter;
	int rc = aeg_vclock_read_varint(r, &count);

	if (rc != 0)
		return rc;
	if (count > AEG_VCLOCK_NODES_MAX)
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t prev = i == 0 ? 0 : vc->entries[i - 1].node;
		rc = aeg_vclock_read_varint(r, &delta);
		if (rc == 0)
			rc = aeg_vclock_read_varint(r, &counter);
		if (rc != 0)
			return rc;
		if ((i > 0 && delta == 0) || delta > UINT32_MAX - prev || counter == 0)
			return -EINVAL;
		vc->entries[i] = (struct aeg_vclock_entry){ (uint32_t)(prev + delta), counter };
		vc->len = (uint32_t)i + 1;
	}
	return 0;
}

int aeg_vclock_read(struct aeg_reader *r, struct aeg_vclock *vc)
{
	aeg_vclock_init(vc);
	int rc = vclock_get_entries(r, vc);
	if (rc != 0)
		aeg_vclock_init(vc);
	assert(aeg_vclock_valid(vc));
	return rc;
}

int aeg_vclock_encode(const struct aeg_vclock *vc, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;

	aeg_writer_init(&w, buf, cap);
	aeg_vclock_write(&w, vc);
	if (w.error)
		return -ENOBUFS;
	assert(w.len == aeg_vclock_encoded_size(vc) && w.len <= INT_MAX);
	return (int)w.len;
}

int aeg_vclock_decode(struct aeg_vclock *vc, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;

	aeg_reader_init(&r, buf, len);
	int rc = aeg_vclock_read(&r, vc);
	if (rc != 0)
		return rc;
	assert(r.pos <= INT_MAX);
	return (int)r.pos;
}
