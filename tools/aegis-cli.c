/* aegis-cli: talk to an Aegis cluster from the shell through the C client
 * (aegis/client.h): single operations, and pipelined loads and checks that
 * the integration tests and operators use.
 *
 *   aegis-cli --nodes 1=10.0.0.1:7100,2=... --key-file client.key [options] CMD ...
 *
 * Exit codes: 0 done, 1 the cluster answered but not as hoped (not found,
 * version mismatch, a value that does not verify), 2 usage, 3 the cluster
 * could not be reached or did not answer in time. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/client.h"
#include "config.h"

#define NODES_MAX 64
#define VALUE_MAX ((1u << 20) + 4096)

struct opts {
	const char *nodes[NODES_MAX];
	uint32_t n_nodes;
	char *nodes_buf;
	const char *key_file;
	uint8_t consistency;
	uint32_t timeout_ms;
	bool print_version;
	const char *prefix;
	uint32_t keys, value_bytes, window;
	const char *acked_file;
	uint64_t limit;        /* scan: keys at most (0: all) */
	bool keys_only;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegis-cli --nodes ID=IP:PORT[,...] --key-file FILE [options] COMMAND\n"
		"\n"
		"commands:\n"
		"  put KEY VALUE             write (prints nothing; exit 0 when acknowledged)\n"
		"  get KEY                   print the value (exit 1 if the key does not exist)\n"
		"  del KEY                   delete\n"
		"  cas KEY VERSION VALUE     write if the key's version is VERSION (0: absent)\n"
		"  append VALUE...           round_robin clusters: each VALUE under a new key on\n"
		"                            the next shard in turn; prints the keys\n"
		"  load --prefix P --keys N --value-bytes B [--acked-file F]\n"
		"                            write keys P0..P<N-1> with generated values,\n"
		"                            pipelined; F gets a line per acknowledged write\n"
		"  verify --prefix P --keys N --value-bytes B\n"
		"                            read them all back and compare\n"
		"  verify-acked --acked-file F  read back every write listed in F\n"
		"  scan [START [END]] [--prefix P] [--limit N] [--keys-only]\n"
		"                            print KEY<TAB>VALUE lines of the keys START <= key\n"
		"                            < END (or starting with P) in byte order, read\n"
		"                            from every shard and merged, page by page\n"
		"\n"
		"options:\n"
		"  --consistency one|quorum|all   (default: the node's configured level)\n"
		"  --timeout-ms N                 per attempt (default 500; 10 retries)\n"
		"  --window N                     operations in flight for load/verify (default 256)\n"
		"  --print-version                get prints \"VERSION VALUE\", scan KEY<TAB>VERSION<TAB>VALUE\n"
		"exit codes: 0 ok, 1 answered but not as hoped, 2 usage, 3 no answer\n");
}

/* ---- generated values ------------------------------------------------------ */

static uint32_t gen_value(uint8_t *buf, const char *key, uint32_t bytes)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (uint32_t j = 0; j < bytes; j++) {
		h = h * 6364136223846793005ull + 1442695040888963407ull;
		buf[j] = (uint8_t)('a' + (h >> 59) % 26);
	}
	return bytes;
}

/* ---- pipelined load / verify -------------------------------------------- */

struct slot {
	struct aeg_client_op op;
	char key[128];
	uint8_t *val;
	uint32_t bytes;
	bool busy;
};

/* The client calls this from poll; the loop below picks the result up. */
static void load_done(struct aeg_client_op *op)
{
	struct slot *s = op->user;
	s->busy = false;
}

