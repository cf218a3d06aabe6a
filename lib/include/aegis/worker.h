/* aegis/worker.h — one dataplane worker (libaegis_node; installed for
 * bench/ and advanced embedders, see aegis/port.h): the per-core loop of
 * DESIGN.md "One worker core" over one queue of a port (aegis/port.h), in
 * the style of DPDK's l2fwd:
 *
 *   rx burst -> aeg_wire_parse (drops counted per reason)
 *            -> each message to the on_msg callback (the shard layer later)
 *            -> datagrams that are no cluster frame to on_raw (clients)
 *   on_rx_done: the caller's work for what arrived (before tx)
 *   aeg_worker_send: messages coalesced per (peer node, peer worker) into
 *            one open frame each; a full frame is sealed and queued for tx
 *   tx burst of the sealed frames at the end of every iteration; open
 *            frames are sealed every drain_ns (l2fwd's drain timer), and
 *            at once when the worker goes idle
 *   idle: busy-poll, then sched_yield, then sleeps of up to ~1 ms
 *
 * Single-threaded: everything but aeg_worker_stats_read and
 * aeg_worker_stop is called on the worker's own thread. Statistics are
 * single-writer counters stored with relaxed atomics, so another thread
 * (the main lcore) reads them without locks; each counter is exact, a
 * snapshot of several is not atomic as a whole.
 *
 * Messages larger than a frame (up to msg_bytes_max) are cut into
 * fragments and reassembled by lib/frag (aegis/frag.h: selective
 * retransmission, a window of fragments in flight, timeouts), driven from
 * aeg_worker_poll; on_msg sees the whole message.
 *
 * Sizes, all at init: peers x workers_per_node streams of 40 bytes
 * (replay window) + 64 bytes (open frame); a tx queue of the port's
 * burst_max pointers; for large messages, per stream frag_slots sending
 * and frag_slots receiving buffers of msg_bytes_max (about 4.3 MiB per
 * stream with the defaults; aeg_worker_frag_mem_bytes). Packet buffers
 * come from the port's pool. */
#ifndef AEGIS_WORKER_H
#define AEGIS_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/frag.h"
#include "aegis/port.h"
#include "aegis/wire.h"

AEG_API_BEGIN

/* The control channel (ctl_in/ctl_out below) is the node's own: its rings
 * are dataplane/ctl_ring.h, not installed. Embedders leave them NULL. */
struct aeg_ctl_msg;
struct aeg_ctl_ring;

/* A node of the cluster and where its worker 0 listens (worker w at
 * udp_base_port + w). */
struct aeg_worker_peer {
	uint32_t node;
	uint32_t ipv4;        /* host order */
	uint16_t udp_base_port;
};

struct aeg_worker;

/* One received message; body points into the packet and is valid only
 * during the call. The callback may call aeg_worker_send. */
typedef void (*aeg_worker_msg_fn)(void *arg, struct aeg_worker *w, uint32_t src_node,
				  uint32_t src_worker, const struct aeg_wire_msg *m);
/* Optional work of the caller's own, once per iteration of aeg_worker_run
 * before the poll (a load generator, say); may call aeg_worker_send.
 * Returns how much it did: 0 counts as idle for the back-off. */
typedef uint32_t (*aeg_worker_tick_fn)(void *arg, struct aeg_worker *w, uint64_t now_ns);
/* One control message from the main lcore (ctl_in); may answer with
 * aeg_worker_ctl_reply and may call aeg_worker_send. */
typedef void (*aeg_worker_ctl_fn)(void *arg, struct aeg_worker *w, const struct aeg_ctl_msg *m);
/* One received datagram that is not a cluster frame (its first 4 bytes are
 * not AEG_WIRE_MAGIC): a client request ("AEGC"), say. pkt->ipv4/udp_port
 * name the sender; pkt->oversize says it was cut to the buffer size. The
 * packet is valid only during the call (do not free it); the callback may
 * call aeg_worker_send and aeg_worker_send_raw. Nothing here is
 * authenticated: that is the callback's job (the client key). */
typedef void (*aeg_worker_raw_fn)(void *arg, struct aeg_worker *w, const struct aeg_pkt *pkt);

