/* Internals of the client library shared by client.c (open, routing, the
 * map, the API) and client_io.c (packing, sockets, replies, timeouts). */
#ifndef AEGIS_CLIENT_INT_H
#define AEGIS_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/client.h"
#include "aegis/client_reasm.h"
#include "aegis/shard.h"

/* Datagram buffers for sending: a poll packs at most this many before it
 * sends them (and more after); receiving takes this many per recvmmsg. */
#define CLIENT_OUT_MAX 64
#define CLIENT_IN_MAX 16
#define CLIENT_IN_BYTES 65536
/* The embedded node's replies taken per receive, and how long a poll
 * sleeps between looks at them (they wake no fd). */
#define CLIENT_LOCAL_IN_MAX 256
#define CLIENT_LOCAL_WAIT_NS 50000u

/* OP_BACKOFF: answered BUSY, waits busy_backoff_ms before it goes again. */
enum op_state { OP_IDLE = 0, OP_PENDING, OP_INFLIGHT, OP_BACKOFF };

#define OP_STATUS_NONE 0xff /* priv.last_status: no node answer yet */
/* priv.flags */
#define OPF_INTERNAL 0x01 /* the client's own MAP fetch */
#define OPF_SLOT 0x02     /* a write holding one of its shard's in-flight slots */
#define OPF_LARGE 0x04    /* holding one of the large_inflight_max slots */
#define FLOOR_RING 65536u /* seqs above the floor whose shard is known */
#define FLOOR_OLD_MAP UINT16_MAX

struct op_list {
	struct aeg_client_op *head, *tail;
};

/* A sealed datagram waiting for sendmmsg, or a buffer being filled. */
struct out_slot {
	struct aeg_client_builder b;
	uint32_t ipv4;
	uint16_t port;
	uint16_t len; /* sealed length, 0 while open */
};

struct aeg_client {
	int fd;
	struct aeg_client_cfg cfg; /* normalized; nodes/addrs not kept */
	struct aeg_client_addr *boot;
	uint32_t boot_count, boot_next;
	uint64_t next_seq;
	uint64_t appends;       /* aeg_client_append_key: keys made so far */
	uint64_t seq_floor;     /* lowest outstanding seq, or next_seq (client_io.c) */

	struct aeg_shard_map *map;
	uint32_t shard_count;
	uint32_t *leader;       /* per shard: node id we send to */
	/* Per node of the map (its index there): until when it is suspected
	 * dead (a request to it timed out with no answer from it since it was
	 * sent); routing skips suspects while another replica is not one, so a
	 * dead node costs one timeout per client, not one per operation. */
	uint64_t *suspect_until;
	uint64_t *heard_ms;     /* per node: when an answer last came from it */
	uint32_t node_count;
	uint64_t now_ms;        /* of the current poll (routing reads it) */
	uint16_t *writes;       /* per shard: writes in flight */
	/* Per shard: writes sent with a seq >= seq_floor, answered or not.
	 * The node's session keeps the result of each of them (lib/kv) until
	 * the floor passes it, in a window of session_results_max per client
	 * and shard; a write sent past that window would push out the result
	 * of one not yet answered, whose retry then gets SESSION_EXPIRED
	 * (outcome unknown). So a shard takes no new write while its count is
	 * at the window: a lost request stalls its shard, never fails. */
	uint16_t *above_floor;
	/* seq -> shard + 1 of the write counted in above_floor (0: none,
	 * FLOOR_OLD_MAP: counted under an earlier map, against every shard:
	 * above_floor_old), for seqs in [seq_floor, seq_floor + FLOOR_RING). */
	uint16_t *floor_ring;
	uint32_t above_floor_old;
	uint32_t large_inflight; /* ops holding OPF_LARGE */
	bool map_wanted;        /* a refetch is needed (STALE_EPOCH, open) */
	struct aeg_client_op map_op;
	uint8_t *map_buf;
	int map_error;          /* last failure of a fetch, for open */

	struct op_list pending, inflight;
	struct op_list backoff; /* in deadline order too (every push is now + busy_backoff_ms) */
	uint32_t busy_backoff_ms;
	uint32_t busy_tries_max; /* BUSY answers an op may get before it fails with BUSY */
	uint32_t outstanding;   /* submitted by the caller, not completed */
	struct aeg_client_op **table; /* seq -> op, open addressing */
	uint32_t table_mask;

	uint8_t *out_mem;
	struct out_slot out[CLIENT_OUT_MAX];
	uint32_t out_used;      /* slots [0, out_used) are taken */
	uint32_t out_sent;      /* sealed slots [0, out_sent) already went */
	uint8_t *in_mem;

	struct aeg_client_reasm reasm;
	void *reasm_mem;
	uint64_t rx_now_ms;     /* the current receive's clock (local replies) */
	uint32_t completed;     /* by the current poll */
	struct aeg_client_stats stats;
};

uint64_t client_now_ms(void);

/* Lists and the seq table. */
void op_list_push(struct op_list *l, struct aeg_client_op *op);
void op_list_remove(struct op_list *l, struct aeg_client_op *op);
void table_put(struct aeg_client *c, struct aeg_client_op *op);
struct aeg_client_op *table_find(const struct aeg_client *c, uint64_t seq);
void table_del(struct aeg_client *c, uint64_t seq);

/* Routing (client.c): fills op->priv.node/ipv4/port/shard for the next
 * send. false if the op must wait (no map yet). */
bool client_route(struct aeg_client *c, struct aeg_client_op *op);
/* The next replica of op's shard after the one it last went to. */
void client_rotate_leader(struct aeg_client *c, const struct aeg_client_op *op);
void client_set_leader(struct aeg_client *c, uint32_t shard, uint32_t node);
/* An answer came from node / a request to it timed out (sent at sent_ms). */
void client_node_heard(struct aeg_client *c, uint32_t node, uint64_t now_ms);
void client_node_timed_out(struct aeg_client *c, uint32_t node, uint64_t sent_ms,
			   uint64_t now_ms);
/* Starts a MAP fetch unless one is in flight. */
void client_want_map(struct aeg_client *c);
/* Takes op out of every structure, sets its status, calls done. */
void client_complete(struct aeg_client *c, struct aeg_client_op *op, int status);
bool op_is_write(const struct aeg_client_op *op);
/* Whether op's value goes or may come back in parts. */
bool op_is_large(const struct aeg_client *c, const struct aeg_client_op *op);
/* Whether ipv4:port is a worker reached through cfg.local (its index in
 * *worker, which may be NULL). */
bool client_local_worker(const struct aeg_client *c, uint32_t ipv4, uint16_t port,
			 uint16_t *worker);

/* client_io.c */
int client_flush(struct aeg_client *c, uint64_t now_ms);
int client_receive(struct aeg_client *c, uint64_t now_ms);
void client_expire(struct aeg_client *c, uint64_t now_ms);
/* Queues op for (re)sending. */
void client_requeue(struct aeg_client *c, struct aeg_client_op *op);

#endif
