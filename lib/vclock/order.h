/* Internal: the order of two causal histories from the two inclusions,
 * shared by vector clocks and DVVs so that both read the same way. */
#ifndef AEGIS_VCLOCK_ORDER_H
#define AEGIS_VCLOCK_ORDER_H

#include "aegis/vclock.h"

/* a_le_b: every event of a is in b; b_le_a: the reverse. */
static inline enum aeg_order aeg_order_of(bool a_le_b, bool b_le_a)
{
	if (a_le_b && b_le_a)
		return AEG_ORDER_EQUAL;
	if (a_le_b)
		return AEG_ORDER_BEFORE;
	if (b_le_a)
		return AEG_ORDER_AFTER;
	return AEG_ORDER_CONCURRENT;
}

#endif