struct aeg_worker_config {
	struct aeg_port *port;
	uint16_t queue;              /* = this worker's index on the node */
	uint32_t cluster;
	/* The frame key, named key_id in the frames (aegis/wire.h): frames go
	 * out under it and are accepted under it and, during a key rotation,
	 * under accept_key (NULL: none) named accept_key_id. mac_flags:
	 * AEG_WIRE_MAC_SOFTWARE or 0. The worker expands its own copies. */
	const struct aeg_wire_key *key;
	uint8_t key_id;
	const struct aeg_wire_key *accept_key;
	uint8_t accept_key_id;
	unsigned mac_flags;
	uint32_t self_node;
	const struct aeg_worker_peer *peers; /* may include self_node */
	uint32_t peer_count;
	/* Room in peers[] (0: peer_count): the node's control plane may raise
	 * peer_count up to it at run time (a node that joined the cluster,
	 * AEG_CTL_WORKER_PEERS), after writing the new entries. */
	uint32_t peer_cap;
	uint32_t workers_per_node;
	uint32_t frame_bytes_max;    /* UDP payload per frame; default 1472 (1500 MTU) */
	uint64_t drain_ns;           /* open frames leave after this; default 20 us */
	/* Largest message aeg_worker_send takes; larger than a frame goes
	 * through lib/frag. 0: 1 MiB + 64 KiB. A value that fits a frame
	 * turns fragmentation off (no memory for it). */
	uint32_t msg_bytes_max;
	uint16_t frag_slots;         /* large messages in flight per stream and direction (2) */
	uint16_t frag_window;        /* fragments in flight per stream (64; at most 128) */
	/* Frames with seq <= floor are refused: the start time in wall-clock
	 * ns minus the allowed skew (aeg/wire.h, "Replay"). */
	uint64_t replay_floor;
	aeg_worker_msg_fn on_msg;
	aeg_worker_tick_fn on_tick;  /* may be NULL */
	/* Non-cluster datagrams; NULL: counted as bad_magic drops. */
	aeg_worker_raw_fn on_raw;
	/* Once per iteration after every rx callback of the burst and before
	 * the tx burst (also when nothing arrived), so that work done for the
	 * packets of this iteration leaves in this iteration (Ready of dirty
	 * Raft groups, client replies). May be NULL; returns work done like
	 * on_tick (0 = idle for the back-off). */
	aeg_worker_tick_fn on_rx_done;
	/* Optional: called on the worker's thread when aeg_worker_run ends
	 * (e.g. to finish I/O the thread started: io_uring cancels what an
	 * exiting thread left in flight). */
	void (*on_exit)(void *arg, struct aeg_worker *w);
	/* Optional, asked once at init: an fd whose readability also ends an
	 * idle wait (< 0: none). The replica gives its log's io_uring, so the
	 * loop sleeps while the disk syncs and wakes when the write is done. */
	int (*wake_fd)(void *arg);
	/* Control channel with the main lcore (both may be NULL): the worker
	 * pops ctl_in every iteration (a message also ends an idle sleep's
	 * back-off, so it waits at most ~1 ms) and hands each to on_ctl;
	 * answers go to ctl_out. Single producer, single consumer each way. */
	struct aeg_ctl_ring *ctl_in;
	struct aeg_ctl_ring *ctl_out;
	aeg_worker_ctl_fn on_ctl;    /* required when ctl_in is set */
	void *arg;                   /* for every callback above */
};

/* Counters of one worker; read with aeg_worker_stats_read. */
struct aeg_worker_stats {
	uint64_t rx_pkts, rx_bytes, rx_batches, rx_msgs;
	uint64_t rx_raw;        /* datagrams handed to on_raw */
	uint64_t tx_raw;        /* datagrams queued by aeg_worker_send_raw / raw_commit */
	uint64_t tx_pkts, tx_bytes, tx_batches; /* taken by the port */
	uint64_t tx_msgs;       /* messages sealed into frames */
	uint64_t tx_dropped;    /* frames the port did not take (tx ring full) */
	uint64_t tx_no_buf;     /* sends refused: the packet pool was empty */
	uint64_t port_errors;   /* rx/tx bursts that returned an error */
	uint64_t idle_sleeps;
	uint64_t ctl_msgs;      /* control messages handled */
	uint64_t drops[AEG_WIRE_DROP_NR]; /* by enum aeg_wire_drop; [0] unused */
	struct aeg_frag_stats frag;       /* large messages (lib/frag's counters) */
};

