/* The embedded node's local client path on the worker side (local_chan.h):
 * request datagrams from the channels' rings go through the same request
 * path as datagrams from the port (rp_client_datagram), with the source
 * address AEG_LOCAL_IPV4:channel; answers to that address go back into the
 * channel's reply ring (rp_local_reply, called by reply_send). */
#include "replica_int.h"

#include <assert.h>
#include <errno.h>

#include "local_chan.h"

/* Requests taken from one channel per iteration: bounds the iteration. */
#define RP_LOCAL_BURST 64

void aeg_replica_set_local(struct aeg_replica *rp, struct aeg_local_chans *lc)
{
	assert(rp != NULL);
	rp->local = lc;
}

uint32_t rp_local_poll(struct aeg_replica *rp)
{
	if (rp->local == NULL)
		return 0;
	uint32_t n = 0;
	for (uint16_t k = 0; k < AEG_LOCAL_CHANS_MAX; k++) {
		struct aeg_local_chan *ch = &rp->local->chan[k];
		if (!__atomic_load_n(&ch->active, __ATOMIC_ACQUIRE))
			continue;
		const uint8_t *d;
		uint32_t len;
		for (uint32_t i = 0; i < RP_LOCAL_BURST && aeg_dgram_ring_peek(ch->req, &d, &len); i++) {
			/* The worker only reads pkt->data (rp_client_datagram copies
			 * what it keeps), so the ring's bytes are used in place. */
			struct aeg_pkt pkt = { .data = (uint8_t *)d, .len = len, .cap = len,
					       .ipv4 = AEG_LOCAL_IPV4, .udp_port = k };
			rp->st.local_dgrams++;
			rp_client_datagram(rp, &pkt);
			aeg_dgram_ring_pop(ch->req);
			n++;
		}
	}
	return n;
}

int rp_local_reply(struct aeg_replica *rp, uint16_t chan, const uint8_t *d, uint32_t len)
{
	assert(d != NULL && len > 0);
	struct aeg_local_chan *ch = rp->local != NULL && chan < AEG_LOCAL_CHANS_MAX ? &rp->local->chan[chan] : NULL;
	if (ch == NULL || !__atomic_load_n(&ch->active, __ATOMIC_ACQUIRE)) {
		rp->st.local_drops++;  /* the client closed: like a reply to a gone socket */
		return -ENOTCONN;
	}
	int rc = aeg_dgram_ring_push(ch->rep, d, len);
	if (rc != 0) {
		rp->st.local_drops++;  /* a client that does not poll: it resends after its timeout */
		return rc;
	}
	rp->st.local_replies++;
	return 0;
}