static int run_ops(struct aeg_client *c, struct opts *o, bool verify, FILE *acked,
		   const char *(*key_at)(void *ctx, uint32_t i, uint32_t *bytes), void *ctx, uint32_t n)
{
	uint32_t window = o->window ? o->window : 256;
	struct slot *slots = calloc(window, sizeof(*slots));
	uint8_t *expect = malloc(VALUE_MAX);
	if (slots == NULL || expect == NULL)
		return 3;
	for (uint32_t k = 0; k < window; k++)
		slots[k].val = malloc(VALUE_MAX);
	uint64_t ok = 0, bad = 0, unanswered = 0, missing = 0;
	uint32_t next = 0, in_flight = 0;
	int first_bad = 0;
	for (uint32_t guard = 0; next < n || in_flight > 0; guard++) {
		for (uint32_t k = 0; k < window && next < n; k++) {
			struct slot *s = &slots[k];
			if (s->busy)
				continue;
			uint32_t bytes = o->value_bytes;
			const char *key = key_at(ctx, next++, &bytes);
			snprintf(s->key, sizeof(s->key), "%s", key);
			s->bytes = bytes;
			memset(&s->op, 0, sizeof(s->op));
			s->op.op = verify ? AEG_CLIENT_GET : AEG_CLIENT_PUT;
			s->op.consistency = o->consistency;
			s->op.key = s->key;
			s->op.key_len = (uint32_t)strlen(s->key);
			if (verify) {
				s->op.buf = s->val;
				s->op.buf_cap = VALUE_MAX;
			} else {
				s->op.value = s->val;
				s->op.value_len = gen_value(s->val, s->key, bytes);
			}
			s->op.done = load_done;
			s->op.user = s;
			if (aeg_client_submit(c, &s->op) != 0) {
				next--;
				break;
			}
			s->busy = true;
			in_flight++;
		}
		int rc = aeg_client_poll(c, 10);
		if (rc < 0) {
			fprintf(stderr, "aegis-cli: poll: %s\n", strerror(-rc));
			return 3;
		}
		for (uint32_t k = 0; k < window; k++) {
			struct slot *s = &slots[k];
			if (s->busy || s->op.user == NULL)
				continue;
			s->op.user = NULL;
			in_flight--;
			int st = s->op.status;
			if (st == AEG_CLIENT_OK && verify) {
				gen_value(expect, s->key, s->bytes);
				if (s->op.value_len != s->bytes || memcmp(expect, s->val, s->bytes) != 0) {
					fprintf(stderr, "aegis-cli: %s: value differs (%u bytes, expected %u)\n", s->key,
						s->op.value_len, s->bytes);
					bad++;
					continue;
				}
			}
			if (st == AEG_CLIENT_OK) {
				ok++;
				if (acked != NULL) {
					fprintf(acked, "%s %u %" PRIu64 "\n", s->key, s->bytes, s->op.version);
					fflush(acked);
				}
				continue;
			}
			if (first_bad == 0)
				first_bad = st;
			if (st == AEG_CLIENT_NOT_FOUND)
				missing++;
			else if (st == AEG_CLIENT_TIMEOUT || st < 0)
				unanswered++;
			else
				bad++;
			if (missing + unanswered + bad <= 5)
				fprintf(stderr, "aegis-cli: %s: %s\n", s->key,
					st < 0 ? strerror(-st) : aeg_client_status_name(st));
		}
	}
	fprintf(stderr, "aegis-cli: %s: %" PRIu64 " ok, %" PRIu64 " missing, %" PRIu64 " wrong, %" PRIu64
		" unanswered\n", verify ? "verify" : "load", ok, missing, bad, unanswered);
	for (uint32_t k = 0; k < window; k++)
		free(slots[k].val);
	free(slots);
	free(expect);
	if (bad > 0 || missing > 0)
		return 1;
	return unanswered > 0 ? 3 : 0;
}

struct seq_ctx {
	const char *prefix;
	char key[128];
};

static const char *seq_key(void *ctx, uint32_t i, uint32_t *bytes)
{
	struct seq_ctx *s = ctx;
	(void)bytes;
	snprintf(s->key, sizeof(s->key), "%s%u", s->prefix, i);
	return s->key;
}

struct acked_ctx {
	char (*keys)[128];
	uint32_t *bytes;
};

static const char *acked_key(void *ctx, uint32_t i, uint32_t *bytes)
{
	struct acked_ctx *a = ctx;
	*bytes = a->bytes[i];
	return a->keys[i];
}

