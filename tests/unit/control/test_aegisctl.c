/* tools/aegisctl against a fake node: the real admin server (control/admin)
 * with a handler that returns canned replies. Checks the request it sends,
 * the printed tables (golden), --json, the exit codes (0 ok, 1 node error
 * or unreadable reply, 2 usage, 3 no connection or no answer) and how the
 * socket path is found (--socket, --data-dir, --config). The program's
 * path comes in AEGISCTL (set by meson). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"

static char dir[64], sock[96];
static const char *canned; /* the reply the fake node sends */
static char last_request[256];
static char add_request[256];   /* the last node_add request */

static const char status_reply[] =
	"{\"ok\":true,\"node\":1,\"uptime_s\":12.3,\"transport\":\"udp\",\"epoch\":1,"
	"\"workers\":[{\"worker\":0,\"groups\":6,\"wal\":{\"syncs\":120,\"bytes\":65536,\"records\":300},"
	"\"dp\":{\"rx_pkts\":1000,\"tx_pkts\":990,\"drops\":2}},"
	"{\"worker\":1,\"groups\":5,\"wal\":{\"syncs\":7,\"bytes\":4096,\"records\":9},"
	"\"dp\":{\"rx_pkts\":10,\"tx_pkts\":11,\"drops\":0}}],"
	"\"members\":[{\"id\":2,\"address\":\"10.0.0.2:7100\",\"reachable\":true,\"state\":\"healthy\","
	"\"voter\":true,\"state_for_ms\":5000,\"zone\":\"r1\",\"weight\":100},"
	"{\"id\":3,\"address\":\"10.0.0.3:7100\",\"reachable\":false}],\"cluster_state\":\"degraded\","
	"\"rebalance\":{\"planned_moves\":1,\"more\":false,\"plan\":\"ok\",\"carried_out\":true,"
	"\"leading\":true,\"paused\":false,\"asked\":3,\"finished\":2,\"timed_out\":0,"
	"\"in_flight\":[{\"shard\":4,\"from\":3,\"to\":2,\"ms\":1500}],"
	"\"first\":[{\"shard\":4,\"from\":3,\"to\":2}]},"
	"\"meta\":{\"voters\":[1,2,3],\"here\":true,\"proposed\":0,\"dropped\":0,\"role\":\"follower\","
	"\"leader\":2,\"term\":4,\"epoch\":17,\"shards_migrating\":1,\"shard_state_changes\":4,\"nodes\":[{\"id\":1,\"state\":\"healthy\",\"index\":2},"
	"{\"id\":3,\"state\":\"down\",\"index\":17}]},"
	"\"shards\":[{\"shard\":0,\"group\":1,\"worker\":0,\"role\":\"leader\",\"leader\":1,"
	"\"term\":3,\"commit\":10,\"applied\":10,\"mem_bytes\":4096,\"voters\":[1,2,3],\"learners\":[]},"
	"{\"shard\":1,\"group\":2,\"worker\":1,\"role\":\"follower\",\"leader\":2,"
	"\"term\":12,\"commit\":123456,\"applied\":123455,\"mem_bytes\":40000,\"voters\":[2,3,4],"
	"\"learners\":[5],\"state\":\"migrating\"}],"
	"\"memory\":{\"groups\":6,\"bytes_per_group\":40000,\"total_bytes\":1234567}}";

static const char shards_table[] =
	"shard  group  worker  role      leader  term  commit  applied  mem_bytes  voters  learners  state      range\n"
	"    0      1       0  leader         1     3      10       10       4096  1,2,3   -         -          -\n"
	"    1      2       1  follower       2    12  123456   123455      40000  2,3,4   5         migrating  -\n";

static const char status_text[] =
	"node  uptime_s  transport  epoch  cluster   groups  bytes_per_group  memory_bytes\n"
	"   1      12.3  udp            1  degraded       6            40000       1234567\n"
	"\n"
	"worker  groups  wal_syncs  wal_records  wal_bytes  rx_pkts  tx_pkts  drops\n"
	"     0       6        120          300      65536     1000      990      2\n"
	"     1       5          7            9       4096       10       11      0\n"
	"\n"
	"member  address        reachable  state    voter  state_for_ms  zone  weight\n"
	"     2  10.0.0.2:7100  yes        healthy  yes            5000  r1       100\n"
	"     3  10.0.0.3:7100  no         -        -                 -  -          -\n"
	"\n";

