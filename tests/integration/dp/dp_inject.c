/* dp_inject: writes damaged (and valid) Aegis frames onto a real link
 * through a raw AF_PACKET socket, for the dp_inject integration test.
 * Frames are built the way a node builds them (lib/wire builder with the
 * cluster key, lib/net Ethernet/IPv4/UDP headers), then one field is
 * broken per kind, so that each kind must be dropped for exactly one
 * reason:
 *
 *   valid          a good frame, one 16-byte message (the node accepts it)
 *   replay         a good frame sent twice (1 accepted, 1 "replayed")
 *   bad_tag        last tag byte flipped                  wire "bad_tag"
 *   wrong_cluster  signed with the key, cluster + 1       wire "wrong_cluster"
 *   unknown_node   signed, from a node not in the cluster wire "unknown_node"
 *   bad_version    version + 1, tag recomputed            wire "bad_version"
 *   truncated      last 5 payload bytes cut (IPv4/UDP lengths still right)
 *                                                         wire "truncated"
 *   oversized      64 bytes after the tag (UDP length covers them)
 *                                                         wire "bad_length"
 *   eth_truncated  Ethernet header + 10 bytes of IPv4      net "truncated"
 *   bad_ipv4_csum  IPv4 header checksum flipped           net "bad_ipv4_csum"
 *   bad_udp_len    UDP length 4 more than the IPv4 payload net "bad_udp_len"
 *   jumbo          a good frame of a 4000-byte UDP payload (a 4042-byte
 *                  Ethernet frame: only with a large MTU on the path)
 *
 * Usage: dp_inject --iface IF --dst-mac MAC --src-ip A --dst-ip B
 *          [--src-port P] [--dst-port P] [--key HEX32] [--cluster N]
 *          [--src-node ID] [--dst-node ID] [--echo-wait SEC] KIND[=COUNT]...
 * Prints "sent KIND COUNT" per kind. With --echo-wait it first binds a UDP
 * socket on src-ip:src-port (so echoes of the accepted frames do not draw
 * ICMP errors), and after sending waits up to SEC for echoes, verifies
 * them with lib/wire (node dst-node, same key) and prints "echoes N";
 * exit 1 if fewer than the accepted frames came back. Exit 2: usage or
 * socket errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aegis/net.h"
#include "aegis/msg.h"
#include "aegis/wire.h"

#define FRAME_MAX 9018      /* a 9000-byte MTU frame */
#define PAYLOAD_CAP 1472    /* 1500-byte MTU */
#define JUMBO_PAYLOAD 4000  /* "jumbo": needs MTU >= 4028 on the path */
#define BODY_BYTES 16
#define BODY_MAGIC "AEGINJ"

struct inj {
	int fd;
	int ifindex;
	struct aeg_net_udp_tuple tuple;
	struct aeg_wire_key key;
	struct aeg_wire_mac *mac;        /* frames src -> dst: key id 0 (the nodes' default) */
	struct aeg_wire_mac *echo_mac[AEG_WIRE_RX_KEYS]; /* frames dst -> src */
	uint32_t cluster, src_node, dst_node;
	uint64_t seq;
	uint32_t body_idx;
	uint32_t accepted; /* frames the node should accept and echo */
};

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "dp_inject: %s\n", what);
	exit(2);
}

static int parse_key(const char *hex, struct aeg_wire_key *k)
{
	if (strlen(hex) != 2 * AEG_WIRE_KEY_BYTES)
		return -EINVAL;
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		k->bytes[i] = (uint8_t)v;
	}
	return 0;
}

static uint32_t parse_u32(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		die(what);
	return (uint32_t)v;
}

/* A good frame: one message whose body is BODY_MAGIC and a counter (and
 * zeros up to a payload of `payload` bytes if that is larger), from
 * src_node (worker 0) in cluster, into frame. Returns the frame length. */
static uint32_t build_sized(struct inj *in, uint8_t *frame, uint32_t cluster, uint32_t src_node,
			    uint32_t payload)
{
	struct aeg_wire_hdr h = {
		.cluster = cluster, .src_node = src_node, .dst_node = in->dst_node,
		.src_worker = 0, .dst_worker = 0, .seq = in->seq++,
	};
	static uint8_t body[JUMBO_PAYLOAD];
	uint32_t idx = in->body_idx++;
	memset(body, 0, sizeof(body));
	memcpy(body, BODY_MAGIC, sizeof(BODY_MAGIC));
	memcpy(body + 8, &idx, sizeof(idx));
	size_t body_len = payload > PAYLOAD_CAP ? aeg_wire_msg_body_max(payload) : BODY_BYTES;
	struct aeg_wire_builder b;
	if (aeg_wire_builder_begin(&b, frame + AEG_NET_UDP_HDRS_LEN, payload, &h) != 0 ||
	    aeg_wire_builder_add(&b, AEG_MSG_TEST, 0, body, body_len) != 0)
		die("builder");
	/* A wrong cluster or an unknown node: signed with that pair's key. */
	struct aeg_wire_mac *other = NULL;
	if ((cluster != in->cluster || src_node != in->src_node) &&
	    aeg_wire_mac_new(&other, &in->key, 0, cluster, src_node, in->dst_node, 0) != 0)
		die("aeg_wire_mac_new");
	int len = aeg_wire_builder_seal(&b, other != NULL ? other : in->mac);
	aeg_wire_mac_free(other);
	if (len < 0 || aeg_net_udp_build(frame, &in->tuple, (uint32_t)len, 0) != 0)
		die("seal/udp build");
	return AEG_NET_UDP_HDRS_LEN + (uint32_t)len;
}

