/* CRC32C: the SSE4.2 crc32 instruction where the CPU has it (about 8 bytes
 * per 3 cycles), else software slicing-by-8 over const tables (about 1-2
 * GB/s). Both give the same results; the unit tests compare them. */
#include "aegis/wal.h"
#include "crc32c_table.h"

#include <string.h>

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t aeg_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint32_t (*t)[256] = aeg_crc32c_table;

	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = load_le32(p) ^ crc;
		uint32_t hi = load_le32(p + 4);
		crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
		      t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = (uint32_t)~crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, sizeof(v)); /* little-endian, like the byte order of the CRC */
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len-- > 0)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}
#endif

uint32_t aeg_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	/* Reads the compiler runtime's CPU model (set up before main). */
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, buf, len);
#endif
	return aeg_crc32c_sw(crc, buf, len);
}