static int handler(void *ctx, const char *line, struct aeg_admin_reply *out)
{
	(void)ctx;
	snprintf(last_request, sizeof(last_request), "%s", line);
	if (strstr(line, "node_add") != NULL)
		snprintf(add_request, sizeof(add_request), "%s", line);
	aeg_json_raw(&out->json, canned, strlen(canned));
	return 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/aegis-ctl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/aegisd.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct run {
	int code;
	char out[8192], err[1024];
};

static void drain(int fd, char *buf, size_t cap, size_t *len, bool *open)
{
	ssize_t n = read(fd, buf + *len, cap - 1 - *len);
	if (n <= 0)
		*open = false;
	else
		*len += (size_t)n;
	buf[*len] = '\0';
}

/* Runs aegisctl with args while serving the admin socket a (may be NULL). */
static void run(struct aeg_admin *a, struct run *r, const char *const *args)
{
	const char *prog = getenv("AEGISCTL");
	assert_non_null(prog);
	char *argv[16] = { (char *)prog };
	int argc = 1;
	for (; args[argc - 1] != NULL; argc++)
		argv[argc] = (char *)args[argc - 1];
	int out[2], err[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(prog, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	size_t out_len = 0, err_len = 0;
	bool out_open = true, err_open = true;
	r->out[0] = r->err[0] = '\0';
	for (int i = 0; i < 10000 && (out_open || err_open); i++) {
		if (a != NULL)
			aeg_admin_poll(a);
		struct pollfd p[2] = { { .fd = out_open ? out[0] : -1, .events = POLLIN },
				       { .fd = err_open ? err[0] : -1, .events = POLLIN } };
		if (poll(p, 2, 1) <= 0)
			continue;
		if (p[0].revents != 0)
			drain(out[0], r->out, sizeof(r->out), &out_len, &out_open);
		if (p[1].revents != 0)
			drain(err[0], r->err, sizeof(r->err), &err_len, &err_open);
	}
	close(out[0]);
	close(err[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->code = WEXITSTATUS(status);
}

static void assert_contains(const char *s, const char *want)
{
	if (strstr(s, want) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", s, want);
}

static void test_status(void **state)
{
	(void)state;
	struct aeg_admin *a;
	assert_int_equal(aeg_admin_open(&a, sock, handler, NULL), 0);
	static struct run r;
	canned = status_reply;
	run(a, &r, (const char *const[]){ "--socket", sock, "status", NULL });
	assert_string_equal(r.err, "");
	assert_int_equal(r.code, 0);
	assert_string_equal(last_request, "{\"cmd\":\"status\"}");
	char want[sizeof(status_text) + sizeof(shards_table)];
	snprintf(want, sizeof(want), "%s%s", status_text, shards_table);
	assert_string_equal(r.out, want);
	/* shards, found through --data-dir; options after the command. */
	run(a, &r, (const char *const[]){ "shards", "--data-dir", dir, NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, shards_table);
	/* --json: the reply line as it came. */
	run(a, &r, (const char *const[]){ "--socket", sock, "status", "--json", NULL });
	assert_int_equal(r.code, 0);
	char line[sizeof(status_reply) + 1];
	snprintf(line, sizeof(line), "%s\n", status_reply);
	assert_string_equal(r.out, line);
	/* Through a config file's admin_socket. */
	char cfg[160];
	snprintf(cfg, sizeof(cfg), "%s/n.toml", dir);
	FILE *f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f, "[node]\nadmin_socket = \"%s\"\n", sock);
	assert_int_equal(fclose(f), 0);
	run(a, &r, (const char *const[]){ "--config", cfg, "shards", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, shards_table);
	/* node list and cluster status ([G]): the same request, other views. */
	canned = status_reply;
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "list", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "member  address        reachable  state    voter  state_for_ms  zone  weight\n"
				   "     2  10.0.0.2:7100  yes        healthy  yes            5000  r1       100\n"
				   "     3  10.0.0.3:7100  no         -        -                 -  -          -\n");
	run(a, &r, (const char *const[]){ "--socket", sock, "cluster", "status", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "cluster: degraded (as node 1 sees it), map epoch 1\n"
			       "shards: 2, without a leader: 0; leaders per node: 1=1 2=1\n"
			       "rebalance: 1 replica moves planned (this node, the meta leader, carries them out): "
			       "shard 4: 3 -> 2\n"
			       "rebalance moves asked here: 3, finished 2, timed out 0; in flight: shard 4: 3 -> 2 (1.5 s)\n"
			       "meta group: leader 2 (term 4), records epoch 17; recorded: 1=healthy 3=down; shards migrating: 1 "
			       "(shard state changes seen: 4)\n"
			       "\nmember  address");
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "frob", NULL });
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "unknown command 'node frob'");
	run(a, &r, (const char *const[]){ "--socket", sock, "cluster", NULL });
	assert_int_equal(r.code, 2);
	/* Missing fields print as "-". */
	canned = "{\"ok\":true,\"shards\":[{\"shard\":5,\"role\":\"candidate\"}]}";
	run(a, &r, (const char *const[]){ "--socket", sock, "shards", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "shard  group  worker  role       leader  term  commit  applied  mem_bytes  voters  learners  state  range\n"
				   "    5      -       -  candidate       -     -       -        -          -  -       -         -      -\n");
	aeg_admin_close(a);
}

/* node drain / remove: the request, then the record as the node sees it. */
static void test_node_change(void **state)
{
	(void)state;
	struct aeg_admin *a;
	static struct run r;
	assert_int_equal(aeg_admin_open(&a, sock, handler, NULL), 0);
	canned = "{\"ok\":true,\"members\":[{\"id\":3,\"state\":\"leaving\"}],\"meta\":{\"here\":true}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "drain", "3", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "node 3: leaving (on record in the meta group)\n");
	/* The last request was the status poll; the drain went before it. */
	assert_string_equal(last_request, "{\"cmd\":\"status\"}");
	/* drain --wait: then until the records show it holds nothing. */
	canned = "{\"ok\":true,\"members\":[{\"id\":3,\"state\":\"leaving\"}],\"meta\":{\"here\":true},"
		 "\"rebalance\":{\"replicas_on_record\":[{\"id\":1,\"replicas\":8},{\"id\":3,\"replicas\":0}]}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "drain", "3", "--wait", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "node 3: leaving (on record in the meta group)\nnode 3: holds no replica on record");
	canned = "{\"ok\":true,\"members\":[{\"id\":3,\"state\":\"leaving\"}],\"meta\":{\"here\":true},"
		 "\"rebalance\":{\"replicas_on_record\":[{\"id\":3,\"replicas\":2}]}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "node", "drain", "3", "--wait", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "node 3: still holds 2 replicas on record");
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "remove", "3", "--wait", NULL });
	assert_int_equal(r.code, 2);
	canned = "{\"ok\":true,\"members\":[{\"id\":3,\"state\":\"healthy\"}],\"meta\":{\"here\":true}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "node", "drain", "3", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "not on record as leaving");
	canned = "{\"ok\":false,\"error\":\"refused: node 3 holds 12 shard replicas\"}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "remove", "3", NULL });
	assert_int_equal(r.code, 1);
	assert_string_equal(last_request, "{\"cmd\":\"node_remove\",\"id\":3}");
	assert_contains(r.err, "refused: node 3 holds 12 shard replicas");
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "drain", NULL });
	assert_int_equal(r.code, 2);
	/* leader transfer: then the shard table until the new leader shows. */
	canned = status_reply;
	run(a, &r, (const char *const[]){ "--socket", sock, "leader", "transfer", "1", "2", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "shard 1: leader 2 (term 12)\n");
	assert_string_equal(last_request, "{\"cmd\":\"shards\"}");
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.2", "leader", "transfer", "0", "3", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "shard 0: leader still 1");
	run(a, &r, (const char *const[]){ "--socket", sock, "leader", "transfer", "1", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "drain", "x3", NULL });
	assert_int_equal(r.code, 2);
	/* shard move: then the shard table until TO votes and FROM is gone. */
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "move", "1", "1", "4", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "shard 1: moved 1 -> 4 in ");
	assert_contains(r.out, "voters 2,3,4, leader 2");
	assert_string_equal(last_request, "{\"cmd\":\"status\"}");
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "shard", "move", "0", "3", "4", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "move 3 -> 4 not done after 0.3 s (voters 1,2,3, learners -)");
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "move", "7", "2", "4", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "shard 7: asked its voters to move 2 -> 4 (this node holds no replica");
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "move", "1", "2", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "move", "1", "0", "2", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "rebalance", "status", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "rebalance moves asked here: 3, finished 2");
	run(a, &r, (const char *const[]){ "--socket", sock, "rebalance", "resume", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "rebalance: running (on record in the meta group)\n");
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "rebalance", "pause", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "not on record as paused");
	run(a, &r, (const char *const[]){ "--socket", sock, "rebalance", "stop", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "list", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, shards_table);
	canned = "{\"ok\":false,\"error\":\"this node does not lead shard 1 (leader: 2); ask the leader's node\"}";
	run(a, &r, (const char *const[]){ "--socket", sock, "shard", "move", "1", "1", "4", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "does not lead shard 1");
	aeg_admin_close(a);
}

static void test_errors(void **state)
{
	(void)state;
	struct aeg_admin *a;
	static struct run r;
	assert_int_equal(aeg_admin_open(&a, sock, handler, NULL), 0);
	canned = "{\"ok\":false,\"error\":\"not ready: recovering the log\"}";
	run(a, &r, (const char *const[]){ "--socket", sock, "status", NULL });
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "aegisctl: the node says: not ready: recovering the log\n");
	run(a, &r, (const char *const[]){ "--socket", sock, "status", "--json", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.out, "recovering the log");
	canned = "this is not json";
	run(a, &r, (const char *const[]){ "--socket", sock, "status", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "unreadable reply");
	canned = "{\"node\":1}";
	run(a, &r, (const char *const[]){ "--socket", sock, "status", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "unreadable reply (no \"ok\")");
	aeg_admin_close(a);
	/* Usage. */
	const char *const *const usage[] = {
		(const char *const[]){ NULL },
		(const char *const[]){ "stats", NULL },
		(const char *const[]){ "status", "shards", NULL },
		(const char *const[]){ "--socket", NULL },
		(const char *const[]){ "--bogus", "status", NULL },
		(const char *const[]){ "--socket", "/x", "--data-dir", "/y", "status", NULL },
		(const char *const[]){ "--timeout", "0", "status", NULL },
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		run(NULL, &r, usage[i]);
		if (r.code != 2)
			fail_msg("usage case %zu: exit %d, %s", i, r.code, r.err);
		assert_contains(r.err, "aegisctl: ");
	}
	run(NULL, &r, (const char *const[]){ "--help", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "usage: aegisctl");
	/* Nobody there: 3. */
	run(NULL, &r, (const char *const[]){ "--socket", sock, "status", NULL });
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "cannot connect to");
	assert_contains(r.err, "is aegisd running?");
	/* A listener that never answers: 3 after --timeout. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	run(NULL, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.2", "status", NULL });
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "no answer in time");
	close(s);
	unlink(sock);
}

/* node add: the request, then the members until the node is there; with
 * --wait until it is healthy, holds replicas and nothing is left to move. */
static void test_node_add(void **state)
{
	(void)state;
	struct aeg_admin *a;
	static struct run r;
	assert_int_equal(aeg_admin_open(&a, sock, handler, NULL), 0);
	canned = "{\"ok\":true,\"members\":[{\"id\":1,\"state\":\"healthy\"},{\"id\":6,\"joined\":true}]}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "6", "10.0.0.6:7200", NULL });
	assert_int_equal(r.code, 0);
	assert_string_equal(add_request, "{\"cmd\":\"node_add\",\"id\":6,\"address\":\"10.0.0.6:7200\"}");
	assert_string_equal(r.out, "node 6: on record as a member (state not heard yet); start it with node.join = "
				   "true and the members as node.peers\n");
	canned = "{\"ok\":true,\"members\":[{\"id\":6,\"state\":\"healthy\"}],\"rebalance\":{\"planned_moves\":0,"
		 "\"in_flight\":[],\"replicas_on_record\":[{\"id\":6,\"replicas\":5}]}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "6", "10.0.0.6", "--wait", NULL });
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "node 6: on record as a member (state healthy)");
	assert_contains(r.out, "node 6: healthy, 5 replicas on record, no moves left");
	/* Moves still planned: --wait goes on until the timeout. */
	canned = "{\"ok\":true,\"members\":[{\"id\":6,\"state\":\"healthy\"}],\"rebalance\":{\"planned_moves\":3,"
		 "\"in_flight\":[],\"replicas_on_record\":[{\"id\":6,\"replicas\":1}]}}";
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "node", "add", "6", "10.0.0.6", "--wait",
					  NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "node 6: healthy, 1 replicas on record, 3 moves planned after 0.3 s");
	/* Not on record (no meta leader): exit 1 after the timeout. */
	canned = "{\"ok\":true,\"members\":[{\"id\":1,\"state\":\"healthy\"}]}";
	run(a, &r, (const char *const[]){ "--socket", sock, "--timeout", "0.3", "node", "add", "6", "10.0.0.6", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "node 6: asked, but not on record");
	/* The node's refusal. */
	canned = "{\"ok\":false,\"error\":\"refused: the id is node 6's\"}";
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "6", "10.0.0.9", NULL });
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "refused: the id is node 6's");
	/* Usage: an address is needed, and only digits, dots and a colon. */
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "6", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "6", "10.0.0.6\",\"x", NULL });
	assert_int_equal(r.code, 2);
	run(a, &r, (const char *const[]){ "--socket", sock, "node", "add", "0", "10.0.0.6", NULL });
	assert_int_equal(r.code, 2);
	aeg_admin_close(a);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_node_change),
		cmocka_unit_test(test_node_add),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
