/* aegis/client.h — the C client of an Aegis cluster (libaegis_client).
 *
 * One client = one non-blocking kernel UDP socket, no threads inside; the
 * caller drives it with aeg_client_poll() (the synchronous calls poll for
 * you). It fetches the shard map from any node at open, routes each key as
 * the nodes do (aegis/shard.h: key -> shard -> its leader, to the port of
 * worker shard % workers) and speaks aegis/client_proto.h.
 *
 * Routing: reads at consistency ONE go to any replica of the shard (spread
 * by sequence number over the replicas; any replica answers from what it
 * applied); everything else to the shard's leader. The leader of each
 * shard is cached, starting with the map's preferred leader; NOT_LEADER moves the cache to the hint (or the next
 * replica when there is none); STALE_EPOCH refetches the map and routes
 * again; a timeout resends the request with the SAME seq (the first retry to
 * the same node, later ones to the next replica), so a write applies once
 * through the node's session table; a node that let a request time out
 * without answering anything since is suspected for 4 x timeout_ms (or until
 * it answers) and routing tries the shard's other replicas first, so a dead
 * node costs a client about one timeout, not one per operation; after `retries` resends the operation
 * completes with AEG_CLIENT_TIMEOUT (outcome unknown for a write). A BUSY
 * answer (the node refuses for now: its Raft log window or request slots
 * are full) is retried after timeout_ms / 20 (at least 2 ms) without using
 * up a retry; the op fails with BUSY after timeout_ms x (retries + 1) of
 * such answers.
 *
 * Pipelining: aeg_client_submit() queues, aeg_client_poll() packs every
 * queued request for one node worker into as few datagrams as fit, sends
 * them with one sendmmsg, receives with recvmmsg and completes operations
 * through their callbacks. The node's session remembers a window of results
 * per client and shard (AEG_CLIENT_SESSION_WINDOW, 1024, in aegisd) above
 * the seq_floor each datagram carries (the lowest seq still in flight), so
 * up to writes_per_shard_max (default 64) writes per shard are in flight,
 * and a shard takes no new write while session_results_max of its writes
 * are at or above the floor (answered or not): a write whose request was
 * lost is then retried after the timeout and applies once, and is never
 * pushed out of the window by later ones (AEG_CLIENT_SESSION_EXPIRED); its
 * shard waits for it meanwhile. Reads are not limited.
 *
 * Values larger than one datagram (up to value_bytes_max) go as parts and
 * replies come back in parts (aegis/client_reasm.h); a lost part is repaired
 * by the whole request being resent after the timeout.
 *
 * Results: an operation's status is an enum aeg_client_status (>= 0: the
 * node's answer, or AEG_CLIENT_TIMEOUT) or a negative errno for a local
 * failure (-EMSGSIZE key/value over the limits, -ENOBUFS the GET buffer is
 * smaller than the value: value_len says how large, -EINVAL bad arguments,
 * -ECANCELED closed while pending, socket errors as they come). */
#ifndef AEGIS_CLIENT_H
#define AEGIS_CLIENT_H

#include <stdint.h>

#include "aegis/api.h"
#include "aegis/client_proto.h"

AEG_API_BEGIN

struct aeg_client;

/* A node to ask for the shard map. */
struct aeg_client_addr {
	uint32_t id;   /* node id (informational) */
	uint32_t ipv4; /* host order */
	uint16_t port; /* any worker port of the node */
};

/* An in-process path to one node's workers, instead of the socket, for
 * datagrams addressed to ipv4:port_base+w (w < workers). An embedded node
 * fills it (aegis/node.h, aeg_node_client); the datagrams are the same
 * sealed client datagrams, only their transport differs. Called from the
 * client's thread only. */