static int verify_acked(struct aeg_client *c, struct opts *o)
{
	FILE *f = fopen(o->acked_file, "r");
	if (f == NULL) {
		fprintf(stderr, "aegis-cli: %s: %s\n", o->acked_file, strerror(errno));
		return 2;
	}
	uint32_t cap = 1024, n = 0;
	struct acked_ctx a = { malloc(cap * 128), malloc(cap * sizeof(uint32_t)) };
	char line[256];
	while (a.keys != NULL && a.bytes != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (n == cap) {
			cap *= 2;
			a.keys = realloc(a.keys, (size_t)cap * 128);
			a.bytes = realloc(a.bytes, cap * sizeof(uint32_t));
			if (a.keys == NULL || a.bytes == NULL)
				break;
		}
		if (sscanf(line, "%127s %u", a.keys[n], &a.bytes[n]) == 2)
			n++;
	}
	fclose(f);
	if (a.keys == NULL || a.bytes == NULL)
		return 3;
	o->consistency = AEG_CLIENT_QUORUM;
	int rc = run_ops(c, o, true, NULL, acked_key, &a, n);
	free(a.keys);
	free(a.bytes);
	return rc;
}

/* ---- single operations ---------------------------------------------------- */

static int status_exit(const char *what, int st)
{
	if (st == AEG_CLIENT_OK)
		return 0;
	fprintf(stderr, "aegis-cli: %s: %s\n", what, st < 0 ? strerror(-st) : aeg_client_status_name(st));
	if (st == AEG_CLIENT_NOT_FOUND || st == AEG_CLIENT_VERSION_MISMATCH || st == AEG_CLIENT_TOO_LARGE ||
	    st == AEG_CLIENT_NO_SPACE || st == AEG_CLIENT_BAD_REQUEST)
		return 1;
	return 3;
}

static int single(struct aeg_client *c, struct opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	uint64_t version = 0;
	if (strcmp(cmd, "put") == 0 && argc == 3)
		return status_exit("put", aeg_client_put(c, argv[1], (uint32_t)strlen(argv[1]), argv[2],
							 (uint32_t)strlen(argv[2]), o->consistency, &version));
	if (strcmp(cmd, "del") == 0 && argc == 2)
		return status_exit("del", aeg_client_del(c, argv[1], (uint32_t)strlen(argv[1]), o->consistency));
	if (strcmp(cmd, "cas") == 0 && argc == 4) {
		char *end;
		uint64_t expect = strtoull(argv[2], &end, 10);
		if (*end != '\0') {
			fprintf(stderr, "aegis-cli: cas: VERSION must be a number\n");
			return 2;
		}
		int st = aeg_client_cas(c, argv[1], (uint32_t)strlen(argv[1]), argv[3], (uint32_t)strlen(argv[3]),
					expect, o->consistency, &version);
		if (st == AEG_CLIENT_VERSION_MISMATCH)
			fprintf(stderr, "aegis-cli: cas: the key's version is %" PRIu64 "\n", version);
		return status_exit("cas", st);
	}
	if (strcmp(cmd, "append") == 0 && argc >= 2) {
		char key[AEG_CLIENT_APPEND_KEY_BYTES];
		uint32_t klen;
		for (int i = 1; i < argc; i++) {
			int st = aeg_client_append(c, argv[i], (uint32_t)strlen(argv[i]), o->consistency, key,
						   sizeof(key), &klen);
			if (st == -EINVAL) {
				fprintf(stderr, "aegis-cli: append: the cluster's strategy is not round_robin\n");
				return 1;
			}
			if (st != AEG_CLIENT_OK)
				return status_exit("append", st);
			printf("%s\n", key);
		}
		return 0;
	}
	if (strcmp(cmd, "get") == 0 && argc == 2) {
		uint8_t *buf = malloc(VALUE_MAX);
		uint32_t len = VALUE_MAX;
		if (buf == NULL)
			return 3;
		int st = aeg_client_get(c, argv[1], (uint32_t)strlen(argv[1]), buf, &len, o->consistency, &version);
		if (st == AEG_CLIENT_OK) {
			if (o->print_version)
				printf("%" PRIu64 " ", version);
			fwrite(buf, 1, len, stdout);
			putchar('\n');
		}
		free(buf);
		return status_exit("get", st);
	}
	fprintf(stderr, "aegis-cli: unknown command or wrong arguments: %s (see --help)\n", cmd);
	return 2;
}

