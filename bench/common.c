/* Benchmark helpers: clock, setup description, JSON lines. */
#define _GNU_SOURCE
#include "common.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_clock_ns(clockid_t id)
{
	struct timespec ts;
	int rc = clock_gettime(id, &ts);
	if (rc != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_now_ns(void)
{
	return bench_clock_ns(CLOCK_MONOTONIC);
}

const char *bench_cpu_model(void)
{
	static char model[128] = "";
	if (model[0] != '\0')
		return model;
	snprintf(model, sizeof(model), "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return model;
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		const char *colon = strchr(line, ':');
		if (colon == NULL)
			break;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		snprintf(model, sizeof(model), "%s", colon);
		model[strcspn(model, "\n")] = '\0';
		break;
	}
	fclose(f);
	return model;
}

int bench_cores_usable(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return (int)sysconf(_SC_NPROCESSORS_ONLN);
	return CPU_COUNT(&set);
}

void bench_print_setup(const char *bench_name, const char *extra)
{
	printf("# %s\n# cpu: %s, cores online: %ld, cores usable by this run: %d\n",
	       bench_name, bench_cpu_model(), sysconf(_SC_NPROCESSORS_ONLN),
	       bench_cores_usable());
	if (extra != NULL && extra[0] != '\0')
		printf("# %s\n", extra);
}

static void json_append(struct bench_json *j, const char *fmt, ...)
{
	if (j->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(j->buf + j->len, sizeof(j->buf) - j->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(j->buf) - j->len) {
		j->overflow = 1;
		return;
	}
	j->len += (size_t)n;
}

static void json_append_escaped(struct bench_json *j, const char *s)
{
	json_append(j, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			json_append(j, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			json_append(j, "\\u%04x", (unsigned char)*s);
		else
			json_append(j, "%c", *s);
	}
	json_append(j, "\"");
}

static void json_key(struct bench_json *j, const char *key)
{
	json_append(j, ",");
	json_append_escaped(j, key);
	json_append(j, ":");
}

void bench_json_begin(struct bench_json *j, const char *bench_name)
{
	j->len = 0;
	j->overflow = 0;
	j->buf[0] = '\0';
	json_append(j, "{\"bench\":");
	json_append_escaped(j, bench_name);
	json_key(j, "cpu");
	json_append_escaped(j, bench_cpu_model());
	json_key(j, "cores");
	json_append(j, "%d", bench_cores_usable());
}

void bench_json_str(struct bench_json *j, const char *key, const char *value)
{
	json_key(j, key);
	json_append_escaped(j, value);
}

void bench_json_u64(struct bench_json *j, const char *key, uint64_t value)
{
	json_key(j, key);
	json_append(j, "%llu", (unsigned long long)value);
}

void bench_json_f64(struct bench_json *j, const char *key, double value)
{
	json_key(j, key);
	json_append(j, "%.6g", value);
}

void bench_json_end(struct bench_json *j)
{
	json_append(j, "}");
	if (j->overflow) {
		fprintf(stderr, "bench: JSON line too long, dropped\n");
		return;
	}
	printf("%s\n", j->buf);
	fflush(stdout);
}
