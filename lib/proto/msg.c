/* The names of the wire message types (aegis/msg.h). */
#include "aegis/msg.h"

#include <stddef.h>

const char *aeg_msg_type_name(uint8_t type)
{
	static const char *const names[AEG_MSG_TYPE_MAX + 1] = {
		[AEG_MSG_TEST] = "test",
		[AEG_MSG_RAFT] = "raft",
		[AEG_MSG_RAFT_HB] = "raft_hb",
		[AEG_MSG_FRAG] = "frag",
		[AEG_MSG_FRAG_ACK] = "frag_ack",
		[AEG_MSG_META] = "meta",
		[AEG_MSG_PLACE] = "place",
	};
	if (type > AEG_MSG_TYPE_MAX || names[type] == NULL)
		return "unknown";
	return names[type];
}
