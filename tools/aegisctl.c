/* aegisctl: asks a running aegisd over its admin socket (JSON lines, see
 * control/admin.h) and prints the answer for people (tables) or programs
 * (--json: the node's reply line as it came).
 *
 *   aegisctl [--socket PATH | --data-dir DIR | --config FILE] status [--json]
 *   aegisctl [...] shards [--json]
 *
 * Exit: 0 ok, 1 the node answered an error (or an unreadable reply),
 * 2 usage, 3 cannot connect or no answer. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json_in.h"
#include "json_out.h"

enum { EXIT_OK = 0, EXIT_NODE = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };
#define REPLY_BYTES_MAX (64u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegisctl [options] COMMAND [--json]\n"
		"commands:\n"
		"  status            node, workers (WAL and dataplane counters), members, shards, memory\n"
		"  shards            the shard table: group, role, leader, term, commit, applied, memory\n"
		"  node list         the members as this node sees them: address, state (starting,\n"
		"                    healthy, suspect, down, leaving, left), meta voter, time in state\n"
		"  cluster status    the cluster's state (forming, healthy, degraded, no quorum), the\n"
		"                    members, leaders per node and shards without a leader, the meta\n"
		"                    group's records and what the rebalance planner would move\n"
		"  node add ID ADDRESS[:PORT] [--wait]\n"
		"                    record node ID (a new node) in the meta group: every member\n"
		"                    adds its address; then start it with node.join = true and the\n"
		"                    members as node.peers. Waits until this node sees the record,\n"
		"                    with --wait also until the new node is healthy and holds its\n"
		"                    share of replicas (the rebalancer's moves; default 600 s)\n"
		"  node drain ID [--wait]\n"
		"                    record node ID as leaving in the meta group: the meta leader's\n"
		"                    rebalancer moves its replicas away (rebalance status shows\n"
		"                    them); waits until this node sees the record (--timeout), with\n"
		"                    --wait also until the records show it holds no replica (the\n"
		"                    moves, up to --timeout or 600 s)\n"
		"  node remove ID    record it as left: refused while it holds replicas (on record)\n"
		"                    or is a meta voter (the node answers why)\n"
		"  shard list        the shard table (as shards) with each group's voters and learners\n"
		"  shard move SHARD FROM TO\n"
		"                    move the replica on node FROM to node TO (ask any node: the\n"
		"                    shard's leader carries it out): TO joins as a learner, catches\n"
		"                    up, then one Raft config change makes it a voter and takes FROM\n"
		"                    out, and FROM drops its copy; waits until this node sees it\n"
		"                    done (--timeout, default 300 s for a move)\n"
		"  shard split SHARD [KEY] [--to SPARE]\n"
		"                    (range sharding; ask the node leading SHARD) SHARD's keys from\n"
		"                    KEY (default: its middle key by bytes) up go to a spare shard\n"
		"                    (the lowest on SHARD's worker index with a replica on this\n"
		"                    node, or SPARE): writes there are fenced (BUSY), the keys\n"
		"                    copied through the spare's Raft log, the new range table\n"
		"                    recorded in the meta group, the moved keys dropped from\n"
		"                    SHARD; waits until done (--timeout, 300 s)\n"
		"  shard merge SHARD\n"
		"                    (range sharding; ask the node leading SHARD) SHARD's range\n"
		"                    joins the range before it (same worker index): its keys are\n"
		"                    copied there, the table recorded, SHARD becomes a spare\n"
		"  rebalance status  what the rebalancer plans and carries out (the cluster status line)\n"
		"  rebalance pause | rebalance resume\n"
		"                    record in the meta group that moves stop (those under way finish)\n"
		"                    or go on\n"
		"  leader transfer SHARD NODE\n"
		"                    ask the node that leads SHARD (this one) to hand leadership to\n"
		"                    NODE, a replica of it; waits until this node sees NODE lead\n"
		"options:\n"
		"  --socket PATH     the node's admin socket\n"
		"  --data-dir DIR    the node's data_dir: its socket is DIR/aegisd.sock\n"
		"  --config FILE     the node's config file: node.admin_socket or node.data_dir\n"
		"                    (default: /var/lib/aegis/aegisd.sock)\n"
		"  --timeout SEC     how long to wait for the answer (default 5)\n"
		"  --json            print the node's reply (one JSON line) as it is\n"
		"  -h, --help\n"
		"exit: 0 ok, 1 the node answered an error, 2 usage, 3 cannot connect or no answer\n");
}

static int die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("aegisctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends request and reads one reply line into *out (malloc'ed, no '\n'). */
static int ask(const char *path, const char *request, double timeout_s, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return die(EXIT_USAGE, "%s: longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return die(EXIT_CONNECT, "cannot connect to %s: %s (is aegisd running?)", path,
			   strerror(e));
	}
	size_t len = strlen(request), cap = 1 << 16, got = 0;
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return die(EXIT_CONNECT, "%s: send: %s", path, strerror(errno));
		}
		off += (size_t)n;
	}
	char *buf = malloc(cap);
	double deadline = now_s() + timeout_s;
	int code = EXIT_OK;
	const char *why = NULL;
	for (;;) {
		char *nl = buf != NULL ? memchr(buf, '\n', got) : NULL;
		if (buf == NULL || nl != NULL) {
			if (nl != NULL)
				*nl = '\0';
			break;
		}
		double left = deadline - now_s();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			why = "no answer in time";
			break;
		}
		if (got + 1 == cap) {
			char *b = cap < REPLY_BYTES_MAX ? realloc(buf, cap * 2) : NULL;
			if (b == NULL) {
				why = "reply too large";
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			why = n == 0 ? "the node closed the connection without an answer" :
			      strerror(errno);
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (buf == NULL)
		why = "out of memory";
	if (why != NULL) {
		free(buf);
		return die(EXIT_CONNECT, "%s: %s", path, why);
	}
	*out = buf;
	return code;
}

/* ---- tables ---- */

#define CELL_BYTES 48
#define COLS_MAX 16

struct table {
	int cols;
	const char *heads[COLS_MAX];
	bool left[COLS_MAX];       /* text columns: aligned left */
	char (*cells)[CELL_BYTES]; /* rows x cols */
	size_t rows, cap;
};

static void table_row(struct table *t)
{
	if (t->rows == t->cap) {
		size_t cap = t->cap == 0 ? 16 : t->cap * 2;
		void *c = realloc(t->cells, cap * (size_t)t->cols * CELL_BYTES);
		if (c == NULL) {
			fputs("aegisctl: out of memory\n", stderr);
			exit(EXIT_NODE);
		}
		t->cells = c;
		t->cap = cap;
	}
	for (int c = 0; c < t->cols; c++)
		strcpy(t->cells[t->rows * (size_t)t->cols + (size_t)c], "-");
	t->rows++;
}

static char *table_cell(struct table *t, int col)
{
	return t->cells[(t->rows - 1) * (size_t)t->cols + (size_t)col];
}

static void table_print(const struct table *t)
{
	int w[COLS_MAX];
	for (int c = 0; c < t->cols; c++) {
		w[c] = (int)strlen(t->heads[c]);
		for (size_t r = 0; r < t->rows; r++) {
			int n = (int)strlen(t->cells[r * (size_t)t->cols + (size_t)c]);
			w[c] = n > w[c] ? n : w[c];
		}
	}
	for (size_t r = 0; r <= t->rows; r++) {
		for (int c = 0; c < t->cols; c++) {
			const char *s = r == 0 ? t->heads[c] : t->cells[(r - 1) * (size_t)t->cols + (size_t)c];
			bool last = c == t->cols - 1;
			if (t->left[c])
				printf("%-*s%s", last ? 0 : w[c], s, last ? "" : "  ");
			else
				printf("%*s%s", w[c], s, last ? "" : "  ");
		}
		putchar('\n');
	}
}

/* Cell text from member key of obj (or of obj.sub): numbers and strings as
 * they are, booleans as yes/no, absent as "-". */
static void cell(struct table *t, int col, const struct aeg_json_doc *d, int obj, const char *sub,
		 const char *key)
{
	int v = aeg_json_get(d, sub != NULL ? aeg_json_get(d, obj, sub) : obj, key);
	char *out = table_cell(t, col);
	bool b;
	if (v < 0)
		return;
	if (d->toks[v].type == AEG_JSON_ARRAY) {  /* numbers: "1,2,3" */
		size_t len = 0;
		out[0] = '\0';
		for (int e = aeg_json_first(d, v); e >= 0 && len + 12 < CELL_BYTES; e = aeg_json_after(d, v, e))
			len += (size_t)snprintf(out + len, CELL_BYTES - len, "%s%.*s", len ? "," : "",
						(int)(d->toks[e].end - d->toks[e].start), d->text + d->toks[e].start);
		if (len == 0)
			snprintf(out, CELL_BYTES, "-");
	} else if (aeg_json_as_bool(d, v, &b))
		snprintf(out, CELL_BYTES, "%s", b ? "yes" : "no");
	else if (d->toks[v].type == AEG_JSON_NUMBER)
		snprintf(out, CELL_BYTES, "%.*s", (int)(d->toks[v].end - d->toks[v].start),
			 d->text + d->toks[v].start);
	else if (aeg_json_as_str(d, v, out, CELL_BYTES) < 0)
		snprintf(out, CELL_BYTES, "?");
}

struct column {
	const char *head, *sub, *key;
	bool left;
};

/* One table from the array member `key` of the reply. */
static void print_array(const struct aeg_json_doc *d, const char *key, const struct column *cols,
			int n)
{
	assert(n <= COLS_MAX);
	struct table t = { .cols = n };
	for (int c = 0; c < n; c++) {
		t.heads[c] = cols[c].head;
		t.left[c] = cols[c].left;
	}
	int arr = aeg_json_get(d, 0, key);
	if (arr >= 0 && d->toks[arr].type == AEG_JSON_ARRAY)
		for (int e = aeg_json_first(d, arr); e >= 0; e = aeg_json_after(d, arr, e)) {
			table_row(&t);
			for (int c = 0; c < n; c++)
				cell(&t, c, d, e, cols[c].sub, cols[c].key);
		}
	table_print(&t);
	free(t.cells);
}

static void print_shards(const struct aeg_json_doc *d)
{
	static const struct column cols[] = {
		{ "shard", NULL, "shard", false }, { "group", NULL, "group", false },
		{ "worker", NULL, "worker", false }, { "role", NULL, "role", true },
		{ "leader", NULL, "leader", false }, { "term", NULL, "term", false },
		{ "commit", NULL, "commit", false }, { "applied", NULL, "applied", false },
		{ "mem_bytes", NULL, "mem_bytes", false }, { "voters", NULL, "voters", true },
		{ "learners", NULL, "learners", true }, { "state", NULL, "state", true },
		{ "range", NULL, "range", true },
	};
	print_array(d, "shards", cols, sizeof(cols) / sizeof(cols[0]));
}

static const struct column member_cols[] = {
	{ "member", NULL, "id", false }, { "address", NULL, "address", true },
	{ "reachable", NULL, "reachable", true }, { "state", NULL, "state", true },
	{ "voter", NULL, "voter", true }, { "state_for_ms", NULL, "state_for_ms", false },
	{ "zone", NULL, "zone", true }, { "weight", NULL, "weight", false },
};

static void print_members(const struct aeg_json_doc *d)
{
	print_array(d, "members", member_cols, sizeof(member_cols) / sizeof(member_cols[0]));
}

/* The cluster's state as this node sees it, then who leads what. */
static void print_move_list(const struct aeg_json_doc *d, int arr, bool ms)
{
	if (arr < 0 || d->toks[arr].type != AEG_JSON_ARRAY)
		return;
	for (int e = aeg_json_first(d, arr); e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t s = 0, f = 0, t = 0, took = 0;
		aeg_json_as_u64(d, aeg_json_get(d, e, "shard"), &s);
		aeg_json_as_u64(d, aeg_json_get(d, e, "from"), &f);
		aeg_json_as_u64(d, aeg_json_get(d, e, "to"), &t);
		printf("%s shard %llu: %llu -> %llu", e == aeg_json_first(d, arr) ? ":" : ",", (unsigned long long)s,
		       (unsigned long long)f, (unsigned long long)t);
		if (ms && aeg_json_as_u64(d, aeg_json_get(d, e, "ms"), &took))
			printf(" (%.1f s)", (double)took / 1000);
	}
}

/* The rebalancer's lines: what the planner would move from the meta
 * records, who carries it out, what is in flight. */
static void print_rebalance(const struct aeg_json_doc *d)
{
	int rb = aeg_json_get(d, 0, "rebalance");
	uint64_t planned = 0, asked = 0, finished = 0, timed_out = 0;
	bool more = false, carried = false, leading = false, paused = false;
	if (rb < 0 || !aeg_json_as_u64(d, aeg_json_get(d, rb, "planned_moves"), &planned)) {
		printf("rebalance: this node does not plan moves\n");
		return;
	}
	aeg_json_as_bool(d, aeg_json_get(d, rb, "more"), &more);
	aeg_json_as_bool(d, aeg_json_get(d, rb, "carried_out"), &carried);
	aeg_json_as_bool(d, aeg_json_get(d, rb, "leading"), &leading);
	aeg_json_as_bool(d, aeg_json_get(d, rb, "paused"), &paused);
	aeg_json_as_u64(d, aeg_json_get(d, rb, "asked"), &asked);
	aeg_json_as_u64(d, aeg_json_get(d, rb, "finished"), &finished);
	aeg_json_as_u64(d, aeg_json_get(d, rb, "timed_out"), &timed_out);
	char plan[160] = "ok";
	aeg_json_as_str(d, aeg_json_get(d, rb, "plan"), plan, sizeof(plan));
	printf("rebalance: %llu%s replica moves planned (%s)%s%s", (unsigned long long)planned, more ? "+" : "",
	       paused ? "paused" : carried ? "this node, the meta leader, carries them out"
				      : leading ? "not carried out" : "the meta leader carries them out",
	       strcmp(plan, "ok") ? "; plan: " : "", strcmp(plan, "ok") ? plan : "");
	print_move_list(d, aeg_json_get(d, rb, "first"), false);
	printf("\n");
	int rec = aeg_json_get(d, rb, "replicas_on_record");
	if (rec >= 0 && aeg_json_first(d, rec) >= 0) {
		printf("replicas on record:");
		for (int e = aeg_json_first(d, rec); e >= 0; e = aeg_json_after(d, rec, e)) {
			uint64_t id = 0, n = 0;
			aeg_json_as_u64(d, aeg_json_get(d, e, "id"), &id);
			aeg_json_as_u64(d, aeg_json_get(d, e, "replicas"), &n);
			printf(" %llu=%llu", (unsigned long long)id, (unsigned long long)n);
		}
		printf("\n");
	}
	if (leading) {
		printf("rebalance moves asked here: %llu, finished %llu, timed out %llu; in flight",
		       (unsigned long long)asked, (unsigned long long)finished, (unsigned long long)timed_out);
		int inf = aeg_json_get(d, rb, "in_flight");
		if (inf < 0 || aeg_json_first(d, inf) < 0)
			printf(": none");
		print_move_list(d, inf, true);
		printf("\n");
	}
}

static void print_cluster(const struct aeg_json_doc *d)
{
	char state[64] = "unknown (the node has no node states)";
	uint64_t node = 0, epoch = 0, leaders[65] = { 0 }, leaderless = 0, shards = 0, lead;
	aeg_json_as_str(d, aeg_json_get(d, 0, "cluster_state"), state, sizeof(state));
	aeg_json_as_u64(d, aeg_json_get(d, 0, "node"), &node);
	aeg_json_as_u64(d, aeg_json_get(d, 0, "epoch"), &epoch);
	int arr = aeg_json_get(d, 0, "shards");
	if (arr >= 0 && d->toks[arr].type == AEG_JSON_ARRAY)
		for (int e = aeg_json_first(d, arr); e >= 0; e = aeg_json_after(d, arr, e)) {
			shards++;
			if (!aeg_json_as_u64(d, aeg_json_get(d, e, "leader"), &lead) || lead == 0)
				leaderless++;
			else
				leaders[lead < 64 ? lead : 64]++;
		}
	printf("cluster: %s (as node %llu sees it), map epoch %llu\n", state, (unsigned long long)node,
	       (unsigned long long)epoch);
	printf("shards: %llu, without a leader: %llu; leaders per node:", (unsigned long long)shards,
	       (unsigned long long)leaderless);
	for (int i = 1; i <= 64; i++)
		if (leaders[i] != 0)
			printf(" %s%d=%llu", i == 64 ? ">=" : "", i, (unsigned long long)leaders[i]);
	printf("\n");
	print_rebalance(d);
	int meta = aeg_json_get(d, 0, "meta");
	bool here = false;
	if (meta >= 0 && aeg_json_as_bool(d, aeg_json_get(d, meta, "here"), &here)) {
		if (!here) {
			printf("meta group: no replica on this node (a meta voter has one)\n");
		} else {
			uint64_t ml = 0, term = 0, mepoch = 0;
			aeg_json_as_u64(d, aeg_json_get(d, meta, "leader"), &ml);
			aeg_json_as_u64(d, aeg_json_get(d, meta, "term"), &term);
			aeg_json_as_u64(d, aeg_json_get(d, meta, "epoch"), &mepoch);
			printf("meta group: leader %llu (term %llu), records epoch %llu; recorded:", (unsigned long long)ml,
			       (unsigned long long)term, (unsigned long long)mepoch);
			int nodes = aeg_json_get(d, meta, "nodes");
			if (nodes >= 0 && d->toks[nodes].type == AEG_JSON_ARRAY)
				for (int e = aeg_json_first(d, nodes); e >= 0; e = aeg_json_after(d, nodes, e)) {
					uint64_t id = 0;
					char st[32] = "?";
					aeg_json_as_u64(d, aeg_json_get(d, e, "id"), &id);
					aeg_json_as_str(d, aeg_json_get(d, e, "state"), st, sizeof(st));
					printf(" %llu=%s", (unsigned long long)id, st);
				}
			uint64_t migrating = 0, changes = 0;
			if (aeg_json_as_u64(d, aeg_json_get(d, meta, "shards_migrating"), &migrating) &&
			    aeg_json_as_u64(d, aeg_json_get(d, meta, "shard_state_changes"), &changes))
				printf("; shards migrating: %llu (shard state changes seen: %llu)", (unsigned long long)migrating,
				       (unsigned long long)changes);
			printf("\n");
		}
	}
	printf("\n");
	print_members(d);
}

static void print_status(const struct aeg_json_doc *d)
{
	static const struct column workers[] = {
		{ "worker", NULL, "worker", false }, { "groups", NULL, "groups", false },
		{ "wal_syncs", "wal", "syncs", false }, { "wal_records", "wal", "records", false },
		{ "wal_bytes", "wal", "bytes", false }, { "rx_pkts", "dp", "rx_pkts", false },
		{ "tx_pkts", "dp", "tx_pkts", false }, { "drops", "dp", "drops", false },
	};
	/* The header: one row of node-wide values. */
	static const struct column node[] = {
		{ "node", NULL, "node", false }, { "uptime_s", NULL, "uptime_s", false },
		{ "transport", NULL, "transport", true }, { "epoch", NULL, "epoch", false },
		{ "cluster", NULL, "cluster_state", true },
		{ "groups", "memory", "groups", false },
		{ "bytes_per_group", "memory", "bytes_per_group", false },
		{ "memory_bytes", "memory", "total_bytes", false },
	};
	struct table t = { .cols = sizeof(node) / sizeof(node[0]) };
	table_row(&t);
	for (int c = 0; c < t.cols; c++) {
		t.heads[c] = node[c].head;
		t.left[c] = node[c].left;
		cell(&t, c, d, 0, node[c].sub, node[c].key);
	}
	table_print(&t);
	free(t.cells);
	putchar('\n');
	print_array(d, "workers", workers, sizeof(workers) / sizeof(workers[0]));
	putchar('\n');
	print_members(d);
	putchar('\n');
	print_shards(d);
}

/* ---- main ---- */

struct args {
	const char *socket, *data_dir, *config, *command, *sub, *id, *from, *to, *key, *spare;
	double timeout_s;
	bool json, help, timeout_set, wait;
};

static bool is_number(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= 10 && strspn(s, "0123456789") == strlen(s) &&
	       strtoull(s, NULL, 10) <= UINT32_MAX;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){ .timeout_s = 5 };
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			a->help = true;
		else if (strcmp(s, "--json") == 0)
			a->json = true;
		else if (strcmp(s, "--wait") == 0)
			a->wait = true;
		else if (strcmp(s, "--socket") == 0 && more)
			a->socket = argv[++i];
		else if (strcmp(s, "--data-dir") == 0 && more)
			a->data_dir = argv[++i];
		else if (strcmp(s, "--config") == 0 && more)
			a->config = argv[++i];
		else if (strcmp(s, "--to") == 0 && more)
			a->spare = argv[++i];
		else if (strcmp(s, "--timeout") == 0 && more) {
			char *end;
			a->timeout_s = strtod(argv[++i], &end);
			a->timeout_set = true;
			if (*end != '\0' || !(a->timeout_s > 0 && a->timeout_s <= 3600))
				return die(EXIT_USAGE, "--timeout: seconds in (0, 3600], not '%s'", argv[i]);
		} else if (s[0] == '-')
			return die(EXIT_USAGE, "unknown option or missing value: %s (try --help)", s);
		else if (a->command != NULL && a->sub == NULL &&
			 (strcmp(a->command, "node") == 0 || strcmp(a->command, "cluster") == 0 ||
			  strcmp(a->command, "leader") == 0 || strcmp(a->command, "shard") == 0 ||
			  strcmp(a->command, "rebalance") == 0))
			a->sub = s;
		else if (a->sub != NULL && strcmp(a->command, "shard") == 0 && strcmp(a->sub, "move") == 0 &&
			 (a->id == NULL || a->from == NULL || a->to == NULL))
			*(a->id == NULL ? &a->id : a->from == NULL ? &a->from : &a->to) = s;
		else if (a->sub != NULL && a->id == NULL && strcmp(a->command, "shard") == 0 && strcmp(a->sub, "merge") == 0)
			a->id = s;
		else if (a->sub != NULL && strcmp(a->command, "shard") == 0 && strcmp(a->sub, "split") == 0 &&
			 (a->id == NULL || a->key == NULL))
			*(a->id == NULL ? &a->id : &a->key) = s;
		else if (a->sub != NULL && strcmp(a->command, "leader") == 0 && strcmp(a->sub, "transfer") == 0 &&
			 (a->id == NULL || a->to == NULL))
			*(a->id == NULL ? &a->id : &a->to) = s;
		else if (a->sub != NULL && a->id == NULL && strcmp(a->command, "node") == 0 &&
			 (strcmp(a->sub, "drain") == 0 || strcmp(a->sub, "remove") == 0 || strcmp(a->sub, "add") == 0))
			a->id = s;
		else if (a->sub != NULL && a->id != NULL && a->to == NULL && strcmp(a->command, "node") == 0 &&
			 strcmp(a->sub, "add") == 0)
			a->to = s;  /* the address */
		else if (a->command != NULL)
			return die(EXIT_USAGE, "one command only, got '%s' and '%s'", a->command, s);
		else
			a->command = s;
	}
	if (a->help)
		return 0;
	if ((a->socket != NULL) + (a->data_dir != NULL) + (a->config != NULL) > 1)
		return die(EXIT_USAGE, "--socket, --data-dir, --config: one of them at most");
	if (a->command == NULL)
		return die(EXIT_USAGE, "a command is needed (try --help)");
	bool known = (strcmp(a->command, "status") == 0 || strcmp(a->command, "shards") == 0) && a->sub == NULL;
	known |= strcmp(a->command, "node") == 0 && a->sub != NULL && strcmp(a->sub, "list") == 0;
	bool change = strcmp(a->command, "node") == 0 && a->sub != NULL &&
		      (strcmp(a->sub, "drain") == 0 || strcmp(a->sub, "remove") == 0 || strcmp(a->sub, "add") == 0);
	if (change && (a->id == NULL || strspn(a->id, "0123456789") != strlen(a->id) || strlen(a->id) > 10 ||
		       strtoull(a->id, NULL, 10) == 0 || strtoull(a->id, NULL, 10) > UINT32_MAX))
		return die(EXIT_USAGE, "node %s takes a node id (1..4294967295)", a->sub);
	if (change && strcmp(a->sub, "add") == 0 &&
	    (a->to == NULL || strlen(a->to) > 48 || strspn(a->to, "0123456789.:") != strlen(a->to)))
		return die(EXIT_USAGE, "node add takes an id and an address: node add ID A.B.C.D[:PORT]");
	known |= change;
	if (a->wait && !(change && strcmp(a->sub, "remove") != 0))
		return die(EXIT_USAGE, "--wait goes with node add and node drain only");
	bool transfer = strcmp(a->command, "leader") == 0 && a->sub != NULL && strcmp(a->sub, "transfer") == 0;
	if (transfer && (!is_number(a->id) || !is_number(a->to) || strtoull(a->to, NULL, 10) == 0))
		return die(EXIT_USAGE, "leader transfer takes a shard and a node id: leader transfer SHARD NODE");
	known |= transfer;
	bool move = strcmp(a->command, "shard") == 0 && a->sub != NULL && strcmp(a->sub, "move") == 0;
	if (move && (!is_number(a->id) || !is_number(a->from) || !is_number(a->to) || strtoull(a->to, NULL, 10) == 0 ||
		     strtoull(a->from, NULL, 10) == 0))
		return die(EXIT_USAGE, "shard move takes a shard and two node ids: shard move SHARD FROM TO");
	known |= move;
	bool merge = strcmp(a->command, "shard") == 0 && a->sub != NULL && strcmp(a->sub, "merge") == 0;
	if (merge && !is_number(a->id))
		return die(EXIT_USAGE, "shard merge takes a shard: shard merge SHARD");
	known |= merge;
	bool split = strcmp(a->command, "shard") == 0 && a->sub != NULL && strcmp(a->sub, "split") == 0;
	if (split && (!is_number(a->id) || (a->key != NULL && (a->key[0] == '\0' || strlen(a->key) > 1024)) ||
		      (a->spare != NULL && !is_number(a->spare))))
		return die(EXIT_USAGE, "shard split takes a shard and a key (1..1024 bytes; none: the middle): shard "
			   "split SHARD [KEY] [--to SPARE]");
	if (a->spare != NULL && !split)
		return die(EXIT_USAGE, "--to goes with shard split only");
	known |= split;
	known |= strcmp(a->command, "shard") == 0 && a->sub != NULL && strcmp(a->sub, "list") == 0;
	known |= strcmp(a->command, "rebalance") == 0 && a->sub != NULL &&
		 (strcmp(a->sub, "status") == 0 || strcmp(a->sub, "pause") == 0 || strcmp(a->sub, "resume") == 0);
	known |= strcmp(a->command, "cluster") == 0 && a->sub != NULL && strcmp(a->sub, "status") == 0;
	if (!known)
		return die(EXIT_USAGE, "unknown command '%s%s%s': status, shards, node list|add|drain|remove, cluster status, "
			   "shard list|move|split|merge, rebalance status|pause|resume, leader transfer (try --help)", a->command, a->sub ? " " : "", a->sub ? a->sub : "");
	return 0;
}

