/* The group driver on a simulated 3-node cluster: many groups per node, a
 * log whose batches become durable only when the test syncs them, a
 * network that reorders and drops. Checks: every group elects a leader and
 * commits; every replica applies the same entries (state machine safety);
 * no append acknowledgement leaves before the write it promises is
 * durable; a full log (retry cursor) delays but loses nothing; idle groups
 * go quiet and leave the tick list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aegis/group_driver.h"
#include "aegis/msg.h"
#include "aegis/raft_codec.h"
#include "test_prng.h"

#define NODES 3
#define GROUPS 40
#define IDX_MAX 4096
#define NET_MAX 200000

struct tmsg {
	uint32_t from, to, group;
	uint8_t type;
	uint32_t len;
	uint8_t *body;
};

struct tnode;

struct tsnap {
	uint64_t index, hash;              /* a snapshot: applied index and its chain hash */
};

struct tgroup {
	struct tsnap snap;                 /* ours (Raft sends it) */
	struct tsnap pend;                 /* an install finishing later (index 0: none) */
	uint64_t written_index;            /* last index handed to the log */
	uint64_t durable_index;
	uint64_t applied;
	uint64_t hash[IDX_MAX];            /* chain hash of what was applied */
};

struct tnode {
	uint32_t id;
	struct aeg_gd *gd;
	uint64_t ticket;                   /* batch being filled */
	uint64_t room;                     /* entries the current batch still takes */
	struct { uint64_t ticket; uint32_t group; uint64_t index; } wr[1 << 16];
	uint32_t n_wr;
	struct tgroup g[GROUPS + 1];
};

static struct tnode nodes[NODES + 1];
static struct tmsg net[NET_MAX];
static uint32_t n_net;
static struct prng rng;
static uint32_t drop_pct;
static uint32_t dead_node; /* sends nothing, gets nothing, never ticks */
static uint64_t acks_checked, committed_total;
static uint64_t global_hash[GROUPS + 1][IDX_MAX]; /* what index i is, once applied anywhere */
/* test_install_later: leaders snapshot and compact; installs finish later */
static bool snaps_on;
static uint64_t installs, install_fail_group;

static int log_entries(void *ctx, uint32_t group, const struct aeg_raft_entry *e, uint32_t n, uint32_t *taken,
		       uint64_t *ticket)
{
	struct tnode *nd = ctx;
	if (nd->g[group].pend.index != 0)
		fail_msg("seed=%llu: n%u writes entries of group %u while its snapshot installs",
			 (unsigned long long)rng.seed, nd->id, group);
	if (nd->room == 0)
		return -EAGAIN;
	uint32_t k = n < nd->room ? n : (uint32_t)nd->room;
	nd->room -= k;
	*taken = k;
	*ticket = nd->ticket;
	assert_true(nd->n_wr < (1u << 16));
	nd->wr[nd->n_wr].ticket = nd->ticket;
	nd->wr[nd->n_wr].group = group;
	nd->wr[nd->n_wr].index = e[k - 1].index;
	nd->n_wr++;
	nd->g[group].written_index = e[k - 1].index;
	return 0;
}

static int log_hs(void *ctx, uint32_t group, const struct aeg_raft_hard_state *hs, uint64_t *ticket)
{
	(void)group;
	(void)hs;
	struct tnode *nd = ctx;
	*ticket = nd->ticket;
	return 0;
}

static int install(void *ctx, uint32_t group, uint64_t index, uint64_t term, const struct aeg_raft_conf *conf,
		   const uint8_t *data, uint32_t len, uint64_t *ticket)
{
	(void)term; (void)conf; (void)ticket;
	struct tnode *nd = ctx;
	if (!snaps_on)
		fail_msg("no snapshots in this test");
	assert_int_equal(len, sizeof(struct tsnap));
	struct tgroup *g = &nd->g[group];
	assert_int_equal(g->pend.index, 0);
	memcpy(&g->pend, data, sizeof(g->pend));
	assert_int_equal(g->pend.index, index);
	installs++;
	return AEG_GD_INSTALL_LATER;
}

