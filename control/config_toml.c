/* The TOML subset scanner (config_toml.h). Strict on purpose: whatever a
 * full TOML parser would read differently from us is refused with a reason
 * instead of being guessed at. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "config_toml.h"

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_bare(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

/* What may follow a scalar: the end, a space, a comment, an array's ',' or ']'. */
static bool ends_scalar(const char *p, const char *end)
{
	return p == end || is_ws(*p) || *p == '#' || *p == ',' || *p == ']';
}

static const char *scan_int(const char *p, const char *end, struct toml_value *v,
			    const char **why)
{
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p == end || !is_digit(*p))
		return *why = "expected a value", NULL;
	if (*p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
		return *why = "only decimal integers are supported", NULL;
	const char *digits = p;
	uint64_t u = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end && (is_digit(*p) || *p == '_'); p++) {
		if (*p == '_') {
			/* TOML: an underscore sits between two digits. */
			if (p == digits || p + 1 == end || !is_digit(p[1]))
				return *why = "'_' must be between digits", NULL;
			continue;
		}
		unsigned d = (unsigned)(*p - '0');
		if (u > (limit - d) / 10)
			return *why = "integer out of range", NULL;
		u = u * 10 + d;
	}
	if (*digits == '0' && p - digits > 1)
		return *why = "leading zeros are not allowed", NULL;
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return *why = "floats are not supported", NULL;
	if (p < end && (*p == ':' || *p == '-'))
		return *why = "dates and times are not supported", NULL;
	if (!ends_scalar(p, end))
		return *why = "unexpected character after the integer", NULL;
	v->kind = TOML_INT;
	v->i = neg ? (int64_t)(0 - u) : (int64_t)u;
	return p;
}

static const char *scan_str(const char *p, const char *end, struct toml_value *v,
			    const char **why)
{
	assert(*p == '"');
	if (end - p >= 3 && p[1] == '"' && p[2] == '"')
		return *why = "multi-line strings are not supported", NULL;
	const char *s = ++p;
	for (; p < end && *p != '"'; p++) {
		if (*p != '\\')
			continue;
		if (++p == end)
			break;
		if (*p != '"' && *p != '\\' && *p != 'n' && *p != 't')
			return *why = "unsupported escape (only \\\" \\\\ \\n \\t)", NULL;
	}
	if (p == end)
		return *why = "unterminated string", NULL;
	v->kind = TOML_STR;
	v->raw = s;
	v->raw_len = (size_t)(p - s);
	v->plain = false;
	p++;
	if (!ends_scalar(p, end))
		return *why = "unexpected character after the string", NULL;
	return p;
}

static const char *scan_scalar(const char *p, const char *end, struct toml_value *v,
			       const char **why)
{
	if (p == end || *p == ',' || *p == ']' || *p == '#')
		return *why = "expected a value", NULL;
	*v = (struct toml_value){ 0 };
	if (*p == '"')
		return scan_str(p, end, v, why);
	if (*p == '\'')
		return *why = "literal strings '...' are not supported, use \"...\"", NULL;
	if (*p == '{')
		return *why = "inline tables are not supported", NULL;
	if (*p == '[')
		return *why = "nested arrays are not supported", NULL;
	if (*p == '+' || *p == '-' || is_digit(*p))
		return scan_int(p, end, v, why);
	for (int b = 0; b < 2; b++) {
		const char *word = b ? "true" : "false";
		size_t n = strlen(word);
		if ((size_t)(end - p) >= n && memcmp(p, word, n) == 0 && ends_scalar(p + n, end)) {
			v->kind = TOML_BOOL;
			v->b = b;
			return p + n;
		}
	}
	return *why = "expected an integer, true/false, a \"string\" or an array", NULL;
}

/* '[' elements ']' on one line, elements all strings or all integers. */
static const char *scan_array(const char *p, const char *end, struct toml_value *v,
			      const char **why)
{
	assert(*p == '[');
	const char *open = ++p;
	struct toml_value e;
	uint32_t n = 0;
	enum toml_kind elem = TOML_STR;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == ']')
			break;
		if (p == end || *p == '#')
			return *why = "unterminated array (arrays must be on one line)", NULL;
		p = scan_scalar(p, end, &e, why);
		if (p == NULL)
			return NULL;
		if (e.kind != TOML_STR && e.kind != TOML_INT)
			return *why = "arrays hold strings or integers only", NULL;
		if (n > 0 && e.kind != elem)
			return *why = "arrays must not mix strings and integers", NULL;
		elem = e.kind;
		if (n++ == UINT32_MAX - 1)
			return *why = "array too long", NULL;
		p = skip_ws(p, end);
		if (p == end || *p == '#')
			return *why = "unterminated array (arrays must be on one line)", NULL;
		if (*p == ',')
			p++;
		else if (*p != ']')
			return *why = "expected ',' or ']' in the array", NULL;
	}
	*v = (struct toml_value){ .kind = TOML_ARRAY, .raw = open, .raw_len = (size_t)(p - open),
				  .elem = elem, .n = n };
	return p + 1;
}