/* The socket path from the arguments (the config's rule otherwise). */
static int socket_path(const struct args *a, char *out, size_t cap)
{
	static struct aeg_config cfg; /* ~80 KiB: off the stack */
	char err[512];
	if (a->socket != NULL)
		return snprintf(out, cap, "%s", a->socket) < (int)cap ? 0 :
		       die(EXIT_USAGE, "--socket: path too long");
	aeg_config_defaults(&cfg);
	if (a->config != NULL && aeg_config_load(&cfg, a->config, err, sizeof(err)) != 0)
		return die(EXIT_USAGE, "%s", err);
	if (a->data_dir != NULL &&
	    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", a->data_dir) >= (int)sizeof(cfg.data_dir))
		return die(EXIT_USAGE, "--data-dir: path too long");
	if (aeg_config_admin_socket_path(&cfg, out, cap) != 0)
		return die(EXIT_USAGE, "the admin socket path is too long (use --socket)");
	return 0;
}

/* Parses a reply line into d (toks allocated); false with *code set. */
static bool parse_reply(const char *path, char *line, struct aeg_json_doc *d, struct aeg_json_tok **toks,
			int *code)
{
	size_t len = strlen(line);
	const char *why = "out of memory";
	bool ok = false;
	*toks = malloc((len / 2 + 16) * sizeof(**toks));
	if (*toks == NULL || aeg_json_parse(d, line, len, *toks, (uint32_t)(len / 2 + 16), &why) != 0 ||
	    d->toks[0].type != AEG_JSON_OBJECT || !aeg_json_as_bool(d, aeg_json_get(d, 0, "ok"), &ok)) {
		*code = die(EXIT_NODE, "%s: unreadable reply (%s): %.200s", path, *toks == NULL ? why : "no \"ok\"", line);
		return false;
	}
	if (!ok) {
		char msg[1024] = "(no message)";
		aeg_json_as_str(d, aeg_json_get(d, 0, "error"), msg, sizeof(msg));
		*code = die(EXIT_NODE, "the node says: %s", msg);
		return false;
	}
	return true;
}

/* The state of member id in a status reply ("" if none). */
static void member_state(const struct aeg_json_doc *d, uint64_t id, char *out, size_t cap)
{
	out[0] = '\0';
	int arr = aeg_json_get(d, 0, "members");
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t v;
		if (aeg_json_as_u64(d, aeg_json_get(d, e, "id"), &v) && v == id)
			aeg_json_as_str(d, aeg_json_get(d, e, "state"), out, cap);
	}
}

