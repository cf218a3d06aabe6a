/* Command line of a dataplane node (node_args.h): split at "--", then
 * getopt_long over the node's own options. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node_args.h"

/* The fixed test key used when --key is not given (with a warning). */
static const struct aeg_wire_key default_key = { .bytes = {
	0xae, 0x61, 0x15, 0x00, 0x7e, 0x57, 0x6b, 0x65,
	0x79, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 } };

enum {
	OPT_PORT = 256, OPT_ETH_PORT, OPT_NODE, OPT_IP, OPT_BASE_PORT, OPT_WORKERS, OPT_PEER,
	OPT_STATIC_ARP, OPT_CLUSTER, OPT_KEY, OPT_MODE, OPT_DST, OPT_MSGS, OPT_MSG_BYTES,
	OPT_WINDOW, OPT_DURATION, OPT_STATS_JSON, OPT_STATS_INTERVAL, OPT_READY_FILE,
};

static const struct option options[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "eth-port", required_argument, NULL, OPT_ETH_PORT },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "base-port", required_argument, NULL, OPT_BASE_PORT },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "static-arp", no_argument, NULL, OPT_STATIC_ARP },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "dst", required_argument, NULL, OPT_DST },
	{ "msgs", required_argument, NULL, OPT_MSGS },
	{ "msg-bytes", required_argument, NULL, OPT_MSG_BYTES },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "stats-json", required_argument, NULL, OPT_STATS_JSON },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "ready-file", required_argument, NULL, OPT_READY_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int aeg_node_args_option(const char *name)
{
	for (const struct option *o = options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o->val == 'h' ? -1 : o->has_arg == required_argument;
	return -1;
}

void aeg_node_args_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [EAL args] -- [options]   (with --port udp, EAL args and \"--\" may be omitted)\n"
		"  --config FILE            settings from FILE, one \"key = value\" per line (keys: these\n"
		"                           options without \"--\", and eal = EAL args); the command\n"
		"                           line's own settings come after it and win\n"
		"  --port udp|ethdev        transport (default ethdev when EAL args are given, else udp)\n"
		"  --eth-port N             ethdev port id (default 0)\n"
		"  --node ID                this node's id (required, 1..2^32-1)\n"
		"  --ip A.B.C.D             this node's IPv4 (required)\n"
		"  --base-port P            worker w listens on UDP P+w (default 7400)\n"
		"  --workers N              workers = queues (default 1, at most %u)\n"
		"  --peer ID=A.B.C.D[:PORT][@MAC]  a cluster node (repeatable; :PORT its base port\n"
		"                           if not --base-port; @MAC: a static neighbour entry)\n"
		"  --static-arp             only static neighbour entries, no ARP requests\n"
		"  --cluster N              cluster id (default 1)\n"
		"  --key HEX                32 hex digits, the cluster key (default: a test key)\n"
		"  --mode echo|send|sink    (default echo)\n"
		"  --dst ID                 send: destination node\n"
		"  --msgs N                 send: messages per worker (default 10000)\n"
		"  --msg-bytes B            send: body bytes (default 64, 16 .. 1 MiB + 64 KiB; over a\n"
		"                           frame: fragmented, see aegis/frag.h)\n"
		"  --window N               send: messages in flight per worker (default 256)\n"
		"  --duration SEC           echo/sink: run time (default: until a signal); send: timeout (30)\n"
		"  --stats-json FILE        counters as one JSON object at exit\n"
		"  --stats-interval SEC     a stats line on stderr every SEC (default 0 = off)\n"
		"  --ready-file FILE        written once the port is up and workers run\n"
		"  -h, --help\n"
		"exit: 0 ok, 1 run failed, 2 usage/config error, 3 port/EAL setup failed\n",
		prog, AEG_DP_WORKERS_MAX);
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= 0) || v > 1e7)
		return false;
	*out = v;
	return true;
}

static bool parse_key(const char *s, struct aeg_wire_key *key)
{
	if (strlen(s) != 2 * AEG_WIRE_KEY_BYTES)
		return false;
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], '\0' };
		if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]))
			return false;
		key->bytes[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	return true;
}

