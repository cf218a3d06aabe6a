/* Local channels: the in-process path between an embedded node's clients
 * and its workers (aegis/node.h, aeg_node_client). Per worker a fixed table
 * of channels; channel k of every worker belongs to one client at a time.
 * A channel is two datagram rings: requests (the client's thread pushes,
 * the worker pops) and replies (the worker pushes, the client pops). The
 * datagrams are the client protocol's own (aegis/client_proto.h, sealed
 * with the client key), so the worker runs its usual request path on them
 * (dataplane/replica/replica_local.c); only the transport differs.
 *
 * A request from channel k looks to the worker like a datagram from
 * address AEG_LOCAL_IPV4 (0.0.0.0, never a UDP source), port k: answers
 * addressed there go into channel k's reply ring instead of the port. */
#ifndef AEGIS_DATAPLANE_LOCAL_CHAN_H
#define AEGIS_DATAPLANE_LOCAL_CHAN_H

#include <stdbool.h>
#include <stdint.h>

#include "dgram_ring.h"

#define AEG_LOCAL_CHANS_MAX 8
#define AEG_LOCAL_IPV4 0u
#define AEG_LOCAL_RING_BYTES (4u << 20) /* a 1 MiB value's parts, twice over */

struct aeg_local_chan {
	bool active;                 /* atomic: acquire/release; set after the rings exist */
	struct aeg_dgram_ring *req;  /* client -> worker */
	struct aeg_dgram_ring *rep;  /* worker -> client */
};

/* One worker's channels. The rings of a channel are made when a client
 * first claims it and live until the node stops. */
struct aeg_local_chans {
	struct aeg_local_chan chan[AEG_LOCAL_CHANS_MAX];
};

#endif
