/* Keys and values of keyval.h. */
#include "keyval.h"

#include <assert.h>
#include <string.h>

#include "aegis/hash.h"
#include "zipf.h"

#define POOL_BYTES 4096u /* power of two */

/* Twice the pool, so any offset below POOL_BYTES has POOL_BYTES after it. */
static uint8_t pool[2 * POOL_BYTES];
static const char hexd[] = "0123456789abcdef";

void kv_init(void)
{
	uint64_t s = 0xae915be4c0ffeeull;
	for (uint32_t i = 0; i < POOL_BYTES; i++)
		pool[i] = pool[POOL_BYTES + i] = (uint8_t)('a' + rng_next(&s) % 26);
}

uint32_t kv_key_bytes_min(uint64_t keys)
{
	uint32_t digits = 1;
	for (uint64_t top = keys > 0 ? keys - 1 : 0; top >= 16; top >>= 4)
		digits++;
	return 1 + digits;
}

void kv_key(uint8_t *key, uint32_t key_bytes, uint64_t index)
{
	assert(key_bytes >= 2);
	key[0] = 'k';
	for (uint32_t i = key_bytes; i > 1; i--) {
		key[i - 1] = (uint8_t)hexd[index & 15];
		index >>= 4;
	}
}

static uint64_t key_hash(const uint8_t *key, uint32_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: keys are short */
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h;
}

static uint32_t pool_offset(const uint8_t *key, uint32_t key_len, uint64_t tag)
{
	uint64_t x = key_hash(key, key_len) ^ (tag * 0x9e3779b97f4a7c15ull);
	return (uint32_t)(x >> 40) & (POOL_BYTES - 1);
}

static void fill(uint8_t *dst, uint32_t len, uint32_t off)
{
	while (len > 0) {
		uint32_t n = len < POOL_BYTES ? len : POOL_BYTES;
		memcpy(dst, pool + off, n);
		dst += n;
		len -= n;
		off = (off + n) & (POOL_BYTES - 1);
	}
}

void kv_value(uint8_t *buf, uint32_t len, const uint8_t *key, uint32_t key_len, uint64_t tag)
{
	uint32_t off = pool_offset(key, key_len, tag);
	if (len < KV_TAG_BYTES) {
		fill(buf, len, off);
		return;
	}
	for (uint32_t i = 0; i < KV_TAG_BYTES; i++)
		buf[i] = (uint8_t)hexd[(tag >> (60 - 4 * i)) & 15];
	fill(buf + KV_TAG_BYTES, len - KV_TAG_BYTES, off);
}

uint64_t kv_digest(const void *value, uint32_t len)
{
	return aeg_hash_key(value, len, 0);
}

enum kv_check kv_check(const uint8_t *value, uint32_t len, const uint8_t *key, uint32_t key_len,
		       uint64_t *tag)
{
	if (len < KV_TAG_BYTES)
		return KV_UNTAGGED;
	uint64_t t = 0;
	for (uint32_t i = 0; i < KV_TAG_BYTES; i++) {
		uint8_t c = value[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0') : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10) : 99;
		if (d > 15)
			return KV_FOREIGN;
		t = t << 4 | d;
	}
	uint32_t off = pool_offset(key, key_len, t);
	const uint8_t *p = value + KV_TAG_BYTES;
	for (uint32_t left = len - KV_TAG_BYTES; left > 0;) {
		uint32_t n = left < POOL_BYTES ? left : POOL_BYTES;
		if (memcmp(p, pool + off, n) != 0)
			return KV_FOREIGN;
		p += n;
		left -= n;
		off = (off + n) & (POOL_BYTES - 1);
	}
	*tag = t;
	return KV_OWN;
}