static int send_msg(void *ctx, uint32_t to, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len)
{
	struct tnode *nd = ctx;
	if (type == AEG_MSG_RAFT) {
		struct aeg_raft_msg m;
		struct aeg_raft_entry ents[1024];
		struct aeg_raft_conf conf;
		assert_int_equal(aeg_raft_msg_decode(&m, ents, 1024, &conf, body, len), 0);
		if (m.type == AEG_RAFT_MSG_APPEND_RESP && !m.reject) {
			/* The promise: entries up to m.index are on our disk. */
			if (m.index > nd->g[group].durable_index)
				fail_msg("seed=%llu: n%u acks index %llu of group %u, durable only to %llu",
					 (unsigned long long)rng.seed, nd->id, (unsigned long long)m.index, group,
					 (unsigned long long)nd->g[group].durable_index);
			acks_checked++;
		}
	}
	if (n_net >= NET_MAX || prng_below(&rng, 100) < drop_pct || nd->id == dead_node || to == dead_node)
		return 0;
	struct tmsg *t = &net[n_net++];
	t->from = nd->id;
	t->to = to;
	t->group = group;
	t->type = type;
	t->len = len;
	t->body = malloc(len ? len : 1);
	memcpy(t->body, body, len);
	return 0;
}

static void apply(void *ctx, uint32_t group, const struct aeg_raft_entry *e)
{
	struct tnode *nd = ctx;
	struct tgroup *g = &nd->g[group];
	if (g->pend.index != 0)
		fail_msg("seed=%llu: n%u applies %llu of group %u while its snapshot installs",
			 (unsigned long long)rng.seed, nd->id, (unsigned long long)e->index, group);
	assert_int_equal(e->index, g->applied + 1);
	assert_true(e->index < IDX_MAX);
	uint64_t h = g->hash[e->index - 1] * 0x100000001b3ull ^ e->term;
	for (uint32_t i = 0; i < e->len; i++)
		h = (h ^ e->data[i]) * 0x100000001b3ull;
	g->hash[e->index] = h;
	g->applied = e->index;
	if (global_hash[group][e->index] == 0) {
		global_hash[group][e->index] = h;
		committed_total++;
	} else if (global_hash[group][e->index] != h) {
		fail_msg("seed=%llu: n%u applies a different entry at %llu of group %u", (unsigned long long)rng.seed,
			 nd->id, (unsigned long long)e->index, group);
	}
}

/* The test's fdatasync: the batch being filled becomes durable. */
static void sync_node(struct tnode *nd)
{
	uint64_t t = nd->ticket;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < nd->n_wr; i++) {
		if (nd->wr[i].ticket <= t)
			nd->g[nd->wr[i].group].durable_index = nd->wr[i].index;
		else
			nd->wr[kept++] = nd->wr[i];
	}
	nd->n_wr = kept;
	nd->ticket++;
	nd->room = 1 + prng_below(&rng, 200);
	aeg_gd_durable(nd->gd, t);
}

static void cluster_init(uint64_t seed, uint32_t quiesce_ticks)
{
	prng_init_seed(&rng, seed);
	memset(nodes, 0, sizeof(nodes));
	memset(global_hash, 0, sizeof(global_hash));
	n_net = 0;
	struct aeg_raft_conf conf = { .n = NODES };
	for (uint32_t i = 0; i < NODES; i++) {
		conf.ids[i] = i + 1;
		conf.roles[i] = AEG_RAFT_MEMBER_VOTER;
	}
	for (uint32_t id = 1; id <= NODES; id++) {
		struct tnode *nd = &nodes[id];
		nd->id = id;
		nd->ticket = 1;
		nd->room = 100;
		struct aeg_gd_config gc;
		aeg_gd_config_default(&gc, id);
		gc.groups_max = GROUPS + 1;
		struct aeg_gd_io io = { .log_entries = log_entries, .log_hard_state = log_hs,
					.install_snapshot = install, .send = send_msg, .apply = apply, .ctx = nd };
		assert_int_equal(aeg_gd_new(&nd->gd, &gc, &io), 0);
		for (uint32_t g = 1; g <= GROUPS; g++) {
			struct aeg_raft_config rc;
			aeg_raft_config_default(&rc, id, seed * 131 + g * 7 + id, 10);
			rc.log_entries_max = 1024;
			rc.log_bytes_max = 256 << 10;
			rc.quiesce_ticks = quiesce_ticks;
			assert_int_equal(aeg_gd_group_add(nd->gd, g, &rc, &conf), 0);
		}
	}
}

