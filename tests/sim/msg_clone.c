/* See msg_clone.h. Layout: the message, its entries, the snapshot config,
 * then the payload bytes. */
#include "msg_clone.h"

#include <stdlib.h>
#include <string.h>

struct aeg_raft_msg *raft_msg_clone(const struct aeg_raft_msg *m)
{
	size_t bytes = m->snap_len;
	for (uint32_t i = 0; i < m->n_entries; i++)
		bytes += m->entries[i].len;
	size_t ents_off = sizeof(*m);
	size_t conf_off = ents_off + (size_t)m->n_entries * sizeof(*m->entries);
	size_t data_off = conf_off + sizeof(*m->snap_conf);
	uint8_t *block = malloc(data_off + bytes + 1);
	if (block == NULL)
		abort();
	struct aeg_raft_msg *c = (struct aeg_raft_msg *)block;
	struct aeg_raft_entry *ents = (struct aeg_raft_entry *)(block + ents_off);
	struct aeg_raft_conf *conf = (struct aeg_raft_conf *)(block + conf_off);
	uint8_t *data = block + data_off;
	*c = *m;
	if (m->snap_conf != NULL) {
		*conf = *m->snap_conf;
		c->snap_conf = conf;
	}
	if (m->snap_len > 0) {
		memcpy(data, m->snap_data, m->snap_len);
		c->snap_data = data;
		data += m->snap_len;
	}
	for (uint32_t i = 0; i < m->n_entries; i++) {
		ents[i] = m->entries[i];
		if (ents[i].len > 0)
			memcpy(data, m->entries[i].data, ents[i].len);
		ents[i].data = data;
		data += ents[i].len;
	}
	c->entries = m->n_entries > 0 ? ents : NULL;
	return c;
}