/* Sends request and checks the answer says ok: 0 or the exit code. */
static int ask_ok(const char *path, const char *request, double timeout_s)
{
	char *line = NULL;
	int code = ask(path, request, timeout_s, &line);
	if (code != 0)
		return code;
	struct aeg_json_doc d;
	struct aeg_json_tok *toks = NULL;
	if (parse_reply(path, line, &d, &toks, &code))
		code = EXIT_OK;
	free(toks);
	free(line);
	return code;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}


/* The commands that ask for a change and then watch the node's status
 * until it shows: one status reply at a time goes to check(), which
 * returns an exit code when done (or failed) and WATCH_MORE to go on. */
#define WATCH_MORE (-1)
typedef int (*watch_fn)(const struct aeg_json_doc *d, double elapsed_s, void *ctx);

/* status or shards asked every period_ms until check is done. */
static int watch(const char *path, double timeout_s, const char *request, long period_ms, watch_fn check, void *ctx)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *line = NULL;
		struct aeg_json_doc d;
		struct aeg_json_tok *toks = NULL;
		int code = ask(path, request, timeout_s, &line);
		if (code != 0)
			return code;
		if (parse_reply(path, line, &d, &toks, &code))
			code = check(&d, seconds_since(&t0), ctx);
		free(toks);
		free(line);
		if (code != WATCH_MORE)
			return code;
		nanosleep(&(struct timespec){ .tv_nsec = period_ms * 1000000 }, NULL);
	}
}

