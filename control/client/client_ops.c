/* The client's operations: submit (checks, seq, queue) and the synchronous
 * calls, which are one submitted operation and polls until it is done. */
#include "client_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int aeg_client_submit(struct aeg_client *c, struct aeg_client_op *op)
{
	bool scan = op->op == AEG_CLIENT_SCAN;
	bool writes_value = op->op == AEG_CLIENT_PUT || op->op == AEG_CLIENT_CAS || scan;
	if ((op->op < AEG_CLIENT_GET || op->op > AEG_CLIENT_CAS) && !scan)
		return -EINVAL;
	if (op->consistency > AEG_CLIENT_CONSISTENCY_MAX || (!scan && (op->key_len == 0 || op->key == NULL)) ||
	    (scan && (op->value_len == 0 || (op->key_len != 0 && op->key == NULL))) ||
	    (writes_value && op->value == NULL && op->value_len != 0) ||
	    (op->op != AEG_CLIENT_CAS && op->expect_version != 0) ||
	    ((op->op == AEG_CLIENT_GET || scan) && op->buf == NULL && op->buf_cap != 0))
		return -EINVAL;
	if (aeg_client_req_part_max(c->cfg.dgram_bytes, op->key_len) == 0 ||
	    (writes_value && op->value_len > c->cfg.value_bytes_max))
		return -EMSGSIZE;
	if (scan && op->shard >= c->shard_count)
		return -EINVAL;
	/* A SCAN's args go whole: no parts. */
	if (scan && op->value_len > aeg_client_req_part_max(c->cfg.dgram_bytes, op->key_len))
		return -EMSGSIZE;
	if (c->outstanding >= c->cfg.outstanding_max)
		return -EAGAIN;
	memset(&op->priv, 0, sizeof(op->priv));
	op->priv.seq = c->next_seq++;
	op->priv.last_status = OP_STATUS_NONE;
	op->status = -EINPROGRESS;
	op->version = 0;
	if (!writes_value)
		op->value_len = 0;
	table_put(c, op);
	c->outstanding++;
	client_requeue(c, op);
	assert(op->priv.state == OP_PENDING);
	return 0;
}

static void sync_done(struct aeg_client_op *op)
{
	*(bool *)op->user = true;
}

static int run_sync(struct aeg_client *c, struct aeg_client_op *op)
{
	bool done = false;
	op->done = sync_done;
	op->user = &done;
	int rc;
	while ((rc = aeg_client_submit(c, op)) == -EAGAIN)
		if ((rc = aeg_client_poll(c, -1)) < 0)
			return rc;
	if (rc != 0)
		return rc;
	while (!done) {
		rc = aeg_client_poll(c, -1);
		if (rc < 0 && !done) {
			client_complete(c, op, rc); /* op lives on our stack */
			return rc;
		}
	}
	return op->status;
}

int aeg_client_put(struct aeg_client *c, const void *key, uint32_t key_len, const void *value,
		   uint32_t value_len, uint8_t consistency, uint64_t *version)
{
	struct aeg_client_op op = {.op = AEG_CLIENT_PUT, .consistency = consistency, .key = key,
				   .key_len = key_len, .value = value, .value_len = value_len};
	int rc = run_sync(c, &op);
	if (version != NULL)
		*version = op.version;
	return rc;
}

int aeg_client_get(struct aeg_client *c, const void *key, uint32_t key_len, void *buf,
		   uint32_t *value_len, uint8_t consistency, uint64_t *version)
{
	struct aeg_client_op op = {.op = AEG_CLIENT_GET, .consistency = consistency, .key = key,
				   .key_len = key_len, .buf = buf, .buf_cap = *value_len};
	int rc = run_sync(c, &op);
	*value_len = op.value_len;
	if (version != NULL)
		*version = op.version;
	return rc;
}

int aeg_client_del(struct aeg_client *c, const void *key, uint32_t key_len,
		   uint8_t consistency)
{
	struct aeg_client_op op = {.op = AEG_CLIENT_DEL, .consistency = consistency, .key = key,
				   .key_len = key_len};
	return run_sync(c, &op);
}

int aeg_client_cas(struct aeg_client *c, const void *key, uint32_t key_len, const void *value,
		   uint32_t value_len, uint64_t expect_version, uint8_t consistency,
		   uint64_t *version)
{
	struct aeg_client_op op = {.op = AEG_CLIENT_CAS, .consistency = consistency, .key = key,
				   .key_len = key_len, .value = value, .value_len = value_len,
				   .expect_version = expect_version};
	int rc = run_sync(c, &op);
	if (version != NULL)
		*version = op.version;
	return rc;
}

int aeg_client_append_key(struct aeg_client *c, char *key, uint32_t cap)
{
	if (c->map == NULL || aeg_shard_map_strategy(c->map) != AEG_SHARD_ROUND_ROBIN)
		return -EINVAL;
	uint32_t shards = aeg_shard_map_shard_count(c->map);
	uint64_t n = c->appends++;
	uint32_t shard = (uint32_t)((c->cfg.client_id + n) % shards);
	int len = snprintf(key, cap, "%u/%016llx-%llu", shard, (unsigned long long)c->cfg.client_id,
			   (unsigned long long)n);
	if (len < 0 || (uint32_t)len >= cap)
		return -ENOSPC;
	assert(aeg_shard_for_key(c->map, key, (size_t)len) == shard);
	return len;
}

int aeg_client_append(struct aeg_client *c, const void *value, uint32_t value_len, uint8_t consistency,
		      char *key, uint32_t cap, uint32_t *key_len)
{
	int st = AEG_CLIENT_VERSION_MISMATCH;
	for (int tries = 0; tries < 8 && st == AEG_CLIENT_VERSION_MISMATCH; tries++) {
		int len = aeg_client_append_key(c, key, cap);
		if (len < 0)
			return len;
		*key_len = (uint32_t)len;
		st = aeg_client_cas(c, key, (uint32_t)len, value, value_len, 0, consistency, NULL);
	}
	return st;
}