struct aeg_client_local {
	uint32_t ipv4;       /* host order */
	uint16_t port_base;
	uint16_t workers;
	/* One request datagram for worker w: 0, or -ENOBUFS (full now: the
	 * client keeps it and tries again at the next poll). */
	int (*send)(void *ctx, uint16_t worker, const void *dgram, uint32_t len);
	/* Calls fn for up to max reply datagrams waiting (each valid during
	 * its call only); returns how many. */
	uint32_t (*receive)(void *ctx, void (*fn)(void *arg, uint16_t worker, const uint8_t *dgram,
						   uint32_t len), void *arg, uint32_t max);
	/* At aeg_client_close: the path is no longer used. May be NULL. */
	void (*release)(void *ctx);
	void *ctx;
};

struct aeg_client_cfg {
	/* Where to fetch the map: "ID=IPv4:PORT" strings, or addrs, or both. */
	const char *const *nodes;
	uint32_t node_count;
	const struct aeg_client_addr *addrs;
	uint32_t addr_count;
	struct aeg_wire_key key;      /* the cluster's CLIENT key */
	uint64_t client_id;           /* 0: random (getrandom) */
	uint32_t timeout_ms;          /* per attempt; 0: 200 */
	uint32_t retries;             /* resends after the first try; 0: 5 */
	uint32_t outstanding_max;     /* operations in flight; 0: 1024 */
	uint32_t writes_per_shard_max; /* 0: 64 (see above) */
	uint32_t session_results_max; /* the nodes' session window; 0: AEG_CLIENT_SESSION_WINDOW */
	uint32_t dgram_bytes;         /* datagram size; 0: AEG_CLIENT_DGRAM_BYTES_DEFAULT */
	uint32_t value_bytes_max;     /* 0: 1 MiB */
	uint32_t reasm_slots;         /* large replies reassembled at once; 0: 8 */
	/* Operations in flight whose value goes or may come back in parts
	 * (PUT/CAS values, GET buffers larger than one datagram); 0: 4, at
	 * most reasm_slots. A 1 MiB reply is ~750 datagrams in one burst: more
	 * at once overflow the socket buffer and each loss costs a retry. */
	uint32_t large_inflight_max;
	uint8_t consistency;          /* used for AEG_CLIENT_DEFAULT ops; 0: the node's */
	const struct aeg_client_local *local; /* NULL: every node over UDP; outlives the client */
};

/* 0 and *out, -EINVAL (no address, an address that does not parse, sizes
 * out of range), -ETIMEDOUT (no node gave a map), -ENOMEM, or a socket
 * error. Blocks until a map arrived (up to (retries + 1) x timeout_ms). */
int aeg_client_open(struct aeg_client **out, const struct aeg_client_cfg *cfg);
/* Completes every pending operation with -ECANCELED, closes the socket. */
void aeg_client_close(struct aeg_client *c);

/* "7=10.0.0.7:7000" -> id 7, ipv4, port. 0 or -EINVAL. */
int aeg_client_parse_addr(const char *s, struct aeg_client_addr *out);

uint64_t aeg_client_id(const struct aeg_client *c);
uint64_t aeg_client_map_epoch(const struct aeg_client *c);

/* ---- asynchronous ------------------------------------------------------ */

struct aeg_client_op;
typedef void (*aeg_client_done_fn)(struct aeg_client_op *op);

/* Private to the client: do not touch between submit and completion. */
struct aeg_client_op_priv {
	struct aeg_client_op *next, *prev;
	uint64_t seq;
	uint64_t deadline_ms;
	uint32_t shard;
	uint32_t node;     /* where the last attempt went */
	uint32_t ipv4;
	uint16_t port;
	uint32_t part_next; /* next part to queue (values sent in parts) */
	uint16_t attempts;  /* sends so far not answered BUSY */
	uint16_t busy;      /* BUSY answers so far */
	uint8_t state;
	uint8_t last_status; /* the last node answer that was not final */
	uint8_t flags;
};

