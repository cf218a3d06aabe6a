/* One Aegis endpoint of the dataplane benchmark: this program re-executed
 * as "aegis-bench-dataplane --endpoint key=value... [-- EAL args]", one
 * port queue and one aeg_worker (dataplane/worker.c) busy-polled on one
 * CPU, driven by the parent through a command pipe (fd 3, replies on
 * fd 4), one line each:
 *
 *   -> ready                          port up, worker running
 *   pingpong ROUNDS MSGS  -> pingpong n= p50= p99= p999= mean= max= allocs= ...
 *   stream FRAME_BYTES [BODY] -> streaming   (send messages of BODY bytes, default
 *                                              16, to the peer as fast as the port
 *                                              takes them)
 *   bounce FRAME_BYTES N [BODY] -> bouncing  (frames of at most FRAME_BYTES; send
 *                                              N frames of EP_MSG_BOUNCE, and send
 *                                              every one that arrives back: both
 *                                              sides do, like testpmd's io forward)
 *   halt                  -> halted          (stop streaming or bouncing, flush)
 *   snap                  -> snap t= rx_pkts= ... allocs= frees= gets=
 *   pause                 -> paused          (stop polling the port)
 *   quit                  -> (exit 0)
 *
 * Every endpoint answers an EP_MSG_PING with an EP_MSG_PONG of the same
 * body and only counts EP_MSG_SINK messages (the worker's rx_msgs). */
#ifndef AEGIS_BENCH_ENDPOINT_H
#define AEGIS_BENCH_ENDPOINT_H

#include <stdint.h>

/* Every message is an AEG_MSG_TEST (aegis/msg.h); its kind travels in
 * the wire group field (as a group id would). */
#define EP_MSG_PING 1
#define EP_MSG_PONG 2
#define EP_MSG_SINK 3
#define EP_MSG_BOUNCE 4
#define EP_BODY_BYTES 16u
#define EP_CLUSTER 0xbe4cu
#define EP_CTL_IN 3
#define EP_CTL_OUT 4

/* UDP payload of a frame holding `msgs` messages of EP_BODY_BYTES each. */
uint32_t ep_frame_bytes(uint32_t msgs);
/* How many such messages fit a frame of frame_bytes. */
uint32_t ep_msgs_per_frame(uint32_t frame_bytes);
/* The same for messages of body_bytes. */
uint32_t ep_msgs_per_frame_of(uint32_t frame_bytes, uint32_t body_bytes);

int endpoint_main(int argc, char **argv);

#endif
