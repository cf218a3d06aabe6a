/* Two FIFOs of the group driver that wait on the log:
 *   held:    encoded messages that may leave only once the write they
 *            promise is durable (votes, append acknowledgements);
 *   pending: (ticket, group, index, term) persist reports for Raft.
 * Both are released in ticket order by aeg_gd_durable(). A held message
 * whose group's write is still waiting for room in the log has ticket 0
 * ("not issued yet") until the group's write cursor is flushed. */
#ifndef AEGIS_MULTIRAFT_HELD_H
#define AEGIS_MULTIRAFT_HELD_H

#include <stdbool.h>
#include <stdint.h>

#define HELD_TICKET_UNISSUED 0u

struct held_rec {
	uint32_t bytes;       /* whole record incl. this header, 8-aligned; 0 = skip to ring start */
	uint32_t len;         /* message body bytes */
	uint64_t ticket;
	uint32_t to;
	uint32_t group;
};

/* Byte ring of held_rec + body, records never wrap. */
struct held_ring {
	uint8_t *buf;
	uint64_t size;        /* power of two */
	uint64_t head, tail;  /* monotonic byte positions: tail = oldest */
	uint32_t count;
};

/* Reserves a record for len body bytes; returns the body pointer or NULL
 * when the ring is full. */
uint8_t *held_push(struct held_ring *h, uint32_t to, uint32_t group, uint64_t ticket, uint32_t len);
/* The oldest record, or NULL. */
struct held_rec *held_front(struct held_ring *h);
void held_pop(struct held_ring *h);
/* Sets ticket on every unissued record of group. */
void held_issue(struct held_ring *h, uint32_t group, uint64_t ticket);
/* Marks every record of group as dropped (group 0, to 0). */
void held_forget(struct held_ring *h, uint32_t group);

struct pend_rec {
	uint64_t ticket;
	uint64_t index, term;
	uint32_t group;
};

struct pend_ring {
	struct pend_rec *recs;
	uint32_t cap;          /* power of two */
	uint64_t head, tail;
};

bool pend_push(struct pend_ring *p, const struct pend_rec *r);
struct pend_rec *pend_front(struct pend_ring *p);
void pend_pop(struct pend_ring *p);

#endif
