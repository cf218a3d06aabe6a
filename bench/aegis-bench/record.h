/* --record files: one text line per ACKNOWLEDGED write,
 *
 *   KEY VERSION DIGEST TAG LEN
 *
 * VERSION decimal (the key's version the write got), DIGEST the value's
 * XXH3-64 and TAG the write's tag (keyval.h), both 16 hex digits, LEN the
 * value's bytes. Threads append whole lines in batches with write() on one
 * O_APPEND descriptor, so lines never interleave; a killed run leaves every
 * batch it wrote. The loader keeps, per key, the write with the highest
 * version, and an index of every tag (what verify.c needs). */
#ifndef AEGIS_BENCH_RECORD_H
#define AEGIS_BENCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_LINE_MAX(key_bytes) ((key_bytes) + 72u)

/* Writes one line at dst (RECORD_LINE_MAX bytes free): its length. */
uint32_t record_format(char *dst, const uint8_t *key, uint32_t key_len, uint64_t version,
		       uint64_t digest, uint64_t tag, uint32_t value_len);
/* write() all of it: 0 or -errno. */
int record_write(int fd, const char *buf, size_t len);

struct rec_key {
	const char *key;   /* into the loaded text, not NUL-terminated */
	uint32_t key_len;
	uint32_t value_len; /* of the newest write */
	uint64_t version, digest, tag; /* the newest acknowledged write */
	uint64_t writes;    /* acknowledged writes of this key */
};

struct rec_tag {
	uint64_t tag, version;
	uint32_t key; /* index into keys; UINT32_MAX: empty slot */
};

struct record {
	char *text;
	struct rec_key *keys;
	uint32_t n_keys;
	uint32_t *key_slots, key_mask; /* hash index of keys (UINT32_MAX: empty) */
	struct rec_tag *tags;
	uint64_t tag_mask;
	uint64_t lines;
	uint32_t value_len_max;
};

/* 0, -errno (file), -EINVAL (a malformed line: err says which). */
int record_load(const char *path, struct record *r, char *err, size_t err_len);
/* The acknowledged write with this tag, or NULL. */
const struct rec_tag *record_find_tag(const struct record *r, uint64_t tag);
void record_free(struct record *r);

#endif