struct aeg_client_op {
	/* in: set before submit; key and value stay valid until done */
	uint8_t op;          /* AEG_CLIENT_GET, PUT, DEL, CAS, SCAN */
	uint8_t consistency; /* enum aeg_client_consistency */
	const void *key;     /* SCAN: the first key, may be empty */
	uint32_t key_len;
	const void *value;   /* PUT, CAS; SCAN: its args (aegis/client_scan.h) */
	uint32_t value_len;  /* PUT, CAS, SCAN; GET, SCAN: out, the reply's length */
	uint64_t expect_version; /* CAS: 0 = must not exist */
	void *buf;           /* GET: where the value goes; SCAN: the reply */
	uint32_t buf_cap;
	uint32_t shard;      /* SCAN: the shard it reads (< the map's shard count) */
	aeg_client_done_fn done; /* called once, from aeg_client_poll/submit */
	void *user;
	/* out */
	int status;          /* enum aeg_client_status, or negative errno */
	uint64_t version;    /* of the key (GET, PUT, CAS; VERSION_MISMATCH: current) */
	struct aeg_client_op_priv priv;
};

/* Queues op; it leaves at the next poll. 0; -EAGAIN when outstanding_max
 * operations are in flight (poll, then submit again); -EINVAL bad op;
 * -EMSGSIZE key or value over the limits (op->done is not called for an
 * error returned here). */
int aeg_client_submit(struct aeg_client *c, struct aeg_client_op *op);
/* Sends what is queued, waits up to timeout_ms (0: not at all, -1: until
 * something completes) for replies, completes operations (their callbacks
 * run here), resends on timeouts. Returns how many operations completed,
 * or a negative errno (socket failure). */
int aeg_client_poll(struct aeg_client *c, int timeout_ms);
/* Operations submitted and not completed. */
uint32_t aeg_client_outstanding(const struct aeg_client *c);

/* ---- synchronous ------------------------------------------------------- */

/* Each returns the op's status (see above); version may be NULL. */
int aeg_client_put(struct aeg_client *c, const void *key, uint32_t key_len, const void *value,
		   uint32_t value_len, uint8_t consistency, uint64_t *version);
/* *value_len: in, buf's capacity; out, the value's length (also on -ENOBUFS). */
int aeg_client_get(struct aeg_client *c, const void *key, uint32_t key_len, void *buf,
		   uint32_t *value_len, uint8_t consistency, uint64_t *version);
int aeg_client_del(struct aeg_client *c, const void *key, uint32_t key_len,
		   uint8_t consistency);
/* AEG_CLIENT_OK and *version the new one, or VERSION_MISMATCH and the current. */
int aeg_client_cas(struct aeg_client *c, const void *key, uint32_t key_len, const void *value,
		   uint32_t value_len, uint64_t expect_version, uint8_t consistency,
		   uint64_t *version);

/* ---- appends (round-robin maps) ---------------------------------------- */

/* With a round-robin map (AEG_SHARD_ROUND_ROBIN, aegis/shard.h): a new key
 * on the next shard in turn, "<shard>/<client id, hex>-<n>" (n counts this
 * client's keys; the first shard follows from the client id, so clients do
 * not all start at shard 0), written to key with a NUL. Returns its length
 * (at most AEG_CLIENT_APPEND_KEY_BYTES - 1), -ENOSPC (cap too small) or
 * -EINVAL (another strategy). */
#define AEG_CLIENT_APPEND_KEY_BYTES 48
int aeg_client_append_key(struct aeg_client *c, char *key, uint32_t cap);
/* Writes value under a new key (aeg_client_append_key), one that did not
 * exist (CAS with expect_version 0; a taken key, as after a restart with a
 * fixed client id, moves on to the next): the write's status, the key in
 * key / *key_len. */
int aeg_client_append(struct aeg_client *c, const void *value, uint32_t value_len, uint8_t consistency,
		      char *key, uint32_t cap, uint32_t *key_len);

/* ---- scatter reads ----------------------------------------------------- */

