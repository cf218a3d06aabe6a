/* One set/map CRDT type behind function pointers, so that the property
 * tests (sm_harness.c) and the fuzz targets (tests/fuzz/crdt/sets_maps)
 * drive every type with the same code. SM_TYPE_OPS(name, init_call)
 * defines the wrappers for the aeg_<name>_* API; SM_TYPE_FIELDS(name)
 * fills the common part of a struct sm_type with them. */
#ifndef AEGIS_TEST_SM_TYPE_H
#define AEGIS_TEST_SM_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prng;

struct sm_type {
	const char *name;
	size_t obj_size;
	int (*init)(void *obj);
	void (*fini)(void *obj);
	int (*merge)(void *dst, const void *src);
	bool (*equal)(const void *a, const void *b);
	size_t (*encoded_size)(const void *obj);
	int (*encode)(const void *obj, uint8_t *buf, size_t cap);
	int (*decode)(void *obj, const uint8_t *buf, size_t len);
	/* Unit tests only. A random local mutation at replica writing its
	 * delta: 0 when applied, > 0 when refused by the type's rules (the
	 * delta is not shipped), < 0 on an unexpected error. */
	int (*random_op)(void *obj, uint32_t replica, void *delta, struct prng *p);
	/* Unit tests only: extra invariant of converged states (may be NULL). */
	void (*check_converged)(const void *obj, struct prng *p);
};

#define SM_TYPE_OPS(name, init_call)                                           \
	static int sm_init(void *o) { return init_call; }                      \
	static void sm_fini(void *o) { aeg_##name##_fini(o); }                 \
	static int sm_merge(void *d, const void *s) { return aeg_##name##_merge(d, s); } \
	static bool sm_equal(const void *a, const void *b) { return aeg_##name##_equal(a, b); } \
	static size_t sm_size(const void *o) { return aeg_##name##_encoded_size(o); } \
	static int sm_encode(const void *o, uint8_t *b, size_t n)             \
	{                                                                      \
		return aeg_##name##_encode(o, b, n);                           \
	}                                                                      \
	static int sm_decode(void *o, const uint8_t *b, size_t n)             \
	{                                                                      \
		return aeg_##name##_decode(o, b, n);                           \
	}

#define SM_TYPE_FIELDS(name)                                                   \
	#name, sizeof(struct aeg_##name), sm_init, sm_fini, sm_merge, sm_equal, \
	sm_size, sm_encode, sm_decode

#endif
