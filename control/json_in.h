/* A small strict JSON reader for the slow path: admin requests in aegisd,
 * admin replies in aegisctl. One pass over the text produces tokens in
 * document order (jsmn's idea) into a caller-given array; nothing is
 * allocated and nothing is copied until the caller asks for a value.
 *
 * An object's token is followed by its members as key, value, key,
 * value...; an array's by its elements; `next` is the index after a
 * token's whole subtree, so walking and skipping are O(1) per step:
 *
 *   int v = aeg_json_get(&doc, 0, "shards");       // member of the root
 *   for (int e = aeg_json_first(&doc, v); e >= 0; e = aeg_json_after(&doc, v, e)) ...
 *
 * Strict: RFC 8259 grammar, one value and spaces only, nesting at most
 * AEG_JSON_DEPTH_IN_MAX; strings with \u0000 are refused on read. */
#ifndef AEGIS_CONTROL_JSON_IN_H
#define AEGIS_CONTROL_JSON_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEG_JSON_DEPTH_IN_MAX 32

enum aeg_json_type {
	AEG_JSON_OBJECT,
	AEG_JSON_ARRAY,
	AEG_JSON_STRING,
	AEG_JSON_NUMBER,
	AEG_JSON_TRUE,
	AEG_JSON_FALSE,
	AEG_JSON_NULL,
};

struct aeg_json_tok {
	enum aeg_json_type type;
	uint32_t start, end; /* text of the token; a string's excludes the quotes */
	uint32_t size;       /* members of an object, elements of an array */
	uint32_t next;       /* index of the token after this one's subtree */
};

struct aeg_json_doc {
	const char *text;
	size_t len;
	struct aeg_json_tok *toks;
	uint32_t n, max;
};

/* Parses text (len bytes) into toks (max of them). 0, -EINVAL (not JSON,
 * *why says what) or -ENOBUFS (more than max tokens). */
int aeg_json_parse(struct aeg_json_doc *d, const char *text, size_t len,
		   struct aeg_json_tok *toks, uint32_t max, const char **why);

/* The value of member key of object obj, or -1 (obj not an object too). */
int aeg_json_get(const struct aeg_json_doc *d, int obj, const char *key);
/* The first element of array (or first member value of an object), and
 * the one after el within container; -1 at the end. */
int aeg_json_first(const struct aeg_json_doc *d, int container);
int aeg_json_after(const struct aeg_json_doc *d, int container, int el);

/* Typed reads: false (or a negative length) when tok is absent (-1) or of
 * another type. u64: integers only, no sign, no fraction. */
bool aeg_json_as_u64(const struct aeg_json_doc *d, int tok, uint64_t *out);
bool aeg_json_as_double(const struct aeg_json_doc *d, int tok, double *out);
bool aeg_json_as_bool(const struct aeg_json_doc *d, int tok, bool *out);
/* A string, unescaped (UTF-8) into out with a NUL: its length, -1 wrong
 * type, -ENAMETOOLONG too long for cap, -EINVAL a \u0000 or lone surrogate. */
long aeg_json_as_str(const struct aeg_json_doc *d, int tok, char *out, size_t cap);
/* True if tok is a string equal to s (after unescaping). */
bool aeg_json_as_str_eq(const struct aeg_json_doc *d, int tok, const char *s);

#endif
