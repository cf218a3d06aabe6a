/* A small JSON writer for the slow path (admin replies, status): text is
 * appended to a growable buffer with a hard cap, commas are placed by the
 * writer, strings are escaped. Nothing is checked beyond that: the caller
 * pairs begin/end and writes a key before each member of an object.
 *
 *   aeg_json_obj_begin(j);
 *   aeg_json_kv_bool(j, "ok", true);
 *   aeg_json_key(j, "shards"); aeg_json_arr_begin(j); ... aeg_json_arr_end(j);
 *   aeg_json_obj_end(j);
 *
 * Past cap_max bytes (or when memory runs out) further writes are dropped
 * and `overflow` is set: the text is then cut and must not be sent. */
#ifndef AEGIS_CONTROL_JSON_OUT_H
#define AEGIS_CONTROL_JSON_OUT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEG_JSON_DEPTH_MAX 32

struct aeg_json_out {
	char *buf;        /* NUL-terminated text, NULL until the first write */
	size_t len, cap, cap_max;
	bool overflow;
	uint32_t depth;
	uint64_t has_item; /* bit d: level d has an element (the next one needs a comma) */
	bool after_key;
};

void aeg_json_init(struct aeg_json_out *j, size_t cap_max);
void aeg_json_free(struct aeg_json_out *j);
/* Empties the text (keeps the buffer). */
void aeg_json_reset(struct aeg_json_out *j);

void aeg_json_obj_begin(struct aeg_json_out *j);
void aeg_json_obj_end(struct aeg_json_out *j);
void aeg_json_arr_begin(struct aeg_json_out *j);
void aeg_json_arr_end(struct aeg_json_out *j);
void aeg_json_key(struct aeg_json_out *j, const char *key);

void aeg_json_str(struct aeg_json_out *j, const char *s);
void aeg_json_strn(struct aeg_json_out *j, const char *s, size_t n);
void aeg_json_u64(struct aeg_json_out *j, uint64_t v);
void aeg_json_i64(struct aeg_json_out *j, int64_t v);
void aeg_json_double(struct aeg_json_out *j, double v); /* <= 3 decimals; NaN, inf: null */
void aeg_json_bool(struct aeg_json_out *j, bool v);
void aeg_json_null(struct aeg_json_out *j);

/* Key and value in one call. */
void aeg_json_kv_str(struct aeg_json_out *j, const char *key, const char *s);
void aeg_json_kv_u64(struct aeg_json_out *j, const char *key, uint64_t v);
void aeg_json_kv_i64(struct aeg_json_out *j, const char *key, int64_t v);
void aeg_json_kv_double(struct aeg_json_out *j, const char *key, double v);
void aeg_json_kv_bool(struct aeg_json_out *j, const char *key, bool v);

/* Text appended as is (no comma logic, no escaping). */
void aeg_json_raw(struct aeg_json_out *j, const char *s, size_t n);
void aeg_json_rawf(struct aeg_json_out *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void aeg_json_vrawf(struct aeg_json_out *j, const char *fmt, va_list ap);

#endif
