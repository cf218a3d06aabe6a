/* Many groups per worker: what one group allocates (aeg_raft_memory_bytes
 * against the allocations aeg_raft_new really makes; calloc/malloc are
 * wrapped at link time), the caller's payload allocator (every byte given
 * back through proposals, commits, compaction, truncation, snapshot
 * installs and free; refusals), and a snapshot receive slot shared by two
 * groups (one at a time, the other retried; a holder that went idle loses
 * it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- allocation counting (link-time wrap) ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);

static bool counting;
static uint64_t counted_calls, counted_bytes;

void *__wrap_malloc(size_t n)
{
	if (counting) {
		counted_calls++;
		counted_bytes += n;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (counting) {
		counted_calls++;
		counted_bytes += n * m;
	}
	return __real_calloc(n, m);
}

static const struct aeg_raft_conf conf3 = { .n = 3, .ids = { 1, 2, 3 },
	.roles = { AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER } };

/* Creates a group with cfg, counting what it allocates; returns bytes. */
static uint64_t bytes_of_new(const struct aeg_raft_config *cfg)
{
	struct aeg_raft *r = NULL;
	counted_calls = counted_bytes = 0;
	counting = true;
	int rc = aeg_raft_new(&r, cfg, &conf3);
	counting = false;
	assert_int_equal(rc, 0);
	assert_int_equal(counted_calls, 1);  /* one block */
	aeg_raft_free(r);
	return counted_bytes;
}

/* ---- payload allocator: a counting pool with a byte limit ---- */
struct pool {
	uint64_t allocs, frees, bytes, limit;
};

static struct pool pool;
static uint8_t slot_buf[64];
static struct aeg_raft_snap_slot slot;

static void *pool_alloc(void *ctx, uint32_t len)
{
	struct pool *p = ctx;
	assert_true(len > 0);
	if (p->bytes + len > p->limit)
		return NULL;
	p->allocs++;
	p->bytes += len;
	return malloc(len);
}

static void pool_free(void *ctx, void *ptr, uint32_t len)
{
	struct pool *p = ctx;
	assert_non_null(ptr);
	assert_true(p->bytes >= len);
	p->frees++;
	p->bytes -= len;
	free(ptr);
}

static void use_pool(struct aeg_raft_config *cfg)
{
	cfg->payload_alloc = pool_alloc;
	cfg->payload_free = pool_free;
	cfg->payload_ctx = &pool;
	cfg->log_bytes_max = 256;  /* per-group quota */
	cfg->snapshot_chunk_bytes = 4;
	cfg->snapshot_bytes_max = 64;
}

static void test_memory_bytes(void **state)
{
	(void)state;
	struct aeg_raft_config cfg;
	aeg_raft_config_default(&cfg, 1, 1, 10);
	uint64_t def = bytes_of_new(&cfg);
	assert_int_equal(def, aeg_raft_memory_bytes(&cfg));
	assert_true(def > cfg.log_bytes_max + cfg.snapshot_bytes_max);
	assert_true(def < (uint64_t)(2.3 * 1024 * 1024));
	/* Many groups: counts down, payloads and snapshot buffer shared. */
	aeg_raft_config_many_groups(&cfg);
	uint64_t own = bytes_of_new(&cfg);
	assert_int_equal(own, aeg_raft_memory_bytes(&cfg));
	cfg.snap_slot = &slot;
	slot.buf = slot_buf;
	slot.cap = sizeof(slot_buf);
	cfg.payload_alloc = pool_alloc;
	cfg.payload_free = pool_free;
	cfg.payload_ctx = &pool;
	uint64_t many = bytes_of_new(&cfg);
	assert_int_equal(many, aeg_raft_memory_bytes(&cfg));
	assert_int_equal(own - many, cfg.log_bytes_max + cfg.snapshot_bytes_max +
			 (uint64_t)cfg.log_entries_max * sizeof(uint64_t));
	assert_true(many <= 64 * 1024);
	print_message("bytes per group: default %llu, many-groups %llu (own arena and "
		      "snapshot buffer %llu)\n", (unsigned long long)def,
		      (unsigned long long)many, (unsigned long long)own);
	/* Both hooks or neither; a slot needs a buffer and an idle bound. */
	struct aeg_raft *r = NULL;
	cfg.payload_free = NULL;
	assert_int_equal(aeg_raft_new(&r, &cfg, &conf3), -EINVAL);
	cfg.payload_free = pool_free;
	cfg.snap_slot_idle_ticks = 0;
	assert_int_equal(aeg_raft_new(&r, &cfg, &conf3), -EINVAL);
	assert_null(r);
	memset(&slot, 0, sizeof(slot));
	aeg_raft_free(NULL);
}