static void cluster_fini(void)
{
	for (uint32_t i = 0; i < n_net; i++)
		free(net[i].body);
	n_net = 0;
	for (uint32_t id = 1; id <= NODES; id++)
		aeg_gd_free(nodes[id].gd);
}

static void deliver_some(void)
{
	for (uint32_t i = 0; i < n_net;) { /* what was in flight to or from the dead */
		if (net[i].to == dead_node || net[i].from == dead_node) {
			free(net[i].body);
			net[i] = net[--n_net];
		} else {
			i++;
		}
	}
	/* Deliver a random subset in random order; the rest waits. */
	uint32_t n = n_net;
	for (uint32_t k = 0; k < n && n_net > 0; k++) {
		uint32_t i = (uint32_t)prng_below(&rng, n_net);
		struct tmsg t = net[i];
		net[i] = net[--n_net];
		aeg_gd_receive(nodes[t.to].gd, t.from, t.type, t.group, t.body, t.len);
		free(t.body);
	}
}

/* An install finishes: the state machine takes the snapshot; its ticket is
 * the batch being filled (durable at the next sync), like aegisd's marker. */
static void install_finish(struct tnode *nd, uint32_t gid)
{
	struct tgroup *g = &nd->g[gid];
	uint64_t index = g->pend.index;
	assert_int_equal(aeg_gd_install_done(nd->gd, gid, index + 1, 0, nd->ticket), -ENOENT);
	if (install_fail_group == 0) {
		install_fail_group = gid;  /* the first one fails: the group stops */
		g->pend.index = 0;
		assert_int_equal(aeg_gd_install_done(nd->gd, gid, index, -EIO, 0), 0);
		return;
	}
	g->applied = index;
	g->hash[index] = g->pend.hash;
	g->pend.index = 0;
	assert_true(nd->n_wr < (1u << 16));
	nd->wr[nd->n_wr].ticket = nd->ticket;
	nd->wr[nd->n_wr].group = gid;
	nd->wr[nd->n_wr].index = index;
	nd->n_wr++;
	assert_int_equal(aeg_gd_install_done(nd->gd, gid, index, 0, nd->ticket), 0);
}

/* Leaders and followers snapshot every 40 applied entries and compact the
 * log up to 5 behind it: a node away for a while needs a snapshot. */
static void snapshots(struct tnode *nd)
{
	for (uint32_t gid = 1; gid <= GROUPS; gid++) {
		struct tgroup *g = &nd->g[gid];
		struct aeg_raft *r = aeg_gd_raft(nd->gd, gid);
		struct aeg_raft_status st;
		aeg_raft_status(r, &st);
		if (g->pend.index != 0) {
			/* ~100 ms: heartbeats and resent chunks meet the install */
			if (prng_below(&rng, 100) == 0)
				install_finish(nd, gid);
			continue;
		}
		if (aeg_gd_group_error(nd->gd, gid) != 0 || st.applied != g->applied || st.applied < g->snap.index + 40 ||
		    st.persisted < st.applied)
			continue;
		g->snap.index = st.applied;
		g->snap.hash = g->hash[st.applied];
		assert_int_equal(aeg_raft_snapshot_set(r, st.applied, &g->snap, sizeof(g->snap)), 0);
		(void)aeg_raft_compact(r, st.applied - 5);
	}
}

static void run(uint64_t ms, bool propose)
{
	static uint64_t now;
	for (uint64_t step = 0; step < ms; step++) {
		now++;
		deliver_some();
		for (uint32_t id = 1; id <= NODES; id++) {
			struct tnode *nd = &nodes[id];
			if (id == dead_node)
				continue;
			aeg_gd_tick(nd->gd, now + 1000, 10);
			for (uint32_t g = 1; propose && g <= GROUPS; g++) {
				struct aeg_raft_status st;
				aeg_raft_status(aeg_gd_raft(nd->gd, g), &st);
				if (st.role != AEG_RAFT_LEADER || st.last_index + 8 >= IDX_MAX || prng_below(&rng, 4) != 0)
					continue;
				uint8_t v[16];
				for (uint32_t j = 0; j < sizeof(v); j++)
					v[j] = (uint8_t)prng_next(&rng);
				struct aeg_raft_payload p = { .data = v, .len = sizeof(v) };
				aeg_gd_propose(nd->gd, g, &p, 1, NULL);
			}
			aeg_gd_process(nd->gd);
			aeg_gd_flush(nd->gd);
			if (snaps_on)
				snapshots(nd);
			if (prng_below(&rng, 3) == 0)
				sync_node(nd);
			aeg_gd_process(nd->gd);
			aeg_gd_flush(nd->gd);
		}
	}
}