/* ID=A.B.C.D[:PORT][@MAC] */
static bool parse_peer(const char *s, struct aeg_dp_peer *p)
{
	char buf[64];
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	char *eq = strchr(buf, '='), *at = strchr(buf, '@'), *colon;
	if (eq == NULL)
		return false;
	*eq = '\0';
	if (at != NULL)
		*at = '\0';
	colon = strchr(eq + 1, ':');
	if (colon != NULL)
		*colon = '\0';
	uint64_t id, port = 0;
	*p = (struct aeg_dp_peer){ .has_mac = at != NULL };
	if (!parse_u64(buf, 1, UINT32_MAX, &id) || aeg_net_ipv4_parse(eq + 1, &p->ipv4) != 0 ||
	    (colon != NULL && !parse_u64(colon + 1, 1, UINT16_MAX, &port)) ||
	    (at != NULL && aeg_net_mac_parse(at + 1, &p->mac) != 0))
		return false;
	p->node = (uint32_t)id;
	p->base_port = (uint16_t)port;
	return true;
}

static bool eal_picks_cores(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "-c") == 0 ||
		    strncmp(argv[i], "--lcores", 8) == 0 ||
		    (argv[i][0] == '-' && (argv[i][1] == 'l' || argv[i][1] == 'c') &&
		     argv[i][2] >= '0' && argv[i][2] <= '9'))
			return true;
	return false;
}

/* One option into *a; returns 0 or -EINVAL with err filled. */
static int apply(struct aeg_node_args *a, int opt, const char *v, char *err, size_t err_len)
{
	uint64_t u = 0;
	switch (opt) {
	case OPT_PORT:
		if (strcmp(v, "udp") == 0)
			a->dp.port = AEG_DP_PORT_UDP;
		else if (strcmp(v, "ethdev") == 0)
			a->dp.port = AEG_DP_PORT_ETHDEV;
		else
			return fail(err, err_len, "--port: udp or ethdev, not '%s'", v);
		return 0;
	case OPT_MODE:
		if (strcmp(v, "echo") == 0)
			a->mode = AEG_NODE_MODE_ECHO;
		else if (strcmp(v, "send") == 0)
			a->mode = AEG_NODE_MODE_SEND;
		else if (strcmp(v, "sink") == 0)
			a->mode = AEG_NODE_MODE_SINK;
		else
			return fail(err, err_len, "--mode: echo, send or sink, not '%s'", v);
		return 0;
	case OPT_IP:
		return aeg_net_ipv4_parse(v, &a->dp.ipv4) == 0 ? 0 :
		       fail(err, err_len, "--ip: not an IPv4 address: '%s'", v);
	case OPT_PEER:
		if (a->dp.peer_count == AEG_DP_PEERS_MAX)
			return fail(err, err_len, "--peer: at most %u peers", AEG_DP_PEERS_MAX);
		if (!parse_peer(v, &a->dp.peers[a->dp.peer_count]))
			return fail(err, err_len, "--peer: expected ID=A.B.C.D[:PORT][@MAC], got '%s'", v);
		a->dp.peer_count++;
		return 0;
	case OPT_KEY:
		a->key_given = true;
		return parse_key(v, &a->dp.key) ? 0 :
		       fail(err, err_len, "--key: expected %d hex digits", 2 * AEG_WIRE_KEY_BYTES);
	case OPT_STATIC_ARP:
		a->dp.static_arp = true;
		return 0;
	case OPT_STATS_JSON:
		a->stats_json = v;
		return 0;
	case OPT_READY_FILE:
		a->ready_file = v;
		return 0;
	case OPT_DURATION:
		return parse_seconds(v, &a->duration_s) ? 0 : fail(err, err_len, "--duration: '%s'", v);
	case OPT_STATS_INTERVAL:
		return parse_seconds(v, &a->stats_interval_s) ? 0 :
		       fail(err, err_len, "--stats-interval: '%s'", v);
	}
	/* The rest are integers with bounds. */
	static const struct { int opt; const char *name; uint64_t min, max; } ints[] = {
		{ OPT_ETH_PORT, "--eth-port", 0, UINT16_MAX - 1 },
		{ OPT_NODE, "--node", 1, UINT32_MAX },
		{ OPT_BASE_PORT, "--base-port", 1, UINT16_MAX },
		{ OPT_WORKERS, "--workers", 1, AEG_DP_WORKERS_MAX },
		{ OPT_CLUSTER, "--cluster", 0, UINT32_MAX },
		{ OPT_DST, "--dst", 1, UINT32_MAX },
		{ OPT_MSGS, "--msgs", 1, 100000000 },
		{ OPT_MSG_BYTES, "--msg-bytes", 16, (1u << 20) + (64u << 10) },
		{ OPT_WINDOW, "--window", 1, 65536 },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (ints[i].opt != opt)
			continue;
		if (!parse_u64(v, ints[i].min, ints[i].max, &u))
			return fail(err, err_len, "%s: expected an integer in %llu..%llu, got '%s'",
				    ints[i].name, (unsigned long long)ints[i].min,
				    (unsigned long long)ints[i].max, v);
		switch (opt) {
		case OPT_ETH_PORT: a->dp.eth_port = (uint16_t)u; break;
		case OPT_NODE: a->dp.node = (uint32_t)u; break;
		case OPT_BASE_PORT: a->dp.base_port = (uint16_t)u; break;
		case OPT_WORKERS: a->dp.workers = (uint16_t)u; break;
		case OPT_CLUSTER: a->dp.cluster = (uint32_t)u; break;
		case OPT_DST: a->dst = (uint32_t)u; break;
		case OPT_MSGS: a->msgs = (uint32_t)u; break;
		case OPT_MSG_BYTES: a->msg_bytes = (uint32_t)u; break;
		case OPT_WINDOW: a->window = (uint32_t)u; break;
		}
		return 0;
	}
	return fail(err, err_len, "unknown option");
}

