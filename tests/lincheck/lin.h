/* Linearizability of a register history, one key at a time (lin.c). */
#ifndef AEGIS_TEST_LIN_H
#define AEGIS_TEST_LIN_H

#include <stdbool.h>
#include <stdint.h>

/* Operations of one key a check takes at most (after leaving out gets
 * without an answer); more: the check gives up. */
#define LIN_OPS_MAX 512

struct lin_op {
	uint64_t key;
	uint64_t value;               /* put: written; get: observed (0: absent) */
	uint64_t invoke_t, return_t;  /* return_t UINT64_MAX: no answer (yet) */
	bool put;
};

/* The ops of `key` in all[0, n): 1 linearizable, 0 not, -1 gave up (more
 * than max_steps search steps, more than LIN_OPS_MAX ops, or no memory).
 * A put that provably never took effect must be left out by the caller. */
int lin_check(const struct lin_op *all, uint32_t n, uint64_t key, uint64_t max_steps,
	      uint64_t *steps);

#endif
