/* The simulator's history of one key, handed to the shared checker
 * (tests/lincheck/lin.c): failed puts, stale reads and unanswered gets
 * are left out; an unanswered put returns at +infinity. */
#include "sim.h"

#include <assert.h>

#include "lin.h"

int lin_check_key(const struct sim_op *all, uint32_t n_all, uint32_t key, uint64_t max_steps,
		  uint64_t *steps)
{
	static_assert(LIN_OPS_MAX >= 256, "the simulator's keys take up to 256 ops");
	struct lin_op ops[LIN_OPS_MAX];
	uint32_t n = 0;
	for (uint32_t i = 0; i < n_all; i++) {
		const struct sim_op *op = &all[i];
		if (op->key != key || op->failed || op->kind == OP_GET_STALE ||
		    (op->kind == OP_GET && !op->ok))
			continue;
		if (n == LIN_OPS_MAX)
			return -1;
		ops[n++] = (struct lin_op){ .key = key, .value = op->value, .invoke_t = op->invoke_t,
			.return_t = op->ok ? op->return_t : UINT64_MAX, .put = op->kind == OP_PUT };
	}
	return lin_check(ops, n, key, max_steps, steps);
}
