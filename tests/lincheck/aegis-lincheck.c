/* aegis-lincheck: is a recorded history of single-key reads and writes
 * linearizable? The history comes from clients of a real cluster
 * (aegis-bench --history) while faults hit it; the checker is the
 * simulator's (lin.c). Exit: 0 every key linearizable, 1 a key is not,
 * 2 usage or unreadable history, 3 no violation found but some key was too
 * large to decide (more than LIN_OPS_MAX ops or --steps search steps). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lin.h"

#define KEY_BYTES_MAX 256

static const char usage[] =
	"usage: aegis-lincheck [--steps N] [--verbose] HISTORY\n"
	"  HISTORY: one operation per line (# comments, blank lines ignored):\n"
	"    KEY put|get VALUE INVOKE_NS RETURN_NS\n"
	"  VALUE: a 64-bit number, unique per put (0 = absent: a get of a missing\n"
	"  key, a delete); RETURN_NS '-' when no answer came (a put that may or\n"
	"  may not have happened; an unanswered get is ignored). Puts refused for\n"
	"  sure must not be listed. Times: one clock for every client.\n"
	"  --steps N   search steps per key before giving up (default 20000000)\n"
	"exit: 0 linearizable, 1 not, 2 usage/bad input, 3 undecided (too large)\n";

struct keys {
	char **name;
	uint32_t n, cap;
};

/* Key name -> dense id (linear search is fine: histories of a test use a
 * handful of keys; sorted lookup would be for millions). */
static int key_id(struct keys *k, const char *name, uint64_t *id)
{
	for (uint32_t i = 0; i < k->n; i++)
		if (strcmp(k->name[i], name) == 0)
			return (int)(*id = i, 0);
	if (k->n == k->cap) {
		uint32_t cap = k->cap ? 2 * k->cap : 16;
		char **p = realloc(k->name, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		k->name = p, k->cap = cap;
	}
	if ((k->name[k->n] = strdup(name)) == NULL)
		return -ENOMEM;
	*id = k->n++;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static int read_history(FILE *f, const char *path, struct keys *k, struct lin_op **ops,
			uint32_t *n)
{
	char line[1024], key[KEY_BYTES_MAX + 1], kind[8], val[32], t0[32], t1[32];
	uint32_t cap = 0, lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		struct lin_op op = {0};
		char extra[2];
		int got = sscanf(p, "%256s %7s %31s %31s %31s %1s", key, kind, val, t0, t1, extra);
		bool put = strcmp(kind, "put") == 0;
		if (got != 5 || (!put && strcmp(kind, "get") != 0) || parse_u64(val, &op.value) != 0 ||
		    parse_u64(t0, &op.invoke_t) != 0 ||
		    (strcmp(t1, "-") != 0 && parse_u64(t1, &op.return_t) != 0)) {
			fprintf(stderr, "aegis-lincheck: %s:%u: expected KEY put|get VALUE INVOKE_NS "
				"RETURN_NS|-\n", path, lineno);
			return -EINVAL;
		}
		if (strcmp(t1, "-") == 0)
			op.return_t = UINT64_MAX;
		else if (op.return_t < op.invoke_t) {
			fprintf(stderr, "aegis-lincheck: %s:%u: returns before its call\n", path, lineno);
			return -EINVAL;
		}
		op.put = put;
		if (key_id(k, key, &op.key) != 0)
			return -ENOMEM;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct lin_op *q = realloc(*ops, cap * sizeof(*q));
			if (q == NULL)
				return -ENOMEM;
			*ops = q;
		}
		(*ops)[(*n)++] = op;
	}
	if (ferror(f)) {
		fprintf(stderr, "aegis-lincheck: %s: read error\n", path);
		return -EIO;
	}
	return 0;
}

static void print_key(const struct lin_op *ops, uint32_t n, uint64_t key)
{
	for (uint32_t i = 0; i < n; i++)
		if (ops[i].key == key) {
			if (ops[i].return_t == UINT64_MAX)
				fprintf(stderr, "    %s %" PRIu64 " [%" PRIu64 ", -]\n",
					ops[i].put ? "put" : "get", ops[i].value, ops[i].invoke_t);
			else
				fprintf(stderr, "    %s %" PRIu64 " [%" PRIu64 ", %" PRIu64 "]\n",
					ops[i].put ? "put" : "get", ops[i].value, ops[i].invoke_t,
					ops[i].return_t);
		}
}

int main(int argc, char **argv)
{
	uint64_t max_steps = 20000000;
	bool verbose = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &max_steps) != 0 || max_steps == 0) {
				fprintf(stderr, "aegis-lincheck: --steps takes a positive number\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "aegis-lincheck: unknown option %s\n%s", argv[i], usage);
			return 2;
		} else if (path == NULL) {
			path = argv[i];
		} else {
			fprintf(stderr, "aegis-lincheck: one history only\n%s", usage);
			return 2;
		}
	}
	if (path == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "aegis-lincheck: %s: %s\n", path, strerror(errno));
		return 2;
	}
	struct keys k = {0};
	struct lin_op *ops = NULL;
	uint32_t n = 0;
	int rc = read_history(f, path, &k, &ops, &n);
	if (f != stdin)
		fclose(f);
	uint32_t bad = 0, undecided = 0;
	uint64_t steps_all = 0;
	if (rc != 0)
		goto out;
	for (uint64_t key = 0; key < k.n; key++) {
		uint64_t steps = 0;
		int r = lin_check(ops, n, key, max_steps, &steps);
		steps_all += steps;
		if (r == 0) {
			bad++;
			fprintf(stderr, "aegis-lincheck: key '%s' is NOT linearizable:\n", k.name[key]);
			print_key(ops, n, key);
		} else if (r < 0) {
			undecided++;
			fprintf(stderr, "aegis-lincheck: key '%s': undecided (too many ops or steps)\n",
				k.name[key]);
		} else if (verbose) {
			fprintf(stderr, "aegis-lincheck: key '%s' ok (%" PRIu64 " steps)\n", k.name[key],
				steps);
		}
	}
	printf("aegis-lincheck: %u ops on %u keys: %u not linearizable, %u undecided, %" PRIu64
	       " search steps\n", n, k.n, bad, undecided, steps_all);
out:
	for (uint32_t i = 0; i < k.n; i++)
		free(k.name[i]);
	free(k.name);
	free(ops);
	return rc != 0 ? 2 : bad ? 1 : undecided ? 3 : 0;
}
