/* Range splits on a worker (issue [G]): shard `from`'s keys from `key` up
 * go to spare shard `to` (same worker index, a replica here), and the meta
 * group's range table says so. Run where `from` is led, one step a tick:
 *
 *   LEAD    `to`'s leader is asked to hand its leadership here (PLACE
 *           LEAD): the copy is proposed into its log;
 *   FENCE   FENCE key in `from`: from its entry on, a write of a key >=
 *           key changes nothing there (MOVED: the client gets BUSY and
 *           retries); the range is frozen;
 *   COPY    once the fence is applied, `from`'s keys in [key, its range's
 *           end) are proposed into `to`'s log as COPY_BATCH entries of
 *           ~64 KiB (each key keeps its version; `to`'s later versions are
 *           above), page by page
 *           (lib/kv scans), as fast as `to`'s log window takes them;
 *   SETTLE  until `to` applied the last one (committed on a quorum);
 *   RECORD  the node relays the split to the meta group (META_SPLIT, every
 *           RP_SPLIT_ASK_MS); once the map this worker routes by shows it,
 *           DROP_FROM key in `from` and the split is done.
 *
 * A lost leadership before RECORD ends the split (failed): where we still
 * lead `from`, UNFENCE at once. Otherwise (and for the leftovers of any
 * failure) every worker sweeps the shards it leads each second:
 *   - fenced, the map showing the split at the fence: DROP_FROM the fence
 *     (once per term: the keys left behind go);
 *   - fenced, the map not showing it, no split here, for RP_SPLIT_STALE_MS:
 *     UNFENCE (a split that died before its record);
 *   - a spare (no range) holding keys, not this worker's split target, for
 *     RP_SPLIT_STALE_MS: DROP_FROM "" (a copy that was never recorded).
 * A split stops asking for its record RP_SPLIT_ASK_AFTER_LOSS_MS after it
 * lost `from`: well before a stale fence is lifted (a record applied after
 * that would give `to` a range whose later writes `from` took: the margin
 * is what keeps that from happening).
 *
 * A merge is the same run the other way: shard `from`'s whole range joins
 * the range before it, on shard `to` (same worker index), driven where
 * `from` is led: LEAD takes `to`'s leadership; FENCE proposes DROP_FROM
 * and UNFENCE at `from`'s lower bound in `to` (leftovers of the split that
 * made `from`, the fence that split left) and FENCE "" (every key) in
 * `from`; COPY takes `from`'s range into `to`; RECORD asks for the table
 * without `from`'s range; then `from`, a spare again, drops its keys and
 * its fence. An abort puts `to`'s fence back and drops the partial copy.
 *
 * Reads meanwhile (replica_client.c): a GET of a fenced key is answered
 * while the key is here, BUSY when not (it may have been dropped); a scan
 * that reaches the fence while the map still gives the shard those keys
 * gets BUSY. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/msg.h"
#include "aegis/shard_move.h"
#include "common/key_order.h"
#include "ctl_ring.h"
#include "replica_int.h"

#define RP_SPLIT_STEP_MS 2
#define RP_SPLIT_LEAD_MS 10000          /* to get `to`'s leadership */
#define RP_SPLIT_ASK_MS 500             /* PLACE LEAD resends */
#define RP_SPLIT_PAGE 512               /* keys scanned per step (a scan walks the shard) */
#define RP_SPLIT_BATCH_BYTES (4u << 20) /* commands proposed per step */
#define RP_SPLIT_ENTRY_BYTES (64u << 10) /* keys per COPY_BATCH entry (a larger key alone) */
#define RP_SPLIT_ASK_AFTER_LOSS_MS 20000
#define RP_SPLIT_STALE_MS 60000
#define RP_SPLIT_SWEEP_MS 1000

const char *aeg_replica_split_phase_name(uint8_t phase)
{
	static const char *const names[] = { "idle", "lead", "fence", "copy", "settle", "record" };
	return phase <= AEG_SPLIT_RECORD ? names[phase] : "?";
}

static uint32_t key_max(const struct aeg_replica *rp)
{
	return rp->cfg.kv.key_bytes_max ? rp->cfg.kv.key_bytes_max : AEG_KV_KEY_BYTES_MAX_DEFAULT;
}

static uint32_t value_max(const struct aeg_replica *rp)
{
	return rp->cfg.kv.value_bytes_max ? rp->cfg.kv.value_bytes_max : AEG_KV_VALUE_BYTES_MAX_DEFAULT;
}

static struct rp_shard *shard_here(struct aeg_replica *rp, uint32_t shard)
{
	return shard < aeg_shard_map_shard_count(rp->cfg.map) ? rp_shard_of(rp, aeg_shard_group(shard)) : NULL;
}

