/* A node's config file: the settings of the command line, one per line,
 * for nodes started by a service manager rather than by hand.
 *
 *   # comment
 *   eal = --no-huge -m 256 --no-pci --vdev=net_memif0,role=server
 *   node = 2
 *   ip = 10.0.0.2
 *   peer = 1=10.0.0.1        (a repeated key repeats the option)
 *   static-arp               (a flag has no value)
 *
 * Keys are the long options of node_args.h without "--"; `eal` holds the
 * EAL arguments, split at spaces. `prog [EAL] -- --config FILE [options]`
 * reads it: the file's EAL arguments come before the command line's, its
 * options before the command line's, so the command line wins (peers add
 * up). Refused with file:line: an unknown key, a flag given a value, an
 * option without one, a line over 1023 bytes. Start-up only: allocates. */
#ifndef AEGIS_DPNODE_NODE_CONFIG_H
#define AEGIS_DPNODE_NODE_CONFIG_H

#include <stddef.h>

/* An argv built here: every string is owned. */
struct aeg_node_argv {
	int argc;
	char **argv; /* argc entries and a NULL */
};

/* If the part of argv after "--" (all of it when there is none) names
 * --config FILE (or --config=FILE), builds the merged argv in *out and
 * returns 1; returns 0 when there is no --config (out untouched); -EINVAL
 * (bad file content or usage), -ENOENT, -EACCES ... or -ENOMEM, with a
 * one-line reason in err. */
int aeg_node_config_apply(int argc, char **argv, struct aeg_node_argv *out, char *err,
			  size_t err_len);
void aeg_node_argv_free(struct aeg_node_argv *v);

#endif