/* node drain / node remove: the request, then the record as this node sees it. */
struct node_watch {
	uint64_t id;
	const char *want;
	double timeout_s;
	bool wait_empty;         /* drain --wait: then until it holds no replica on record */
	bool seen;               /* the record is there */
	double seen_s;
};

/* Replicas node id holds on record (the rebalance section), -1 if not shown. */
static long long on_record(const struct aeg_json_doc *d, uint64_t id)
{
	int rb = aeg_json_get(d, 0, "rebalance");
	int arr = rb >= 0 ? aeg_json_get(d, rb, "replicas_on_record") : -1;
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t v, n;
		if (aeg_json_as_u64(d, aeg_json_get(d, e, "id"), &v) && v == id &&
		    aeg_json_as_u64(d, aeg_json_get(d, e, "replicas"), &n))
			return (long long)n;
	}
	return -1;
}

static int node_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	struct node_watch *w = ctx;
	if (w->seen) {
		long long held = on_record(d, w->id);
		if (held == 0) {
			printf("node %llu: holds no replica on record (%.1f s after the drain was recorded)\n",
			       (unsigned long long)w->id, t - w->seen_s);
			return EXIT_OK;
		}
		if (t > w->timeout_s)
			return die(EXIT_NODE, "node %llu: still holds %lld replicas on record after %.1f s (aegisctl "
				   "rebalance status shows the moves)", (unsigned long long)w->id, held, w->timeout_s);
		return WATCH_MORE;
	}
	char st[32];
	member_state(d, w->id, st, sizeof(st));
	int meta = aeg_json_get(d, 0, "meta");
	bool here = false;
	if (meta >= 0)
		aeg_json_as_bool(d, aeg_json_get(d, meta, "here"), &here);
	if (strcmp(st, w->want) == 0) {
		printf("node %llu: %s (on record in the meta group)\n", (unsigned long long)w->id, w->want);
		if (!w->wait_empty)
			return EXIT_OK;
		fflush(stdout);
		w->seen = true;
		w->seen_s = t;
		return WATCH_MORE;
	}
	if (!here) {
		printf("node %llu: asked the meta group to record it %s (this node holds no meta "
		       "replica to confirm it: ask a meta voter's aegisctl)\n", (unsigned long long)w->id, w->want);
		return EXIT_OK;
	}
	if (t > w->timeout_s)
		return die(EXIT_NODE, "node %llu: asked, but not on record as %s after %.1f s (no meta "
			   "leader?)", (unsigned long long)w->id, w->want, w->timeout_s);
	return WATCH_MORE;
}