static int check(const struct aeg_node_args *a, char *err, size_t err_len)
{
	if (a->dp.node == 0)
		return fail(err, err_len, "--node is required");
	if (a->dp.ipv4 == 0)
		return fail(err, err_len, "--ip is required");
	if ((uint32_t)a->dp.base_port + a->dp.workers > 65536u)
		return fail(err, err_len, "--base-port + --workers exceeds 65535");
	for (uint32_t i = 0; i < a->dp.peer_count; i++)
		if ((uint32_t)aeg_dp_config_peer_port(&a->dp, &a->dp.peers[i]) + a->dp.workers > 65536u)
			return fail(err, err_len, "--peer %u: port + --workers exceeds 65535",
				    a->dp.peers[i].node);
	for (uint32_t i = 0; i < a->dp.peer_count; i++)
		for (uint32_t j = 0; j < i; j++)
			if (a->dp.peers[i].node == a->dp.peers[j].node)
				return fail(err, err_len, "--peer: node %u given twice", a->dp.peers[i].node);
	if (a->mode == AEG_NODE_MODE_SEND) {
		if (a->dst == 0 || a->dst == a->dp.node)
			return fail(err, err_len, "--mode send needs --dst (another node)");
		if (aeg_dp_config_peer(&a->dp, a->dst) == NULL)
			return fail(err, err_len, "--dst %u is not a --peer", a->dst);
	}
	if (a->dp.port == AEG_DP_PORT_ETHDEV && a->dp.eal_argc <= 1)
		return fail(err, err_len, "--port ethdev needs EAL arguments before \"--\"");
	return 0;
}

int aeg_node_args_parse(int argc, char **argv, struct aeg_node_args *a, char *err, size_t err_len)
{
	*a = (struct aeg_node_args){
		.dp = { .base_port = 7400, .workers = 1, .cluster = 1, .key = default_key,
			.eal_argc = 1, .eal_argv = argv, .port = AEG_DP_PORT_UDP },
		.mode = AEG_NODE_MODE_ECHO, .msgs = 10000, .msg_bytes = 64, .window = 256,
	};
	int split = 0; /* index of "--", 0 if none */
	for (int i = 1; i < argc && split == 0; i++)
		if (strcmp(argv[i], "--") == 0)
			split = i;
	if (split > 0) {
		a->dp.eal_argc = split;
		a->dp.eal_cores_given = eal_picks_cores(split, argv);
		if (split > 1)
			a->dp.port = AEG_DP_PORT_ETHDEV;
	}
	/* getopt sees argv[split] ("--", or argv[0]) as the program name. */
	int app_argc = argc - split;
	char **app_argv = argv + split;
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	int opt;
	while ((opt = getopt_long(app_argc, app_argv, "+h", options, NULL)) != -1) {
		if (opt == 'h') {
			a->help = true;
			return 0;
		}
		if (opt == '?' || opt == ':')
			return fail(err, err_len, "unknown option or missing value: '%s'",
				    app_argv[optind - 1]);
		int r = apply(a, opt, optarg, err, err_len);
		if (r != 0)
			return r;
	}
	if (optind < app_argc)
		return fail(err, err_len, "unexpected argument '%s'", app_argv[optind]);
	return check(a, err, err_len);
}