/* Returns 0, -EINVAL (bad config), or -ENOMEM. */
int aeg_worker_init(struct aeg_worker **out, const struct aeg_worker_config *cfg);
/* Releases the worker's memory and every packet it holds (not the port). */
void aeg_worker_fini(struct aeg_worker *w);

/* Queues a message for (node, worker). Returns 0, -ENOENT (unknown peer),
 * -ENOBUFS (no packet buffer: counted in tx_no_buf; or, for a message
 * over a frame, every large-message slot of the stream busy: counted in
 * frag.tx_busy), or -EMSGSIZE (body over msg_bytes_max, or over a frame
 * with fragmentation off). A message over a frame is copied; it may
 * arrive after smaller messages sent later. Frame sequence numbers come
 * from aeg_wire_seq_next() with CLOCK_REALTIME. */
int aeg_worker_send(struct aeg_worker *w, uint32_t node, uint32_t worker, uint8_t type,
		    uint32_t group, const void *body, uint32_t body_len);
/* Queues one datagram of len bytes to ipv4:udp_port (host order) for this
 * iteration's tx burst, outside any frame (a client reply). Returns 0,
 * -ENOBUFS (no packet buffer: counted in tx_no_buf) or -EMSGSIZE (len over
 * the frame size or the buffer). */
int aeg_worker_send_raw(struct aeg_worker *w, uint32_t ipv4, uint16_t udp_port,
			const void *data, uint32_t len);
/* The same without a copy: a packet addressed to ipv4:udp_port whose data
 * the caller fills (up to *cap bytes, cap <= the frame size), then hands
 * back with exactly one of raw_commit (len bytes are sent: 0, -EMSGSIZE
 * if len > cap, the packet then being freed) or raw_cancel. NULL when the
 * pool is empty (counted in tx_no_buf). Nothing else may be sent between
 * reserve and commit on this worker. */
struct aeg_pkt *aeg_worker_raw_reserve(struct aeg_worker *w, uint32_t ipv4, uint16_t udp_port,
				       uint32_t *cap);
int aeg_worker_raw_commit(struct aeg_worker *w, struct aeg_pkt *pkt, uint32_t len);
void aeg_worker_raw_cancel(struct aeg_worker *w, struct aeg_pkt *pkt);

/* This worker's index on its node (= its queue, cfg.queue). */
uint32_t aeg_worker_index(const struct aeg_worker *w);
/* The monotonic time of the current iteration (the now_ns given to
 * aeg_worker_poll, or read by aeg_worker_run), so callbacks need no clock
 * read of their own. Before the first iteration: the time of init. */
uint64_t aeg_worker_now_ns(const struct aeg_worker *w);
/* CLOCK_MONOTONIC in ns, read through the TSC where it is invariant (the
 * clock aeg_worker_run reads once per iteration): for a caller that runs
 * its own loop around aeg_worker_poll. Only from the worker's thread. */
uint64_t aeg_worker_clock_ns(struct aeg_worker *w);
/* The frame MAC code in use (aeg_wire_mac_impl): "avx512" ... "software". */
const char *aeg_worker_mac_impl(const struct aeg_worker *w);

/* One iteration: rx burst, callbacks, drain timer, tx. Returns the number
 * of packets received (0 = idle). now_ns: CLOCK_MONOTONIC. */
uint32_t aeg_worker_poll(struct aeg_worker *w, uint64_t now_ns);
/* Seals every open frame and hands all queued frames to the port. */
void aeg_worker_flush(struct aeg_worker *w);
/* Polls with adaptive idle back-off until aeg_worker_stop is called. */
void aeg_worker_run(struct aeg_worker *w);
/* From any thread. */
void aeg_worker_stop(struct aeg_worker *w);

/* From on_ctl (the worker's thread): queues an answer on ctl_out. Returns
 * 0, -ENOBUFS (ctl_out full: the main lcore is not draining it) or
 * -ENOTCONN (no ctl_out). */
int aeg_worker_ctl_reply(struct aeg_worker *w, const struct aeg_ctl_msg *m);

/* Bytes allocated for large messages (0 when off), and per stream. */
size_t aeg_worker_frag_mem_bytes(const struct aeg_worker *w, size_t *per_stream);

/* Copies the counters (from any thread). */
void aeg_worker_stats_read(const struct aeg_worker *w, struct aeg_worker_stats *out);

AEG_API_END

#endif
