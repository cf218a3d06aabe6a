/* Lamport clocks: one counter, ticked on local and send events, pushed past
 * the remote time on receive, so that a receive is always later than its
 * send. */
#include "aegis/vclock.h"

#include <assert.h>
#include <errno.h>

void aeg_lamport_init(struct aeg_lamport *lc)
{
	assert(lc != NULL);
	lc->time = 0;
}

int aeg_lamport_tick(struct aeg_lamport *lc, uint64_t *time_out)
{
	return aeg_lamport_observe(lc, 0, time_out);
}

int aeg_lamport_observe(struct aeg_lamport *lc, uint64_t remote, uint64_t *time_out)
{
	uint64_t t = lc->time > remote ? lc->time : remote;

	if (t == UINT64_MAX)
		return -EOVERFLOW;
	lc->time = t + 1;
	if (time_out != NULL)
		*time_out = lc->time;
	return 0;
}