/* ---- scatter read ----------------------------------------------------------- */

/* scan [START [END]]: pages of up to 1000 keys until the range or --limit
 * is done. --prefix P: START = P, END = P's successor (P with its last byte
 * that is not 0xff raised by one, the rest cut; none: to the end). */
static int scan(struct aeg_client *c, struct opts *o, int argc, char **argv)
{
	if (argc > 3 || (o->prefix != NULL && argc > 1)) {
		fprintf(stderr, "aegis-cli: scan takes START [END] or --prefix P (see --help)\n");
		return 2;
	}
	char *end_buf = NULL;
	struct aeg_client_scan s = { .consistency = o->consistency };
	if (o->prefix != NULL) {
		size_t n = strlen(o->prefix);
		end_buf = strdup(o->prefix);
		while (n > 0 && (uint8_t)end_buf[n - 1] == 0xff)
			n--;
		if (n > 0)
			end_buf[n - 1]++;
		s.start = o->prefix, s.start_len = (uint32_t)strlen(o->prefix);
		s.end = end_buf, s.end_len = (uint32_t)n;
	} else {
		if (argc >= 2)
			s.start = argv[1], s.start_len = (uint32_t)strlen(argv[1]);
		if (argc == 3)
			s.end = argv[2], s.end_len = (uint32_t)strlen(argv[2]);
	}
	uint64_t printed = 0, pages = 0;
	int st = AEG_CLIENT_OK;
	uint32_t shards = 0;
	for (;;) {
		uint64_t left = o->limit ? o->limit - printed : UINT64_MAX;
		s.limit = left < 1000 ? (uint32_t)left : 1000;
		st = aeg_client_scan(c, &s);
		if (st != AEG_CLIENT_OK)
			break;
		pages++;
		shards = s.shards;
		for (uint32_t i = 0; i < s.n; i++) {
			const struct aeg_client_kv *kv = &s.items[i];
			fwrite(kv->key, 1, kv->key_len, stdout);
			if (o->print_version)
				printf("\t%" PRIu64, kv->version);
			if (!o->keys_only) {
				putchar('\t');
				fwrite(kv->value, 1, kv->value_len, stdout);
			}
			putchar('\n');
		}
		printed += s.n;
		if (!s.more || (o->limit && printed >= o->limit))
			break;
		s.start = s.next, s.start_len = s.next_len;
	}
	fprintf(stderr, "aegis-cli: scan: %" PRIu64 " keys, %" PRIu64 " pages, %u shards each\n", printed, pages,
		shards);
	aeg_client_scan_free(&s);
	free(end_buf);
	return status_exit("scan", st);
}

