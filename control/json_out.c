/* The JSON writer (json_out.h). */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

void aeg_json_init(struct aeg_json_out *j, size_t cap_max)
{
	assert(cap_max > 0);
	*j = (struct aeg_json_out){ .cap_max = cap_max };
}

void aeg_json_free(struct aeg_json_out *j)
{
	free(j->buf);
	*j = (struct aeg_json_out){ .cap_max = j->cap_max };
}

void aeg_json_reset(struct aeg_json_out *j)
{
	j->len = 0;
	if (j->buf != NULL)
		j->buf[0] = '\0';
	j->overflow = false;
	j->depth = 0;
	j->has_item = 0;
	j->after_key = false;
}

/* Room for n more bytes and the NUL, or overflow. */
static bool reserve(struct aeg_json_out *j, size_t n)
{
	if (j->overflow)
		return false;
	if (n > j->cap_max || j->len + n > j->cap_max) {
		j->overflow = true;
		return false;
	}
	if (j->len + n + 1 <= j->cap)
		return true;
	size_t cap = j->cap == 0 ? 256 : j->cap;
	while (cap < j->len + n + 1)
		cap *= 2;
	if (cap > j->cap_max + 1)
		cap = j->cap_max + 1;
	char *b = realloc(j->buf, cap);
	if (b == NULL) {
		j->overflow = true;
		return false;
	}
	j->buf = b;
	j->cap = cap;
	return true;
}

void aeg_json_raw(struct aeg_json_out *j, const char *s, size_t n)
{
	if (!reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void aeg_json_vrawf(struct aeg_json_out *j, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		j->overflow = true; /* an encoding error: the text would be wrong */
	} else if ((size_t)n < sizeof(small)) {
		aeg_json_raw(j, small, (size_t)n);
	} else if (reserve(j, (size_t)n)) {
		vsnprintf(j->buf + j->len, (size_t)n + 1, fmt, again);
		j->len += (size_t)n;
	}
	va_end(again);
}

void aeg_json_rawf(struct aeg_json_out *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	aeg_json_vrawf(j, fmt, ap);
	va_end(ap);
}

/* Before a value or a key: the comma after a previous element. */
static void sep(struct aeg_json_out *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && (j->has_item >> j->depth & 1))
		aeg_json_raw(j, ",", 1);
	j->has_item |= 1ull << j->depth;
}

static void open_level(struct aeg_json_out *j, char ch)
{
	sep(j);
	aeg_json_raw(j, &ch, 1);
	assert(j->depth + 1 < AEG_JSON_DEPTH_MAX);
	j->depth++;
	j->has_item &= ~(1ull << j->depth);
}

static void close_level(struct aeg_json_out *j, char ch)
{
	assert(j->depth > 0 && !j->after_key);
	j->depth--;
	aeg_json_raw(j, &ch, 1);
}

void aeg_json_obj_begin(struct aeg_json_out *j)
{
	open_level(j, '{');
}

void aeg_json_obj_end(struct aeg_json_out *j)
{
	close_level(j, '}');
}

void aeg_json_arr_begin(struct aeg_json_out *j)
{
	open_level(j, '[');
}

void aeg_json_arr_end(struct aeg_json_out *j)
{
	close_level(j, ']');
}

/* A quoted, escaped string, no separator. */
static void quoted(struct aeg_json_out *j, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	aeg_json_raw(j, "\"", 1);
	size_t run = 0; /* bytes copied as they are, in one go */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		aeg_json_raw(j, s + run, i - run);
		run = i + 1;
		char esc[6] = { '\\', 0 };
		size_t len = 2;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			len = 6;
		}
		aeg_json_raw(j, esc, len);
	}
	aeg_json_raw(j, s + run, n - run);
	aeg_json_raw(j, "\"", 1);
}

void aeg_json_key(struct aeg_json_out *j, const char *key)
{
	assert(!j->after_key);
	sep(j);
	quoted(j, key, strlen(key));
	aeg_json_raw(j, ":", 1);
	j->after_key = true;
}

void aeg_json_strn(struct aeg_json_out *j, const char *s, size_t n)
{
	sep(j);
	quoted(j, s, n);
}

void aeg_json_str(struct aeg_json_out *j, const char *s)
{
	aeg_json_strn(j, s, strlen(s));
}

static void scalar(struct aeg_json_out *j, const char *text)
{
	sep(j);
	aeg_json_raw(j, text, strlen(text));
}

void aeg_json_u64(struct aeg_json_out *j, uint64_t v)
{
	char t[24];
	snprintf(t, sizeof(t), "%" PRIu64, v);
	scalar(j, t);
}

void aeg_json_i64(struct aeg_json_out *j, int64_t v)
{
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, v);
	scalar(j, t);
}

void aeg_json_double(struct aeg_json_out *j, double v)
{
	char t[48];
	if (!isfinite(v) || fabs(v) > 1e18) {
		scalar(j, "null");
		return;
	}
	/* Three decimals without trailing zeros: 12.3, 0.125, 5. */
	int n = snprintf(t, sizeof(t), "%.3f", v);
	assert(n > 0 && (size_t)n < sizeof(t) && strchr(t, '.') != NULL);
	while (t[n - 1] == '0')
		t[--n] = '\0';
	if (t[n - 1] == '.')
		t[--n] = '\0';
	scalar(j, t);
}

void aeg_json_bool(struct aeg_json_out *j, bool v)
{
	scalar(j, v ? "true" : "false");
}

void aeg_json_null(struct aeg_json_out *j)
{
	scalar(j, "null");
}

void aeg_json_kv_str(struct aeg_json_out *j, const char *key, const char *s)
{
	aeg_json_key(j, key);
	aeg_json_str(j, s);
}

void aeg_json_kv_u64(struct aeg_json_out *j, const char *key, uint64_t v)
{
	aeg_json_key(j, key);
	aeg_json_u64(j, v);
}

void aeg_json_kv_i64(struct aeg_json_out *j, const char *key, int64_t v)
{
	aeg_json_key(j, key);
	aeg_json_i64(j, v);
}

void aeg_json_kv_double(struct aeg_json_out *j, const char *key, double v)
{
	aeg_json_key(j, key);
	aeg_json_double(j, v);
}

void aeg_json_kv_bool(struct aeg_json_out *j, const char *key, bool v)
{
	aeg_json_key(j, key);
	aeg_json_bool(j, v);
}