/* node add: the record as this node sees it (the node in its members),
 * with --wait then the new node healthy, holding replicas on record, and
 * the planner with nothing left to move. */
struct add_watch {
	uint64_t id;
	double timeout_s;
	bool wait;
	bool seen;
	double seen_s;
};

static int add_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	struct add_watch *w = ctx;
	char st[32];
	member_state(d, w->id, st, sizeof(st));
	bool listed = false;
	int arr = aeg_json_get(d, 0, "members");
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t v;
		listed |= aeg_json_as_u64(d, aeg_json_get(d, e, "id"), &v) && v == w->id;
	}
	if (!w->seen && listed) {
		printf("node %llu: on record as a member (state %s); start it with node.join = true and the "
		       "members as node.peers\n", (unsigned long long)w->id, st[0] ? st : "not heard yet");
		if (!w->wait)
			return EXIT_OK;
		fflush(stdout);
		w->seen = true;
		w->seen_s = t;
	}
	if (w->seen) {
		int rb = aeg_json_get(d, 0, "rebalance");
		uint64_t planned = 1;
		if (rb >= 0)
			aeg_json_as_u64(d, aeg_json_get(d, rb, "planned_moves"), &planned);
		int fl = rb >= 0 ? aeg_json_get(d, rb, "in_flight") : -1;
		bool flying = fl >= 0 && aeg_json_first(d, fl) >= 0;
		long long held = on_record(d, w->id);
		if (strcmp(st, "healthy") == 0 && held > 0 && planned == 0 && !flying) {
			printf("node %llu: healthy, %lld replicas on record, no moves left (%.1f s after the record)\n",
			       (unsigned long long)w->id, held, t - w->seen_s);
			return EXIT_OK;
		}
		if (t > w->timeout_s)
			return die(EXIT_NODE, "node %llu: %s, %lld replicas on record, %llu moves planned after %.1f s "
				   "(started with node.join = true? aegisctl rebalance status shows the moves)",
				   (unsigned long long)w->id, st[0] ? st : "never heard", held < 0 ? 0 : held,
				   (unsigned long long)planned, w->timeout_s);
		return WATCH_MORE;
	}
	if (t > w->timeout_s)
		return die(EXIT_NODE, "node %llu: asked, but not on record after %.1f s (no meta leader?)",
			   (unsigned long long)w->id, w->timeout_s);
	return WATCH_MORE;
}