static const char *scan_value(const char *p, const char *end, struct toml_value *v,
			      const char **why)
{
	if (p < end && *p == '[')
		return scan_array(p, end, v, why);
	return scan_scalar(p, end, v, why);
}

/* After a header or a value: spaces, then nothing or a comment. */
static int scan_rest(const char *p, const char *end, const char **why, const char *what)
{
	p = skip_ws(p, end);
	if (p < end && *p != '#')
		return *why = what, -EINVAL;
	return 0;
}

static int scan_section(const char *p, const char *end, struct toml_line *out, const char **why)
{
	assert(*p == '[');
	if (p + 1 < end && p[1] == '[')
		return *why = "arrays of tables [[...]] are not supported", -EINVAL;
	p = skip_ws(p + 1, end);
	const char *name = p;
	while (p < end && is_bare(*p))
		p++;
	out->kind = TOML_LINE_SECTION;
	out->name = name;
	out->name_len = (size_t)(p - name);
	if (p < end && *p == '.')
		return *why = "dotted section names are not supported", -EINVAL;
	if (out->name_len == 0)
		return *why = "expected a section name", -EINVAL;
	p = skip_ws(p, end);
	if (p == end || *p != ']')
		return *why = "expected ']' after the section name", -EINVAL;
	return scan_rest(p + 1, end, why, "unexpected text after the section header");
}

int toml_line_scan(const char *p, const char *end, struct toml_line *out, const char **why)
{
	assert(p <= end);
	*out = (struct toml_line){ .kind = TOML_LINE_BLANK };
	if (p < end && end[-1] == '\r')
		end--;
	for (const char *q = p; q < end; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return *why = "control character in the line", -EINVAL;
	p = skip_ws(p, end);
	if (p == end || *p == '#')
		return 0;
	if (*p == '[')
		return scan_section(p, end, out, why);
	if (*p == '"' || *p == '\'')
		return *why = "quoted keys are not supported", -EINVAL;
	const char *key = p;
	while (p < end && is_bare(*p))
		p++;
	if (p == key)
		return *why = "expected a key or a [section]", -EINVAL;
	out->kind = TOML_LINE_KEYVAL;
	out->name = key;
	out->name_len = (size_t)(p - key);
	p = skip_ws(p, end);
	if (p < end && *p == '.')
		return *why = "dotted keys are not supported", -EINVAL;
	if (p == end || *p != '=')
		return *why = "expected '=' after the key", -EINVAL;
	p = scan_value(skip_ws(p + 1, end), end, &out->value, why);
	if (p == NULL)
		return -EINVAL;
	return scan_rest(p, end, why, "unexpected text after the value");
}

int toml_value_scan_all(const char *p, const char *end, struct toml_value *v, const char **why)
{
	for (const char *q = p; q < end; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return *why = "control character in the value", -EINVAL;
	p = scan_value(skip_ws(p, end), end, v, why);
	if (p == NULL)
		return -EINVAL;
	p = skip_ws(p, end);
	if (p != end)
		return *why = "unexpected text after the value", -EINVAL;
	return 0;
}

long toml_str_decode(const struct toml_value *v, char *out, size_t cap)
{
	assert(v->kind == TOML_STR);
	assert(cap > 0);
	size_t n = 0;
	for (size_t i = 0; i < v->raw_len; i++) {
		char ch = v->raw[i];
		if (ch == '\\' && !v->plain) {
			ch = v->raw[++i]; /* scanned: an escape is complete */
			ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = ch;
	}
	out[n] = '\0';
	return (long)n;
}

void toml_iter_init(struct toml_iter *it, const struct toml_value *array)
{
	assert(array->kind == TOML_ARRAY);
	it->p = array->raw;
	it->end = array->raw + array->raw_len;
}

bool toml_iter_next(struct toml_iter *it, struct toml_value *elem)
{
	const char *why;
	it->p = skip_ws(it->p, it->end);
	if (it->p == it->end)
		return false;
	const char *p = scan_scalar(it->p, it->end, elem, &why);
	assert(p != NULL); /* the array was scanned whole before */
	p = skip_ws(p, it->end);
	if (p < it->end && *p == ',')
		p++;
	it->p = p;
	return true;
}
