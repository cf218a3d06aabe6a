/* Internals of the client protocol codec shared with its tests and fuzzer:
 * header field offsets and the test-only parse entry that skips the tag.
 * Not installed. */
#ifndef AEGIS_CLIENT_PROTO_INTERNAL_H
#define AEGIS_CLIENT_PROTO_INTERNAL_H

#include "aegis/client_proto.h"

/* Byte offsets in the header (see aegis/client_proto.h for the layout). */
#define CLIENT_OFF_VERSION 4
#define CLIENT_OFF_KIND 5
#define CLIENT_OFF_FLAGS 6
#define CLIENT_OFF_CLIENT_ID 7
#define CLIENT_OFF_SEQ_FLOOR 15
#define CLIENT_OFF_COUNT 23
#define CLIENT_OFF_BODY_LEN 25

/* TEST ONLY (unit tests and the fuzzer): aeg_client_parse without the tag
 * check, so that random inputs reach the item walk. Never call it on
 * traffic. */
enum aeg_client_drop client_parse_untagged_for_test(const struct aeg_client_rx *rx,
						    const uint8_t *pkt, size_t len,
						    struct aeg_client_dgram *out);

#endif
