/* The kv command codec: the bytes of a Raft entry (see aegis/kv.h for the
 * layout). Canonical both ways, so that a command has exactly one encoding
 * and the fuzz target can check decode(bytes) re-encodes to bytes (format 2;
 * format 1 entries, still in old logs, decode with seq_floor 0). */
#include "aegis/kv.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>

#include "common/codec.h"
#include "common/key_order.h"
#include "kv/kv_int.h"

int kv_copy_next(const uint8_t *v, uint32_t len, uint32_t *pos, struct kv_copy_item *it)
{
	if (*pos == len)
		return 0;
	struct aeg_reader r;
	aeg_reader_init(&r, v + *pos, len - *pos);
	it->key_len = aeg_get_varint32(&r);
	if (r.error || it->key_len == 0 || it->key_len > aeg_reader_left(&r))
		return -1;
	it->key = aeg_get_bytes(&r, it->key_len);
	it->value_len = aeg_get_varint32(&r);
	if (r.error || it->value_len > aeg_reader_left(&r))
		return -1;
	it->value = aeg_get_bytes(&r, it->value_len);
	it->version = aeg_get_varint(&r);
	if (r.error || it->version == 0)
		return -1;
	*pos += (uint32_t)r.pos;
	return 1;
}

size_t aeg_kv_copy_batch_item_size(uint32_t key_len, uint32_t value_len, uint64_t version)
{
	return aeg_varint_size(key_len) + key_len + aeg_varint_size(value_len) + value_len + aeg_varint_size(version);
}

int aeg_kv_copy_batch_add(uint8_t *buf, size_t cap, size_t *len, const void *key, uint32_t key_len,
			  const void *value, uint32_t value_len, uint64_t version)
{
	size_t need = aeg_kv_copy_batch_item_size(key_len, value_len, version);
	if (*len > cap || need > cap - *len)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf + *len, cap - *len);
	aeg_put_varint(&w, key_len);
	aeg_put_bytes(&w, key, key_len);
	aeg_put_varint(&w, value_len);
	if (value_len != 0)
		aeg_put_bytes(&w, value, value_len);
	aeg_put_varint(&w, version);
	assert(!w.error && w.len == need);
	*len += need;
	return 0;
}

/* A COPY_BATCH value: at least one key, every item well-formed, keys
 * strictly ascending (so no key twice). */
static bool batch_valid(const uint8_t *v, uint32_t len)
{
	uint32_t pos = 0, n = 0;
	struct kv_copy_item it, prev = { 0 };
	int rc;
	while ((rc = kv_copy_next(v, len, &pos, &it)) == 1) {
		if (n++ > 0 && aeg_key_cmp(prev.key, prev.key_len, it.key, it.key_len) >= 0)
			return false;
		prev = it;
	}
	return rc == 0 && n > 0;
}

static bool cmd_valid(const struct aeg_kv_cmd *c)
{
	if (c->op == AEG_KV_COPY_BATCH)
		return c->client_id == 0 && c->seq == 0 && c->seq_floor == 0 && c->expect_version == 0 &&
		       c->key_len == 0 && c->value != NULL && batch_valid(c->value, c->value_len);
	if (c->op == AEG_KV_FENCE || c->op == AEG_KV_UNFENCE || c->op == AEG_KV_DROP_FROM)
		return c->client_id == 0 && c->seq == 0 && c->seq_floor == 0 && c->expect_version == 0 &&
		       c->value_len == 0 && (c->key_len == 0 || c->key != NULL) &&
		       (c->op != AEG_KV_UNFENCE || c->key_len == 0);
	if (c->op == AEG_KV_COPY)
		return c->client_id == 0 && c->seq == 0 && c->seq_floor == 0 && c->expect_version != 0 &&
		       c->key_len != 0 && c->key != NULL && (c->value_len == 0 || c->value != NULL);
	if (c->op != AEG_KV_PUT && c->op != AEG_KV_DEL && c->op != AEG_KV_CAS)
		return false;
	if (c->key_len == 0 || c->key == NULL)
		return false;
	if (c->value_len != 0 && c->value == NULL)
		return false;
	if (c->op == AEG_KV_DEL && c->value_len != 0)
		return false;
	if (c->op != AEG_KV_CAS && c->expect_version != 0)
		return false;
	return true;
}

size_t aeg_kv_cmd_size(const struct aeg_kv_cmd *c)
{
	return 2 + aeg_varint_size(c->client_id) + aeg_varint_size(c->seq) +
	       aeg_varint_size(c->seq_floor) + aeg_varint_size(c->expect_version) + aeg_varint_size(c->time_ms) +
	       aeg_varint_size(c->key_len) + c->key_len + aeg_varint_size(c->value_len) +
	       (size_t)c->value_len;
}

int aeg_kv_cmd_encode(const struct aeg_kv_cmd *c, uint8_t *buf, size_t cap)
{
	if (!cmd_valid(c))
		return -EINVAL;
	size_t size = aeg_kv_cmd_size(c);
	if (size > INT_MAX)
		return -EINVAL;
	if (size > cap)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u8(&w, AEG_KV_CMD_FORMAT);
	aeg_put_u8(&w, c->op);
	aeg_put_varint(&w, c->client_id);
	aeg_put_varint(&w, c->seq);
	aeg_put_varint(&w, c->seq_floor);
	aeg_put_varint(&w, c->expect_version);
	aeg_put_varint(&w, c->time_ms);
	aeg_put_varint(&w, c->key_len);
	if (c->key_len != 0)
		aeg_put_bytes(&w, c->key, c->key_len);
	aeg_put_varint(&w, c->value_len);
	if (c->value_len != 0)
		aeg_put_bytes(&w, c->value, c->value_len);
	assert(!w.error && w.len == size);
	return (int)w.len;
}

/* -EMSGSIZE when the bytes ran out, -EINVAL when they are wrong. */
static int read_error(const struct aeg_reader *r)
{
	return r->pos >= r->len ? -EMSGSIZE : -EINVAL;
}

static const uint8_t *get_blob(struct aeg_reader *r, uint32_t *len, int *err)
{
	*len = aeg_get_varint32(r);
	if (r->error) {
		*err = read_error(r);
		return NULL;
	}
	if (*len > aeg_reader_left(r)) {
		*err = -EMSGSIZE;
		return NULL;
	}
	return aeg_get_bytes(r, *len);
}

int aeg_kv_cmd_decode(struct aeg_kv_cmd *c, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	struct aeg_kv_cmd d = { 0 };
	uint8_t format = aeg_get_u8(&r);
	if (!r.error && format != AEG_KV_CMD_FORMAT && format != AEG_KV_CMD_FORMAT_V1)
		return -EINVAL;
	d.op = aeg_get_u8(&r);
	d.client_id = aeg_get_varint(&r);
	d.seq = aeg_get_varint(&r);
	if (format == AEG_KV_CMD_FORMAT)
		d.seq_floor = aeg_get_varint(&r);
	d.expect_version = aeg_get_varint(&r);
	d.time_ms = aeg_get_varint(&r);
	if (r.error)
		return read_error(&r);
	int err = 0;
	d.key = get_blob(&r, &d.key_len, &err);
	if (err == 0)
		d.value = get_blob(&r, &d.value_len, &err);
	if (err != 0)
		return err;
	assert(!r.error && d.key != NULL && d.value != NULL);
	if (r.pos != r.len)
		return -EINVAL;
	if (!cmd_valid(&d))
		return -EINVAL;
	*c = d;
	return 0;
}
