/* Command line of aegis-dpnode, `prog [EAL args] -- [options]` the way
 * DPDK applications take it: the EAL part is kept for rte_eal_init, the
 * part after "--" is parsed here into struct aeg_node_args (its .dp part is
 * what the dataplane opens: dataplane/dp_config.h). aegisd takes a config
 * file instead (control/config.h). No DPDK here: the EAL arguments are
 * only split off and looked at (did the user pick cores?). */
#ifndef AEGIS_DPNODE_NODE_ARGS_H
#define AEGIS_DPNODE_NODE_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dp_config.h"

enum aeg_node_mode { AEG_NODE_MODE_ECHO, AEG_NODE_MODE_SEND, AEG_NODE_MODE_SINK };

struct aeg_node_args {
	/* The port, address, peers and key; dp.eal_argc/eal_argv: argv[0]
	 * followed by everything before "--" (just argv[0] when there is no
	 * "--"), pointing into the caller's argv. */
	struct aeg_dp_config dp;
	bool key_given;
	enum aeg_node_mode mode;
	uint32_t dst;
	uint32_t msgs;
	uint32_t msg_bytes;
	uint32_t window;
	double duration_s;       /* 0: until a signal (echo/sink), 30 s (send) */
	const char *stats_json;
	double stats_interval_s;
	const char *ready_file;
	bool help;
};

/* Fills *a from argv. Returns 0, or -EINVAL with a one-line reason in err
 * (usage error: exit code 2). --help sets a->help and returns 0. */
int aeg_node_args_parse(int argc, char **argv, struct aeg_node_args *a, char *err, size_t err_len);

void aeg_node_args_usage(FILE *f, const char *prog);

/* For config files: 1 if --name takes a value, 0 if it is a flag, -1 if
 * there is no such option (help is not one either). */
int aeg_node_args_option(const char *name);

#endif
