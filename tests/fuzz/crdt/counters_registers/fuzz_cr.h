/* Shared body of the counter/register decoder fuzz targets: decode
 * arbitrary bytes; on success the re-encoding must equal the consumed
 * prefix (canonical form), and merging the state into an empty one, into
 * itself and again must give the same state (idempotence). abort() on any
 * violation; decoding failures must leave the object empty. */
#ifndef AEGIS_FUZZ_CR_H
#define AEGIS_FUZZ_CR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_cr_type {
	size_t size;
	int (*init)(void *obj);
	void (*fini)(void *obj);
	int (*merge)(void *dst, const void *src);
	bool (*equal)(const void *a, const void *b);
	size_t (*encoded_size)(const void *obj);
	int (*encode)(const void *obj, uint8_t *buf, size_t cap);
	int (*decode)(void *obj, const uint8_t *buf, size_t len);
};

static void fuzz_cr_check(bool ok)
{
	if (!ok)
		abort();
}

static int fuzz_cr_one(const struct fuzz_cr_type *t, const uint8_t *data, size_t size)
{
	/* Objects live for one input: allocation here is test-only. */
	void *dec = calloc(1, t->size), *fresh = calloc(1, t->size), *empty = calloc(1, t->size);
	fuzz_cr_check(dec != NULL && fresh != NULL && empty != NULL);
	fuzz_cr_check(t->init(dec) == 0 && t->init(fresh) == 0 && t->init(empty) == 0);
	int rc = t->decode(dec, data, size);
	if (rc < 0) {
		fuzz_cr_check(t->equal(dec, empty));
	} else {
		size_t n = t->encoded_size(dec);
		fuzz_cr_check(rc > 0 && (size_t)rc <= size && n == (size_t)rc);
		uint8_t *buf = malloc(n);
		fuzz_cr_check(buf != NULL && t->encode(dec, buf, n) == rc);
		fuzz_cr_check(memcmp(buf, data, n) == 0);
		free(buf);
		fuzz_cr_check(t->merge(fresh, dec) == 0 && t->equal(fresh, dec));
		fuzz_cr_check(t->merge(fresh, dec) == 0 && t->equal(fresh, dec));
		fuzz_cr_check(t->merge(dec, fresh) == 0 && t->equal(fresh, dec));
		fuzz_cr_check(t->merge(fresh, empty) == 0 && t->equal(fresh, dec));
	}
	t->fini(dec);
	t->fini(fresh);
	t->fini(empty);
	free(dec);
	free(fresh);
	free(empty);
	return 0;
}

/* Defines LLVMFuzzerTestOneInput for type aeg_<prefix> created by `init`
 * (an expression over `o`, the object). */
#define FUZZ_CR_TARGET(prefix, init)                                                       \
	static int t_init(void *o) { return init; }                                        \
	static void t_fini(void *o) { aeg_##prefix##_fini(o); }                            \
	static int t_merge(void *d, const void *s) { return aeg_##prefix##_merge(d, s); }  \
	static bool t_equal(const void *a, const void *b) { return aeg_##prefix##_equal(a, b); } \
	static size_t t_size(const void *o) { return aeg_##prefix##_encoded_size(o); }     \
	static int t_encode(const void *o, uint8_t *b, size_t c)                           \
	{                                                                                  \
		return aeg_##prefix##_encode(o, b, c);                                     \
	}                                                                                  \
	static int t_decode(void *o, const uint8_t *b, size_t l)                           \
	{                                                                                  \
		return aeg_##prefix##_decode(o, b, l);                                     \
	}                                                                                  \
	static const struct fuzz_cr_type type = {                                          \
		sizeof(struct aeg_##prefix), t_init, t_fini, t_merge, t_equal, t_size,     \
		t_encode, t_decode,                                                        \
	};                                                                                 \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                      \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                       \
	{                                                                                  \
		return fuzz_cr_one(&type, data, size);                                     \
	}

#endif
