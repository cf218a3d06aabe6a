/* Deep copy of a raft message (entries, their payloads, a snapshot chunk
 * and its config) in one allocation, as a network would hold it. Shared by
 * the simulator and the unit-test harness. */
#ifndef AEGIS_TEST_MSG_CLONE_H
#define AEGIS_TEST_MSG_CLONE_H

#include "aegis/raft.h"

/* Returns a message whose pointers all point into the returned block;
 * release it with free(). Aborts if out of memory (tests only). */
struct aeg_raft_msg *raft_msg_clone(const struct aeg_raft_msg *m);

#endif
