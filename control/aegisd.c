/* aegisd: the replicated key-value node, a thin main around the node
 * library (aegis/node.h, control/node.c): that reads the config file (TOML,
 * control/config.h), builds the shard map every node computes the same
 * way (lib/shard), opens the port (kernel UDP, or DPDK after rte_eal_init),
 * recovers each worker's shards from its log (dataplane/replica) and runs
 * the workers; here the main thread serves the admin socket until SIGINT or
 * SIGTERM, then the node stops the workers, flushes and syncs the logs, and
 * aegisd exits 0.
 *
 *   aegisd [EAL args --] --config FILE [--set section.key=value ...]
 *
 * Exit codes: 0 clean stop, 1 failed while running, 2 usage or config
 * error (nothing started), 3 start-up failed (port, EAL, log recovery). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aegis/node.h"

#define SETS_MAX 64
#define MAIN_SLEEP_NS 5000000 /* slow path: ARP, link, admin socket */

static volatile sig_atomic_t g_stop;
static uint32_t g_node;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* One line per call, written at once (workers log from their threads),
 * stamped with the UTC time to the millisecond as etcd's logs are. */
static void logf_(const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ aegisd[%u]: ", ts.tv_nsec / 1000000, g_node);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : (n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2);
	line[n++] = '\n';
	(void)fwrite(line, 1, n, stderr);
}

struct cli {
	int eal_argc;
	char **eal_argv;
	const char *config;
	const char *sets[SETS_MAX];
	int n_sets;
	const char *ready_file;
	bool help;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegisd [EAL args --] --config FILE [options]\n"
		"\n"
		"The Aegis replicated key-value node. Everything is in the config file\n"
		"(TOML: [replication], [raft], [sharding], [node], [limits], [wal]; see\n"
		"README.md); options override single keys.\n"
		"\n"
		"  -c, --config FILE        the config file (required)\n"
		"  -s, --set SEC.KEY=VALUE  override one key, e.g. --set node.workers=2\n"
		"                           (repeatable; the command line wins)\n"
		"      --ready-file FILE    write the pid to FILE once serving\n"
		"  -h, --help               this text\n"
		"\n"
		"DPDK: with node.transport = \"dpdk\", EAL arguments come from node.eal_args\n"
		"and from the command line before \"--\" (both are used, file first).\n"
		"Exit codes: 0 stopped cleanly, 1 failed while running, 2 usage/config\n"
		"error, 3 start-up failed (port, EAL, log).\n");
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	int split = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			split = i;
			break;
		}
	c->eal_argc = split > 0 ? split - 1 : 0;
	c->eal_argv = split > 0 ? argv + 1 : NULL;
	int oargc = split > 0 ? argc - split : argc;
	char **oargv = split > 0 ? argv + split : argv;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "set", required_argument, NULL, 's' },
		{ "ready-file", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(oargc, oargv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': c->config = optarg; break;
		case 's':
			if (c->n_sets == SETS_MAX) {
				fprintf(stderr, "aegisd: more than %d --set\n", SETS_MAX);
				return -EINVAL;
			}
			c->sets[c->n_sets++] = optarg;
			break;
		case 'r': c->ready_file = optarg; break;
		case 'h': c->help = true; return 0;
		default:
			fprintf(stderr, "aegisd: unknown or incomplete option %s (see --help)\n",
				oargv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < oargc) {
		fprintf(stderr, "aegisd: unexpected argument %s (see --help)\n", oargv[optind]);
		return -EINVAL;
	}
	if (c->config == NULL) {
		fprintf(stderr, "aegisd: --config FILE is required (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

static int write_ready(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	struct cli c;
	if (parse_cli(argc, argv, &c) != 0)
		return 2;
	if (c.help) {
		usage(stdout);
		return 0;
	}
	struct aeg_node_opts o = {
		.config_file = c.config, .sets = c.sets, .set_count = (uint32_t)c.n_sets,
		.eal_args = c.eal_argv, .eal_arg_count = (uint32_t)c.eal_argc, .name = "aegisd",
		.caller_polls = true, .log = logf_,
	};
	char err[512];
	if (aeg_node_check(&o, &g_node, err, sizeof(err)) != 0) {
		fprintf(stderr, "aegisd: %s\n", err);
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return 3;
	signal(SIGPIPE, SIG_IGN);
	struct aeg_node *n = NULL;
	int rc = aeg_node_start(&n, &o, err, sizeof(err));
	if (rc != 0) {
		int code = rc == -EINVAL ? 2 : 3;
		logf_("stopped (exit %d)", code);
		return code;
	}
	if (c.ready_file != NULL && (rc = write_ready(c.ready_file)) != 0)
		logf_("ready file %s: %s", c.ready_file, strerror(-rc));
	while (!g_stop) {
		aeg_node_poll(n);
		struct timespec ts = { .tv_nsec = MAIN_SLEEP_NS };
		(void)nanosleep(&ts, NULL);
	}
	int code = aeg_node_stop(n) == 0 ? 0 : 1;
	logf_("stopped (exit %d)", code);
	return code;
}