static uint32_t build(struct inj *in, uint8_t *frame, uint32_t cluster, uint32_t src_node)
{
	return build_sized(in, frame, cluster, src_node, PAYLOAD_CAP);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void send_frame(struct inj *in, const uint8_t *frame, uint32_t len)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET, .sll_ifindex = in->ifindex, .sll_halen = 6,
	};
	memcpy(to.sll_addr, in->tuple.dst_mac.b, 6);
	if (sendto(in->fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) {
		perror("dp_inject: sendto");
		exit(2);
	}
}

/* Builds one frame of the named kind into frame; returns its length, or 0
 * for an unknown kind. */
static uint32_t make(struct inj *in, const char *kind, uint8_t *frame)
{
	uint8_t *payload = frame + AEG_NET_UDP_HDRS_LEN;
	uint32_t len;
	if (strcmp(kind, "valid") == 0 || strcmp(kind, "replay") == 0)
		return build(in, frame, in->cluster, in->src_node);
	if (strcmp(kind, "wrong_cluster") == 0)
		return build(in, frame, in->cluster + 1, in->src_node);
	if (strcmp(kind, "unknown_node") == 0)
		return build(in, frame, in->cluster, 0xdead0001u);
	if (strcmp(kind, "jumbo") == 0)
		return build_sized(in, frame, in->cluster, in->src_node, JUMBO_PAYLOAD);
	len = build(in, frame, in->cluster, in->src_node);
	uint32_t plen = len - AEG_NET_UDP_HDRS_LEN;
	if (strcmp(kind, "bad_tag") == 0) {
		frame[len - 1] ^= 0x01;
	} else if (strcmp(kind, "bad_version") == 0) {
		payload[4] = AEG_WIRE_VERSION + 1;
		aeg_wire_mac_tag(in->mac, payload + AEG_WIRE_IV_OFFSET, payload,
				 plen - AEG_WIRE_TAG_BYTES, payload + plen - AEG_WIRE_TAG_BYTES);
	} else if (strcmp(kind, "truncated") == 0) {
		len -= 5;
		if (aeg_net_udp_build(frame, &in->tuple, plen - 5, 0) != 0)
			die("udp build");
	} else if (strcmp(kind, "oversized") == 0) {
		memset(frame + len, 0xa5, 64);
		len += 64;
		if (aeg_net_udp_build(frame, &in->tuple, plen + 64, 0) != 0)
			die("udp build");
	} else if (strcmp(kind, "eth_truncated") == 0) {
		len = AEG_NET_ETH_LEN + 10;
	} else if (strcmp(kind, "bad_ipv4_csum") == 0) {
		frame[AEG_NET_ETH_LEN + 10] ^= 0xff;
	} else if (strcmp(kind, "bad_udp_len") == 0) {
		put_be16(frame + AEG_NET_ETH_LEN + AEG_NET_IPV4_LEN + 4,
			 (uint16_t)(AEG_NET_UDP_LEN + plen + 4));
	} else {
		return 0;
	}
	return len;
}

static void inject(struct inj *in, const char *kind, uint32_t count)
{
	uint8_t frame[FRAME_MAX];
	for (uint32_t i = 0; i < count; i++) {
		uint32_t len = make(in, kind, frame);
		if (len == 0) {
			fprintf(stderr, "dp_inject: unknown kind %s\n", kind);
			exit(2);
		}
		send_frame(in, frame, len);
		if (strcmp(kind, "replay") == 0)
			send_frame(in, frame, len);
		if (strcmp(kind, "valid") == 0 || strcmp(kind, "replay") == 0)
			in->accepted++;
		/* Pace: the receiver's AF_PACKET ring must never overflow, or
		 * the counts would not be exact. */
		if (i % 16 == 15)
			usleep(2000);
	}
	printf("sent %s %u\n", kind, count);
	fflush(stdout);
}

static struct aeg_wire_replay echo_window;

static bool echo_peer(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out)
{
	const struct inj *in = arg;
	out->replay = &echo_window;
	out->keys = (const struct aeg_wire_mac *const *)in->echo_mac;
	return node == in->dst_node && worker == 0;
}

