/* The Internet checksum (RFC 1071) over big-endian 16-bit words. */
#include "aegis/net.h"

/* The running sum stays below 2^32 because carries are folded back in
 * (end-around carry) before returning; a 64-bit accumulator inside
 * cannot overflow for any len a frame can have. An odd len pads its last
 * byte with a zero, so only the last piece of a chained sum may be odd. */
uint32_t aeg_net_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	size_t i = 0;
	for (; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		acc += (uint32_t)p[i] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t aeg_net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}
