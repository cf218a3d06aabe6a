/* The one seeded PRNG of the unit tests: splitmix64 (Vigna), a bounded
 * uniform draw, the seed taken from the environment, and the line that
 * tells how to replay a failure.
 *
 * Seeds: every test has a fixed default seed, so a plain run is
 * deterministic. AEGIS_TEST_SEED=<n> (decimal, or 0x... hex) in the
 * environment replaces it; the seed is printed as
 *   seed=N (replay: AEGIS_TEST_SEED=N <test>)
 * where <test> is the test executable, which has the meson test's name:
 *   AEGIS_TEST_SEED=N meson test -C build <test>
 * Tests that draw from several seeds (seed, seed + 1, ...) print the one
 * that failed; replaying it runs that one only where the harness says so.
 *
 * Names: prng_* draw numbers, test_seed* pick and print seeds, CHECK
 * fails a cmocka test and prints the seed (include cmocka first).
 * Header-only (static inline) so that any test can include it without a
 * library. */
#ifndef AEGIS_TEST_PRNG_H
#define AEGIS_TEST_PRNG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define AEGIS_TEST_SEED_ENV "AEGIS_TEST_SEED"
/* The default of tests without one of their own. */
#define AEGIS_TEST_SEED_DEFAULT 0x5eed0000aeb15ull

struct prng {
	uint64_t state;
	uint64_t seed; /* what init was given: printed on failure */
};

/* One splitmix64 step over a bare state word. */
static inline uint64_t prng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void prng_init_seed(struct prng *p, uint64_t seed)
{
	p->state = seed;
	p->seed = seed;
}

static inline uint64_t prng_next(struct prng *p)
{
	return prng_splitmix64(&p->state);
}

/* Uniform in [0, n), n > 0: draws below the largest multiple of n are
 * kept (at most one redraw in two, for any n). */
static inline uint64_t prng_below(struct prng *p, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = prng_next(p);
	while (x >= limit);
	return x % n;
}

/* True with the seed in *seed if AEGIS_TEST_SEED is set. A value that is
 * not a number stops the test: a typo must not silently run the default. */
static inline bool test_seed_from_env(uint64_t *seed)
{
	const char *env = getenv(AEGIS_TEST_SEED_ENV);
	if (env == NULL || env[0] == '\0')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(env, &end, 0);
	if (errno != 0 || *end != '\0') {
		fprintf(stderr, "%s=%s is not a number\n", AEGIS_TEST_SEED_ENV, env);
		exit(2);
	}
	*seed = v;
	return true;
}

/* AEGIS_TEST_SEED if set, else default_seed. */
static inline uint64_t test_seed(uint64_t default_seed)
{
	uint64_t seed = default_seed;
	(void)test_seed_from_env(&seed);
	return seed;
}

/* The usual start: AEGIS_TEST_SEED if set, else the test's default. */
static inline void prng_init(struct prng *p, uint64_t default_seed)
{
	prng_init_seed(p, test_seed(default_seed));
}

/* The executable's name (glibc sets it from argv[0] before main). */
extern char *program_invocation_short_name;

/* Prints "[what: ]seed=N (replay: AEGIS_TEST_SEED=N <test>)" to stderr. */
static inline void test_seed_print(const char *what, uint64_t seed)
{
	fprintf(stderr, "%s%sseed=%llu (replay: %s=%llu %s)\n", what != NULL ? what : "",
		what != NULL ? ": " : "", (unsigned long long)seed, AEGIS_TEST_SEED_ENV,
		(unsigned long long)seed, program_invocation_short_name);
}

/* Where a check failed, and the seed that replays it. */
static inline void test_check_failed(const char *what, const char *file, int line,
				     const char *cond, uint64_t seed)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, cond);
	test_seed_print(what, seed);
}

/* Fails the cmocka test unless cond holds, printing the seed. */
#define CHECK_SEED(what, seed, cond)                                                  \
	do {                                                                          \
		if (!(cond)) {                                                        \
			test_check_failed((what), __FILE__, __LINE__, #cond, (seed)); \
			fail();                                                       \
		}                                                                     \
	} while (0)

/* The same with the seed of a struct prng. */
#define CHECK(p, cond) CHECK_SEED(NULL, (p)->seed, cond)

#endif
