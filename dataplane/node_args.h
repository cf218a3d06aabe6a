/* Command line of a dataplane node, `prog [EAL args] -- [options]` the way
 * DPDK applications take it: the EAL part is kept for rte_eal_init, the
 * part after "--" is parsed here into struct aeg_node_args. Shared by
 * aegis-dpnode and (later) aegisd. No DPDK here: the EAL arguments are
 * only split off and looked at (did the user pick cores?). */
#ifndef AEGIS_DATAPLANE_NODE_ARGS_H
#define AEGIS_DATAPLANE_NODE_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aegis/net.h"
#include "aegis/wire.h"

#define AEG_NODE_PEERS_MAX 64
#define AEG_NODE_WORKERS_MAX 16

enum aeg_node_port_kind { AEG_NODE_PORT_UDP, AEG_NODE_PORT_ETHDEV };
enum aeg_node_mode { AEG_NODE_MODE_ECHO, AEG_NODE_MODE_SEND, AEG_NODE_MODE_SINK };

/* --peer ID=A.B.C.D[:PORT][@MAC] */
struct aeg_node_peer {
	uint32_t node;
	uint32_t ipv4;           /* host order */
	uint16_t base_port;      /* 0: the node's own --base-port */
	bool has_mac;            /* a static neighbour entry */
	struct aeg_net_mac mac;
};

struct aeg_node_args {
	/* EAL part: argv[0] followed by everything before "--" (empty when
	 * there is no "--"). Points into the caller's argv. */
	int eal_argc;
	char **eal_argv;
	bool eal_cores_given;    /* -l, -c or --lcores among them */

	enum aeg_node_port_kind port;
	uint16_t eth_port;
	uint32_t node;
	uint32_t ipv4;
	uint16_t base_port;
	uint16_t workers;
	struct aeg_node_peer peers[AEG_NODE_PEERS_MAX];
	uint32_t peer_count;
	bool static_arp;
	uint32_t cluster;
	struct aeg_wire_key key;
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

/* The peer entry for node, or NULL. */
const struct aeg_node_peer *aeg_node_args_peer(const struct aeg_node_args *a, uint32_t node);
/* The UDP port of the peer's worker 0. */
uint16_t aeg_node_args_peer_port(const struct aeg_node_args *a, const struct aeg_node_peer *p);

#endif