/* One key of a scan's result (views into the scan's own buffers). */
struct aeg_client_kv {
	const uint8_t *key;
	const uint8_t *value;
	uint32_t key_len, value_len;
	uint64_t version;
};

/* A range read over every shard the range touches (all of them with hash
 * sharding; those whose ranges meet it with range sharding): one SCAN per
 * shard, sent at once, the replies merged in key order (memcmp, a prefix
 * before its extensions). A page holds up to limit keys; when more is set,
 * scan again with start = next for the following page. Each shard's leader
 * answers at QUORUM (a read index, like GET); at ONE any replica the
 * client reaches answers from what it has applied. A page is each shard's
 * state at its own moment, not one snapshot of the cluster. start and end
 * together must fit one datagram with the args (-EMSGSIZE otherwise); a
 * key whose value is near value_bytes_max may not come back (-ENOBUFS). */
struct aeg_client_scan {
	/* in */
	const void *start;     /* first key (inclusive); start_len 0: from the first key */
	uint32_t start_len;
	const void *end;       /* end (exclusive); end_len 0: to the last key */
	uint32_t end_len;
	uint32_t limit;        /* keys per page, 1 .. AEG_CLIENT_SCAN_LIMIT_MAX; 0: 1000 */
	uint32_t shard_bytes;  /* reply bytes asked of each shard; 0: 256 KiB */
	uint8_t consistency;
	/* out: valid until the next aeg_client_scan with this struct or its free */
	const struct aeg_client_kv *items;
	uint32_t n;
	bool more;             /* keys past the last item may exist */
	const uint8_t *next;   /* then: the next page's start (the last key + a 0 byte) */
	uint32_t next_len;
	uint32_t shards;       /* shards asked for this page */
	void *priv;            /* buffers kept between pages; NULL at first */
};

/* AEG_CLIENT_OK, or the first failing shard's status (an enum
 * aeg_client_status, or a negative errno: -EINVAL bad arguments, -EMSGSIZE,
 * -ENOBUFS, -EBADMSG a malformed reply, -ENOMEM). */
int aeg_client_scan(struct aeg_client *c, struct aeg_client_scan *s);
/* Frees what aeg_client_scan kept in s->priv. */
void aeg_client_scan_free(struct aeg_client_scan *s);

/* ---- counters ---------------------------------------------------------- */

struct aeg_client_stats {
	uint64_t ops_completed;
	uint64_t dgrams_sent, dgrams_received, items_sent;
	uint64_t send_again;     /* sendmmsg found the socket buffer full: kept for later */
	uint64_t send_errors;    /* datagrams the kernel refused (no route ...): lost */
	uint64_t retransmits;    /* timeouts that resent */
	uint64_t redirects;      /* NOT_LEADER */
	uint64_t replica_reads;  /* reads at ONE sent to a replica that is not the cached leader */
	uint64_t stale_epochs;   /* STALE_EPOCH answers */
	uint64_t map_fetches;
	uint64_t timeouts;       /* ops given up */
	uint64_t suspects;       /* nodes marked suspect (a request timed out unanswered) */
	uint64_t suspect_skips;  /* sends routed past a suspected leader */
	uint64_t large_waits;    /* sends held back: large_inflight_max reached */
	uint64_t session_waits;  /* sends held back: a shard's session window full */
	uint64_t busy_retries;   /* BUSY answers (each retried after a short pause) */
	uint64_t stray_replies;  /* no op with that seq (late duplicates) */
	uint64_t drops[AEG_CLIENT_DROP_NR]; /* received datagrams refused, by reason */
	uint64_t wrong_client;   /* authentic but for another client id */
	uint64_t reasm_refused;  /* reply parts refused by reassembly */
	/* The in-process path (cfg.local): datagrams each way, and operations
	 * whose final answer came that way. */
	uint64_t local_dgrams_sent, local_dgrams_received, local_ops;
};

void aeg_client_get_stats(const struct aeg_client *c, struct aeg_client_stats *out);

AEG_API_END

#endif
