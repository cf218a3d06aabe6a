/* Writing and loading --record files (record.h). */
#define _GNU_SOURCE
#include "record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char hexd[] = "0123456789abcdef";

static char *put_hex(char *p, uint64_t v)
{
	for (int i = 15; i >= 0; i--)
		*p++ = hexd[(v >> (4 * i)) & 15];
	return p;
}

static char *put_dec(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

uint32_t record_format(char *dst, const uint8_t *key, uint32_t key_len, uint64_t version,
		       uint64_t digest, uint64_t tag, uint32_t value_len)
{
	char *p = dst;
	memcpy(p, key, key_len);
	p += key_len;
	*p++ = ' ';
	p = put_dec(p, version);
	*p++ = ' ';
	p = put_hex(p, digest);
	*p++ = ' ';
	p = put_hex(p, tag);
	*p++ = ' ';
	p = put_dec(p, value_len);
	*p++ = '\n';
	return (uint32_t)(p - dst);
}

int record_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(const char *k, uint32_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
	return mix(h);
}

static bool parse_u64(const char **p, const char *end, int base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	while (s < end && *s != ' ' && *s != '\n') {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : 99;
		if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s < end && *s == ' ' ? s + 1 : s;
	*out = v;
	return true;
}

static uint32_t key_find_or_add(struct record *r, const char *k, uint32_t len)
{
	for (uint32_t i = (uint32_t)key_hash(k, len) & r->key_mask;; i = (i + 1) & r->key_mask) {
		uint32_t x = r->key_slots[i];
		if (x == UINT32_MAX) {
			r->key_slots[i] = r->n_keys;
			r->keys[r->n_keys] = (struct rec_key){ .key = k, .key_len = len };
			return r->n_keys++;
		}
		if (r->keys[x].key_len == len && memcmp(r->keys[x].key, k, len) == 0)
			return x;
	}
}

static void tag_add(struct record *r, uint64_t tag, uint64_t version, uint32_t key)
{
	for (uint64_t i = mix(tag) & r->tag_mask;; i = (i + 1) & r->tag_mask) {
		struct rec_tag *t = &r->tags[i];
		if (t->key == UINT32_MAX || t->tag == tag) {
			*t = (struct rec_tag){ .tag = tag, .version = version, .key = key };
			return;
		}
	}
}

const struct rec_tag *record_find_tag(const struct record *r, uint64_t tag)
{
	if (r->tags == NULL)
		return NULL;
	for (uint64_t i = mix(tag) & r->tag_mask;; i = (i + 1) & r->tag_mask) {
		const struct rec_tag *t = &r->tags[i];
		if (t->key == UINT32_MAX)
			return NULL;
		if (t->tag == tag)
			return t;
	}
}

static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (n == cap) {
			char *b = realloc(buf, cap *= 2);
			if (b == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int rc = buf == NULL ? -ENOMEM : ferror(f) ? -EIO : 0;
	fclose(f);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = n;
	return 0;
}

static int alloc_tables(struct record *r, uint64_t lines)
{
	uint64_t cap = 16;
	while (cap < 2 * lines)
		cap *= 2;
	if (cap > (1ull << 31))
		return -E2BIG;
	r->keys = calloc(lines + 1, sizeof(*r->keys));
	r->key_slots = malloc(cap * sizeof(*r->key_slots));
	r->tags = malloc(cap * sizeof(*r->tags));
	if (r->keys == NULL || r->key_slots == NULL || r->tags == NULL)
		return -ENOMEM;
	memset(r->key_slots, 0xff, cap * sizeof(*r->key_slots));
	for (uint64_t i = 0; i < cap; i++)
		r->tags[i].key = UINT32_MAX;
	r->key_mask = (uint32_t)(cap - 1);
	r->tag_mask = cap - 1;
	return 0;
}

int record_load(const char *path, struct record *r, char *err, size_t err_len)
{
	memset(r, 0, sizeof(*r));
	size_t len = 0;
	int rc = read_file(path, &r->text, &len);
	if (rc != 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	const char *end = r->text + len;
	for (const char *p = r->text; p < end; p++)
		r->lines += *p == '\n';
	if ((rc = alloc_tables(r, r->lines)) != 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	uint64_t line = 0;
	for (const char *p = r->text; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp = memchr(p, ' ', (size_t)(end - p));
		uint64_t version, digest, tag, vlen;
		if (nl == NULL)
			break; /* a torn last line (a killed writer): not acknowledged data */
		const char *q = sp != NULL ? sp + 1 : end;
		if (nl == NULL || sp == NULL || sp > nl || sp == p || !parse_u64(&q, nl, 10, &version) ||
		    !parse_u64(&q, nl, 16, &digest) || !parse_u64(&q, nl, 16, &tag) ||
		    !parse_u64(&q, nl, 10, &vlen) || q != nl || vlen > UINT32_MAX) {
			snprintf(err, err_len, "%s: line %llu is not KEY VERSION DIGEST TAG LEN", path,
				 (unsigned long long)line + 1);
			return -EINVAL;
		}
		uint32_t k = key_find_or_add(r, p, (uint32_t)(sp - p));
		struct rec_key *rk = &r->keys[k];
		rk->writes++;
		if (version >= rk->version) {
			rk->version = version;
			rk->digest = digest;
			rk->tag = tag;
			rk->value_len = (uint32_t)vlen;
		}
		if (vlen > r->value_len_max)
			r->value_len_max = (uint32_t)vlen;
		tag_add(r, tag, version, k);
		p = nl + 1;
	}
	return 0;
}

void record_free(struct record *r)
{
	free(r->text);
	free(r->keys);
	free(r->key_slots);
	free(r->tags);
	memset(r, 0, sizeof(*r));
}
