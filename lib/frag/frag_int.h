/* lib/frag internals shared by send.c (sender, endpoint setup) and reasm.c
 * (receiver). One endpoint holds every peer stream of a worker; each
 * stream has tx slots (a copy of a message in flight and per-fragment
 * state) and rx slots (a reassembly buffer and a bitmap), all allocated at
 * init. */
#ifndef AEGIS_FRAG_INT_H
#define AEGIS_FRAG_INT_H

#include <stdint.h>

#include "aegis/frag.h"

struct tx_slot {
	uint8_t *buf;          /* msg_bytes_max */
	uint64_t *sent_ns;     /* per fragment: last send, 0 = to be sent (again) */
	uint64_t *acked;       /* bitmap over fragments */
	uint64_t *rtx;         /* bitmap: sent more than once (no RTT sample) */
	uint64_t id;
	uint64_t start_ns;     /* accepted */
	uint64_t progress_ns;  /* last time a fragment was newly acknowledged */
	uint64_t rto_at_ns;    /* no in-flight fragment expires before this */
	uint32_t total;
	uint32_t group;
	uint32_t count;
	uint32_t cum;          /* first fragment not acknowledged */
	uint32_t next_new;     /* first fragment never sent */
	uint32_t acked_n;
	uint32_t inflight;     /* sent, not acknowledged, not declared lost */
	uint32_t lost_n;       /* < next_new, not acknowledged, sent_ns 0 */
	bool reordered;        /* a fragment declared lost arrived after all */
	uint8_t type;
	bool live;
};

struct rx_slot {
	uint8_t *buf;          /* msg_bytes_max */
	uint64_t *got;         /* bitmap over fragments */
	uint64_t id;
	uint64_t last_ns;      /* last fragment taken */
	uint32_t total;
	uint32_t group;
	uint32_t unit;         /* length of every fragment but the last; 0 = not known yet */
	uint32_t count;
	uint32_t got_n;
	uint32_t cum;          /* first fragment missing */
	uint8_t type;
	bool live;
	bool ack_owed;
};

struct stream {
	struct tx_slot *tx;
	struct rx_slot *rx;
	/* Sender. */
	uint64_t next_id;
	uint32_t inflight;     /* over the tx slots */
	uint32_t tx_live;
	uint64_t srtt_ns, rttvar_ns, rto_ns;
	/* RACK reorder allowance, at least srtt / 4: doubled (up to the RTO)
	 * each time a fragment declared lost arrives after all, shrunk by a
	 * quarter with each message that saw no reordering. */
	uint64_t reo_ns;
	/* Receiver. */
	uint64_t floor;        /* highest base seen; ids below are stale */
	uint64_t done;         /* bit k: id floor + k delivered */
	uint64_t done_owed;    /* bit k: a complete ack for floor + k is owed */
	uint32_t rx_live;
	uint32_t rx_owed;      /* rx slots with ack_owed */
};

struct aeg_frag {
	struct aeg_frag_config cfg;
	uint32_t frags_max;    /* fragments of the largest message */
	uint32_t words;        /* bitmap words per slot */
	struct stream *streams;
	uint32_t rr;           /* stream the next poll starts with */
	/* Streams with a live slot or an owed ack: poll is O(1) at 0. */
	uint32_t active;
	uint8_t *mem;          /* every slot's buffer and arrays */
	size_t mem_bytes;
	struct aeg_frag_stats st;
};

static inline bool bit_get(const uint64_t *b, uint32_t i)
{
	return (b[i / 64] >> (i % 64)) & 1u;
}

static inline void bit_set(uint64_t *b, uint32_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

static inline bool stream_active(const struct stream *s)
{
	return s->tx_live > 0 || s->rx_live > 0 || s->rx_owed > 0 || s->done_owed != 0;
}

/* Counts the stream in f->active when it changes state (call before and
 * after a change with the old state). */
static inline void active_update(struct aeg_frag *f, bool was, const struct stream *s)
{
	bool now = stream_active(s);
	if (was != now)
		f->active = now ? f->active + 1 : f->active - 1;
}

/* reasm.c */
int aeg_frag_rx_data(struct aeg_frag *f, struct stream *s, uint32_t group, const uint8_t *body,
		     uint32_t len, uint64_t now_ns, struct aeg_frag_msg *out);
uint32_t aeg_frag_rx_poll(struct aeg_frag *f, uint32_t si, uint64_t now_ns,
			  const struct aeg_frag_out *out);
/* send.c */
int aeg_frag_rx_ack(struct aeg_frag *f, struct stream *s, const uint8_t *body, uint32_t len,
		    uint64_t now_ns);

#endif
