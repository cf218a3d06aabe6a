/* client_inject: bad client input on the wire, for a running aegisd cluster
 * (test_aegis_bench.sh runs it in the middle of a load).
 *
 *   client_inject --key-file FILE IP:PORT...
 *
 * To every node given it sends, once each:
 *   garbage      200 random bytes                                  -> drop
 *   truncated    a valid GET datagram cut in half                  -> drop
 *   bad tag      a valid GET datagram with its tag's last byte flipped -> drop
 *   oversized    a valid datagram with 3000 bytes appended         -> drop
 *   unknown shard a valid GET of shard 65000                       -> STALE_EPOCH
 *   oversized key a valid PUT with a 1100-byte key (limit 1024)    -> TOO_LARGE
 *                (from the shard's leader; NOT_LEADER elsewhere)
 *   replayed     the same valid PUT datagram twice                 -> answered
 *                twice, applied once (duplicate)
 * then reads the answers for up to 3 s. Prints one line per kind and
 * "drops_expected N" (the datagrams the nodes must count as drops). Exit 0
 * when every answer expected came (unknown shard from every node, TOO_LARGE
 * from one, two OK answers to the replayed write), 1 otherwise, 2 usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aegis/client_proto.h"
#include "aegis/shard.h"

#define NODES_MAX 8
#define DGRAM 1472

enum { SEQ_MAP = 1, SEQ_UNKNOWN = 2, SEQ_BIGKEY = 3, SEQ_REPLAY = 4, SEQ_GET = 5 };

static struct aeg_wire_key key;
static uint64_t client_id;
static int fd = -1;

static int load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	char hex[64] = "";
	int ok = fscanf(f, "%32s", hex) == 1 && strlen(hex) == 32;
	fclose(f);
	for (int i = 0; ok && i < 16; i++) {
		unsigned v;
		ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
		key.bytes[i] = (uint8_t)v;
	}
	return ok ? 0 : -EINVAL;
}

static int build(uint8_t *buf, const struct aeg_client_req *r)
{
	struct aeg_client_builder b;
	if (aeg_client_builder_begin(&b, buf, DGRAM, AEG_CLIENT_KIND_REQUEST, client_id, 0) != 0 ||
	    aeg_client_add_request(&b, r) != 0)
		return -1;
	return aeg_client_builder_seal(&b, &key);
}

static void send_to(const struct sockaddr_in *to, const uint8_t *buf, size_t len)
{
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) != (ssize_t)len)
		fprintf(stderr, "client_inject: sendto: %s\n", strerror(errno));
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Answers seen, by seq and status. */
static uint32_t seen[8][256];
static struct aeg_shard_map *map;

static void receive(uint64_t until_ms, bool (*done)(uint32_t), uint32_t n_nodes)
{
	static uint8_t pkt[65536];
	while (now_ms() < until_ms && !done(n_nodes)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t len = recv(fd, pkt, sizeof(pkt), 0);
		if (len <= 0)
			continue;
		struct aeg_client_rx rx = { .key = &key, .kind = AEG_CLIENT_KIND_RESPONSE };
		struct aeg_client_dgram d;
		if (aeg_client_parse(&rx, pkt, (size_t)len, &d) != AEG_CLIENT_DROP_OK)
			continue;
		struct aeg_client_iter it;
		aeg_client_iter_init(&it, &d);
		struct aeg_client_resp r;
		for (uint32_t guard = 0; guard < AEG_CLIENT_ITEMS_MAX && aeg_client_next_response(&it, &r) == 1; guard++) {
			if (r.seq >= 8)
				continue;
			seen[r.seq][r.status]++;
			if (r.seq == SEQ_MAP && r.status == AEG_CLIENT_OK && map == NULL &&
			    aeg_shard_map_decode(&map, r.value, r.value_len) != 0)
				map = NULL;
		}
	}
}

static bool have_map(uint32_t n)
{
	(void)n;
	return map != NULL;
}

static uint32_t answers(uint64_t seq)
{
	uint32_t n = 0;
	for (int s = 0; s < 256; s++)
		n += seen[seq][s];
	return n;
}

