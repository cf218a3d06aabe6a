/* An Aegis node inside a program (aegis/node.h), as an embedder writes it:
 * built from the installed headers and `pkg-config libaegis_node` only.
 *
 *   embed_node DATA_DIR PORT
 *
 * 1. starts a 1-node cluster (replication_factor 1, 2 workers) in this
 *    process, writes keys through the client and reads them back, checks
 *    that every request took the in-process path (no datagram on the
 *    socket), stops cleanly;
 * 2. starts again on the same data dir: every key is there;
 * 3. two nodes in this process (ids 1 and 2, replication_factor 1): the
 *    client of node 1 reaches node 1's shards in-process and node 2's
 *    over UDP, and both kinds of request succeed.
 * Exits 0 when everything held, 1 with a message otherwise. */
#include <aegis/client.h>
#include <aegis/node.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEYS 200

/* Patient: an fdatasync on a busy shared disk can take a second or more. */
/* Patient: a shared CI disk can take seconds per fdatasync. */
static const struct aeg_client_cfg client_cfg = { .timeout_ms = 1000, .retries = 30 };

static int fail(const char *what, int rc)
{
	fprintf(stderr, "embed_node: FAIL: %s (%d)\n", what, rc);
	return 1;
}

/* The cluster key and the client key: files of 32 hex digits, mode 0600,
 * different from each other (a real program makes them once, at random). */
static char key_dir[4096];

static int write_key(const char *name, const char *hex)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", key_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, hex, strlen(hex));
	int rc = w == (ssize_t)strlen(hex) ? 0 : -EIO;
	return close(fd) == 0 ? rc : -errno;
}

static int start(struct aeg_node **n, const char *dir, unsigned id, unsigned port, unsigned peer_port)
{
	char s_id[64], s_addr[96], s_dir[4200], s_peers[96], s_rf[64], s_ck[4300], s_lk[4300];
	snprintf(s_ck, sizeof(s_ck), "node.cluster_key_file=%s/cluster.key", key_dir);
	snprintf(s_lk, sizeof(s_lk), "node.client_key_file=%s/client.key", key_dir);
	snprintf(s_id, sizeof(s_id), "node.id=%u", id);
	snprintf(s_addr, sizeof(s_addr), "node.address=127.0.0.1:%u", port);
	snprintf(s_dir, sizeof(s_dir), "node.data_dir=%s/n%u", dir, id);
	snprintf(s_peers, sizeof(s_peers), "node.peers=[\"%u=127.0.0.1:%u\"]", id == 1 ? 2 : 1, peer_port);
	snprintf(s_rf, sizeof(s_rf), "replication.replication_factor=1");
	const char *sets[] = { s_id, s_addr, s_dir, s_rf, "sharding.shard_count=8", "node.workers=2", s_ck, s_lk,
			       s_peers };
	struct aeg_node_opts o = { .sets = sets, .set_count = peer_port != 0 ? 9 : 8, .name = "embed_node",
				   .no_admin = true };
	char err[512];
	int rc = aeg_node_start(n, &o, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "embed_node: start node %u: %s\n", id, err);
	return rc;
}