/* The term we lead s in, 0 if we do not. */
static uint64_t led_term(struct aeg_replica *rp, const struct rp_shard *s)
{
	if (s == NULL || s->drop_pending)
		return 0;
	struct aeg_raft_status rs;
	aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &rs);
	return rs.role == AEG_RAFT_LEADER ? rs.term : 0;
}

/* The upper bound of shard's range in the map (*hi NULL: +inf); false if
 * it has no range. */
static bool range_hi(const struct aeg_shard_map *m, uint32_t shard, const void **hi, uint32_t *hi_len)
{
	uint32_t k = aeg_shard_map_range_index(m, shard);
	struct aeg_shard_range r;
	return k != UINT32_MAX && aeg_shard_map_range(m, k, &r, hi, hi_len) == 0;
}

/* The hash of shard's range in the map (0: it has none); with hi, its
 * upper bound copied into sp (len 0: +inf). */
static uint64_t bounds_of(struct aeg_replica *rp, uint32_t shard, bool keep_hi)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t k = aeg_shard_map_range_index(m, shard);
	struct aeg_shard_range r;
	const void *hi = NULL;
	uint32_t hi_len = 0;
	if (k == UINT32_MAX || aeg_shard_map_range(m, k, &r, &hi, &hi_len) != 0)
		return 0;
	if (keep_hi) {
		rp->split.hi_len = hi != NULL ? hi_len : 0;
		if (hi != NULL)
			memcpy(rp->split.hi, hi, hi_len);
	}
	return aeg_shard_range_hash(shard, r.lo, r.lo_len, hi, hi_len);
}

/* s fenced other than at its range's end (a leftover of its own split):
 * a split or merge of it is under way. */
static bool busy_fence(struct aeg_replica *rp, const struct rp_shard *s)
{
	const uint8_t *f;
	uint32_t fl;
	const void *hi;
	uint32_t hi_len;
	if (!aeg_kv_fence(s->kv, &f, &fl))
		return false;
	if (!range_hi(rp->cfg.map, s->shard, &hi, &hi_len))
		return !(fl == 0);  /* a spare fenced whole: a merge left it so */
	return hi == NULL || aeg_key_cmp(f, fl, hi, hi_len) != 0;
}

/* The command buffer (a page of batches, and one largest key beyond) and
 * a batch's value: 0 or -ENOMEM. */
