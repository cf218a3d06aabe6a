/* Parsing aegis-bench's command line (opts.h). */
#define _GNU_SOURCE
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyval.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: aegis-bench --nodes ID=IP:PORT[,...] --client-key FILE [options]\n"
"       aegis-bench --nodes ... --client-key FILE --verify RECORD_FILE\n"
"\n"
"Load generator for a running Aegis cluster (through aegis/client.h only).\n"
"\n"
"target:\n"
"  --nodes LIST            nodes to fetch the shard map from, e.g.\n"
"                          1=10.0.0.1:7100,2=10.0.0.2:7100 (repeatable)\n"
"  --client-key FILE       the cluster's CLIENT key (32 hex digits)\n"
"  --consistency L         one, quorum or all, for writes and CAS (quorum)\n"
"  --read-consistency L    for reads (as --consistency)\n"
"  --timeout-ms N          per attempt (500)   --retries N  resends (5)\n"
"  --writes-per-shard N    writes in flight per shard and client (the client's 64)\n"
"  --dgram-bytes N         request datagram size, 512..65507 (1472; at most the nodes'\n"
"                          node.frame_bytes and the path MTU - 28)\n"
"  --session-window N      the nodes' results kept per client and shard (1024, what\n"
"                          aegisd keeps): a shard takes no new write while N of its\n"
"                          writes are unsettled\n"
"load:\n"
"  --threads T             client threads, one aeg_client each (1)\n"
"  --outstanding N         closed loop: operations in flight per thread (256);\n"
"                          open loop: the most in flight per thread (4096)\n"
"  --rate OPS              open loop at OPS operations/s in total; latency counts\n"
"                          from each operation's intended send time (default: closed loop)\n"
"  --duration S            measured seconds (10)   --warmup S  before it (1)\n"
"  --ops N                 measure N operations (with --duration: whichever ends first)\n"
"  --keys N                key space (100000)\n"
"  --dist D                uniform or zipf[:THETA], 0 < THETA < 1 (uniform; 0.99)\n"
"  --key-bytes N           (16)   --value-bytes N (64)\n"
"  --reads PCT             reads (0)   --cas PCT  compare-and-swaps (0); the rest writes\n"
"  --seed N                key and operation choice (1)\n"
"output:\n"
"  --json FILE             the JSON line to FILE (default: stdout, after the summary)\n"
"  --csv FILE              one row per second    --plot FILE.png  gnuplot chart\n"
"  --quiet                 no progress line each second (stderr)\n"
"correctness:\n"
"  --record FILE           one line per acknowledged write (key version digest tag len;\n"
"                          the file is truncated first)\n"
"  --verify                with --record: read every recorded key back at quorum at the end\n"
"  --verify FILE           only that: check FILE against the cluster, no load\n"
"  --verify-show N         failing keys named on stderr (20)\n"
"  --history FILE          every operation with its call and return times, for\n"
"                          aegis-lincheck (a small --keys; --value-bytes >= 24)\n"
"\n"
"exit codes: 0 ok, 1 verify failed or the run failed (no cluster, client error,\n"
"nothing answered), 2 usage\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "aegis-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return 2;
}