static int echo_socket(const struct inj *in)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(in->tuple.src_port),
		.sin_addr.s_addr = htonl(in->tuple.src_ip),
	};
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("dp_inject: echo socket");
		exit(2);
	}
	return fd;
}

/* Counts verified echoed messages until `want` arrived or secs passed. */
static uint32_t collect_echoes(const struct inj *in, int fd, uint32_t want, double secs)
{
	struct aeg_wire_rx rx = {
		.cluster = in->cluster, .self_node = in->src_node,
		.self_worker = 0, .peer_lookup = echo_peer, .peer_arg = (void *)in,
	};
	aeg_wire_replay_init(&echo_window, 0);
	uint8_t buf[FRAME_MAX];
	uint32_t got = 0;
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
	while (got < want) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct aeg_wire_frame f;
		if (n <= 0 || aeg_wire_parse(&rx, buf, (size_t)n, &f) != AEG_WIRE_OK)
			continue;
		struct aeg_wire_iter it;
		struct aeg_wire_msg m;
		aeg_wire_iter_init(&it, &f);
		while (aeg_wire_iter_next(&it, &m) == 1) {
			if (m.body_len == BODY_BYTES && memcmp(m.body, BODY_MAGIC, 6) == 0)
				got++;
		}
	}
	return got;
}

static void open_raw(struct inj *in, const char *iface)
{
	in->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: send only */
	if (in->fd < 0) {
		perror("dp_inject: AF_PACKET socket");
		exit(2);
	}
	in->ifindex = (int)if_nametoindex(iface);
	if (in->ifindex == 0)
		die("no such interface");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(in->fd, SIOCGIFHWADDR, &ifr) != 0)
		die("SIOCGIFHWADDR");
	memcpy(in->tuple.src_mac.b, ifr.ifr_hwaddr.sa_data, 6);
}

int main(int argc, char **argv)
{
	struct inj in = { .cluster = 1, .src_node = 3, .dst_node = 2 };
	const char *iface = NULL;
	double echo_wait = -1;
	in.tuple.src_port = 7400;
	in.tuple.dst_port = 7400;
	int i = 1;
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		int r = 0;
		if (strcmp(o, "--iface") == 0)
			iface = v;
		else if (strcmp(o, "--dst-mac") == 0)
			r = aeg_net_mac_parse(v, &in.tuple.dst_mac);
		else if (strcmp(o, "--src-ip") == 0)
			r = aeg_net_ipv4_parse(v, &in.tuple.src_ip);
		else if (strcmp(o, "--dst-ip") == 0)
			r = aeg_net_ipv4_parse(v, &in.tuple.dst_ip);
		else if (strcmp(o, "--src-port") == 0)
			in.tuple.src_port = (uint16_t)parse_u32(v, o);
		else if (strcmp(o, "--dst-port") == 0)
			in.tuple.dst_port = (uint16_t)parse_u32(v, o);
		else if (strcmp(o, "--key") == 0)
			r = parse_key(v, &in.key);
		else if (strcmp(o, "--cluster") == 0)
			in.cluster = parse_u32(v, o);
		else if (strcmp(o, "--src-node") == 0)
			in.src_node = parse_u32(v, o);
		else if (strcmp(o, "--dst-node") == 0)
			in.dst_node = parse_u32(v, o);
		else if (strcmp(o, "--echo-wait") == 0)
			echo_wait = atof(v);
		else
			die("unknown option (see the comment at the top of dp_inject.c)");
		if (r != 0)
			die(o);
	}
	if (iface == NULL || in.tuple.dst_ip == 0 || in.tuple.src_ip == 0 || i >= argc)
		die("usage: dp_inject --iface IF --dst-mac MAC --src-ip A --dst-ip B ... KIND[=N]...");
	if (aeg_wire_mac_new(&in.mac, &in.key, 0, in.cluster, in.src_node, in.dst_node, 0) != 0 ||
	    aeg_wire_mac_new(&in.echo_mac[0], &in.key, 0, in.cluster, in.dst_node, in.src_node, 0) != 0)
		die("aeg_wire_mac_new");
	open_raw(&in, iface);
	int echo_fd = echo_wait >= 0 ? echo_socket(&in) : -1;
	/* Above the receiver's replay floor (its start time) and never reused. */
	in.seq = now_ns(CLOCK_REALTIME);
	for (; i < argc; i++) {
		char kind[64];
		uint32_t count = 1;
		const char *eq = strchr(argv[i], '=');
		size_t klen = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (klen >= sizeof(kind))
			die("kind too long");
		memcpy(kind, argv[i], klen);
		kind[klen] = '\0';
		if (eq != NULL)
			count = parse_u32(eq + 1, "count");
		inject(&in, kind, count);
	}
	close(in.fd);
	if (echo_fd < 0)
		return 0;
	uint32_t got = collect_echoes(&in, echo_fd, in.accepted, echo_wait);
	close(echo_fd);
	printf("echoes %u of %u\n", got, in.accepted);
	return got >= in.accepted ? 0 : 1;
}
