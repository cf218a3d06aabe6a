/* Shared body of the set/map decoder fuzz targets: decode arbitrary bytes;
 * on success the state must re-encode to exactly the consumed prefix
 * (canonical), merge into a fresh object as itself, and merge again
 * without change (idempotent); on failure the object must be empty.
 * Any violation aborts. */
#ifndef AEGIS_FUZZ_SM_H
#define AEGIS_FUZZ_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../unit/crdt/sets_maps/sm_type.h"

static inline void *fuzz_sm_new(const struct sm_type *t)
{
	void *obj = malloc(t->obj_size);
	if (obj == NULL || t->init(obj) != 0)
		abort();
	return obj;
}

static inline void fuzz_sm_free(const struct sm_type *t, void *obj)
{
	t->fini(obj);
	free(obj);
}

static inline void fuzz_sm_one(const struct sm_type *t, const uint8_t *data, size_t size)
{
	void *obj = fuzz_sm_new(t), *fresh = fuzz_sm_new(t);
	int rc = t->decode(obj, data, size);
	if (rc < 0) {
		if (!t->equal(obj, fresh)) /* left empty */
			abort();
	} else {
		size_t n = t->encoded_size(obj);
		uint8_t *buf = malloc(n + 1);
		if (buf == NULL || (size_t)rc != n || rc > (int)size ||
		    t->encode(obj, buf, n) != rc || memcmp(buf, data, n) != 0)
			abort();
		if (t->merge(fresh, obj) != 0 || !t->equal(fresh, obj))
			abort();
		if (t->merge(fresh, obj) != 0 || !t->equal(fresh, obj) ||
		    t->merge(obj, obj) != 0 || !t->equal(fresh, obj))
			abort();
		free(buf);
	}
	fuzz_sm_free(t, obj);
	fuzz_sm_free(t, fresh);
}

/* Defines the libFuzzer entry point for aeg_<name>_* with init_call. */
#define FUZZ_SM_TARGET(name, init_call)                                        \
	SM_TYPE_OPS(name, init_call)                                           \
	static const struct sm_type fz_type = { SM_TYPE_FIELDS(name), NULL, NULL }; \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);          \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)           \
	{                                                                      \
		fuzz_sm_one(&fz_type, data, size);                             \
		return 0;                                                      \
	}

#endif
