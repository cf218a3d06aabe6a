/* Helpers shared by the benchmarks: monotonic clock, machine setup line,
 * and one-line JSON results. Benchmarks may read clocks; lib/ never does. */
#ifndef AEGIS_BENCH_COMMON_H
#define AEGIS_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC; bench_clock_ns reads any clock (0 if it fails). */
uint64_t bench_now_ns(void);
uint64_t bench_clock_ns(clockid_t id);

/* Prints "# <name>: cpu=..., cores online=N, cores usable=M" and extra. */
void bench_print_setup(const char *bench_name, const char *extra);
int bench_cores_usable(void);
const char *bench_cpu_model(void);

/* One JSON object per line on stdout. Keys and string values must not need
 * escaping beyond quotes and backslashes (they are escaped). */
struct bench_json {
	char buf[2048];
	size_t len;
	int overflow;
};
void bench_json_begin(struct bench_json *j, const char *bench_name);
void bench_json_str(struct bench_json *j, const char *key, const char *value);
void bench_json_u64(struct bench_json *j, const char *key, uint64_t value);
void bench_json_f64(struct bench_json *j, const char *key, double value);
void bench_json_end(struct bench_json *j);

/* Keeps the optimizer from deleting a computed value. */
static inline void bench_consume_u64(uint64_t v)
{
	__asm__ volatile("" : : "r"(v) : "memory");
}

#endif