static void test_commits_and_acks_wait_for_disk(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0xd71e0001);
	cluster_init(seed, 0);
	drop_pct = 2;
	run(3000, true);
	drop_pct = 0;
	run(1500, false);
	for (uint32_t g = 1; g <= GROUPS; g++) {
		uint64_t a = nodes[1].g[g].applied;
		if (a < 10)
			fail_msg("seed=%llu: group %u applied only %llu", (unsigned long long)seed, g,
				 (unsigned long long)a);
		for (uint32_t id = 2; id <= NODES; id++)
			assert_int_equal(nodes[id].g[g].applied, a);
	}
	struct aeg_gd_stats st;
	aeg_gd_stats_get(nodes[1].gd, &st);
	assert_true(acks_checked > 100);
	assert_true(st.log_retries > 0);  /* the small batches forced the cursor */
	assert_true(st.hb_msgs_sent > 0 && st.hb_sent > st.hb_msgs_sent);
	print_message("committed %llu entries, %llu acks checked, %llu log retries\n",
		      (unsigned long long)committed_total, (unsigned long long)acks_checked,
		      (unsigned long long)st.log_retries);
	cluster_fini();
}

static void test_idle_groups_go_quiet(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0xd71e0002);
	cluster_init(seed, 20);
	drop_pct = 0;
	run(3000, false);
	for (uint32_t id = 1; id <= NODES; id++) {
		struct aeg_gd_stats st;
		aeg_gd_stats_get(nodes[id].gd, &st);
		if (st.active != 0)
			fail_msg("seed=%llu: n%u still ticks %llu groups", (unsigned long long)seed, id,
				 (unsigned long long)st.active);
	}
	uint32_t before = n_net;
	run(500, false);
	assert_int_equal(n_net, before);  /* quiet: nothing on the wire */
	cluster_fini();
}

/* The leader of some groups dies. Once the survivors' failure detector
 * says so (after election_timeout_min without a word from it), one survivor
 * of each such group (the lowest other voter) campaigns at once and the
 * other waits for its timer (no split vote); most groups then have a new
 * leader within 40 ms (a successor whose log is behind the other's loses,
 * and the timers follow), and all of them soon after. */
