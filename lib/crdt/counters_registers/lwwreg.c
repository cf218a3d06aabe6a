/* LWW-Register: the write with the greatest HLC timestamp wins. */
#include "aegis/crdt_register.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "cr_internal.h"

int aeg_lwwreg_init(struct aeg_lwwreg *reg, uint32_t value_bytes_max)
{
	if (reg == NULL)
		return -EINVAL;
	memset(reg, 0, sizeof(*reg));
	reg->value_bytes_max = value_bytes_max;
	/* One byte minimum so that a zero-size register still has a buffer. */
	reg->value = malloc(value_bytes_max == 0 ? 1 : value_bytes_max);
	return reg->value == NULL ? -ENOMEM : 0;
}

void aeg_lwwreg_fini(struct aeg_lwwreg *reg)
{
	free(reg->value);
	memset(reg, 0, sizeof(*reg));
}

void aeg_lwwreg_clear(struct aeg_lwwreg *reg)
{
	reg->present = false;
	memset(&reg->ts, 0, sizeof(reg->ts));
	reg->value_len = 0;
}

/* Total order on writes: timestamp, then bytes (only reachable with a
 * broken HLC, see the header); an absent write is the least. */
static int lww_compare(bool a_present, const struct aeg_hlc_ts *a_ts, const uint8_t *a,
		       size_t a_len, const struct aeg_lwwreg *b)
{
	if (!a_present || !b->present)
		return (int)a_present - (int)b->present;
	int c = aeg_hlc_ts_compare(a_ts, &b->ts);
	if (c != 0)
		return c;
	return cr_bytes_compare(a, a_len, b->value, b->value_len);
}

static void lww_store(struct aeg_lwwreg *reg, const void *value, size_t len,
		      const struct aeg_hlc_ts *ts)
{
	assert(len <= reg->value_bytes_max);
	reg->present = true;
	reg->ts = *ts;
	reg->value_len = (uint32_t)len;
	if (len != 0)
		memmove(reg->value, value, len);
}

int aeg_lwwreg_set(struct aeg_lwwreg *reg, const void *value, size_t len,
		   const struct aeg_hlc_ts *ts, struct aeg_lwwreg *delta)
{
	if (reg == NULL || ts == NULL || (value == NULL && len != 0) || delta == reg)
		return -EINVAL;
	if (len > reg->value_bytes_max || (delta != NULL && len > delta->value_bytes_max))
		return -EMSGSIZE;
	if (delta != NULL)
		aeg_lwwreg_clear(delta);
	if (lww_compare(true, ts, value, len, reg) <= 0)
		return 0;
	lww_store(reg, value, len, ts);
	if (delta != NULL)
		lww_store(delta, value, len, ts);
	return 1;
}

bool aeg_lwwreg_get(const struct aeg_lwwreg *reg, const uint8_t **value, size_t *len,
		    struct aeg_hlc_ts *ts)
{
	if (!reg->present)
		return false;
	if (value != NULL)
		*value = reg->value;
	if (len != NULL)
		*len = reg->value_len;
	if (ts != NULL)
		*ts = reg->ts;
	return true;
}

int aeg_lwwreg_merge(struct aeg_lwwreg *dst, const struct aeg_lwwreg *src)
{
	if (dst == NULL || src == NULL)
		return -EINVAL;
	if (dst == src || lww_compare(src->present, &src->ts, src->value, src->value_len, dst) <= 0)
		return 0;
	if (src->value_len > dst->value_bytes_max)
		return -EMSGSIZE;
	lww_store(dst, src->value, src->value_len, &src->ts);
	return 0;
}

bool aeg_lwwreg_equal(const struct aeg_lwwreg *a, const struct aeg_lwwreg *b)
{
	return lww_compare(a->present, &a->ts, a->value, a->value_len, b) == 0;
}

size_t aeg_lwwreg_encoded_size(const struct aeg_lwwreg *reg)
{
	if (!reg->present)
		return 3;
	return 3 + AEG_HLC_TS_ENCODED_SIZE + aeg_varint_size(reg->value_len) + reg->value_len;
}

int aeg_lwwreg_encode(const struct aeg_lwwreg *reg, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	cr_put_header(&w, AEG_CRDT_TAG_LWWREG, AEG_CRDT_REGISTER_FORMAT);
	aeg_put_u8(&w, reg->present ? 1 : 0);
	if (reg->present) {
		uint8_t ts[AEG_HLC_TS_ENCODED_SIZE];
		aeg_hlc_ts_encode(&reg->ts, ts);
		aeg_put_bytes(&w, ts, sizeof(ts));
		aeg_put_varint(&w, reg->value_len);
		aeg_put_bytes(&w, reg->value, reg->value_len);
	}
	return cr_encode_result(&w);
}

static int lww_decode_body(struct aeg_reader *r, void *obj)
{
	struct aeg_lwwreg *reg = obj;
	uint8_t present = aeg_get_u8(r);
	if (r->error)
		return cr_reader_error(r);
	if (present > 1)
		return -EINVAL;
	if (present == 0)
		return 0;
	const uint8_t *ts_bytes = cr_get_bytes(r, AEG_HLC_TS_ENCODED_SIZE);
	uint64_t len = aeg_get_varint(r);
	if (r->error)
		return cr_reader_error(r);
	if (len > reg->value_bytes_max)
		return -EMSGSIZE;
	const uint8_t *value = cr_get_bytes(r, (size_t)len);
	if (r->error)
		return cr_reader_error(r);
	struct aeg_hlc_ts ts;
	aeg_hlc_ts_decode(&ts, ts_bytes);
	lww_store(reg, value, (size_t)len, &ts);
	return 0;
}

static void lww_clear(void *reg)
{
	aeg_lwwreg_clear(reg);
}

int aeg_lwwreg_decode(struct aeg_lwwreg *reg, const uint8_t *buf, size_t len)
{
	return cr_decode(reg, buf, len, AEG_CRDT_TAG_LWWREG, AEG_CRDT_REGISTER_FORMAT,
			 lww_decode_body, lww_clear);
}
