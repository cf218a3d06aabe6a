/* Text forms of MAC and IPv4 addresses, and the names of drop reasons. */
#include <errno.h>
#include <stdio.h>

#include "aegis/net.h"

const struct aeg_net_mac aeg_net_mac_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly six pairs of hex digits separated by ':'. */
int aeg_net_mac_parse(const char *s, struct aeg_net_mac *out)
{
	struct aeg_net_mac m;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]);
		int lo = hi < 0 ? -1 : hex_digit(s[3 * i + 1]);
		char sep = lo < 0 ? 'x' : s[3 * i + 2];
		if (lo < 0 || sep != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = m;
	return 0;
}

void aeg_net_mac_format(const struct aeg_net_mac *m, char out[18])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 6; i++) {
		out[3 * i] = hex[m->b[i] >> 4];
		out[3 * i + 1] = hex[m->b[i] & 0xf];
		out[3 * i + 2] = i == 5 ? '\0' : ':';
	}
}

/* Strict dotted quad: four decimal parts 0..255, no sign, no spaces and
 * no leading zeros (inet_aton would read "010" as octal 8). */
int aeg_net_ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t addr = 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s - '0');
			digits++;
			s++;
		}
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[-(int)digits] == '0'))
			return -EINVAL;
		if (*s != (part == 3 ? '\0' : '.'))
			return -EINVAL;
		s++;
		addr = addr << 8 | v;
	}
	*out = addr;
	return 0;
}

void aeg_net_ipv4_format(uint32_t ipv4, char out[16])
{
	int n = snprintf(out, 16, "%u.%u.%u.%u", ipv4 >> 24, (ipv4 >> 16) & 0xffu,
			 (ipv4 >> 8) & 0xffu, ipv4 & 0xffu);
	(void)n; /* at most 15 characters: cannot be cut */
}

static const char *const drop_names[AEG_NET_DROP_NR] = {
	[AEG_NET_OK] = "ok",
	[AEG_NET_DROP_TRUNCATED] = "truncated",
	[AEG_NET_DROP_BAD_IPV4] = "bad_ipv4",
	[AEG_NET_DROP_BAD_IPV4_CSUM] = "bad_ipv4_csum",
	[AEG_NET_DROP_BAD_IPV4_LEN] = "bad_ipv4_len",
	[AEG_NET_DROP_FRAGMENT] = "fragment",
	[AEG_NET_DROP_BAD_UDP_LEN] = "bad_udp_len",
	[AEG_NET_DROP_BAD_UDP_CSUM] = "bad_udp_csum",
	[AEG_NET_DROP_BAD_ARP] = "bad_arp",
};

const char *aeg_net_drop_name(enum aeg_net_drop d)
{
	if ((unsigned)d >= AEG_NET_DROP_NR)
		return "unknown";
	return drop_names[d];
}
