/* The JSON reader (json_in.h): recursive descent with a depth limit,
 * tokens into the caller's array. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_in.h"

struct parser {
	const char *s;
	size_t len, pos;
	struct aeg_json_tok *toks;
	uint32_t n, max;
	const char *why;
};

static int fail(struct parser *p, const char *why)
{
	p->why = why;
	return -EINVAL;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int new_tok(struct parser *p, enum aeg_json_type type)
{
	if (p->n == p->max)
		return p->why = "too many tokens", -ENOBUFS;
	p->toks[p->n] = (struct aeg_json_tok){ .type = type, .start = (uint32_t)p->pos };
	return (int)p->n++;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = s[i];
		int d = is_digit(ch) ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ?
			(ch | 0x20) - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static int string(struct parser *p, int t)
{
	assert(p->s[p->pos] == '"');
	p->toks[t].start = (uint32_t)++p->pos;
	while (p->pos < p->len) {
		unsigned char ch = (unsigned char)p->s[p->pos];
		if (ch == '"') {
			p->toks[t].end = (uint32_t)p->pos++;
			return 0;
		}
		if (ch < 0x20)
			return fail(p, "control character in a string");
		if (ch == '\\') {
			if (++p->pos == p->len)
				break;
			ch = (unsigned char)p->s[p->pos];
			if (ch == 'u') {
				if (p->len - p->pos < 5 || hex4(p->s + p->pos + 1) < 0)
					return fail(p, "bad \\u escape");
				p->pos += 4;
			} else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0') {
				return fail(p, "bad escape");
			}
		}
		p->pos++;
	}
	return fail(p, "unterminated string");
}

static int number(struct parser *p, int t)
{
	const char *s = p->s;
	size_t i = p->pos;
	if (i < p->len && s[i] == '-')
		i++;
	if (i < p->len && s[i] == '0')
		i++;
	else if (i < p->len && is_digit(s[i]))
		while (i < p->len && is_digit(s[i]))
			i++;
	else
		return fail(p, "bad number");
	if (i < p->len && s[i] == '.') {
		if (++i == p->len || !is_digit(s[i]))
			return fail(p, "bad number");
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == p->len || !is_digit(s[i]))
			return fail(p, "bad number");
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	p->pos = i;
	p->toks[t].end = (uint32_t)i;
	return 0;
}

static int value(struct parser *p, uint32_t depth);

/* The members or elements of the container token t, up to its closer. */
static int container(struct parser *p, int t, uint32_t depth, bool object)
{
	char closer = object ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == closer) {
		p->pos++;
		return 0;
	}
	for (;;) {
		int r;
		skip_ws(p);
		if (object) {
			if (p->pos == p->len || p->s[p->pos] != '"')
				return fail(p, "expected a member name");
			if ((r = new_tok(p, AEG_JSON_STRING)) < 0 || (r = string(p, r)) < 0)
				return r;
			p->toks[p->n - 1].next = p->n;
			skip_ws(p);
			if (p->pos == p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':'");
			p->pos++;
		}
		if ((r = value(p, depth + 1)) < 0)
			return r;
		p->toks[t].size++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == closer) {
			p->pos++;
			return 0;
		}
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *p, int t, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return fail(p, "unexpected character");
	p->pos += n;
	p->toks[t].end = (uint32_t)p->pos;
	return 0;
}

static int value(struct parser *p, uint32_t depth)
{
	if (depth >= AEG_JSON_DEPTH_IN_MAX)
		return fail(p, "nested too deeply");
	skip_ws(p);
	if (p->pos == p->len)
		return fail(p, "expected a value");
	char ch = p->s[p->pos];
	if (ch == '\0' || (strchr("{[\"tfn-", ch) == NULL && !is_digit(ch)))
		return fail(p, "unexpected character");
	enum aeg_json_type type = ch == '{' ? AEG_JSON_OBJECT : ch == '[' ? AEG_JSON_ARRAY :
				  ch == '"' ? AEG_JSON_STRING : ch == 't' ? AEG_JSON_TRUE :
				  ch == 'f' ? AEG_JSON_FALSE : ch == 'n' ? AEG_JSON_NULL : AEG_JSON_NUMBER;
	int t = new_tok(p, type), r;
	if (t < 0)
		return t;
	switch (type) {
	case AEG_JSON_OBJECT:
	case AEG_JSON_ARRAY:
		r = container(p, t, depth, type == AEG_JSON_OBJECT);
		p->toks[t].end = (uint32_t)p->pos;
		break;
	case AEG_JSON_STRING: r = string(p, t); break;
	case AEG_JSON_TRUE: r = literal(p, t, "true"); break;
	case AEG_JSON_FALSE: r = literal(p, t, "false"); break;
	case AEG_JSON_NULL: r = literal(p, t, "null"); break;
	default: r = number(p, t); break;
	}
	p->toks[t].next = p->n;
	return r;
}

int aeg_json_parse(struct aeg_json_doc *d, const char *text, size_t len,
		   struct aeg_json_tok *toks, uint32_t max, const char **why)
{
	assert(len < UINT32_MAX);
	assert(toks != NULL || max == 0);
	struct parser p = { .s = len > 0 ? text : "", .len = len, .toks = toks, .max = max,
			    .why = "" };
	int r = value(&p, 0);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			r = fail(&p, "text after the value");
	}
	*d = (struct aeg_json_doc){ .text = p.s, .len = len, .toks = toks, .n = r == 0 ? p.n : 0,
				    .max = max };
	if (why != NULL)
		*why = p.why;
	return r;
}

