/* The TOML subset of config.h, one line at a time: a scanner that knows
 * nothing about Aegis's keys. Private to control/config*.c.
 *
 * Scanning checks the syntax of a whole line (a string's escapes, an
 * integer's digits and range, an array's elements); what is returned points
 * into the caller's text, and strings are decoded afterwards into the
 * caller's buffer, so that nothing is allocated. */
#ifndef AEGIS_CONTROL_CONFIG_TOML_H
#define AEGIS_CONTROL_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_kind { TOML_INT, TOML_BOOL, TOML_STR, TOML_ARRAY };

struct toml_value {
	enum toml_kind kind;
	int64_t i;         /* TOML_INT */
	bool b;            /* TOML_BOOL */
	/* TOML_STR: the text between the quotes, escapes not yet decoded
	 * (plain: no escapes at all, e.g. an unquoted --set value).
	 * TOML_ARRAY: the text between the brackets. */
	const char *raw;
	size_t raw_len;
	bool plain;
	enum toml_kind elem; /* TOML_ARRAY: TOML_STR or TOML_INT (TOML_STR when empty) */
	uint32_t n;          /* TOML_ARRAY: element count */
};

enum toml_line_kind { TOML_LINE_BLANK, TOML_LINE_SECTION, TOML_LINE_KEYVAL };

struct toml_line {
	enum toml_line_kind kind;
	const char *name;  /* the section name or the key; set as soon as it is read */
	size_t name_len;
	struct toml_value value;
};

/* One line (without its '\n'; a trailing '\r' is allowed). Returns 0, or
 * -EINVAL with a static reason in *why; out->name is set when the error
 * comes after the key (so the message can name it). */
int toml_line_scan(const char *p, const char *end, struct toml_line *out, const char **why);

/* One value at p, alone up to end (spaces around allowed). For --set. */
int toml_value_scan_all(const char *p, const char *end, struct toml_value *v, const char **why);

/* Decodes a TOML_STR into out (cap bytes, NUL added). Returns the length,
 * or -ENAMETOOLONG when it does not fit. */
long toml_str_decode(const struct toml_value *v, char *out, size_t cap);

/* The elements of a scanned array, in order. */
struct toml_iter {
	const char *p, *end;
};
void toml_iter_init(struct toml_iter *it, const struct toml_value *array);
bool toml_iter_next(struct toml_iter *it, struct toml_value *elem);

#endif
