/* The worker loop's clock: CLOCK_MONOTONIC read through the TSC. One
 * clock_gettime per loop iteration cost 20-60 ns on a VM (a vDSO call that
 * may fall back to a syscall); rdtsc is ~10 ns. Each clock calibrates
 * itself against CLOCK_MONOTONIC over its first 20 ms (reading
 * CLOCK_MONOTONIC meanwhile), then re-anchors once a second with a fresh
 * rate, so it never drifts more than the rate error over a second. It
 * never goes back. Without an invariant TSC (CPUID 0x80000007 EDX bit 8) or
 * off x86 it is CLOCK_MONOTONIC. One per thread: not shared. */
#ifndef AEGIS_DATAPLANE_DP_TSC_H
#define AEGIS_DATAPLANE_DP_TSC_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define AEG_DP_HAVE_TSC 1
#else
#define AEG_DP_HAVE_TSC 0
#endif

struct aeg_dp_tsc {
	bool usable;          /* invariant TSC found */
	uint64_t mult;        /* ns per tick << 32; 0 while calibrating */
	uint64_t tsc0, ns0;   /* anchor */
	uint64_t resync_ticks; /* re-anchor when this far past tsc0 */
	uint64_t last_ns;     /* the clock never goes back */
};

void aeg_dp_tsc_init(struct aeg_dp_tsc *c);
/* Calibration, re-anchoring, or no TSC: reads CLOCK_MONOTONIC. */
uint64_t aeg_dp_tsc_slow(struct aeg_dp_tsc *c);

static inline uint64_t aeg_dp_tsc_now_ns(struct aeg_dp_tsc *c)
{
#if AEG_DP_HAVE_TSC
	if (c->mult != 0) {
		uint64_t d = __rdtsc() - c->tsc0;
		if (d < c->resync_ticks) {
			uint64_t ns = c->ns0 + (uint64_t)(((unsigned __int128)d * c->mult) >> 32);
			if (ns > c->last_ns)
				c->last_ns = ns;
			return c->last_ns;
		}
	}
#endif
	return aeg_dp_tsc_slow(c);
}

#endif
