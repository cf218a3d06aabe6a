/* The port side of a dataplane node, whichever kind the command line
 * asks for: kernel UDP (workers on pthreads), or a DPDK ethdev (EAL
 * initialised here, cores picked with hwloc, workers on lcores, the slow
 * path polled from the main lcore). Shared by aegis-dpnode and aegisd. */
#ifndef AEGIS_DATAPLANE_DP_NODE_H
#define AEGIS_DATAPLANE_DP_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/port.h"
#include "dp_runtime.h"
#include "dp_config.h"

/* printf-like, one line without the newline; the caller adds its prefix. */
typedef void (*aeg_dp_log_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct aeg_dp_node;

/* Opens the port args asks for and prints the layout through log.
 * Returns 0, -EINVAL (configuration refused: exit code 2) or another
 * negative errno (port or EAL setup failed: exit code 3). */
int aeg_dp_node_open(const struct aeg_dp_config *args, aeg_dp_log_fn log, struct aeg_dp_node **out);
void aeg_dp_node_close(struct aeg_dp_node *dn);

struct aeg_port *aeg_dp_node_port(struct aeg_dp_node *dn);
/* "udp", "net_memif", "net_af_packet", ... */
const char *aeg_dp_node_driver(struct aeg_dp_node *dn);
/* Where workers run: NULL means pthreads (dp_runtime.h). */
const struct aeg_dp_launcher *aeg_dp_node_launcher(struct aeg_dp_node *dn);
/* Slow path, from the main thread every millisecond or so. */
void aeg_dp_node_poll(struct aeg_dp_node *dn, uint64_t now_ns);
/* Whether frames to ipv4 can leave now (its MAC is known). */
bool aeg_dp_node_reachable(struct aeg_dp_node *dn, uint32_t ipv4);
/* A node that joined: DPDK ports resolve its address from now on (the
 * kernel does it for the UDP port). 0 or -ENOSPC. */
int aeg_dp_node_peer_add(struct aeg_dp_node *dn, uint32_t ipv4);

/* An EAL --lcores=... argument for args->workers workers picked with
 * hwloc (physical cores before SMT siblings), written into buf; returns 0,
 * or a negative errno (then EAL picks its defaults). */
int aeg_dp_cores_pick(const struct aeg_dp_config *args, aeg_dp_log_fn log, char *buf, size_t n);

#endif
