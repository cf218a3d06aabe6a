/* The node config file (node_config.h): read once at start, turned into
 * the argv that aeg_node_args_parse already understands, so that a file
 * and a command line can never mean different things. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_args.h"
#include "node_config.h"

#define LINE_MAX_BYTES 1024

/* Owned strings appended in order; cap grows at start-up only. */
struct list {
	char **v;
	int n, cap;
	bool oom;
};

static void push(struct list *l, const char *s)
{
	if (l->oom)
		return;
	if (l->n + 2 > l->cap) {
		int cap = l->cap == 0 ? 32 : l->cap * 2;
		char **v = realloc(l->v, (size_t)cap * sizeof(*v));
		if (v == NULL) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	char *d = strdup(s);
	if (d == NULL) {
		l->oom = true;
		return;
	}
	l->v[l->n++] = d;
	l->v[l->n] = NULL;
}

static void list_free(struct list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct list){ 0 };
}

static int fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return code;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* One "key [= value]" line into eal or opts. */
static int line_apply(const char *path, int no, char *line, struct list *eal, struct list *opts,
		      char *err, size_t err_len)
{
	char *eq = strchr(line, '=');
	char *key = line, *val = NULL;
	if (eq != NULL) {
		*eq = '\0';
		val = trim(eq + 1);
	}
	key = trim(key);
	if (strcmp(key, "eal") == 0) {
		if (val == NULL || *val == '\0')
			return fail(err, err_len, -EINVAL, "%s:%d: eal needs a value", path, no);
		for (char *save, *t = strtok_r(val, " \t", &save); t != NULL;
		     t = strtok_r(NULL, " \t", &save))
			push(eal, t);
		return 0;
	}
	int kind = strcmp(key, "config") == 0 ? -1 : aeg_node_args_option(key);
	if (kind < 0)
		return fail(err, err_len, -EINVAL, "%s:%d: unknown setting '%s'", path, no, key);
	if (kind == 1 && (val == NULL || *val == '\0'))
		return fail(err, err_len, -EINVAL, "%s:%d: %s needs a value", path, no, key);
	if (kind == 0 && val != NULL)
		return fail(err, err_len, -EINVAL, "%s:%d: %s takes no value", path, no, key);
	char opt[LINE_MAX_BYTES + 2];
	snprintf(opt, sizeof(opt), "--%s", key);
	push(opts, opt);
	if (kind == 1)
		push(opts, val);
	return 0;
}

static int file_read(const char *path, struct list *eal, struct list *opts, char *err,
		     size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		return fail(err, err_len, -e, "--config %s: %s", path, strerror(e));
	}
	char line[LINE_MAX_BYTES];
	int no = 0, r = 0;
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		no++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			r = fail(err, err_len, -EINVAL, "%s:%d: line longer than %d bytes", path, no,
				 LINE_MAX_BYTES - 1);
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		r = line_apply(path, no, s, eal, opts, err, err_len);
	}
	if (r == 0 && ferror(f))
		r = fail(err, err_len, -EIO, "--config %s: read error", path);
	fclose(f);
	return r;
}

int aeg_node_config_apply(int argc, char **argv, struct aeg_node_argv *out, char *err,
			  size_t err_len)
{
	int split = 0;
	for (int i = 1; i < argc && split == 0; i++)
		if (strcmp(argv[i], "--") == 0)
			split = i;
	const char *path = NULL;
	int at = -1, width = 0; /* where --config sits, 1 or 2 arguments */
	for (int i = split + 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return fail(err, err_len, -EINVAL, "--config needs a file");
			path = argv[i + 1], at = i, width = 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9, at = i, width = 1;
		}
	}
	if (path == NULL)
		return 0;
	struct list eal = { 0 }, opts = { 0 }, all = { 0 };
	int r = file_read(path, &eal, &opts, err, err_len);
	if (r == 0) {
		push(&all, argv[0]);
		for (int i = 0; i < eal.n; i++)
			push(&all, eal.v[i]);
		for (int i = 1; i < split; i++)
			push(&all, argv[i]);
		push(&all, "--");
		for (int i = 0; i < opts.n; i++)
			push(&all, opts.v[i]);
		for (int i = split + 1; i < argc; i++)
			if (i < at || i >= at + width)
				push(&all, argv[i]);
		if (all.oom)
			r = fail(err, err_len, -ENOMEM, "--config %s: out of memory", path);
	}
	list_free(&eal);
	list_free(&opts);
	if (r != 0) {
		list_free(&all);
		return r;
	}
	*out = (struct aeg_node_argv){ .argc = all.n, .argv = all.v };
	return 1;
}

void aeg_node_argv_free(struct aeg_node_argv *v)
{
	for (int i = 0; i < v->argc; i++)
		free(v->argv[i]);
	free(v->argv);
	*v = (struct aeg_node_argv){ 0 };
}
