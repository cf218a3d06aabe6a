/* netem's argument syntax, the subset of netem_args.h. */
#include "netem_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_pct(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || strcmp(end, "%") != 0 || v < 0 || v > 100)
		return -EINVAL;
	*out = v / 100.0;
	return 0;
}

static int parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double mul = strcmp(end, "") == 0 || strcmp(end, "us") == 0 ? 1e3
		     : strcmp(end, "ms") == 0			   ? 1e6
		     : strcmp(end, "s") == 0			   ? 1e9
								   : -1;
	if (end == s || mul < 0 || v < 0 || v * mul > 60e9)
		return -EINVAL;
	*ns = (uint64_t)(v * mul);
	return 0;
}

static bool is_time(const char *s)
{
	uint64_t ns;
	return s != NULL && parse_time(s, &ns) == 0;
}

/* netem's syntax (the subset above); correlations are refused. */
int aeg_netem_parse(int argc, char **argv, struct aeg_netem *m)
{
	*m = (struct aeg_netem){ .limit = 8192 };
	for (int i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = v == NULL ? -EINVAL : 0;
		if (rc == 0 && strcmp(k, "loss") == 0) {
			if (strcmp(v, "random") == 0 && i + 2 < argc)
				v = argv[++i + 1];
			rc = parse_pct(v, &m->loss);
		} else if (rc == 0 && strcmp(k, "delay") == 0) {
			rc = parse_time(v, &m->delay_ns);
			if (rc == 0 && is_time(i + 2 < argc ? argv[i + 2] : NULL))
				rc = parse_time(argv[++i + 1], &m->jitter_ns);
		} else if (rc == 0 && strcmp(k, "reorder") == 0) {
			rc = parse_pct(v, &m->reorder);
		} else if (rc == 0 && strcmp(k, "duplicate") == 0) {
			rc = parse_pct(v, &m->duplicate);
		} else if (rc == 0 && strcmp(k, "corrupt") == 0) {
			rc = parse_pct(v, &m->corrupt);
		} else if (rc == 0 && strcmp(k, "limit") == 0) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			rc = *v != '\0' && *end == '\0' && n >= 1 && n <= 1000000 ? 0 : -EINVAL;
			m->limit = (uint32_t)n;
		} else {
			rc = -EINVAL;
		}
		if (rc != 0) {
			fprintf(stderr, "aegis-cluster-netem: '%s %s': not understood (loss P%%, delay T [J], "
					"reorder P%%, duplicate P%%, corrupt P%%, limit N; no correlations)\n",
				k, v != NULL ? v : "");
			return rc;
		}
		i++;
	}
	if (m->reorder > 0 && m->delay_ns == 0) {
		fprintf(stderr, "aegis-cluster-netem: reorder needs a delay (as in netem)\n");
		return -EINVAL;
	}
	return 0;
}