static int split_buffers(struct aeg_replica *rp)
{
	struct rp_split *sp = &rp->split;
	size_t one = (size_t)key_max(rp) + value_max(rp) + 64;
	if (sp->buf == NULL) {
		sp->buf_cap = RP_SPLIT_BATCH_BYTES + one + AEG_KV_CMD_OVERHEAD_MAX;
		if ((sp->buf = malloc(sp->buf_cap)) == NULL)
			return -ENOMEM;
	}
	if (sp->vbuf == NULL) {
		sp->vbuf_cap = RP_SPLIT_ENTRY_BYTES + one;
		if ((sp->vbuf = malloc(sp->vbuf_cap)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* One command without a session into s's log: its index, or 0. */
static uint64_t propose_op(struct aeg_replica *rp, struct rp_shard *s, uint8_t op, const void *key, uint32_t key_len)
{
	struct aeg_kv_cmd c = { .op = op, .key = key, .key_len = key_len, .time_ms = rp->wall_ms };
	/* The sweep proposes on workers that never ran a split. */
	if (split_buffers(rp) != 0)
		return 0;
	int n = aeg_kv_cmd_encode(&c, rp->split.buf, rp->split.buf_cap);
	assert(n > 0);
	struct aeg_raft_payload p = { .data = rp->split.buf, .len = (uint32_t)n };
	uint64_t first = 0;
	int rc = aeg_gd_propose(rp->gd, s->group, &p, 1, &first);
	aeg_gd_touch(rp->gd, s->group);
	return rc == 0 ? first : 0;
}

static void placed_state(struct aeg_replica *rp, uint32_t shard, uint8_t state)
{
	struct aeg_replica_placed *pl = &rp->placed[rp->placed_seq % AEG_REPLICA_PLACED_RING];
	memset(pl, 0, sizeof(*pl));
	pl->kind = AEG_REPLICA_PLACED_STATE;
	pl->shard = shard;
	pl->state = state;
	rp->placed_seq++;
}

static void split_end(struct aeg_replica *rp, bool ok, const char *why)
{
	struct rp_split *sp = &rp->split;
	if (sp->merge)
		rp_log(rp, "shard %u: merge into shard %u %s after %llu ms (%llu keys, %llu bytes copied in %llu entries)%s%s",
		       sp->from, sp->to, ok ? "done" : "failed", (unsigned long long)(rp->now_ms - sp->started_ms),
		       (unsigned long long)sp->copied, (unsigned long long)sp->copied_bytes,
		       (unsigned long long)sp->entries, ok ? "" : ": ", ok ? "" : why);
	else
		rp_log(rp, "shard %u: split at %u-byte key into shard %u %s after %llu ms (%llu keys, %llu bytes copied in "
		       "%llu entries)%s%s", sp->from, sp->key_len, sp->to, ok ? "done" : "failed",
		       (unsigned long long)(rp->now_ms - sp->started_ms), (unsigned long long)sp->copied,
		       (unsigned long long)sp->copied_bytes, (unsigned long long)sp->entries, ok ? "" : ": ", ok ? "" : why);
	placed_state(rp, sp->from, AEG_SHARD_ACTIVE);
	placed_state(rp, sp->to, AEG_SHARD_ACTIVE);  /* a spare still without a range shows inactive */
	if (ok)
		sp->done++;
	else
		sp->failed++;
	sp->phase = AEG_SPLIT_IDLE;
}

/* Before RECORD: ends the split, lifting the fence where we still lead. */
static void split_abort(struct aeg_replica *rp, const char *why)
{
	struct rp_split *sp = &rp->split;
	struct rp_shard *from = shard_here(rp, sp->from);
	if (sp->phase >= AEG_SPLIT_FENCE && led_term(rp, from) == sp->from_term && sp->from_term != 0 &&
	    propose_op(rp, from, AEG_KV_UNFENCE, NULL, 0) != 0)
		sp->unfenced++;
	struct rp_shard *to = shard_here(rp, sp->to);
	bool to_led = sp->phase >= AEG_SPLIT_FENCE && led_term(rp, to) == sp->to_term && sp->to_term != 0;
	const uint8_t *f;
	uint32_t fl;
	/* Split: the spare's partial copy goes (in RECORD, another's record
	 * may have given it a range: then the sweep's rules decide). */
	if (!sp->merge && to_led && sp->phase < AEG_SPLIT_RECORD)
		(void)propose_op(rp, to, AEG_KV_DROP_FROM, NULL, 0);
	if (sp->merge && to_led) {
		/* `to` as it was: no key past its range's end (the copies), that
		 * end fenced unless a split of it fenced it since. */
		(void)propose_op(rp, to, AEG_KV_DROP_FROM, sp->key, sp->key_len);
		if (!aeg_kv_fence(to->kv, &f, &fl))
			(void)propose_op(rp, to, AEG_KV_FENCE, sp->key, sp->key_len);
	}
	split_end(rp, false, why);
}

static void phase(struct aeg_replica *rp, uint8_t p)
{
	rp->split.phase = p;
	rp->split.phase_ms = rp->now_ms;
	rp_log(rp, "shard %u: %s shard %u: %s", rp->split.from, rp->split.merge ? "merge into" : "split into",
	       rp->split.to, aeg_replica_split_phase_name(p));
}

void rp_split_refused(struct aeg_replica *rp, const struct rp_shard *s, const struct aeg_raft_entry *e,
		      const struct aeg_kv_result *res)
{
	struct rp_split *sp = &rp->split;
	struct aeg_kv_cmd c;
	if (sp->phase < AEG_SPLIT_COPY || sp->phase > AEG_SPLIT_SETTLE || s->shard != sp->to ||
	    aeg_kv_cmd_decode(&c, e->data, e->len) != 0 || (c.op != AEG_KV_COPY && c.op != AEG_KV_COPY_BATCH))
		return;  /* a client's write (a merge's target takes them too) */
	if (sp->copy_refused == 0)
		sp->copy_refused = res->status;
}

void rp_split_lead_asked(struct aeg_replica *rp, uint32_t shard, uint32_t to)
{
	struct rp_shard *s = shard_here(rp, shard);
	if (s == NULL || led_term(rp, s) == 0 || to == rp->cfg.node)
		return;  /* asked of every voter: the leader acts */
	int rc = aeg_raft_transfer_leader(aeg_gd_raft(rp->gd, s->group), to);
	aeg_gd_touch(rp->gd, s->group);
	rp_log(rp, "shard %u: leadership to node %u for a split's copy: %s", shard, to, rc == 0 ? "started" : strerror(-rc));
}

static void ask_lead(struct aeg_replica *rp, struct rp_shard *to)
{
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(aeg_gd_raft(rp->gd, to->group), &conf);
	struct aeg_place_msg m = { .op = AEG_PLACE_LEAD, .shard = to->shard, .to = rp->cfg.node };
	uint8_t buf[AEG_PLACE_MSG_BYTES_MAX];
	int len = aeg_place_msg_encode(&m, buf, sizeof(buf));
	assert(len > 0);
	for (uint32_t i = 0; i < conf.n; i++)
		if (conf.ids[i] != rp->cfg.node && (conf.roles[i] & AEG_RAFT_MEMBER_VOTER))
			(void)rp_send(rp, conf.ids[i], AEG_MSG_PLACE, 0, buf, (uint32_t)len);
	rp->split.sent_ms = rp->now_ms;
}

/* One page of the copy: up to RP_SPLIT_PAGE keys from the cursor, as
 * COPY_BATCH entries of about RP_SPLIT_ENTRY_BYTES (a larger key alone),
 * at most RP_SPLIT_BATCH_BYTES of them, proposed at once. false when the
 * window is full (later) or the copy is done. */
static bool copy_page(struct aeg_replica *rp, struct rp_shard *from, struct rp_shard *to)
{
	struct rp_split *sp = &rp->split;
	struct aeg_kv_range r = { .start = sp->cursor, .start_len = sp->cursor_len, .end = sp->hi,
				  .end_len = sp->hi_len };
	bool more = false;
	int n = aeg_kv_scan(from->kv, &r, rp->scan_items, RP_SPLIT_PAGE, &more);
	assert(n >= 0);
	/* Items point into from's table: encoded and proposed before anything
	 * is applied there again. */
	size_t off = 0, vl = 0;
	uint32_t k = 0, taken = 0;
	uint64_t bytes = 0;
	for (int i = 0; i <= n; i++) {
		const struct aeg_kv_item *it = i < n ? &rp->scan_items[i] : NULL;
		size_t need = it ? aeg_kv_copy_batch_item_size(it->key_len, it->value_len, it->version) : 0;
		if (vl > 0 && (it == NULL || vl + need > RP_SPLIT_ENTRY_BYTES)) {
			/* Close the open batch: items [open_first, i). */
			struct aeg_kv_cmd c = { .op = AEG_KV_COPY_BATCH, .value = sp->vbuf, .value_len = (uint32_t)vl,
						.time_ms = rp->wall_ms };
			size_t cs = aeg_kv_cmd_size(&c);
			if (off + cs > sp->buf_cap)
				break;  /* the page ends before this batch */
			int len = aeg_kv_cmd_encode(&c, sp->buf + off, sp->buf_cap - off);
			assert(len > 0);
			rp->payloads[k++] = (struct aeg_raft_payload){ .data = sp->buf + off, .len = (uint32_t)len };
			off += (size_t)len;
			taken = (uint32_t)i;
			vl = 0;
		}
		if (it == NULL)
			break;
		int rc = aeg_kv_copy_batch_add(sp->vbuf, sp->vbuf_cap, &vl, it->key, it->key_len, it->value, it->value_len,
					       it->version);
		assert(rc == 0);
		(void)rc;
	}
	if (k > 0) {
		uint64_t first = 0;
		int rc = aeg_gd_propose(rp->gd, to->group, rp->payloads, k, &first);
		if (rc == -ENOBUFS) {
			(void)rp_compact(rp, to);
			rc = aeg_gd_propose(rp->gd, to->group, rp->payloads, k, &first);
		}
		aeg_gd_touch(rp->gd, to->group);
		if (rc == -ENOBUFS)
			return false;  /* the cursor stays: the page again later */
		if (rc != 0) {
			split_abort(rp, "the target's log refused the copy");
			return false;
		}
		sp->last_index = first + k - 1;
		const struct aeg_kv_item *last = &rp->scan_items[taken - 1];
		memcpy(sp->cursor, last->key, last->key_len);
		sp->cursor[last->key_len] = 0;  /* the next key after it */
		sp->cursor_len = last->key_len + 1;
		for (uint32_t j = 0; j < taken; j++)
			bytes += rp->scan_items[j].key_len + rp->scan_items[j].value_len;
		sp->copied_bytes += bytes;
		sp->copied += taken;
		sp->entries += k;
	}
	if (taken < (uint32_t)n)
		return true;  /* the page was cut (the batch bytes): the rest next step */
	if (!more && sp->phase == AEG_SPLIT_COPY) {
		if (sp->last_index == 0)
			sp->last_index = aeg_raft_last_index(aeg_gd_raft(rp->gd, to->group));  /* nothing to copy */
		phase(rp, AEG_SPLIT_SETTLE);
	}
	return more;
}

static bool recorded_split(const struct aeg_replica *rp)
{
	const struct rp_split *sp = &rp->split;
	uint32_t k = aeg_shard_map_range_index(rp->cfg.map, sp->to);
	struct aeg_shard_range r;
	return k != UINT32_MAX && aeg_shard_map_range(rp->cfg.map, k, &r, NULL, NULL) == 0 &&
	       aeg_key_cmp(r.lo, r.lo_len, sp->key, sp->key_len) == 0;
}

/* Whether the map this worker routes by has the split: 1; 0 not yet; -1
 * never (the ranges changed under it: the meta leader refuses it). */
static int recorded(struct aeg_replica *rp)
{
	const struct rp_split *sp = &rp->split;
	if (sp->merge && aeg_shard_map_range_index(rp->cfg.map, sp->from) == UINT32_MAX)
		return 1;
	if (!sp->merge && recorded_split(rp))
		return 1;
	if (bounds_of(rp, sp->from, false) != sp->bounds)
		return -1;
	if (!sp->merge)
		return aeg_shard_map_range_index(rp->cfg.map, sp->to) == UINT32_MAX ? 0 : -1;
	uint32_t k = aeg_shard_map_range_index(rp->cfg.map, sp->from);
	struct aeg_shard_range prev;
	return k > 0 && aeg_shard_map_range(rp->cfg.map, k - 1, &prev, NULL, NULL) == 0 && prev.shard == sp->to ? 0 : -1;
}


static void split_step(struct aeg_replica *rp)
{
	struct rp_split *sp = &rp->split;
	struct rp_shard *from = shard_here(rp, sp->from), *to = shard_here(rp, sp->to);
	uint64_t ft = led_term(rp, from), tt = led_term(rp, to);
	if (sp->phase == AEG_SPLIT_RECORD) {
		int rec = recorded(rp);
		if (rec < 0) {
			split_abort(rp, "the ranges changed under it (another split or merge was recorded first)");
			return;
		}
		if (rec > 0) {
			/* Split: the moved keys go; merge: all, and the fence (a spare). */
			if (ft != 0 && propose_op(rp, from, AEG_KV_DROP_FROM, sp->merge ? NULL : sp->key,
						  sp->merge ? 0 : sp->key_len) != 0) {
				from->dropped_term = ft;
				sp->dropped_from++;
				if (sp->merge)
					(void)propose_op(rp, from, AEG_KV_UNFENCE, NULL, 0);
			}
			split_end(rp, true, "");
			return;
		}
		if (ft != sp->from_term && sp->lost_ms == 0)
			sp->lost_ms = rp->now_ms;
		if (sp->lost_ms != 0 && rp->now_ms - sp->lost_ms > RP_SPLIT_ASK_AFTER_LOSS_MS)
			split_end(rp, false, "lost the shard's leadership; its new leader drops the moved keys if the record lands");
		return;
	}
	if (ft == 0 || (sp->phase > AEG_SPLIT_LEAD && ft != sp->from_term)) {
		split_abort(rp, "this node no longer leads the shard");
		return;
	}
	if (to == NULL) {
		split_abort(rp, "the spare's replica left this worker");
		return;
	}
	if (sp->phase > AEG_SPLIT_LEAD && tt != sp->to_term) {
		split_abort(rp, "this node no longer leads the spare shard (its copy may be lost)");
		return;
	}
	switch (sp->phase) {
	case AEG_SPLIT_LEAD: {
		if (tt == 0) {
			if (rp->now_ms - sp->started_ms > RP_SPLIT_LEAD_MS)
				split_abort(rp, "the spare shard's leadership did not come to this node");
			else if (rp->now_ms - sp->sent_ms >= RP_SPLIT_ASK_MS)
				ask_lead(rp, to);
			return;
		}
		struct aeg_kv_stats ks;
		aeg_kv_stats_get(to->kv, &ks);
		if (!sp->merge && ks.keys != 0) {
			split_abort(rp, "the spare shard holds keys (an earlier split's copy: dropped within a minute)");
			return;
		}
		if (busy_fence(rp, from) || (sp->merge && busy_fence(rp, to))) {
			split_abort(rp, "a split or merge of one of the shards is under way");
			return;
		}
		sp->bounds = bounds_of(rp, sp->from, true);
		if (sp->bounds == 0) {
			split_abort(rp, "the shard has no range any more");
			return;
		}
		sp->from_term = ft;
		sp->to_term = tt;
		/* Merge: `to` takes keys past its range's end (its old fence
		 * and leftovers go first); split: a spare left fenced by a merge
		 * takes keys again. */
		const uint8_t *f;
		uint32_t fl;
		sp->to_index = 0;
		if (sp->merge && propose_op(rp, to, AEG_KV_DROP_FROM, sp->key, sp->key_len) == 0)
			sp->to_index = UINT64_MAX;
		if (sp->to_index == 0 && (sp->merge || aeg_kv_fence(to->kv, &f, &fl)))
			sp->to_index = propose_op(rp, to, AEG_KV_UNFENCE, NULL, 0);
		sp->fence_index = propose_op(rp, from, AEG_KV_FENCE, sp->merge ? NULL : sp->key, sp->merge ? 0 : sp->key_len);
		if (sp->fence_index == 0 || sp->to_index == UINT64_MAX) {
			split_abort(rp, "the fence was not proposed");
			return;
		}
		placed_state(rp, sp->from, sp->merge ? AEG_SHARD_MERGING : AEG_SHARD_SPLITTING);
		if (!sp->merge)
			placed_state(rp, sp->to, AEG_SHARD_CREATING);
		phase(rp, AEG_SPLIT_FENCE);
		return;
	}
	case AEG_SPLIT_FENCE: {
		const uint8_t *f;
		uint32_t fl;
		if (aeg_kv_applied(from->kv) < sp->fence_index || aeg_kv_applied(to->kv) < sp->to_index)
			return;
		if (!aeg_kv_fence(from->kv, &f, &fl) ||
		    (sp->merge ? fl != 0 : aeg_key_cmp(f, fl, sp->key, sp->key_len) != 0) ||
		    aeg_kv_fence(to->kv, &f, &fl)) {
			split_abort(rp, "the fence did not take");
			return;
		}
		/* Split: from the key up; merge: `from`'s range, from its bound. */
		memcpy(sp->cursor, sp->key, sp->key_len);
		sp->cursor_len = sp->key_len;
		phase(rp, AEG_SPLIT_COPY);
		return;
	}
	case AEG_SPLIT_COPY:
		/* A page a step: the loop's other work goes on between. */
		(void)copy_page(rp, from, to);
		return;
	case AEG_SPLIT_SETTLE:
		if (sp->copy_refused != 0) {
			split_abort(rp, sp->copy_refused == AEG_KV_NO_SPACE
						? "the target shard refused a copied key: no space (its memory budget)"
						: "the target shard refused a copied key");
			return;
		}
		if (aeg_kv_applied(to->kv) >= sp->last_index) {
			phase(rp, AEG_SPLIT_RECORD);
			sp->lost_ms = 0;
		}
		return;
	default:
		assert(0);
	}
}

/* The leftovers of splits in the shards led here (see the top). */
static void sweep(struct aeg_replica *rp)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	if (aeg_shard_map_strategy(m) != AEG_SHARD_RANGE || rp->now_ms - rp->split.sweep_ms < RP_SPLIT_SWEEP_MS)
		return;
	rp->split.sweep_ms = rp->now_ms;
	bool busy = rp->split.phase != AEG_SPLIT_IDLE;
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		struct rp_shard *s = &rp->shards[i];
		uint64_t term = s->kv != NULL && s != rp->meta ? led_term(rp, s) : 0;
		if (term == 0) {
			s->fence_stale_ms = s->leftover_ms = 0;
			continue;
		}
		const uint8_t *f;
		uint32_t fl;
		const void *hi;
		uint32_t hi_len;
		bool ranged = range_hi(m, s->shard, &hi, &hi_len);
		bool ours = busy && (rp->split.from == s->shard || rp->split.to == s->shard);
		if (aeg_kv_fence(s->kv, &f, &fl)) {
			s->leftover_ms = 0;
			if (ranged && hi != NULL && aeg_key_cmp(f, fl, hi, hi_len) == 0) {
				s->fence_stale_ms = 0;
				if (s->dropped_term != term && !ours && propose_op(rp, s, AEG_KV_DROP_FROM, f, fl) != 0) {
					s->dropped_term = term;
					rp->split.dropped_from++;
					rp_log(rp, "shard %u: the keys past its range (moved by a split) dropped", s->shard);
				}
				continue;
			}
			if (ours) {
				s->fence_stale_ms = 0;
			} else if (s->fence_stale_ms == 0) {
				s->fence_stale_ms = rp->now_ms;
			} else if (rp->now_ms - s->fence_stale_ms >= RP_SPLIT_STALE_MS &&
				   propose_op(rp, s, AEG_KV_UNFENCE, NULL, 0) != 0) {
				s->fence_stale_ms = 0;
				rp->split.unfenced++;
				rp_log(rp, "shard %u: fenced for %u s by a split that was never recorded: unfenced", s->shard,
				       RP_SPLIT_STALE_MS / 1000);
			}
			continue;
		}
		s->fence_stale_ms = 0;
		struct aeg_kv_stats ks;
		aeg_kv_stats_get(s->kv, &ks);
		if (ranged || ours || ks.keys == 0) {
			s->leftover_ms = 0;
		} else if (s->leftover_ms == 0) {
			s->leftover_ms = rp->now_ms;
		} else if (rp->now_ms - s->leftover_ms >= RP_SPLIT_STALE_MS &&
			   propose_op(rp, s, AEG_KV_DROP_FROM, NULL, 0) != 0) {
			s->leftover_ms = 0;
			rp_log(rp, "shard %u: a spare holding %llu keys of a split that was never recorded: dropped",
			       s->shard, (unsigned long long)ks.keys);
		}
	}
}

void rp_split_tick(struct aeg_replica *rp)
{
	if (rp->split.phase != AEG_SPLIT_IDLE &&
	    (rp->split.phase == AEG_SPLIT_COPY || rp->now_ms - rp->split.step_ms >= RP_SPLIT_STEP_MS)) {
		rp->split.step_ms = rp->now_ms;
		split_step(rp);
	}
	sweep(rp);
}

/* The key that splits s's range about in half by bytes (a sample of its
 * keys), malloc'd; NULL when fewer than 2 keys. */
static uint8_t *middle_key(struct aeg_replica *rp, struct rp_shard *s, uint32_t *len)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t k = aeg_shard_map_range_index(m, s->shard);
	struct aeg_shard_range r;
	const void *hi = NULL;
	uint32_t hi_len = 0;
	if (k == UINT32_MAX || aeg_shard_map_range(m, k, &r, &hi, &hi_len) != 0)
		return NULL;
	struct aeg_kv_range range = { .start = r.lo, .start_len = r.lo_len, .end = hi, .end_len = hi_len };
	int n = aeg_kv_sample(s->kv, &range, rp->scan_items, RP_SPLIT_PAGE);
	if (n < 2)
		return NULL;
	uint64_t total = 0, run = 0;
	for (int i = 0; i < n; i++)
		total += rp->scan_items[i].key_len + rp->scan_items[i].value_len;
	int at = 1;
	for (int i = 0; i < n; i++) {
		run += rp->scan_items[i].key_len + rp->scan_items[i].value_len;
		if (2 * run >= total) {
			at = i < 1 ? 1 : i;
			break;
		}
	}
	uint8_t *key = malloc(rp->scan_items[at].key_len);
	if (key != NULL) {
		memcpy(key, rp->scan_items[at].key, rp->scan_items[at].key_len);
		*len = rp->scan_items[at].key_len;
	}
	return key;
}

void rp_split_start(struct aeg_replica *rp, const struct aeg_ctl_msg *m, bool merge)
{
	uint8_t *key = merge ? NULL : (uint8_t *)(uintptr_t)m->arg[2];
	uint32_t key_len = merge ? 0 : m->arg[3] <= UINT32_MAX ? (uint32_t)m->arg[3] : UINT32_MAX;
	struct rp_split *sp = &rp->split;
	const struct aeg_shard_map *map = rp->cfg.map;
	const char *why = NULL, *what = merge ? "merge into" : "split into";
	struct rp_shard *from = m->arg[0] < UINT32_MAX ? shard_here(rp, (uint32_t)m->arg[0]) : NULL;
	struct rp_shard *to = m->arg[1] < UINT32_MAX ? shard_here(rp, (uint32_t)m->arg[1]) : NULL;
	uint32_t nr = aeg_shard_map_range_count(map), into = 0;
	struct aeg_shard_range *cur = calloc(nr + 1, sizeof(*cur)), *out = calloc(nr + 2, sizeof(*out));
	uint32_t n = cur != NULL ? aeg_shard_map_ranges(map, cur, nr + 1) : 0;
	if (!merge && key == NULL && from != NULL && from->kv != NULL)
		key = middle_key(rp, from, &key_len);  /* an automatic split: at the middle */
	if (merge && from != NULL) {
		/* A merge moves `from`'s range from its lower bound up. */
		uint32_t k = aeg_shard_map_range_index(map, from->shard);
		struct aeg_shard_range r;
		if (k != UINT32_MAX && aeg_shard_map_range(map, k, &r, NULL, NULL) == 0) {
			key = r.lo_len > 0 ? malloc(r.lo_len) : NULL;
			key_len = r.lo_len;
			if (key != NULL)
				memcpy(key, r.lo, r.lo_len);
		}
	}
	if (cur == NULL || out == NULL)
		why = "out of memory";
	else if (split_buffers(rp) != 0)
		why = "out of memory";
	else if (sp->key == NULL && ((sp->key = malloc(key_max(rp) + 1)) == NULL ||
				     (sp->cursor = malloc(key_max(rp) + 1)) == NULL ||
				     (sp->hi = malloc(key_max(rp) + 1)) == NULL))
		why = "out of memory";
	else if (aeg_shard_map_strategy(map) != AEG_SHARD_RANGE)
		why = "the cluster's sharding is not range";
	else if (sp->phase != AEG_SPLIT_IDLE)
		why = sp->from == m->arg[0] && sp->to == m->arg[1] && sp->merge == merge
			      ? NULL : "a split or merge is in progress on this worker";
	else if (from == NULL || to == NULL)
		why = "a shard of it has no replica on this worker";
	else if (merge && key == NULL)
		why = "the shard has no range, or the first one (nothing before it to merge into)";
	else if (key == NULL && !merge && m->arg[2] == 0)
		why = "too few keys in the shard's range to split it";
	else if (key == NULL || key_len == 0 || key_len > key_max(rp) || key_len > AEG_REPLICA_SPLIT_KEY_MAX)
		why = "bad key";
	else if (led_term(rp, from) == 0)
		why = "this node does not lead the shard";
	else if (!merge && (n == 0 || aeg_shard_ranges_split(cur, n, from->shard, to->shard, key, key_len, out, n + 1) != 0))
		why = "the key is not strictly inside the shard's range, or the spare has a range";
	else if (merge && (aeg_shard_ranges_merge(cur, n, from->shard, &into, out, n) != 0 || into != to->shard))
		why = "the other shard's range is not the one just before this one";
	free(cur);
	free(out);
	if (sp->phase != AEG_SPLIT_IDLE && why == NULL) {
		free(key);  /* asked again while it runs */
		return;
	}
	if (why != NULL) {
		rp_log(rp, "shard %llu: %s shard %llu refused: %s", (unsigned long long)m->arg[0], what,
		       (unsigned long long)m->arg[1], why);
		sp->failed++;
		free(key);
		return;
	}
	uint64_t started = sp->started, done = sp->done, failed = sp->failed, unf = sp->unfenced, dr = sp->dropped_from;
	uint8_t *kb = sp->key, *cb = sp->cursor, *hb = sp->hi, *buf = sp->buf, *vbuf = sp->vbuf;
	size_t buf_cap = sp->buf_cap, vbuf_cap = sp->vbuf_cap;
	uint64_t sweep_ms = sp->sweep_ms;
	*sp = (struct rp_split){ .from = from->shard, .to = to->shard, .key = kb, .cursor = cb, .hi = hb, .buf = buf,
				 .vbuf = vbuf, .buf_cap = buf_cap, .vbuf_cap = vbuf_cap,
				 .key_len = key_len, .merge = merge, .started_ms = rp->now_ms, .started = started + 1,
				 .done = done, .failed = failed, .unfenced = unf, .dropped_from = dr, .sweep_ms = sweep_ms };
	memcpy(sp->key, key, key_len);
	free(key);
	phase(rp, AEG_SPLIT_LEAD);
	if (led_term(rp, to) == 0)
		ask_lead(rp, to);
	split_step(rp);
}

void rp_split_publish(const struct aeg_replica *rp, struct aeg_replica_split_status *out)
{
	const struct rp_split *sp = &rp->split;
	memset(out, 0, offsetof(struct aeg_replica_split_status, key));
	out->phase = sp->phase;
	out->merge = sp->merge;
	out->bounds = sp->bounds;
	out->from = sp->from;
	out->to = sp->to;
	out->key_len = sp->phase != AEG_SPLIT_IDLE ? sp->key_len : 0;
	if (out->key_len != 0)
		memcpy(out->key, sp->key, out->key_len);
	out->copied = sp->copied;
	out->copied_bytes = sp->copied_bytes;
	out->ms = sp->phase != AEG_SPLIT_IDLE ? rp->now_ms - sp->started_ms : 0;
	out->started = sp->started;
	out->done = sp->done;
	out->failed = sp->failed;
	out->unfenced = sp->unfenced;
	out->dropped_from = sp->dropped_from;
}

void rp_split_fini(struct aeg_replica *rp)
{
	free(rp->split.key);
	free(rp->split.cursor);
	free(rp->split.hi);
	free(rp->split.buf);
	free(rp->split.vbuf);
	free(rp->meta_ranges);
	free(rp->pub_ranges[0]);
	free(rp->pub_ranges[1]);
	memset(&rp->split, 0, sizeof(rp->split));
}

bool rp_split_fenced(const struct aeg_replica *rp, const struct rp_shard *s, const uint8_t *start,
		     uint32_t start_len, const uint8_t *end, uint32_t end_len, bool single)
{
	(void)rp;
	const uint8_t *f;
	uint32_t fl;
	if (!aeg_kv_fence(s->kv, &f, &fl))
		return false;
	if (single)
		return aeg_key_cmp(start, start_len, f, fl) >= 0;
	return end_len == 0 || aeg_key_cmp(end, end_len, f, fl) > 0;
}