static int node_add(const struct args *a, const char *path)
{
	struct add_watch w = { .id = strtoull(a->id, NULL, 10), .timeout_s = a->timeout_s, .wait = a->wait };
	if (w.wait && !a->timeout_set)
		w.timeout_s = 600;
	char req[192];
	snprintf(req, sizeof(req), "{\"cmd\":\"node_add\",\"id\":%llu,\"address\":\"%s\"}\n",
		 (unsigned long long)w.id, a->to);
	int code = ask_ok(path, req, a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, "{\"cmd\":\"status\"}\n", 200, add_check, &w);
}

static int node_change(const struct args *a, const char *path)
{
	bool remove = strcmp(a->sub, "remove") == 0;
	struct node_watch w = { .id = strtoull(a->id, NULL, 10), .want = remove ? "left" : "leaving",
				.timeout_s = a->timeout_s, .wait_empty = a->wait && !remove };
	if (w.wait_empty && !a->timeout_set)
		w.timeout_s = 600;
	char req[128];
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\",\"id\":%llu}\n", remove ? "node_remove" : "node_drain",
		 (unsigned long long)w.id);
	int code = ask_ok(path, req, a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, "{\"cmd\":\"status\"}\n", 100, node_check, &w);
}

/* leader transfer: the request to the shard's leader, then its table. */
struct transfer_watch {
	uint64_t shard, to;
	double timeout_s;
};

static int transfer_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	const struct transfer_watch *w = ctx;
	uint64_t lead = 0, term = 0;
	int arr = aeg_json_get(d, 0, "shards");
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t s;
		if (aeg_json_as_u64(d, aeg_json_get(d, e, "shard"), &s) && s == w->shard) {
			aeg_json_as_u64(d, aeg_json_get(d, e, "leader"), &lead);
			aeg_json_as_u64(d, aeg_json_get(d, e, "term"), &term);
		}
	}
	if (lead == w->to) {
		printf("shard %llu: leader %llu (term %llu)\n", (unsigned long long)w->shard, (unsigned long long)lead,
		       (unsigned long long)term);
		return EXIT_OK;
	}
	if (t > w->timeout_s)
		return die(EXIT_NODE, "shard %llu: leader still %llu after %.1f s (the transfer did not "
			   "complete: NODE behind or unreachable?)", (unsigned long long)w->shard,
			   (unsigned long long)lead, w->timeout_s);
	return WATCH_MORE;
}

static int leader_transfer(const struct args *a, const char *path)
{
	struct transfer_watch w = { .shard = strtoull(a->id, NULL, 10), .to = strtoull(a->to, NULL, 10),
				    .timeout_s = a->timeout_s };
	char req[128];
	snprintf(req, sizeof(req), "{\"cmd\":\"leader_transfer\",\"shard\":%llu,\"to\":%llu}\n",
		 (unsigned long long)w.shard, (unsigned long long)w.to);
	int code = ask_ok(path, req, a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, "{\"cmd\":\"shards\"}\n", 50, transfer_check, &w);
}

