/* What a dataplane node needs to open its port (dp_node.h) and run its
 * workers (dp_runtime.h): the kind of port, this node's address and
 * workers, its peers, the cluster key and the EAL arguments. A program's
 * slow path fills it: aegisd from its config file (control/node.c),
 * aegis-dpnode from its command line (control/dpnode/node_args.c). */
#ifndef AEGIS_DATAPLANE_DP_CONFIG_H
#define AEGIS_DATAPLANE_DP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/net.h"
#include "aegis/wire.h"

#define AEG_DP_PEERS_MAX 64
#define AEG_DP_WORKERS_MAX 16

enum aeg_dp_port_kind { AEG_DP_PORT_UDP, AEG_DP_PORT_ETHDEV };

/* A peer node: "ID=A.B.C.D[:PORT][@MAC]" on a command line. */
struct aeg_dp_peer {
	uint32_t node;
	uint32_t ipv4;           /* host order */
	uint16_t base_port;      /* 0: the node's own base_port */
	bool has_mac;            /* a static neighbour entry */
	struct aeg_net_mac mac;
};

struct aeg_dp_config {
	/* EAL part: argv[0] followed by the EAL arguments (eal_argc 1 when
	 * there are none). Points into the caller's strings. */
	int eal_argc;
	char **eal_argv;
	bool eal_cores_given;    /* -l, -c or --lcores among them */

	enum aeg_dp_port_kind port;
	uint16_t eth_port;
	uint32_t node;
	uint32_t ipv4;           /* host order */
	uint16_t base_port;      /* worker w listens on base_port + w */
	uint16_t workers;
	struct aeg_dp_peer peers[AEG_DP_PEERS_MAX];
	uint32_t peer_count;
	bool static_arp;         /* static neighbours only, no ARP requests */
	uint32_t frame_bytes;    /* UDP payload per frame; 0: 1472 (udp port only above) */
	uint32_t cluster;
	struct aeg_wire_key key;
	uint8_t key_id;          /* names key in the frames (aegis/wire.h) */
	bool has_accept_key;     /* during a key rotation: also accept this one */
	struct aeg_wire_key accept_key;
	uint8_t accept_key_id;
};

/* The peer entry for node, or NULL. */
static inline const struct aeg_dp_peer *aeg_dp_config_peer(const struct aeg_dp_config *c,
							   uint32_t node)
{
	for (uint32_t i = 0; i < c->peer_count; i++)
		if (c->peers[i].node == node)
			return &c->peers[i];
	return NULL;
}

/* The UDP port of the peer's worker 0. */
static inline uint16_t aeg_dp_config_peer_port(const struct aeg_dp_config *c,
					       const struct aeg_dp_peer *p)
{
	return p->base_port != 0 ? p->base_port : c->base_port;
}

#endif