/* ---- main ------------------------------------------------------------------ */

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' }, { "key-file", required_argument, NULL, 'k' },
		{ "consistency", required_argument, NULL, 'c' }, { "timeout-ms", required_argument, NULL, 't' },
		{ "print-version", no_argument, NULL, 'v' }, { "prefix", required_argument, NULL, 'p' },
		{ "keys", required_argument, NULL, 'K' }, { "value-bytes", required_argument, NULL, 'b' },
		{ "window", required_argument, NULL, 'w' }, { "acked-file", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' }, { "keys-only", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->nodes_buf = strdup(optarg);
			for (char *s = strtok(o->nodes_buf, ","); s != NULL && o->n_nodes < NODES_MAX; s = strtok(NULL, ","))
				o->nodes[o->n_nodes++] = s;
			break;
		case 'k': o->key_file = optarg; break;
		case 'c':
			o->consistency = strcmp(optarg, "one") == 0 ? AEG_CLIENT_ONE
					 : strcmp(optarg, "quorum") == 0 ? AEG_CLIENT_QUORUM
					 : strcmp(optarg, "all") == 0 ? AEG_CLIENT_ALL : 255;
			if (o->consistency == 255) {
				fprintf(stderr, "aegis-cli: --consistency one, quorum or all\n");
				return -1;
			}
			break;
		case 't': o->timeout_ms = (uint32_t)atoi(optarg); break;
		case 'v': o->print_version = true; break;
		case 'p': o->prefix = optarg; break;
		case 'K': o->keys = (uint32_t)atoi(optarg); break;
		case 'b': o->value_bytes = (uint32_t)atoi(optarg); break;
		case 'w': o->window = (uint32_t)atoi(optarg); break;
		case 'a': o->acked_file = optarg; break;
		case 'l': o->limit = strtoull(optarg, NULL, 10); break;
		case 'o': o->keys_only = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (o->n_nodes == 0 || optind >= argc) {
		fprintf(stderr, "aegis-cli: --nodes and a command are required (see --help)\n");
		return -1;
	}
	if (o->value_bytes > VALUE_MAX - 4096) {
		fprintf(stderr, "aegis-cli: --value-bytes at most %u\n", VALUE_MAX - 4096);
		return -1;
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct opts o = { .value_bytes = 64 };
	int first = parse(argc, argv, &o);
	if (first < 0)
		return 2;
	struct aeg_client_cfg cfg = {
		.nodes = o.nodes, .node_count = o.n_nodes, .timeout_ms = o.timeout_ms ? o.timeout_ms : 500,
		.retries = 10,  /* rides out an election or two */
	};
	if (o.key_file != NULL) {
		char err[256];
		if (aeg_config_load_key(o.key_file, cfg.key.bytes, err, sizeof(err)) != 0) {
			fprintf(stderr, "aegis-cli: %s\n", err);
			return 2;
		}
	}
	struct aeg_client *c;
	int rc = aeg_client_open(&c, &cfg);
	if (rc != 0) {
		fprintf(stderr, "aegis-cli: cannot reach the cluster (shard map): %s\n", strerror(-rc));
		return rc == -EINVAL ? 2 : 3;
	}
	const char *cmd = argv[first];
	int code;
	if (strcmp(cmd, "load") == 0 || strcmp(cmd, "verify") == 0) {
		if (o.prefix == NULL || o.keys == 0) {
			fprintf(stderr, "aegis-cli: %s needs --prefix and --keys\n", cmd);
			code = 2;
		} else {
			FILE *acked = NULL;
			if (o.acked_file != NULL && (acked = fopen(o.acked_file, "w")) == NULL) {
				fprintf(stderr, "aegis-cli: %s: %s\n", o.acked_file, strerror(errno));
				code = 2;
			} else {
				struct seq_ctx sc = { .prefix = o.prefix };
				code = run_ops(c, &o, cmd[0] == 'v', acked, seq_key, &sc, o.keys);
				if (acked != NULL)
					fclose(acked);
			}
		}
	} else if (strcmp(cmd, "scan") == 0) {
		code = scan(c, &o, argc - first, argv + first);
	} else if (strcmp(cmd, "verify-acked") == 0 && o.acked_file != NULL) {
		code = verify_acked(c, &o);
	} else {
		code = single(c, &o, argc - first, argv + first);
	}
	if (getenv("AEGIS_CLI_STATS") != NULL) {
		struct aeg_client_stats cs;
		aeg_client_get_stats(c, &cs);
		fprintf(stderr, "aegis-cli: client: %llu ops, %llu datagrams sent, %llu received, %llu items sent, "
			"%llu retransmits, %llu redirects, %llu timeouts, %llu stray replies, %llu send errors, "
			"%llu send again, %llu nodes suspected, %llu sends past a suspect\n",
			(unsigned long long)cs.ops_completed, (unsigned long long)cs.dgrams_sent,
			(unsigned long long)cs.dgrams_received, (unsigned long long)cs.items_sent,
			(unsigned long long)cs.retransmits, (unsigned long long)cs.redirects,
			(unsigned long long)cs.timeouts, (unsigned long long)cs.stray_replies,
			(unsigned long long)cs.send_errors, (unsigned long long)cs.send_again,
			(unsigned long long)cs.suspects, (unsigned long long)cs.suspect_skips);
	}
	aeg_client_close(c);
	free(o.nodes_buf);
	return code;
}