/* The shard's row in a status reply: voters and learners as lists; false
 * if this node holds no replica of it. */
static bool shard_row(const struct aeg_json_doc *d, uint64_t shard, char *voters, char *learners, uint64_t *lead)
{
	int arr = aeg_json_get(d, 0, "shards");
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t s;
		if (!aeg_json_as_u64(d, aeg_json_get(d, e, "shard"), &s) || s != shard)
			continue;
		struct table t = { .cols = 2 };
		table_row(&t);
		cell(&t, 0, d, e, NULL, "voters");
		cell(&t, 1, d, e, NULL, "learners");
		strcpy(voters, t.cells[0]);
		strcpy(learners, t.cells[1]);
		free(t.cells);
		aeg_json_as_u64(d, aeg_json_get(d, e, "leader"), lead);
		return true;
	}
	return false;
}

static bool in_list(const char *list, uint64_t id)
{
	for (const char *p = list; *p != '\0';) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end != p && v == id)
			return true;
		p = *end == ',' ? end + 1 : (*end == '\0' ? end : end + 1);
	}
	return false;
}

static uint64_t moves_failed(const struct aeg_json_doc *d)
{
	uint64_t v = 0;
	int m = aeg_json_get(d, 0, "moves");
	if (m >= 0)
		aeg_json_as_u64(d, aeg_json_get(d, m, "failed"), &v);
	return v;
}

/* shard move: the request to the shard's leader, then its shard table
 * until TO votes and FROM is gone (or the move failed there). */
struct move_watch {
	uint64_t shard, from, to, failed0;
	double wait_s;
	bool first;              /* the reply before the request: failed0 */
};

static int move_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	struct move_watch *w = ctx;
	char voters[CELL_BYTES], learners[CELL_BYTES];
	uint64_t lead = 0, node = 0;
	if (w->first) {
		w->failed0 = moves_failed(d);
		w->first = false;
		return EXIT_OK;
	}
	bool here = shard_row(d, w->shard, voters, learners, &lead);
	aeg_json_as_u64(d, aeg_json_get(d, 0, "node"), &node);
	if (!here && node != w->from) {
		printf("shard %llu: asked its voters to move %llu -> %llu (this node holds no replica to watch it: "
		       "aegisctl shard list on one that does)\n", (unsigned long long)w->shard, (unsigned long long)w->from,
		       (unsigned long long)w->to);
		return EXIT_OK;
	}
	if (here && in_list(voters, w->to) && !in_list(voters, w->from) && !in_list(learners, w->from)) {
		printf("shard %llu: moved %llu -> %llu in %.1f s; voters %s, leader %llu\n", (unsigned long long)w->shard,
		       (unsigned long long)w->from, (unsigned long long)w->to, t, voters, (unsigned long long)lead);
		return EXIT_OK;
	}
	if (!here && node == w->from) {
		printf("shard %llu: moved %llu -> %llu in %.1f s; this node's replica is gone\n",
		       (unsigned long long)w->shard, (unsigned long long)w->from, (unsigned long long)w->to, t);
		return EXIT_OK;
	}
	if (moves_failed(d) > w->failed0)
		return die(EXIT_NODE, "shard %llu: the move failed on this node after %.1f s (its log says why)",
			   (unsigned long long)w->shard, t);
	if (t > w->wait_s)
		return die(EXIT_NODE, "shard %llu: move %llu -> %llu not done after %.1f s (voters %s, learners "
			   "%s); it goes on: watch aegisctl shard list", (unsigned long long)w->shard,
			   (unsigned long long)w->from, (unsigned long long)w->to, w->wait_s, here ? voters : "?",
			   here ? learners : "?");
	return WATCH_MORE;
}

static int shard_move(const struct args *a, const char *path)
{
	struct move_watch w = { .shard = strtoull(a->id, NULL, 10), .from = strtoull(a->from, NULL, 10),
				.to = strtoull(a->to, NULL, 10), .wait_s = a->timeout_set ? a->timeout_s : 300,
				.first = true };
	const char *status = "{\"cmd\":\"status\"}\n";
	int code = watch(path, a->timeout_s, status, 100, move_check, &w);
	if (code != 0)
		return code;
	char req[160];
	snprintf(req, sizeof(req), "{\"cmd\":\"shard_move\",\"shard\":%llu,\"from\":%llu,\"to\":%llu}\n",
		 (unsigned long long)w.shard, (unsigned long long)w.from, (unsigned long long)w.to);
	code = ask_ok(path, req, a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, status, 100, move_check, &w);
}

/* shard split: the request to the shard's leader, then its status until
 * the split is done there (or failed). */
struct split_watch {
	uint64_t shard, done0, failed0;
	double wait_s;
	bool first;
	const char *what;        /* "split" or "merge" */
};

static void split_counts(const struct aeg_json_doc *d, uint64_t *done, uint64_t *failed)
{
	int sp = aeg_json_get(d, 0, "splits");
	*done = *failed = 0;
	if (sp >= 0) {
		aeg_json_as_u64(d, aeg_json_get(d, sp, "done"), done);
		aeg_json_as_u64(d, aeg_json_get(d, sp, "failed"), failed);
	}
}

static int split_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	struct split_watch *w = ctx;
	uint64_t done, failed;
	split_counts(d, &done, &failed);
	if (w->first) {
		w->done0 = done;
		w->failed0 = failed;
		w->first = false;
		return EXIT_OK;
	}
	int sp = aeg_json_get(d, 0, "splits"), arr = sp >= 0 ? aeg_json_get(d, sp, "active") : -1;
	char step[32] = "?";
	uint64_t copied = 0, to = 0;
	for (int e = arr >= 0 ? aeg_json_first(d, arr) : -1; e >= 0; e = aeg_json_after(d, arr, e)) {
		uint64_t s;
		if (aeg_json_as_u64(d, aeg_json_get(d, e, "shard"), &s) && s == w->shard) {
			aeg_json_as_str(d, aeg_json_get(d, e, "step"), step, sizeof(step));
			aeg_json_as_u64(d, aeg_json_get(d, e, "keys_copied"), &copied);
			aeg_json_as_u64(d, aeg_json_get(d, e, "to"), &to);
		}
	}
	if (done > w->done0) {
		printf("shard %llu: %s done in %.1f s (aegisctl shard list shows the ranges)\n",
		       (unsigned long long)w->shard, w->what, t);
		return EXIT_OK;
	}
	if (failed > w->failed0)
		return die(EXIT_NODE, "shard %llu: the %s failed on this node after %.1f s (its log says why)",
			   (unsigned long long)w->shard, w->what, t);
	if (t > w->wait_s)
		return die(EXIT_NODE, "shard %llu: %s not done after %.1f s (step %s, %llu keys copied into shard "
			   "%llu); it goes on: watch aegisctl status", (unsigned long long)w->shard, w->what, w->wait_s,
			   step, (unsigned long long)copied, (unsigned long long)to);
	return WATCH_MORE;
}