static void key_of(char *k, size_t cap, int i)
{
	snprintf(k, cap, "embed-key-%04d", i);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int put_all(struct aeg_client *c)
{
	uint64_t worst = 0;
	for (int i = 0; i < KEYS; i++) {
		uint64_t t0 = now_ms();
		char k[32], v[32];
		key_of(k, sizeof(k), i);
		snprintf(v, sizeof(v), "value-%d", i * 7);
		int rc = aeg_client_put(c, k, (uint32_t)strlen(k), v, (uint32_t)strlen(v), AEG_CLIENT_QUORUM, NULL);
		if (rc != AEG_CLIENT_OK)
			return fail("put", rc);
		worst = now_ms() - t0 > worst ? now_ms() - t0 : worst;
	}
	printf("embed_node: %d puts, the slowest took %llu ms\n", KEYS, (unsigned long long)worst);
	return 0;
}

static int get_all(struct aeg_client *c)
{
	for (int i = 0; i < KEYS; i++) {
		char k[32], v[32], want[32];
		key_of(k, sizeof(k), i);
		snprintf(want, sizeof(want), "value-%d", i * 7);
		uint32_t len = sizeof(v);
		int rc = aeg_client_get(c, k, (uint32_t)strlen(k), v, &len, AEG_CLIENT_QUORUM, NULL);
		if (rc != AEG_CLIENT_OK)
			return fail("get", rc);
		if (len != strlen(want) || memcmp(v, want, len) != 0) {
			fprintf(stderr, "embed_node: FAIL: %s = %.*s, want %s\n", k, (int)len, v, want);
			return 1;
		}
	}
	return 0;
}

static void print_stats(const char *phase, struct aeg_client *c, struct aeg_client_stats *st)
{
	aeg_client_get_stats(c, st);
	printf("embed_node: %s: ops %llu, local ops %llu, local datagrams %llu/%llu, udp datagrams %llu/%llu\n",
	       phase, (unsigned long long)st->ops_completed, (unsigned long long)st->local_ops,
	       (unsigned long long)st->local_dgrams_sent, (unsigned long long)st->local_dgrams_received,
	       (unsigned long long)st->dgrams_sent, (unsigned long long)st->dgrams_received);
}

/* Phase 1 and 2: one node, everything in-process. */
static int one_node(const char *dir, unsigned port, bool write)
{
	struct aeg_node *n;
	struct aeg_client *c;
	if (start(&n, dir, 1, port, 0) != 0)
		return 1;
	int rc = aeg_node_client(n, &client_cfg, &c);
	if (rc != 0) {
		aeg_node_stop(n);
		return fail("aeg_node_client", rc);
	}
	int bad = write ? put_all(c) : 0;
	bad = bad ? bad : get_all(c);
	uint64_t ver = 0;
	if (!bad && write) {
		/* The other operations through the same path. */
		if ((rc = aeg_client_put(c, "cas-key", 7, "a", 1, AEG_CLIENT_DEFAULT, &ver)) != AEG_CLIENT_OK ||
		    (rc = aeg_client_cas(c, "cas-key", 7, "b", 1, ver, AEG_CLIENT_DEFAULT, NULL)) != AEG_CLIENT_OK ||
		    (rc = aeg_client_cas(c, "cas-key", 7, "c", 1, ver, AEG_CLIENT_DEFAULT, NULL)) !=
			    AEG_CLIENT_VERSION_MISMATCH ||
		    (rc = aeg_client_del(c, "cas-key", 7, AEG_CLIENT_DEFAULT)) != AEG_CLIENT_OK)
			bad = fail("put/cas/del", rc);
	}
	struct aeg_client_stats st;
	print_stats(write ? "one node" : "one node, restarted", c, &st);
	if (!bad && (st.local_ops < KEYS || st.local_ops != st.ops_completed || st.dgrams_sent != 0))
		bad = fail("requests to this node's own shards left through the socket", (int)st.dgrams_sent);
	char *json = NULL;
	if (!bad && ((rc = aeg_node_status_json(n, &json, NULL)) != 0 || strstr(json, "\"node\":1,") == NULL))
		bad = fail("status json", rc);
	free(json);
	aeg_client_close(c);
	aeg_node_stop(n);
	return bad;
}

/* Phase 3: two nodes, each leading half of the shards. */
static int two_nodes(const char *top, unsigned port)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/two", top);
	struct aeg_node *n1 = NULL, *n2 = NULL;
	struct aeg_client *c = NULL;
	int rc = start(&n1, dir, 1, port + 100, port + 200);
	if (rc == 0)
		rc = start(&n2, dir, 2, port + 200, port + 100);
	if (rc == 0 && (rc = aeg_node_client(n1, &client_cfg, &c)) != 0)
		fail("aeg_node_client", rc);
	int bad = rc != 0;
	bad = bad ? bad : put_all(c);
	bad = bad ? bad : get_all(c);
	if (c != NULL) {
		struct aeg_client_stats st;
		print_stats("two nodes", c, &st);
		/* jump hash over 2 nodes: each gets some of 8 shards (fixed by the map) */
		if (!bad && (st.local_ops == 0 || st.local_ops == st.ops_completed || st.dgrams_sent == 0))
			bad = fail("expected both in-process and UDP requests", (int)st.local_ops);
		aeg_client_close(c);
	}
	aeg_node_stop(n2);
	aeg_node_stop(n1);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: embed_node DATA_DIR PORT\n");
		return 2;
	}
	unsigned port = (unsigned)strtoul(argv[2], NULL, 10);
	char two[4096];
	snprintf(two, sizeof(two), "%s/two", argv[1]);
	if (mkdir(two, 0700) != 0 && errno != EEXIST)
		return fail("mkdir", -errno);
	snprintf(key_dir, sizeof(key_dir), "%s", argv[1]);
	int rc = write_key("cluster.key", "00112233445566778899aabbccddeeff");
	if (rc == 0)
		rc = write_key("client.key", "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	if (rc != 0)
		return fail("key files", rc);
	if (one_node(argv[1], port, true) != 0 || one_node(argv[1], port, false) != 0)
		return 1;
	if (two_nodes(argv[1], port) != 0)
		return 1;
	printf("embed_node: OK\n");
	return 0;
}
