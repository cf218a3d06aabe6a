/* Keys and values of aegis-bench, and the checks --verify makes on them.
 *
 * Key i is 'k' followed by i in hex, zero-padded to key_bytes ("k00000000000002a").
 * A value is printable and derived from (key, tag), the tag being unique
 * per write (run nonce | thread | counter): its first 16 bytes are the tag
 * in hex, the rest letters from a fixed pool at an offset given by the key
 * and the tag. So a value read back tells which write made it (tag), and
 * whether it is a bench value of THIS key at all (the rest must match).
 * Values under 16 bytes carry no tag: only their digest can be checked; the
 * letters tell the key apart from 24 bytes on (26^-8 chance of a miss).
 * No allocation, no clock. */
#ifndef AEGIS_BENCH_KEYVAL_H
#define AEGIS_BENCH_KEYVAL_H

#include <stdint.h>

#define KV_TAG_BYTES 16u
#define KV_KEY_BYTES_MAX 4096u /* the nodes refuse keys over their key_bytes_max (1024 by default) */

/* Fills the letter pool (deterministic: the same in every run). */
void kv_init(void);
/* The shortest key_bytes that names `keys` distinct keys. */
uint32_t kv_key_bytes_min(uint64_t keys);
void kv_key(uint8_t *key, uint32_t key_bytes, uint64_t index);
void kv_value(uint8_t *buf, uint32_t len, const uint8_t *key, uint32_t key_len, uint64_t tag);
/* 64-bit digest of a value (XXH3). */
uint64_t kv_digest(const void *value, uint32_t len);

enum kv_check {
	KV_OWN = 0,      /* a bench value of this key; *tag says which write */
	KV_UNTAGGED = 1, /* shorter than a tag: cannot tell */
	KV_FOREIGN = 2,  /* not written by aegis-bench for this key */
};
enum kv_check kv_check(const uint8_t *value, uint32_t len, const uint8_t *key, uint32_t key_len,
		       uint64_t *tag);

#endif