static int shard_split(const struct args *a, const char *path)
{
	bool merge = strcmp(a->sub, "merge") == 0;
	struct split_watch w = { .shard = strtoull(a->id, NULL, 10), .wait_s = a->timeout_set ? a->timeout_s : 300,
				 .first = true, .what = merge ? "merge" : "split" };
	const char *status = "{\"cmd\":\"status\"}\n";
	int code = watch(path, a->timeout_s, status, 100, split_check, &w);
	if (code != 0)
		return code;
	if (merge) {
		char req[96];
		snprintf(req, sizeof(req), "{\"cmd\":\"shard_merge\",\"shard\":%llu}\n", (unsigned long long)w.shard);
		code = ask_ok(path, req, a->timeout_s);
		return code != 0 ? code : watch(path, a->timeout_s, status, 100, split_check, &w);
	}
	struct aeg_json_out j;
	aeg_json_init(&j, 16384);
	if (a->key != NULL)
		aeg_json_strn(&j, a->key, strlen(a->key));
	char req[16384 + 128];
	snprintf(req, sizeof(req), "{\"cmd\":\"shard_split\",\"shard\":%llu%s%s%s%s}\n", (unsigned long long)w.shard,
		 a->key != NULL ? ",\"key\":" : "", a->key != NULL && j.buf != NULL ? j.buf : "",
		 a->spare != NULL ? ",\"to\":" : "", a->spare != NULL ? a->spare : "");
	aeg_json_free(&j);
	code = ask_ok(path, req, a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, status, 100, split_check, &w);
}

/* rebalance pause / resume: the record asked for, then watched where this
 * node has the records. */
struct switch_watch {
	bool pause;
	double timeout_s;
};

static int switch_check(const struct aeg_json_doc *d, double t, void *ctx)
{
	const struct switch_watch *w = ctx;
	bool paused = false, here = false;
	int rb = aeg_json_get(d, 0, "rebalance"), meta = aeg_json_get(d, 0, "meta");
	if (rb >= 0)
		aeg_json_as_bool(d, aeg_json_get(d, rb, "paused"), &paused);
	if (meta >= 0)
		aeg_json_as_bool(d, aeg_json_get(d, meta, "here"), &here);
	const char *want = w->pause ? "paused" : "running";
	if (!here) {
		printf("rebalance: asked the meta group to record it %s (this node holds no meta replica to "
		       "confirm it: ask a meta voter's aegisctl)\n", want);
		return EXIT_OK;
	}
	if (paused == w->pause) {
		printf("rebalance: %s (on record in the meta group)\n", want);
		return EXIT_OK;
	}
	if (t > w->timeout_s)
		return die(EXIT_NODE, "rebalance: asked, but not on record as %s after %.1f s (no meta leader?)", want,
			   w->timeout_s);
	return WATCH_MORE;
}

static int rebalance_switch(const struct args *a, const char *path)
{
	struct switch_watch w = { .pause = strcmp(a->sub, "pause") == 0, .timeout_s = a->timeout_s };
	int code = ask_ok(path, w.pause ? "{\"cmd\":\"rebalance_pause\"}\n" : "{\"cmd\":\"rebalance_resume\"}\n",
			  a->timeout_s);
	return code != 0 ? code : watch(path, a->timeout_s, "{\"cmd\":\"status\"}\n", 100, switch_check, &w);
}

int main(int argc, char **argv)
{
	struct args a;
	int code = parse_args(argc, argv, &a);
	if (code != 0)
		return code;
	if (a.help) {
		usage(stdout);
		return EXIT_OK;
	}
	char path[AEG_CONFIG_SOCKET_PATH_BYTES];
	if ((code = socket_path(&a, path, sizeof(path))) != 0)
		return code;
	if (strcmp(a.command, "node") == 0 && strcmp(a.sub, "add") == 0)
		return node_add(&a, path);
	if (strcmp(a.command, "node") == 0 && a.id != NULL)
		return node_change(&a, path);
	if (strcmp(a.command, "leader") == 0)
		return leader_transfer(&a, path);
	if (strcmp(a.command, "shard") == 0 && strcmp(a.sub, "move") == 0)
		return shard_move(&a, path);
	if (strcmp(a.command, "shard") == 0 && (strcmp(a.sub, "split") == 0 || strcmp(a.sub, "merge") == 0))
		return shard_split(&a, path);
	if (strcmp(a.command, "rebalance") == 0 && strcmp(a.sub, "status") != 0)
		return rebalance_switch(&a, path);
	char *line = NULL;
	/* shards: the same status request, only its shard table is printed. */
	if ((code = ask(path, "{\"cmd\":\"status\"}\n", a.timeout_s, &line)) != 0)
		return code;
	size_t len = strlen(line);
	struct aeg_json_doc d;
	struct aeg_json_tok *toks = malloc((len / 2 + 16) * sizeof(*toks));
	const char *why = "out of memory";
	bool ok = false;
	if (toks == NULL || aeg_json_parse(&d, line, len, toks, (uint32_t)(len / 2 + 16), &why) != 0 ||
	    d.toks[0].type != AEG_JSON_OBJECT || !aeg_json_as_bool(&d, aeg_json_get(&d, 0, "ok"), &ok)) {
		code = die(EXIT_NODE, "%s: unreadable reply (%s): %.200s", path,
			   toks == NULL || d.n == 0 ? why : "no \"ok\"", line);
	} else if (a.json) {
		printf("%s\n", line);
		code = ok ? EXIT_OK : EXIT_NODE;
	} else if (!ok) {
		char msg[1024] = "(no message)";
		aeg_json_as_str(&d, aeg_json_get(&d, 0, "error"), msg, sizeof(msg));
		code = die(EXIT_NODE, "the node says: %s", msg);
	} else if (strcmp(a.command, "shards") == 0 || strcmp(a.command, "shard") == 0) {
		print_shards(&d);
	} else if (strcmp(a.command, "node") == 0) {
		print_members(&d);
	} else if (strcmp(a.command, "cluster") == 0) {
		print_cluster(&d);
	} else if (strcmp(a.command, "rebalance") == 0) {
		print_rebalance(&d);
	} else {
		print_status(&d);
	}
	free(toks);
	free(line);
	if (fflush(stdout) != 0)
		return die(EXIT_NODE, "stdout: %s", strerror(errno));
	return code;
}
