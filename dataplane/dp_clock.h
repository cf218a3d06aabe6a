/* Clock reads of the dataplane: lib/ takes time as an argument, these are
 * the callers that read it (CLOCK_MONOTONIC for timers, CLOCK_REALTIME
 * for wire sequence numbers). vDSO calls, no syscall. */
#ifndef AEGIS_DATAPLANE_DP_CLOCK_H
#define AEGIS_DATAPLANE_DP_CLOCK_H

#include <assert.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t aeg_dp_clock_ns(clockid_t id)
{
	struct timespec ts;
	int r = clock_gettime(id, &ts);
	assert(r == 0);
	(void)r;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t aeg_dp_now_ns(void)
{
	return aeg_dp_clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t aeg_dp_wall_ns(void)
{
	return aeg_dp_clock_ns(CLOCK_REALTIME);
}

#endif
