/* The netem arguments aegis-cluster-netem understands (see its header):
 * loss P%, delay T [J], reorder P%, duplicate P%, corrupt P%, limit N. */
#ifndef AEGIS_TOOLS_NETEM_ARGS_H
#define AEGIS_TOOLS_NETEM_ARGS_H

#include <stdint.h>

struct aeg_netem {
	double loss, reorder, duplicate, corrupt; /* probabilities 0..1 */
	uint64_t delay_ns, jitter_ns;
	uint32_t limit;
};

/* Parses argv[0..argc-1] into m (defaults first: nothing, limit 8192).
 * 0, or -EINVAL with a message on stderr. */
int aeg_netem_parse(int argc, char **argv, struct aeg_netem *m);

#endif