static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	double v;
	if (num(s, lo, hi, &v) != 0 || v != floor(v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int consistency(const char *s, uint8_t *out)
{
	*out = strcmp(s, "one") == 0 ? AEG_CLIENT_ONE : strcmp(s, "quorum") == 0 ? AEG_CLIENT_QUORUM
	       : strcmp(s, "all") == 0 ? AEG_CLIENT_ALL : 0;
	return *out ? 0 : -1;
}

static int load_key(const char *path, struct aeg_wire_key *key)
{
	char text[80];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	if (n != 2 * (ssize_t)sizeof(key->bytes))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(key->bytes); i++) {
		unsigned v;
		if (sscanf(text + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		key->bytes[i] = (uint8_t)v;
	}
	return 0;
}

enum { O_NODES = 256, O_KEY, O_CL, O_RCL, O_TIMEOUT, O_RETRIES, O_WPS, O_DGRAM, O_SESSWIN, O_THREADS, O_OUT, O_RATE, O_DUR,
       O_WARM, O_OPS, O_KEYS, O_DIST, O_KB, O_VB, O_READS, O_CAS, O_SEED, O_JSON, O_CSV, O_PLOT, O_QUIET,
       O_RECORD, O_VERIFY, O_SHOW, O_HISTORY, O_HELP };

static const struct option long_opts[] = {
	{ "nodes", required_argument, NULL, O_NODES }, { "client-key", required_argument, NULL, O_KEY },
	{ "key-file", required_argument, NULL, O_KEY }, { "consistency", required_argument, NULL, O_CL },
	{ "read-consistency", required_argument, NULL, O_RCL }, { "timeout-ms", required_argument, NULL, O_TIMEOUT },
	{ "retries", required_argument, NULL, O_RETRIES }, { "writes-per-shard", required_argument, NULL, O_WPS },
	{ "dgram-bytes", required_argument, NULL, O_DGRAM }, { "session-window", required_argument, NULL, O_SESSWIN },
	{ "threads", required_argument, NULL, O_THREADS }, { "outstanding", required_argument, NULL, O_OUT },
	{ "rate", required_argument, NULL, O_RATE }, { "duration", required_argument, NULL, O_DUR },
	{ "warmup", required_argument, NULL, O_WARM }, { "ops", required_argument, NULL, O_OPS },
	{ "keys", required_argument, NULL, O_KEYS }, { "dist", required_argument, NULL, O_DIST },
	{ "key-bytes", required_argument, NULL, O_KB }, { "value-bytes", required_argument, NULL, O_VB },
	{ "reads", required_argument, NULL, O_READS }, { "cas", required_argument, NULL, O_CAS },
	{ "seed", required_argument, NULL, O_SEED }, { "json", required_argument, NULL, O_JSON },
	{ "csv", required_argument, NULL, O_CSV }, { "plot", required_argument, NULL, O_PLOT },
	{ "quiet", no_argument, NULL, O_QUIET }, { "record", required_argument, NULL, O_RECORD },
	{ "verify", optional_argument, NULL, O_VERIFY }, { "verify-show", required_argument, NULL, O_SHOW },
	{ "history", required_argument, NULL, O_HISTORY },
	{ "help", no_argument, NULL, O_HELP }, { NULL, 0, NULL, 0 },
};

static int add_nodes(struct opts *o, const char *arg)
{
	if (o->n_nodes_mem == OPTS_NODES_MAX)
		return bad("too many --nodes %s", "");
	char *s = strdup(arg), *save = NULL;
	if (s == NULL)
		return 2;
	o->nodes_mem[o->n_nodes_mem++] = s;
	for (char *tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct aeg_client_addr a;
		if (aeg_client_parse_addr(tok, &a) != 0)
			return bad("--nodes: '%s' is not ID=IPv4:PORT", tok);
		if (o->n_nodes == OPTS_NODES_MAX)
			return bad("--nodes: more than 64 nodes%s", "");
		o->nodes[o->n_nodes++] = tok;
	}
	return 0;
}

/* One option; 0 or 2. */
static int one(struct opts *o, int c, const char *a)
{
	struct wl_params *p = &o->p;
	double v = 0;
	int rc;
	switch (c) {
	case O_NODES: return add_nodes(o, a);
	case O_KEY:
		if ((rc = load_key(a, &o->key)) != 0)
			return bad("--client-key %s: not readable, or not 32 hex digits", a);
		return 0;
	case O_CL: return consistency(a, &p->write_cl) ? bad("--consistency %s: one, quorum or all", a) : 0;
	case O_RCL: return consistency(a, &p->read_cl) ? bad("--read-consistency %s: one, quorum or all", a) : 0;
	case O_TIMEOUT: return u32(a, 1, 600000, &o->timeout_ms) ? bad("--timeout-ms %s: 1..600000", a) : 0;
	case O_RETRIES: return u32(a, 1, 1000, &o->retries) ? bad("--retries %s: 1..1000", a) : 0;
	case O_SESSWIN: return u32(a, 1, 65535, &o->session_window) ? bad("--session-window %s: 1..65535", a) : 0;
	case O_DGRAM: return u32(a, 512, 65507, &o->dgram_bytes) ? bad("--dgram-bytes %s: 512..65507", a) : 0;
	case O_WPS: return u32(a, 1, 65535, &o->writes_per_shard) ? bad("--writes-per-shard %s: 1..65535", a) : 0;
	case O_THREADS: return u32(a, 1, 256, &p->threads) ? bad("--threads %s: 1..256", a) : 0;
	case O_OUT: return u32(a, 1, 1u << 20, &p->outstanding) ? bad("--outstanding %s: 1..1048576", a) : 0;
	case O_RATE: return num(a, 0.001, 1e9, &p->rate) ? bad("--rate %s: operations/s above 0", a) : 0;
	case O_DUR: return num(a, 0.01, 1e7, &p->duration_s) ? bad("--duration %s: seconds above 0", a) : 0;
	case O_WARM: return num(a, 0, 1e6, &p->warmup_s) ? bad("--warmup %s: seconds", a) : 0;
	case O_OPS:
		if (num(a, 1, 1e15, &v) != 0)
			return bad("--ops %s: a count above 0", a);
		p->ops = (uint64_t)v;
		return 0;
	case O_KEYS:
		if (num(a, 1, 1e15, &v) != 0)
			return bad("--keys %s: a count above 0", a);
		p->keys = (uint64_t)v;
		return 0;
	case O_DIST:
		if (strcmp(a, "uniform") == 0) {
			p->zipf = false;
			return 0;
		}
		if (strncmp(a, "zipf", 4) != 0 || (a[4] != '\0' && a[4] != ':') ||
		    (a[4] == ':' && (num(a + 5, 1e-6, 0.999999, &v) != 0)))
			return bad("--dist %s: uniform, zipf or zipf:THETA with 0 < THETA < 1", a);
		p->zipf = true;
		p->zipf_gen.theta = a[4] == ':' ? v : 0.99;
		return 0;
	case O_KB: return u32(a, 2, KV_KEY_BYTES_MAX, &p->key_bytes) ? bad("--key-bytes %s: 2..4096", a) : 0;
	case O_VB:
		return u32(a, 0, AEG_CLIENT_VALUE_BYTES_MAX, &p->value_bytes) ? bad("--value-bytes %s: 0..64 MiB", a) : 0;
	case O_READS: return num(a, 0, 100, &p->reads_pct) ? bad("--reads %s: 0..100", a) : 0;
	case O_CAS: return num(a, 0, 100, &p->cas_pct) ? bad("--cas %s: 0..100", a) : 0;
	case O_SEED:
		if (num(a, 0, 1.8e19, &v) != 0)
			return bad("--seed %s: a number", a);
		p->seed = (uint64_t)v;
		return 0;
	case O_JSON: o->json = a; return 0;
	case O_CSV: o->csv = a; return 0;
	case O_PLOT: o->plot = a; return 0;
	case O_QUIET: o->quiet = true; return 0;
	case O_RECORD: o->record = a; return 0;
	case O_HISTORY: o->history = a; return 0;
	case O_VERIFY:
		if (a != NULL)
			o->verify_file = a;
		else
			o->verify_after = true;
		return 0;
	case O_SHOW: return u32(a, 0, 1u << 30, &o->verify_show) ? bad("--verify-show %s: a count", a) : 0;
	case O_HELP: usage(stdout); exit(0);
	default: return 2;
	}
}

static int check(struct opts *o, bool have_key)
{
	struct wl_params *p = &o->p;
	if (o->n_nodes == 0 || !have_key)
		return bad("--nodes and --client-key are required%s", "");
	if (o->verify_file != NULL)
		return o->record != NULL ? bad("--verify FILE checks a file; --record runs a load: pick one%s", "") : 0;
	if (o->verify_after && o->record == NULL)
		return bad("--verify without a FILE needs --record FILE (the run to check)%s", "");
	if (o->history != NULL && p->value_bytes < 24)
		return bad("--history needs --value-bytes of at least 24 (a read must tell which write%s)",
			   " it saw");
	if (p->reads_pct + p->cas_pct > 100)
		return bad("--reads plus --cas over 100%s", "");
	if (p->key_bytes < kv_key_bytes_min(p->keys)) {
		char s[64];
		snprintf(s, sizeof(s), "%u", kv_key_bytes_min(p->keys));
		return bad("--key-bytes too small for --keys: at least %s", s);
	}
	if (p->zipf && zipf_init(&p->zipf_gen, p->keys, p->zipf_gen.theta) != 0)
		return bad("--dist zipf: bad theta%s", "");
	if (p->outstanding == 0)
		p->outstanding = p->rate > 0 ? 4096 : 256;
	if (p->duration_s == 0 && p->ops == 0)
		p->duration_s = 10;
	if (p->read_cl == 0)
		p->read_cl = p->write_cl;
	p->drain_ms = o->timeout_ms * (o->retries + 1) + 1000;
	return 0;
}

int opts_parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->p = (struct wl_params){ .threads = 1, .keys = 100000, .key_bytes = 16, .value_bytes = 64,
				   .write_cl = AEG_CLIENT_QUORUM, .warmup_s = 1, .seed = 1, .record_fd = -1,
				   .history_fd = -1 };
	o->p.zipf_gen.theta = 0.99;
	o->timeout_ms = 500;
	o->retries = 5;
	o->verify_show = 20;
	bool have_key = false;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c == '?')
			return 2;
		if ((rc = one(o, c, optarg)) != 0)
			return rc;
		have_key |= c == O_KEY;
	}
	/* "--verify FILE": getopt leaves FILE as an operand */
	if (o->verify_after && o->record == NULL && optind < argc) {
		o->verify_file = argv[optind++];
		o->verify_after = false;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	return check(o, have_key);
}

void opts_free(struct opts *o)
{
	for (uint32_t i = 0; i < o->n_nodes_mem; i++)
		free(o->nodes_mem[i]);
	o->n_nodes_mem = 0;
}
