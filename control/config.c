/* Parsing a config file and --set overrides (config.h) against the table
 * of keys (config_keys.c): both go through apply_value(), so a file and a
 * command line accept exactly the same values. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_keys.h"
#include "config_toml.h"

static const char *const sections[] = { "replication", "raft", "sharding", "node", "limits",
					"wal", "membership", "rebalance" };
#define SECTION_COUNT (sizeof(sections) / sizeof(sections[0]))

/* Where a message comes from: a file line or a --set. */
struct pctx {
	const char *file; /* NULL: --set */
	uint32_t line;
	char *err;
	size_t err_len;
};

static int key_fail(const struct pctx *x, const struct cfg_key *k, const char *fmt, ...)
{
	int n = x->file != NULL ? snprintf(x->err, x->err_len, "%s:%u: %s.%s: ", x->file, x->line,
					   k->section, k->name)
				: snprintf(x->err, x->err_len, "--set %s.%s: ", k->section, k->name);
	if (n >= 0 && (size_t)n < x->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->err + n, x->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *kind_name(enum toml_kind kind)
{
	static const char *const names[] = { "an integer", "a boolean", "a string", "an array" };
	return names[kind];
}


/* An array of strings into a pool of NUL-terminated strings. */
static int apply_pool(const struct pctx *x, const struct cfg_key *k, const struct toml_value *v,
		      char *pool, size_t pool_bytes, void *offs, size_t off_size, uint32_t max,
		      uint32_t *count)
{
	if (v->n > max)
		return key_fail(x, k, "at most %u entries, got %u", max, v->n);
	struct toml_iter it;
	struct toml_value e;
	size_t used = 0;
	uint32_t i = 0;
	for (toml_iter_init(&it, v); toml_iter_next(&it, &e); i++) {
		assert(i < v->n);
		long len = toml_str_decode(&e, pool + used, pool_bytes - used);
		if (len < 0)
			return key_fail(x, k, "more than %zu bytes in all", pool_bytes);
		if (off_size == sizeof(uint16_t)) {
			uint16_t o = (uint16_t)used;
			memcpy((char *)offs + i * off_size, &o, sizeof(o));
		} else {
			uint32_t o = (uint32_t)used;
			memcpy((char *)offs + i * off_size, &o, sizeof(o));
		}
		used += (size_t)len + 1;
	}
	*count = i;
	return 0;
}

static int apply_special(struct aeg_config *c, const struct pctx *x, const struct cfg_key *k,
			 const struct toml_value *v)
{
	char text[64];
	if (k->type == CT_ADDR) {
		if (v->kind != TOML_STR)
			return key_fail(x, k, "expected a string \"A.B.C.D[:PORT]\", got %s",
					kind_name(v->kind));
		uint16_t port = AEG_CONFIG_BASE_PORT_DEFAULT;
		if (toml_str_decode(v, text, sizeof(text)) < 0 || !cfg_parse_addr(text, &c->ipv4, &port))
			return key_fail(x, k, "expected \"A.B.C.D[:PORT]\" (port 1..65535)");
		c->base_port = port;
		c->address_given = true;
		return 0;
	}
	if (v->kind != TOML_ARRAY || (v->n > 0 && v->elem != TOML_STR))
		return key_fail(x, k, "expected an array of strings, got %s",
				v->kind == TOML_ARRAY ? "an array of integers" : kind_name(v->kind));
	if (k->type == CT_EAL)
		return apply_pool(x, k, v, c->eal_pool, sizeof(c->eal_pool), c->eal_arg_off,
				  sizeof(c->eal_arg_off[0]), AEG_CONFIG_EAL_ARGS_MAX, &c->eal_argc);
	if (k->type == CT_SPLITS)
		return apply_pool(x, k, v, c->split_point_pool, sizeof(c->split_point_pool),
				  c->split_point_off, sizeof(c->split_point_off[0]),
				  AEG_CONFIG_SPLITS_MAX, &c->split_point_count);
	if (k->type == CT_ASSIGN)
		return apply_pool(x, k, v, c->assign_pool, sizeof(c->assign_pool), c->assign_off,
				  sizeof(c->assign_off[0]), AEG_CONFIG_ASSIGN_MAX, &c->assign_count);
	assert(k->type == CT_PEERS);
	if (v->n > AEG_CONFIG_PEERS_MAX)
		return key_fail(x, k, "at most %u peers, got %u", AEG_CONFIG_PEERS_MAX, v->n);
	struct toml_iter it;
	struct toml_value e;
	uint32_t i = 0;
	for (toml_iter_init(&it, v); toml_iter_next(&it, &e); i++)
		if (toml_str_decode(&e, text, sizeof(text)) < 0 || !cfg_parse_peer(text, &c->peers[i]))
			return key_fail(x, k, "entry %u: expected \"ID=A.B.C.D[:PORT][@MAC]\"", i + 1);
	c->peer_count = i;
	return 0;
}

static int apply_value(struct aeg_config *c, const struct pctx *x, const struct cfg_key *k,
		       const struct toml_value *v)
{
	char text[64];
	uint64_t u = 0;
	switch (k->type) {
	case CT_BOOL:
		if (v->kind != TOML_BOOL)
			return key_fail(x, k, "expected true or false, got %s", kind_name(v->kind));
		*((bool *)((char *)c + k->off)) = v->b;
		return 0;
	case CT_STR:
		if (v->kind != TOML_STR)
			return key_fail(x, k, "expected a string, got %s", kind_name(v->kind));
		if (toml_str_decode(v, (char *)c + k->off, k->size) < 0)
			return key_fail(x, k, "longer than %zu bytes", k->size - 1);
		return 0;
	case CT_ENUM:
		if (v->kind == TOML_STR && toml_str_decode(v, text, sizeof(text)) >= 0)
			for (uint64_t i = 0; k->names[i] != NULL; i++)
				if (strcmp(text, k->names[i]) == 0)
					return cfg_key_store(c, k, i), 0;
		return key_fail(x, k, "expected one of \"%s\", \"%s\"%s%s%s", k->names[0],
				k->names[1], k->names[2] ? ", \"" : "", k->names[2] ? k->names[2] : "",
				k->names[2] ? "\"" : "");
	case CT_SIZE:
		if (v->kind == TOML_STR) {
			if (toml_str_decode(v, text, sizeof(text)) < 0 || !cfg_parse_size(text, &u))
				return key_fail(x, k, "expected bytes or \"N KiB|MiB|GiB\"");
			break;
		}
		__attribute__((fallthrough)); /* an integer of bytes */
	case CT_UINT:
		if (v->kind != TOML_INT)
			return key_fail(x, k, "expected an integer, got %s", kind_name(v->kind));
		if (v->i < 0)
			return key_fail(x, k, "must be in %llu..%llu, got %lld",
					(unsigned long long)k->min, (unsigned long long)k->max,
					(long long)v->i);
		u = (uint64_t)v->i;
		break;
	default:
		return apply_special(c, x, k, v);
	}
	if (u < k->min || u > k->max)
		return key_fail(x, k, "must be in %llu..%llu, got %llu", (unsigned long long)k->min,
				(unsigned long long)k->max, (unsigned long long)u);
	cfg_key_store(c, k, u);
	return 0;
}

static int find_key(const char *section, size_t section_len, const char *name, size_t name_len)
{
	for (int i = 0; i < CK_COUNT; i++)
		if (strlen(cfg_keys[i].section) == section_len &&
		    memcmp(cfg_keys[i].section, section, section_len) == 0 &&
		    strlen(cfg_keys[i].name) == name_len && memcmp(cfg_keys[i].name, name, name_len) == 0)
			return i;
	return -1;
}

static int line_fail(const struct pctx *x, const char *fmt, ...)
{
	int n = snprintf(x->err, x->err_len, "%s:%u: ", x->file, x->line);
	if (n >= 0 && (size_t)n < x->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->err + n, x->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The parse proper, into c (a scratch copy: the caller keeps it or not). */
static int parse_text(struct aeg_config *c, const char *text, size_t len, struct pctx *x)
{
	bool key_seen[CK_COUNT] = { false }, section_seen[SECTION_COUNT] = { false };
	int section = -1;
	const char *end = text + len;
	for (const char *p = text; p < end; x->line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		struct toml_line l;
		const char *why = "";
		int r = toml_line_scan(p, eol, &l, &why);
		p = nl != NULL ? nl + 1 : end;
		int n = (int)(l.name_len > 64 ? 64 : l.name_len);
		if (r != 0 && l.kind == TOML_LINE_KEYVAL && section >= 0)
			return line_fail(x, "%s.%.*s: %s", sections[section], n, l.name, why);
		if (r != 0 && l.kind == TOML_LINE_KEYVAL)
			return line_fail(x, "%.*s: %s", n, l.name, why);
		if (r != 0)
			return line_fail(x, "%s", why);
		if (l.kind == TOML_LINE_SECTION) {
			section = -1;
			for (size_t s = 0; s < SECTION_COUNT; s++)
				if (strlen(sections[s]) == l.name_len &&
				    memcmp(sections[s], l.name, l.name_len) == 0)
					section = (int)s;
			if (section < 0)
				return line_fail(x, "[%.*s]: unknown section", n, l.name);
			if (section_seen[section])
				return line_fail(x, "[%s]: section given twice", sections[section]);
			section_seen[section] = true;
		} else if (l.kind == TOML_LINE_KEYVAL) {
			if (section < 0)
				return line_fail(x, "%.*s: key outside a [section]", n, l.name);
			const char *sec = sections[section];
			int k = find_key(sec, strlen(sec), l.name, l.name_len);
			if (k < 0)
				return line_fail(x, "%s.%.*s: unknown key", sec, n, l.name);
			if (key_seen[k])
				return line_fail(x, "%s.%s: key given twice", sec, cfg_keys[k].name);
			key_seen[k] = true;
			r = apply_value(c, x, &cfg_keys[k], &l.value);
			if (r != 0)
				return r;
			c->origin_line[k] = x->line;
		}
	}
	return 0;
}

int aeg_config_parse(struct aeg_config *c, const char *text, size_t len, const char *file_name,
		     char *err, size_t err_len)
{
	assert(c != NULL && file_name != NULL);
	assert(text != NULL || len == 0);
	struct pctx x = { .file = file_name, .line = 1, .err = err, .err_len = err_len };
	if (len == 0)
		text = ""; /* no arithmetic on a NULL text */
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		for (const char *q = text; q < nul; q++)
			x.line += *q == '\n';
		return line_fail(&x, "NUL byte in the file");
	}
	struct aeg_config *scratch = malloc(sizeof(*scratch));
	if (scratch == NULL)
		return snprintf(err, err_len, "%s: out of memory", file_name), -ENOMEM;
	*scratch = *c;
	if (strcmp(scratch->origin_file, file_name) != 0) {
		/* Lines of an earlier file would be read as this file's. */
		for (int k = 0; k < CK_COUNT; k++)
			if (scratch->origin_line[k] != UINT32_MAX)
				scratch->origin_line[k] = 0;
		snprintf(scratch->origin_file, sizeof(scratch->origin_file), "%s", file_name);
	}
	int r = parse_text(scratch, text, len, &x);
	if (r == 0)
		*c = *scratch;
	free(scratch);
	return r;
}

int aeg_config_set(struct aeg_config *c, const char *dotted_key, const char *value, char *err,
		   size_t err_len)
{
	assert(c != NULL && dotted_key != NULL && value != NULL);
	const char *dot = strchr(dotted_key, '.');
	int k = dot == NULL ? -1 : find_key(dotted_key, (size_t)(dot - dotted_key), dot + 1,
					   strlen(dot + 1));
	if (k < 0)
		return snprintf(err, err_len, "--set %s: unknown key (expected section.key)",
				dotted_key), -EINVAL;
	const struct cfg_key *key = &cfg_keys[k];
	struct pctx x = { .file = NULL, .err = err, .err_len = err_len };
	struct toml_value v;
	const char *why = "";
	size_t n = strlen(value);
	bool stringish = key->type == CT_STR || key->type == CT_ENUM || key->type == CT_ADDR ||
			 key->type == CT_SIZE;
	int r = toml_value_scan_all(value, value + n, &v, &why);
	if (stringish && value[0] != '"' && (key->type != CT_SIZE || r != 0 || v.kind != TOML_INT)) {
		/* Unquoted text of a string key is the string itself. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
				return key_fail(&x, key, "control character in the value");
		v = (struct toml_value){ .kind = TOML_STR, .raw = value, .raw_len = n, .plain = true };
		r = 0;
	}
	if (r != 0)
		return key_fail(&x, key, "%s", why);
	struct aeg_config *scratch = malloc(sizeof(*scratch));
	if (scratch == NULL)
		return snprintf(err, err_len, "--set: out of memory"), -ENOMEM;
	*scratch = *c;
	r = apply_value(scratch, &x, key, &v);
	if (r == 0) {
		scratch->origin_line[k] = UINT32_MAX;
		*c = *scratch;
	}
	free(scratch);
	return r;
}

