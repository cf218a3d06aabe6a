#include "compat_tmp.h"
#include <errno.h>
#include <stdlib.h>
int aeg_raft_new(struct aeg_raft **out, const struct aeg_raft_config *cfg, const struct aeg_raft_conf *initial)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	int rc = aeg_raft_init(*out, cfg, initial);
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
void aeg_raft_free(struct aeg_raft *r)
{
	if (r == NULL)
		return;
	aeg_raft_fini(r);
	free(r);
}
void aeg_raft_conf_get(const struct aeg_raft *r, struct aeg_raft_conf *out) { *out = r->conf; }
int aeg_raft_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out) { (void)index; *out = r->conf; return 0; }
size_t aeg_raft_memory_bytes(const struct aeg_raft_config *cfg) { (void)cfg; return 0; }
