/* Client protocol names (metric labels, log lines) and the per-request
 * meaning check a node makes after a datagram parsed. */
#include "aegis/client_proto.h"

static const char *const status_names[AEG_CLIENT_STATUS_NR] = {
	[AEG_CLIENT_OK] = "ok",
	[AEG_CLIENT_NOT_FOUND] = "not_found",
	[AEG_CLIENT_VERSION_MISMATCH] = "version_mismatch",
	[AEG_CLIENT_NOT_LEADER] = "not_leader",
	[AEG_CLIENT_STALE_EPOCH] = "stale_epoch",
	[AEG_CLIENT_UNAVAILABLE] = "unavailable",
	[AEG_CLIENT_TOO_LARGE] = "too_large",
	[AEG_CLIENT_NO_SPACE] = "no_space",
	[AEG_CLIENT_BAD_REQUEST] = "bad_request",
	[AEG_CLIENT_TIMEOUT] = "timeout",
	[AEG_CLIENT_SESSION_EXPIRED] = "session_expired",
	[AEG_CLIENT_BUSY] = "busy",
};

static const char *const drop_names[AEG_CLIENT_DROP_NR] = {
	[AEG_CLIENT_DROP_OK] = "ok",
	[AEG_CLIENT_DROP_TRUNCATED] = "truncated",
	[AEG_CLIENT_DROP_BAD_MAGIC] = "bad_magic",
	[AEG_CLIENT_DROP_BAD_VERSION] = "bad_version",
	[AEG_CLIENT_DROP_BAD_KIND] = "bad_kind",
	[AEG_CLIENT_DROP_BAD_FLAGS] = "bad_flags",
	[AEG_CLIENT_DROP_BAD_LENGTH] = "bad_length",
	[AEG_CLIENT_DROP_BAD_COUNT] = "bad_count",
	[AEG_CLIENT_DROP_TOO_MANY_ITEMS] = "too_many_items",
	[AEG_CLIENT_DROP_BAD_TAG] = "bad_tag",
	[AEG_CLIENT_DROP_TRUNCATED_ITEM] = "truncated_item",
	[AEG_CLIENT_DROP_BAD_ITEM] = "bad_item",
};

static const char *const op_names[AEG_CLIENT_OP_MAX + 1] = {
	[AEG_CLIENT_GET] = "get", [AEG_CLIENT_PUT] = "put", [AEG_CLIENT_DEL] = "del",
	[AEG_CLIENT_CAS] = "cas", [AEG_CLIENT_MAP] = "map", [AEG_CLIENT_PING] = "ping", [AEG_CLIENT_SCAN] = "scan",
};

static const char *const consistency_names[AEG_CLIENT_CONSISTENCY_MAX + 1] = {
	[AEG_CLIENT_DEFAULT] = "default", [AEG_CLIENT_ONE] = "one",
	[AEG_CLIENT_QUORUM] = "quorum", [AEG_CLIENT_ALL] = "all",
};

static const char *name_of(const char *const *names, unsigned nr, int v)
{
	if (v < 0 || (unsigned)v >= nr || names[v] == NULL)
		return "invalid";
	return names[v];
}

const char *aeg_client_status_name(int status)
{
	return name_of(status_names, AEG_CLIENT_STATUS_NR, status);
}

const char *aeg_client_drop_name(int reason)
{
	return name_of(drop_names, AEG_CLIENT_DROP_NR, reason);
}

const char *aeg_client_op_name(int op)
{
	return name_of(op_names, AEG_CLIENT_OP_MAX + 1, op);
}

const char *aeg_client_consistency_name(int consistency)
{
	return name_of(consistency_names, AEG_CLIENT_CONSISTENCY_MAX + 1, consistency);
}

enum aeg_client_status aeg_client_req_check(const struct aeg_client_req *r)
{
	bool keyed = r->op == AEG_CLIENT_GET || r->op == AEG_CLIENT_PUT ||
		     r->op == AEG_CLIENT_DEL || r->op == AEG_CLIENT_CAS;
	bool writes_value = r->op == AEG_CLIENT_PUT || r->op == AEG_CLIENT_CAS;
	if (r->op < AEG_CLIENT_GET || r->op > AEG_CLIENT_OP_MAX ||
	    r->consistency > AEG_CLIENT_CONSISTENCY_MAX)
		return AEG_CLIENT_BAD_REQUEST;
	if (r->op == AEG_CLIENT_SCAN) {
		if (r->value_len == 0 || r->part.count > 1 || r->expect_version != 0)
			return AEG_CLIENT_BAD_REQUEST;
		return AEG_CLIENT_OK;
	}
	if (keyed != (r->key_len != 0))
		return AEG_CLIENT_BAD_REQUEST;
	if (!writes_value && (r->value_len != 0 || r->part.count > 1))
		return AEG_CLIENT_BAD_REQUEST;
	if (r->op != AEG_CLIENT_CAS && r->expect_version != 0)
		return AEG_CLIENT_BAD_REQUEST;
	return AEG_CLIENT_OK;
}
