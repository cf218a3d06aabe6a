/* The TSC clock's slow path (dp_tsc.h): calibration and re-anchoring. */
#include "dp_tsc.h"

#include <string.h>

#if AEG_DP_HAVE_TSC
#include <cpuid.h>
#endif

#define CALIBRATE_NS 20000000ull /* first rate from 20 ms */
#define RESYNC_NS 1000000000ull  /* then a fresh anchor and rate each second */

void aeg_dp_tsc_init(struct aeg_dp_tsc *c)
{
	memset(c, 0, sizeof(*c));
#if AEG_DP_HAVE_TSC
	unsigned a, b, cx, d;
	c->usable = __get_cpuid(0x80000007u, &a, &b, &cx, &d) && (d & (1u << 8)) != 0;
	c->tsc0 = __rdtsc();
#endif
	c->ns0 = aeg_dp_now_ns();
	c->last_ns = c->ns0;
}

uint64_t aeg_dp_tsc_slow(struct aeg_dp_tsc *c)
{
	uint64_t ns = aeg_dp_now_ns();
#if AEG_DP_HAVE_TSC
	if (c->usable) {
		uint64_t t = __rdtsc();
		uint64_t dns = ns - c->ns0, dt = t - c->tsc0;
		if (dns >= CALIBRATE_NS && dt > 0 && ns >= c->ns0) {
			/* The rate over the last interval (20 ms, then ~1 s). */
			c->mult = (uint64_t)(((unsigned __int128)dns << 32) / dt);
			c->resync_ticks = c->mult == 0 ? 0 :
				(uint64_t)(((unsigned __int128)RESYNC_NS << 32) / c->mult);
			c->tsc0 = t;
			c->ns0 = ns;
		}
	}
#endif
	if (ns > c->last_ns)
		c->last_ns = ns;
	return c->last_ns;
}