static bool all_answered(uint32_t n)
{
	return answers(SEQ_UNKNOWN) >= n && seen[SEQ_BIGKEY][AEG_CLIENT_TOO_LARGE] >= 1 &&
	       answers(SEQ_BIGKEY) >= n && seen[SEQ_REPLAY][AEG_CLIENT_OK] >= 2 && answers(SEQ_REPLAY) >= 2 * n;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[1], "--key-file") != 0) {
		fprintf(stderr, "usage: client_inject --key-file FILE IP:PORT...\n");
		return 2;
	}
	if (load_key(argv[2]) != 0) {
		fprintf(stderr, "client_inject: %s: not a 32-hex-digit key\n", argv[2]);
		return 2;
	}
	struct sockaddr_in nodes[NODES_MAX];
	uint32_t n = 0;
	for (int i = 3; i < argc && n < NODES_MAX; i++, n++) {
		char host[64];
		unsigned port;
		if (sscanf(argv[i], "%63[^:]:%u", host, &port) != 2 || port > 65535 ||
		    inet_pton(AF_INET, host, &nodes[n].sin_addr) != 1) {
			fprintf(stderr, "client_inject: %s: not IP:PORT\n", argv[i]);
			return 2;
		}
		nodes[n].sin_family = AF_INET;
		nodes[n].sin_port = htons((uint16_t)port);
	}
	if (getrandom(&client_id, sizeof(client_id), 0) != sizeof(client_id))
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET };
	if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof(any)) != 0) {
		perror("client_inject: socket");
		return 1;
	}

	/* The map first: the epoch and where the keys go. */
	uint8_t buf[DGRAM + 4096];
	int len = build(buf, &(struct aeg_client_req){ .seq = SEQ_MAP, .op = AEG_CLIENT_MAP });
	for (uint32_t i = 0; i < n && len > 0; i++)
		send_to(&nodes[i], buf, (size_t)len);
	receive(now_ms() + 3000, have_map, n);
	if (map == NULL) {
		fprintf(stderr, "client_inject: no shard map from any node\n");
		return 1;
	}
	uint64_t epoch = aeg_shard_map_epoch(map);
	uint32_t drops = 0;

	struct aeg_client_req get = { .seq = SEQ_GET, .op = AEG_CLIENT_GET, .key = (const uint8_t *)"inject-get",
				      .key_len = 10, .epoch = epoch };
	get.shard = aeg_shard_for_key(map, get.key, get.key_len);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t junk[200];
		if (getrandom(junk, sizeof(junk), 0) != sizeof(junk))
			return 1;
		send_to(&nodes[i], junk, sizeof(junk));  /* garbage */
		len = build(buf, &get);
		send_to(&nodes[i], buf, (size_t)len / 2); /* truncated */
		buf[len - 1] ^= 0x5a;
		send_to(&nodes[i], buf, (size_t)len);     /* bad tag */
		len = build(buf, &get);
		memset(buf + len, 0, 3000);
		send_to(&nodes[i], buf, (size_t)len + 3000); /* oversized */
		drops += 4;
	}
	printf("garbage %u\ntruncated %u\nbad_tag %u\noversized %u\n", n, n, n, n);

	struct aeg_client_req unknown = get;
	unknown.seq = SEQ_UNKNOWN;
	unknown.shard = 65000;
	static uint8_t big[1100];
	memset(big, 'b', sizeof(big));
	struct aeg_client_req bigkey = { .seq = SEQ_BIGKEY, .op = AEG_CLIENT_PUT, .key = big, .key_len = sizeof(big),
					 .value = (const uint8_t *)"v", .value_len = 1, .epoch = epoch };
	bigkey.shard = aeg_shard_for_key(map, big, sizeof(big));
	struct aeg_client_req replay = { .seq = SEQ_REPLAY, .op = AEG_CLIENT_PUT, .key = (const uint8_t *)"inject-replay",
					 .key_len = 13, .value = (const uint8_t *)"once", .value_len = 4, .epoch = epoch };
	replay.shard = aeg_shard_for_key(map, replay.key, replay.key_len);
	uint8_t rbuf[DGRAM];
	int rlen = build(rbuf, &replay);
	for (uint32_t i = 0; i < n; i++) {
		len = build(buf, &unknown);
		send_to(&nodes[i], buf, (size_t)len);
		len = build(buf, &bigkey);
		send_to(&nodes[i], buf, (size_t)len);
		send_to(&nodes[i], rbuf, (size_t)rlen);
		send_to(&nodes[i], rbuf, (size_t)rlen);
	}
	receive(now_ms() + 3000, all_answered, n);
	printf("unknown_shard answers %u (stale_epoch %u)\n", answers(SEQ_UNKNOWN),
	       seen[SEQ_UNKNOWN][AEG_CLIENT_STALE_EPOCH]);
	printf("oversized_key answers %u (too_large %u)\n", answers(SEQ_BIGKEY), seen[SEQ_BIGKEY][AEG_CLIENT_TOO_LARGE]);
	printf("replayed answers %u (ok %u)\n", answers(SEQ_REPLAY), seen[SEQ_REPLAY][AEG_CLIENT_OK]);
	printf("drops_expected %u\n", drops);
	bool ok = all_answered(n) && seen[SEQ_UNKNOWN][AEG_CLIENT_STALE_EPOCH] == n;
	aeg_shard_map_free(map);
	close(fd);
	return ok ? 0 : 1;
}