static void test_leader_down_successor_campaigns(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0xd71e0003);
	cluster_init(seed, 0);
	drop_pct = 0;
	dead_node = 0;
	run(2000, true);
	uint32_t victim = 0, led = 0;
	for (uint32_t id = 1; id <= NODES && led == 0; id++)
		for (uint32_t g = 1; g <= GROUPS; g++)
			if (aeg_raft_role(aeg_gd_raft(nodes[id].gd, g)) == AEG_RAFT_LEADER)
				victim = id, led++;
	assert_true(led > 0);
	bool was_led[GROUPS + 1] = { false };
	led = 0;
	for (uint32_t g = 1; g <= GROUPS; g++)
		if (aeg_raft_role(aeg_gd_raft(nodes[victim].gd, g)) == AEG_RAFT_LEADER)
			was_led[g] = true, led++;
	dead_node = victim;
	run(160, false); /* election_timeout_min (150 ms) and a tick of silence */
	uint32_t successor = victim == 1 ? 2 : 1;
	bool waiting[GROUPS + 1] = { false }; /* no survivor's timer fired yet */
	uint32_t n_waiting = 0;
	for (uint32_t g = 1; g <= GROUPS; g++) {
		waiting[g] = was_led[g];
		for (uint32_t id = 1; id <= NODES; id++) {
			struct aeg_raft_status st;
			aeg_raft_status(aeg_gd_raft(nodes[id].gd, g), &st);
			if (id != victim && (st.role != AEG_RAFT_FOLLOWER || st.lead != victim))
				waiting[g] = false;
		}
		n_waiting += waiting[g];
	}
	assert_true(n_waiting > 0);
	for (uint32_t id = 1; id <= NODES; id++)
		if (id != victim)
			aeg_gd_node_down(nodes[id].gd, victim);
	for (uint32_t g = 1; g <= GROUPS; g++) {
		if (!waiting[g])
			continue;
		for (uint32_t id = 1; id <= NODES; id++) {
			enum aeg_raft_role role = aeg_raft_role(aeg_gd_raft(nodes[id].gd, g));
			if (id == successor && role != AEG_RAFT_PRE_CANDIDATE && role != AEG_RAFT_CANDIDATE)
				fail_msg("seed=%llu: group %u: successor n%u did not campaign (role %d)",
					 (unsigned long long)seed, g, id, role);
			if (id != successor && id != victim && role != AEG_RAFT_FOLLOWER)
				fail_msg("seed=%llu: group %u: n%u campaigns too (role %d)", (unsigned long long)seed,
					 g, id, role);
		}
	}
	run(40, false);
	uint32_t replaced = 0;
	for (uint32_t g = 1; g <= GROUPS; g++) {
		if (!was_led[g])
			continue;
		for (uint32_t id = 1; id <= NODES; id++)
			if (id != victim && aeg_raft_role(aeg_gd_raft(nodes[id].gd, g)) == AEG_RAFT_LEADER)
				replaced++;
	}
	print_message("node %u led %u groups; %u have a new leader 40 ms after the detector\n", victim, led, replaced);
	run(400, false);
	for (uint32_t g = 1; g <= GROUPS; g++) {
		uint32_t leaders = 0;
		for (uint32_t id = 1; id <= NODES; id++)
			leaders += id != victim && aeg_raft_role(aeg_gd_raft(nodes[id].gd, g)) == AEG_RAFT_LEADER;
		if (leaders != 1)
			fail_msg("seed=%llu: group %u has %u leaders 440 ms after the detector", (unsigned long long)seed,
				 g, leaders);
	}
	dead_node = 0;
	cluster_fini();
}

/* Node 3 is away while the others snapshot and compact; back, it gets
 * snapshots whose installs finish later (AEG_GD_INSTALL_LATER): meanwhile
 * nothing of the group is written or applied (checked in log_entries and
 * apply), its ack leaves only once the install is durable (send_msg), the
 * other groups go on; a failed install stops its group only; every other
 * group catches up. */
static void test_install_later(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0xd71e0004);
	cluster_init(seed, 0);
	snaps_on = true;
	installs = install_fail_group = 0;
	drop_pct = 1;
	dead_node = 3;
	run(1500, true);
	dead_node = 0;
	run(1500, true);
	drop_pct = 0;
	run(2000, false);
	uint64_t later = 0;
	struct aeg_gd_stats st;
	for (uint32_t id = 1; id <= NODES; id++) {
		aeg_gd_stats_get(nodes[id].gd, &st);
		later += st.installs_later;
	}
	assert_true(installs >= 10);
	assert_int_equal(later, installs);
	assert_true(install_fail_group != 0);
	assert_int_equal(aeg_gd_group_error(nodes[3].gd, (uint32_t)install_fail_group), -EIO);
	assert_int_equal(st.group_errors, 1);
	for (uint32_t g = 1; g <= GROUPS; g++) {
		uint64_t a = nodes[1].g[g].applied;
		assert_int_equal(nodes[2].g[g].applied, a);
		if (g != install_fail_group && nodes[3].g[g].applied != a)
			fail_msg("seed=%llu: group %u: n3 applied %llu, n1 %llu", (unsigned long long)seed, g,
				 (unsigned long long)nodes[3].g[g].applied, (unsigned long long)a);
	}
	print_message("%llu installs finished later; %llu acks checked\n", (unsigned long long)installs,
		      (unsigned long long)acks_checked);
	snaps_on = false;
	cluster_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_and_acks_wait_for_disk),
		cmocka_unit_test(test_idle_groups_go_quiet),
		cmocka_unit_test(test_leader_down_successor_campaigns),
		cmocka_unit_test(test_install_later),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