/* Sum of the payload bytes the logs of all nodes hold. */
static uint64_t log_bytes(struct h_net *net)
{
	uint64_t sum = 0;
	for (uint32_t id = 1; id <= net->n; id++) {
		struct aeg_raft_status st;
		aeg_raft_status(net->nodes[id].r, &st);
		for (uint64_t i = st.first_index; i <= st.last_index; i++)
			sum += aeg_raft_entry_at(net->nodes[id].r, i)->len;
	}
	return sum;
}

static void test_allocator_balances(void **state)
{
	(void)state;
	memset(&pool, 0, sizeof(pool));
	pool.limit = 1u << 20;
	struct h_net net;
	h_init(&net, 3, use_pool);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft *r = net.nodes[1].r;
	char buf[64];
	for (int i = 0; i < 20; i++) {
		int n = snprintf(buf, sizeof(buf), "value-%d", i * 7);
		assert_int_equal(h_propose(&net, 1, i % 5 == 0 ? "" : buf), 0);
		(void)n;
	}
	h_deliver_all(&net);
	assert_int_equal(pool.bytes, log_bytes(&net));
	assert_true(pool.allocs > 40);
	/* Refusals: larger than the quota; quota full; the pool empty. All or
	 * nothing: a batch that fails half way gives its bytes back. */
	char big[300] = { 0 };
	struct aeg_raft_payload p = { .data = big, .len = 257 };
	assert_int_equal(aeg_raft_propose(r, &p, 1, NULL), -EMSGSIZE);
	struct aeg_raft_payload batch[4];
	for (int i = 0; i < 4; i++)
		batch[i] = (struct aeg_raft_payload){ .data = big, .len = 80 };
	uint64_t before = pool.bytes;
	uint64_t last = h_st(r).last_index;
	assert_int_equal(aeg_raft_propose(r, batch, 4, NULL), -ENOBUFS);  /* quota */
	assert_int_equal(pool.bytes, before);
	assert_int_equal(h_st(r).last_index, last);
	pool.limit = pool.bytes + 100;
	assert_int_equal(aeg_raft_propose(r, batch, 2, NULL), -ENOBUFS);  /* pool */
	assert_int_equal(pool.bytes, before);
	pool.limit = 1u << 20;
	/* Compaction gives payloads back. */
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	for (uint32_t id = 1; id <= 3; id++) {
		struct aeg_raft_status st = h_st(net.nodes[id].r);
		assert_int_equal(st.applied, 21);
		assert_int_equal(aeg_raft_compact(net.nodes[id].r, 15), 0);
	}
	assert_int_equal(pool.bytes, log_bytes(&net));
	/* Truncation: 1, cut off, takes entries that 2 (new leader)
	 * overwrites. */
	h_isolate(&net, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_propose(&net, 1, "doomed-entry"), 0);
	h_deliver_all(&net);
	h_set_since_leader(net.nodes[2].r, 1000);
	h_set_since_leader(net.nodes[3].r, 1000);
	assert_int_equal(h_elect(&net, 2), 2);
	assert_int_equal(h_propose(&net, 2, "winner"), 0);
	h_heal(&net);
	h_tick(&net, 2, net.nodes[2].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	assert_int_equal(h_st(net.nodes[1].r).last_index, h_st(net.nodes[2].r).last_index);
	assert_memory_equal(aeg_raft_entry_at(net.nodes[1].r, 23)->data, "winner", 6);
	assert_int_equal(pool.bytes, log_bytes(&net));
	/* Free gives back the rest: the counts balance. */
	h_fini(&net);
	assert_int_equal(pool.bytes, 0);
	assert_int_equal(pool.allocs, pool.frees);
}

/* ---- shared snapshot slot ---- */
static void slot_cfg(struct aeg_raft_config *cfg)
{
	cfg->snapshot_chunk_bytes = 4;
	cfg->snapshot_bytes_max = 64;
	if (cfg->id == 3) {  /* node 3 of every group is on one worker */
		cfg->snap_slot = &slot;
		cfg->snap_slot_idle_ticks = 10;  /* < election_ticks_min (15) */
	}
}

/* Leader 1, follower 3 cut off while 10 entries commit, snapshot `bytes`
 * (12 bytes: 3 chunks) at 11 and the log compacted; healed. */
static void lagging(struct h_net *net, const char *bytes)
{
	h_init(net, 3, slot_cfg);
	assert_int_equal(h_elect(net, 1), 1);
	h_isolate(net, 3);
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_propose(net, 1, "entry"), 0);
	h_deliver_all(net);
	h_tick(net, 1, net->nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(net);
	assert_int_equal(aeg_raft_snapshot_set(net->nodes[1].r, 11, bytes, 12), 0);
	assert_int_equal(aeg_raft_compact(net->nodes[1].r, 11), 0);
	h_heal(net);
}

/* A heartbeat round that makes the leader send chunk 0 (or resend the
 * chunk follower 3 waits for), delivered to 3 without its answer. */
static void send_chunk_to_3(struct h_net *net)
{
	h_tick(net, 1, net->nodes[1].cfg.heartbeat_ticks);
	h_deliver(net, 1, 3, AEG_RAFT_MSG_HEARTBEAT);
	h_deliver(net, 3, 1, AEG_RAFT_MSG_HEARTBEAT_RESP);
	h_deliver(net, 1, 3, AEG_RAFT_MSG_APPEND);
	h_deliver(net, 3, 1, AEG_RAFT_MSG_APPEND_RESP);
	assert_int_equal(h_deliver(net, 1, 3, AEG_RAFT_MSG_SNAPSHOT), 1);
}

static void finish(struct h_net *net, const char *bytes)
{
	for (int i = 0; i < 4 && net->nodes[3].n_snap_installs == 0; i++) {
		h_tick(net, 1, net->nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(net);
	}
	assert_int_equal(net->nodes[3].n_snap_installs, 1);
	assert_int_equal(net->nodes[3].snap_len, 12);
	assert_memory_equal(net->nodes[3].snap, bytes, 12);
	assert_int_equal(h_st(net->nodes[3].r).commit, 11);
}

static struct h_net net_a, net_b;

static void test_slot_one_at_a_time(void **state)
{
	(void)state;
	memset(&slot, 0, sizeof(slot));
	slot.buf = slot_buf;
	slot.cap = sizeof(slot_buf);
	lagging(&net_a, "state-A-at11");
	lagging(&net_b, "state-B-at11");
	send_chunk_to_3(&net_a);
	assert_ptr_equal(slot.owner, net_a.nodes[3].r);
	assert_int_equal(slot.owner_index, 11);
	/* B's follower is refused while A's holds the slot: its leader only
	 * retries (no progress, no stream of chunks). */
	send_chunk_to_3(&net_b);
	assert_ptr_equal(slot.owner, net_a.nodes[3].r);
	h_deliver_all(&net_b);
	assert_int_equal(h_count_queued(&net_b, 1, 3, AEG_RAFT_MSG_SNAPSHOT), 0);
	assert_int_equal(net_b.nodes[3].n_snap_installs, 0);
	/* A completes; the install is handed out and the slot comes back. */
	h_deliver_all(&net_a);
	finish(&net_a, "state-A-at11");
	assert_null(slot.owner);
	assert_false(slot.handed_out);
	finish(&net_b, "state-B-at11");
	assert_null(slot.owner);
	/* Both go on by appends. */
	assert_int_equal(h_propose(&net_a, 1, "next"), 0);
	h_deliver_all(&net_a);
	assert_int_equal(h_st(net_a.nodes[3].r).last_index, 12);
	h_fini(&net_a);
	h_fini(&net_b);
}

static void test_slot_idle_holder_loses_it(void **state)
{
	(void)state;
	memset(&slot, 0, sizeof(slot));
	slot.buf = slot_buf;
	slot.cap = sizeof(slot_buf);
	lagging(&net_a, "state-A-at11");
	lagging(&net_b, "state-B-at11");
	send_chunk_to_3(&net_a);  /* A holds the slot, then its leader goes quiet */
	h_drop_all(&net_a);
	send_chunk_to_3(&net_b);
	h_deliver_all(&net_b);
	assert_ptr_equal(slot.owner, net_a.nodes[3].r);
	/* 10 ticks of B's follower without a chunk for A: B may take it. */
	h_tick(&net_b, 3, 10);
	finish(&net_b, "state-B-at11");
	/* A's next chunk finds the slot gone: A starts over and gets it. */
	assert_null(slot.owner);
	finish(&net_a, "state-A-at11");
	assert_null(slot.owner);
	/* A snapshot larger than the slot is never taken in. */
	slot.cap = 8;
	h_fini(&net_a);
	lagging(&net_a, "state-A-at11");
	for (int i = 0; i < 3; i++) {
		h_tick(&net_a, 1, net_a.nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(&net_a);
	}
	assert_int_equal(net_a.nodes[3].n_snap_installs, 0);
	assert_null(slot.owner);
	h_fini(&net_a);
	h_fini(&net_b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_bytes),
		cmocka_unit_test(test_allocator_balances),
		cmocka_unit_test(test_slot_one_at_a_time),
		cmocka_unit_test(test_slot_idle_holder_loses_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