int aeg_json_first(const struct aeg_json_doc *d, int c)
{
	if (c < 0 || (uint32_t)c >= d->n || d->toks[c].size == 0)
		return -1;
	assert(d->toks[c].type == AEG_JSON_OBJECT || d->toks[c].type == AEG_JSON_ARRAY);
	return c + 1;
}

int aeg_json_after(const struct aeg_json_doc *d, int c, int el)
{
	assert(c >= 0 && el > c && (uint32_t)el < d->n);
	/* In an object el is a key: skip its value too. */
	uint32_t next = d->toks[c].type == AEG_JSON_OBJECT ? d->toks[el + 1].next : d->toks[el].next;
	return next < d->toks[c].next ? (int)next : -1;
}

int aeg_json_get(const struct aeg_json_doc *d, int obj, const char *key)
{
	if (obj < 0 || (uint32_t)obj >= d->n || d->toks[obj].type != AEG_JSON_OBJECT)
		return -1;
	for (int k = aeg_json_first(d, obj); k >= 0; k = aeg_json_after(d, obj, k))
		if (aeg_json_as_str_eq(d, k, key))
			return k + 1;
	return -1;
}

static const struct aeg_json_tok *tok_of(const struct aeg_json_doc *d, int t,
					 enum aeg_json_type type)
{
	if (t < 0 || (uint32_t)t >= d->n || d->toks[t].type != type)
		return NULL;
	return &d->toks[t];
}

bool aeg_json_as_u64(const struct aeg_json_doc *d, int t, uint64_t *out)
{
	const struct aeg_json_tok *k = tok_of(d, t, AEG_JSON_NUMBER);
	if (k == NULL)
		return false;
	uint64_t v = 0;
	for (uint32_t i = k->start; i < k->end; i++) {
		if (!is_digit(d->text[i]))
			return false;
		uint64_t dig = (uint64_t)(d->text[i] - '0');
		if (v > (UINT64_MAX - dig) / 10)
			return false;
		v = v * 10 + dig;
	}
	*out = v;
	return true;
}

bool aeg_json_as_double(const struct aeg_json_doc *d, int t, double *out)
{
	const struct aeg_json_tok *k = tok_of(d, t, AEG_JSON_NUMBER);
	char buf[64];
	if (k == NULL || k->end - k->start >= sizeof(buf))
		return false;
	memcpy(buf, d->text + k->start, k->end - k->start);
	buf[k->end - k->start] = '\0';
	*out = strtod(buf, NULL); /* the grammar was checked */
	return true;
}

bool aeg_json_as_bool(const struct aeg_json_doc *d, int t, bool *out)
{
	if (tok_of(d, t, AEG_JSON_TRUE) != NULL)
		return *out = true, true;
	if (tok_of(d, t, AEG_JSON_FALSE) != NULL)
		return *out = false, true;
	return false;
}

/* Appends code point cp as UTF-8; false when out is full. */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	char b[4];
	size_t len;
	if (cp < 0x80)
		b[0] = (char)cp, len = 1;
	else if (cp < 0x800)
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), len = 2;
	else if (cp < 0x10000)
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (cp & 0x3f)), len = 3;
	else
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), len = 4;
	if (*n + len >= cap)
		return false;
	memcpy(out + *n, b, len);
	*n += len;
	return true;
}

long aeg_json_as_str(const struct aeg_json_doc *d, int t, char *out, size_t cap)
{
	const struct aeg_json_tok *k = tok_of(d, t, AEG_JSON_STRING);
	if (k == NULL)
		return -1;
	assert(cap > 0);
	const char *s = d->text;
	size_t n = 0;
	for (uint32_t i = k->start; i < k->end; i++) {
		uint32_t cp = (unsigned char)s[i];
		if (cp != '\\') {
			/* Raw bytes are copied as they are (UTF-8 stays UTF-8). */
			if (n + 1 >= cap)
				return -ENAMETOOLONG;
			out[n++] = (char)cp;
			continue;
		}
		{
			char e = s[++i];
			cp = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' :
			     e == 't' ? '\t' : (unsigned char)e;
			if (e == 'u') {
				cp = (uint32_t)hex4(s + i + 1);
				i += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -EINVAL;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					int lo = i + 6 < k->end && s[i + 1] == '\\' && s[i + 2] == 'u' ?
						 hex4(s + i + 3) : -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return -EINVAL;
					cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
					i += 6;
				}
				if (cp == 0)
					return -EINVAL;
			}
		}
		if (!put_utf8(out, cap, &n, cp))
			return -ENAMETOOLONG;
	}
	out[n] = '\0';
	return (long)n;
}

bool aeg_json_as_str_eq(const struct aeg_json_doc *d, int t, const char *s)
{
	const struct aeg_json_tok *k = tok_of(d, t, AEG_JSON_STRING);
	if (k == NULL)
		return false;
	size_t n = strlen(s);
	if (memchr(d->text + k->start, '\\', k->end - k->start) == NULL)
		return k->end - k->start == n && memcmp(d->text + k->start, s, n) == 0;
	char buf[256];
	long len = aeg_json_as_str(d, t, buf, sizeof(buf));
	return len >= 0 && (size_t)len == n && memcmp(buf, s, n) == 0;
}
