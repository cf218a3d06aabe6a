/* Internal: zero test shared by the record decoder and the scanner. */
#ifndef AEGIS_WAL_ZERO_H
#define AEGIS_WAL_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool wal_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

#endif
